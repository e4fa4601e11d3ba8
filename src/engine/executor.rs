//! `Executor`: walks a plan's dependency graph against a `Cloud`: each node starts as soon
//! as its own dependencies finish, within a global and a per-service concurrency limit;
//! retryable errors are retried by observing again and converging from what exists; the
//! journal is written before every event; a failure or Ctrl-C stops scheduling while
//! in-flight calls finish; a failure is then undone (`undo`) unless the options say stop.

mod dag_walk;
mod undo;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::exec_event::{ApplyOutcome, EventSink, ExecEvent, SkipReason};
use super::retry_policy::RetryPolicy;
use crate::canary::CanaryPolicy;
use crate::cloud::{Cloud, CloudError, Observed, StepContext};
use crate::config::OnFailure;
use crate::plan::planner::field_diffs;
use crate::plan::{Action, Plan, PlannedChange};
use crate::spec::{
    CheckedGraph, Environment, OutputTable, Outputs, ResourceId, ResourceSpec, Service,
};
use crate::state::journal::{JournalEntry, JournalStore, new_apply_id, now_rfc3339};
use dag_walk::DagWalk;
pub use undo::{Leftover, UndoKept, UndoReport};

/// How an apply runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOptions {
    /// Most steps in flight at once.
    pub parallelism: usize,
    /// Most steps in flight at once per service (AWS throttles per service and account);
    /// a service without an entry is limited by `parallelism` alone.
    pub per_service: BTreeMap<Service, usize>,
    pub retry: RetryPolicy,
    /// `--canary`: aliases moving to a new version only route this weight to it.
    pub canary: Option<CanaryPolicy>,
    /// What a failed step leads to: the undo of everything this apply did (the default,
    /// as `deploy.on_failure`), or a stop that keeps the partial state and the journal.
    /// Ctrl-C always stops: the user asked for fewer calls, not more.
    pub on_failure: OnFailure,
}

impl Default for ExecOptions {
    fn default() -> Self {
        Self {
            parallelism: 8,
            per_service: Service::ALL.into_iter().map(|s| (s, 4)).collect(),
            retry: RetryPolicy::default(),
            canary: None,
            on_failure: OnFailure::Rollback,
        }
    }
}

impl ExecOptions {
    /// The limit that applies to `service`.
    pub fn limit_for(&self, service: Service) -> usize {
        self.per_service
            .get(&service)
            .copied()
            .unwrap_or(self.parallelism)
            .max(1)
    }
}

/// What an apply did.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyReport {
    pub apply_id: String,
    pub outcome: ApplyOutcome,
    /// Outputs of every resource known to exist after the apply (unchanged ones included,
    /// deleted ones removed): what the state cache stores.
    pub outputs: BTreeMap<ResourceId, Outputs>,
    /// The first failure, in the order failures happened; later ones are in `failed`.
    pub first_error: Option<(ResourceId, CloudError)>,
    pub failed: Vec<ResourceId>,
    pub succeeded: Vec<ResourceId>,
    /// Nodes that did not run: no-ops, nodes whose dependency failed, nodes not started
    /// because the apply stopped. One `NodeSkipped` event was emitted for each.
    pub skipped: Vec<ResourceId>,
    /// The undo of a failed apply (`OnFailure::Rollback`); `None` when the apply succeeded,
    /// was interrupted, ran with `OnFailure::Stop`, or changed nothing that can be undone.
    pub undo: Option<UndoReport>,
    /// Apply and undo together.
    pub elapsed: Duration,
}

/// Runs plans against one cloud, writing one journal and emitting events.
pub struct Executor {
    cloud: Arc<dyn Cloud>,
    journal: Arc<dyn JournalStore>,
    events: EventSink,
    options: ExecOptions,
    cancel: CancellationToken,
}

/// Where one node of the plan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Not started yet.
    Pending,
    Running,
    Succeeded,
    Failed,
    NoOp,
    DependencyFailed,
    Stopped,
}

/// How one spawned step ended.
enum StepOutcome {
    /// Stopped before calling anything (the apply was stopping).
    NotStarted,
    /// The outputs of the resource, `None` when it was deleted.
    Succeeded(Option<Outputs>),
    Failed(CloudError),
}

