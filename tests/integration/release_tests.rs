//! Releases and rollback against moto: the whole stack applied three times (three
//! releases), rollback to the previous release and to an older one, from a fresh session
//! and through the binary with an empty state directory, `releases` listing them, a
//! release whose version is gone refused before any change, and the lock refusing a second
//! rollback. Prints the calls and wall time of a rollback (the closing figures).
//!
//! moto gap (EMULATOR.md section 1 and Rust quirk 4): moto applies the log bucket's
//! TLS-only Deny to every object call, over HTTPS too, so no release record could be
//! written or read there. These stacks are built without that bucket policy; everything
//! else is the real stack. The write path with the policy is covered by
//! `moto_gap_tls_only_policy_blocks_release_records_and_apply_says_so`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use txdeploy::adapters::{AwsAccess, AwsCloud, CallCounter, CallCounts};
use txdeploy::app::session::Session;
use txdeploy::config::Config;
use txdeploy::plan::{Action, PlanOptions};
use txdeploy::release::record::{CatchUp, Recorded};
use txdeploy::release::rollback::{StepAction, choose_target, live_state, roll_back};
use txdeploy::release::{RELEASE_TAG, Release, ReleaseStore, S3ReleaseStore, load_all, record};
use txdeploy::spec::{ResourceId, ResourceKind, SpecBody, Value};
use txdeploy::stack::{self, BundleInfo, Handler, StackInputs};

use crate::harness::moto_session::apply_report;
use crate::harness::{Txdeploy, moto_or_skip, unique_stack};

struct Stack {
    session: Session,
    aws: Arc<AwsCloud>,
    counter: CallCounter,
    store: S3ReleaseStore,
}

/// A session over the whole stack, without the bucket's TLS-only policy (moto gap, above).
async fn open(config: &Config, endpoint: &str) -> Stack {
    let access = AwsAccess {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    };
    let (cloud, counter) = AwsCloud::connect(&access).await;
    let aws = Arc::new(cloud);
    let env = txdeploy::cloud::Cloud::environment(aws.as_ref())
        .await
        .unwrap();
    let inputs = StackInputs {
        bundle: BundleInfo::embedded(),
        account_concurrency_limit: None,
    };
    let mut graph = stack::build(config, &env, &inputs);
    let bucket_id = ResourceId::new(ResourceKind::Bucket, stack::storage::BUCKET);
    let mut bucket = graph
        .specs()
        .iter()
        .find(|s| s.id == bucket_id)
        .unwrap()
        .clone();
    if let SpecBody::Bucket(b) = &mut bucket.body {
        b.policy = Value::Null;
    }
    graph.retain(|s| s.id != bucket_id);
    graph.add(bucket.clone());
    let session = Session {
        config: config.clone(),
        cloud: aws.clone(),
        env,
        graph: graph.check().unwrap(),
    };
    let store = S3ReleaseStore::new(
        aws.clients().s3.clone(),
        bucket.physical_name,
        config.stack_name(),
    );
    Stack {
        session,
        aws,
        counter,
        store,
    }
}

/// What `apply` did: the record, the resources it changed, and the record's own calls.
struct Applied {
    recorded: Recorded,
    changed: Vec<ResourceId>,
    record_calls: CallCounts,
}

impl Applied {
    /// The release the apply wrote, if any.
    fn release(&self) -> Option<Release> {
        self.recorded.written().cloned()
    }
}

/// Applies the stack as `config` says and records what it left, as `txdeploy apply` does
/// (a new release, the catch-up of an unrecorded one, or nothing).
async fn apply(config: &Config, endpoint: &str) -> Applied {
    let s = open(config, endpoint).await;
    let (plan, report) = apply_report(&s.session, PlanOptions::apply()).await;
    let before = s.counter.snapshot();
    let recorded = record::record(
        &s.store,
        s.aws.as_ref(),
        &s.session.config,
        &s.session.graph,
        &plan,
        &record::Applied::from_report(&report).unwrap(),
    )
    .await
    .unwrap();
    let record_calls = s.counter.snapshot().since(&before);
    let changed = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| c.id.clone())
        .collect();
    Applied {
        recorded,
        changed,
        record_calls,
    }
}

fn config_for(prefix: &str) -> Config {
    let mut config = Config::defaults().unwrap();
    config.stack.prefix = prefix.to_owned();
    config
}

