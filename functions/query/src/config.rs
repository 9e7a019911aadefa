//! The function's configuration, all from the environment.

use pictor_aws::config::{EnvError, PipelineSettingsError, StoreVars};
use pictor_core::app::uploads::UploadRules;
use pictor_core::domain::identity::AdminPolicy;
use pictor_core::{Presets, UploadPrefix};
use serde::Deserialize;
use std::time::Duration;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 13] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_CDN_BASE_URL",
    "PICTOR_CDN_KEY_PAIR_ID",
    "PICTOR_CDN_PRIVATE_KEY_SECRET",
    "PICTOR_URL_EXPIRY_SECONDS",
    "PICTOR_UPLOADS_BUCKET",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_SPEC_FILE",
    "PICTOR_ADMIN_SCOPE",
    "PICTOR_ADMIN_GROUP",
    "PICTOR_EVENT_BUS",
];

const DEFAULT_EXPIRY: Duration = Duration::from_secs(300);
/// SigV4 presigned URLs cannot live longer than a week.
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    #[serde(flatten)]
    stores: StoreVars,
    cdn_base_url: Option<String>,
    cdn_key_pair_id: Option<String>,
    cdn_private_key_secret: Option<String>,
    url_expiry_seconds: Option<String>,
    uploads_bucket: Option<String>,
    upload_prefix: Option<String>,
    spec: Option<String>,
    spec_file: Option<String>,
    admin_scope: Option<String>,
    admin_group: Option<String>,
    event_bus: Option<String>,
}

/// Where apps' uploads go, and the presets' folders and limits their forms carry.
#[derive(Debug, Clone)]
pub struct Uploads {
    pub bucket: String,
    pub prefix: UploadPrefix,
    pub rules: UploadRules,
}

/// Private renditions: CloudFront URLs signed with a key of the distribution's key group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnSigning {
    /// The public key's ID in CloudFront (`K2JCJMDEHXQW5F`).
    pub key_pair_id: String,
    /// The Secrets Manager secret (name or ARN) whose `SecretString` is the private key's PEM.
    pub private_key_secret: String,
}

#[derive(Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Serve `<base>/<key>` instead of presigned URLs.
    pub cdn_base_url: Option<String>,
    /// With `cdn_base_url`: sign each URL instead (the distribution requires it).
    pub cdn_signing: Option<CdnSigning>,
    /// How long a presigned or signed URL lives (signed ones up to twice this: see
    /// `pictor_aws::cloudfront_urls`).
    pub url_expiry: Duration,
    /// `POST /uploads` and `DELETE /assets/{id}`, when the uploads bucket is named.
    pub uploads: Option<Uploads>,
    /// What in a JWT makes its bearer an admin.
    pub admins: AdminPolicy,
    /// The presets the assets are made with: `PUT /assets/{id}/focus` cuts their `cover`
    /// variants again.
    pub presets: Presets,
    /// Where the event of a re-cut asset goes (`PICTOR_EVENT_BUS`); none when unset.
    pub event_bus: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("PICTOR_URL_EXPIRY_SECONDS must be a number of seconds from 1 to 604800, not {0:?}")]
    Expiry(String),
    #[error(transparent)]
    Spec(#[from] PipelineSettingsError),
    #[error(
        "signed CDN URLs need PICTOR_CDN_BASE_URL, PICTOR_CDN_KEY_PAIR_ID and \
         PICTOR_CDN_PRIVATE_KEY_SECRET together"
    )]
    CdnSigning,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let url_expiry = match vars.url_expiry_seconds {
            None => DEFAULT_EXPIRY,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|d| !d.is_zero() && *d <= MAX_EXPIRY)
                .ok_or(ConfigError::Expiry(raw))?,
        };
        let presets = pictor_aws::config::presets(vars.spec, vars.spec_file, None)?;
        let uploads = match vars.uploads_bucket {
            None => None,
            Some(bucket) => Some(Uploads {
                bucket,
                prefix: pictor_aws::config::upload_prefix(vars.upload_prefix, &presets),
                rules: UploadRules::new(&presets),
            }),
        };
        let cdn_signing = match (
            &vars.cdn_base_url,
            vars.cdn_key_pair_id,
            vars.cdn_private_key_secret,
        ) {
            (_, None, None) => None,
            (Some(_), Some(key_pair_id), Some(private_key_secret)) => Some(CdnSigning {
                key_pair_id,
                private_key_secret,
            }),
            _ => return Err(ConfigError::CdnSigning),
        };
        Ok(Config {
            output_bucket: vars.stores.output_bucket,
            table: vars.stores.table,
            cdn_base_url: vars.cdn_base_url,
            cdn_signing,
            url_expiry,
            uploads,
            admins: AdminPolicy {
                scope: vars.admin_scope,
                group: vars.admin_group,
            },
            presets,
            event_bus: vars.event_bus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_vars(vars.iter().copied())?)
    }

    #[test]
    fn defaults_and_errors() {
        let base = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let c = config(&base).unwrap();
        assert_eq!(c.url_expiry, Duration::from_secs(300));
        assert!(c.cdn_base_url.is_none());
        let missing = config(&base[..1]).err().unwrap();
        assert_eq!(missing.to_string(), "PICTOR_TABLE must be set");
        for bad in ["0", "-1", "soon", "604801"] {
            let mut env = base.to_vec();
            env.push(("PICTOR_URL_EXPIRY_SECONDS", bad));
            assert!(matches!(config(&env), Err(ConfigError::Expiry(_))), "{bad}");
        }
    }

    #[test]
    fn signed_cdn_urls_need_all_three_settings() {
        let base = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let cdn = ("PICTOR_CDN_BASE_URL", "https://d.example");
        let id = ("PICTOR_CDN_KEY_PAIR_ID", "K1");
        let secret = ("PICTOR_CDN_PRIVATE_KEY_SECRET", "pictor-cdn-key");
        let signing = config(&[base[0], base[1], cdn, id, secret])
            .unwrap()
            .cdn_signing
            .unwrap();
        assert_eq!(signing.key_pair_id, "K1");
        assert_eq!(signing.private_key_secret, "pictor-cdn-key");
        assert!(config(&[base[0], base[1], cdn])
            .unwrap()
            .cdn_signing
            .is_none());
        for partial in [vec![cdn, id], vec![cdn, secret], vec![id, secret]] {
            let mut env = base.to_vec();
            env.extend(partial);
            assert!(matches!(config(&env), Err(ConfigError::CdnSigning)));
        }
    }
}
