//! `EffectRunner`: performs what `update` asks for (loads, the apply job, pollers) as
//! background tasks that report back as `AppEvent`s. The only part of the TUI that does I/O
//! besides the terminal. It must run inside a `tokio::task::LocalSet` (`tui::run_app`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::app_event::{AppEvent, ApplyUpdate, Loaded};
use super::app_state::LocalState;
use super::effect::Effect;
use crate::adapters::{AwsAccess, AwsClients, AwsCloud};
use crate::app::commands::{apply_error, canary_result, execute_plan};
use crate::app::release_commands;
use crate::app::session::Session;
use crate::app::{AppContext, RunError};
use crate::canary::{CanaryCommand, canary_for_apply};
use crate::cloud::Cloud;
use crate::config::Config;
use crate::engine::{ApplyOutcome, EventSink, plan_dependencies};
use crate::monitor::{MetricWindow, MonitorEvent, PollerControl, alarm_prefix, dashboard_metrics};
use crate::plan::{Plan, PlanOptions};
use crate::release::record::{Applied, Recorded};
use crate::report::next_step;
use crate::state::journal::{self, JournalEntry};
use crate::state::lock::{StackLock, lock_path};

/// Milliseconds since `start`, the TUI's clock.
fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Sends to the loop; a closed loop (quitting) just drops the event.
#[derive(Clone)]
struct Sender {
    tx: UnboundedSender<AppEvent>,
}

impl Sender {
    fn send(&self, event: AppEvent) {
        let _ = self.tx.send(event);
    }
}

/// The running apply job.
struct ApplyJob {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// Where `p` and `a` reach the canary window of the running apply job, if it has one.
type CanaryCommands = Arc<Mutex<Option<UnboundedSender<CanaryCommand>>>>;

/// Runs effects for one TUI session.
pub struct EffectRunner {
    config: Config,
    state_root: PathBuf,
    cloud: Arc<dyn Cloud>,
    /// The same cloud, for the calls outside the `Cloud` boundary (release records).
    aws: Arc<AwsCloud>,
    clients: AwsClients,
    tx: Sender,
    start: Instant,
    pollers: PollerControl,
    metric_interval: Duration,
    /// Where pollers send; kept so the metric poller can start later.
    monitor_tx: Option<UnboundedSender<MonitorEvent>>,
    metrics: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    apply: Option<ApplyJob>,
    /// How the latest apply ended badly, for the exit code (`None` after a success).
    apply_error: Arc<Mutex<Option<RunError>>>,
    canary_commands: CanaryCommands,
}

impl EffectRunner {
    /// Connects (no AWS call yet), starts the alarm poller and the launch loads.
    pub async fn start(
        ctx: &AppContext,
        alarm_interval: Duration,
        metric_interval: Duration,
        tx: UnboundedSender<AppEvent>,
        start: Instant,
    ) -> Self {
        let (cloud, _calls) = AwsCloud::connect(&AwsAccess::from(&ctx.config.aws)).await;
        let clients = cloud.clients().clone();
        let aws = Arc::new(cloud);
        let tx = Sender { tx };
        let (monitor_tx, monitor_rx) = unbounded_channel();
        let pollers = PollerControl::new(MetricWindow::default(), CancellationToken::new());
        let mut runner = Self {
            config: ctx.config.clone(),
            state_root: ctx.global.state_dir.clone(),
            cloud: aws.clone(),
            aws,
            clients,
            tx,
            start,
            pollers,
            metric_interval,
            monitor_tx: None,
            metrics: None,
            tasks: Vec::new(),
            apply: None,
            apply_error: Arc::new(Mutex::new(None)),
            canary_commands: Arc::new(Mutex::new(None)),
        };
        runner
            .tasks
            .push(forward_monitor(monitor_rx, runner.tx.clone()));
        runner.tasks.push(runner.pollers.spawn_alarms(
            runner.clients.cloudwatch.clone(),
            alarm_prefix(&runner.config),
            alarm_interval,
            monitor_tx.clone(),
        ));
        runner.monitor_tx = Some(monitor_tx);
        runner.reload();
        runner
    }

    /// Performs `effect`; `false` means quit.
    pub fn run(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return false,
            Effect::Reload => self.reload(),
            Effect::Apply(plan) => self.apply(*plan),
            Effect::StopApply => {
                if let Some(job) = &self.apply {
                    job.cancel.cancel();
                }
            }
            Effect::RefreshAlarms => self.pollers.refresh_alarms(),
            Effect::StartMetrics => self.start_metrics(),
            Effect::RefreshMetrics => self.pollers.refresh_metrics(),
            Effect::SetMetricWindow(window) => self.pollers.set_window(window),
            Effect::Canary(command) => {
                if let Some(commands) = self
                    .canary_commands
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                {
                    let _ = commands.send(command);
                }
            }
        }
        true
    }

