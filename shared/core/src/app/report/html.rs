//! The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, no
//! external requests, so it can be opened from a bucket, a mail or a disk.

use super::Report;
use pictor_image::pipeline::Stage;
use std::fmt::Write;

const GREEN: &str = "#2f9e44";
const RED: &str = "#e03131";
const GREY: &str = "#868e96";
const BLUE: &str = "#1c7ed6";
const LIGHT_BLUE: &str = "#a5d8ff";
const TEAL: &str = "#0ca678";

/// Escapes text for HTML content and attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Small sums keep their significant digits: a day of a few images costs fractions of a cent.
pub(super) fn usd(amount: f64) -> String {
    if amount == 0.0 {
        "$0".to_string()
    } else if amount < 0.01 {
        format!("${amount:.6}")
    } else {
        format!("${amount:.2}")
    }
}

/// Minutes are enough on the page; the JSON keeps full timestamps.
pub(super) fn when(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default()
}

pub(super) fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// One bar of a horizontal bar chart; `behind` draws a second, lighter bar under it (p95
/// behind p50).
struct Row {
    label: String,
    value: f64,
    behind: Option<f64>,
    text: String,
    color: &'static str,
}

const CHART_WIDTH: f64 = 560.0;
const LABEL_WIDTH: f64 = 110.0;
const TEXT_WIDTH: f64 = 190.0;
const ROW_HEIGHT: f64 = 30.0;

/// The opening tag of a chart, named for screen readers.
fn svg_start(title: &str, height: f64) -> String {
    format!(
        r#"<svg role="img" aria-label="{}" viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    )
}

fn bar_chart(title: &str, rows: &[Row]) -> String {
    let mut svg = String::new();
    let height = ROW_HEIGHT * rows.len().max(1) as f64 + 8.0;
    let max = rows
        .iter()
        .map(|r| r.value.max(r.behind.unwrap_or(0.0)))
        .fold(0.0_f64, f64::max);
    let scale = if max > 0.0 {
        (CHART_WIDTH - LABEL_WIDTH - TEXT_WIDTH) / max
    } else {
        0.0
    };
    svg.push_str(&svg_start(title, height));
    if rows.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="0" y="20" fill="{GREY}">nothing in this window</text>"#
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW_HEIGHT;
        let mid = y + ROW_HEIGHT / 2.0 + 4.0;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{mid:.1}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8.0,
            esc(&row.label)
        );
        if let Some(behind) = row.behind {
            let _ = write!(
                svg,
                r#"<rect x="{LABEL_WIDTH}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3" fill="{LIGHT_BLUE}"/>"#,
                y + 4.0,
                (behind * scale).max(1.0),
                ROW_HEIGHT - 8.0
            );
        }
        let width = (row.value * scale).max(if row.value > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            svg,
            r#"<rect x="{LABEL_WIDTH}" y="{:.1}" width="{width:.1}" height="{:.1}" rx="3" fill="{}"/>"#,
            y + 4.0,
            ROW_HEIGHT - 8.0,
            row.color
        );
        let end = LABEL_WIDTH + row.value.max(row.behind.unwrap_or(0.0)) * scale + 8.0;
        let _ = write!(
            svg,
            r#"<text x="{end:.1}" y="{mid:.1}">{}</text>"#,
            esc(&row.text)
        );
    }
    svg.push_str("</svg>");
    format!("<section><h2>{}</h2>{svg}</section>", esc(title))
}

