//! The automatic undo of a failed apply (`--on-failure rollback`): planned from the apply's
//! own journal, run dependents first with the apply's cloud, limits, retry policy and error
//! classes, and journaled step by step.
//!
//! What each resource the apply touched gets:
//! - created: deleted, unless its kind holds data (`ResourceKind::is_data_bearing`): then it
//!   is kept and reported, because an undo must never lose data;
//! - updated: its recorded previous values (`StepStarted.before`) are written back by an
//!   update, then read back and compared. Fields only an upload changes (`OnChange::Upload`,
//!   a function's code) are never uploaded again: the old code lives on in the version the
//!   function's alias served, so they count as restored once that alias serves it again
//!   (`ServingAlias`); `$LATEST` keeps the new code, which the report says;
//! - replaced: kept. The old object was deleted by the replacement and cannot be brought
//!   back (a new key id, a new function); the new one matches the config and what depends
//!   on it uses it, so deleting it too would leave less than before;
//! - deleted: reported as not restorable; the next `txdeploy apply` recreates it if the
//!   config still wants it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::dag_walk::DagWalk;
use super::{Retrying, Shared, journal_error, millis};
use crate::cloud::{CloudError, Observed};
use crate::engine::exec_event::{ExecEvent, UndoOutcome};
use crate::spec::{CheckedGraph, OnChange, Outputs, ResourceId, ResourceSpec, field};
use crate::state::journal::JournalEntry;

/// What the undo does to one resource.
#[derive(Clone, Debug, PartialEq)]
enum UndoAction {
    /// Created by the apply: delete whatever exists now.
    Delete,
    /// Created by the apply but holds data: check whether it exists, never delete it.
    Keep,
    /// Updated by the apply: write these previous values back.
    Restore(Observed),
}

impl UndoAction {
    fn label(&self) -> &'static str {
        match self {
            UndoAction::Delete => "delete",
            UndoAction::Keep => "keep",
            UndoAction::Restore(_) => "restore",
        }
    }
}

/// One resource to undo.
#[derive(Clone, Debug)]
struct UndoStep {
    id: ResourceId,
    action: UndoAction,
}

/// The undo of one failed apply, computed from its journal.
#[derive(Debug, Default)]
struct UndoPlan {
    steps: Vec<UndoStep>,
    /// Resources left as they are, with the reason (replaced or deleted by the apply).
    kept: Vec<UndoKept>,
    /// Resources the undo cannot touch at all (an update with no recorded previous state).
    impossible: Vec<Leftover>,
}

/// A resource the undo leaves as the apply made it, on purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UndoKept {
    pub id: ResourceId,
    pub reason: String,
}

/// A resource the apply changed and the undo did not put back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Leftover {
    pub id: ResourceId,
    /// Where it stands, in words (`created by the failed apply; still exists`).
    pub state: String,
}

/// How the undo of a failed apply went.
#[derive(Clone, Debug, PartialEq)]
pub struct UndoReport {
    pub outcome: UndoOutcome,
    /// Resources put back (deleted, restored, or found already as before).
    pub undone: Vec<ResourceId>,
    /// Resources left as they are on purpose, with the reason.
    pub kept: Vec<UndoKept>,
    /// Resources still changed by the apply: what a human must look at after a failed undo.
    pub left: Vec<Leftover>,
    /// The first failure: the resource whose undo failed (`None` when the undo could not
    /// start: its journal was unreadable) and the error.
    pub first_error: Option<(Option<ResourceId>, CloudError)>,
    pub elapsed: Duration,
}

/// What the undo of one resource found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Done {
    Deleted,
    Restored,
    /// Its uploaded fields are served again by its alias (and any other field was written
    /// back); `$LATEST` keeps what the apply uploaded.
    RestoredByAlias,
    Kept,
    Absent,
    Unchanged,
}

impl Done {
    fn label(self) -> &'static str {
        match self {
            Done::Deleted => "deleted",
            Done::Restored => "restored",
            Done::RestoredByAlias => "restored through its alias",
            Done::Kept => "kept",
            Done::Absent => "already absent",
            Done::Unchanged => "unchanged",
        }
    }
}