    fn start_metrics(&mut self) {
        if self.metrics.is_some() {
            self.pollers.refresh_metrics();
            return;
        }
        let Some(monitor_tx) = self.monitor_tx.clone() else {
            return;
        };
        self.metrics = Some(self.pollers.spawn_metrics(
            self.clients.cloudwatch.clone(),
            dashboard_metrics(&self.config),
            self.metric_interval,
            monitor_tx,
        ));
    }

    /// Account, observation and plan in one task; the local state in another.
    fn reload(&mut self) {
        self.tasks.retain(|t| !t.is_finished());
        let tx = self.tx.clone();
        let config = self.config.clone();
        let cloud = Arc::clone(&self.cloud);
        let clients = self.clients.clone();
        // Local tasks: the observer's futures are not provably `Send` (a higher-ranked
        // lifetime in its closures), and the TUI loop runs inside a `LocalSet` anyway.
        self.tasks.push(tokio::task::spawn_local(async move {
            match Session::open(config, cloud).await {
                Ok(session) => {
                    tx.send(AppEvent::Loaded(Loaded::Account(Ok(session.env.clone()))));
                    let planned = async {
                        let plan = match session.observe().await {
                            Ok(observed) => Ok(Box::new(
                                session.plan(&observed, PlanOptions::apply()).await,
                            )),
                            Err(error) => Err(format!("{error}; next: {}", next_step(&error))),
                        };
                        tx.send(AppEvent::Loaded(Loaded::Plan(plan)));
                    };
                    let released = async {
                        let release = release_commands::current(&session, &clients).await;
                        tx.send(AppEvent::Loaded(Loaded::Release(release)));
                    };
                    tokio::join!(planned, released);
                }
                Err(error) => {
                    let message = error.to_string();
                    tx.send(AppEvent::Loaded(Loaded::Account(Err(message.clone()))));
                    tx.send(AppEvent::Loaded(Loaded::Plan(Err(format!(
                        "cannot plan without the account: {message}"
                    )))));
                    tx.send(AppEvent::Loaded(Loaded::Release(Err(format!(
                        "cannot read releases without the account: {message}"
                    )))));
                }
            }
        }));
        let tx = self.tx.clone();
        let root = self.state_root.clone();
        let stack = self.config.stack_name();
        self.tasks.push(tokio::spawn(async move {
            let local = tokio::task::spawn_blocking(move || read_local_state(&root, &stack))
                .await
                .map_err(|e| format!("reading the state directory stopped: {e}"))
                .and_then(|r| r);
            tx.send(AppEvent::Loaded(Loaded::Local(local)));
        }));
    }

    /// Lock, observe again, compare with the confirmed plan, execute.
    fn apply(&mut self, confirmed: Plan) {
        if self
            .apply
            .as_ref()
            .is_some_and(|job| !job.task.is_finished())
        {
            self.tx.send(AppEvent::Apply(ApplyUpdate::Refused(
                "an apply is already running".into(),
            )));
            return;
        }
        let cancel = CancellationToken::new();
        let job = ApplyRun {
            config: self.config.clone(),
            cloud: Arc::clone(&self.cloud),
            aws: Arc::clone(&self.aws),
            state_root: self.state_root.clone(),
            tx: self.tx.clone(),
            start: self.start,
            cancel: cancel.clone(),
            apply_error: Arc::clone(&self.apply_error),
            clients: self.clients.clone(),
            canary_commands: Arc::clone(&self.canary_commands),
        };
        let task = tokio::task::spawn_local(job.run(confirmed));
        self.apply = Some(ApplyJob { cancel, task });
    }

    /// Stops every task. An apply still running is cancelled and given `grace` to let its
    /// in-flight calls finish and journal; then it is dropped (the journal shows what was
    /// unfinished). Returns how the latest apply ended badly, if it did.
    pub async fn shutdown(mut self, grace: Duration) -> Option<RunError> {
        self.pollers.stop();
        if let Some(job) = self.apply.take() {
            job.cancel.cancel();
            if !job.task.is_finished() {
                // The terminal is already restored: say why the prompt does not come back.
                eprintln!(
                    "waiting up to {} s for the apply's calls in flight to finish and be \
                     journaled (Ctrl-C again stops at once; `txdeploy status` then shows \
                     what was unfinished)",
                    grace.as_secs()
                );
            }
            let abort = job.task.abort_handle();
            if tokio::time::timeout(grace, job.task).await.is_err() {
                abort.abort();
            }
        }
        for task in self.tasks.drain(..).chain(self.metrics.take()) {
            task.abort();
        }
        self.apply_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

fn forward_monitor(mut rx: UnboundedReceiver<MonitorEvent>, tx: Sender) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            tx.send(AppEvent::Monitor(event));
        }
    })
}

