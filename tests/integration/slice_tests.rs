//! The vertical slice against moto: KMS keys and aliases, the log-archive bucket, the queues
//! with their DLQs and the topics are created, left alone by a second apply (zero mutating
//! calls), changed one setting at a time, and destroyed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use txdeploy::adapters::{AwsCloud, CallCounter};
use txdeploy::app::session::Session;
use txdeploy::cloud::Cloud;
use txdeploy::config::Config;
use txdeploy::plan::{Action, Plan, PlanOptions};
use txdeploy::spec::Service;
use txdeploy::stack::{BundleInfo, StackInputs};

use crate::harness::moto_session::{apply, config_for, moto_access};
use crate::harness::{moto_endpoint, unique_stack};

async fn session(config: Config, endpoint: &str) -> (Session, CallCounter) {
    let (cloud, counter) = AwsCloud::connect(&moto_access(endpoint)).await;
    let cloud: Arc<dyn Cloud> = Arc::new(cloud);
    let env = cloud.environment().await.unwrap();
    // The slice is the part of the stack whose adapters exist: KMS, S3, SQS and SNS. The
    // functions' code is not deployed here, so any bundle will do.
    let inputs = StackInputs {
        bundle: BundleInfo {
            code_sha256: "not deployed by the slice".to_owned(),
            architecture: "x86_64".to_owned(),
        },
        account_concurrency_limit: None,
    };
    let mut graph = txdeploy::stack::build(&config, &env, &inputs);
    graph.retain(|s| {
        matches!(
            s.kind().service(),
            Service::Kms | Service::S3 | Service::Sqs | Service::Sns
        )
    });
    let graph = graph.check().unwrap();
    let session = Session {
        config,
        cloud,
        env,
        graph,
    };
    (session, counter)
}

fn changed(plan: &Plan) -> Vec<(String, &'static str, Vec<String>)> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| {
            (
                c.id.to_string(),
                c.action.label(),
                c.diffs.iter().map(|d| d.field.clone()).collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn slice_applies_then_converges_with_zero_mutations_then_updates_one_setting_then_destroys() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let prefix = unique_stack();
    let (first, _) = session(config_for(&prefix), &endpoint).await;

    // Fresh apply creates every resource of the slice.
    let created = apply(&first, PlanOptions::apply()).await;
    assert_eq!(created.changes.len(), first.graph.len());
    assert!(created.changes.iter().all(|c| c.action == Action::Create));

    // A second apply from a new session (no local state) changes nothing.
    let (second, counter) = session(config_for(&prefix), &endpoint).await;
    let before = counter.snapshot();
    let noop = apply(&second, PlanOptions::apply()).await;
    assert!(
        !noop.has_changes(),
        "unexpected changes: {:?}",
        changed(&noop)
    );
    let calls = counter.snapshot();
    assert_eq!(
        calls.mutations(),
        before.mutations(),
        "{:?}",
        calls.mutating_operations()
    );
    assert_eq!(calls.mutations(), 0, "{:?}", calls.mutating_operations());
    eprintln!(
        "no-op apply: {} reads, {} mutations",
        calls.reads(),
        calls.mutations()
    );

    // One setting: the archive transition moves only the bucket's lifecycle.
    let mut config = config_for(&prefix);
    config.logs.glacier_after_days = 14;
    let (third, counter) = session(config, &endpoint).await;
    let plan = apply(&third, PlanOptions::apply()).await;
    let log_bucket = "bucket/logs".to_owned();
    assert_eq!(
        changed(&plan),
        vec![(log_bucket, "update", vec!["lifecycle".to_owned()])]
    );
    assert_eq!(
        counter.snapshot().mutating_operations(),
        vec!["S3:PutBucketLifecycleConfiguration".to_owned()]
    );

    // maxReceiveCount changes the two work queues' redrive policies and nothing else.
    let mut config = config_for(&prefix);
    config.logs.glacier_after_days = 14;
    config.queues.max_receive_count = 5;
    let (fourth, counter) = session(config.clone(), &endpoint).await;
    let plan = apply(&fourth, PlanOptions::apply()).await;
    assert_eq!(
        changed(&plan),
        vec![
            (
                "queue/analytics".to_owned(),
                "update",
                vec!["redrive_policy".to_owned()]
            ),
            (
                "queue/reporting".to_owned(),
                "update",
                vec!["redrive_policy".to_owned()]
            ),
        ]
    );
    assert_eq!(counter.snapshot().mutations(), 2);

    // Destroy keeps data by default and says what it kept; --delete-data removes the rest.
    let (fifth, _) = session(config.clone(), &endpoint).await;
    let destroy = apply(&fifth, PlanOptions::destroy(false)).await;
    assert!(
        destroy
            .kept
            .iter()
            .any(|k| k.id.to_string() == "bucket/logs")
    );
    assert!(
        destroy
            .changes
            .iter()
            .any(|c| c.id.to_string() == "topic/alarms")
    );
    let (sixth, _) = session(config.clone(), &endpoint).await;
    apply(&sixth, PlanOptions::destroy(true)).await;
    let (last, _) = session(config, &endpoint).await;
    let observed = last.observe().await.unwrap();
    assert!(
        observed.resources.is_empty(),
        "left behind: {:?}",
        observed.resources.keys()
    );
}
