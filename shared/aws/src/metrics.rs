//! CloudWatch Embedded Metric Format: one JSON line on stdout per unit of work, which
//! CloudWatch Logs turns into metrics without any API call from the function.
//!
//! Every metric is published under the dimension set `Function`; one with an extra dimension
//! (`Failed` by `Kind`) is also published under `Function` plus that dimension. [`CATALOGUE`]
//! lists what each function emits: the CDK app's dashboard and alarms may only use those (its
//! contract test reads the table from this file), and emitting anything else fails the tests.

use pictor_image::pipeline::Stage;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "Pictor";

/// What the functions that converge uploads (ingest and cleanup run one handler) emit.
const CONVERGING: &[&str] = &[
    "Processed",
    "Failed",
    "GaveUp",
    "Unchanged",
    "Deleted",
    "BytesIn",
    "BytesOut",
    "DecodeMs",
    "OrientMs",
    "AnalyzeMs",
    "ResizeMs",
    "WatermarkMs",
    "EncodeMs",
    "TotalMs",
];

/// Every metric name, by the `Function` dimension value it is published under.
pub const CATALOGUE: &[(&str, &[&str])] = &[
    ("ingest", CONVERGING),
    ("cleanup", CONVERGING),
    (
        "reconcile",
        &[
            "Unrecorded",
            "Outdated",
            "Gone",
            "Broken",
            "Orphans",
            "Unannounced",
            "Unpurged",
            "Drift",
            "Repaired",
            "HandedOff",
            "Deferred",
            "RepairFailed",
        ],
    ),
    ("purge", &["Purged", "PathsInvalidated"]),
];

/// The metric a pipeline stage's time is published as (`DecodeMs`).
pub fn stage_metric(stage: Stage) -> &'static str {
    match stage {
        Stage::Decode => "DecodeMs",
        Stage::Orient => "OrientMs",
        Stage::Analyze => "AnalyzeMs",
        Stage::Resize => "ResizeMs",
        Stage::Watermark => "WatermarkMs",
        Stage::Encode => "EncodeMs",
        Stage::Total => "TotalMs",
    }
}

/// Whether `function` is catalogued as emitting `metric`.
pub fn is_catalogued(function: &str, metric: &str) -> bool {
    CATALOGUE
        .iter()
        .any(|(f, names)| *f == function && names.contains(&metric))
}

tokio::task_local! {
    /// The Lambda request being handled, which every metric line carries like the log lines.
    static REQUEST_ID: String;
}

/// Runs `work` with `request_id` attached to every metric line it emits.
pub async fn with_request_id<F: Future>(request_id: String, work: F) -> F::Output {
    REQUEST_ID.scope(request_id, work).await
}

/// One EMF document: metrics (name, unit, value) under the given dimensions.
#[derive(Debug, Default)]
pub struct Emf {
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, &'static str, f64)>,
    properties: Map<String, Value>,
}

impl Emf {
    pub fn new(function: &str) -> Emf {
        Emf {
            dimensions: vec![("Function".to_string(), function.to_string())],
            ..Emf::default()
        }
    }

    pub fn dimension(mut self, name: &str, value: &str) -> Emf {
        self.dimensions.push((name.to_string(), value.to_string()));
        self
    }

    pub fn count(self, name: &str, value: f64) -> Emf {
        self.metric(name, "Count", value)
    }

    pub fn millis(self, name: &str, value: f64) -> Emf {
        self.metric(name, "Milliseconds", value)
    }

    pub fn bytes(self, name: &str, value: f64) -> Emf {
        self.metric(name, "Bytes", value)
    }

    fn metric(mut self, name: &str, unit: &'static str, value: f64) -> Emf {
        debug_assert!(
            is_catalogued(&self.dimensions[0].1, name),
            "{name} of {} is not in metrics::CATALOGUE",
            self.dimensions[0].1
        );
        self.metrics.push((name.to_string(), unit, value));
        self
    }

    /// Searchable context that is not a metric (an asset id, a key).
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Emf {
        self.properties.insert(name.to_string(), value.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut doc = self.properties.clone();
        for (name, value) in &self.dimensions {
            doc.insert(name.clone(), json!(value));
        }
        for (name, _, value) in &self.metrics {
            doc.insert(name.clone(), json!(value));
        }
        if let Ok(id) = REQUEST_ID.try_with(|id| id.clone()) {
            doc.insert("requestId".to_string(), json!(id));
        }
        let dims: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        // Always the `Function` roll-up, so a widget can ask for a function's total.
        let sets = if dims.len() > 1 {
            json!([["Function"], dims])
        } else {
            json!([dims])
        };
        let defs: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
            .collect();
        doc.insert(
            "_aws".to_string(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": sets, "Metrics": defs}]
            }),
        );
        Value::Object(doc)
    }

    /// Writes the document as one line on stdout, where the Lambda log agent picks it up.
    pub fn emit(&self) {
        println!("{}", self.to_json());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_declares_every_metric_it_carries() {
        let doc = Emf::new("ingest")
            .dimension("Kind", "corrupt")
            .count("Failed", 1.0)
            .millis("DecodeMs", 12.5)
            .property("assetId", "abc")
            .to_json();
        assert_eq!(doc["Failed"], 1.0);
        assert_eq!(doc["DecodeMs"], 12.5);
        assert_eq!(doc["Function"], "ingest");
        assert_eq!(doc["assetId"], "abc");
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Pictor");
        assert_eq!(
            cw["Dimensions"],
            json!([["Function"], ["Function", "Kind"]])
        );
        assert_eq!(doc["Kind"], "corrupt");
        assert!(doc.get("requestId").is_none());
        assert_eq!(
            cw["Metrics"][1],
            json!({"Name": "DecodeMs", "Unit": "Milliseconds"})
        );
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        let plain = Emf::new("reconcile").count("Drift", 0.0).to_json();
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
    }

    #[tokio::test]
    async fn metric_lines_carry_the_request_id() {
        let doc = with_request_id("req-1".into(), async {
            Emf::new("ingest").count("Processed", 1.0).to_json()
        })
        .await;
        assert_eq!(doc["requestId"], "req-1");
    }

    #[test]
    fn every_pipeline_stage_is_catalogued() {
        for stage in Stage::ALL {
            assert!(is_catalogued("ingest", stage_metric(stage)), "{stage:?}");
        }
    }
}