/// Function name to the version its `live` alias points at, read with the SDK.
async fn aliases(s: &Stack, release: &Release) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in &release.functions {
        let alias = s
            .aws
            .clients()
            .lambda
            .get_alias()
            .function_name(&f.name)
            .name("live")
            .send()
            .await
            .unwrap();
        out.push((f.name.clone(), alias.function_version().unwrap().to_owned()));
    }
    out
}

/// The deployment the stage serves, read with the SDK.
async fn stage_deployment(s: &Stack, release: &Release) -> String {
    s.aws
        .clients()
        .apigateway
        .get_stage()
        .rest_api_id(&release.api.rest_api_id)
        .stage_name(&release.api.stage)
        .send()
        .await
        .unwrap()
        .deployment_id()
        .unwrap()
        .to_owned()
}

fn targets_of(release: &Release) -> Vec<(String, String)> {
    release
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.alias_version.clone()))
        .collect()
}

fn validator(release: &Release) -> &str {
    &release.functions[0].alias_version
}

/// The binary against moto with an empty state directory: a machine that never deployed.
fn binary(endpoint: &str, prefix: &str) -> Txdeploy {
    Txdeploy::new()
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_MAX_ATTEMPTS", "2")
        .env("TXDEPLOY_STACK__PREFIX", prefix)
        .arg("--non-interactive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_are_recorded_and_rolled_back_to_from_anywhere() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let mut config = config_for(&prefix);

    // Release 1: the fresh stack.
    let first = apply(&config, &endpoint)
        .await
        .release()
        .expect("a fresh apply is a release");
    assert_eq!(first.number, 1);
    assert_eq!(
        first
            .functions
            .iter()
            .map(|f| f.logical.as_str())
            .collect::<Vec<_>>(),
        Handler::ALL.map(Handler::logical)
    );
    assert_eq!(first.config().unwrap(), config);

    // A re-apply changes no function or API: no release, and the release tag the first
    // one wrote on the functions does not read as drift.
    let again = apply(&config, &endpoint).await;
    assert_eq!(again.recorded, Recorded::UpToDate { number: 1 });
    assert!(
        !again
            .changed
            .iter()
            .any(|id| id.kind() == ResourceKind::Function),
        "the release tag reads as drift: {:?}",
        again.changed
    );

    // Releases 2 and 3: the validator's memory changes, a new version each time; release 3
    // also changes the routes (API keys required or not), so it has its own deployment.
    config.lambda.validator_memory_mb = 2048;
    let second = apply(&config, &endpoint)
        .await
        .release()
        .expect("release 2");
    config.lambda.validator_memory_mb = 3072;
    config.queues.max_receive_count = 5;
    config.api.api_key_required = !config.api.api_key_required;
    let third = apply(&config, &endpoint)
        .await
        .release()
        .expect("release 3");
    assert_eq!((second.number, third.number), (2, 3));
    assert_ne!(validator(&first), validator(&second));
    assert_ne!(validator(&second), validator(&third));
    // Only the validator changed: the other aliases stay; the deployment changed in 3.
    assert_eq!(first.functions[1..], third.functions[1..]);
    assert_eq!(first.api, second.api);
    assert_ne!(second.api.deployment_id, third.api.deployment_id);
    assert_eq!(second.api.rest_api_id, third.api.rest_api_id);

    let s = open(&config, &endpoint).await;
    let tags = s
        .aws
        .clients()
        .lambda
        .list_tags()
        .resource(format!(
            "arn:aws:lambda:us-east-1:{}:function:{}",
            s.session.env.account_id, third.functions[0].name
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags()
            .and_then(|t| t.get(RELEASE_TAG))
            .map(String::as_str),
        Some("3")
    );
    let releases = load_all(&s.store).await.unwrap();
    assert_eq!(releases, [first.clone(), second.clone(), third.clone()]);
    let live = live_state(s.aws.as_ref(), &s.session.graph, &s.session.env)
        .await
        .unwrap();
    let live_release = live.live_release(&releases).map(|r| r.number);
    assert_eq!(live_release, Some(3));

    // `rollback`: to the release before the live one: one alias and the stage move.
    let target = choose_target(&releases, live.live_release(&releases), None).unwrap();
    assert_eq!(target.number, 2);
    let before = s.counter.snapshot();
    let started = Instant::now();
    let mut heard = Vec::new();
    let report = roll_back(
        s.aws.as_ref(),
        s.aws.as_ref(),
        &s.session.graph,
        &s.session.env,
        target,
        &mut |step| heard.push(step.clone()),
    )
    .await
    .unwrap();
    let wall = started.elapsed();
    let calls = s.counter.snapshot().since(&before);
    eprintln!(
        "rollback 3 -> 2 against moto: {wall:?} wall, {} reads, {} mutations; by operation: {:?}",
        calls.reads(),
        calls.mutations(),
        calls.by_operation()
    );
    assert_eq!(heard, report.steps);
    assert_eq!(report.moved(), 2, "{:?}", report.steps);
    assert_eq!(aliases(&s, &second).await, targets_of(&second));
    assert_eq!(
        stage_deployment(&s, &second).await,
        second.api.deployment_id
    );
    // moto gap: FlushStageCache is not routed (404); the call is still sent, and the
    // request itself is checked in
    // `apigateway_adapter_tests::moto_gap_flush_stage_cache_sends_the_delete_request`.
    assert_eq!(
        calls.mutating_operations(),
        [
            "API Gateway:FlushStageCache",
            "API Gateway:UpdateStage",
            "Lambda:UpdateAlias"
        ]
    );
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.action == StepAction::FlushUnsupported)
    );
    assert!(calls.reads() <= 30, "{:?}", calls.by_operation());

    // `rollback --to 1` from a fresh session: nothing but what AWS holds.
    let fresh = open(&config, &endpoint).await;
    let releases = load_all(&fresh.store).await.unwrap();
    let live = live_state(fresh.aws.as_ref(), &fresh.session.graph, &fresh.session.env)
        .await
        .unwrap();
    assert_eq!(live.live_release(&releases).map(|r| r.number), Some(2));
    let target = choose_target(&releases, live.live_release(&releases), Some(1)).unwrap();
    roll_back(
        fresh.aws.as_ref(),
        fresh.aws.as_ref(),
        &fresh.session.graph,
        &fresh.session.env,
        target,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(aliases(&fresh, &first).await, targets_of(&first));
    assert_eq!(
        stage_deployment(&fresh, &first).await,
        first.api.deployment_id
    );

    // The binary, with an empty state directory: `releases` lists all three and marks 1
    // live; `rollback --to 3` moves forward again and reports its calls.
    let listed = binary(&endpoint, &prefix)
        .args(["--json", "releases"])
        .run();
    listed.code(0);
    let lines: Vec<serde_json::Value> = listed
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["event"] == "release")
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l["number"].as_u64().unwrap(), l["live"].as_bool().unwrap()))
            .collect::<Vec<_>>(),
        [(1, true), (2, false), (3, false)]
    );
    assert_eq!(
        lines[2]["versions"][&third.functions[0].name],
        validator(&third)
    );
    let table = binary(&endpoint, &prefix).arg("releases").run();
    table.code(0).stdout_has("* live").stdout_has("AWS calls:");

    let forward = binary(&endpoint, &prefix)
        .args(["rollback", "--to", "3"])
        .run();
    eprintln!(
        "`txdeploy rollback --to 3` through the binary:\n{}",
        forward.stdout
    );
    forward
        .code(0)
        .stdout_has("from release 1 to release 3")
        .stdout_has("moved")
        .stdout_has("verified")
        .stdout_has("rolled back to release 3")
        .stdout_has("AWS calls:");
    assert_eq!(aliases(&fresh, &third).await, targets_of(&third));
    assert_eq!(
        stage_deployment(&fresh, &third).await,
        third.api.deployment_id
    );
    // The binary runs with the default config: release 3's snapshot differs in memory
    // (frozen in the version) and in maxReceiveCount, which only a config plan restores.
    forward
        .stdout_has("lambda.validator_memory_mb")
        .stdout_has("queues.max_receive_count")
        .stdout_has("--apply-config");

    // A release whose version was deleted since: refused before anything changes.
    fresh
        .aws
        .clients()
        .lambda
        .delete_function()
        .function_name(&second.functions[0].name)
        .qualifier(validator(&second))
        .send()
        .await
        .unwrap();
    let err = roll_back(
        fresh.aws.as_ref(),
        fresh.aws.as_ref(),
        &fresh.session.graph,
        &fresh.session.env,
        &second,
        &mut |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("release 2 can no longer be restored")
            && err.contains(&format!("version {} of", validator(&second)))
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(aliases(&fresh, &third).await, targets_of(&third));
    let refused = binary(&endpoint, &prefix)
        .args(["rollback", "--to", "2"])
        .run();
    refused
        .code(1)
        .stderr_has("release 2 can no longer be restored");

    // `--apply-config`: back to release 1 from a config that differs from its snapshot.
    // Release 1 had maxReceiveCount 3; the queues hold 5 (release 3): the config plan puts
    // 3 back. Its memory (1024, frozen in version 1) is not re-applied, so the validator's
    // alias stays on release 1's version instead of moving to a newly published one.
    // Last, because that plan also restores the TLS-only bucket policy this test left out.
    let config_rollback = binary(&endpoint, &prefix)
        .env("TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT", "7")
        .args(["rollback", "--to", "1", "--apply-config", "--yes"])
        .run();
    config_rollback
        .code(0)
        .stdout_has("rolled back to release 1")
        .stdout_has("queues.max_receive_count: 7 now, 3 in release 1")
        .stdout_has("config of release 1 applied");
    assert_eq!(aliases(&fresh, &first).await, targets_of(&first));
    let sqs = &fresh.aws.clients().sqs;
    let url = sqs
        .get_queue_url()
        .queue_name(format!("{prefix}-dev-analytics"))
        .send()
        .await
        .unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url.queue_url().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive: serde_json::Value = serde_json::from_str(
        &attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy],
    )
    .unwrap();
    assert_eq!(redrive["maxReceiveCount"], 3, "{redrive}");
}

