//! `CanaryWatch`: the pure part of the canary window: which watched alarms changed state
//! since the last poll, and whether one of them fires.

use std::collections::BTreeMap;

use crate::monitor::{AlarmInfo, AlarmState};

/// A watched alarm whose state changed, as seen by one poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmChange {
    pub alarm: String,
    pub state: AlarmState,
    pub reason: String,
}

/// What one poll means for the canary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollVerdict {
    /// Watched alarms whose state differs from the previous poll (all of them on the first).
    pub changes: Vec<AlarmChange>,
    /// The first watched alarm in ALARM, with its reason: the canary must roll back.
    pub firing: Option<(String, String)>,
}

/// The watched alarms and the state each had at the last poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryWatch {
    last: BTreeMap<String, Option<AlarmState>>,
}

impl CanaryWatch {
    /// Watches `names` (physical alarm names); other alarms of the stack are ignored.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            last: names.into_iter().map(|n| (n, None)).collect(),
        }
    }

    /// The watched names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.last.keys().cloned().collect()
    }

    /// Compares one listing with the previous one. A watched alarm missing from the listing
    /// counts as INSUFFICIENT_DATA: it cannot prove the new version bad, and the listing is
    /// of the whole stack, so it was deleted outside txdeploy.
    pub fn observe(&mut self, alarms: &[AlarmInfo]) -> PollVerdict {
        let mut verdict = PollVerdict::default();
        for (name, last) in &mut self.last {
            let (state, reason) = match alarms.iter().find(|a| &a.name == name) {
                Some(a) => (a.state, a.reason.clone()),
                None => (
                    AlarmState::InsufficientData,
                    "the alarm does not exist (run `txdeploy apply` to recreate it)".to_owned(),
                ),
            };
            if *last != Some(state) {
                *last = Some(state);
                verdict.changes.push(AlarmChange {
                    alarm: name.clone(),
                    state,
                    reason: reason.clone(),
                });
            }
            if state == AlarmState::Alarm && verdict.firing.is_none() {
                verdict.firing = Some((name.clone(), reason));
            }
        }
        verdict
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::monitor::AlarmKind;

    fn alarm(name: &str, state: AlarmState, reason: &str) -> AlarmInfo {
        AlarmInfo {
            name: name.to_owned(),
            kind: AlarmKind::Metric,
            state,
            reason: reason.to_owned(),
            threshold: String::new(),
            updated_ms: None,
            description: None,
            actions: Vec::new(),
            actions_enabled: true,
        }
    }

    #[test]
    fn first_poll_reports_every_watched_alarm_then_only_changes() {
        let mut watch = CanaryWatch::new(["a".to_owned(), "b".to_owned()]);
        let listing = [
            alarm("a", AlarmState::Ok, ""),
            alarm("b", AlarmState::InsufficientData, ""),
            alarm("unwatched", AlarmState::Alarm, "dlq has messages"),
        ];
        let first = watch.observe(&listing);
        assert_eq!(first.changes.len(), 2);
        assert_eq!(first.firing, None, "an unwatched alarm does not count");
        assert_eq!(watch.observe(&listing), PollVerdict::default());
        let flipped = [
            alarm("a", AlarmState::Ok, ""),
            alarm("b", AlarmState::Ok, "back to normal"),
        ];
        let second = watch.observe(&flipped);
        assert_eq!(
            second.changes,
            [AlarmChange {
                alarm: "b".into(),
                state: AlarmState::Ok,
                reason: "back to normal".into()
            }]
        );
    }

    #[test]
    fn a_watched_alarm_in_alarm_fires_with_its_reason() {
        let mut watch = CanaryWatch::new(["a".to_owned(), "b".to_owned()]);
        watch.observe(&[
            alarm("a", AlarmState::Ok, ""),
            alarm("b", AlarmState::Ok, ""),
        ]);
        let verdict = watch.observe(&[
            alarm("a", AlarmState::Ok, ""),
            alarm("b", AlarmState::Alarm, "Threshold Crossed"),
        ]);
        assert_eq!(
            verdict.firing,
            Some(("b".to_owned(), "Threshold Crossed".to_owned()))
        );
        // Still firing on the next poll, though nothing changed.
        let again = watch.observe(&[
            alarm("a", AlarmState::Ok, ""),
            alarm("b", AlarmState::Alarm, "Threshold Crossed"),
        ]);
        assert!(again.changes.is_empty());
        assert!(again.firing.is_some());
    }

    #[test]
    fn a_missing_alarm_is_insufficient_data_not_a_failure() {
        let mut watch = CanaryWatch::new(["gone".to_owned()]);
        let verdict = watch.observe(&[]);
        assert_eq!(verdict.firing, None);
        assert_eq!(verdict.changes[0].state, AlarmState::InsufficientData);
        assert!(verdict.changes[0].reason.contains("does not exist"));
    }
}