/// The result of one resource's undo.
#[derive(Clone, Debug)]
struct Undone {
    done: Done,
    /// The resource's outputs when it was restored.
    outputs: Option<Outputs>,
    /// What of it stays as the apply made it, on purpose (a function's code on `$LATEST`).
    kept: Option<String>,
}

impl Undone {
    fn of(done: Done) -> Self {
        Self {
            done,
            outputs: None,
            kept: None,
        }
    }
}

/// The alias that serves a resource's published versions: how an undo brings back fields
/// only an upload changes (`OnChange::Upload`).
#[derive(Clone, Debug)]
struct ServingAlias {
    spec: ResourceSpec,
    before: AliasBefore,
}

/// What the failed apply did to a serving alias, from its journal.
#[derive(Clone, Debug, PartialEq)]
enum AliasBefore {
    /// Nothing: it still serves the version it served before.
    Untouched,
    /// Changed it: its undo (which runs first, dependents first) writes this version back.
    Version(Option<Json>),
    /// Created it: nothing served the resource's versions before the apply.
    Created,
}

/// The alias in `graph` that serves the published versions of `id`, and what the apply
/// did to it (read from the undo's own steps).
fn serving_alias(
    graph: &CheckedGraph,
    steps: &[UndoStep],
    id: &ResourceId,
) -> Option<ServingAlias> {
    let spec = graph
        .dependents(id)
        .iter()
        .filter_map(|d| graph.get(d))
        .find(|s| s.serves_versions_of() == Some(id))?
        .clone();
    let before = match steps.iter().find(|s| s.id == spec.id).map(|s| &s.action) {
        None => AliasBefore::Untouched,
        Some(UndoAction::Restore(before)) => {
            AliasBefore::Version(before.fields.get(field::FUNCTION_VERSION).cloned())
        }
        Some(UndoAction::Delete | UndoAction::Keep) => AliasBefore::Created,
    };
    Some(ServingAlias { spec, before })
}

/// Reads the apply's journal into undo steps: every resource with a `StepStarted` (finished,
/// failed or cut short), by the action the apply started on it.
fn plan_undo(entries: &[JournalEntry]) -> UndoPlan {
    let mut plan = UndoPlan::default();
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        let JournalEntry::StepStarted { id, action, before } = entry else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let id = id.clone();
        match (action.as_str(), before) {
            ("create", _) if id.kind().is_data_bearing() => plan.steps.push(UndoStep {
                id,
                action: UndoAction::Keep,
            }),
            ("create", _) => plan.steps.push(UndoStep {
                id,
                action: UndoAction::Delete,
            }),
            ("update", Some(before)) => plan.steps.push(UndoStep {
                id,
                action: UndoAction::Restore(before.clone()),
            }),
            ("update", None) => plan.impossible.push(Leftover {
                id,
                state: "updated by the failed apply; its previous values were not recorded, \
                        so it cannot be restored"
                    .to_owned(),
            }),
            ("replace", _) => plan.kept.push(UndoKept {
                id,
                reason: "replaced by the failed apply: the previous object was deleted and \
                         cannot be restored; the new one is kept because it matches the config"
                    .to_owned(),
            }),
            _ => plan.kept.push(UndoKept {
                id,
                reason: "deleted by the failed apply: an undo cannot recreate it; \
                         `txdeploy apply` does if the config still wants it"
                    .to_owned(),
            }),
        }
    }
    plan
}

/// For each step (by index), the steps it waits for: the undo of every resource that
/// depends on it, directly or through others, goes first.
fn undo_dependencies(steps: &[UndoStep], graph: &CheckedGraph) -> Vec<Vec<usize>> {
    let index: HashMap<&ResourceId, usize> =
        steps.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
    let mut waits = vec![Vec::new(); steps.len()];
    for (j, step) in steps.iter().enumerate() {
        // Everything `step` depends on, transitively, waits for `step`.
        let mut stack = graph.dependencies(&step.id).to_vec();
        let mut visited = std::collections::BTreeSet::new();
        while let Some(dep) = stack.pop() {
            if !visited.insert(dep.clone()) {
                continue;
            }
            if let Some(&i) = index.get(&dep) {
                waits[i].push(j);
            }
            stack.extend(graph.dependencies(&dep).iter().cloned());
        }
    }
    for w in &mut waits {
        w.sort_unstable();
        w.dedup();
    }
    waits
}

