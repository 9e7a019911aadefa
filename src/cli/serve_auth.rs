//! `pictor serve --jwt-*`: the caller of each request from a verified bearer token, so the
//! API's per-creator rules can be tried on one machine exactly as API Gateway's JWT
//! authorizer applies them in the cloud. Without token settings every request is an
//! operator's, as an IAM-signed one is, or, with `--as-creator`, that one creator's (the page
//! and its uploads on one machine, with no identity provider).

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use pictor_core::domain::identity::{AdminPolicy, Caller};
use pictor_core::http::ApiError;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Clone, Default)]
pub struct JwtArgs {
    /// Require `Authorization: Bearer` tokens signed with this shared secret (HS256).
    #[arg(long, value_name = "SECRET", conflicts_with = "jwt_public_key")]
    jwt_secret: Option<String>,
    /// Require bearer tokens signed with the key in this PEM file (RS256, or ES256 for an EC
    /// key), as an identity provider issues them.
    #[arg(long, value_name = "PEM")]
    jwt_public_key: Option<PathBuf>,
    /// The issuer (`iss`) tokens must name.
    #[arg(long, value_name = "URL")]
    jwt_issuer: Option<String>,
    /// An audience (`aud`) tokens must name; repeat for several.
    #[arg(long, value_name = "AUD")]
    jwt_audience: Vec<String>,
    /// A scope that makes a token's bearer an admin (sees every creator's assets).
    #[arg(long, value_name = "SCOPE")]
    admin_scope: Option<String>,
    /// A group (`cognito:groups` or `groups`) that makes a token's bearer an admin.
    #[arg(long, value_name = "GROUP")]
    admin_group: Option<String>,
    /// Without tokens: every request is this creator's, signed in (their assets only, and
    /// uploads through `POST /uploads`), for trying the page on one machine.
    #[arg(
        long,
        value_name = "CREATOR",
        conflicts_with_all = ["jwt_secret", "jwt_public_key"]
    )]
    as_creator: Option<String>,
}

/// How callers are established.
#[derive(Clone)]
pub enum Gate {
    /// No token settings: everyone is an operator.
    Open,
    /// `--as-creator`: everyone is this creator.
    As(Caller),
    Tokens(Arc<TokenCheck>),
}

pub struct TokenCheck {
    key: DecodingKey,
    validation: Validation,
    admins: AdminPolicy,
}

impl JwtArgs {
    pub fn gate(&self) -> anyhow::Result<Gate> {
        let (key, algorithms) = match (&self.jwt_secret, &self.jwt_public_key) {
            (Some(secret), _) => (
                DecodingKey::from_secret(secret.as_bytes())
                    .context("--jwt-secret is not usable as an HMAC key")?,
                vec![Algorithm::HS256],
            ),
            (None, Some(path)) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                match DecodingKey::from_rsa_pem(&pem) {
                    Ok(key) => (key, vec![Algorithm::RS256]),
                    Err(_) => (
                        DecodingKey::from_ec_pem(&pem).with_context(|| {
                            format!("{} is not an RSA or EC public key in PEM", path.display())
                        })?,
                        vec![Algorithm::ES256],
                    ),
                }
            }
            (None, None) => {
                let unused = self.jwt_issuer.is_some()
                    || !self.jwt_audience.is_empty()
                    || self.admin_scope.is_some()
                    || self.admin_group.is_some();
                anyhow::ensure!(
                    !unused,
                    "--jwt-issuer, --jwt-audience and --admin-* need --jwt-secret or --jwt-public-key"
                );
                return Ok(match &self.as_creator {
                    None => Gate::Open,
                    Some(id) => {
                        let claims =
                            Map::from_iter([("sub".to_string(), Value::from(id.as_str()))]);
                        let caller = AdminPolicy::default()
                            .caller(&claims)
                            .map_err(|e| anyhow::anyhow!("--as-creator {id:?}: {e}"))?;
                        Gate::As(caller)
                    }
                });
            }
        };
        let mut validation = Validation::new(algorithms[0]);
        validation.algorithms = algorithms;
        // jsonwebtoken checks `iss` and `aud` only when a token has them: a configured one
        // must also be present, or a token that leaves it out passes.
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &self.jwt_issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if self.jwt_audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.jwt_audience);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        validation.validate_nbf = true;
        Ok(Gate::Tokens(Arc::new(TokenCheck {
            key,
            validation,
            admins: AdminPolicy {
                scope: self.admin_scope.clone(),
                group: self.admin_group.clone(),
            },
        })))
    }
}

fn refused(message: impl Into<String>) -> Response {
    let mut response = ApiError::Unauthenticated(message.into()).into_response();
    response.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    response
}

impl TokenCheck {
    fn caller(&self, request: &Request) -> Result<Caller, String> {
        let header = request
            .headers()
            .get(AUTHORIZATION)
            .ok_or("an Authorization: Bearer token is required")?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or("the Authorization header is not a Bearer token")?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map_err(|e| format!("the token was refused: {e}"))?;
        self.admins.caller(&data.claims).map_err(|e| e.to_string())
    }
}

/// Middleware: puts the request's caller in its extensions, or answers 401.
pub async fn establish_caller(
    State(gate): State<Gate>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match &gate {
        Gate::Open => Caller::Operator,
        Gate::As(caller) => caller.clone(),
        Gate::Tokens(check) => match check.caller(&request) {
            Ok(caller) => caller,
            Err(message) => return refused(message),
        },
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}