/// moto gap: with the stack's TLS-only bucket policy moto refuses every object call, so
/// `apply` cannot write the release record there. The apply still succeeds (exit 0) and
/// says the release was not recorded, why, and what to do; the next apply, a no-op, tries
/// again (the catch-up) and says so again (against AWS, over HTTPS, the write succeeds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_gap_tls_only_policy_blocks_release_records_and_apply_says_so() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let run = binary(&endpoint, &prefix).args(["apply"]).run();
    run.code(0)
        .stderr_has("warning: the apply succeeded but its release was not recorded")
        .stderr_has("PutObject")
        .stderr_has("run `txdeploy apply` again to record it");
    let s = open(&config_for(&prefix), &endpoint).await;
    // ListObjectsV2 is a bucket call and still works: the history is empty.
    assert_eq!(s.store.list().await.unwrap(), Vec::<u64>::new());
    // The same config again changes no function or API (moto re-plans the event source
    // mappings and the REST API's cache keys, gaps of its own), so the write this apply
    // tries is the catch-up's.
    let again = binary(&endpoint, &prefix).args(["--json", "apply"]).run();
    again
        .code(0)
        .stderr_has("warning: the apply succeeded but its release was not recorded")
        .stderr_has("PutObject");
    let changed: Vec<String> = again
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["changes"].is_array())
        .flat_map(|plan| plan["changes"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["action"] != "no_op")
        .map(|c| c["id"].to_string())
        .collect();
    assert!(
        !changed.is_empty()
            && !changed.iter().any(|id| [
                "function/",
                "lambda_alias/",
                "api_deployment/",
                "api_stage/"
            ]
            .iter()
            .any(|kind| id.contains(kind))),
        "{changed:?}\n{}",
        again.stdout
    );
    assert_eq!(s.store.list().await.unwrap(), Vec::<u64>::new());
}

