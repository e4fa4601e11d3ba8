//! `txdeploy audit` against moto: after a fresh apply every check passes but the named moto
//! gaps; settings changed out of band with the SDK fail exactly their checks, `plan`
//! proposes the fix, `apply` restores it and the audit passes again (an invoke config added
//! to the API function is not the stack's: apply leaves it and the audit names it until it
//! is deleted). The real binary exits
//! 0 on a clean audit and 1 on drift.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_apigateway::types::{Op, PatchOperation};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value as Json;
use txdeploy::adapters::{AwsAccess, AwsClients, AwsCloud};
use txdeploy::app::session::Session;
use txdeploy::audit::{self, AuditInput, AuditReport, CHECKS, Status, Target};
use txdeploy::config::Config;
use txdeploy::plan::{Action, PlanOptions};
use txdeploy::spec::{ResourceId, ResourceKind};

use crate::harness::moto_session::apply;
use crate::harness::{Txdeploy, moto_or_skip, unique_stack};

/// The checks moto cannot decide (EMULATOR.md section 1), each named by its gap.
const MOTO_GAPS: [&str; 7] = [
    "kms.rotation-period",
    "s3.logs-reach-bucket",
    "lambda.explicit-log-group",
    "lambda.account-unreserved-minimum",
    "lambda.mappings-target-alias",
    "api.cache-keys",
    "cloudwatch.concurrency-real-limit",
];

async fn connect(config: &Config, endpoint: &str) -> (Session, AwsClients) {
    let access = AwsAccess {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    };
    let (cloud, _) = AwsCloud::connect(&access).await;
    let clients = cloud.clients().clone();
    (
        Session::open(config.clone(), Arc::new(cloud))
            .await
            .unwrap(),
        clients,
    )
}

/// The audit of what `session` observes now (moto: emulator target); `canary_tests` reuses it.
pub(crate) async fn run_audit(session: &Session, clients: &AwsClients) -> AuditReport {
    let observed = session.observe().await.unwrap();
    let extra = audit::audit_command::read_extras(clients, session, Target::Emulator).await;
    let input = AuditInput::new(
        &session.config,
        &session.env,
        &session.graph,
        &observed,
        Target::Emulator,
        &extra,
    );
    audit::run(CHECKS, &input)
}

fn set(ids: Vec<&str>) -> BTreeSet<String> {
    ids.into_iter().map(str::to_owned).collect()
}

fn observed_field(fields: &std::collections::BTreeMap<String, Json>, name: &str) -> Json {
    fields.get(name).cloned().unwrap_or(Json::Null)
}