/// For each change of `plan` (by index), the indices of the changes it waits for.
///
/// Creates, updates and replacements wait for their graph dependencies in the plan. A
/// deletion of a graph resource waits for the deletion of its dependents (dependents
/// first). Deletions of orphans, which the graph does not describe, wait for the orphan
/// deletions of kinds that are deleted earlier (`ResourceKind::delete_rank`).
pub fn plan_dependencies(plan: &Plan, graph: &CheckedGraph) -> Vec<Vec<usize>> {
    let index: HashMap<&ResourceId, usize> = plan
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.id, i))
        .collect();
    let is_delete = |i: &usize| matches!(plan.changes[*i].action, Action::Delete);
    plan.changes
        .iter()
        .map(|change| {
            let mut deps: Vec<usize> = match &change.action {
                Action::Delete if graph.get(&change.id).is_some() => graph
                    .dependents(&change.id)
                    .iter()
                    .filter_map(|d| index.get(d).copied())
                    .filter(is_delete)
                    .collect(),
                Action::Delete => {
                    let rank = change.id.kind().delete_rank();
                    plan.changes
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| {
                            matches!(o.action, Action::Delete)
                                && graph.get(&o.id).is_none()
                                && o.id.kind().delete_rank() < rank
                        })
                        .map(|(i, _)| i)
                        .collect()
                }
                Action::Create | Action::Update | Action::Replace { .. } | Action::NoOp => graph
                    .dependencies(&change.id)
                    .iter()
                    .filter_map(|d| index.get(d).copied())
                    .filter(|i| !is_delete(i))
                    .collect(),
            };
            deps.sort_unstable();
            deps.dedup();
            deps
        })
        .collect()
}

impl Executor {
    pub fn new(
        cloud: Arc<dyn Cloud>,
        journal: Arc<dyn JournalStore>,
        events: EventSink,
        options: ExecOptions,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            cloud,
            journal,
            events,
            options,
            cancel,
        }
    }

    /// What the steps of one phase (the apply, then its undo) share: fresh limits and a
    /// fresh stop token under the caller's.
    fn shared(&self, plan: &Plan, outputs: &BTreeMap<ResourceId, Outputs>) -> Arc<Shared> {
        Arc::new(Shared {
            cloud: Arc::clone(&self.cloud),
            journal: Arc::clone(&self.journal),
            events: self.events.clone(),
            retry: self.options.retry.clone(),
            canary: self.options.canary,
            env: plan.environment.clone(),
            stop: self.cancel.child_token(),
            outputs: Mutex::new(outputs.clone()),
            global: Arc::new(Semaphore::new(self.options.parallelism.max(1))),
            per_service: Service::ALL
                .into_iter()
                .map(|s| (s, Arc::new(Semaphore::new(self.options.limit_for(s)))))
                .collect(),
        })
    }

    /// Applies `plan`, whose resources are described by `graph`.
    ///
    /// Never panics on cloud or journal errors and never prints: everything is in the
    /// report, the journal and the events. Dropping the returned future mid-apply (a crash)
    /// aborts the steps at their next await; the journal then shows the unfinished steps
    /// and a re-observation finds what they did.
    pub async fn run(&self, plan: &Plan, graph: &CheckedGraph) -> ApplyReport {
        let started = Instant::now();
        let apply_id = self
            .journal
            .apply_id()
            .map_or_else(new_apply_id, str::to_owned);
        let deps = plan_dependencies(plan, graph);
        let mut outputs: BTreeMap<ResourceId, Outputs> = plan.observed_outputs();
        let shared = self.shared(plan, &outputs);
        let mut run = Run {
            plan,
            shared: Arc::clone(&shared),
            status: plan
                .changes
                .iter()
                .map(|c| match c.action {
                    Action::NoOp => Status::NoOp,
                    _ => Status::Pending,
                })
                .collect(),
            walk: DagWalk::new(&deps, |i| !matches!(plan.changes[i].action, Action::NoOp)),
            first_error: None,
            graph,
            undo: None,
        };

        let changes: Vec<(ResourceId, String)> = plan
            .changes
            .iter()
            .filter(|c| c.action.mutates())
            .map(|c| (c.id.clone(), c.action.label().to_owned()))
            .collect();
        let change_count = changes.len();
        let opened = shared
            .journal(JournalEntry::ApplyStarted {
                apply_id: apply_id.clone(),
                stack: plan.stack.clone(),
                at: now_rfc3339(),
                changes,
            })
            .await;
        if let Err(e) = opened {
            // Without a journal nothing may change: the apply ends before its first call.
            run.status.fill(Status::Stopped);
            for change in &plan.changes {
                run.skip(change, SkipReason::Stopped);
            }
            if let Some(change) = plan.changes.iter().find(|c| c.action.mutates()) {
                run.first_error = Some((change.id.clone(), journal_error(&e)));
            }
            return run
                .finish(apply_id, started, ApplyOutcome::Failed, outputs)
                .await;
        }
        shared.events.emit(ExecEvent::ApplyStarted {
            apply_id: apply_id.clone(),
            stack: plan.stack.clone(),
            changes: change_count,
        });

        for change in plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::NoOp))
        {
            run.skip(change, SkipReason::NoOp);
        }

        run.walk().await;
        outputs = shared
            .outputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();

        for i in run.walk.never_started().collect::<Vec<_>>() {
            run.status[i] = Status::Stopped;
            run.skip(&plan.changes[i], SkipReason::Stopped);
        }
        let outcome = if self.cancel.is_cancelled() {
            ApplyOutcome::Interrupted
        } else if run
            .status
            .iter()
            .any(|s| !matches!(s, Status::Succeeded | Status::NoOp))
        {
            ApplyOutcome::Failed
        } else {
            ApplyOutcome::Succeeded
        };
        // Only creates and updates can be undone; a failed destroy (deletes alone) has
        // nothing to put back and ends as with `OnFailure::Stop`.
        let undoable = plan.changes.iter().zip(&run.status).any(|(c, s)| {
            matches!(c.action, Action::Create | Action::Update)
                && matches!(s, Status::Succeeded | Status::Failed)
        });
        if outcome == ApplyOutcome::Failed
            && self.options.on_failure == OnFailure::Rollback
            && undoable
        {
            // The apply's stop token was cancelled by the failure; the undo gets its own,
            // still tied to the caller's (Ctrl-C stops the undo too).
            let undo_shared = self.shared(plan, &outputs);
            run.undo = Some(undo::undo(undo_shared, graph, &mut outputs).await);
        }
        run.finish(apply_id, started, outcome, outputs).await
    }
}

