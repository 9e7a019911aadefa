//! CloudFront signed URLs (canned policy) for deployments whose renditions must not be public:
//! the distribution trusts a key group, and the query function signs each URL with the
//! matching private key, which it reads once from Secrets Manager.
//!
//! The signature is RSA PKCS#1 v1.5 over SHA-256 of the policy, announced with
//! `Hash-Algorithm=SHA256` (CloudFront's default, SHA-1, is legacy). An expiry is rounded up
//! to a whole multiple of the lifetime, so every call within one such window hands out the
//! same URL and browsers and the CDN keep caching it.

use async_trait::async_trait;
use base64::Engine;
use pictor_core::ports::RenditionUrls;
use pictor_core::ports::StoreError;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("the CloudFront private key is not PEM: {0}")]
    NotPem(String),
    #[error("the CloudFront private key is a {0:?}; expected an RSA PRIVATE KEY or PRIVATE KEY")]
    WrongLabel(String),
    #[error("the CloudFront private key is not a usable RSA key (2048 bits or more): {0}")]
    Rejected(String),
    #[error("reading the CloudFront private key from secret {secret}: {reason}")]
    Secret { secret: String, reason: String },
    #[error("the URL lifetime must be at least a second")]
    Lifetime,
}

/// Signs `<base>/<key>` URLs for one key of the distribution's key group.
pub struct SignedCdnUrls {
    base: String,
    key_pair_id: String,
    key: RsaKeyPair,
    lifetime: Duration,
}

impl SignedCdnUrls {
    /// `pem`: the private key as `openssl genrsa` writes it (PKCS#8 or PKCS#1).
    pub fn from_pem(
        base: &str,
        key_pair_id: &str,
        pem: &str,
        lifetime: Duration,
    ) -> Result<SignedCdnUrls, SigningKeyError> {
        if lifetime.as_secs() == 0 {
            return Err(SigningKeyError::Lifetime);
        }
        let block = pem::parse(pem.trim()).map_err(|e| SigningKeyError::NotPem(e.to_string()))?;
        let key = match block.tag() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(block.contents()),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(block.contents()),
            other => return Err(SigningKeyError::WrongLabel(other.to_string())),
        }
        .map_err(|e| SigningKeyError::Rejected(e.to_string()))?;
        Ok(SignedCdnUrls {
            base: base.trim_end_matches('/').to_string(),
            key_pair_id: key_pair_id.to_string(),
            key,
            lifetime,
        })
    }

    /// The URL of `key` as signed at `now` (seconds since the epoch).
    pub fn sign_at(&self, key: &str, now: u64) -> Result<String, StoreError> {
        let resource = format!("{}/{key}", self.base);
        let expires = expiry(now, self.lifetime.as_secs());
        let policy = canned_policy(&resource, expires);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                policy.as_bytes(),
                &mut signature,
            )
            .map_err(|e| StoreError::Other(format!("signing the URL of {key}: {e}")))?;
        Ok(format!(
            "{resource}?Expires={expires}&Signature={}&Key-Pair-Id={}&Hash-Algorithm=SHA256",
            url_safe_base64(&signature),
            self.key_pair_id
        ))
    }
}

#[async_trait]
impl RenditionUrls for SignedCdnUrls {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.sign_at(key, now)
    }
}

/// The end of the window after `now + lifetime`: at least one lifetime away, at most two.
fn expiry(now: u64, lifetime: u64) -> u64 {
    (now.saturating_add(lifetime) / lifetime + 1).saturating_mul(lifetime)
}

/// The policy CloudFront rebuilds from the URL to check the signature: no whitespace, keys in
/// this order.
pub fn canned_policy(resource: &str, expires: u64) -> String {
    let resource = serde_json::Value::String(resource.to_string());
    format!(
        r#"{{"Statement":[{{"Resource":{resource},"Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
    )
}

/// Base64 with the three characters CloudFront swaps for URL-safe ones: `+`→`-`, `=`→`_`,
/// `/`→`~`.
fn url_safe_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            c => c,
        })
        .collect()
}

/// The private key's PEM, as an operator stored it in Secrets Manager (`SecretString`).
pub async fn private_key_from_secret(
    sdk: &aws_config::SdkConfig,
    secret: &str,
) -> Result<String, SigningKeyError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let value = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| SigningKeyError::Secret {
            secret: secret.to_string(),
            reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
        })?;
    value
        .secret_string()
        .map(str::to_string)
        .ok_or_else(|| SigningKeyError::Secret {
            secret: secret.to_string(),
            reason: "it holds no SecretString (store the PEM text)".to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_a_window_boundary_at_least_a_lifetime_away() {
        assert_eq!(expiry(1_000, 3_600), 7_200);
        assert_eq!(expiry(3_599, 3_600), 7_200);
        assert_eq!(expiry(3_600, 3_600), 10_800);
        for now in [0, 1, 1_799, 86_399, 1_764_000_000] {
            let at = expiry(now, 3_600);
            assert_eq!(at % 3_600, 0);
            assert!(at >= now + 3_600 && at <= now + 7_200, "{now} -> {at}");
        }
    }

    #[test]
    fn policy_is_compact_and_escaped() {
        assert_eq!(
            canned_policy("https://d.example/renditions/a.jpg", 7200),
            r#"{"Statement":[{"Resource":"https://d.example/renditions/a.jpg","Condition":{"DateLessThan":{"AWS:EpochTime":7200}}}]}"#
        );
        assert!(canned_policy("https://d/\"x", 1).contains(r#""https://d/\"x""#));
    }

    #[test]
    fn url_safe_alphabet() {
        assert_eq!(url_safe_base64(&[0xfb, 0xff]), "-~8_");
    }

    #[test]
    fn refuses_what_is_not_an_rsa_private_key() {
        let lifetime = Duration::from_secs(60);
        assert!(matches!(
            SignedCdnUrls::from_pem("https://d", "K1", "not a key", lifetime),
            Err(SigningKeyError::NotPem(_))
        ));
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            SignedCdnUrls::from_pem("https://d", "K1", public, lifetime),
            Err(SigningKeyError::WrongLabel(_))
        ));
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            SignedCdnUrls::from_pem("https://d", "K1", garbage, lifetime),
            Err(SigningKeyError::Rejected(_))
        ));
    }
}