/// What the launch screen shows from the state directory.
fn read_local_state(root: &std::path::Path, stack: &str) -> Result<LocalState, String> {
    let entries = journal::latest_apply(root, stack)
        .map_err(|e| format!("cannot read the journals under {}: {e}", root.display()))?;
    let last_apply = entries.as_deref().and_then(|entries| {
        let id = entries.iter().find_map(|e| match e {
            JournalEntry::ApplyStarted { apply_id, .. } => Some(apply_id.clone()),
            _ => None,
        })?;
        Some((id, journal::apply_outcome(entries)))
    });
    let unfinished_steps = entries
        .as_deref()
        .map_or(0, |e| journal::unfinished_steps(e).len());
    let lock_holder = std::fs::read_to_string(lock_path(root, stack))
        .ok()
        .map(|s| s.trim().to_owned());
    Ok(LocalState {
        last_apply,
        unfinished_steps,
        lock_holder,
    })
}

/// Whether two plans make the same changes (ids, actions, diffs, refusals): what the user
/// confirmed is what runs.
///
/// An alias's `routing` diff counts like any other: if a split appeared or went away
/// between the confirmation and the apply (another process's canary window ended, someone
/// set weights by hand), the plan changed and the user sees it again before any call.
pub fn same_changes(a: &Plan, b: &Plan) -> bool {
    a.refusals == b.refusals
        && a.changes.len() == b.changes.len()
        && a.changes
            .iter()
            .zip(&b.changes)
            .all(|(x, y)| x.id == y.id && x.action == y.action && x.diffs == y.diffs)
}

/// One apply, from the lock to the last event.
struct ApplyRun {
    config: Config,
    cloud: Arc<dyn Cloud>,
    aws: Arc<AwsCloud>,
    state_root: PathBuf,
    tx: Sender,
    start: Instant,
    cancel: CancellationToken,
    apply_error: Arc<Mutex<Option<RunError>>>,
    clients: AwsClients,
    canary_commands: CanaryCommands,
}

impl ApplyRun {
    fn refuse(&self, reason: String) {
        self.tx.send(AppEvent::Apply(ApplyUpdate::Refused(reason)));
    }

