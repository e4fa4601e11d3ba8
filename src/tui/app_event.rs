//! `AppEvent`: everything the TUI reacts to: keys, mouse, resize, the clock, background
//! loads, the executor's events, the monitor's polls and the apply job's milestones.

use crossterm::event::{KeyEvent, MouseEvent};

use super::app_state::LocalState;
use crate::canary::CanaryEvent;
use crate::engine::{ApplyOutcome, ExecEvent};
use crate::monitor::MonitorEvent;
use crate::plan::Plan;
use crate::spec::Environment;

/// One input to `update`.
#[derive(Clone, Debug, PartialEq)]
pub enum AppEvent {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// The loop's clock (milliseconds since start), sent while something animates.
    Tick {
        now_ms: u64,
    },
    Loaded(Loaded),
    /// An executor event, stamped with the loop's clock when it arrived.
    Exec {
        at_ms: u64,
        event: ExecEvent,
    },
    Monitor(MonitorEvent),
    Apply(ApplyUpdate),
    /// An event of the canary window after a canary apply, stamped like `Exec`.
    Canary {
        at_ms: u64,
        event: CanaryEvent,
    },
}

/// A background load finished. Errors are already worded for the user.
#[derive(Clone, Debug, PartialEq)]
pub enum Loaded {
    Account(Result<Environment, String>),
    Plan(Result<Box<Plan>, String>),
    Local(Result<LocalState, String>),
    /// The current release (`txdeploy releases` marks the same one live).
    Release(Result<Option<crate::release::CurrentRelease>, String>),
}

/// Milestones of the apply job around the executor's own events.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyUpdate {
    /// The lock is held and a fresh observation planned exactly what was confirmed: the
    /// executor starts. `deps` are by plan index (`engine::plan_dependencies`).
    Started { deps: Vec<Vec<usize>> },
    /// The stack changed since the plan was shown: nothing was applied; this is the new plan.
    PlanChanged(Box<Plan>),
    /// The apply could not start (the lock is held, AWS could not be read); nothing changed.
    Refused(String),
    /// The executor returned. `error` says what went wrong and what to do next.
    Finished {
        outcome: ApplyOutcome,
        error: Option<String>,
    },
}
