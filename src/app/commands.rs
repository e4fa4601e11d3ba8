//! The commands that talk to AWS: `plan`, `apply`, `destroy` and `status`, each a straight
//! line through `Session`: lock, observe, plan, show, confirm, execute, report.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::session::{Session, SessionError};
use super::{AppContext, Outcome, OutputMode, RunError};
use crate::adapters::{AwsAccess, AwsCloud, CallCounter};
use crate::canary::{self, CanaryCommand, CanaryError, CanaryOutcome, RollbackCause};
use crate::cli::Command;
use crate::engine::executor::ApplyReport;
use crate::engine::{ApplyOutcome, EventSink, UndoOutcome, UndoReport};
use crate::plan::{Action, Plan, PlanOptions};
use crate::release::record::Applied;
use crate::report::{self, plan_report};
use crate::state::journal::{self, FileJournal, JournalStore};
use crate::state::lock::{LockError, StackLock, lock_path};
use crate::state::state_cache::StateCache;

/// Runs `command` with `ctx` (the config is already valid).
pub async fn run_command(ctx: &AppContext, command: &Command) -> Result<Outcome, RunError> {
    match command {
        Command::Plan(args) => plan(ctx, args.detailed_exitcode).await,
        Command::Apply(args) => {
            let options = PlanOptions::apply();
            converge(ctx, "apply", options, args.yes).await
        }
        Command::Destroy(args) => {
            let options = PlanOptions::destroy(args.delete_data);
            converge(ctx, "destroy", options, args.yes).await
        }
        Command::Status => status(ctx).await,
        Command::Monitor(args) => crate::monitor::monitor_command::run(ctx, args).await,
        Command::Releases => super::release_commands::releases(ctx).await,
        Command::Rollback(args) => super::release_commands::rollback(ctx, args).await,
        Command::Audit => crate::audit::audit_command::run(ctx).await,
        // `validate` never reaches AWS; `app::run` answers it before any client exists.
        Command::Validate => Ok(Outcome::Done),
    }
}

async fn open_session(ctx: &AppContext) -> Result<(Session, CallCounter), RunError> {
    let (session, _, counter) = open_aws_session(ctx).await?;
    Ok((session, counter))
}

/// As `open_session`, keeping the AWS cloud itself for the calls outside the `Cloud`
/// boundary (release records, tags, the stage cache).
pub(crate) async fn open_aws_session(
    ctx: &AppContext,
) -> Result<(Session, Arc<AwsCloud>, CallCounter), RunError> {
    let access = AwsAccess::from(&ctx.config.aws);
    let (cloud, counter) = AwsCloud::connect(&access).await;
    let cloud = Arc::new(cloud);
    let session = Session::open(ctx.config.clone(), cloud.clone())
        .await
        .map_err(|e| match e {
            SessionError::Environment(error) => RunError::Cloud { error },
            SessionError::Graph(_) => RunError::Usage(e.to_string()),
        })?;
    Ok((session, cloud, counter))
}

/// Says how many AWS calls the run made: what a no-op apply costs, and proof that it
/// changed nothing (zero mutations).
pub(crate) fn print_calls(ctx: &AppContext, counter: &CallCounter) {
    let calls = counter.snapshot();
    match ctx.output {
        OutputMode::Json => println!(
            "{}",
            serde_json::json!({
                "event": "aws_calls",
                "reads": calls.reads(),
                "mutations": calls.mutations(),
                "calls": calls,
            })
        ),
        _ => println!(
            "AWS calls: {} reads, {} mutations.",
            calls.reads(),
            calls.mutations()
        ),
    }
}

pub(crate) fn print_plan(ctx: &AppContext, plan: &Plan) {
    match ctx.output {
        OutputMode::Json => println!("{}", plan_report::render_json(plan)),
        mode => print!("{}", plan_report::render_text(plan, mode.color())),
    }
}