/// Where one undo step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UndoStatus {
    Pending,
    Running,
    Done(Done),
    Failed,
    NotRun,
}

/// Undoes the failed apply recorded in `shared.journal`. `shared.stop` must be a fresh
/// token (the apply's was cancelled by its failure); cancelling it (Ctrl-C) stops the undo
/// after its in-flight calls, like the apply.
pub(super) async fn undo(
    shared: Arc<Shared>,
    graph: &CheckedGraph,
    outputs: &mut BTreeMap<ResourceId, Outputs>,
) -> UndoReport {
    let started = Instant::now();
    let mut report = UndoReport {
        outcome: UndoOutcome::RolledBack,
        undone: Vec::new(),
        kept: Vec::new(),
        left: Vec::new(),
        first_error: None,
        elapsed: Duration::ZERO,
    };
    let entries = match shared.journal.entries() {
        Ok(entries) => entries,
        Err(e) => {
            // Nothing is known about what the apply did: a human decides.
            report.outcome = UndoOutcome::Failed;
            report.first_error = Some((None, journal_error(&e)));
            return report.finish(&shared, started, 0).await;
        }
    };
    let plan = plan_undo(&entries);
    report.kept.clone_from(&plan.kept);
    report.left.clone_from(&plan.impossible);
    let opened = shared
        .journal(JournalEntry::UndoStarted {
            steps: plan
                .steps
                .iter()
                .map(|s| (s.id.clone(), s.action.label().to_owned()))
                .collect(),
            kept: plan
                .kept
                .iter()
                .map(|k| (k.id.clone(), k.reason.clone()))
                .collect(),
        })
        .await;
    shared.events.emit(ExecEvent::UndoStarted {
        steps: plan.steps.len(),
        kept: plan.kept.len(),
    });
    for kept in &plan.kept {
        shared.events.emit(ExecEvent::UndoKept {
            id: kept.id.clone(),
            reason: kept.reason.clone(),
        });
    }
    if let Err(e) = opened {
        // Without a journal the undo changes nothing either: a human decides.
        report.first_error = Some((None, journal_error(&e)));
        report.outcome = UndoOutcome::Failed;
        report
            .left
            .extend(plan.steps.iter().map(|s| leftover(s, None)));
        return report.finish(&shared, started, 0).await;
    }

    let waits = undo_dependencies(&plan.steps, graph);
    let mut walk = DagWalk::new(&waits, |_| true);
    let mut status = vec![UndoStatus::Pending; plan.steps.len()];
    let stop = shared.stop.clone();
    let mut failed = 0;
    loop {
        let next = walk.next(&stop, |i| {
            status[i] = UndoStatus::Running;
            let step = plan.steps[i].clone();
            let spec = graph.get(&step.id).cloned();
            let alias = serving_alias(graph, &plan.steps, &step.id);
            let shared = Arc::clone(&shared);
            async move { run_undo_step(&shared, step, spec, alias).await }
        });
        let Some((i, joined)) = next.await else {
            break;
        };
        let result = joined.unwrap_or_else(|e| {
            StepResult::Failed(CloudError::fatal(
                "txdeploy",
                "undo",
                format!("the undo step stopped unexpectedly ({e}); this is a txdeploy bug"),
            ))
        });
        let id = plan.steps[i].id.clone();
        match result {
            StepResult::NotStarted => status[i] = UndoStatus::NotRun,
            StepResult::Done(Undone {
                done,
                outputs: new_outputs,
                kept,
            }) => {
                status[i] = UndoStatus::Done(done);
                if let Some(reason) = kept {
                    report.kept.push(UndoKept {
                        id: id.clone(),
                        reason,
                    });
                }
                match (done, new_outputs) {
                    (Done::Deleted | Done::Absent, _)
                        if plan.steps[i].action == UndoAction::Delete =>
                    {
                        outputs.remove(&id);
                    }
                    (Done::Kept, _) => report.kept.push(UndoKept {
                        id: id.clone(),
                        reason: "created by the failed apply and holds data: an undo never \
                                 deletes it; delete it by hand if it is not wanted"
                            .to_owned(),
                    }),
                    (_, Some(restored)) => {
                        outputs.insert(id.clone(), restored);
                    }
                    _ => {}
                }
                if done != Done::Kept {
                    report.undone.push(id);
                }
                walk.release(i);
            }
            StepResult::Failed(error) => {
                status[i] = UndoStatus::Failed;
                failed += 1;
                if report.first_error.is_none() {
                    report.first_error = Some((Some(id.clone()), error.clone()));
                }
                report.left.push(leftover(&plan.steps[i], Some(&error)));
                // Stop scheduling; in-flight undo steps finish on their own.
                shared.stop.cancel();
            }
        }
    }
    for i in walk.never_started() {
        status[i] = UndoStatus::NotRun;
    }
    for (i, s) in status.iter().enumerate() {
        if *s == UndoStatus::NotRun {
            report.left.push(leftover(&plan.steps[i], None));
        }
    }
    report.outcome = if failed > 0 || !plan.impossible.is_empty() {
        UndoOutcome::Failed
    } else if status.contains(&UndoStatus::NotRun) {
        UndoOutcome::Interrupted
    } else {
        UndoOutcome::RolledBack
    };
    report.finish(&shared, started, failed).await
}

