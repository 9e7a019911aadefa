//! The report as a mail to stakeholders: the page inline as the HTML part (its charts are
//! inline SVG, so nothing is fetched), every number again as plain text, and a link to the
//! report where it is kept. One MIME message, sent as it is over SMTP or SES.

use super::html::{megabytes, usd, when};
use super::{render_html_with_link, Report, Window};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use std::fmt::Write;

/// Days of the trend the plain-text part lists (the HTML part charts all of them).
const TEXT_TREND_DAYS: usize = 7;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0:?} is not a mail address: {1}")]
    Address(String, String),
    #[error("no recipients")]
    NoRecipients,
    #[error("building the message: {0}")]
    Build(String),
}

/// Parses `Name <a@b>` or `a@b`.
pub fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            MailError::Address(address.to_string(), e.to_string())
        })
}

/// `Pictor report 2026-11-27: 120 ready, 3 failed`.
pub fn subject(report: &Report) -> String {
    let name = Window {
        from: report.from,
        to: report.to,
    }
    .name();
    let c = &report.counts;
    format!(
        "Pictor report {name}: {} ready, {} failed",
        c.ready, c.failed
    )
}

/// The report as plain text, for clients that show no HTML (or no SVG).
pub fn render_text(report: &Report, link: Option<&str>) -> String {
    let c = &report.counts;
    let b = &report.bytes;
    let processed = c.ready + c.failed;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Pictor daily report, {} to {} (UTC)\n",
        when(report.from),
        when(report.to)
    );
    let _ = writeln!(
        text,
        "Processed    {processed} ({} ready, {} failed)",
        c.ready, c.failed
    );
    let _ = writeln!(text, "Deleted      {}", c.deleted);
    let _ = writeln!(
        text,
        "Bytes        {} originals in, {} renditions out",
        megabytes(b.bytes_in as f64),
        megabytes(b.bytes_out as f64)
    );
    if let Some(t) = report.timings.get("total") {
        let _ = writeln!(
            text,
            "Time         p50 {:.0} ms, p95 {:.0} ms",
            t.p50_ms, t.p95_ms
        );
    }
    let _ = writeln!(
        text,
        "Cost         {} estimated ({} invocations at {} MB {})",
        usd(report.cost.total_usd),
        report.cost.invocations,
        report.cost.assumptions.memory_mb,
        report.cost.assumptions.architecture
    );
    if !report.failures_by_kind.is_empty() {
        text.push_str("\nFailures by kind\n");
        for (kind, n) in &report.failures_by_kind {
            let _ = writeln!(text, "  {kind}: {n}");
        }
    }
    if !report.recent_failures.is_empty() {
        text.push_str("\nRecent failures\n");
        for f in &report.recent_failures {
            let _ = writeln!(text, "  {} ({}): {}", f.source, f.kind, f.message);
        }
    }
    if let Some(r) = &report.reconcile {
        let _ = writeln!(
            text,
            "\nLast reconcile pass: {} found out of step, {} repaired, {} repairs failed",
            r.unrecorded + r.outdated + r.gone + r.broken + r.orphans,
            r.repaired,
            r.failed
        );
    }
    let recent = &report.trend[report.trend.len().saturating_sub(TEXT_TREND_DAYS)..];
    if !recent.is_empty() {
        let _ = writeln!(
            text,
            "\nLast {} days\n  {:<10} {:>8} {:>7} {:>12} {:>10}",
            recent.len(),
            "day",
            "uploads",
            "failed",
            "out",
            "cost"
        );
        for d in recent {
            let _ = writeln!(
                text,
                "  {:<10} {:>8} {:>7} {:>12} {:>10}",
                d.date,
                d.uploads,
                d.failures,
                megabytes(d.bytes_out as f64),
                usd(d.cost_usd)
            );
        }
    }
    if let Some(url) = link {
        let _ = writeln!(text, "\nThe full report, with charts: {url}");
    }
    text
}

/// The whole message: `multipart/alternative` with the text first and the page last, as
/// clients pick the last part they can show.
pub fn message(
    report: &Report,
    link: Option<&str>,
    from: &str,
    to: &[String],
) -> Result<lettre::Message, MailError> {
    if to.is_empty() {
        return Err(MailError::NoRecipients);
    }
    let mut builder = lettre::Message::builder()
        .from(mailbox(from)?)
        .subject(subject(report));
    for address in to {
        builder = builder.to(mailbox(address)?);
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(render_text(report, link)),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(render_html_with_link(report, link)),
        );
    builder
        .multipart(body)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Recipients from a comma-separated list, as settings carry them.
pub fn recipients(list: &str) -> Result<Vec<String>, MailError> {
    let to: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    for address in &to {
        mailbox(address)?;
    }
    if to.is_empty() {
        return Err(MailError::NoRecipients);
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked() {
        assert_eq!(
            recipients(" a@example.test, Bo <bo@example.test> ,").unwrap(),
            vec!["a@example.test", "Bo <bo@example.test>"]
        );
        assert!(matches!(recipients(" , "), Err(MailError::NoRecipients)));
        assert!(matches!(
            recipients("a@example.test, not an address"),
            Err(MailError::Address(..))
        ));
    }
}