async fn plan(ctx: &AppContext, detailed_exitcode: bool) -> Result<Outcome, RunError> {
    let (session, counter) = open_session(ctx).await?;
    let observed = session.observe().await?;
    let plan = session.plan(&observed, PlanOptions::apply()).await;
    print_plan(ctx, &plan);
    // `plan --json` prints one document; the call count is for humans there.
    if ctx.output != OutputMode::Json {
        print_calls(ctx, &counter);
    }
    Ok(if detailed_exitcode && plan.has_changes() {
        Outcome::ChangesPending
    } else {
        Outcome::Done
    })
}

/// `apply` and `destroy`: the same walk with a different plan.
async fn converge(
    ctx: &AppContext,
    verb: &'static str,
    options: PlanOptions,
    yes: bool,
) -> Result<Outcome, RunError> {
    let state_root = ctx.global.state_dir.as_path();
    let stack = ctx.config.stack_name();
    // The lock comes first: two applies must not even observe concurrently, or both would
    // plan the same creates.
    let _lock = StackLock::acquire(state_root, &stack, verb).map_err(lock_error)?;
    let (session, aws, counter) = open_aws_session(ctx).await?;
    let observed = session.observe().await?;
    let plan = session.plan(&observed, options).await;
    print_plan(ctx, &plan);
    if !plan.refusals.is_empty() {
        // Proof that the refusal came before any change: the count shows zero mutations.
        print_calls(ctx, &counter);
        return Err(RunError::Usage(format!(
            "{verb} refused to run: {}",
            plan.refusals.join("; ")
        )));
    }
    if !plan.has_changes() {
        // The plan report has already said so. A no-op apply still checks that what is live
        // is recorded: an earlier apply's record write may have failed.
        if verb == "apply" {
            let applied = Applied::unchanged(&plan);
            super::release_commands::record_after_apply(ctx, &session, &aws, &plan, &applied).await;
        }
        print_calls(ctx, &counter);
        return Ok(Outcome::Done);
    }
    if ctx.output.is_interactive() && !yes && !confirm(verb)? {
        println!("nothing changed.");
        return Ok(Outcome::Done);
    }
    let report = execute(ctx, &session, &plan, state_root).await?;
    let outcome = after_execute(ctx, verb, &session, &aws, &plan, &report).await;
    // Every call of the run, the canary window's and the release record's included.
    print_calls(ctx, &counter);
    outcome
}

/// What follows a run of the executor: the outcome, the canary window, the release record.
async fn after_execute(
    ctx: &AppContext,
    verb: &'static str,
    session: &Session,
    aws: &AwsCloud,
    plan: &Plan,
    report: &ApplyReport,
) -> Result<Outcome, RunError> {
    let outcome = finish(ctx, verb, plan, report, ctx.global.state_dir.as_path())?;
    canary_window(ctx, session, aws, plan).await?;
    // A release is what serves traffic: recorded once the apply succeeded (`finish`
    // returned `Err` otherwise) and any canary was promoted (a canary rolled back returned
    // `Err` above and records nothing).
    if verb == "apply"
        && let Ok(applied) = Applied::from_report(report)
    {
        super::release_commands::record_after_apply(ctx, session, aws, plan, &applied).await;
    }
    Ok(outcome)
}

/// The canary window after a successful canary apply (nothing when the apply moved no
/// alias or the config has no canary): promoted, or rolled back (exit 1, naming the alarm;
/// exit 130 on Ctrl-C, which rolls back without asking). Its calls go through the run's
/// clients, so the run's call count includes them.
async fn canary_window(
    ctx: &AppContext,
    session: &Session,
    aws: &AwsCloud,
    plan: &Plan,
) -> Result<(), RunError> {
    if !matches!(ctx.config.canary_policy(), Ok(Some(_))) {
        return Ok(());
    }
    let canary = canary::canary_for_apply(aws.clients().clone(), session, plan)
        .await
        .map_err(|error| RunError::NeedsHuman {
            message: format!("the canary aliases could not be read: {error}"),
            next: "the `live` aliases may route part of their traffic to the new version: run \
                   `txdeploy apply` again without `--canary` to release fully, or `txdeploy \
                   rollback`"
                .to_owned(),
        })?;
    let Some(canary) = canary else {
        return Ok(());
    };
    let (events, receiver) = tokio::sync::mpsc::unbounded_channel();
    let (commands, mut command_receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut reporter = ctx.output.reporter();
    let reporting = tokio::spawn(async move {
        report::drain_canary(receiver, reporter.as_mut()).await;
    });
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = commands.send(CanaryCommand::Interrupt);
        }
    });
    let result = canary.run(&events, &mut command_receiver).await;
    ctrl_c.abort();
    drop(events);
    let _ = reporting.await;
    canary_result(result)
}

