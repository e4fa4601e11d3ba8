//! `PlainReporter`: one human line per event, for CI logs and pipes (colors only on a TTY).

use std::collections::BTreeMap;
use std::io::Write;

use super::{Reporter, format_duration, next_step};
use crate::canary::{CanaryEvent, PromoteTrigger};
use crate::engine::{ApplyOutcome, ExecEvent, SkipReason, UndoOutcome};
use crate::monitor::AlarmState;
use crate::spec::ResourceId;

/// Writes lines such as `  [ 3/12] create  queue/analytics … done (0.4 s)`.
pub struct PlainReporter<W: Write + Send> {
    out: W,
    color: bool,
    /// Nodes that will call AWS, from `ApplyStarted`.
    total: usize,
    /// The position of each started node, in start order.
    positions: BTreeMap<ResourceId, usize>,
}

const GREEN: &str = "32";
const RED: &str = "31";
const YELLOW: &str = "33";
const DIM: &str = "2";

impl<W: Write + Send> PlainReporter<W> {
    pub fn new(out: W, color: bool) -> Self {
        Self {
            out,
            color,
            total: 0,
            positions: BTreeMap::new(),
        }
    }

    /// The writer, for tests that read what was printed.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `[ 3/12]`, or `[ -/12]` for a node that never started.
    fn counter(&self, id: &ResourceId) -> String {
        let width = self.total.max(1).to_string().len();
        match self.positions.get(id) {
            Some(n) => format!("[{n:>width$}/{}]", self.total),
            None => format!("[{:>width$}/{}]", "-", self.total),
        }
    }

    fn line(&mut self, text: &str) {
        // A closed stdout (`| head`) must not fail the apply; the journal has the truth.
        let _ = writeln!(self.out, "{text}");
    }

    fn render(&mut self, event: &ExecEvent) -> Option<String> {
        Some(match event {
            ExecEvent::ApplyStarted {
                apply_id,
                stack,
                changes,
            } => {
                self.total = *changes;
                self.positions.clear();
                let noun = if *changes == 1 { "change" } else { "changes" };
                format!("Applying `{stack}`: {changes} {noun} (apply {apply_id})")
            }
            ExecEvent::NodeStarted { id, action } => {
                let next = self.positions.len() + 1;
                self.positions.entry(id.clone()).or_insert(next);
                format!("  {} {action:<7} {id} …", self.counter(id))
            }
            ExecEvent::NodeProgress { id, message } => {
                format!("  {} {:<7} {id}: {message}", self.counter(id), "wait")
            }
            ExecEvent::NodeRetrying {
                id,
                attempt,
                class,
                error,
                delay_ms,
            } => {
                let retry = self.paint("retry", YELLOW);
                format!(
                    "  {} {retry}   {id}: {class} error, attempt {attempt}, next try in {}: {error}",
                    self.counter(id),
                    format_duration(*delay_ms)
                )
            }
            ExecEvent::NodeSucceeded {
                id,
                action,
                elapsed_ms,
            } => {
                let done = self.paint("done", GREEN);
                format!(
                    "  {} {action:<7} {id} … {done} ({})",
                    self.counter(id),
                    format_duration(*elapsed_ms)
                )
            }
            ExecEvent::NodeFailed {
                id,
                action,
                error,
                elapsed_ms,
            } => {
                let failed = self.paint("failed", RED);
                let pad = " ".repeat(self.counter(id).len() + 3);
                format!(
                    "  {} {action:<7} {id} … {failed} ({})\n{pad}error: {error}\n{pad}next: {}",
                    self.counter(id),
                    format_duration(*elapsed_ms),
                    next_step(error)
                )
            }
            ExecEvent::NodeSkipped { id, reason } => {
                let why = match reason {
                    // Unchanged nodes are counted in the summary, not listed.
                    SkipReason::NoOp => return None,
                    SkipReason::DependencyFailed { dependency } => {
                        format!("`{dependency}` failed or was skipped")
                    }
                    SkipReason::Stopped => "the apply stopped before it started".to_owned(),
                };
                let skip = self.paint("skip", DIM);
                format!("  {} {skip}    {id}: {why}", self.counter(id))
            }
            ExecEvent::UndoStarted { steps, kept } => {
                let undo = self.paint("Undoing the failed apply", YELLOW);
                format!(
                    "{undo}: {steps} resource(s) to put back, dependents first; {kept} kept as \
                     they are."
                )
            }
            ExecEvent::UndoStepStarted { id, action } => {
                format!("  undo {action:<7} {id} …")
            }
            ExecEvent::UndoStepSucceeded {
                id,
                action,
                result,
                elapsed_ms,
            } => {
                let done = self.paint(result, GREEN);
                format!(
                    "  undo {action:<7} {id} … {done} ({})",
                    format_duration(*elapsed_ms)
                )
            }
            ExecEvent::UndoStepFailed {
                id,
                action,
                error,
                elapsed_ms,
            } => {
                let failed = self.paint("failed", RED);
                format!(
                    "  undo {action:<7} {id} … {failed} ({})\n       error: {error}",
                    format_duration(*elapsed_ms)
                )
            }
            ExecEvent::UndoKept { id, reason } => {
                let kept = self.paint("kept", DIM);
                format!("  undo {kept:<7} {id}: {reason}")
            }
            ExecEvent::UndoFinished {
                outcome,
                undone,
                failed,
                left,
                elapsed_ms,
            } => {
                let verdict = match outcome {
                    UndoOutcome::RolledBack => self.paint("Rolled back", GREEN),
                    UndoOutcome::Failed => self.paint("Undo failed", RED),
                    UndoOutcome::Interrupted => self.paint("Undo interrupted", YELLOW),
                };
                format!(
                    "{verdict}: {undone} put back, {failed} failed, {left} left changed in {}.",
                    format_duration(*elapsed_ms)
                )
            }
            ExecEvent::ApplyFinished {
                outcome,
                succeeded,
                failed,
                skipped,
                elapsed_ms,
            } => {
                let verdict = match outcome {
                    ApplyOutcome::Succeeded => self.paint("Apply succeeded", GREEN),
                    ApplyOutcome::Failed => self.paint("Apply failed", RED),
                    ApplyOutcome::Interrupted => self.paint("Apply interrupted", YELLOW),
                };
                format!(
                    "{verdict}: {succeeded} succeeded, {failed} failed, {skipped} skipped in {}.",
                    format_duration(*elapsed_ms)
                )
            }
        })
    }
}