/// What is left of `step` when its undo failed (`error`) or never ran.
fn leftover(step: &UndoStep, error: Option<&CloudError>) -> Leftover {
    let what = match &step.action {
        UndoAction::Delete => "created by the failed apply; may still exist (not deleted)",
        UndoAction::Keep => "created by the failed apply; holds data, kept",
        UndoAction::Restore(_) => {
            "updated by the failed apply; its previous values were not restored"
        }
    };
    let state = match error {
        Some(error) => format!("{what}: the undo failed: {error}"),
        None => format!("{what}: the undo did not reach it"),
    };
    Leftover {
        id: step.id.clone(),
        state,
    }
}

impl UndoReport {
    async fn finish(mut self, shared: &Shared, started: Instant, failed: usize) -> Self {
        // As for `ApplyFinished`: the events still say how the undo ended.
        let _ = shared
            .journal(JournalEntry::UndoFinished {
                outcome: self.outcome,
            })
            .await;
        self.elapsed = started.elapsed();
        shared.events.emit(ExecEvent::UndoFinished {
            outcome: self.outcome,
            undone: self.undone.len(),
            failed,
            left: self.left.len(),
            elapsed_ms: millis(self.elapsed),
        });
        self
    }
}

/// How one spawned undo step ended.
enum StepResult {
    /// Stopped before calling anything (the undo was stopping).
    NotStarted,
    /// What it found and did.
    Done(Undone),
    Failed(CloudError),
}

/// One undo step, from its permits to its last journal entry and event.
async fn run_undo_step(
    shared: &Shared,
    step: UndoStep,
    spec: Option<ResourceSpec>,
    alias: Option<ServingAlias>,
) -> StepResult {
    let id = step.id.clone();
    let action = step.action.label();
    let Some(permits) = shared.permits(id.kind().service()).await else {
        return StepResult::NotStarted;
    };
    if shared.stop.is_cancelled() {
        return StepResult::NotStarted;
    }
    let entry = JournalEntry::UndoStepStarted {
        id: id.clone(),
        action: action.to_owned(),
    };
    if let Err(e) = shared.journal(entry).await {
        let error = journal_error(&e);
        shared.events.emit(ExecEvent::UndoStepFailed {
            id,
            action,
            error: error.clone(),
            elapsed_ms: 0,
        });
        return StepResult::Failed(error);
    }
    shared.events.emit(ExecEvent::UndoStepStarted {
        id: id.clone(),
        action,
    });
    let started = Instant::now();
    let result = match &spec {
        Some(spec) => undo_with_retries(shared, &step, spec, alias.as_ref(), permits).await,
        None => Err(CloudError::fatal(
            "txdeploy",
            "undo",
            format!("`{id}` is not in the desired graph; this is a txdeploy bug"),
        )),
    };
    let elapsed_ms = millis(started.elapsed());
    let result = match result {
        Ok(done) => shared
            .journal(JournalEntry::UndoStepSucceeded { id: id.clone() })
            .await
            .map(|()| done)
            .map_err(|e| journal_error(&e)),
        Err(error) => {
            let _ = shared
                .journal(JournalEntry::UndoStepFailed {
                    id: id.clone(),
                    error: error.clone(),
                })
                .await;
            Err(error)
        }
    };
    match result {
        Ok(undone) => {
            if let Some(reason) = &undone.kept {
                shared.events.emit(ExecEvent::UndoKept {
                    id: id.clone(),
                    reason: reason.clone(),
                });
            }
            shared.events.emit(ExecEvent::UndoStepSucceeded {
                id,
                action,
                result: undone.done.label(),
                elapsed_ms,
            });
            StepResult::Done(undone)
        }
        Err(error) => {
            shared.events.emit(ExecEvent::UndoStepFailed {
                id,
                action,
                error: error.clone(),
                elapsed_ms,
            });
            StepResult::Failed(error)
        }
    }
}