/// What every step of one apply shares.
struct Shared {
    cloud: Arc<dyn Cloud>,
    journal: Arc<dyn JournalStore>,
    events: EventSink,
    retry: RetryPolicy,
    canary: Option<CanaryPolicy>,
    env: Environment,
    /// Cancelled on the first failure or by the caller's token (Ctrl-C): no new step
    /// starts, backoff sleeps end; calls in flight are never aborted.
    stop: CancellationToken,
    outputs: Mutex<BTreeMap<ResourceId, Outputs>>,
    global: Arc<Semaphore>,
    per_service: BTreeMap<Service, Arc<Semaphore>>,
}

impl Shared {
    /// Appends to the journal off the async threads (a file journal syncs every entry).
    async fn journal(&self, entry: JournalEntry) -> io::Result<()> {
        let journal = Arc::clone(&self.journal);
        tokio::task::spawn_blocking(move || journal.append(&entry))
            .await
            .map_err(io::Error::other)?
    }

    /// The context of one step on `id`: the outputs known now, and progress messages sent
    /// as `NodeProgress` events.
    fn step_context(&self, id: &ResourceId) -> StepContext {
        let outputs = self
            .outputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let events = self.events.clone();
        let progress_id = id.clone();
        StepContext::new(
            self.env.clone(),
            outputs,
            Box::new(move |message| {
                events.emit(ExecEvent::NodeProgress {
                    id: progress_id.clone(),
                    message,
                });
            }),
        )
    }

    /// A slot of the node's service, then a global one (in that order, so a step waiting
    /// for a busy service does not hold a global slot others could use). `None` when the
    /// apply stops first.
    async fn permits(&self, service: Service) -> Option<[OwnedSemaphorePermit; 2]> {
        let service_slots = self.per_service.get(&service).map(Arc::clone)?;
        let acquire = async {
            let service_permit = service_slots.acquire_owned().await.ok()?;
            let global_permit = Arc::clone(&self.global).acquire_owned().await.ok()?;
            Some([service_permit, global_permit])
        };
        tokio::select! {
            biased;
            () = self.stop.cancelled() => None,
            permits = acquire => permits,
        }
    }
}

