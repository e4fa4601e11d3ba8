//! Tests of the fake cloud itself: the engine's fault tests are only as good as its fidelity.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::Config;
use crate::plan::{Action, ObservedState, PlanOptions, plan};
use crate::spec::CheckedGraph;
use serde_json::json;

fn graph() -> CheckedGraph {
    crate::stack::foundation(&Config::defaults().unwrap(), &fake_environment())
        .check()
        .unwrap()
}

fn id(kind: ResourceKind, logical: &str) -> ResourceId {
    ResourceId::new(kind, logical)
}

/// Creates every spec in dependency order directly through the `Cloud` trait.
async fn create_all(cloud: &FakeCloud, graph: &CheckedGraph) -> BTreeMap<ResourceId, Outputs> {
    let mut outputs = BTreeMap::new();
    for spec in graph.in_order() {
        let ctx = StepContext::quiet(fake_environment(), outputs.clone());
        let out = cloud.create(spec, &ctx).await.unwrap();
        outputs.insert(spec.id.clone(), out);
    }
    outputs
}

async fn observe(cloud: &FakeCloud, graph: &CheckedGraph) -> ObservedState {
    let mut observed = ObservedState::default();
    for spec in graph.in_order() {
        if let Some(o) = cloud.observe(spec, &fake_environment()).await.unwrap() {
            observed.resources.insert(spec.id.clone(), o);
        }
    }
    observed
}

#[tokio::test]
async fn what_is_created_is_observed_with_the_spec_fields_so_a_replan_is_all_noop() {
    let cloud = FakeCloud::new();
    let graph = graph();
    let outputs = create_all(&cloud, &graph).await;
    let observed = observe(&cloud, &graph).await;
    assert_eq!(observed.resources.len(), graph.len());
    let plan = plan(
        "tx-dev",
        &fake_environment(),
        &graph,
        &observed,
        PlanOptions::apply(),
    );
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.id.to_string(), c.diffs.clone()))
        .collect();
    assert!(changes.is_empty(), "{changes:#?}");

    let key = &outputs[&id(ResourceKind::KmsKey, "s3")];
    let alias = cloud
        .snapshot()
        .into_iter()
        .find(|r| r.id == id(ResourceKind::KmsAlias, "s3"))
        .unwrap();
    assert_eq!(
        alias.fields[field::TARGET_KEY_ID],
        Json::String(key[&OutputKey::Id].clone())
    );
    let queue = &outputs[&id(ResourceKind::Queue, "analytics")];
    assert_eq!(
        queue[&OutputKey::Url],
        "https://sqs.us-east-1.amazonaws.com/123456789012/tx-dev-analytics"
    );
    // 4 keys x (CreateKey + EnableKeyRotation), 4 aliases, a bucket in 7 calls, 5 queues,
    // 2 topics (no e-mail subscription by default).
    assert_eq!(cloud.mutations(), 8 + 4 + 7 + 5 + 2);
}

#[tokio::test]
async fn keys_are_found_by_tag_and_a_blind_second_create_duplicates_them() {
    let cloud = FakeCloud::new();
    let graph = graph();
    let spec = graph.get(&id(ResourceKind::KmsKey, "sqs")).unwrap();
    let ctx = StepContext::quiet(fake_environment(), BTreeMap::new());
    let first = cloud.create(spec, &ctx).await.unwrap();
    let second = cloud.create(spec, &ctx).await.unwrap();
    assert_ne!(
        first[&OutputKey::Id],
        second[&OutputKey::Id],
        "AWS makes a new key every time"
    );
    assert!(
        !first[&OutputKey::Id].contains("sqs"),
        "key ids reveal nothing about the spec"
    );
    let found = cloud
        .observe(spec, &fake_environment())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.outputs, first,
        "observe returns the oldest key with the tag"
    );
    let keys = cloud
        .snapshot()
        .iter()
        .filter(|r| r.id.kind() == ResourceKind::KmsKey)
        .count();
    assert_eq!(keys, 2);

    // Names are unique: a second bucket with the same name is refused.
    let key_out = BTreeMap::from([(id(ResourceKind::KmsKey, "s3"), first.clone())]);
    let ctx = StepContext::quiet(fake_environment(), key_out);
    let bucket = graph.get(&id(ResourceKind::Bucket, "logs")).unwrap();
    cloud.create(bucket, &ctx).await.unwrap();
    let err = cloud.create(bucket, &ctx).await.unwrap_err();
    assert_eq!(err.class, crate::cloud::ErrorClass::Fatal, "{err}");
}