/// Runs the undo of one resource, retrying what the apply's policy allows; every attempt
/// starts from a fresh observation, so a retry never deletes or restores twice.
async fn undo_with_retries(
    shared: &Shared,
    step: &UndoStep,
    spec: &ResourceSpec,
    alias: Option<&ServingAlias>,
    permits: [tokio::sync::OwnedSemaphorePermit; 2],
) -> Result<Undone, CloudError> {
    let mut retrying = Retrying::new(shared, &step.id, permits);
    loop {
        let error = match undo_once(shared, step, spec, alias).await {
            Ok(undone) => return Ok(undone),
            Err(e) if e.is_not_found() && step.action == UndoAction::Delete => {
                return Ok(Undone::of(Done::Absent));
            }
            Err(e) => e,
        };
        retrying.wait(error).await?;
    }
}

async fn undo_once(
    shared: &Shared,
    step: &UndoStep,
    spec: &ResourceSpec,
    alias: Option<&ServingAlias>,
) -> Result<Undone, CloudError> {
    let cloud = &shared.cloud;
    let current = cloud.observe(spec, &shared.env).await?;
    match (&step.action, current) {
        (UndoAction::Delete | UndoAction::Keep, None) => Ok(Undone::of(Done::Absent)),
        (UndoAction::Keep, Some(_)) => Ok(Undone::of(Done::Kept)),
        (UndoAction::Delete, Some(current)) => {
            let ctx = shared.step_context(&step.id);
            cloud.delete(&step.id, &current, &ctx).await?;
            Ok(Undone::of(Done::Deleted))
        }
        (UndoAction::Restore(_), None) => Err(CloudError::fatal(
            "txdeploy",
            "undo",
            format!(
                "`{}` no longer exists, so its previous values cannot be restored; \
                 `txdeploy apply` creates it again from the config",
                step.id
            ),
        )),
        (UndoAction::Restore(before), Some(current)) => {
            let differences = restorable_differences(spec, before, &current)?;
            // Checked before any write: when the old code is not served, writing the
            // configuration back would only make a version nobody runs.
            let kept = if differences.uploaded.is_empty() {
                None
            } else {
                Some(served_again(shared, &step.id, &differences.uploaded, alias).await?)
            };
            if differences.written.is_empty() {
                let done = if kept.is_some() {
                    Done::RestoredByAlias
                } else {
                    Done::Unchanged
                };
                return Ok(Undone {
                    done,
                    outputs: Some(current.outputs),
                    kept,
                });
            }
            // Only the written fields: the adapter uploads nothing. A function publishes a
            // version of the new code with the old configuration, which no alias serves:
            // the alias was moved back before this step (dependents first) and nothing in
            // the undo moves it again.
            let ctx = shared
                .step_context(&step.id)
                .restoring(before.fields.clone());
            cloud
                .update(spec, &current, &differences.written, &ctx)
                .await?;
            // Read back: an adapter that sends the spec's value instead of the recorded one
            // must show up here, not as a silently different stack.
            let after = cloud.observe(spec, &shared.env).await?.ok_or_else(|| {
                CloudError::fatal(
                    "txdeploy",
                    "undo",
                    format!("`{}` disappeared while it was being restored", step.id),
                )
            })?;
            let still = restorable_differences(spec, before, &after)?.written;
            if !still.is_empty() {
                return Err(CloudError::fatal(
                    "txdeploy",
                    "undo",
                    format!(
                        "`{}` was updated back but reads {} differently from before the \
                         apply; restore them by hand or run `txdeploy apply` to converge \
                         forward",
                        step.id,
                        quoted(&still)
                    ),
                ));
            }
            let done = if kept.is_some() {
                Done::RestoredByAlias
            } else {
                Done::Restored
            };
            Ok(Undone {
                done,
                outputs: Some(after.outputs),
                kept,
            })
        }
    }
}

