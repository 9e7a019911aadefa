//! Mail through SES (API v2): a whole MIME message, sent as it was built, from a verified
//! identity.

use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

#[derive(Debug, thiserror::Error)]
pub enum SesError {
    /// SES refused this message or sender (unverified identity, sandbox recipient, bad
    /// address): sending it again will not help.
    #[error("SES rejected the mail ({code}): {message}")]
    Rejected { code: String, message: String },
    /// Throttling, a network or service fault: worth another try.
    #[error("SES is unavailable: {0}")]
    Unavailable(String),
}

/// Error codes that say the message itself, its sender or its recipients are the problem.
const PERMANENT: [&str; 6] = [
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "NotFoundException",
    "BadRequestException",
    "AccountSuspendedException",
    "SendingPausedException",
];

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
}

impl SesMailer {
    pub fn new(sdk: &aws_config::SdkConfig) -> SesMailer {
        SesMailer {
            client: aws_sdk_sesv2::Client::new(sdk),
        }
    }

    /// Sends `raw` (RFC 5322 bytes, headers included) from `from` to `to`; SES's message ID.
    pub async fn send_raw(
        &self,
        from: &str,
        to: &[String],
        raw: Vec<u8>,
    ) -> Result<String, SesError> {
        let destination = Destination::builder()
            .set_to_addresses(Some(to.to_vec()))
            .build();
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| SesError::Unavailable(e.to_string()))?;
        let sent = self
            .client
            .send_email()
            .from_email_address(from)
            .destination(destination)
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| {
                let code = e.code().unwrap_or_default().to_string();
                if PERMANENT.contains(&code.as_str()) {
                    SesError::Rejected {
                        code,
                        message: e.message().unwrap_or_default().to_string(),
                    }
                } else {
                    SesError::Unavailable(DisplayErrorContext(&e).to_string())
                }
            })?;
        Ok(sent.message_id().unwrap_or_default().to_string())
    }
}