#[tokio::test]
async fn discover_finds_tagged_objects_and_aliases_of_the_stack_only() {
    let cloud = FakeCloud::new();
    let graph = graph();
    create_all(&cloud, &graph).await;
    let mut found: Vec<_> = cloud
        .discover("tx-dev", &fake_environment())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    found.sort();
    let mut all: Vec<_> = graph.in_order().map(|s| s.id.clone()).collect();
    all.sort();
    assert_eq!(found, all);
    assert!(
        cloud
            .discover("tx-prod", &fake_environment())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn updates_change_only_the_named_fields_with_one_call_per_operation() {
    let cloud = FakeCloud::new();
    let graph = graph();
    let outputs = create_all(&cloud, &graph).await;
    let spec = graph.get(&id(ResourceKind::Queue, "analytics")).unwrap();
    let mut current = cloud
        .observe(spec, &fake_environment())
        .await
        .unwrap()
        .unwrap();
    current
        .fields
        .insert(field::VISIBILITY_TIMEOUT.into(), Json::from(1));
    cloud
        .lock()
        .find_physical(ResourceKind::Queue, &current.physical_id)
        .unwrap()
        .fields = current.fields.clone();
    cloud.reset_counters();
    let ctx = StepContext::quiet(fake_environment(), outputs);
    let changed = [
        field::VISIBILITY_TIMEOUT.to_owned(),
        field::MESSAGE_RETENTION.to_owned(),
    ];
    cloud.update(spec, &current, &changed, &ctx).await.unwrap();
    assert_eq!(
        cloud.calls(),
        BTreeMap::from([("sqs:SetQueueAttributes", 1)])
    );
    let after = cloud
        .observe(spec, &fake_environment())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.fields[field::VISIBILITY_TIMEOUT], Json::from(180));

    let err = cloud
        .update(spec, &after, &["nonsense".to_owned()], &ctx)
        .await
        .unwrap_err();
    assert!(err.message.contains("`nonsense`"), "{err}");
}

#[tokio::test]
async fn scripted_faults_fail_the_calls_they_name() {
    let graph = graph();
    let key = graph.get(&id(ResourceKind::KmsKey, "logs")).unwrap();
    let ctx = StepContext::quiet(fake_environment(), BTreeMap::new());

    let throttled = FakeCloud::with(
        LatencyModel::instant(),
        FaultPlan::seeded(1).throttle("*", 1.0),
    );
    let err = throttled.create(key, &ctx).await.unwrap_err();
    assert_eq!(err.class, crate::cloud::ErrorClass::Throttled);
    assert!(
        throttled.snapshot().is_empty(),
        "a throttled call changes nothing"
    );

    let fatal = FakeCloud::with(
        LatencyModel::instant(),
        FaultPlan::seeded(1).fail(key.id.clone(), "kms:EnableKeyRotation"),
    );
    let err = fatal.create(key, &ctx).await.unwrap_err();
    assert_eq!(err.class, crate::cloud::ErrorClass::Fatal);
    assert_eq!(fatal.snapshot().len(), 1, "the key exists, half configured");
    assert!(
        !fatal.snapshot()[0]
            .fields
            .contains_key(field::ROTATION_ENABLED)
    );

    let ec = FakeCloud::with(
        LatencyModel::instant(),
        FaultPlan::seeded(1).eventually_consistent(key.id.clone(), Clear::AfterCalls(2)),
    );
    for _ in 0..2 {
        let err = ec.create(key, &ctx).await.unwrap_err();
        assert_eq!(
            err.class,
            crate::cloud::ErrorClass::EventuallyConsistent,
            "{err}"
        );
    }
    ec.create(key, &ctx).await.unwrap();
    assert_eq!(ec.snapshot().len(), 1);

    // Transient failures sometimes land after the change: the response was lost.
    let lossy = FakeCloud::with(
        LatencyModel::instant(),
        FaultPlan::seeded(3).transient("kms:CreateKey", 1.0),
    );
    for _ in 0..20 {
        assert!(lossy.create(key, &ctx).await.is_err());
    }
    let made = lossy.snapshot().len();
    assert!(
        (3..=17).contains(&made),
        "about half the lost responses made a key: {made}"
    );
}

#[tokio::test(start_paused = true)]
async fn eventual_consistency_clears_after_its_duration() {
    let graph = graph();
    let key = graph.get(&id(ResourceKind::KmsKey, "logs")).unwrap();
    let ctx = StepContext::quiet(fake_environment(), BTreeMap::new());
    let cloud = FakeCloud::with(
        LatencyModel::instant(),
        FaultPlan::seeded(1)
            .eventually_consistent(key.id.clone(), Clear::After(Duration::from_secs(30))),
    );
    assert!(cloud.create(key, &ctx).await.is_err());
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert!(cloud.create(key, &ctx).await.is_err());
    tokio::time::sleep(Duration::from_secs(1)).await;
    cloud.create(key, &ctx).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn calls_take_the_modelled_latency() {
    let graph = graph();
    let cloud = FakeCloud::with(LatencyModel::aws_like(), FaultPlan::default());
    let key = graph.get(&id(ResourceKind::KmsKey, "s3")).unwrap();
    let bucket = graph.get(&id(ResourceKind::Bucket, "logs")).unwrap();
    let ctx = StepContext::quiet(fake_environment(), BTreeMap::new());
    let started = Instant::now();
    let key_out = cloud.create(key, &ctx).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(460));
    assert_eq!(cloud.create_cost(key), Duration::from_millis(460));

    let ctx = StepContext::quiet(
        fake_environment(),
        BTreeMap::from([(key.id.clone(), key_out)]),
    );
    let started = Instant::now();
    cloud.create(bucket, &ctx).await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(7 * 300),
        "one call per sub-setting"
    );
    assert_eq!(cloud.create_cost(bucket), Duration::from_millis(2100));
    let scaled = FakeCloud::with(LatencyModel::aws_like().scaled(0.1), FaultPlan::default());
    assert_eq!(scaled.create_cost(bucket), Duration::from_millis(210));
}

