//! `TransitionLog`: alarm state changes seen between polls, kept in memory.
//!
//! CloudWatch keeps alarm history (DescribeAlarmHistory), but the moto emulator does not
//! implement it, and polling sees the same changes against AWS. So the history shown is the
//! one this process observed, and the UI says so (`TransitionLog::source`).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::alarm_poller::{AlarmInfo, AlarmState};

/// Entries kept; the oldest are dropped first.
pub const CAPACITY: usize = 500;

/// One observed change of an alarm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub alarm: String,
    /// `None` when the alarm appeared since the previous poll.
    pub from: Option<AlarmState>,
    pub to: AlarmState,
    /// When CloudWatch says the state changed (Unix milliseconds).
    pub changed_ms: Option<i64>,
    /// When the poll that saw it ran (Unix milliseconds).
    pub seen_ms: i64,
    pub reason: String,
    /// The poll number that saw it (1 is the first poll).
    pub poll: u64,
}

impl Transition {
    /// `OK → ALARM`, `new → OK`, or `OK → OK` for a change and change back between polls.
    pub fn arrow(&self) -> String {
        let from = self.from.map_or("new", AlarmState::as_str);
        format!("{from} → {}", self.to.as_str())
    }
}

/// The state of each alarm at the last poll and every transition seen since the first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransitionLog {
    last: BTreeMap<String, (AlarmState, Option<i64>)>,
    entries: VecDeque<Transition>,
    polls: u64,
    first_poll_ms: Option<i64>,
    last_poll_ms: Option<i64>,
}

impl TransitionLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compares a poll with the previous one and records what changed: a different state,
    /// or the same state with a newer change time (it flipped and back between two polls),
    /// or an alarm that was not there before. The first poll is the baseline and records
    /// nothing. Returns the new transitions.
    pub fn observe(&mut self, alarms: &[AlarmInfo], seen_ms: i64) -> Vec<Transition> {
        self.polls += 1;
        self.first_poll_ms.get_or_insert(seen_ms);
        self.last_poll_ms = Some(seen_ms);
        let baseline = self.polls == 1;
        let mut new = Vec::new();
        let mut current = BTreeMap::new();
        for alarm in alarms {
            let previous = self.last.get(&alarm.name).copied();
            let changed = match previous {
                None => !baseline,
                Some((state, updated)) => state != alarm.state || updated != alarm.updated_ms,
            };
            if changed {
                new.push(Transition {
                    alarm: alarm.name.clone(),
                    from: previous.map(|(state, _)| state),
                    to: alarm.state,
                    changed_ms: alarm.updated_ms,
                    seen_ms,
                    reason: alarm.reason.clone(),
                    poll: self.polls,
                });
            }
            current.insert(alarm.name.clone(), (alarm.state, alarm.updated_ms));
        }
        self.last = current;
        for transition in &new {
            if self.entries.len() == CAPACITY {
                self.entries.pop_front();
            }
            self.entries.push_back(transition.clone());
        }
        new
    }

    /// Every transition kept, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Transition> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The transitions of one alarm, newest first.
    pub fn of_alarm<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Transition> + 'a {
        self.entries.iter().rev().filter(move |t| t.alarm == name)
    }

    /// Polls observed so far.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// When the first poll ran (Unix milliseconds).
    pub fn since_ms(&self) -> Option<i64> {
        self.first_poll_ms
    }

    pub fn last_poll_ms(&self) -> Option<i64> {
        self.last_poll_ms
    }

    /// Whether `alarm` changed within the last `polls` polls (what the UI highlights).
    pub fn changed_recently(&self, alarm: &str, polls: u64) -> bool {
        self.of_alarm(alarm)
            .next()
            .is_some_and(|t| t.poll + polls > self.polls)
    }

    /// Where the history comes from, for the UI.
    pub fn source(&self) -> String {
        let since = self
            .first_poll_ms
            .map_or_else(|| "the first poll".to_owned(), format_time);
        format!(
            "history: changes seen by polling DescribeAlarms since {since} ({} polls); \
             DescribeAlarmHistory is not read (the moto emulator lacks it)",
            self.polls
        )
    }
}

/// `2026-11-28 14:09:18Z` from Unix milliseconds.
pub fn format_time(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return format!("@{ms}");
    };
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    t.format(&format).unwrap_or_else(|_| format!("@{ms}"))
}

