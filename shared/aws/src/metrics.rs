//! CloudWatch Embedded Metric Format: one JSON line on stdout per unit of work, which
//! CloudWatch Logs turns into metrics without any API call from the function.

use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "Pictor";

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

    pub fn count(mut self, name: &str, value: f64) -> Emf {
        self.metrics.push((name.to_string(), "Count", value));
        self
    }

    pub fn millis(mut self, name: &str, value: f64) -> Emf {
        self.metrics.push((name.to_string(), "Milliseconds", value));
        self
    }

    pub fn bytes(mut self, name: &str, value: f64) -> Emf {
        self.metrics.push((name.to_string(), "Bytes", value));
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
        let dims: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let defs: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
            .collect();
        doc.insert(
            "_aws".to_string(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dims], "Metrics": defs}]
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
            .dimension("Outcome", "failed")
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
        assert_eq!(cw["Dimensions"][0], json!(["Function", "Outcome"]));
        assert_eq!(
            cw["Metrics"][1],
            json!({"Name": "DecodeMs", "Unit": "Milliseconds"})
        );
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
