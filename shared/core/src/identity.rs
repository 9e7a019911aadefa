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
        let has = |wanted: &Option<String>, names: &[&str]| {
            wanted.as_ref().is_some_and(|wanted| {
                names
                    .iter()
                    .filter_map(|n| claims.get(*n))
                    .any(|v| words(v).iter().any(|w| w == wanted))
            })
        };
        let admin =
            has(&self.scope, &["scope", "scp"]) || has(&self.group, &["cognito:groups", "groups"]);
        Ok(Caller::Creator {
            id: sub.to_string(),
            admin,
        })
    }
}

/// The words of a claim: an array's strings, or a text split at spaces and commas (with API
/// Gateway's `[`/`]` around a list taken off).
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Value::String(text) => text
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split([' ', ','])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
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