/// One day's column: stacked parts from the bottom, and the text of its tooltip.
struct Column {
    label: String,
    parts: Vec<(f64, &'static str)>,
    title: String,
}

const COLUMN_CHART_HEIGHT: f64 = 150.0;
const AXIS_HEIGHT: f64 = 20.0;

/// Vertical columns, one per day, the largest labelled: the trend charts.
fn column_chart(title: &str, columns: &[Column], max_text: &dyn Fn(f64) -> String) -> String {
    let mut svg = String::new();
    let height = COLUMN_CHART_HEIGHT + AXIS_HEIGHT;
    let max = columns
        .iter()
        .map(|c| c.parts.iter().map(|p| p.0).sum::<f64>())
        .fold(0.0_f64, f64::max);
    // Room on the left for the largest value's label, on the right for the last date's.
    let plot_left = 72.0;
    let plot_right = CHART_WIDTH - 24.0;
    let step = (plot_right - plot_left) / columns.len().max(1) as f64;
    let scale = if max > 0.0 {
        (COLUMN_CHART_HEIGHT - 10.0) / max
    } else {
        0.0
    };
    svg.push_str(&svg_start(title, height));
    let _ = write!(
        svg,
        r#"<text x="0" y="14">{}</text><line x1="{plot_left}" y1="{COLUMN_CHART_HEIGHT}" x2="{plot_right}" y2="{COLUMN_CHART_HEIGHT}" stroke="{GREY}"/>"#,
        esc(&max_text(max))
    );
    for (i, column) in columns.iter().enumerate() {
        let x = plot_left + i as f64 * step + 1.0;
        let mut bottom = COLUMN_CHART_HEIGHT;
        let _ = write!(svg, "<g><title>{}</title>", esc(&column.title));
        for (value, color) in &column.parts {
            let h = value * scale;
            if h > 0.0 {
                let h = h.max(1.0);
                bottom -= h;
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{bottom:.1}" width="{:.1}" height="{h:.1}" fill="{color}"/>"#,
                    (step - 2.0).max(1.0)
                );
            }
        }
        svg.push_str("</g>");
        // A date under every seventh column, counted back from the last day.
        if (columns.len() - 1 - i).is_multiple_of(7) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
                x + step / 2.0,
                height - 4.0,
                esc(&column.label)
            );
        }
    }
    svg.push_str("</svg>");
    format!("<section><h2>{}</h2>{svg}</section>", esc(title))
}

/// The trend's three charts: uploads (failures in red on top), bytes out and cost per day.
fn trend_charts(report: &Report) -> String {
    let label = |date: &str| date.get(5..).unwrap_or(date).to_string();
    let uploads: Vec<Column> = report
        .trend
        .iter()
        .map(|d| Column {
            label: label(&d.date),
            parts: vec![
                ((d.uploads - d.failures) as f64, GREEN),
                (d.failures as f64, RED),
            ],
            title: format!("{}: {} uploads, {} failed", d.date, d.uploads, d.failures),
        })
        .collect();
    let bytes: Vec<Column> = report
        .trend
        .iter()
        .map(|d| Column {
            label: label(&d.date),
            parts: vec![(d.bytes_out as f64, BLUE)],
            title: format!(
                "{}: {} in, {} out",
                d.date,
                megabytes(d.bytes_in as f64),
                megabytes(d.bytes_out as f64)
            ),
        })
        .collect();
    let cost: Vec<Column> = report
        .trend
        .iter()
        .map(|d| Column {
            label: label(&d.date),
            parts: vec![(d.cost_usd, TEAL)],
            title: format!("{}: {}", d.date, usd(d.cost_usd)),
        })
        .collect();
    let days = report.trend.len();
    [
        column_chart(
            &format!("Uploads per day, last {days} days (failed in red)"),
            &uploads,
            &|max| format!("{max:.0}"),
        ),
        column_chart(
            &format!("Renditions written per day, last {days} days"),
            &bytes,
            &megabytes,
        ),
        column_chart(
            &format!("Estimated Lambda cost per day, last {days} days"),
            &cost,
            &usd,
        ),
    ]
    .concat()
}

fn card(title: &str, value: &str, detail: &str) -> String {
    format!(
        r#"<div class="card"><div class="card-title">{}</div><div class="card-value">{}</div><div class="card-detail">{}</div></div>"#,
        esc(title),
        esc(value),
        esc(detail)
    )
}

pub fn render(report: &Report) -> String {
    render_with_link(report, None)
}

