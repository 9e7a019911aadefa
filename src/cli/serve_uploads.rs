//! `pictor serve --out DIR --inbox INBOX`: uploads from apps on one machine. `POST /uploads`
//! hands out forms for this server, signed like the uploads bucket's presigned POST forms and
//! with the same conditions (that exact key, an `image/` type, the preset's size limit, a short
//! expiry, the file name as `x-amz-meta-filename`), checked here while the file streams in.
//! An accepted file lands in INBOX, where `pictor watch` picks it up like any other; its
//! display name waits beside it in a hidden name file (`FsOriginals` reads it).

use anyhow::Context;
use async_trait::async_trait;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use pictor_core::http::ApiError;
use pictor_core::local::name_file;
use pictor_core::ports::StoreError;
use pictor_core::ports::{UploadDesk, UploadForm, UploadTarget};
use pictor_core::SourceLocation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Where forms are posted on this server.
pub const FORM_PATH: &str = "/upload-form";

/// The conditions a form was issued with, signed (HS256) with this server's own key.
#[derive(Serialize, Deserialize)]
struct Policy {
    key: String,
    max_bytes: u64,
    content_type_prefix: String,
    exp: u64,
    /// The display name, as sanitised when the form was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// The form field that carries the display name, named as in an S3 form.
fn name_field() -> String {
    format!(
        "x-amz-meta-{}",
        pictor_core::domain::display_name::NAME_METADATA
    )
}

pub struct LocalUploads {
    inbox: PathBuf,
    url: String,
    signing: EncodingKey,
    checking: DecodingKey,
}

impl LocalUploads {
    /// Forms posted to `base` (this server's address) land in `inbox`. The signing key is
    /// new for every start: forms do not outlive the server that issued them.
    pub fn new(inbox: &Path, base: &str) -> anyhow::Result<LocalUploads> {
        let inbox = inbox
            .canonicalize()
            .with_context(|| format!("inbox {} is not an existing folder", inbox.display()))?;
        let secret = uuid::Uuid::new_v4();
        Ok(LocalUploads {
            inbox,
            url: format!("{base}{FORM_PATH}"),
            signing: EncodingKey::from_secret(secret.as_bytes())?,
            checking: DecodingKey::from_secret(secret.as_bytes())?,
        })
    }

    /// The file a key names inside the inbox; `None` for anything that could leave it.
    fn path_of(&self, key: &str) -> Option<PathBuf> {
        let relative = Path::new(key);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        (plain && !key.is_empty()).then(|| self.inbox.join(relative))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl UploadDesk for LocalUploads {
    async fn form(&self, target: &UploadTarget) -> Result<UploadForm, StoreError> {
        let path = self
            .path_of(&target.relative)
            .ok_or_else(|| StoreError::Other(format!("unusable key {:?}", target.relative)))?;
        let policy = Policy {
            key: target.relative.clone(),
            max_bytes: target.max_bytes,
            content_type_prefix: target.content_type_prefix.clone(),
            exp: unix_now() + target.expires_in.as_secs(),
            name: target.name.clone(),
        };
        let signed = jsonwebtoken::encode(&Header::default(), &policy, &self.signing)
            .map_err(|e| StoreError::Other(format!("signing a form: {e}")))?;
        let mut fields = BTreeMap::from([
            ("key".to_string(), target.relative.clone()),
            ("policy".to_string(), signed),
        ]);
        if let Some(name) = &target.name {
            fields.insert(
                name_field(),
                pictor_core::domain::display_name::encode_name(name),
            );
        }
        Ok(UploadForm {
            url: self.url.clone(),
            fields,
            location: SourceLocation::File(path),
        })
    }

    async fn delete(&self, location: &SourceLocation) -> Result<(), StoreError> {
        match location {
            SourceLocation::File(path) if path.starts_with(&self.inbox) => {
                remove_if_present(path)?;
                // The name goes with the original; a name file left behind is harmless.
                if let Some(name) = name_file(path) {
                    if let Err(e) = remove_if_present(&name) {
                        tracing::warn!(error = %e, "the name file stays behind");
                    }
                }
                Ok(())
            }
            _ => Err(StoreError::NotFound(location.to_string())),
        }
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Other(format!("{}: {e}", path.display()))),
    }
}

fn refuse(status: u16, code: &'static str, message: impl Into<String>) -> Response {
    ApiError::refused(status, code, message).into_response()
}

/// `POST /upload-form`: a form as `POST /uploads` issued it, fields first, the file last.
pub async fn receive(State(desk): State<Arc<LocalUploads>>, mut form: Multipart) -> Response {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return refuse(400, "bad_form", "the form has no `file` field"),
            Err(e) => return refuse(400, "bad_form", e.to_string()),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            // Read in chunks against what is left of the fields' budget, before any policy
            // is checked: a client that never signed in cannot make the server hold more.
            let used: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
            match bounded_text(field, MAX_FIELD_BYTES.saturating_sub(used + name.len())).await {
                Ok(value) => {
                    fields.insert(name.to_ascii_lowercase(), value);
                }
                Err(response) => return *response,
            }
            continue;
        }
        let policy = match check(&desk, &fields) {
            Ok(policy) => policy,
            Err(response) => return *response,
        };
        return store(&desk, &policy, field).await;
    }
}