/// That an apply changed no function, alias, API deployment or stage: no release of its own
/// (moto re-plans a few other resources after the binary's apply; they make no release).
fn assert_no_release_change(changed: &[ResourceId]) {
    let release_kinds = [
        ResourceKind::Function,
        ResourceKind::LambdaAlias,
        ResourceKind::ApiDeployment,
        ResourceKind::ApiStage,
    ];
    assert!(
        !changed.iter().any(|id| release_kinds.contains(&id.kind())),
        "{changed:?}"
    );
}

/// A release whose record write failed is recorded by the next apply, a no-op. The binary
/// applies a new validator version and puts the stack's TLS-only policy on the bucket,
/// which on moto blocks the record write (the gap above): exit 0, and a warning naming the
/// cause and the fix on stderr and as a `--json` event. Once the policy is removed, a no-op
/// apply finds that release 1, the newest record, is not what is live and records release 2;
/// another no-op reads the newest record only. `releases` lists release 2 as live, and
/// `rollback` returns to release 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_whose_record_write_failed_is_recorded_by_the_next_no_op_apply() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let mut config = config_for(&prefix);
    let first = apply(&config, &endpoint)
        .await
        .release()
        .expect("a fresh apply is a release");

    let failed = tokio::task::block_in_place(|| {
        binary(&endpoint, &prefix)
            .env("TXDEPLOY_LAMBDA__VALIDATOR_MEMORY_MB", "2048")
            .args(["--json", "apply"])
            .run()
    });
    failed
        .code(0)
        .stderr_has("warning: the apply succeeded but its release was not recorded")
        .stderr_has("PutObject")
        .stderr_has("run `txdeploy apply` again to record it");
    let warning = failed
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "warning")
        .expect("the warning as a --json event");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.contains("PutObject") && message.contains("run `txdeploy apply` again"),
        "{message}"
    );
    let s = open(&config, &endpoint).await;
    assert_eq!(s.store.list().await.unwrap(), [1]);

    // The fault goes away: the bucket policy is removed.
    s.aws
        .clients()
        .s3
        .delete_bucket_policy()
        .bucket(s.store.bucket())
        .send()
        .await
        .unwrap();
    config.lambda.validator_memory_mb = 2048;
    let caught = apply(&config, &endpoint).await;
    assert_no_release_change(&caught.changed);
    let Recorded::CaughtUp {
        release: second,
        why,
    } = &caught.recorded
    else {
        panic!("not caught up: {:?}", caught.recorded);
    };
    assert_eq!((second.number, *why), (2, CatchUp::Differs { newest: 1 }));
    assert_ne!(validator(second), validator(&first));
    assert_eq!(first.functions[1..], second.functions[1..]);
    assert_eq!(aliases(&s, second).await, targets_of(second));
    assert_eq!(second.config().unwrap(), config);
    assert_eq!(
        load_all(&s.store).await.unwrap(),
        [first.clone(), second.clone()]
    );

    // A plain no-op with an up-to-date record: the list and the newest record, no more.
    let noop = apply(&config, &endpoint).await;
    assert_no_release_change(&noop.changed);
    assert_eq!(noop.recorded, Recorded::UpToDate { number: 2 });
    eprintln!(
        "release check of a no-op apply against moto: {} reads, {} mutations: {:?}",
        noop.record_calls.reads(),
        noop.record_calls.mutations(),
        noop.record_calls.by_operation()
    );
    assert_eq!(
        noop.record_calls.by_operation(),
        BTreeMap::from([
            (("S3".to_owned(), "GetObject".to_owned()), 1),
            (("S3".to_owned(), "ListObjectsV2".to_owned()), 1),
        ])
    );

    let listed = binary(&endpoint, &prefix)
        .args(["--json", "releases"])
        .run();
    listed.code(0);
    let live: Vec<(u64, bool)> = listed
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "release")
        .map(|l| (l["number"].as_u64().unwrap(), l["live"].as_bool().unwrap()))
        .collect();
    assert_eq!(live, [(1, false), (2, true)]);
    let back = binary(&endpoint, &prefix).arg("rollback").run();
    back.code(0)
        .stdout_has("from release 2 to release 1")
        .stdout_has("rolled back to release 1");
    assert_eq!(aliases(&s, &first).await, targets_of(&first));
}

/// A second rollback while one runs is refused by the stack lock, before any AWS call.
#[test]
fn a_second_rollback_is_refused_by_the_lock() {
    let state = tempfile::tempdir().unwrap();
    let holder = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let dir = state.path().join("tx-dev");
    std::fs::create_dir_all(&dir).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    std::fs::write(
        dir.join("lock"),
        serde_json::json!({
            "pid": holder.id(),
            "host": host.trim(),
            "command": "rollback",
            "started_at": "2026-11-28T12:00:00Z",
        })
        .to_string(),
    )
    .unwrap();
    let run = Txdeploy::new()
        .arg("--non-interactive")
        .arg("--state-dir")
        .arg(state.path())
        .args(["rollback", "--to", "1"])
        .run();
    let mut holder = holder;
    let _ = holder.kill();
    let _ = holder.wait();
    run.code(2)
        .stderr_has(&format!("locked by pid {}", holder.id()))
        .stderr_has("running `txdeploy rollback`")
        .no_aws_calls();
}
