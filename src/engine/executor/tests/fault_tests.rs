//! Fault scenarios against the fake cloud: throttling storms, eventual consistency, a
//! fatal failure, crashes mid-apply, Ctrl-C, and two applies at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::fake_cloud::Clear;
use crate::state::journal::{apply_outcome, new_apply_id, read_entries, unfinished_steps};
use crate::state::{FileJournal, LockError, StackLock};

#[tokio::test(start_paused = true)]
async fn a_throttling_storm_converges_and_the_rerun_plan_is_all_noop() {
    fastrand::seed(2026);
    let graph = stack_graph();
    // 20 % of all calls throttled, 3 % failing with a 500 (half of those after the change).
    let faults = FaultPlan::seeded(2026)
        .throttle("*", 0.2)
        .transient("*", 0.03);
    let cloud = Arc::new(FakeCloud::with(LatencyModel::aws_like(), faults));
    let plan = plan_for(cloud.as_ref(), &graph).await;
    let applied = apply(cloud.clone(), &graph, &plan).await;
    assert_eq!(
        applied.report.outcome,
        ApplyOutcome::Succeeded,
        "{:?}",
        applied.report.first_error
    );
    let retries = applied.retries();
    assert!(retries.len() >= 3, "the storm caused retries: {retries:?}");
    assert!(
        retries
            .iter()
            .any(|(_, class)| *class == ErrorClass::Throttled)
    );
    assert_one_key_per_logical_id(&cloud, &graph);

    cloud.set_faults(FaultPlan::default());
    assert_converged(cloud.as_ref(), &graph).await;
    cloud.reset_counters();
    let plan = plan_for(cloud.as_ref(), &graph).await;
    apply(cloud.clone(), &graph, &plan).await;
    assert_eq!(cloud.mutating_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn eventual_consistency_is_retried_until_it_clears() {
    let graph = stack_graph();
    let analytics = rid(ResourceKind::Queue, "analytics");
    // Longer than the ordinary 180 s retry deadline: eventual consistency has its own.
    let faults = FaultPlan::seeded(1)
        .eventually_consistent(analytics.clone(), Clear::After(Duration::from_secs(200)));
    let cloud = Arc::new(FakeCloud::with(LatencyModel::aws_like(), faults));
    let plan = plan_for(cloud.as_ref(), &graph).await;
    let started = Instant::now();
    let applied = apply(cloud.clone(), &graph, &plan).await;
    assert_eq!(
        applied.report.outcome,
        ApplyOutcome::Succeeded,
        "{:?}",
        applied.report.first_error
    );
    let retries = applied.retries();
    assert!(retries.len() >= 3, "{retries:?}");
    assert!(
        retries
            .iter()
            .all(|r| *r == (analytics.clone(), ErrorClass::EventuallyConsistent))
    );
    assert!(started.elapsed() >= Duration::from_secs(200));
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "{:?}",
        started.elapsed()
    );
    assert_converged(cloud.as_ref(), &graph).await;
}

#[tokio::test(start_paused = true)]
async fn eventual_consistency_past_its_deadline_fails_with_a_clear_error() {
    let graph = stack_graph();
    let dlq = rid(ResourceKind::Queue, "analytics-dlq");
    let faults = FaultPlan::seeded(1)
        .eventually_consistent(dlq.clone(), Clear::After(Duration::from_secs(600)));
    let cloud = Arc::new(FakeCloud::with(LatencyModel::aws_like(), faults));
    let plan = plan_for(cloud.as_ref(), &graph).await;
    let options = ExecOptions {
        retry: RetryPolicy {
            eventual_consistency_deadline: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        ..ExecOptions::default()
    };
    let started = Instant::now();
    let applied = apply_with(
        cloud.clone(),
        &graph,
        &plan,
        options,
        CancellationToken::new(),
    )
    .await;
    let report = &applied.report;
    assert_eq!(report.outcome, ApplyOutcome::Failed);
    let (failed, error) = report.first_error.clone().unwrap();
    assert_eq!(failed, dlq);
    assert_eq!(error.class, ErrorClass::EventuallyConsistent);
    let message = error.to_string();
    assert!(
        message.contains("not authorized to perform kms:GenerateDataKey"),
        "{message}"
    );
    assert!(
        message.contains("past the eventual-consistency deadline of 60 s"),
        "{message}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(62),
        "{elapsed:?}"
    );
    assert_eq!(report.failed, vec![dlq.clone()]);
    assert_eq!(
        applied.skip_reason(&rid(ResourceKind::Queue, "analytics")),
        Some(SkipReason::DependencyFailed { dependency: dlq })
    );
    assert_eq!(
        report.succeeded.len(),
        14,
        "everything independent finished long before"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_blocks_its_dependents_while_in_flight_nodes_complete() {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let bad = rid(ResourceKind::Queue, "bad");
    let slow = rid(ResourceKind::Bucket, "slow");
    let after_slow = rid(ResourceKind::Queue, "after-slow");
    let after_bad = rid(ResourceKind::Topic, "after-bad");
    // k0 (460 ms), then `bad` (fails at 560 ms) and `slow` (2100 ms) start together.
    let graph = graph_of(vec![
        key("k0", &[]),
        queue("bad", &k0, &[]),
        bucket("slow", &k0, &[]),
        queue("after-slow", &k0, &[&slow]),
        topic("after-bad", &k0, &[&bad]),
    ]);
    let faults = FaultPlan::seeded(1).fail(bad.clone(), "sqs:CreateQueue");
    let cloud = Arc::new(FakeCloud::with(LatencyModel::aws_like(), faults));
    let plan = plan_for(cloud.as_ref(), &graph).await;
    let applied = apply(cloud.clone(), &graph, &plan).await;
    let report = &applied.report;
    assert_eq!(report.outcome, ApplyOutcome::Failed);
    let (id, error) = report.first_error.clone().unwrap();
    assert_eq!(id, bad);
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(applied.retries().is_empty(), "fatal errors are not retried");
    assert_eq!(report.failed, vec![bad.clone()]);

    // The failed node blocks its dependent...
    assert_eq!(
        applied.skip_reason(&after_bad),
        Some(SkipReason::DependencyFailed {
            dependency: bad.clone()
        })
    );
    // ...the independent node in flight when it failed completes...
    let failed_at =
        applied.position(|e| matches!(e, ExecEvent::NodeFailed { id, .. } if *id == bad));
    assert!(applied.started(&slow) < failed_at && failed_at < applied.succeeded(&slow));
    assert!(report.succeeded.contains(&slow) && report.succeeded.contains(&k0));
    // ...and nothing new starts after the failure.
    assert_eq!(applied.skip_reason(&after_slow), Some(SkipReason::Stopped));
    assert!(
        !cloud
            .snapshot()
            .iter()
            .any(|r| r.id == after_slow || r.id == after_bad)
    );
}

/// How many changes a full apply of the stack makes (see the fake cloud's own test).
const STACK_MUTATIONS: u64 = 26;

/// One crash scenario: apply until the fake cloud "kills" the process after a seeded
/// number of changes, then observe, plan and apply again, and check convergence. Returns
/// the calls made, to compare runs.
async fn crash_then_recover(
    seed: u64,
    graph: &CheckedGraph,
    dir: &Path,
) -> (u64, BTreeMap<&'static str, u64>) {
    // Jitter comes from fastrand's thread-local generator, and a current-thread test
    // runtime runs every step on this thread: seeding it makes the whole run reproducible.
    fastrand::seed(seed);
    let faults = FaultPlan::seeded(seed)
        .throttle("*", 0.1)
        .transient("*", 0.03);
    let cloud = Arc::new(FakeCloud::with(LatencyModel::aws_like(), faults));
    let crash_after = 1 + fastrand::Rng::with_seed(seed).u64(..STACK_MUTATIONS - 1);
    cloud.crash_after(crash_after);

    let plan = plan_for(cloud.as_ref(), graph).await;
    let journal = Arc::new(FileJournal::create(dir, STACK, &new_apply_id()).unwrap());
    let executor = Executor::new(
        cloud.clone(),
        journal.clone(),
        EventSink::discard(),
        ExecOptions::default(),
        CancellationToken::new(),
    );
    tokio::select! {
        report = executor.run(&plan, graph) => {
            panic!("seed {seed}: finished ({:?}) before the crash after {crash_after} changes", report.outcome)
        }
        () = cloud.crashed() => {}
    }
    // The process is gone: its future (and every step task) is dropped mid-call.
    drop(executor);
    let entries = read_entries(journal.path()).unwrap();
    assert_eq!(
        apply_outcome(&entries),
        None,
        "seed {seed}: a crashed apply has no end"
    );
    assert!(
        !unfinished_steps(&entries).is_empty(),
        "seed {seed}: the crash hit a step"
    );

    cloud.recover();
    let plan = plan_for(cloud.as_ref(), graph).await;
    let rerun = apply(cloud.clone(), graph, &plan).await;
    assert_eq!(
        rerun.report.outcome,
        ApplyOutcome::Succeeded,
        "seed {seed}, crash after {crash_after}: {:?}",
        rerun.report.first_error
    );
    let calls = cloud.calls();
    cloud.set_faults(FaultPlan::default());
    assert_converged(cloud.as_ref(), graph).await;
    assert_one_key_per_logical_id(&cloud, graph);
    let observed = observe_all(cloud.as_ref(), graph, &env(), STACK, 8)
        .await
        .unwrap();
    assert!(
        observed.orphans.is_empty(),
        "seed {seed}: orphans {:?}",
        observed.orphans
    );
    assert_eq!(
        cloud.snapshot().len(),
        graph.len(),
        "seed {seed}: {:#?}",
        cloud.snapshot()
    );
    (crash_after, calls)
}

#[tokio::test(start_paused = true)]
async fn a_crash_mid_apply_then_a_rerun_converges_without_duplicates_or_orphans() {
    let graph = stack_graph();
    let dir = tempfile::tempdir().unwrap();
    let mut crash_points = std::collections::BTreeSet::new();
    for seed in 0..50u64 {
        let (crash_after, _) = crash_then_recover(seed, &graph, dir.path()).await;
        crash_points.insert(crash_after);
    }
    assert!(
        crash_points.len() >= 15,
        "the seeds crash at many points: {crash_points:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fault_scenario_replays_identically_from_its_seed() {
    let graph = stack_graph();
    let dir = tempfile::tempdir().unwrap();
    let first = crash_then_recover(7, &graph, dir.path()).await;
    let second = crash_then_recover(7, &graph, dir.path()).await;
    assert_eq!(first, second);
    assert!(
        first.1.get("kms:CreateKey").is_some_and(|n| *n >= 4),
        "{:?}",
        first.1
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_scheduling_and_leaves_a_consistent_journal() {
    let graph = stack_graph();
    let dlq = rid(ResourceKind::Queue, "analytics-dlq");
    let bucket = rid(ResourceKind::Bucket, "logs");
    // The DLQ keeps retrying (a backoff sleep is in progress at Ctrl-C); the bucket's seven
    // calls run from 460 ms to 2560 ms, so it is in flight at Ctrl-C (1 s).
    let faults = FaultPlan::seeded(1)
        .eventually_consistent(dlq.clone(), Clear::After(Duration::from_secs(120)));
    let cloud = Arc::new(FakeCloud::with(LatencyModel::aws_like(), faults));
    let plan = plan_for(cloud.as_ref(), &graph).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(FileJournal::create(dir.path(), STACK, &new_apply_id()).unwrap());
    let (events, mut rx) = EventSink::channel();
    let cancel = CancellationToken::new();
    let executor = Executor::new(
        cloud.clone(),
        journal.clone(),
        events,
        ExecOptions::default(),
        cancel.clone(),
    );
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cancel.cancel();
        })
    };
    let started = Instant::now();
    let report = executor.run(&plan, &graph).await;
    ctrl_c.await.unwrap();
    let applied = Applied {
        report,
        events: drain(&mut rx),
        journal: read_entries(journal.path()).unwrap(),
    };

    assert_eq!(applied.report.outcome, ApplyOutcome::Interrupted);
    assert!(
        applied.report.succeeded.contains(&bucket),
        "the running step was not cut short"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(2560),
        "the apply waited for it"
    );
    assert_eq!(
        applied.report.failed,
        vec![dlq.clone()],
        "the retry wait ended at Ctrl-C"
    );
    let (_, error) = applied.report.first_error.clone().unwrap();
    assert!(
        error
            .message
            .contains("not retried because the apply is stopping"),
        "{error}"
    );
    let analytics = rid(ResourceKind::Queue, "analytics");
    assert!(applied.report.skipped.contains(&analytics));
    assert!(
        !applied
            .events
            .iter()
            .any(|e| matches!(e, ExecEvent::NodeStarted { id, .. } if *id == analytics))
    );

    // The journal parses, records the interruption, and closes every step it opened.
    assert_eq!(
        apply_outcome(&applied.journal),
        Some(ApplyOutcome::Interrupted)
    );
    assert!(
        unfinished_steps(&applied.journal).is_empty(),
        "{:#?}",
        applied.journal
    );
    let started_steps = applied
        .journal
        .iter()
        .filter(|e| matches!(e, JournalEntry::StepStarted { .. }))
        .count();
    assert_eq!(
        started_steps,
        applied.report.succeeded.len() + applied.report.failed.len()
    );

    // The next apply picks up from what exists.
    cloud.set_faults(FaultPlan::default());
    let plan = plan_for(cloud.as_ref(), &graph).await;
    assert_eq!(
        apply(cloud.clone(), &graph, &plan).await.report.outcome,
        ApplyOutcome::Succeeded
    );
    assert_converged(cloud.as_ref(), &graph).await;
}

#[tokio::test(start_paused = true)]
async fn a_second_apply_is_refused_by_the_lock_while_the_first_runs() {
    let graph = stack_graph();
    let dir = tempfile::tempdir().unwrap();
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    let plan = plan_for(cloud.as_ref(), &graph).await;

    let locked_apply = |command: &'static str| {
        let cloud = cloud.clone();
        let (graph, plan, root) = (&graph, &plan, dir.path());
        async move {
            let _lock = StackLock::acquire(root, STACK, command)?;
            let applied = apply(cloud, graph, plan).await;
            Ok::<_, LockError>(applied.report.outcome)
        }
    };
    let (first, second) = tokio::join!(locked_apply("apply"), async {
        // Start a moment later, while the first apply runs.
        tokio::time::sleep(Duration::from_millis(100)).await;
        locked_apply("apply").await
    });
    assert_eq!(first.unwrap(), ApplyOutcome::Succeeded);
    let err = second.unwrap_err();
    assert!(
        matches!(&err, LockError::Held { holder } if holder.pid == std::process::id()),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("wait for that command to finish"),
        "{err}"
    );
    assert_eq!(
        cloud.snapshot().len(),
        graph.len(),
        "only the first apply ran"
    );
    // Once the first is done, the lock is free again.
    assert!(StackLock::acquire(dir.path(), STACK, "apply").is_ok());
}
