//! S3 event notifications as they arrive: in an SQS message body (directly or wrapped by SNS)
//! or as a Lambda event of their own.
//!
//! Parsed with our own lenient types rather than `aws_lambda_events::s3::S3Event`: that type
//! requires fields (`userIdentity`, `requestParameters`) that some S3-compatible servers leave
//! out, and a notification must never be rejected for a field we do not use.

use pictor_core::{Revision, SourceLocation, Upload, UploadPrefix};
use serde::Deserialize;

/// What one notification says.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// `s3:TestEvent`, sent once when a notification is configured.
    Test,
    Records(Vec<ObjectEvent>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Removed,
    /// A reconcile pass found the record's renditions missing: process the original again,
    /// whatever the record says (see [`repair_notification`]).
    Repair,
    Other,
}

/// The event name of a repair a reconcile pass hands to the ingest queue.
pub const REPAIR_EVENT: &str = "Pictor:Repair";

/// One object event, with its key decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectEvent {
    pub name: String,
    pub kind: EventKind,
    pub bucket: String,
    pub key: String,
    pub size: Option<u64>,
    pub revision: Revision,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventError {
    #[error("not an S3 notification: {0}")]
    Malformed(String),
    #[error("object key {0:?} is not valid URL-encoded UTF-8")]
    BadKey(String),
}

#[derive(Deserialize)]
struct RawNotification {
    #[serde(rename = "Records")]
    records: Option<Vec<RawRecord>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    /// SNS envelope: the S3 notification is a JSON string in `Message`.
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    #[serde(default)]
    event_name: String,
    s3: RawS3,
}

#[derive(Deserialize)]
struct RawS3 {
    bucket: RawBucket,
    object: RawObject,
}

#[derive(Deserialize)]
struct RawBucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    key: String,
    #[serde(default)]
    size: Option<serde_json::Value>,
    #[serde(default, rename = "eTag")]
    e_tag: Option<String>,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

/// Parses a notification from JSON text (an SQS body, an SNS message, a Lambda event).
pub fn parse(text: &str) -> Result<Notification, EventError> {
    let raw: RawNotification =
        serde_json::from_str(text).map_err(|e| EventError::Malformed(e.to_string()))?;
    if raw.kind.as_deref() == Some("Notification") {
        if let Some(inner) = raw.message {
            return parse(&inner);
        }
    }
    if raw.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Notification::Test);
    }
    let records = raw
        .records
        .ok_or_else(|| EventError::Malformed("no Records".into()))?;
    records
        .into_iter()
        .map(|r| {
            // MinIO (and servers following it) name events `s3:ObjectCreated:Put`.
            let name = r.event_name.strip_prefix("s3:").unwrap_or(&r.event_name);
            let kind = if name.starts_with("ObjectCreated:") {
                EventKind::Created
            } else if name.starts_with("ObjectRemoved:") {
                EventKind::Removed
            } else if r.event_name == REPAIR_EVENT {
                EventKind::Repair
            } else {
                EventKind::Other
            };
            // Real S3 sends a number, some servers a string.
            let size = match r.s3.object.size {
                Some(serde_json::Value::Number(n)) => n.as_u64(),
                Some(serde_json::Value::String(s)) => s.parse().ok(),
                _ => None,
            };
            Ok(ObjectEvent {
                name: r.event_name,
                kind,
                bucket: r.s3.bucket.name,
                key: decode_key(&r.s3.object.key)?,
                size,
                revision: Revision {
                    sequencer: r.s3.object.sequencer.filter(|s| !s.is_empty()),
                    version_id: r.s3.object.version_id.filter(|s| !s.is_empty()),
                    etag: r.s3.object.e_tag.filter(|s| !s.is_empty()),
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Notification::Records)
}

/// Keys arrive form-encoded: `+` is a space, then `%XX` escapes (so a real `+` is `%2B`).
pub fn decode_key(raw: &str) -> Result<String, EventError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| EventError::BadKey(raw.to_string()))
}

/// The inverse of `decode_key`: every byte but unreserved characters and `/` escaped, so
/// keys written into notifications and batch manifests survive any decoder.
pub fn encode_key(key: &str) -> String {
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(key, ESCAPED).to_string()
}

/// The notification the ingest function receives for an upload, minus what a replay cannot
/// know (size, sequencer): what reprocess plans send to the ingest queue. Without a sequencer
/// the ingest function cannot mistake it for a repeat of the original notification, so it
/// processes the object as it is now.
pub fn replay_notification(bucket: &str, key: &str) -> String {
    serde_json::json!({
        "Records": [{
            "eventSource": "pictor:reprocess",
            "eventName": "ObjectCreated:Replay",
            "s3": {"bucket": {"name": bucket}, "object": {"key": encode_key(key)}}
        }]
    })
    .to_string()
}

/// What a reconcile pass sends the ingest queue for a difference it has no time to converge
/// itself: a replay of the key ([`replay_notification`]), or with `redo` a repair, which
/// processes the original again even where the record claims to reflect it.
pub fn repair_notification(bucket: &str, key: &str, redo: bool) -> String {
    if !redo {
        return replay_notification(bucket, key);
    }
    serde_json::json!({
        "Records": [{
            "eventSource": "pictor:reconcile",
            "eventName": REPAIR_EVENT,
            "s3": {"bucket": {"name": bucket}, "object": {"key": encode_key(key)}}
        }]
    })
    .to_string()
}

/// An object event read against the configured upload prefix, to become an [`Upload`].
pub struct UnderPrefix<'a> {
    pub event: &'a ObjectEvent,
    pub prefix: &'a UploadPrefix,
}

