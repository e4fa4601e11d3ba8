//! The automatic undo of a failed apply against the fake cloud: a failure injected at
//! every step of a realistic apply leaves the stack exactly as before; data created by the
//! failed apply is kept and reported; an undo that itself fails ends with the exact
//! leftovers (exit 3) and `txdeploy apply` converges forward from there; `OnFailure::Stop`
//! keeps the partial state.

use std::path::Path;

use super::*;
use crate::app::commands::apply_error;
use crate::app::exit_code;
use crate::config::OnFailure;
use crate::engine::{UndoOutcome, UndoReport};
use crate::fake_cloud::ANY_OPERATION;

/// The stack as deployed before the apply under test: older settings (key rotation, queue
/// timeouts and retention, bucket lifecycle) and no aliases or topics yet.
fn deployed_graph() -> CheckedGraph {
    let mut config = Config::defaults().unwrap();
    config.kms.rotation_period_days = 180;
    config.queues.visibility_timeout_seconds = 200;
    config.queues.message_retention_seconds = 400_000;
    config.queues.max_receive_count = 5;
    config.logs.glacier_after_days = 10;
    let mut graph = crate::stack::foundation(&config, &env());
    graph.retain(|s| !matches!(s.kind(), ResourceKind::KmsAlias | ResourceKind::Topic));
    graph.check().unwrap()
}

/// The resources of the fake account, as the comparison sees them: every id, physical id,
/// output and field.
fn state(cloud: &FakeCloud) -> Vec<FakeResource> {
    let mut resources = cloud.snapshot();
    resources.sort_by(|a, b| (&a.id, &a.physical_id).cmp(&(&b.id, &b.physical_id)));
    resources
}

async fn apply_on_failure(
    cloud: Arc<FakeCloud>,
    graph: &CheckedGraph,
    on_failure: OnFailure,
) -> Applied {
    let plan = plan_for(cloud.as_ref(), graph).await;
    let options = ExecOptions {
        on_failure,
        ..ExecOptions::default()
    };
    apply_with(cloud, graph, &plan, options, CancellationToken::new()).await
}

fn undo_of(applied: &Applied) -> &UndoReport {
    applied
        .report
        .undo
        .as_ref()
        .expect("the failed apply was undone")
}