/// Checks that the alias serving `id`'s versions serves the version it served before the
/// apply, which holds the `uploaded` fields from before; returns what the report says of
/// `id`. Its undo ran first (it depends on `id`), so this reads it back rather than trusting
/// that step.
async fn served_again(
    shared: &Shared,
    id: &ResourceId,
    uploaded: &[String],
    alias: Option<&ServingAlias>,
) -> Result<String, CloudError> {
    let fail = |why: String| {
        CloudError::fatal(
            "txdeploy",
            "undo",
            format!(
                "`{id}` changed {} and an undo never uploads code: {why}; run `txdeploy \
                 apply` to converge forward, or move the alias to the old version by hand",
                quoted(uploaded)
            ),
        )
    };
    let Some(alias) = alias else {
        return Err(fail(
            "no alias serves its published versions, so nothing runs the old code".to_owned(),
        ));
    };
    let name = &alias.spec.physical_name;
    if alias.before == AliasBefore::Created {
        return Err(fail(format!(
            "its alias `{name}` was created by the failed apply, so no version served the \
             old code"
        )));
    }
    let serves = shared
        .cloud
        .observe(&alias.spec, &shared.env)
        .await?
        .and_then(|o| o.fields.get(field::FUNCTION_VERSION).cloned())
        .filter(|v| !v.is_null());
    let Some(serves) = serves else {
        return Err(fail(format!("its alias `{name}` serves no version")));
    };
    let version = serves
        .as_str()
        .map_or_else(|| serves.to_string(), str::to_owned);
    let what = format!(
        "{} on $LATEST stays as the failed apply uploaded it (an undo never uploads code)",
        quoted(uploaded)
    );
    match &alias.before {
        AliasBefore::Version(Some(was)) if *was != serves => Err(fail(format!(
            "its alias `{name}` serves version {version}, not the version it served before \
             ({was})"
        ))),
        AliasBefore::Version(_) => Ok(format!(
            "{what}; alias `{name}` is back on version {version}, which runs the code from \
             before the apply"
        )),
        AliasBefore::Untouched | AliasBefore::Created => Ok(format!(
            "{what}; alias `{name}` was not moved and still serves version {version}, which \
             runs the code from before the apply"
        )),
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a resource differs from its recorded previous values.
#[derive(Debug, Default, PartialEq)]
struct Differences {
    /// Fields an update writes back.
    written: Vec<String>,
    /// Fields only an upload changes (`OnChange::Upload`): restored through the alias.
    uploaded: Vec<String>,
}

/// The fields of `spec` whose current value differs from the recorded one; a difference in
/// a field that only a replacement can change cannot be restored and is an error.
fn restorable_differences(
    spec: &ResourceSpec,
    before: &Observed,
    current: &Observed,
) -> Result<Differences, CloudError> {
    let value = |o: &Observed, name: &str| -> Option<Json> {
        o.fields.get(name).filter(|v| !v.is_null()).cloned()
    };
    let mut differences = Differences::default();
    for (name, field) in spec.fields() {
        if value(before, name) == value(current, name) {
            continue;
        }
        match field.on_change {
            OnChange::Replace(reason) => {
                return Err(CloudError::fatal(
                    "txdeploy",
                    "undo",
                    format!(
                        "`{}`.{name} changed and cannot be changed back in place ({reason})",
                        spec.id
                    ),
                ));
            }
            OnChange::Upload => differences.uploaded.push(name.to_owned()),
            OnChange::Update => differences.written.push(name.to_owned()),
        }
    }
    Ok(differences)
}

#[cfg(test)]
mod tests;
