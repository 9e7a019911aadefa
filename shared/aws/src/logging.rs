//! Every function's log lines, as Lambda's advanced logging controls ask for them: JSON when
//! `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level in `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`,
//! else INFO). A level only: per-module directives would need a regular-expression engine in
//! every function's package, for a setting Lambda's controls never write.

use tracing_subscriber::filter::LevelFilter;

/// Installs the subscriber; a second call (tests) leaves the first in place.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let lines = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_max_level(level_of(level.as_deref()));
    let _ = if json {
        lines.json().try_init()
    } else {
        lines.try_init()
    };
}

/// The level a setting names, INFO when it names none (Lambda's FATAL included: tracing has
/// no such level, and ERROR is the nearest that still shows failures).
fn level_of(setting: Option<&str>) -> LevelFilter {
    match setting.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("fatal") => LevelFilter::ERROR,
        Some(name) => name.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_level_names_are_read_and_anything_else_is_info() {
        assert_eq!(level_of(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level_of(Some("warn")), LevelFilter::WARN);
        assert_eq!(level_of(Some("TRACE")), LevelFilter::TRACE);
        assert_eq!(level_of(Some("FATAL")), LevelFilter::ERROR);
        assert_eq!(level_of(Some("pictor=debug")), LevelFilter::INFO);
        assert_eq!(level_of(None), LevelFilter::INFO);
    }
}