/// The journal ends with the undo, in order, then `ApplyFinished`.
fn assert_undo_journaled(applied: &Applied, outcome: UndoOutcome) {
    let labels: Vec<&str> = applied
        .journal
        .iter()
        .map(|e| match e {
            JournalEntry::UndoStarted { .. } => "undo_started",
            JournalEntry::UndoFinished { .. } => "undo_finished",
            JournalEntry::ApplyFinished { .. } => "apply_finished",
            _ => "",
        })
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(labels, ["undo_started", "undo_finished", "apply_finished"]);
    assert_eq!(
        crate::state::journal::undo_outcome(&applied.journal),
        Some(outcome)
    );
    // Every undo step that started has its result, like apply steps.
    let started = applied
        .journal
        .iter()
        .filter(|e| matches!(e, JournalEntry::UndoStepStarted { .. }))
        .count();
    let ended = applied
        .journal
        .iter()
        .filter(|e| {
            matches!(
                e,
                JournalEntry::UndoStepSucceeded { .. } | JournalEntry::UndoStepFailed { .. }
            )
        })
        .count();
    assert_eq!(started, ended);
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_every_step_is_undone_to_exactly_the_state_before() {
    let before_graph = deployed_graph();
    let graph = stack_graph();
    // The plan under test, to learn which nodes it changes.
    let probe = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    let deployed = apply_on_failure(probe.clone(), &before_graph, OnFailure::Rollback).await;
    assert_eq!(deployed.report.outcome, ApplyOutcome::Succeeded);
    let plan = plan_for(probe.as_ref(), &graph).await;
    let summary = plan.summary();
    assert!(
        summary["create"] >= 5 && summary["update"] >= 5,
        "a realistic apply creates and updates: {summary:?}"
    );
    let changed: Vec<ResourceId> = plan
        .changes
        .iter()
        .filter(|c| c.action.mutates())
        .map(|c| c.id.clone())
        .collect();

    for failing in &changed {
        let cloud = Arc::new(FakeCloud::with(
            LatencyModel::aws_like(),
            FaultPlan::seeded(7),
        ));
        let deployed = apply_on_failure(cloud.clone(), &before_graph, OnFailure::Rollback).await;
        assert_eq!(deployed.report.outcome, ApplyOutcome::Succeeded);
        let before = state(&cloud);
        cloud.set_faults(FaultPlan::seeded(7).fail(failing.clone(), ANY_OPERATION));

        let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
        let report = &applied.report;
        assert_eq!(report.outcome, ApplyOutcome::Failed, "{failing}");
        assert_eq!(report.first_error.as_ref().unwrap().0, *failing);
        let undo = undo_of(&applied);
        assert_eq!(
            undo.outcome,
            UndoOutcome::RolledBack,
            "{failing}: {:?}",
            undo.first_error
        );
        assert!(
            undo.left.is_empty() && undo.kept.is_empty(),
            "{failing}: {undo:?}"
        );
        assert_eq!(state(&cloud), before, "undo after `{failing}` failed");
        assert_eq!(
            report.outputs, deployed.report.outputs,
            "the reported outputs are the ones from before the apply"
        );
        assert_undo_journaled(&applied, UndoOutcome::RolledBack);
        // Every step that ran was undone: created ones deleted, updated ones restored.
        for id in &report.succeeded {
            let action = plan.get(id).unwrap().action.label();
            let result = applied.events.iter().find_map(|e| match e {
                ExecEvent::UndoStepSucceeded { id: i, result, .. } if i == id => Some(*result),
                _ => None,
            });
            let want = if action == "create" {
                "deleted"
            } else {
                "restored"
            };
            assert_eq!(result, Some(want), "{id} ({action}) after `{failing}`");
        }
        assert!(matches!(
            applied.events.last(),
            Some(ExecEvent::ApplyFinished {
                outcome: ApplyOutcome::Failed,
                ..
            })
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn the_undo_deletes_dependents_before_what_they_depend_on() {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let t = rid(ResourceKind::Topic, "t");
    let u = rid(ResourceKind::Topic, "u");
    let bad = rid(ResourceKind::Topic, "bad");
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    apply_on_failure(
        cloud.clone(),
        &graph_of(vec![key("k0", &[])]),
        OnFailure::Stop,
    )
    .await;
    let before = state(&cloud);
    let graph = graph_of(vec![
        key("k0", &[]),
        topic("t", &k0, &[]),
        topic("u", &k0, &[&t]),
        topic("bad", &k0, &[&u]),
    ]);
    cloud.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    assert_eq!(undo_of(&applied).outcome, UndoOutcome::RolledBack);
    let finished = |id: &ResourceId| {
        applied.position(|e| matches!(e, ExecEvent::UndoStepSucceeded { id: i, .. } if i == id))
    };
    let started = |id: &ResourceId| {
        applied.position(|e| matches!(e, ExecEvent::UndoStepStarted { id: i, .. } if i == id))
    };
    assert!(finished(&bad) < started(&u), "bad before u");
    assert!(finished(&u) < started(&t), "u before t");
    assert_eq!(state(&cloud), before);
}

#[tokio::test(start_paused = true)]
async fn data_created_by_the_failed_apply_is_kept_and_reported() {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let q = rid(ResourceKind::Queue, "q");
    let t = rid(ResourceKind::Topic, "t");
    let bad = rid(ResourceKind::Topic, "bad");
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    apply_on_failure(
        cloud.clone(),
        &graph_of(vec![key("k0", &[])]),
        OnFailure::Stop,
    )
    .await;
    let before = state(&cloud);
    let graph = graph_of(vec![
        key("k0", &[]),
        queue("q", &k0, &[]),
        topic("t", &k0, &[&q]),
        topic("bad", &k0, &[&t]),
    ]);
    cloud.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    let undo = undo_of(&applied);
    assert_eq!(undo.outcome, UndoOutcome::RolledBack);
    assert_eq!(undo.kept.len(), 1);
    assert_eq!(undo.kept[0].id, q);
    assert!(undo.kept[0].reason.contains("holds data"), "{undo:?}");
    assert!(undo.undone.contains(&t) && !undo.undone.contains(&q));
    // Exactly one difference from before: the kept queue.
    let after = state(&cloud);
    let without_queue: Vec<FakeResource> = after.iter().filter(|r| r.id != q).cloned().collect();
    assert_eq!(without_queue, before);
    assert!(after.iter().any(|r| r.id == q));
    assert!(applied.report.outputs.contains_key(&q) && !applied.report.outputs.contains_key(&t));

    // The user is told: exit 1, the queue named as kept.
    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, dir.path()).unwrap();
    assert_eq!(error.exit_code(), exit_code::FAILED);
    let message = error.to_string();
    assert!(
        message.contains("the apply was rolled back: 2 resource(s) put back"),
        "{message}"
    );
    assert!(
        message.contains("kept `queue/q`: created by the failed apply and holds data"),
        "{message}"
    );
}

/// A stack where `t` is created, then `bad` (which waits for `t`) fails; `t` cannot be
/// deleted.
fn undo_failure_setup() -> (Arc<FakeCloud>, CheckedGraph) {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let t = rid(ResourceKind::Topic, "t");
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    let graph = graph_of(vec![
        key("k0", &[]),
        topic("t", &k0, &[]),
        topic("bad", &k0, &[&t]),
    ]);
    (cloud, graph)
}

async fn deploy_key(cloud: &Arc<FakeCloud>) -> Vec<FakeResource> {
    apply_on_failure(
        cloud.clone(),
        &graph_of(vec![key("k0", &[])]),
        OnFailure::Stop,
    )
    .await;
    state(cloud)
}

#[tokio::test(start_paused = true)]
async fn an_undo_that_fails_lists_exactly_what_is_left_and_apply_converges_forward() {
    let t = rid(ResourceKind::Topic, "t");
    let bad = rid(ResourceKind::Topic, "bad");
    let (cloud, graph) = undo_failure_setup();
    let before = deploy_key(&cloud).await;
    cloud.set_faults(
        FaultPlan::default()
            .fail(bad.clone(), ANY_OPERATION)
            .fail(t.clone(), "sns:DeleteTopic"),
    );
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    let undo = undo_of(&applied);
    assert_eq!(undo.outcome, UndoOutcome::Failed);
    assert_eq!(undo.first_error.as_ref().unwrap().0, Some(t.clone()));
    assert_eq!(undo.undone, vec![bad.clone()], "`bad` had nothing to undo");
    assert_eq!(undo.left.len(), 1, "{undo:?}");
    assert_eq!(undo.left[0].id, t);
    assert!(
        undo.left[0]
            .state
            .starts_with("created by the failed apply; may still exist"),
        "{:?}",
        undo.left[0]
    );
    assert!(
        state(&cloud).iter().any(|r| r.id == t),
        "the topic is still there"
    );
    assert_undo_journaled(&applied, UndoOutcome::Failed);

    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, dir.path()).unwrap();
    assert_eq!(error.exit_code(), exit_code::NEEDS_HUMAN);
    let message = error.to_string();
    for needle in [
        "rollback failed, the stack needs a human: `topic/bad`: ",
        "then the undo failed: `topic/t`: ",
        "1 resource(s) are still as the failed apply left them:",
        "left `topic/t`: created by the failed apply; may still exist (not deleted): the undo failed",
        "run `txdeploy apply` to converge forward",
    ] {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }

    // The command the message gives really continues: once the cause is gone, apply
    // converges forward from what exists.
    cloud.set_faults(FaultPlan::default());
    let rerun = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    assert_eq!(rerun.report.outcome, ApplyOutcome::Succeeded);
    assert!(rerun.report.undo.is_none());
    assert_converged(cloud.as_ref(), &graph).await;
    assert_eq!(state(&cloud).len(), before.len() + 2);
}

#[tokio::test(start_paused = true)]
async fn on_failure_stop_keeps_the_partial_state_and_a_resumable_journal() {
    let t = rid(ResourceKind::Topic, "t");
    let bad = rid(ResourceKind::Topic, "bad");
    let (cloud, graph) = undo_failure_setup();
    deploy_key(&cloud).await;
    cloud.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Stop).await;
    assert_eq!(applied.report.outcome, ApplyOutcome::Failed);
    assert!(applied.report.undo.is_none());
    assert!(
        state(&cloud).iter().any(|r| r.id == t),
        "the partial state stays"
    );
    assert!(
        applied.journal.iter().all(|e| !matches!(
            e,
            JournalEntry::UndoStarted { .. } | JournalEntry::UndoStepStarted { .. }
        )),
        "nothing was undone"
    );
    assert!(
        applied
            .events
            .iter()
            .all(|e| !matches!(e, ExecEvent::UndoStarted { .. }))
    );
    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, Path::new(dir.path())).unwrap();
    assert_eq!(error.exit_code(), exit_code::FAILED);
    assert!(error.to_string().contains("nothing was undone"), "{error}");

    cloud.set_faults(FaultPlan::default());
    let rerun = apply_on_failure(cloud.clone(), &graph, OnFailure::Stop).await;
    assert_eq!(rerun.report.outcome, ApplyOutcome::Succeeded);
    assert_eq!(
        rerun.report.succeeded,
        vec![bad],
        "the rerun continues from what exists"
    );
}