#[tokio::test(start_paused = true)]
async fn a_crash_freezes_the_account_right_after_the_nth_change() {
    let graph = graph();
    let cloud = Arc::new(FakeCloud::new());
    let key = graph.get(&id(ResourceKind::KmsKey, "s3")).unwrap().clone();
    cloud.crash_after(1);
    let worker = {
        let cloud = Arc::clone(&cloud);
        tokio::spawn(async move {
            let ctx = StepContext::quiet(fake_environment(), BTreeMap::new());
            cloud.create(&key, &ctx).await
        })
    };
    tokio::time::timeout(Duration::from_secs(5), cloud.crashed())
        .await
        .unwrap();
    assert!(cloud.is_crashed());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(
        !worker.is_finished(),
        "the crashed process never gets its answer"
    );
    worker.abort();
    let snapshot = cloud.snapshot();
    assert_eq!(snapshot.len(), 1, "CreateKey happened");
    assert!(
        !snapshot[0].fields.contains_key(field::ROTATION_ENABLED),
        "rotation did not"
    );

    cloud.recover();
    let spec = graph.get(&id(ResourceKind::KmsKey, "s3")).unwrap();
    let found = cloud.observe(spec, &fake_environment()).await.unwrap();
    assert_eq!(found.unwrap().physical_id, snapshot[0].physical_id);
}

/// The validator's alias from the whole stack graph, and a step context whose function
/// outputs say the published version is `version`.
fn validator_alias(version: &str) -> (ResourceSpec, StepContext) {
    let env = fake_environment();
    let graph = crate::stack::build(
        &Config::defaults().unwrap(),
        &env,
        &crate::stack::test_inputs(),
    )
    .check()
    .unwrap();
    let handler = crate::stack::Handler::TransactionValidator;
    let function = graph.get(&handler.function_id()).unwrap();
    let mut outputs = crate::stack::made_up_outputs(function, &env);
    outputs.insert(OutputKey::Version, version.to_owned());
    let ctx = StepContext::quiet(env, BTreeMap::from([(function.id.clone(), outputs)]));
    (graph.get(&handler.alias_id()).unwrap().clone(), ctx)
}

async fn observe_one(cloud: &FakeCloud, spec: &ResourceSpec) -> Observed {
    cloud
        .observe(spec, &fake_environment())
        .await
        .unwrap()
        .unwrap()
}

