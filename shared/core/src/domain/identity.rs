//! Who is asking the API, as the adapter in front of it established: API Gateway's IAM or
//! JWT authorizer in the cloud, `pictor serve`'s token check on one machine. The API's rules
//! (a creator sees only their own assets) live in `api.rs` and hold for both.

use serde_json::{Map, Value};

/// The caller of one API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An operator (IAM-signed, or a local server without token checks): full access.
    Operator,
    /// A signed-in creator, by the token's subject; `admin` when the token carries the
    /// configured admin scope or group, which gives an operator's access.
    Creator { id: String, admin: bool },
}

impl Caller {
    /// Whether the caller may see and change every creator's assets.
    pub fn sees_everything(&self) -> bool {
        match self {
            Caller::Operator => true,
            Caller::Creator { admin, .. } => *admin,
        }
    }

    /// The creator whose own assets these are, for a creator without admin rights.
    pub fn restricted_to(&self) -> Option<&str> {
        match self {
            Caller::Creator { id, admin: false } => Some(id),
            _ => None,
        }
    }
}

/// What in a token makes its bearer an admin: a scope (OAuth `scope`/`scp`) or a group
/// (Cognito's `cognito:groups`, or `groups`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminPolicy {
    pub scope: Option<String>,
    pub group: Option<String>,
}

/// Why a verified token names no usable caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the token has no subject (`sub`)")]
    NoSubject,
    #[error("the token's subject cannot name an upload folder (1-128 of a-z A-Z 0-9 . _ - @ +)")]
    UnusableSubject,
}

/// The creator a subject names: it becomes a folder of upload keys, so only plain characters.
fn usable_subject(sub: &str) -> bool {
    (1..=128).contains(&sub.len())
        && sub != "."
        && sub != ".."
        && sub
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
}

impl AdminPolicy {
    /// The caller a verified token's claims name. Claims may be JSON values (a decoded
    /// token) or strings (API Gateway passes each claim as text, arrays as `[a b]`).
    pub fn caller(&self, claims: &Map<String, Value>) -> Result<Caller, IdentityError> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(IdentityError::NoSubject)?;
        if !usable_subject(sub) {
            return Err(IdentityError::UnusableSubject);
        }
        let has = |wanted: &Option<String>, names: &[&str], split: fn(&str) -> Vec<String>| {
            wanted.as_ref().is_some_and(|wanted| {
                names
                    .iter()
                    .filter_map(|n| claims.get(*n))
                    .any(|v| words(v, split).iter().any(|w| w == wanted))
            })
        };
        let admin = has(&self.scope, &["scope", "scp"], scopes)
            || has(&self.group, &["cognito:groups", "groups"], groups);
        Ok(Caller::Creator {
            id: sub.to_string(),
            admin,
        })
    }
}

/// The words of a claim: an array's strings, or a text read by `split`.
fn words(value: &Value, split: fn(&str) -> Vec<String>) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Value::String(text) => split(text),
        _ => Vec::new(),
    }
}

/// OAuth scopes in one text are separated by spaces (RFC 6749), in API Gateway's `[a b]` too.
fn scopes(text: &str) -> Vec<String> {
    unbracketed(text)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A group claim as text is one group's name, which may hold spaces or commas (identity
/// providers other than Cognito allow them): `not admins` is not `admins`. Only API
/// Gateway's flattening of a list, `[a b]`, is split, at spaces; where that cannot tell a
/// name with a space from two names, the query function reads the token itself (see
/// [`bearer_claims`]).
fn groups(text: &str) -> Vec<String> {
    let text = text.trim();
    match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        Some(list) => list.split_whitespace().map(str::to_string).collect(),
        None if text.is_empty() => Vec::new(),
        None => vec![text.to_string()],
    }
}

fn unbracketed(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text)
}

/// The claims of the bearer token in an `Authorization` header, as JSON (arrays kept as
/// arrays), WITHOUT checking its signature: only for a request whose token an authorizer in
/// front has verified already (API Gateway's JWT authorizer passes claims on as flattened
/// text, which loses the boundaries between group names). `None` when it is not a JWT.
pub fn bearer_claims(authorization: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let token = authorization.strip_prefix("Bearer ")?.trim();
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn scopes_and_groups_make_an_admin_in_every_shape() {
        let policy = AdminPolicy {
            scope: Some("pictor/admin".into()),
            group: Some("admins".into()),
        };
        let admin = |c: Value| match policy.caller(&claims(c)).unwrap() {
            Caller::Creator { admin, .. } => admin,
            Caller::Operator => unreachable!(),
        };
        assert!(admin(json!({"sub": "a", "scope": "openid pictor/admin"})));
        assert!(admin(json!({"sub": "a", "scp": ["pictor/admin"]})));
        assert!(admin(
            json!({"sub": "a", "cognito:groups": ["users", "admins"]})
        ));
        assert!(admin(
            json!({"sub": "a", "cognito:groups": "[users admins]"})
        ));
        assert!(!admin(json!({"sub": "a", "scope": "pictor/administrator"})));
        assert!(!admin(json!({"sub": "a", "groups": "users"})));
        assert!(admin(json!({"sub": "a", "groups": "admins"})));
        // A group whose name holds a space or a comma is that one group.
        assert!(!admin(json!({"sub": "a", "groups": "not admins"})));
        assert!(!admin(json!({"sub": "a", "groups": "not,admins"})));
        assert!(!admin(
            json!({"sub": "a", "cognito:groups": ["not admins"]})
        ));
        assert!(!admin(json!({"sub": "a", "scope": "openid,pictor/admin"})));
        let nobody = AdminPolicy::default();
        assert_eq!(
            nobody.caller(&claims(json!({"sub": "ana", "scope": "x"}))),
            Ok(Caller::Creator {
                id: "ana".into(),
                admin: false
            })
        );
    }

    #[test]
    fn a_bearer_tokens_claims_keep_their_arrays() {
        use base64::Engine;
        let encode = |v: Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        let token = format!(
            "{}.{}.signature",
            encode(json!({"alg": "RS256"})),
            encode(json!({"sub": "ana", "groups": ["not admins"]}))
        );
        let claims = bearer_claims(&format!("Bearer {token}")).unwrap();
        assert_eq!(claims["groups"], json!(["not admins"]));
        assert!(bearer_claims("Basic abc").is_none());
        assert!(bearer_claims("Bearer not-a-jwt").is_none());
    }

    #[test]
    fn a_subject_must_be_usable_as_a_folder() {
        let policy = AdminPolicy::default();
        assert_eq!(
            policy.caller(&claims(json!({"scope": "x"}))),
            Err(IdentityError::NoSubject)
        );
        for bad in ["", "..", "a/b", "a b", "ä"] {
            assert_eq!(
                policy.caller(&claims(json!({ "sub": bad }))),
                Err(IdentityError::UnusableSubject),
                "{bad:?}"
            );
        }
        assert!(policy
            .caller(&claims(json!({"sub": "7c0e-41@example.com"})))
            .is_ok());
    }
}