/// The page with a link to where it is kept, for a mail: `link` is shown above the cards.
pub fn render_with_link(report: &Report, link: Option<&str>) -> String {
    let link = link.map_or(String::new(), |url| {
        format!(
            r#"<p class="link"><a href="{}">Open this report in a browser</a></p>"#,
            esc(url)
        )
    });
    let c = &report.counts;
    let processed = c.ready + c.failed;
    let failure_rate = if processed > 0 {
        format!("{:.1}% failed", 100.0 * c.failed as f64 / processed as f64)
    } else {
        "nothing processed".to_string()
    };
    let b = &report.bytes;
    let ratio = if b.bytes_in > 0 {
        format!(
            "renditions are {:.0}% of the originals",
            100.0 * b.bytes_out as f64 / b.bytes_in as f64
        )
    } else {
        String::new()
    };
    let cost = &report.cost;
    let cards = [
        card(
            "Processed",
            &processed.to_string(),
            &format!("{} ready, {failure_rate}", c.ready),
        ),
        card(
            "Originals in",
            &megabytes(b.bytes_in as f64),
            &format!("{} renditions out", megabytes(b.bytes_out as f64)),
        ),
        card(
            "Median time",
            &report
                .timings
                .get("total")
                .map_or("–".to_string(), |t| format!("{:.0} ms", t.p50_ms)),
            &report
                .timings
                .get("total")
                .map_or(String::new(), |t| format!("p95 {:.0} ms", t.p95_ms)),
        ),
        card(
            "Estimated Lambda cost",
            &usd(cost.total_usd),
            &format!(
                "{:.1} GB-s at {} MB {}",
                cost.gb_seconds, cost.assumptions.memory_mb, cost.assumptions.architecture
            ),
        ),
    ]
    .concat();

    let status_rows = vec![
        Row {
            label: "ready".into(),
            value: c.ready as f64,
            behind: None,
            text: c.ready.to_string(),
            color: GREEN,
        },
        Row {
            label: "failed".into(),
            value: c.failed as f64,
            behind: None,
            text: c.failed.to_string(),
            color: RED,
        },
        Row {
            label: "deleted".into(),
            value: c.deleted as f64,
            behind: None,
            text: c.deleted.to_string(),
            color: GREY,
        },
    ];
    let failure_rows: Vec<Row> = report
        .failures_by_kind
        .iter()
        .map(|(kind, n)| Row {
            label: kind.clone(),
            value: *n as f64,
            behind: None,
            text: n.to_string(),
            color: RED,
        })
        .collect();
    let mut byte_rows = vec![Row {
        label: "originals".into(),
        value: b.bytes_in as f64,
        behind: None,
        text: megabytes(b.bytes_in as f64),
        color: GREY,
    }];
    for (format, f) in &b.per_format {
        byte_rows.push(Row {
            label: format!("{format} out"),
            value: f.bytes_out as f64,
            behind: None,
            text: format!(
                "{} in {} files",
                megabytes(f.bytes_out as f64),
                f.renditions
            ),
            color: BLUE,
        });
        byte_rows.push(Row {
            label: format!("{format} saved"),
            value: f.bytes_saved.max(0) as f64,
            behind: None,
            text: format!("{} per view", megabytes(f.bytes_saved as f64)),
            color: TEAL,
        });
    }
    let timing_rows: Vec<Row> = Stage::ALL
        .iter()
        .filter(|s| **s != Stage::Total)
        .filter_map(|s| report.timings.get(s.as_str()).map(|t| (s.as_str(), t)))
        .map(|(stage, t)| Row {
            label: stage.to_string(),
            value: t.p50_ms,
            behind: Some(t.p95_ms),
            text: format!("p50 {:.1} · p95 {:.1} ms", t.p50_ms, t.p95_ms),
            color: BLUE,
        })
        .collect();

    let mut failures = String::new();
    if report.recent_failures.is_empty() {
        failures.push_str("<p class=\"muted\">No failures in this window.</p>");
    } else {
        failures.push_str(
            "<table><thead><tr><th>source</th><th>kind</th><th>reason</th></tr></thead><tbody>",
        );
        for f in &report.recent_failures {
            let _ = write!(
                failures,
                "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.id),
                esc(&f.source),
                esc(&f.kind),
                esc(&f.message)
            );
        }
        failures.push_str("</tbody></table>");
    }

    let reconcile = match &report.reconcile {
        None => "<p class=\"muted\">No reconcile pass has run yet.</p>".to_string(),
        Some(r) => {
            let mut table = String::from("<table><tbody>");
            for (label, n) in [
                ("uploads without a record", r.unrecorded),
                ("records of an older write", r.outdated),
                ("records of deleted uploads", r.gone),
                ("ready records missing renditions", r.broken),
                ("renditions no record references", r.orphans),
                ("repaired", r.repaired),
                ("repairs that failed", r.failed),
            ] {
                let _ = write!(table, "<tr><td>{}</td><td>{n}</td></tr>", esc(label));
            }
            table.push_str("</tbody></table>");
            let when = r.at.map(when).unwrap_or_default();
            format!(
                "<p class=\"muted\">Last pass {} over {} uploads and {} records{}.</p>{table}",
                esc(&when),
                r.originals,
                r.records,
                if r.dry_run {
                    " (dry run: nothing changed)"
                } else {
                    ""
                }
            )
        }
    };

    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pictor report {from} – {to}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212529; margin: 0; background: #f8f9fa; }}
main {{ max-width: 1200px; margin: 0 auto; padding: 24px; }}
h1 {{ font-size: 24px; margin: 0 0 4px; }}
h2 {{ font-size: 16px; margin: 0 0 12px; }}
.muted {{ color: #868e96; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; margin: 20px 0; }}
.card, section {{ background: #fff; border: 1px solid #dee2e6; border-radius: 8px; padding: 16px; }}
.card-title {{ color: #495057; font-size: 13px; }}
.card-value {{ font-size: 26px; font-weight: 600; margin: 4px 0; }}
.card-detail {{ color: #868e96; font-size: 13px; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(590px, 1fr)); gap: 12px; }}
svg {{ max-width: 100%; height: auto; font-size: 13px; fill: #212529; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
th, td {{ text-align: left; padding: 6px 8px; border-bottom: 1px solid #e9ecef; vertical-align: top; }}
.wide {{ margin-top: 12px; }}
h2.trend {{ margin: 20px 0 12px; }}
</style>
</head>
<body>
<main>
<h1>Pictor daily report</h1>
<div class="muted">{from} to {to} (UTC) · generated {generated}</div>
{link}
<div class="cards">{cards}</div>
<div class="charts">
{status}
{kinds}
{bytes}
{timings}
</div>
<h2 class="trend">Trend</h2>
<div class="charts">
{trend}
</div>
<section class="wide"><h2>Recent failures</h2>{failures}</section>
<section class="wide"><h2>Drift between the uploads, the records and the renditions</h2>{reconcile}</section>
<p class="muted">Cost: {invocations} invocations, {billed} ms billed, {compute} compute + {requests} requests. Assumes {note}.
Bytes saved: original minus the largest rendition of each format, summed over ready assets.
Timings: pipeline stages of ready assets, p50 dark over p95 light.</p>
</main>
</body>
</html>
"#,
        from = esc(&when(report.from)),
        to = esc(&when(report.to)),
        generated = esc(&when(report.generated_at)),
        status = bar_chart("Records by status", &status_rows),
        kinds = bar_chart("Failures by kind", &failure_rows),
        bytes = bar_chart(&format!("Bytes ({ratio})"), &byte_rows),
        timings = bar_chart("Stage timings (ms)", &timing_rows),
        trend = trend_charts(report),
        invocations = cost.invocations,
        billed = cost.billed_ms,
        compute = usd(cost.compute_usd),
        requests = usd(cost.requests_usd),
        note = esc(&cost.assumptions.note),
    )
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
