//! The alarm poller: every alarm of the stack (found by its name prefix) with its state,
//! reason, threshold and time of last change, sorted worst first.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{MonitorEvent, PollSource, now_ms};
use crate::adapters::sdk_error::Classified;
use crate::cloud::CloudError;

/// An alarm's state, ordered worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Alarm,
    InsufficientData,
    Ok,
}

impl AlarmState {
    /// The name CloudWatch uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
            AlarmState::Ok => "OK",
        }
    }

    /// A symbol that tells the states apart without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            AlarmState::Alarm => "✖",
            AlarmState::InsufficientData => "?",
            AlarmState::Ok => "✔",
        }
    }

    /// A short word for narrow columns.
    pub fn short(self) -> &'static str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "NO DATA",
            AlarmState::Ok => "OK",
        }
    }

    fn from_sdk(state: Option<&StateValue>) -> Self {
        match state {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            _ => AlarmState::InsufficientData,
        }
    }
}

/// Metric alarm or composite alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    Metric,
    Composite,
}

/// One alarm as the poller read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmInfo {
    pub name: String,
    pub kind: AlarmKind,
    pub state: AlarmState,
    pub reason: String,
    /// What the alarm watches and when it fires, e.g. `Errors (Sum, 60 s) > 1 for 1 of 1`.
    pub threshold: String,
    /// When the state last changed (`StateUpdatedTimestamp`), Unix milliseconds.
    pub updated_ms: Option<i64>,
    pub description: Option<String>,
    /// ARNs notified on ALARM.
    pub actions: Vec<String>,
    pub actions_enabled: bool,
}

/// Reads every alarm whose name starts with `prefix` (metric and composite), worst first.
pub async fn fetch_alarms(
    client: &aws_sdk_cloudwatch::Client,
    prefix: &str,
) -> Result<Vec<AlarmInfo>, CloudError> {
    let mut alarms = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let page = client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .set_next_token(next_token.take())
            .send()
            .await
            .classified("cloudwatch", "DescribeAlarms")?;
        alarms.extend(page.metric_alarms().iter().map(from_metric_alarm));
        alarms.extend(page.composite_alarms().iter().map(from_composite_alarm));
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => break,
        }
    }
    sort_worst_first(&mut alarms);
    Ok(alarms)
}

/// ALARM first, then INSUFFICIENT_DATA, then OK; within a state the latest change first,
/// then by name.
pub fn sort_worst_first(alarms: &mut [AlarmInfo]) {
    alarms.sort_by(|a, b| {
        (a.state, Reverse(a.updated_ms), &a.name).cmp(&(b.state, Reverse(b.updated_ms), &b.name))
    });
}