impl ObjectEvent {
    pub fn under<'a>(&'a self, prefix: &'a UploadPrefix) -> UnderPrefix<'a> {
        UnderPrefix {
            event: self,
            prefix,
        }
    }

    pub fn location(&self) -> SourceLocation {
        SourceLocation::s3(&self.bucket, &self.key)
    }
}

/// Why an object event is no upload of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAnUpload {
    /// Outputs and anything else never trigger processing.
    #[error("{}", self.as_str())]
    OutsidePrefix,
    /// A key ending in `/`: the "folder" consoles create, not a file.
    #[error("{}", self.as_str())]
    FolderMarker,
}

impl NotAnUpload {
    pub fn as_str(self) -> &'static str {
        match self {
            NotAnUpload::OutsidePrefix => "outside the upload prefix",
            NotAnUpload::FolderMarker => "a folder marker",
        }
    }
}

impl TryFrom<UnderPrefix<'_>> for Upload {
    type Error = NotAnUpload;

    /// The key names the preset and the creator by its folders below the prefix; the event's revision
    /// travels with the upload (its size does not: the store's current one decides).
    fn try_from(scoped: UnderPrefix<'_>) -> Result<Upload, NotAnUpload> {
        let event = scoped.event;
        if scoped.prefix.below(&event.key).is_none() {
            return Err(NotAnUpload::OutsidePrefix);
        }
        if event.key.ends_with('/') {
            return Err(NotAnUpload::FolderMarker);
        }
        let placement = scoped
            .prefix
            .place(&event.key)
            .ok_or(NotAnUpload::OutsidePrefix)?;
        Ok(Upload::new(event.location())
            .placed(placement)
            .with_revision(Some(event.revision.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minio_names_its_events_with_an_s3_prefix() {
        let body = r#"{"EventName":"s3:ObjectCreated:Put","Key":"up/uploads/ana/a.jpg","Records":[{"eventVersion":"2.0","eventSource":"minio:s3","awsRegion":"","eventName":"s3:ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"up"},"object":{"key":"uploads%2Fana%2Fa.jpg","size":3,"eTag":"abc","sequencer":"17A1B2C3D4E5F607"}}},{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"up"},"object":{"key":"uploads/ana/b.jpg"}}}]}"#;
        let Notification::Records(records) = parse(body).unwrap() else {
            panic!("records expected")
        };
        assert_eq!(records[0].kind, EventKind::Created);
        assert_eq!(records[0].key, "uploads/ana/a.jpg");
        assert_eq!(records[1].kind, EventKind::Removed);
    }

    #[test]
    fn uploads_come_from_events_under_the_prefix() {
        let body = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"up"},"object":{"key":"uploads/ana/x+y.png","size":12,"sequencer":"0A"}}}]}"#;
        let Notification::Records(records) = parse(body).unwrap() else {
            panic!("records expected")
        };
        let prefix = UploadPrefix::default();
        let upload = Upload::try_from(records[0].under(&prefix)).unwrap();
        assert_eq!(upload.location.to_string(), "s3://up/uploads/ana/x y.png");
        assert_eq!(upload.display, "uploads/ana/x y.png");
        assert_eq!(upload.creator.as_deref(), Some("ana"));
        assert_eq!(
            upload.revision.and_then(|r| r.sequencer).as_deref(),
            Some("0A")
        );
        let folder = parse(&body.replace("x+y.png", "holiday%2F")).unwrap();
        let Notification::Records(folder) = folder else {
            panic!("records expected")
        };
        assert_eq!(
            Upload::try_from(folder[0].under(&prefix)),
            Err(NotAnUpload::FolderMarker)
        );
        let other = UploadPrefix::new("incoming");
        assert_eq!(
            Upload::try_from(records[0].under(&other)),
            Err(NotAnUpload::OutsidePrefix)
        );
    }

    #[test]
    fn encoded_keys_decode_to_themselves() {
        for key in ["uploads/ana/summer trip/café + bar 100%.jpg", "a/b~c_d-e.f"] {
            assert_eq!(decode_key(&encode_key(key)).unwrap(), key);
        }
        assert_eq!(encode_key("a b+c/d"), "a%20b%2Bc/d");
    }

    #[test]
    fn keys_decode_plus_then_percent() {
        assert_eq!(
            decode_key("uploads/ana/my+photo.jpg").unwrap(),
            "uploads/ana/my photo.jpg"
        );
        assert_eq!(
            decode_key("uploads/ana/a%2Bb.jpg").unwrap(),
            "uploads/ana/a+b.jpg"
        );
        assert_eq!(
            decode_key("uploads%2Fana%2F100%25.jpg").unwrap(),
            "uploads/ana/100%.jpg"
        );
        assert_eq!(
            decode_key("uploads/%C3%A9t%C3%A9.jpg").unwrap(),
            "uploads/été.jpg"
        );
        assert!(matches!(
            decode_key("uploads/%FF.jpg"),
            Err(EventError::BadKey(_))
        ));
    }

    #[test]
    fn replayed_notifications_parse_as_creations_without_a_revision() {
        let replay = replay_notification("up", "uploads/ana/a+b.jpg");
        let Notification::Records(records) = parse(&replay).unwrap() else {
            panic!("records expected")
        };
        assert_eq!(records[0].key, "uploads/ana/a+b.jpg");
        assert_eq!(records[0].kind, EventKind::Created);
        assert_eq!(records[0].revision, Revision::default());
    }

    #[test]
    fn test_events_and_garbage() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}"#;
        assert_eq!(parse(test).unwrap(), Notification::Test);
        assert!(matches!(parse("not json"), Err(EventError::Malformed(_))));
        assert!(matches!(parse("{}"), Err(EventError::Malformed(_))));
    }

    #[test]
    fn minimal_record_without_optional_fields() {
        let body = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"up"},"object":{"key":"uploads%2Fbo%2Fx.png","size":"12"}}}]}"#;
        let Notification::Records(records) = parse(body).unwrap() else {
            panic!("records expected")
        };
        assert_eq!(records[0].key, "uploads/bo/x.png");
        assert_eq!(records[0].size, Some(12));
        assert_eq!(records[0].kind, EventKind::Created);
        assert_eq!(records[0].revision, Revision::default());
    }

    #[test]
    fn a_repair_is_its_own_kind_and_a_plain_replay_an_upload() {
        let parsed = |body: String| match parse(&body).unwrap() {
            Notification::Records(records) => records[0].clone(),
            Notification::Test => panic!("a test event"),
        };
        let repair = parsed(repair_notification("up", "uploads/ana/a b.jpg", true));
        assert_eq!(repair.kind, EventKind::Repair);
        assert_eq!(repair.key, "uploads/ana/a b.jpg");
        assert_eq!(repair.revision.sequencer, None);
        let replay = parsed(repair_notification("up", "uploads/ana/a b.jpg", false));
        assert_eq!(replay.kind, EventKind::Created);
    }
}
