//! `txdeploy releases` and `txdeploy rollback`, and recording a release after `apply`: the
//! commands around `release`, each a straight line through `Session` like the others.

use std::sync::Arc;

use super::commands::{apply_error, confirm, execute, open_aws_session, print_calls, print_plan};
use super::session::Session;
use super::{AppContext, Outcome, OutputMode, RunError};
use crate::adapters::{AwsClients, AwsCloud};
use crate::cli::RollbackArgs;
use crate::plan::{Plan, PlanOptions};
use crate::release::record::{Applied, CatchUp, Recorded};
use crate::release::rollback::{self, RollbackStep, beyond_aliases, choose_target, live_state};
use crate::release::{
    CurrentRelease, LiveState, Release, ReleaseError, S3ReleaseStore, config_differences,
    current_release, load_all, record,
};
use crate::spec::{ResourceId, ResourceKind};
use crate::state::lock::StackLock;

/// The release store of `session`'s stack: its log-archive bucket.
pub fn store_for(session: &Session, clients: &AwsClients) -> Result<S3ReleaseStore, RunError> {
    let bucket = ResourceId::new(ResourceKind::Bucket, crate::stack::storage::BUCKET);
    let spec = session.graph.get(&bucket).ok_or_else(|| {
        RunError::Usage(format!(
            "the stack has no `{bucket}`, where releases are kept; this is a txdeploy bug"
        ))
    })?;
    Ok(S3ReleaseStore::new(
        clients.s3.clone(),
        spec.physical_name.clone(),
        session.stack_name(),
    ))
}

fn release_error(error: ReleaseError) -> RunError {
    match error {
        ReleaseError::Cloud(error) => RunError::Cloud { error },
        other => RunError::Release(other.to_string()),
    }
}

/// After every succeeded `apply` (a no-op included): records the release, or the live
/// state an earlier failed record write left unrecorded (`record::record`), and says so in
/// one line. A failure here does not fail the apply (the stack is as the config says, exit
/// 0): it is a warning naming the cause and the fix, on stderr and, with `--json`, as a
/// `warning` event.
pub async fn record_after_apply(
    ctx: &AppContext,
    session: &Session,
    aws: &AwsCloud,
    plan: &Plan,
    applied: &Applied,
) {
    let json = ctx.output == OutputMode::Json;
    let warn = |message: String| {
        eprintln!("warning: {message}");
        if json {
            println!(
                "{}",
                serde_json::json!({"event": "warning", "message": message})
            );
        }
    };
    match record_release(session, aws, plan, applied).await {
        Ok(recorded) => match recorded.outcome {
            Recorded::UpToDate { .. } => {}
            Recorded::Split(_) => warn(recorded.message()),
            Recorded::Released(_) | Recorded::CaughtUp { .. } if json => println!(
                "{}",
                serde_json::json!({
                    "event": "release_recorded",
                    "number": recorded.outcome.written().map(|r| r.number),
                    "caught_up": matches!(recorded.outcome, Recorded::CaughtUp { .. }),
                    "location": recorded.location,
                    "message": recorded.message(),
                })
            ),
            Recorded::Released(_) | Recorded::CaughtUp { .. } => println!("{}", recorded.message()),
        },
        Err(error) => warn(not_recorded(&error)),
    }
}

/// The warning of a release that could not be recorded after a succeeded apply: the cause
/// as AWS gave it (without the generic next step of a failed command: the fix is below).
pub fn not_recorded(error: &RunError) -> String {
    let error = match error {
        RunError::Cloud { error } => error.to_string(),
        other => other.to_string(),
    };
    format!(
        "the apply succeeded but its release was not recorded: {error}; run `txdeploy apply` \
         again to record it (until then `txdeploy rollback` cannot return to this state)"
    )
}

/// What recording after an apply did, and where the record went.
#[derive(Clone, Debug)]
pub struct RecordReport {
    pub outcome: Recorded,
    /// `s3://bucket/key` of the record written, if one was.
    pub location: Option<String>,
}

