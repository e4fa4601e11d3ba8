//! Monitoring after deploy: alarm and metric pollers that only emit `MonitorEvent`s, the
//! in-memory alarm transition log, and `txdeploy monitor` for terminals and CI.
//!
//! ```text
//! CloudWatch ─► alarm_poller  (DescribeAlarms, prefix `{prefix}-{env}-`) ─┐
//!            └► metric_poller (one batched GetMetricData per refresh)   ─┴► MonitorEvent
//!                                                                          ├► tui (dashboard, alarms)
//!                                                                          └► monitor_command (lines, NDJSON)
//! ```
//!
//! - [`metric_spec`]: the dashboard's series, named by physical names derived from config.
//! - [`metric_poller`]: query batches, the time window, results as series ("no data" stays
//!   distinct from zero).
//! - [`alarm_poller`]: every stack alarm with its state, reason, threshold and last change.
//! - [`transition_log`]: state changes seen between polls (moto has no
//!   DescribeAlarmHistory, and polling works the same against AWS).
//! - [`monitor_command`]: `txdeploy monitor [--once]` without the TUI.

pub mod alarm_poller;
pub mod metric_poller;
pub mod metric_spec;
pub mod monitor_command;
pub mod transition_log;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use alarm_poller::{AlarmInfo, AlarmKind, AlarmState};
pub use metric_poller::{MetricFrame, MetricWindow, Series};
pub use metric_spec::{MetricSpec, Section, dashboard_metrics};
pub use transition_log::{Transition, TransitionLog};

use crate::config::Config;

/// How often the pollers refresh by default. Alarms are cheap (one DescribeAlarms); metrics
/// cost money per series requested, and CloudWatch's finest standard period is a minute.
pub const ALARM_INTERVAL: Duration = Duration::from_secs(10);
pub const METRIC_INTERVAL: Duration = Duration::from_secs(60);

/// What a poller reports.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitorEvent {
    /// Every stack alarm, as read at `at_ms` (Unix milliseconds).
    Alarms { at_ms: i64, alarms: Vec<AlarmInfo> },
    /// One refresh of every dashboard series.
    Metrics(MetricFrame),
    /// A refresh failed; the poller tries again at its next interval.
    Failed {
        source: PollSource,
        at_ms: i64,
        error: String,
    },
}

/// Which poller an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollSource {
    Alarms,
    Metrics,
}

impl PollSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PollSource::Alarms => "alarms",
            PollSource::Metrics => "metrics",
        }
    }
}

/// The name prefix every alarm of the stack carries: `{prefix}-{env}-`.
pub fn alarm_prefix(config: &Config) -> String {
    format!("{}-", config.stack_name())
}

/// The current time in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Handles to running pollers: ask for a refresh now, change the metric window, stop.
#[derive(Clone, Debug)]
pub struct PollerControl {
    refresh_alarms: Arc<Notify>,
    refresh_metrics: Arc<Notify>,
    window: Arc<watch::Sender<MetricWindow>>,
    cancel: CancellationToken,
}

impl PollerControl {
    pub fn new(window: MetricWindow, cancel: CancellationToken) -> Self {
        Self {
            refresh_alarms: Arc::new(Notify::new()),
            refresh_metrics: Arc::new(Notify::new()),
            window: Arc::new(watch::channel(window).0),
            cancel,
        }
    }

    /// Polls alarms now instead of at the next interval.
    pub fn refresh_alarms(&self) {
        self.refresh_alarms.notify_one();
    }

    /// Fetches metrics now instead of at the next interval.
    pub fn refresh_metrics(&self) {
        self.refresh_metrics.notify_one();
    }

    /// Changes the period and range; the metric poller refetches at once.
    pub fn set_window(&self, window: MetricWindow) {
        self.window.send_replace(window);
    }

    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Starts the alarm poller: one DescribeAlarms listing per `interval`, or on demand.
    pub fn spawn_alarms(
        &self,
        client: aws_sdk_cloudwatch::Client,
        prefix: String,
        interval: Duration,
        events: mpsc::UnboundedSender<MonitorEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let refresh = Arc::clone(&self.refresh_alarms);
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            alarm_poller::run(&client, &prefix, interval, &refresh, &events, &cancel).await;
        })
    }

    /// Starts the metric poller: one batched GetMetricData per `interval`, on demand, or when
    /// the window changes.
    pub fn spawn_metrics(
        &self,
        client: aws_sdk_cloudwatch::Client,
        specs: Vec<MetricSpec>,
        interval: Duration,
        events: mpsc::UnboundedSender<MonitorEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let refresh = Arc::clone(&self.refresh_metrics);
        let window = self.window.subscribe();
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            metric_poller::run(
                &client, &specs, window, interval, &refresh, &events, &cancel,
            )
            .await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_prefix_is_the_stack_name_and_a_dash() {
        let mut config = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
        config.stack.prefix = "shop".into();
        config.stack.env = "prod".into();
        assert_eq!(alarm_prefix(&config), "shop-prod-");
    }
}
