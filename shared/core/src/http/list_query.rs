//! `GET /assets?creator=&status=&since=&preset=&limit=&cursor=`: the query string, checked
//! parameter by parameter, each refusal naming its parameter.

use super::ApiError;
use crate::ports::{AssetQuery, DEFAULT_PAGE, MAX_API_PAGE};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A listing as asked: what the store filters, and what the API filters after it.
pub(crate) struct ListQuery {
    pub store: AssetQuery,
    /// Pages come newest first: the first asset older than this ends the listing.
    pub since: Option<OffsetDateTime>,
    pub preset: Option<String>,
}

impl ListQuery {
    /// The query string's pairs, as browsers and curl encode them.
    pub fn parse(raw: Option<&str>) -> Result<ListQuery, ApiError> {
        let pairs: Vec<(String, String)> = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let mut query = ListQuery {
            store: AssetQuery {
                limit: DEFAULT_PAGE,
                ..AssetQuery::default()
            },
            since: None,
            preset: None,
        };
        for (name, value) in &pairs {
            query.take(name, value)?;
        }
        Ok(query)
    }

    fn take(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        match name {
            "creator" if value.is_empty() => {
                return Err(ApiError::bad_parameter("creator", "must not be empty"))
            }
            "creator" => self.store.creator = Some(value.to_string()),
            "preset" if !value.is_empty() => self.preset = Some(value.to_string()),
            "status" => {
                let status = value
                    .parse()
                    .map_err(|e: String| ApiError::bad_parameter("status", e))?;
                self.store.status = Some(status);
            }
            "since" => {
                let since = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
                    ApiError::bad_parameter(
                        "since",
                        "an RFC 3339 time such as 2026-01-31T00:00:00Z",
                    )
                })?;
                self.since = Some(since);
            }
            "limit" => {
                let limit: usize = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiError::bad_parameter("limit", "a positive integer"))?;
                self.store.limit = limit.min(MAX_API_PAGE);
            }
            "cursor" => {
                // Checked here for shape, and by the store for origin.
                crate::ports::cursor::decode(value).map_err(|_| {
                    ApiError::bad_parameter("cursor", "not a cursor this API issued")
                })?;
                self.store.cursor = Some(value.to_string());
            }
            other => {
                // Named back to the caller, but never more than a short prefix of it.
                let name: String = other.chars().take(40).collect();
                return Err(ApiError::bad_parameter(
                    name,
                    "unknown parameter (creator, status, since, preset, limit, cursor)",
                ));
            }
        }
        Ok(())
    }
}
