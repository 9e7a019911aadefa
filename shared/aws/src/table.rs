//! The asset table's design, shared by the adapter, `provision` and (mirrored) the CDK app.
//!
//! One item per asset, keyed by `id`. Three sparse-free GSIs serve the access paths, each
//! sorted by `created_key` (`<15-digit creation ms>#<id>`, so newest first is a descending
//! query and the key is unique):
//! - `by_creator` (`creator`): a creator's assets; absent for assets without a creator.
//! - `by_status` (`asset_status`): e.g. every FAILED asset.
//! - `by_spec` (`spec_hash`): what a spec change left stale, for reprocessing.
//!
//! The whole record is one JSON string attribute (`record`, a few KB: no raw EXIF, no pixels);
//! `version` carries the optimistic lock.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

pub const ID: &str = "id";
pub const RECORD: &str = "record";
pub const VERSION: &str = "version";
pub const STATUS: &str = "asset_status";
pub const CREATOR: &str = "creator";
pub const SPEC_HASH: &str = "spec_hash";
pub const CREATED_KEY: &str = "created_key";

pub const BY_CREATOR: &str = "by_creator";
pub const BY_STATUS: &str = "by_status";
pub const BY_SPEC: &str = "by_spec";

/// Index name and partition-key attribute of each GSI.
pub const INDEXES: [(&str, &str); 3] = [
    (BY_CREATOR, CREATOR),
    (BY_STATUS, STATUS),
    (BY_SPEC, SPEC_HASH),
];

pub fn created_key(created_ms: i64, id: &str) -> String {
    format!("{:015}#{id}", created_ms.max(0))
}

/// Creates the table (on-demand billing) with its indexes.
pub async fn create(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(ID, KeyType::Hash)?)
        .attribute_definitions(attr(ID)?)
        .attribute_definitions(attr(CREATED_KEY)?);
    for (index, partition) in INDEXES {
        request = request
            .attribute_definitions(attr(partition)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .key_schema(key(partition, KeyType::Hash)?)
                    .key_schema(key(CREATED_KEY, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()?,
            );
    }
    request.send().await?;
    Ok(())
}
