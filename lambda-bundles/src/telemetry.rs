//! Structured JSON logs and CloudWatch Embedded Metric Format lines, both on stdout.
//!
//! Lambda ships stdout to the function's log group; CloudWatch extracts EMF lines into
//! metrics asynchronously, so no request ever waits on a `PutMetricData` call.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The namespace metrics go to unless `METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "txdeploy/transactions";

fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn emit(line: &Value) {
    // One write per line so concurrent writers never interleave inside a line.
    let mut text = line.to_string();
    text.push('\n');
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Log severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// Builds one structured log line; `fields` must be a JSON object (others are nested).
pub fn log_line(level: Level, handler: &str, message: &str, fields: Value) -> Value {
    let mut line = Map::new();
    line.insert("timestamp".into(), json!(epoch_millis()));
    line.insert("level".into(), json!(level.as_str()));
    line.insert("handler".into(), json!(handler));
    line.insert("message".into(), json!(message));
    match fields {
        Value::Object(extra) => line.extend(extra),
        Value::Null => {}
        other => {
            line.insert("data".into(), other);
        }
    }
    Value::Object(line)
}

/// Writes one structured log line to stdout.
pub fn log(level: Level, handler: &str, message: &str, fields: Value) {
    emit(&log_line(level, handler, message, fields));
}

/// A CloudWatch metric unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// One EMF document: metrics with the `Handler` dimension plus searchable properties.
#[derive(Clone, Debug)]
pub struct Metrics {
    namespace: String,
    handler: String,
    values: Vec<(&'static str, f64, Unit)>,
    properties: Map<String, Value>,
}

impl Metrics {
    pub fn new(namespace: &str, handler: &str) -> Metrics {
        Metrics {
            namespace: namespace.to_owned(),
            handler: handler.to_owned(),
            values: Vec::new(),
            properties: Map::new(),
        }
    }

    pub fn put(&mut self, name: &'static str, value: f64, unit: Unit) -> &mut Metrics {
        self.values.push((name, value, unit));
        self
    }

    /// A non-dimension property, searchable in Logs Insights (request id, route, status).
    pub fn property(&mut self, name: &str, value: impl Into<Value>) -> &mut Metrics {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// The EMF document, as the CloudWatch specification lays it out.
    pub fn to_document(&self) -> Value {
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let mut root = self.properties.clone();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": epoch_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Handler"]],
                    "Metrics": definitions,
                }],
            }),
        );
        root.insert("Handler".into(), json!(self.handler));
        for (name, value, _) in &self.values {
            root.insert((*name).to_owned(), json!(value));
        }
        Value::Object(root)
    }

    /// Writes the document to stdout, if it holds any metric.
    pub fn flush(&self) {
        if !self.values.is_empty() {
            emit(&self.to_document());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_it_carries() {
        let mut metrics = Metrics::new("ns", "transaction-validator");
        metrics
            .put("TransactionsValidated", 1.0, Unit::Count)
            .put("Latency", 12.5, Unit::Milliseconds)
            .property("request_id", "r1");
        let doc = metrics.to_document();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ns");
        assert_eq!(directive["Dimensions"], json!([["Handler"]]));
        assert_eq!(
            directive["Metrics"][1],
            json!({"Name": "Latency", "Unit": "Milliseconds"})
        );
        assert!(
            doc["_aws"]["Timestamp"]
                .as_u64()
                .is_some_and(|t| t > 1_700_000_000_000)
        );
        assert_eq!(doc["Handler"], "transaction-validator");
        assert_eq!(doc["TransactionsValidated"], 1.0);
        assert_eq!(doc["Latency"], 12.5);
        assert_eq!(doc["request_id"], "r1");
    }

    #[test]
    fn log_lines_are_flat_json_objects() {
        let line = log_line(Level::Error, "h", "boom", json!({"request_id": "r"}));
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["handler"], "h");
        assert_eq!(line["message"], "boom");
        assert_eq!(line["request_id"], "r");
        assert_eq!(
            log_line(Level::Info, "h", "m", json!([1]))["data"],
            json!([1])
        );
    }
}