impl RecordReport {
    /// The one line that tells the user (empty for an up-to-date record).
    pub fn message(&self) -> String {
        let at = self.location.as_deref().unwrap_or_default();
        match &self.outcome {
            Recorded::Released(release) => format!("release {} recorded: {at}", release.number),
            Recorded::CaughtUp {
                release,
                why: CatchUp::NoRecord,
            } => format!(
                "recorded release {}: the live functions and API had no release record (the \
                 last record write failed): {at}",
                release.number
            ),
            Recorded::CaughtUp {
                release,
                why: CatchUp::Differs { newest },
            } => format!(
                "recorded release {}: the live functions and API differed from release \
                 {newest}, the newest record (a record write failed, or they were moved \
                 outside txdeploy): {at}",
                release.number
            ),
            Recorded::UpToDate { .. } => String::new(),
            Recorded::Split(split) => format!(
                "no release recorded: alias `{function}:{alias}` sends {percent:.0}% of its \
                 traffic to version {version} besides version {primary} (a canary that did \
                 not finish), and a split alias is not a release; clear its routing (`aws \
                 lambda update-alias --function-name {function} --name {alias} \
                 --routing-config '{{\"AdditionalVersionWeights\":{{}}}}'`), then run \
                 `txdeploy apply` again to record it",
                function = split.function,
                alias = split.alias,
                percent = split.weight * 100.0,
                version = split.version,
                primary = split.primary,
            ),
        }
    }
}

/// The current release of `session`'s stack, for the TUI's launch screen; the error is the
/// message to show.
pub async fn current(
    session: &Session,
    clients: &AwsClients,
) -> Result<Option<CurrentRelease>, String> {
    let store = store_for(session, clients).map_err(|e| e.to_string())?;
    let live = live_state(session.cloud.as_ref(), &session.graph, &session.env)
        .await
        .map_err(|e| format!("{e}; next: {}", crate::report::next_step(&e)))?;
    current_release(&store, &live)
        .await
        .map_err(|e| e.to_string())
}

/// Records what a succeeded apply left (`apply`, a no-op included, and the TUI's apply):
/// a new release, the catch-up of an unrecorded live state, or nothing when the newest
/// record is up to date.
pub async fn record_release(
    session: &Session,
    aws: &AwsCloud,
    plan: &Plan,
    applied: &Applied,
) -> Result<RecordReport, RunError> {
    let store = store_for(session, aws.clients())?;
    let outcome = record::record(&store, aws, &session.config, &session.graph, plan, applied)
        .await
        .map_err(release_error)?;
    let location = outcome.written().map(|r| store.location(r.number));
    Ok(RecordReport { outcome, location })
}

/// One release as a line of `txdeploy releases --json`.
fn release_json(release: &Release, live: bool) -> serde_json::Value {
    serde_json::json!({
        "event": "release",
        "number": release.number,
        "created_at": release.created_at,
        "apply_id": release.apply_id,
        "versions": release
            .functions
            .iter()
            .map(|f| (f.name.clone(), serde_json::Value::from(f.alias_version.clone())))
            .collect::<serde_json::Map<_, _>>(),
        "rest_api_id": release.api.rest_api_id,
        "deployment_id": release.api.deployment_id,
        "bundle_sha256": release.bundle_sha256,
        "live": live,
    })
}