/// The fields that differ, as the planner and the executor's retries see them.
fn diffs(spec: &ResourceSpec, current: &Observed, ctx: &StepContext) -> Vec<String> {
    let table = crate::spec::OutputTable {
        env: &ctx.env,
        outputs: &ctx.outputs,
    };
    crate::plan::planner::field_diffs(spec, current, &table)
        .into_iter()
        .map(|d| d.field)
        .collect()
}

#[tokio::test]
async fn a_split_alias_is_stored_observed_and_cleared_by_one_update_alias() {
    let cloud = FakeCloud::new();
    let (alias, ctx) = validator_alias("7");
    cloud.create(&alias, &ctx).await.unwrap();
    let created = observe_one(&cloud, &alias).await;
    assert_eq!(created.fields[field::FUNCTION_VERSION], Json::from("7"));
    assert!(!created.fields.contains_key(field::ROUTING), "{created:?}");
    assert!(diffs(&alias, &created, &ctx).is_empty());

    // An undo whose recorded state was split (10% to version 8, in the shape the alias
    // adapter observes) writes the split back.
    let split = json!({"8": 0.1});
    let mut recorded = created.fields.clone();
    recorded.insert(field::ROUTING.to_owned(), split.clone());
    let undo = StepContext::quiet(ctx.env.clone(), ctx.outputs.clone()).restoring(recorded.clone());
    cloud
        .update(&alias, &created, &[field::ROUTING.to_owned()], &undo)
        .await
        .unwrap();
    let observed = observe_one(&cloud, &alias).await;
    assert_eq!(observed.fields, recorded);

    // The plan's one diff, applied: exactly one UpdateAlias, and the split reads back gone.
    let changed = diffs(&alias, &observed, &ctx);
    assert_eq!(changed, [field::ROUTING]);
    cloud.reset_counters();
    cloud
        .update(&alias, &observed, &changed, &ctx)
        .await
        .unwrap();
    let calls = cloud.calls();
    assert_eq!(calls.get("lambda:UpdateAlias"), Some(&1), "{calls:?}");
    assert_eq!(cloud.mutating_calls(), 1, "{calls:?}");
    let cleared = observe_one(&cloud, &alias).await;
    assert!(!cleared.fields.contains_key(field::ROUTING), "{cleared:?}");
    assert_eq!(cleared.fields[field::FUNCTION_VERSION], Json::from("7"));
}

#[tokio::test]
async fn a_canary_update_keeps_the_old_version_primary_and_its_retry_keeps_the_split() {
    let cloud = FakeCloud::new();
    let (alias, at_seven) = validator_alias("7");
    cloud.create(&alias, &at_seven).await.unwrap();
    let before = observe_one(&cloud, &alias).await;
    let (_, at_eight) = validator_alias("8");
    let canary = crate::canary::CanaryPolicy {
        weight_percent: 10,
        window: Duration::from_secs(60),
    };
    let ctx = at_eight.with_canary(Some(canary));
    let changed = diffs(&alias, &before, &ctx);
    assert_eq!(changed, [field::FUNCTION_VERSION]);
    cloud.update(&alias, &before, &changed, &ctx).await.unwrap();
    let split = observe_one(&cloud, &alias).await;
    assert_eq!(split.fields[field::FUNCTION_VERSION], Json::from("7"));
    assert_eq!(split.fields[field::ROUTING], json!({"8": 0.1}));

    // A retry of the same step re-observes: both fields differ, one UpdateAlias, same split.
    let changed = diffs(&alias, &split, &ctx);
    assert_eq!(changed, [field::FUNCTION_VERSION, field::ROUTING]);
    cloud.reset_counters();
    cloud.update(&alias, &split, &changed, &ctx).await.unwrap();
    assert_eq!(cloud.calls().get("lambda:UpdateAlias"), Some(&1));
    assert_eq!(observe_one(&cloud, &alias).await.fields, split.fields);

    // Without a canary (a plain apply after an interrupted canary) one call releases fully.
    let (_, plain) = validator_alias("8");
    cloud.reset_counters();
    cloud
        .update(&alias, &split, &changed, &plain)
        .await
        .unwrap();
    assert_eq!(cloud.calls().get("lambda:UpdateAlias"), Some(&1));
    let released = observe_one(&cloud, &alias).await;
    assert_eq!(released.fields[field::FUNCTION_VERSION], Json::from("8"));
    assert!(!released.fields.contains_key(field::ROUTING));
}