    async fn run(self, confirmed: Plan) {
        let stack = self.config.stack_name();
        // The lock first: a second apply must not even observe concurrently.
        let lock = match StackLock::acquire(&self.state_root, &stack, "apply (tui)") {
            Ok(lock) => lock,
            Err(error) => return self.refuse(error.to_string()),
        };
        let session = match Session::open(self.config.clone(), Arc::clone(&self.cloud)).await {
            Ok(session) => session,
            Err(error) => return self.refuse(error.to_string()),
        };
        let observed = match session.observe().await {
            Ok(observed) => observed,
            Err(error) => {
                return self.refuse(format!("{error}; next: {}", next_step(&error)));
            }
        };
        if self.cancel.is_cancelled() {
            return self.refuse("stopped before anything changed".into());
        }
        let fresh = session.plan(&observed, PlanOptions::apply()).await;
        if !same_changes(&fresh, &confirmed) {
            self.tx
                .send(AppEvent::Apply(ApplyUpdate::PlanChanged(Box::new(fresh))));
            return;
        }
        let deps = plan_dependencies(&fresh, &session.graph);
        self.tx.send(AppEvent::Apply(ApplyUpdate::Started { deps }));

        let (sink, mut events) = EventSink::channel();
        let tx = self.tx.clone();
        let start = self.start;
        // Stamped on arrival with the TUI's clock, so elapsed times match the screen.
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let at_ms = millis_since(start);
                tx.send(AppEvent::Exec { at_ms, event });
            }
        });
        let result = execute_plan(
            &session,
            &fresh,
            &self.state_root,
            sink,
            self.cancel.clone(),
        )
        .await;
        // The executor dropped its sink; every event reaches the loop before `Finished`.
        let _ = forward.await;
        let (mut outcome, mut error, report) = match result {
            Ok(report) => (
                report.outcome,
                apply_error("apply", &stack, &report, &self.state_root),
                Some(report),
            ),
            Err(error) => (ApplyOutcome::Failed, Some(error), None),
        };
        if outcome == ApplyOutcome::Succeeded && error.is_none() {
            // The lock stays held for the window: no other apply may move the aliases.
            error = self.canary_window(&session, &fresh).await.err();
            if let Some(e) = &error {
                outcome = if matches!(e, RunError::Interrupted) {
                    ApplyOutcome::Interrupted
                } else {
                    ApplyOutcome::Failed
                };
            }
        }
        if let Some(report) = &report
            && outcome == ApplyOutcome::Succeeded
            && error.is_none()
        {
            // Under the lock, like `txdeploy apply`, and only once a canary was promoted.
            // The apply itself succeeded: a release that could not be recorded is logged,
            // not turned into a failed apply.
            // The same recording as `txdeploy apply`: a new release, or the catch-up of a
            // live state an earlier failed record write left unrecorded.
            let recorded = match Applied::from_report(report) {
                Ok(applied) => {
                    release_commands::record_release(&session, &self.aws, &fresh, &applied).await
                }
                Err(error) => Err(RunError::Release(error.to_string())),
            };
            match recorded {
                Ok(recorded) if recorded.outcome.written().is_some() => {
                    tracing::info!("{}", recorded.message());
                }
                Ok(recorded) if matches!(recorded.outcome, Recorded::Split(_)) => {
                    tracing::warn!("{}", recorded.message());
                }
                Ok(_) => {}
                Err(error) => tracing::warn!("{}", release_commands::not_recorded(&error)),
            }
        }
        drop(lock);
        let message = error.as_ref().map(ToString::to_string);
        *self
            .apply_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = error;
        self.tx.send(AppEvent::Apply(ApplyUpdate::Finished {
            outcome,
            error: message,
        }));
    }

    /// The canary window after a canary apply, if the apply left aliases split: its events
    /// go to the loop, `p` / `a` reach it through `canary_commands`, and quitting the TUI
    /// (the job's cancel token) rolls it back.
    ///
    /// The plan screen is not read again during the window (a reload waits for the apply
    /// job, which holds the lock through the window), so it never shows the canary's own
    /// split as a change to make. The reload after `Finished` sees the aliases whole again
    /// (promoted or rolled back); only a promotion or rollback whose alias call failed leaves
    /// a split, and the plan then shows it with its `traffic` warning, which is the truth.
    async fn canary_window(&self, session: &Session, plan: &Plan) -> Result<(), RunError> {
        let canary = canary_for_apply(self.clients.clone(), session, plan)
            .await
            .map_err(|error| RunError::NeedsHuman {
                message: format!("the canary aliases could not be read: {error}"),
                next: "run `txdeploy apply` again without `--canary`, or `txdeploy rollback`"
                    .to_owned(),
            })?;
        let Some(canary) = canary else {
            return Ok(());
        };
        let (commands, mut command_receiver) = unbounded_channel();
        let on_cancel = commands.clone();
        *self
            .canary_commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(commands);
        let cancel = self.cancel.clone();
        let watch_cancel = tokio::spawn(async move {
            cancel.cancelled().await;
            let _ = on_cancel.send(CanaryCommand::Interrupt);
        });
        let (events, mut receiver) = unbounded_channel();
        let tx = self.tx.clone();
        let start = self.start;
        let forward = tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                let at_ms = millis_since(start);
                tx.send(AppEvent::Canary { at_ms, event });
            }
        });
        let result = canary.run(&events, &mut command_receiver).await;
        watch_cancel.abort();
        self.canary_commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(events);
        let _ = forward.await;
        canary_result(result)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tui::sample;

    #[test]
    fn plans_are_the_same_when_ids_actions_and_diffs_match() {
        let a = sample::plan();
        let mut b = sample::plan();
        assert!(same_changes(&a, &b));
        // Observed `before` states may differ in detail; only the changes count.
        b.changes[0].before = Some(Default::default());
        assert!(same_changes(&a, &b));
        b.changes[0].action = crate::plan::Action::NoOp;
        assert!(!same_changes(&a, &b));
        let mut c = sample::plan();
        c.changes.pop();
        assert!(!same_changes(&a, &c));
    }

    #[test]
    fn the_local_state_names_the_last_apply_and_the_lock_holder() {
        let dir = tempfile::tempdir().unwrap();
        let empty = read_local_state(dir.path(), "tx-dev").unwrap();
        assert_eq!(empty, LocalState::default());
        let journal = journal::FileJournal::create(dir.path(), "tx-dev", "a1").unwrap();
        use crate::state::journal::JournalStore as _;
        journal
            .append(&JournalEntry::ApplyStarted {
                apply_id: "a1".into(),
                stack: "tx-dev".into(),
                at: "now".into(),
                changes: Vec::new(),
            })
            .unwrap();
        let _lock = StackLock::acquire(dir.path(), "tx-dev", "apply").unwrap();
        let local = read_local_state(dir.path(), "tx-dev").unwrap();
        assert_eq!(local.last_apply, Some(("a1".to_owned(), None)));
        assert!(local.lock_holder.is_some_and(|h| h.contains("apply")));
    }
}