/// The retries of one step, apply or undo: after each failed attempt the policy's delay,
/// with the step's slots given to other steps meanwhile.
struct Retrying<'a> {
    shared: &'a Shared,
    id: &'a ResourceId,
    permits: Option<[OwnedSemaphorePermit; 2]>,
    attempt: u32,
    started: Instant,
}

impl<'a> Retrying<'a> {
    fn new(shared: &'a Shared, id: &'a ResourceId, permits: [OwnedSemaphorePermit; 2]) -> Self {
        Self {
            shared,
            id,
            permits: Some(permits),
            attempt: 0,
            started: Instant::now(),
        }
    }

    /// After a failed attempt: waits the policy's delay and takes the slots again. `Err`
    /// is the error to give up with: not retryable, out of attempts or time, or stopping.
    async fn wait(&mut self, error: CloudError) -> Result<(), CloudError> {
        self.attempt += 1;
        let elapsed = self.started.elapsed();
        let retry = &self.shared.retry;
        let Some(delay) = retry.next_delay(error.class, self.attempt, elapsed) else {
            return Err(retry.exhausted(error, self.attempt, elapsed));
        };
        self.shared.events.emit(ExecEvent::NodeRetrying {
            id: self.id.clone(),
            attempt: self.attempt,
            class: error.class,
            error: error.to_string(),
            delay_ms: millis(delay),
        });
        // The slots go to other steps while this one waits.
        drop(self.permits.take());
        tokio::select! {
            biased;
            () = self.shared.stop.cancelled() => return Err(stopping(error)),
            () = tokio::time::sleep(delay) => {}
        }
        self.permits = self.shared.permits(self.id.kind().service()).await;
        if self.permits.is_none() {
            return Err(stopping(error));
        }
        Ok(())
    }
}

/// The scheduler's state for one apply.
struct Run<'a> {
    plan: &'a Plan,
    graph: &'a CheckedGraph,
    shared: Arc<Shared>,
    status: Vec<Status>,
    walk: DagWalk<StepOutcome>,
    first_error: Option<(ResourceId, CloudError)>,
    undo: Option<UndoReport>,
}

