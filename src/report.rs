//! Reporters: turn the executor's `ExecEvent`s into plain lines or NDJSON, and render plans.
//!
//! The executor never draws; it emits events into an `EventSink`, and one reporter drains
//! the other end (`drain`). `OutputMode` decides which reporter a run gets.

pub mod json_reporter;
pub mod plain_reporter;
pub mod plan_report;

use std::io::IsTerminal as _;

use tokio::sync::mpsc::UnboundedReceiver;

pub use json_reporter::JsonReporter;
pub use plain_reporter::PlainReporter;

use crate::canary::CanaryEvent;
use crate::cloud::{CloudError, ErrorClass};
use crate::engine::ExecEvent;

/// Receives every event of an apply, in order.
pub trait Reporter: Send {
    /// Handles one event.
    fn event(&mut self, event: &ExecEvent);
    /// Handles one event of the canary window that follows a canary apply.
    fn canary(&mut self, event: &CanaryEvent);
    /// Called once after the last event (flush, print totals).
    fn finish(&mut self);
}

/// How a run talks to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// A terminal and a human: may prompt, colors on (the TUI takes this mode later).
    Interactive,
    /// No prompts, one plain line per event, no colors (CI, pipes, `--non-interactive`).
    Plain,
    /// No prompts, one JSON object per line on stdout (`--json`).
    Json,
}

impl OutputMode {
    /// Decides the mode from the flags, whether `CI` is set and whether stdout is a TTY.
    pub fn from_parts(json: bool, non_interactive: bool, ci: bool, stdout_tty: bool) -> Self {
        if json {
            OutputMode::Json
        } else if non_interactive || ci || !stdout_tty {
            OutputMode::Plain
        } else {
            OutputMode::Interactive
        }
    }

    /// Decides the mode for this process (`CI` set to anything but empty or `false`).
    pub fn detect(json: bool, non_interactive: bool) -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        Self::from_parts(json, non_interactive, ci, std::io::stdout().is_terminal())
    }

    /// Whether txdeploy may ask the user questions.
    pub fn is_interactive(self) -> bool {
        self == OutputMode::Interactive
    }

    /// Whether output may use ANSI colors.
    pub fn color(self) -> bool {
        self == OutputMode::Interactive
    }

    /// The reporter for this mode, writing to stdout.
    pub fn reporter(self) -> Box<dyn Reporter> {
        match self {
            OutputMode::Json => Box::new(JsonReporter::new(std::io::stdout())),
            OutputMode::Plain | OutputMode::Interactive => {
                Box::new(PlainReporter::new(std::io::stdout(), self.color()))
            }
        }
    }
}

/// Feeds every event from `events` to `reporter` until the sender side closes, then
/// finishes it.
pub async fn drain(mut events: UnboundedReceiver<ExecEvent>, reporter: &mut dyn Reporter) {
    while let Some(event) = events.recv().await {
        reporter.event(&event);
    }
    reporter.finish();
}

/// Feeds every canary event from `events` to `reporter` until the sender side closes.
pub async fn drain_canary(mut events: UnboundedReceiver<CanaryEvent>, reporter: &mut dyn Reporter) {
    while let Some(event) = events.recv().await {
        reporter.canary(&event);
    }
    reporter.finish();
}

/// What the user should do about a failed AWS call, by its class (and a few codes).
pub fn next_step(error: &CloudError) -> String {
    let code = error.code.as_deref().unwrap_or_default();
    if code.contains("AccessDenied") || code == "UnauthorizedOperation" {
        return format!(
            "grant the credentials in use `{}:{}` (check `--profile`), then run `txdeploy apply` \
             again",
            error.service, error.operation
        );
    }
    if matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
    ) {
        return "refresh the AWS credentials (e.g. `aws sso login`), then run `txdeploy apply` \
                again"
            .to_owned();
    }
    match error.class {
        ErrorClass::Throttled => {
            "AWS kept throttling; run `txdeploy apply` again with a lower `--parallelism`".into()
        }
        ErrorClass::Transient => {
            "AWS failed temporarily; run `txdeploy apply` again (nothing is repeated twice)".into()
        }
        ErrorClass::EventuallyConsistent => {
            "AWS did not settle before the deadline; wait a minute, then run `txdeploy apply` \
             again"
                .into()
        }
        ErrorClass::Conflict => {
            "another change to this resource is in progress; wait for it, then run `txdeploy \
             apply` again"
                .into()
        }
        ErrorClass::NotFound => {
            "it was deleted outside txdeploy; run `txdeploy plan` to see the drift, then \
             `txdeploy apply`"
                .into()
        }
        ErrorClass::Fatal => {
            "fix the cause named in the error (often a config value), then run `txdeploy plan`"
                .into()
        }
    }
}

/// A short human duration: `0.4 s`, `12.0 s`, `2 min 5 s`.
pub fn format_duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    } else {
        let s = ms / 1000;
        format!("{} min {} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_wins_then_any_reason_for_plain() {
        assert_eq!(
            OutputMode::from_parts(true, false, false, true),
            OutputMode::Json
        );
        assert_eq!(
            OutputMode::from_parts(false, true, false, true),
            OutputMode::Plain
        );
        assert_eq!(
            OutputMode::from_parts(false, false, true, true),
            OutputMode::Plain
        );
        assert_eq!(
            OutputMode::from_parts(false, false, false, false),
            OutputMode::Plain
        );
        assert_eq!(
            OutputMode::from_parts(false, false, false, true),
            OutputMode::Interactive
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(400), "0.4 s");
        assert_eq!(format_duration(12_049), "12.0 s");
        assert_eq!(format_duration(125_000), "2 min 5 s");
    }

    #[test]
    fn next_steps_follow_the_error_class_and_credential_codes() {
        let throttled =
            CloudError::from_parts("sqs", "CreateQueue", Some("Throttling"), Some(400), "");
        assert!(next_step(&throttled).contains("--parallelism"));
        let denied = CloudError::from_parts(
            "kms",
            "CreateKey",
            Some("AccessDeniedException"),
            Some(400),
            "x",
        );
        assert!(next_step(&denied).contains("`kms:CreateKey`"));
        let fatal = CloudError::fatal("s3", "PutBucketLifecycleConfiguration", "bad rule");
        assert!(next_step(&fatal).contains("txdeploy plan"));
    }
}