impl<W: Write + Send> PlainReporter<W> {
    fn render_canary(&self, event: &CanaryEvent) -> String {
        let left = |ms: u64| format!("[canary, {} left]", format_duration(ms));
        match event {
            CanaryEvent::CanaryStarted {
                weight_percent,
                window_ms,
                aliases,
                alarms,
            } => {
                let mut text = format!(
                    "Canary: {weight_percent}% of the traffic goes to the new version for {}, \
                     watching {} alarm(s)",
                    format_duration(*window_ms),
                    alarms.len()
                );
                for a in aliases {
                    text.push_str(&format!(
                        "\n  {}:{}: version {} keeps {}%, version {} gets {weight_percent}%",
                        a.function,
                        a.alias,
                        a.stable_version,
                        100 - u32::from(*weight_percent),
                        a.canary_version
                    ));
                }
                text
            }
            CanaryEvent::CanaryAlarm {
                alarm,
                state,
                reason,
                remaining_ms,
            } => {
                let code = match state {
                    AlarmState::Alarm => RED,
                    AlarmState::InsufficientData => DIM,
                    AlarmState::Ok => GREEN,
                };
                let state = self.paint(state.as_str(), code);
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                };
                format!("  {} {alarm} {state}{reason}", left(*remaining_ms))
            }
            CanaryEvent::CanaryPollFailed {
                error,
                remaining_ms,
            } => format!(
                "  {} reading the alarms failed, trying again at the next poll: {error}",
                left(*remaining_ms)
            ),
            CanaryEvent::CanaryPromoted {
                trigger,
                elapsed_ms,
            } => {
                let why = match trigger {
                    PromoteTrigger::WindowPassed => "no watched alarm fired during the window",
                    PromoteTrigger::Manual => "promoted by hand before the window ended",
                };
                format!(
                    "{} after {}: {why}; the aliases run the new version, routing removed.",
                    self.paint("Canary promoted", GREEN),
                    format_duration(*elapsed_ms)
                )
            }
            CanaryEvent::CanaryRolledBack { cause, elapsed_ms } => format!(
                "{} after {}: {}; the aliases stay on the old version, routing removed.",
                self.paint("Canary rolled back", RED),
                format_duration(*elapsed_ms),
                cause.describe()
            ),
        }
    }
}

impl<W: Write + Send> Reporter for PlainReporter<W> {
    fn event(&mut self, event: &ExecEvent) {
        if let Some(text) = self.render(event) {
            self.line(&text);
        }
    }