/// How a canary's end ends the run.
pub fn canary_result(result: Result<CanaryOutcome, CanaryError>) -> Result<(), RunError> {
    match result {
        // Issue 6 item 1: the release record of a canary apply belongs here, once the
        // canary is promoted (a rolled-back canary is not a release).
        Ok(CanaryOutcome::Promoted(_)) => Ok(()),
        Ok(CanaryOutcome::RolledBack(RollbackCause::Interrupted)) => Err(RunError::Interrupted),
        Ok(CanaryOutcome::RolledBack(cause)) => Err(RunError::Failed {
            message: format!("the canary was rolled back: {}", cause.describe()),
            next: "the aliases run the previous version again; fix the new version, then run \
                   `txdeploy apply` again"
                .to_owned(),
        }),
        Err(error @ CanaryError::Rollback { .. }) => Err(RunError::NeedsHuman {
            message: error.to_string(),
            next: "move the aliases listed back by hand or with `txdeploy rollback`".to_owned(),
        }),
        Err(error @ CanaryError::Promote { .. }) => Err(RunError::Failed {
            message: error.to_string(),
            next: "run `txdeploy apply` again without `--canary`".to_owned(),
        }),
    }
}

/// Asks on the terminal; anything but `y`/`yes` declines.
pub(crate) fn confirm(verb: &str) -> Result<bool, RunError> {
    if !std::io::stdin().is_terminal() {
        return Err(RunError::Usage(format!(
            "`txdeploy {verb}` needs a confirmation but stdin is not a terminal; pass `--yes` \
             or `--non-interactive`"
        )));
    }
    print!("Do you want to {verb} these changes? Only `yes` is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| RunError::Io {
            context: "reading the confirmation".into(),
            source,
        })?;
    Ok(matches!(answer.trim(), "y" | "yes"))
}

pub(crate) async fn execute(
    ctx: &AppContext,
    session: &Session,
    plan: &Plan,
    state_root: &Path,
) -> Result<ApplyReport, RunError> {
    let (events, receiver) = EventSink::channel();
    let mut reporter = ctx.output.reporter();
    let reporting = tokio::spawn(async move {
        report::drain(receiver, reporter.as_mut()).await;
    });
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            // Stop scheduling; in-flight calls finish and the journal stays consistent.
            on_ctrl_c.cancel();
        }
    });
    let report = execute_plan(session, plan, state_root, events, cancel).await;
    ctrl_c.abort();
    // The executor dropped its sink: the reporter drains what is left and ends.
    let _ = reporting.await;
    report
}

/// Executes `plan` with a new file journal under `state_root`, sending every event to
/// `events`, then writes the state cache. `apply`, `destroy` and the TUI share it.
pub async fn execute_plan(
    session: &Session,
    plan: &Plan,
    state_root: &Path,
    events: EventSink,
    cancel: CancellationToken,
) -> Result<ApplyReport, RunError> {
    let apply_id = journal::new_apply_id();
    let journal =
        FileJournal::create(state_root, &session.stack_name(), &apply_id).map_err(|source| {
            RunError::Io {
                context: "creating the apply journal".into(),
                source,
            }
        })?;
    let journal: Arc<dyn JournalStore> = Arc::new(journal);
    let report = session.execute(plan, journal, events, cancel).await;
    let cache = StateCache::new(
        &session.stack_name(),
        &report.apply_id,
        report.outcome,
        report.outputs.clone(),
    );
    cache.write(state_root).map_err(|source| RunError::Io {
        context: "writing the state cache".into(),
        source,
    })?;
    Ok(report)
}