/// The bundle sha as humans compare it: the first 12 hex digits.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `txdeploy releases`.
pub async fn releases(ctx: &AppContext) -> Result<Outcome, RunError> {
    let (session, aws, counter) = open_aws_session(ctx).await?;
    let store = store_for(&session, aws.clients())?;
    let releases = load_all(&store).await.map_err(release_error)?;
    let live = live_state(aws.as_ref(), &session.graph, &session.env).await?;
    let live_number = live.live_release(&releases).map(|r| r.number);
    if ctx.output == OutputMode::Json {
        for release in &releases {
            println!(
                "{}",
                release_json(release, Some(release.number) == live_number)
            );
        }
        print_calls(ctx, &counter);
        return Ok(Outcome::Done);
    }
    if releases.is_empty() {
        println!(
            "no release of stack `{}` is recorded in s3://{}/{}: `txdeploy apply` records one \
             whenever it changes the functions or the API",
            session.stack_name(),
            store.bucket(),
            crate::release::key_prefix(&session.stack_name())
        );
    } else {
        let names: Vec<&str> = releases[0]
            .functions
            .iter()
            .map(|f| f.logical.as_str())
            .collect();
        println!(
            "{:>7}  {:<20}  {:<24}  {:<12}  {:<12}  live",
            "release", "created (UTC)", "versions", "deployment", "bundle"
        );
        for release in &releases {
            let versions: Vec<&str> = release
                .functions
                .iter()
                .map(|f| f.alias_version.as_str())
                .collect();
            println!(
                "{:>7}  {:<20}  {:<24}  {:<12}  {:<12}  {}",
                release.number,
                release.created_at,
                versions.join("/"),
                release.api.deployment_id,
                short(&release.bundle_sha256),
                if Some(release.number) == live_number {
                    "* live"
                } else {
                    ""
                }
            );
        }
        println!("versions are those of {}", names.join("/"));
        if live_number.is_none() {
            println!("live: {} (matches no recorded release)", describe(&live));
        }
    }
    print_calls(ctx, &counter);
    Ok(Outcome::Done)
}

fn describe(live: &LiveState) -> String {
    let aliases: Vec<String> = live
        .aliases
        .iter()
        .map(|(function, version)| format!("{function}:{version}"))
        .collect();
    format!(
        "{}; deployment {}",
        aliases.join(", "),
        live.deployment_id.as_deref().unwrap_or("none")
    )
}