fn millis(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

fn from_metric_alarm(alarm: &MetricAlarm) -> AlarmInfo {
    AlarmInfo {
        name: alarm.alarm_name().unwrap_or_default().to_owned(),
        kind: AlarmKind::Metric,
        state: AlarmState::from_sdk(alarm.state_value()),
        reason: alarm.state_reason().unwrap_or_default().to_owned(),
        threshold: describe_threshold(alarm),
        updated_ms: millis(alarm.state_updated_timestamp()),
        description: alarm.alarm_description().map(str::to_owned),
        actions: alarm.alarm_actions().to_vec(),
        actions_enabled: alarm.actions_enabled().unwrap_or(true),
    }
}

fn from_composite_alarm(alarm: &CompositeAlarm) -> AlarmInfo {
    AlarmInfo {
        name: alarm.alarm_name().unwrap_or_default().to_owned(),
        kind: AlarmKind::Composite,
        state: AlarmState::from_sdk(alarm.state_value()),
        reason: alarm.state_reason().unwrap_or_default().to_owned(),
        threshold: format!("rule: {}", alarm.alarm_rule().unwrap_or("?")),
        updated_ms: millis(alarm.state_updated_timestamp()),
        description: alarm.alarm_description().map(str::to_owned),
        actions: alarm.alarm_actions().to_vec(),
        actions_enabled: alarm.actions_enabled().unwrap_or(true),
    }
}

/// `Errors (Sum, 60 s) > 1 for 1 of 1`, or for metric math the expression that returns data.
fn describe_threshold(alarm: &MetricAlarm) -> String {
    let operator = match alarm.comparison_operator().map(|c| c.as_str()) {
        Some("GreaterThanThreshold") => ">",
        Some("GreaterThanOrEqualToThreshold") => ">=",
        Some("LessThanThreshold") => "<",
        Some("LessThanOrEqualToThreshold") => "<=",
        Some(other) => other,
        None => "?",
    };
    let threshold = alarm.threshold().map_or_else(
        || alarm.threshold_metric_id().unwrap_or("?").to_owned(),
        format_number,
    );
    let watched = if let Some(name) = alarm.metric_name() {
        let stat = alarm
            .statistic()
            .map(|s| s.as_str().to_owned())
            .or_else(|| alarm.extended_statistic().map(str::to_owned))
            .unwrap_or_default();
        let period = alarm
            .period()
            .map(|p| format!(", {p} s"))
            .unwrap_or_default();
        format!("{name} ({stat}{period})")
    } else {
        // Metric math: the query that returns data is what the threshold applies to.
        alarm
            .metrics()
            .iter()
            .find(|q| q.return_data().unwrap_or(false))
            .and_then(|q| {
                q.expression()
                    .map(str::to_owned)
                    .or_else(|| q.label().map(str::to_owned))
            })
            .unwrap_or_else(|| "metric math".to_owned())
    };
    let datapoints = alarm.datapoints_to_alarm().or(alarm.evaluation_periods());
    let periods = match (datapoints, alarm.evaluation_periods()) {
        (Some(d), Some(e)) => format!(" for {d} of {e}"),
        _ => String::new(),
    };
    format!("{watched} {operator} {threshold}{periods}")
}

/// `1`, `0.5`, `80`: no trailing `.0`.
fn format_number(value: f64) -> String {
    if value.fract().abs() < f64::EPSILON {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Polls every `interval` or when asked to, and sends each listing (or failure) to
/// `events` until `cancel` or until nobody listens.
pub async fn run(
    client: &aws_sdk_cloudwatch::Client,
    prefix: &str,
    interval: Duration,
    refresh: &Arc<Notify>,
    events: &mpsc::UnboundedSender<MonitorEvent>,
    cancel: &CancellationToken,
) {
    loop {
        let fetched = tokio::select! {
            () = cancel.cancelled() => return,
            fetched = fetch_alarms(client, prefix) => fetched,
        };
        let at_ms = now_ms();
        let event = match fetched {
            Ok(alarms) => MonitorEvent::Alarms { at_ms, alarms },
            Err(error) => MonitorEvent::Failed {
                source: PollSource::Alarms,
                at_ms,
                error: error.to_string(),
            },
        };
        if events.send(event).is_err() {
            return;
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
            () = refresh.notified() => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricDataQuery, Statistic};

    use super::*;

    fn alarm(name: &str, state: AlarmState, updated_ms: Option<i64>) -> AlarmInfo {
        AlarmInfo {
            name: name.to_owned(),
            kind: AlarmKind::Metric,
            state,
            reason: String::new(),
            threshold: String::new(),
            updated_ms,
            description: None,
            actions: Vec::new(),
            actions_enabled: true,
        }
    }

    #[test]
    fn worst_first_then_latest_change_then_name() {
        let mut alarms = vec![
            alarm("a-ok", AlarmState::Ok, Some(5)),
            alarm("b-alarm-old", AlarmState::Alarm, Some(1)),
            alarm("c-nodata", AlarmState::InsufficientData, Some(9)),
            alarm("d-alarm-new", AlarmState::Alarm, Some(7)),
            alarm("e-ok", AlarmState::Ok, Some(5)),
        ];
        sort_worst_first(&mut alarms);
        let names: Vec<&str> = alarms.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["d-alarm-new", "b-alarm-old", "c-nodata", "a-ok", "e-ok"]
        );
    }

    #[test]
    fn thresholds_read_like_the_console() {
        let plain = MetricAlarm::builder()
            .metric_name("Throttles")
            .statistic(Statistic::Sum)
            .period(60)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .threshold(0.0)
            .evaluation_periods(1)
            .build();
        assert_eq!(
            describe_threshold(&plain),
            "Throttles (Sum, 60 s) > 0 for 1 of 1"
        );
        let p99 = MetricAlarm::builder()
            .metric_name("Latency")
            .extended_statistic("p99")
            .period(300)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .threshold(1500.5)
            .evaluation_periods(3)
            .datapoints_to_alarm(2)
            .build();
        assert_eq!(
            describe_threshold(&p99),
            "Latency (p99, 300 s) >= 1500.5 for 2 of 3"
        );
        let math = MetricAlarm::builder()
            .metrics(
                MetricDataQuery::builder()
                    .id("e")
                    .expression("100 * errors / invocations")
                    .return_data(true)
                    .build(),
            )
            .metrics(
                MetricDataQuery::builder()
                    .id("errors")
                    .return_data(false)
                    .build(),
            )
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .threshold(1.0)
            .evaluation_periods(5)
            .build();
        assert_eq!(
            describe_threshold(&math),
            "100 * errors / invocations > 1 for 5 of 5"
        );
    }

    #[test]
    fn sdk_alarms_map_state_reason_and_time() {
        let sdk = MetricAlarm::builder()
            .alarm_name("tx-dev-validator-errors")
            .state_value(StateValue::Alarm)
            .state_reason("Threshold Crossed: 1 datapoint [3.0] was greater than 1.0")
            .state_updated_timestamp(aws_smithy_types::DateTime::from_millis(1_700_000_000_123))
            .alarm_actions("arn:aws:sns:us-east-1:123456789012:tx-dev-alarms")
            .build();
        let info = from_metric_alarm(&sdk);
        assert_eq!(info.state, AlarmState::Alarm);
        assert_eq!(info.updated_ms, Some(1_700_000_000_123));
        assert!(info.reason.starts_with("Threshold Crossed"));
        assert_eq!(info.actions.len(), 1);
        let unknown = from_metric_alarm(&MetricAlarm::builder().alarm_name("x").build());
        assert_eq!(unknown.state, AlarmState::InsufficientData);
    }
}
