//! `JsonReporter`: one JSON object per event, one per line (NDJSON), for `--json`.

use std::io::Write;

use serde::Serialize;

use super::Reporter;
use crate::canary::CanaryEvent;
use crate::engine::ExecEvent;

/// Writes each event as its `serde_json` form on its own line, flushed at once so a reader
/// sees events as they happen.
pub struct JsonReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonReporter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// The writer, for tests that read what was printed.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> JsonReporter<W> {
    fn line(&mut self, event: &impl Serialize) {
        match serde_json::to_string(event) {
            Ok(line) => {
                // A closed stdout must not fail the apply; the journal has the truth.
                let _ = writeln!(self.out, "{line}");
                let _ = self.out.flush();
            }
            Err(e) => tracing::warn!("cannot serialize an event as JSON: {e}"),
        }
    }
}

impl<W: Write + Send> Reporter for JsonReporter<W> {
    fn event(&mut self, event: &ExecEvent) {
        self.line(event);
    }

    fn canary(&mut self, event: &CanaryEvent) {
        self.line(event);
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::SkipReason;
    use crate::spec::{ResourceId, ResourceKind};

    #[test]
    fn canary_events_are_ndjson_lines_too() {
        let mut reporter = JsonReporter::new(Vec::new());
        for e in crate::canary::canary_event::sample_rolled_back() {
            reporter.canary(&e);
        }
        let text = String::from_utf8(reporter.into_inner()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0]["event"], "canary_started");
        assert_eq!(lines[0]["weight_percent"], 10);
        assert_eq!(lines[0]["aliases"][0]["canary_version"], "4");
        assert_eq!(lines[3]["event"], "canary_alarm");
        assert_eq!(lines[3]["state"], "ALARM");
        assert_eq!(lines[4]["event"], "canary_rolled_back");
        assert_eq!(lines[4]["cause"], "alarm");
        assert_eq!(lines[4]["alarm"], "tx-dev-transaction-validator-error-rate");
    }

    #[test]
    fn every_event_is_one_parseable_line() {
        let id = ResourceId::new(ResourceKind::Queue, "analytics");
        let events = [
            ExecEvent::NodeStarted {
                id: id.clone(),
                action: "create",
            },
            ExecEvent::NodeSkipped {
                id: id.clone(),
                reason: SkipReason::DependencyFailed {
                    dependency: ResourceId::new(ResourceKind::KmsKey, "sqs"),
                },
            },
        ];
        let mut reporter = JsonReporter::new(Vec::new());
        events.iter().for_each(|e| reporter.event(e));
        reporter.finish();
        let text = String::from_utf8(reporter.into_inner()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "node_started");
        assert_eq!(lines[0]["id"], "queue/analytics");
        assert_eq!(lines[1]["reason"], "dependency_failed");
        assert_eq!(lines[1]["dependency"], "kms_key/sqs");
    }
}