/// `2026-11-28T14:09:18Z` (RFC 3339) from Unix milliseconds, for NDJSON.
pub fn format_rfc3339(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return format!("@{ms}");
    };
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&format).unwrap_or_else(|_| format!("@{ms}"))
}

/// `14:09:18` from Unix milliseconds.
pub fn format_clock(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return format!("@{ms}");
    };
    let format = time::macros::format_description!("[hour]:[minute]:[second]");
    t.format(&format).unwrap_or_else(|_| format!("@{ms}"))
}

/// `12s`, `5m`, `3h`, `2d`: how long before `now_ms` something happened.
pub fn format_age(then_ms: i64, now_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::alarm_poller::AlarmKind;

    fn alarm(name: &str, state: AlarmState, updated_ms: i64) -> AlarmInfo {
        AlarmInfo {
            name: name.to_owned(),
            kind: AlarmKind::Metric,
            state,
            reason: format!("{name} is {}", state.as_str()),
            threshold: String::new(),
            updated_ms: Some(updated_ms),
            description: None,
            actions: Vec::new(),
            actions_enabled: true,
        }
    }

    #[test]
    fn the_first_poll_is_a_baseline_then_changes_are_recorded() {
        let mut log = TransitionLog::new();
        let first = [alarm("a", AlarmState::Ok, 1), alarm("b", AlarmState::Ok, 1)];
        assert!(log.observe(&first, 1000).is_empty());
        let second = [
            alarm("a", AlarmState::Alarm, 2),
            alarm("b", AlarmState::Ok, 1),
        ];
        let seen = log.observe(&second, 2000);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].alarm, "a");
        assert_eq!(seen[0].arrow(), "OK → ALARM");
        assert_eq!(seen[0].poll, 2);
        assert!(log.changed_recently("a", 1));
        assert!(!log.changed_recently("b", 1));
        // Nothing changes: nothing recorded, and the highlight fades after the given polls.
        assert!(log.observe(&second, 3000).is_empty());
        assert!(!log.changed_recently("a", 1));
        assert!(log.changed_recently("a", 2));
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn a_flip_and_back_between_polls_and_a_new_alarm_are_transitions() {
        let mut log = TransitionLog::new();
        log.observe(&[alarm("a", AlarmState::Ok, 1)], 1000);
        let seen = log.observe(
            &[
                alarm("a", AlarmState::Ok, 5),
                alarm("new", AlarmState::InsufficientData, 5),
            ],
            2000,
        );
        let arrows: Vec<String> = seen.iter().map(Transition::arrow).collect();
        assert_eq!(arrows, ["OK → OK", "new → INSUFFICIENT_DATA"]);
        assert_eq!(log.of_alarm("a").count(), 1);
    }

    #[test]
    fn the_log_is_bounded_and_drops_the_oldest() {
        let mut log = TransitionLog::new();
        log.observe(&[alarm("a", AlarmState::Ok, 0)], 0);
        for i in 1..=(CAPACITY as i64 + 10) {
            let state = if i % 2 == 0 {
                AlarmState::Ok
            } else {
                AlarmState::Alarm
            };
            log.observe(&[alarm("a", state, i)], i);
        }
        assert_eq!(log.len(), CAPACITY);
        assert_eq!(log.entries().next().map(|t| t.seen_ms), Some(11));
    }

    #[test]
    fn the_source_says_where_history_comes_from() {
        let mut log = TransitionLog::new();
        log.observe(&[], 1_700_000_000_000);
        let source = log.source();
        assert!(source.contains("polling DescribeAlarms since 2023-11-14 22:13:20Z"));
        assert!(source.contains("DescribeAlarmHistory is not read"));
    }

    #[test]
    fn times_and_ages_read_short() {
        assert_eq!(format_clock(1_700_000_000_000), "22:13:20");
        assert_eq!(format_rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_age(0, 59_000), "59s");
        assert_eq!(format_age(0, 3_599_000), "59m");
        assert_eq!(format_age(0, 7_200_000), "2h");
        assert_eq!(format_age(0, 2 * 86_400_000), "2d");
        assert_eq!(format_age(10, 0), "0s");
    }
}