fn finish(
    ctx: &AppContext,
    verb: &str,
    plan: &Plan,
    report: &ApplyReport,
    state_root: &Path,
) -> Result<Outcome, RunError> {
    if let Some(error) = apply_error(verb, &plan.stack, report, state_root) {
        return Err(error);
    }
    if ctx.output != OutputMode::Json && !plan.kept.is_empty() {
        println!("kept {} resource(s) that hold data:", plan.kept.len());
        for kept in &plan.kept {
            println!("  {} ({}): {}", kept.id, kept.physical_name, kept.reason);
        }
    }
    Ok(Outcome::Done)
}

/// The error an apply that did not succeed ends the run with (`None` when it succeeded).
pub fn apply_error(
    verb: &str,
    stack: &str,
    report: &ApplyReport,
    state_root: &Path,
) -> Option<RunError> {
    let journal =
        journal::journal_dir(state_root, stack).join(format!("{}.jsonl", report.apply_id));
    match report.outcome {
        ApplyOutcome::Succeeded => None,
        ApplyOutcome::Interrupted => Some(RunError::Interrupted),
        ApplyOutcome::Failed => {
            let message = match &report.first_error {
                Some((id, error)) => format!("`{id}`: {error}"),
                None => "a step failed".to_owned(),
            };
            if let Some(undo) = &report.undo {
                return Some(undo_error(verb, message, undo, &journal));
            }
            Some(RunError::Failed {
                message,
                next: format!(
                    "the stack is partly changed ({} step(s) done, {} failed); nothing was \
                     undone. Fix the cause and run `txdeploy {verb}` again: it observes what \
                     exists and continues from there. Journal: {}",
                    report.succeeded.len(),
                    report.failed.len(),
                    journal.display()
                ),
            })
        }
    }
}

/// The error of a failed apply that was undone: rolled back (exit 1), or an undo that
/// failed, listing every resource still changed by the apply (exit 3).
fn undo_error(verb: &str, message: String, undo: &UndoReport, journal: &Path) -> RunError {
    let kept: Vec<String> = undo
        .kept
        .iter()
        .map(|k| format!("\n    kept `{}`: {}", k.id, k.reason))
        .collect();
    match undo.outcome {
        UndoOutcome::RolledBack => RunError::Failed {
            message,
            next: format!(
                "the apply was rolled back: {} resource(s) put back as they were, in {}{}\n  \
                 fix the cause and run `txdeploy {verb}` again. Journal: {}",
                undo.undone.len(),
                report::format_duration(
                    u64::try_from(undo.elapsed.as_millis()).unwrap_or(u64::MAX)
                ),
                kept.concat(),
                journal.display()
            ),
        },
        UndoOutcome::Interrupted => RunError::Interrupted,
        UndoOutcome::Failed => {
            let undo_error = match &undo.first_error {
                Some((Some(id), error)) => format!("`{id}`: {error}"),
                Some((None, error)) => error.to_string(),
                None => "some changes cannot be undone".to_owned(),
            };
            let left: Vec<String> = undo
                .left
                .iter()
                .map(|l| format!("\n    left `{}`: {}", l.id, l.state))
                .collect();
            RunError::NeedsHuman {
                message: format!("{message}\n  then the undo failed: {undo_error}"),
                next: format!(
                    "{} resource(s) are still as the failed apply left them:{}{}\n  run \
                     `txdeploy {verb}` to converge forward to the config once the cause is \
                     fixed (it observes what exists and finishes the change), or put the \
                     resources above back by hand. Journal: {}",
                    undo.left.len(),
                    left.concat(),
                    kept.concat(),
                    journal.display()
                ),
            }
        }
    }
}

fn lock_error(error: LockError) -> RunError {
    RunError::Usage(error.to_string())
}