/// What the fields before the file may hold in all, as S3 allows a form's fields (20 KB).
const MAX_FIELD_BYTES: usize = 20 * 1024;

/// A text field read up to `budget` bytes; a longer one is refused while it streams in.
async fn bounded_text(
    mut field: axum::extract::multipart::Field<'_>,
    budget: usize,
) -> Result<String, Box<Response>> {
    let mut value = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if value.len() + chunk.len() > budget {
                    return Err(Box::new(refuse(
                        400,
                        "fields_too_large",
                        format!("the form's fields exceed {MAX_FIELD_BYTES} bytes"),
                    )));
                }
                value.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(Box::new(refuse(400, "bad_form", e.to_string()))),
        }
    }
    String::from_utf8(value)
        .map_err(|_| Box::new(refuse(400, "bad_form", "a form field is not UTF-8 text")))
}

/// The form's signed policy, when its fields meet it.
fn check(desk: &LocalUploads, fields: &BTreeMap<String, String>) -> Result<Policy, Box<Response>> {
    let signed = fields
        .get("policy")
        .ok_or_else(|| Box::new(refuse(403, "access_denied", "the form has no policy")))?;
    // A form is good until its expiry, not a minute beyond.
    let validation = Validation {
        leeway: 0,
        ..Validation::default()
    };
    let policy = jsonwebtoken::decode::<Policy>(signed, &desk.checking, &validation)
        .map_err(|e| {
            Box::new(refuse(
                403,
                "access_denied",
                format!("the policy was refused: {e}"),
            ))
        })?
        .claims;
    if fields.get("key") != Some(&policy.key) {
        return Err(Box::new(refuse(
            403,
            "access_denied",
            "the key is not the one the policy names",
        )));
    }
    let signed_name = policy
        .name
        .as_deref()
        .map(pictor_core::domain::display_name::encode_name);
    if fields.get(&name_field()) != signed_name.as_ref() {
        return Err(Box::new(refuse(
            403,
            "access_denied",
            "the file name is not the one the policy names",
        )));
    }
    let content_type = fields.get("content-type").map_or("", String::as_str);
    if !content_type.starts_with(&policy.content_type_prefix) {
        return Err(Box::new(refuse(
            403,
            "access_denied",
            format!(
                "Content-Type must start with {}",
                policy.content_type_prefix
            ),
        )));
    }
    Ok(policy)
}

/// Streams the file to a hidden name beside its place (the watcher ignores it), counting
/// bytes against the limit, then moves it in.
async fn store(
    desk: &LocalUploads,
    policy: &Policy,
    mut file: axum::extract::multipart::Field<'_>,
) -> Response {
    let Some(path) = desk.path_of(&policy.key) else {
        return refuse(403, "access_denied", "the key leaves the inbox");
    };
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return refuse(403, "access_denied", "the key names no file");
    };
    if let Err(e) = std::fs::create_dir_all(folder) {
        return refuse(500, "internal", e.to_string());
    }
    let partial = folder.join(format!(".{}.part", name.to_string_lossy()));
    let written = async {
        let mut out = std::fs::File::create(&partial)?;
        let mut total = 0u64;
        while let Some(chunk) = file
            .chunk()
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
        {
            total += chunk.len() as u64;
            if total > policy.max_bytes {
                return Ok(Err(refuse(
                    400,
                    "entity_too_large",
                    format!("the file is larger than {} bytes", policy.max_bytes),
                )));
            }
            out.write_all(&chunk)?;
        }
        if total == 0 {
            return Ok(Err(refuse(400, "entity_too_small", "the file is empty")));
        }
        out.sync_all()?;
        Ok::<_, std::io::Error>(Ok(()))
    }
    .await;
    // The name is in place before the original appears, so the watcher's read finds it.
    let written = match (written, &policy.name) {
        (Ok(Ok(())), Some(display)) => match write_name(&path, display) {
            Ok(()) => Ok(Ok(())),
            Err(e) => Err(e),
        },
        (other, _) => other,
    };
    match written {
        Ok(Ok(())) => match std::fs::rename(&partial, &path) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => refuse(500, "internal", e.to_string()),
        },
        Ok(Err(refused)) => {
            let _ = std::fs::remove_file(&partial);
            refused
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            refuse(500, "internal", e.to_string())
        }
    }
}

/// Writes the display name beside the original-to-be, through a partial file of its own.
fn write_name(original: &Path, display: &str) -> std::io::Result<()> {
    let file = name_file(original)
        .ok_or_else(|| std::io::Error::other("the original has no file name"))?;
    let partial = file.with_extension("name.part");
    std::fs::write(&partial, display)?;
    std::fs::rename(&partial, &file)
}
