//! `AssetStore` on a DynamoDB table (see `table` for its design).

use crate::errors::store_error;
use crate::table::{self, created_key};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use pictor_core::ports::cursor::{self, created_ms};
use pictor_core::ports::{AssetPage, AssetQuery, AssetStore, Expected, StoreError};
use pictor_core::{Asset, AssetId, AssetStatus};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoAssetStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn to_item(asset: &Asset) -> Result<Item, StoreError> {
    let record = serde_json::to_string(asset)
        .map_err(|e| StoreError::Other(format!("encoding asset {}: {e}", asset.id)))?;
    let mut item = Item::from([
        (table::ID.to_string(), s(asset.id.as_str())),
        (table::RECORD.to_string(), s(record)),
        (
            table::VERSION.to_string(),
            AttributeValue::N(asset.version.to_string()),
        ),
        (table::STATUS.to_string(), s(asset.status.as_str())),
        (table::SPEC_HASH.to_string(), s(&asset.spec_hash)),
        (
            table::CREATED_KEY.to_string(),
            s(created_key(created_ms(asset), asset.id.as_str())),
        ),
    ]);
    if let Some(creator) = asset.creator.as_deref().filter(|c| !c.is_empty()) {
        item.insert(table::CREATOR.to_string(), s(creator));
    }
    Ok(item)
}

fn from_item(item: &Item) -> Result<Asset, StoreError> {
    let record = item
        .get(table::RECORD)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Other("asset item without a record".into()))?;
    serde_json::from_str(record)
        .map_err(|e| StoreError::Other(format!("unreadable asset record: {e}")))
}

/// One index query: `partition` value, an optional upper bound on `created_key`, and equality
/// filters on other attributes.
struct IndexQuery<'a> {
    index: &'a str,
    partition_attr: &'a str,
    partition: String,
    before: Option<String>,
    filters: Vec<(&'a str, String)>,
}

impl DynamoAssetStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoAssetStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Up to `want` items of one index, newest first, following DynamoDB's pages (a filter
    /// may leave a page short).
    async fn query_index(&self, q: &IndexQuery<'_>, want: usize) -> Result<Vec<Item>, StoreError> {
        // DynamoDB refuses names and values that the expressions do not use.
        let mut names = HashMap::from([("#p".to_string(), q.partition_attr.to_string())]);
        let mut values = HashMap::from([(":p".to_string(), s(&q.partition))]);
        let mut key_condition = "#p = :p".to_string();
        if let Some(before) = &q.before {
            key_condition.push_str(" AND #c < :before");
            names.insert("#c".to_string(), table::CREATED_KEY.to_string());
            values.insert(":before".to_string(), s(before));
        }
        let mut filter = Vec::new();
        for (i, (attr, value)) in q.filters.iter().enumerate() {
            names.insert(format!("#f{i}"), attr.to_string());
            values.insert(format!(":f{i}"), s(value));
            filter.push(format!("#f{i} = :f{i}"));
        }
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(q.index)
                .key_condition_expression(&key_condition)
                .set_filter_expression((!filter.is_empty()).then(|| filter.join(" AND ")))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                .limit(want.min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("query {}/{}", self.table, q.index), e))?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if items.len() < want => start = Some(key.clone()),
                _ => break,
            }
        }
        items.truncate(want);
        Ok(items)
    }
}

fn sort_key(item: &Item) -> &str {
    item.get(table::CREATED_KEY)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

#[async_trait]
impl AssetStore for DynamoAssetStore {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::ID, s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("get asset {id}"), e))?;
        out.item().map(from_item).transpose()
    }

    async fn put(&self, asset: &Asset, expected: Expected) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(asset)?));
        let request = match expected {
            Expected::Absent => request
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", table::ID),
            Expected::Version(v) => request
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", table::VERSION)
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict(format!("asset {}", asset.id)))
            }
            Err(e) => Err(store_error(&format!("put asset {}", asset.id), e)),
        }
    }

    async fn list(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
        let before = query
            .cursor
            .as_deref()
            .map(cursor::decode)
            .transpose()?
            .map(|(ms, id)| created_key(ms, id.as_str()));
        let size = query.page_size();
        let status = query.status.map(|s| s.as_str().to_string());

        // The most selective index first; the remaining conditions become filters.
        let mut queries = Vec::new();
        if let Some(creator) = &query.creator {
            let mut filters = Vec::new();
            filters.extend(status.clone().map(|v| (table::STATUS, v)));
            filters.extend(query.spec_hash.clone().map(|v| (table::SPEC_HASH, v)));
            queries.push(IndexQuery {
                index: table::BY_CREATOR,
                partition_attr: table::CREATOR,
                partition: creator.clone(),
                before: before.clone(),
                filters,
            });
        } else if let Some(spec_hash) = &query.spec_hash {
            queries.push(IndexQuery {
                index: table::BY_SPEC,
                partition_attr: table::SPEC_HASH,
                partition: spec_hash.clone(),
                before: before.clone(),
                filters: status
                    .clone()
                    .map(|v| (table::STATUS, v))
                    .into_iter()
                    .collect(),
            });
        } else {
            // By status; with no filter at all, every status merged by creation time.
            let statuses = match query.status {
                Some(one) => vec![one],
                None => vec![
                    AssetStatus::Ready,
                    AssetStatus::Failed,
                    AssetStatus::Deleted,
                ],
            };
            for st in statuses {
                queries.push(IndexQuery {
                    index: table::BY_STATUS,
                    partition_attr: table::STATUS,
                    partition: st.as_str().to_string(),
                    before: before.clone(),
                    filters: Vec::new(),
                });
            }
        }

        let mut items = Vec::new();
        for q in &queries {
            items.extend(self.query_index(q, size + 1).await?);
        }
        items.sort_by(|a, b| sort_key(b).cmp(sort_key(a)));
        items.truncate(size + 1);
        let assets = items.iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        Ok(cursor::page(assets, size))
    }
}