    fn canary(&mut self, event: &CanaryEvent) {
        let text = self.render_canary(event);
        self.line(&text);
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cloud::{CloudError, ErrorClass};
    use crate::spec::ResourceKind;

    fn queue(name: &str) -> ResourceId {
        ResourceId::new(ResourceKind::Queue, name)
    }

    fn run(events: &[ExecEvent]) -> String {
        let mut reporter = PlainReporter::new(Vec::new(), false);
        for e in events {
            reporter.event(e);
        }
        reporter.finish();
        String::from_utf8(reporter.into_inner()).unwrap()
    }

    #[test]
    fn the_undo_prints_one_line_per_step_kept_resources_and_its_verdict() {
        let out = run(&[
            ExecEvent::UndoStarted { steps: 2, kept: 1 },
            ExecEvent::UndoKept {
                id: queue("dlq"),
                reason: "replaced by the failed apply".into(),
            },
            ExecEvent::UndoStepStarted {
                id: queue("analytics"),
                action: "restore",
            },
            ExecEvent::UndoStepSucceeded {
                id: queue("analytics"),
                action: "restore",
                result: "restored",
                elapsed_ms: 120,
            },
            ExecEvent::UndoStepFailed {
                id: queue("reporting"),
                action: "delete",
                error: CloudError::fatal("sqs", "DeleteQueue", "access denied"),
                elapsed_ms: 80,
            },
            ExecEvent::UndoFinished {
                outcome: UndoOutcome::Failed,
                undone: 1,
                failed: 1,
                left: 1,
                elapsed_ms: 300,
            },
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "Undoing the failed apply: 2 resource(s) to put back, dependents first; 1 kept as \
                     they are."
        );
        assert_eq!(
            lines[1],
            "  undo kept    queue/dlq: replaced by the failed apply"
        );
        assert_eq!(lines[2], "  undo restore queue/analytics …");
        assert_eq!(
            lines[3],
            "  undo restore queue/analytics … restored (0.1 s)"
        );
        assert_eq!(lines[4], "  undo delete  queue/reporting … failed (0.0 s)");
        assert!(
            lines[5].contains("error: ") && lines[5].contains("access denied"),
            "{out}"
        );
        assert_eq!(
            lines[6],
            "Undo failed: 1 put back, 1 failed, 1 left changed in 0.3 s."
        );
    }

    #[test]
    fn one_line_per_event_with_position_retries_and_failures() {
        let out = run(&[
            ExecEvent::ApplyStarted {
                apply_id: "a1".into(),
                stack: "tx-dev".into(),
                changes: 12,
            },
            ExecEvent::NodeStarted {
                id: queue("analytics-dlq"),
                action: "create",
            },
            ExecEvent::NodeStarted {
                id: queue("analytics"),
                action: "create",
            },
            ExecEvent::NodeSucceeded {
                id: queue("analytics-dlq"),
                action: "create",
                elapsed_ms: 412,
            },
            ExecEvent::NodeRetrying {
                id: queue("analytics"),
                attempt: 2,
                class: ErrorClass::Throttled,
                error: "Rate exceeded".into(),
                delay_ms: 800,
            },
            ExecEvent::NodeFailed {
                id: queue("analytics"),
                action: "create",
                error: CloudError::from_parts(
                    "sqs",
                    "CreateQueue",
                    Some("InvalidAttributeValue"),
                    Some(400),
                    "Invalid value for the parameter RedrivePolicy",
                ),
                elapsed_ms: 1_234,
            },
            ExecEvent::NodeSkipped {
                id: ResourceId::new(ResourceKind::Topic, "alarms"),
                reason: SkipReason::DependencyFailed {
                    dependency: queue("analytics"),
                },
            },
            ExecEvent::NodeSkipped {
                id: queue("reporting"),
                reason: SkipReason::NoOp,
            },
            ExecEvent::ApplyFinished {
                outcome: ApplyOutcome::Failed,
                succeeded: 1,
                failed: 1,
                skipped: 1,
                elapsed_ms: 1_700,
            },
        ]);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn canary_lines_name_versions_alarm_states_and_the_cause() {
        let mut reporter = PlainReporter::new(Vec::new(), false);
        for e in crate::canary::canary_event::sample_rolled_back() {
            reporter.canary(&e);
        }
        reporter.finish();
        let text = String::from_utf8(reporter.into_inner()).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn colors_only_when_asked() {
        let events = [
            ExecEvent::ApplyStarted {
                apply_id: "a".into(),
                stack: "s".into(),
                changes: 1,
            },
            ExecEvent::NodeSucceeded {
                id: queue("q"),
                action: "create",
                elapsed_ms: 1,
            },
        ];
        assert!(!run(&events).contains('\x1b'));
        let mut colored = PlainReporter::new(Vec::new(), true);
        events.iter().for_each(|e| colored.event(e));
        assert!(
            String::from_utf8(colored.into_inner())
                .unwrap()
                .contains("\x1b[32mdone")
        );
    }
}
