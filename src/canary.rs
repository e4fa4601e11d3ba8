//! Alarm-gated canary releases: `apply --canary 10%:5m` (or `deploy.canary`).
//!
//! ```text
//! apply (executor, StepContext::canary) ─► aliases keep the old version, route WEIGHT% to the new
//! canary_runner: every interval ─► alarm_poller::fetch_alarms ─► CanaryWatch (pure) ─► CanaryEvent
//!    ├─ window passed, nothing in ALARM ─► promote: alias on the new version, routing cleared
//!    └─ ALARM / abort / Ctrl-C          ─► roll back: alias stays on the old version, routing cleared
//! ```
//!
//! - [`canary_policy`]: `CanaryPolicy` and its parser.
//! - [`canary_watch`]: which watched alarms changed and whether one fires (no I/O).
//! - [`canary_event`]: what the phase reports to reporters and the TUI.
//! - [`canary_runner`]: the window itself, over Lambda and CloudWatch.

pub mod canary_event;
pub mod canary_policy;
pub mod canary_runner;
pub mod canary_watch;

pub use canary_event::{CanaryAlias, CanaryEvent, PromoteTrigger, RollbackCause};
pub use canary_policy::CanaryPolicy;
pub use canary_runner::{Canary, CanaryCommand, CanaryError, CanaryOutcome};
pub use canary_watch::CanaryWatch;

use std::time::Duration;

use crate::adapters::AwsClients;
use crate::app::session::Session;
use crate::cloud::CloudError;
use crate::monitor::alarm_prefix;
use crate::plan::{Action, Plan};
use crate::spec::{CheckedGraph, ResourceKind, field};
use crate::stack::monitoring::canary_alarm_ids;

/// Physical names (`function:alias`) of the aliases `plan` moves to another version: the
/// ones a canary apply shifts by weight.
///
/// A `routing` diff alone (a split left by an interrupted canary or set by hand, version
/// unchanged) is not a move: the apply clears that split and the alias stays out of the
/// window, which only watches versions this apply released. An alias whose version moves
/// while it is still split is in the canary again: the adapter re-splits it to the new
/// version in the same `UpdateAlias`.
pub fn moved_aliases(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.id.kind() == ResourceKind::LambdaAlias && c.action == Action::Update)
        .filter(|c| c.diffs.iter().any(|d| d.field == field::FUNCTION_VERSION))
        .map(|c| c.physical_name.clone())
        .collect()
}

/// The canary window that follows `plan`'s apply in `session`, or `None` when the config has
/// no canary or the apply left no alias routing to a new version.
pub async fn canary_for_apply(
    clients: AwsClients,
    session: &Session,
    plan: &Plan,
) -> Result<Option<Canary>, CloudError> {
    let Ok(Some(policy)) = session.config.canary_policy() else {
        return Ok(None);
    };
    let moved = moved_aliases(plan);
    if moved.is_empty() {
        return Ok(None);
    }
    Canary::discover(
        clients,
        &moved,
        watched_alarms(&session.graph),
        alarm_prefix(&session.config),
        policy,
        Duration::from_secs(u64::from(session.config.deploy.canary_poll_seconds)),
    )
    .await
}

/// Physical names of the alarms a canary watches, as the stack graph names them.
pub fn watched_alarms(graph: &CheckedGraph) -> Vec<String> {
    canary_alarm_ids()
        .iter()
        .filter_map(|id| graph.get(id))
        .map(|spec| spec.physical_name.clone())
        .collect()
}