impl Run<'_> {
    /// Starts ready nodes and reacts to finished ones until nothing runs.
    async fn walk(&mut self) {
        let stop = self.shared.stop.clone();
        loop {
            let next = self.walk.next(&stop, |i| {
                let change = self.plan.changes[i].clone();
                let spec = self.graph.get(&change.id).cloned();
                self.status[i] = Status::Running;
                let shared = Arc::clone(&self.shared);
                async move { run_step(&shared, change, spec).await }
            });
            let Some((i, joined)) = next.await else {
                return;
            };
            let outcome = joined.unwrap_or_else(|e| {
                StepOutcome::Failed(CloudError::fatal(
                    "txdeploy",
                    "step",
                    format!("the step stopped unexpectedly ({e}); this is a txdeploy bug"),
                ))
            });
            self.finished(i, outcome);
        }
    }

    fn finished(&mut self, i: usize, outcome: StepOutcome) {
        let id = &self.plan.changes[i].id;
        match outcome {
            StepOutcome::Succeeded(outputs) => {
                self.status[i] = Status::Succeeded;
                {
                    let mut table = self
                        .shared
                        .outputs
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    match outputs {
                        Some(outputs) => table.insert(id.clone(), outputs),
                        None => table.remove(id),
                    };
                }
                self.walk.release(i);
            }
            StepOutcome::Failed(error) => {
                self.status[i] = Status::Failed;
                if self.first_error.is_none() {
                    self.first_error = Some((id.clone(), error));
                }
                // Stop scheduling; in-flight steps finish on their own.
                self.shared.stop.cancel();
                self.block_dependents(i);
            }
            StepOutcome::NotStarted => {
                self.status[i] = Status::Stopped;
                self.skip(&self.plan.changes[i], SkipReason::Stopped);
            }
        }
    }

    /// Marks every node that (transitively) waits for the failed node `failed`.
    fn block_dependents(&mut self, failed: usize) {
        for (d, n) in self.walk.block(failed) {
            self.status[d] = Status::DependencyFailed;
            let dependency = self.plan.changes[n].id.clone();
            self.skip(
                &self.plan.changes[d],
                SkipReason::DependencyFailed { dependency },
            );
        }
    }

    fn skip(&self, change: &PlannedChange, reason: SkipReason) {
        self.shared.events.emit(ExecEvent::NodeSkipped {
            id: change.id.clone(),
            reason,
        });
    }

    async fn finish(
        self,
        apply_id: String,
        started: Instant,
        outcome: ApplyOutcome,
        outputs: BTreeMap<ResourceId, Outputs>,
    ) -> ApplyReport {
        let mut report = ApplyReport {
            apply_id,
            outcome,
            outputs,
            first_error: self.first_error,
            failed: Vec::new(),
            succeeded: Vec::new(),
            skipped: Vec::new(),
            undo: self.undo,
            elapsed: Duration::ZERO,
        };
        for (change, status) in self.plan.changes.iter().zip(&self.status) {
            let list = match status {
                Status::Succeeded => &mut report.succeeded,
                Status::Failed => &mut report.failed,
                _ => &mut report.skipped,
            };
            list.push(change.id.clone());
        }
        // A journal that cannot record the end leaves the apply looking interrupted, which
        // is what `status` should then say; the events still tell the user how it ended.
        let _ = self
            .shared
            .journal(JournalEntry::ApplyFinished { outcome })
            .await;
        report.elapsed = started.elapsed();
        self.shared.events.emit(ExecEvent::ApplyFinished {
            outcome,
            succeeded: report.succeeded.len(),
            failed: report.failed.len(),
            skipped: report.skipped.len(),
            elapsed_ms: millis(report.elapsed),
        });
        report
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn journal_error(e: &io::Error) -> CloudError {
    CloudError::fatal(
        "txdeploy",
        "journal",
        format!(
            "cannot write the apply journal ({e}); nothing more is changed without it: free \
             disk space or fix the permissions of the state directory, then run the command again"
        ),
    )
}

/// One node, from its permits to its last journal entry and event.
async fn run_step(
    shared: &Shared,
    change: PlannedChange,
    spec: Option<ResourceSpec>,
) -> StepOutcome {
    let id = change.id.clone();
    let action = change.action.label();
    let Some(permits) = shared.permits(id.kind().service()).await else {
        return StepOutcome::NotStarted;
    };
    if shared.stop.is_cancelled() {
        return StepOutcome::NotStarted;
    }
    let entry = JournalEntry::StepStarted {
        id: id.clone(),
        action: action.to_owned(),
        before: change.before.clone(),
    };
    if let Err(e) = shared.journal(entry).await {
        let error = journal_error(&e);
        shared.events.emit(ExecEvent::NodeFailed {
            id,
            action,
            error: error.clone(),
            elapsed_ms: 0,
        });
        return StepOutcome::Failed(error);
    }
    shared.events.emit(ExecEvent::NodeStarted {
        id: id.clone(),
        action,
    });
    let started = Instant::now();
    let ctx = shared.step_context(&id).with_canary(shared.canary);
    let step = Step {
        shared,
        change: &change,
        spec: spec.as_ref(),
        ctx: &ctx,
    };
    let result = step.execute(permits).await;
    let elapsed_ms = millis(started.elapsed());
    match result {
        Ok(outputs) => {
            let entry = JournalEntry::StepSucceeded {
                id: id.clone(),
                outputs: outputs.clone().unwrap_or_default(),
            };
            if let Err(e) = shared.journal(entry).await {
                let error = journal_error(&e);
                shared.events.emit(ExecEvent::NodeFailed {
                    id,
                    action,
                    error: error.clone(),
                    elapsed_ms,
                });
                return StepOutcome::Failed(error);
            }
            shared.events.emit(ExecEvent::NodeSucceeded {
                id,
                action,
                elapsed_ms,
            });
            StepOutcome::Succeeded(outputs)
        }
        Err(error) => {
            // If even the failure cannot be journaled, the user still gets the cloud error,
            // which is the more useful of the two.
            let _ = shared
                .journal(JournalEntry::StepFailed {
                    id: id.clone(),
                    error: error.clone(),
                })
                .await;
            shared.events.emit(ExecEvent::NodeFailed {
                id,
                action,
                error: error.clone(),
                elapsed_ms,
            });
            StepOutcome::Failed(error)
        }
    }
}

/// The phase a step is in: a replacement deletes, then converges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Delete,
    Converge,
}