fn print_step(output: OutputMode, step: &RollbackStep) {
    if output == OutputMode::Json {
        let mut doc = serde_json::to_value(step).unwrap_or_default();
        doc["event"] = "rollback_step".into();
        println!("{doc}");
    } else {
        let action = serde_json::to_value(&step.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("  {action:<17} {}  {}", step.target, step.detail);
    }
}

/// `txdeploy rollback [--to N] [--apply-config [--yes]]`.
pub async fn rollback(ctx: &AppContext, args: &RollbackArgs) -> Result<Outcome, RunError> {
    let state_root = ctx.global.state_dir.as_path();
    let stack = ctx.config.stack_name();
    // Two rollbacks (or a rollback and an apply) must not move the same aliases at once.
    let _lock = StackLock::acquire(state_root, &stack, "rollback")
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let (session, aws, counter) = open_aws_session(ctx).await?;
    let store = store_for(&session, aws.clients())?;
    let releases = load_all(&store).await.map_err(release_error)?;
    if releases.is_empty() {
        return Err(RunError::Release(format!(
            "no release of stack `{stack}` is recorded in s3://{}/{}, so there is nothing to \
             roll back to; `txdeploy apply` records one whenever it changes the functions or \
             the API",
            store.bucket(),
            crate::release::key_prefix(&stack)
        )));
    }
    let live = live_state(aws.as_ref(), &session.graph, &session.env).await?;
    let live_release = live.live_release(&releases);
    let target = choose_target(&releases, live_release, args.to).map_err(RunError::Release)?;
    let from = live_release.map_or_else(
        || "a state matching no release".to_owned(),
        |r| format!("release {}", r.number),
    );
    if live_release.is_some_and(|r| r.number == target.number) {
        match ctx.output {
            OutputMode::Json => println!(
                "{}",
                serde_json::json!({"event": "rollback_done", "to": target.number, "moved": 0})
            ),
            _ => println!(
                "release {} is already live; nothing to roll back.",
                target.number
            ),
        }
        config_followup(ctx, &aws, target, args).await?;
        print_calls(ctx, &counter);
        return Ok(Outcome::Done);
    }
    if ctx.output != OutputMode::Json {
        println!(
            "rolling back stack `{stack}` from {from} to release {} ({})",
            target.number, target.created_at
        );
    }
    let output = ctx.output;
    let before = counter.snapshot();
    let report = rollback::roll_back(
        aws.as_ref(),
        aws.as_ref(),
        &session.graph,
        &session.env,
        target,
        &mut |step| print_step(output, step),
    )
    .await
    .map_err(|e| RunError::Release(format!("rollback to release {} failed: {e}", target.number)))?;
    // The rollback's own calls, apart from the config plan that may follow.
    let calls = counter.snapshot().since(&before);
    match ctx.output {
        OutputMode::Json => println!(
            "{}",
            serde_json::json!({
                "event": "rollback_done",
                "to": target.number,
                "moved": report.moved(),
                "elapsed_ms": report.elapsed.as_millis(),
                "reads": calls.reads(),
                "mutations": calls.mutations(),
            })
        ),
        _ => {
            println!(
                "rolled back to release {} in {:.2} s ({} moved, verified by reading back; \
                 {} reads, {} mutations).",
                target.number,
                report.elapsed.as_secs_f64(),
                report.moved(),
                calls.reads(),
                calls.mutations()
            );
            println!(
                "note: the config file is unchanged; the next `txdeploy apply` deploys what it \
                 describes again."
            );
        }
    }
    config_followup(ctx, &aws, target, args).await?;
    print_calls(ctx, &counter);
    Ok(Outcome::Done)
}

/// The settings of `target`'s config snapshot that the alias moves did not restore: shown
/// as a plan, applied only with `--apply-config` (and a confirmation, or `--yes`).
async fn config_followup(
    ctx: &AppContext,
    aws: &Arc<AwsCloud>,
    target: &Release,
    args: &RollbackArgs,
) -> Result<(), RunError> {
    let mut snapshot = target.config().map_err(release_error)?;
    // Where and how txdeploy runs is this run's business, not the release's.
    snapshot.aws = ctx.config.aws.clone();
    snapshot.deploy = ctx.config.deploy.clone();
    let differences = config_differences(&ctx.config, &snapshot);
    let json = ctx.output == OutputMode::Json;
    if differences.is_empty() {
        if !json {
            println!(
                "config: release {} was applied with the current settings.",
                target.number
            );
        }
        return Ok(());
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "event": "config_differences",
                "release": target.number,
                "differences": differences.iter().map(|(k, now, then)| serde_json::json!({
                    "key": k, "current": now, "release": then,
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "config: release {} was applied with other settings:",
            target.number
        );
        for (key, now, then) in &differences {
            println!("  {key}: {now} now, {then} in release {}", target.number);
        }
    }
    let snapshot_session = Session::open(snapshot, aws.clone())
        .await
        .map_err(|e| RunError::Release(format!("the config of release {}: {e}", target.number)))?;
    let observed = snapshot_session.observe().await?;
    let plan = beyond_aliases(snapshot_session.plan(&observed, PlanOptions::apply()).await);
    if !plan.has_changes() {
        if !json {
            println!(
                "config: those settings live in the published versions the aliases now point \
                 at; nothing else to change."
            );
        }
        return Ok(());
    }
    if !json {
        println!(
            "config: what the alias moves cannot undo, planned from release {}'s snapshot:",
            target.number
        );
    }
    print_plan(ctx, &plan);
    if !args.apply_config {
        if !json {
            println!(
                "not applied; to apply it: `txdeploy rollback --to {} --apply-config --yes`",
                target.number
            );
        }
        return Ok(());
    }
    if !plan.refusals.is_empty() {
        return Err(RunError::Usage(format!(
            "the config of release {} cannot be applied: {}",
            target.number,
            plan.refusals.join("; ")
        )));
    }
    if ctx.output.is_interactive() && !args.yes && !confirm("apply")? {
        println!("config not applied.");
        return Ok(());
    }
    let state_root = ctx.global.state_dir.as_path();
    let report = execute(ctx, &snapshot_session, &plan, state_root).await?;
    if let Some(error) = apply_error("rollback --apply-config", &plan.stack, &report, state_root) {
        return Err(error);
    }
    if !json {
        println!(
            "config of release {} applied; the config file still describes the newer \
             settings, so the next `txdeploy apply` deploys them again.",
            target.number
        );
    }
    Ok(())
}
