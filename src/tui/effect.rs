//! `Effect`: what `update` asks the event loop to do; the loop performs the I/O and reports
//! back with `AppEvent`s.

use crate::canary::CanaryCommand;
use crate::monitor::MetricWindow;
use crate::plan::Plan;

/// A side effect for the loop (`tui::effect_runner`).
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    /// Read the account, observe, plan and read the local state again.
    Reload,
    /// Take the lock, observe again and, if the plan is still the one the user confirmed,
    /// execute it.
    Apply(Box<Plan>),
    /// Cancel the running apply: no new step starts, in-flight calls finish.
    StopApply,
    RefreshAlarms,
    /// Start the metric poller (the dashboard was opened for the first time).
    StartMetrics,
    RefreshMetrics,
    SetMetricWindow(MetricWindow),
    /// Promote or roll back the running canary window now.
    Canary(CanaryCommand),
}
