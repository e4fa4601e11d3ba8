//! `CanaryEvent`: what the canary phase reports, to the plain and NDJSON reporters and the
//! TUI; serialized as one NDJSON line each with `--json`.

use serde::Serialize;

use crate::monitor::AlarmState;

/// One alias in the canary: its primary version stays `stable_version` while
/// `weight_percent` of the traffic goes to `canary_version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CanaryAlias {
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub canary_version: String,
}

/// Why a canary was promoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromoteTrigger {
    /// Every watched alarm stayed out of ALARM for the whole window.
    WindowPassed,
    /// Promoted early by the user (`p` in the TUI).
    Manual,
}

/// Why a canary was rolled back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum RollbackCause {
    /// A watched alarm went to ALARM.
    Alarm { alarm: String, reason: String },
    /// Aborted by the user (`a` in the TUI).
    Aborted,
    /// Ctrl-C during the window: rolling back is the safe default.
    Interrupted,
    /// The alarms could not be read at the end of the window, so nothing proves the new
    /// version healthy.
    Unverified { error: String },
}

impl RollbackCause {
    /// One sentence for messages: `alarm `x` fired: reason`.
    pub fn describe(&self) -> String {
        match self {
            RollbackCause::Alarm { alarm, reason } => format!("alarm `{alarm}` fired: {reason}"),
            RollbackCause::Aborted => "aborted by the user".to_owned(),
            RollbackCause::Interrupted => "interrupted (Ctrl-C)".to_owned(),
            RollbackCause::Unverified { error } => {
                format!("the alarms could not be read at the end of the window: {error}")
            }
        }
    }
}

/// One thing that happened during the canary window.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CanaryEvent {
    /// The aliases route `weight_percent` to the new versions; the window starts.
    CanaryStarted {
        weight_percent: u8,
        window_ms: u64,
        aliases: Vec<CanaryAlias>,
        alarms: Vec<String>,
    },
    /// A watched alarm changed state (the first poll reports every alarm once).
    CanaryAlarm {
        alarm: String,
        state: AlarmState,
        reason: String,
        remaining_ms: u64,
    },
    /// Reading the alarms failed; the next poll tries again.
    CanaryPollFailed { error: String, remaining_ms: u64 },
    /// Every alias points at its new version with no routing left.
    CanaryPromoted {
        trigger: PromoteTrigger,
        elapsed_ms: u64,
    },
    /// Every alias points at its old version with no routing left.
    CanaryRolledBack {
        #[serde(flatten)]
        cause: RollbackCause,
        elapsed_ms: u64,
    },
}