struct Step<'a> {
    shared: &'a Shared,
    change: &'a PlannedChange,
    spec: Option<&'a ResourceSpec>,
    ctx: &'a StepContext,
}

impl Step<'_> {
    /// Runs the step's calls, retrying what the policy allows. After a failed attempt the
    /// next one starts from a fresh observation, never from the plan: a create whose
    /// response was lost must not create a second object.
    async fn execute(
        &self,
        permits: [OwnedSemaphorePermit; 2],
    ) -> Result<Option<Outputs>, CloudError> {
        let replaces = matches!(self.change.action, Action::Replace { .. });
        let mut phase = match self.change.action {
            Action::Delete | Action::Replace { .. } => Phase::Delete,
            _ => Phase::Converge,
        };
        let mut fresh = true;
        let mut retrying = Retrying::new(self.shared, &self.change.id, permits);
        loop {
            let result = match phase {
                Phase::Delete => match self.delete_once(fresh).await {
                    Err(e) if e.is_not_found() => Ok(None),
                    other => other.map(|()| None),
                },
                Phase::Converge => self.converge_once(fresh).await.map(Some),
            };
            let error = match result {
                Ok(_) if phase == Phase::Delete && replaces => {
                    phase = Phase::Converge;
                    fresh = true;
                    continue;
                }
                Ok(outputs) => return Ok(outputs),
                Err(error) => error,
            };
            retrying.wait(error).await?;
            fresh = false;
        }
    }

    fn spec(&self) -> Result<&ResourceSpec, CloudError> {
        self.spec.ok_or_else(|| {
            CloudError::fatal(
                "txdeploy",
                self.change.action.label(),
                format!(
                    "`{}` is not in the desired graph; this is a txdeploy bug",
                    self.change.id
                ),
            )
        })
    }

    fn before(&self) -> Result<&Observed, CloudError> {
        self.change.before.as_ref().ok_or_else(|| {
            CloudError::fatal(
                "txdeploy",
                self.change.action.label(),
                format!(
                    "the plan has no observed state of `{}`; run `txdeploy plan` again",
                    self.change.id
                ),
            )
        })
    }

    async fn delete_once(&self, fresh: bool) -> Result<(), CloudError> {
        let cloud = &self.shared.cloud;
        match self.spec {
            // Orphans have no spec to observe by: deleting is idempotent, so try again.
            Some(spec) if !fresh => match cloud.observe(spec, &self.shared.env).await? {
                Some(current) => cloud.delete(&self.change.id, &current, self.ctx).await,
                None => Ok(()),
            },
            _ => {
                cloud
                    .delete(&self.change.id, self.before()?, self.ctx)
                    .await
            }
        }
    }

    async fn converge_once(&self, fresh: bool) -> Result<Outputs, CloudError> {
        let cloud = &self.shared.cloud;
        let spec = self.spec()?;
        if fresh {
            return match &self.change.action {
                Action::Update => {
                    let changed: Vec<String> =
                        self.change.diffs.iter().map(|d| d.field.clone()).collect();
                    cloud.update(spec, self.before()?, &changed, self.ctx).await
                }
                _ => cloud.create(spec, self.ctx).await,
            };
        }
        let Some(current) = cloud.observe(spec, &self.shared.env).await? else {
            return cloud.create(spec, self.ctx).await;
        };
        let table = OutputTable {
            env: &self.shared.env,
            outputs: &self.ctx.outputs,
        };
        let diffs = field_diffs(spec, &current, &table);
        if let Some(diff) = diffs.iter().find(|d| d.forces_replace.is_some()) {
            return Err(CloudError::fatal(
                "txdeploy",
                "converge",
                format!(
                    "`{}` changed while this apply ran: `{}` differs and can only change by \
                     replacing it; run `txdeploy plan` again to see the replacement",
                    spec.id, diff.field
                ),
            ));
        }
        if diffs.is_empty() {
            return Ok(current.outputs);
        }
        let changed: Vec<String> = diffs.into_iter().map(|d| d.field).collect();
        cloud.update(spec, &current, &changed, self.ctx).await
    }
}

/// The error of a step whose retry was cut short because the apply is stopping.
fn stopping(error: CloudError) -> CloudError {
    CloudError {
        message: format!(
            "{}; not retried because the apply is stopping",
            error.message
        ),
        ..error
    }
}

#[cfg(test)]
mod tests;