/// The out-of-band changes, each through the SDK as a person in the console would.
async fn drift(session: &Session, clients: &AwsClients) {
    let name = |logical: &str| session.config.physical_name(logical);
    let observed = session.observe().await.unwrap();
    let get = |kind: ResourceKind, logical: &str| {
        observed
            .resources
            .get(&ResourceId::new(kind, logical))
            .unwrap()
            .clone()
    };

    clients
        .lambda
        .update_function_configuration()
        .function_name(name("transaction-validator"))
        .memory_size(1024)
        .send()
        .await
        .unwrap();

    clients
        .logs
        .put_retention_policy()
        .log_group_name(get(ResourceKind::LogGroup, "analytics-processor").physical_id)
        .retention_in_days(14)
        .send()
        .await
        .unwrap();

    // PutMetricAlarm replaces the whole alarm: everything as it was but the threshold.
    let alarm = get(ResourceKind::Alarm, "transaction-validator-throttles");
    let topic = observed_field(&alarm.fields, "alarm_actions")[0]
        .as_str()
        .unwrap()
        .to_owned();
    let tags = observed_field(&alarm.fields, "tags");
    let mut put = clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(name("transaction-validator-throttles"))
        .alarm_description(
            observed_field(&alarm.fields, "alarm_description")
                .as_str()
                .unwrap(),
        )
        .namespace("AWS/Lambda")
        .metric_name("Throttles")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value(name("transaction-validator"))
                .build(),
        )
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .datapoints_to_alarm(1)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(&topic)
        .ok_actions(&topic);
    for (key, value) in tags.as_object().unwrap() {
        put = put.tags(
            Tag::builder()
                .key(key)
                .value(value.as_str().unwrap())
                .build(),
        );
    }
    put.send().await.unwrap();

    let queue = get(ResourceKind::Queue, "analytics");
    let dlq = get(ResourceKind::Queue, "analytics-dlq");
    clients
        .sqs
        .set_queue_attributes()
        .queue_url(&queue.physical_id)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({
                "deadLetterTargetArn": dlq.outputs[&txdeploy::spec::OutputKey::Arn],
                "maxReceiveCount": 9,
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();

    // A deployment made outside txdeploy, and the stage moved to it.
    let api_id = get(ResourceKind::RestApi, "api").physical_id;
    let stage = get(ResourceKind::ApiStage, "api");
    let stage_name = observed_field(&stage.fields, "stage_name");
    let deployment = clients
        .apigateway
        .create_deployment()
        .rest_api_id(&api_id)
        .description("hotfix from the console")
        .send()
        .await
        .unwrap();
    clients
        .apigateway
        .update_stage()
        .rest_api_id(&api_id)
        .stage_name(stage_name.as_str().unwrap())
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Replace)
                .path("/deploymentId")
                .value(deployment.id().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();

    clients
        .s3
        .put_public_access_block()
        .bucket(get(ResourceKind::Bucket, "logs").physical_id)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(false)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn binary(endpoint: &str, prefix: &str) -> Txdeploy {
    Txdeploy::new()
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("TXDEPLOY_STACK__PREFIX", prefix)
        .arg("--non-interactive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_passes_after_apply_names_out_of_band_drift_and_apply_restores_it() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let mut config = Config::defaults().unwrap();
    config.stack.prefix = prefix.clone();
    let (session, clients) = connect(&config, &endpoint).await;
    apply(&session, PlanOptions::apply()).await;

    let clean = run_audit(&session, &clients).await;
    eprint!("{}", clean.render_text());
    assert_eq!(clean.ids(Status::Fail), Vec::<&str>::new());
    assert_eq!(
        set(clean.ids(Status::NotCheckableHere)),
        set(MOTO_GAPS.to_vec())
    );
    assert_eq!(clean.results.len(), CHECKS.len());

    // The real binary: a clean audit exits 0, NDJSON one check per line plus the summary.
    let run = binary(&endpoint, &prefix).args(["--json", "audit"]).run();
    run.code(0);
    let lines: Vec<Json> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), CHECKS.len() + 1, "{}", run.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "audit_summary");
    assert_eq!(summary["fail"], 0);
    assert_eq!(summary["not_checkable_here"], MOTO_GAPS.len());

    drift(&session, &clients).await;

    let drifted = run_audit(&session, &clients).await;
    eprint!("{}", drifted.render_text());
    assert_eq!(
        set(drifted.ids(Status::Fail)),
        set(vec![
            "lambda.memory",
            // `$LATEST` changed, so no published version has the current configuration: the
            // alias still serves the old one until apply publishes a new version.
            "lambda.alias-on-published-version",
            "logs.retention",
            "cloudwatch.throttle-alarms",
            "sqs.redrive",
            "api.stage-on-current-deployment",
            "s3.public-access-block",
            "stack.converged",
        ])
    );
    let failed = |id: &str| {
        drifted
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .findings
            .iter()
            .map(|f| (f.resource.clone(), f.field.clone()))
            .collect::<BTreeSet<_>>()
    };
    let one =
        |resource: &str, field: &str| BTreeSet::from([(resource.to_owned(), field.to_owned())]);
    assert_eq!(
        failed("lambda.memory"),
        one("function/transaction-validator", "memory_size")
    );
    assert_eq!(
        failed("logs.retention"),
        one("log_group/analytics-processor", "retention_in_days")
    );
    assert_eq!(
        failed("cloudwatch.throttle-alarms"),
        one("alarm/transaction-validator-throttles", "threshold")
    );
    assert_eq!(
        failed("sqs.redrive"),
        one("queue/analytics", "redrive_policy")
    );
    assert_eq!(
        failed("api.stage-on-current-deployment"),
        one("api_stage/api", "deployment_id")
    );
    assert_eq!(
        failed("s3.public-access-block"),
        one("bucket/logs", "public_access_block")
    );

    // The binary names the drift and exits 1.
    let run = binary(&endpoint, &prefix).arg("audit").run();
    run.code(1)
        .stdout_has("lambda.memory")
        .stdout_has("fix: `txdeploy apply` restores it");

    // `plan` proposes exactly the fix.
    let observed = session.observe().await.unwrap();
    let plan = session.plan(&observed, PlanOptions::apply()).await;
    let updates: BTreeSet<(String, String)> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Update)
        .flat_map(|c| c.diffs.iter().map(|d| (c.id.to_string(), d.field.clone())))
        .collect();
    for expected in [
        ("function/transaction-validator", "memory_size"),
        ("log_group/analytics-processor", "retention_in_days"),
        ("alarm/transaction-validator-throttles", "threshold"),
        ("queue/analytics", "redrive_policy"),
        ("api_stage/api", "deployment_id"),
        ("bucket/logs", "public_access_block"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(
            updates.contains(&expected),
            "{expected:?} not in {updates:?}"
        );
    }

    // An on-failure destination added to the synchronous API function: never fires (F2).
    // It is not in the graph, so apply leaves it; the audit names it until it is deleted.
    let validator = session.config.physical_name("transaction-validator");
    let failures = observed
        .resources
        .get(&ResourceId::new(
            ResourceKind::Queue,
            "notification-failures",
        ))
        .unwrap()
        .outputs[&txdeploy::spec::OutputKey::Arn]
        .clone();
    clients
        .lambda
        .put_function_event_invoke_config()
        .function_name(&validator)
        .qualifier("live")
        .destination_config(
            aws_sdk_lambda::types::DestinationConfig::builder()
                .on_failure(
                    aws_sdk_lambda::types::OnFailure::builder()
                        .destination(failures)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    apply(&session, PlanOptions::apply()).await;
    let restored = run_audit(&session, &clients).await;
    assert_eq!(
        restored.ids(Status::Fail),
        vec!["lambda.no-destination-on-sync"],
        "{}",
        restored.render_text()
    );
    clients
        .lambda
        .delete_function_event_invoke_config()
        .function_name(&validator)
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let restored = run_audit(&session, &clients).await;
    assert_eq!(
        restored.ids(Status::Fail),
        Vec::<&str>::new(),
        "{}",
        restored.render_text()
    );
    binary(&endpoint, &prefix).arg("audit").run().code(0);

    apply(&session, PlanOptions::destroy(true)).await;
}