async fn status(ctx: &AppContext) -> Result<Outcome, RunError> {
    let state_root = ctx.global.state_dir.as_path();
    let stack = ctx.config.stack_name();
    let lock = lock_path(state_root, &stack);
    let lock_holder = std::fs::read_to_string(&lock).ok();
    let last = journal::latest_apply(state_root, &stack).map_err(|source| RunError::Io {
        context: "reading the latest journal".into(),
        source,
    })?;
    let (session, _counter) = open_session(ctx).await?;
    let observed = session.observe().await?;
    let plan = session.plan(&observed, PlanOptions::apply()).await;
    if ctx.output == OutputMode::Json {
        let doc = serde_json::json!({
            "event": "status",
            "stack": stack,
            "lock": lock_holder.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
            "last_apply": last.as_deref().and_then(journal::apply_outcome),
            "last_undo": last.as_deref().and_then(journal::undo_outcome),
            "unfinished_steps": last.as_deref().map(journal::unfinished_steps).unwrap_or_default(),
            "resources": plan.changes.iter().map(|c| serde_json::json!({
                "id": c.id, "physical_name": c.physical_name, "state": status_word(&c.action),
            })).collect::<Vec<_>>(),
        });
        println!("{doc}");
        return Ok(Outcome::Done);
    }
    println!(
        "stack `{stack}` in account {} ({})",
        plan.environment.account_id, plan.environment.region
    );
    match &lock_holder {
        Some(holder) => println!("lock: held ({})", holder.trim()),
        None => println!("lock: free"),
    }
    match last.as_deref() {
        None => println!("last apply: none recorded in {}", state_root.display()),
        Some(entries) => {
            let outcome = journal::apply_outcome(entries).map_or(
                "did not finish (the process stopped mid-apply)".to_owned(),
                |o| format!("{o:?}").to_lowercase(),
            );
            let undo = match journal::undo_outcome(entries) {
                Some(UndoOutcome::RolledBack) => ", rolled back",
                Some(UndoOutcome::Failed) => ", and its undo failed: the stack needs a human",
                Some(UndoOutcome::Interrupted) => ", and its undo was interrupted",
                None => "",
            };
            println!("last apply: {outcome}{undo}");
            for id in journal::unfinished_steps(entries) {
                println!("  unfinished step: {id} (run `txdeploy apply` to converge it)");
            }
        }
    }
    for change in &plan.changes {
        println!(
            "  {:<10} {} ({})",
            status_word(&change.action),
            change.id,
            change.physical_name
        );
    }
    println!(
        "{}",
        if plan.has_changes() {
            "the stack differs from the config: `txdeploy plan` shows how, `txdeploy apply` fixes it."
        } else {
            "the stack matches the config."
        }
    );
    Ok(Outcome::Done)
}

fn status_word(action: &Action) -> &'static str {
    match action {
        Action::NoOp => "in sync",
        Action::Create => "missing",
        Action::Update | Action::Replace { .. } => "drifted",
        Action::Delete => "orphaned",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::canary::PromoteTrigger;
    use crate::cloud::CloudError;

    #[test]
    fn a_canary_ends_the_run_with_the_documented_exit_code() {
        assert!(canary_result(Ok(CanaryOutcome::Promoted(PromoteTrigger::Manual))).is_ok());
        let alarm = canary_result(Ok(CanaryOutcome::RolledBack(RollbackCause::Alarm {
            alarm: "tx-dev-api-5xx-rate".into(),
            reason: "Threshold Crossed".into(),
        })))
        .unwrap_err();
        assert_eq!(alarm.exit_code(), 1);
        assert!(
            alarm
                .to_string()
                .contains("`tx-dev-api-5xx-rate` fired: Threshold Crossed")
        );
        let aborted =
            canary_result(Ok(CanaryOutcome::RolledBack(RollbackCause::Aborted))).unwrap_err();
        assert_eq!(aborted.exit_code(), 1);
        let ctrl_c =
            canary_result(Ok(CanaryOutcome::RolledBack(RollbackCause::Interrupted))).unwrap_err();
        assert_eq!(ctrl_c.exit_code(), 130);
        let stuck = canary_result(Err(CanaryError::Rollback {
            cause: "aborted by the user".into(),
            alias: "tx-dev-transaction-validator:live".into(),
            error: CloudError::fatal("lambda", "UpdateAlias", "denied"),
        }))
        .unwrap_err();
        assert_eq!(stuck.exit_code(), 3);
        assert!(
            stuck
                .to_string()
                .contains("tx-dev-transaction-validator:live")
        );
    }
}
