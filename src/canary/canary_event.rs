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

/// A canary window as the reporters and the TUI see it: started, two alarm states, one
/// alarm firing, rolled back. Shared by their tests.
#[cfg(test)]
pub(crate) fn sample_rolled_back() -> Vec<CanaryEvent> {
    let alarm = "tx-dev-transaction-validator-error-rate";
    vec![
        CanaryEvent::CanaryStarted {
            weight_percent: 10,
            window_ms: 300_000,
            aliases: vec![CanaryAlias {
                function: "tx-dev-transaction-validator".into(),
                alias: "live".into(),
                stable_version: "3".into(),
                canary_version: "4".into(),
            }],
            alarms: vec![alarm.into(), "tx-dev-api-5xx-rate".into()],
        },
        CanaryEvent::CanaryAlarm {
            alarm: alarm.into(),
            state: AlarmState::Ok,
            reason: String::new(),
            remaining_ms: 300_000,
        },
        CanaryEvent::CanaryAlarm {
            alarm: "tx-dev-api-5xx-rate".into(),
            state: AlarmState::InsufficientData,
            reason: "no datapoints".into(),
            remaining_ms: 300_000,
        },
        CanaryEvent::CanaryAlarm {
            alarm: alarm.into(),
            state: AlarmState::Alarm,
            reason: "Threshold Crossed: 3 datapoints were greater than 1.0".into(),
            remaining_ms: 170_000,
        },
        CanaryEvent::CanaryRolledBack {
            cause: RollbackCause::Alarm {
                alarm: alarm.into(),
                reason: "Threshold Crossed: 3 datapoints were greater than 1.0".into(),
            },
            elapsed_ms: 130_000,
        },
    ]
}
