//! Every check on a hand-built observed state: the stack exactly as the graph describes it
//! passes every check; one changed value fails exactly the checks that guard it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use super::CHECKS;
use crate::adapters::lambda_adapter::AccountConcurrency;
use crate::audit::{AuditInput, AuditReport, ExtraReads, Status, Target, run};
use crate::cloud::Observed;
use crate::config::{Config, TableBilling};
use crate::plan::ObservedState;
use crate::spec::{CheckedGraph, Environment, OutputTable, Outputs, ResourceId};
use crate::stack::{build, made_up_outputs, test_inputs};

struct Fixture {
    config: Config,
    env: Environment,
    graph: CheckedGraph,
    observed: ObservedState,
    extra: ExtraReads,
}

/// The stack of `config` as AWS would report it once applied, with healthy account facts.
fn fixture(config: Config) -> Fixture {
    let env = Environment {
        account_id: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        partition: "aws".to_owned(),
    };
    let graph = build(&config, &env, &test_inputs()).check().unwrap();
    let outputs: BTreeMap<ResourceId, Outputs> = graph
        .in_order()
        .map(|s| (s.id.clone(), made_up_outputs(s, &env)))
        .collect();
    let table = OutputTable {
        env: &env,
        outputs: &outputs,
    };
    let mut observed = ObservedState::default();
    for spec in graph.in_order() {
        let fields = spec
            .fields()
            .into_iter()
            .map(|(name, f)| (name.to_owned(), f.value.resolve(&table).unwrap()))
            .collect();
        let physical_id = outputs[&spec.id]
            .get(&crate::spec::OutputKey::Id)
            .cloned()
            .unwrap_or_else(|| spec.physical_name.clone());
        observed.resources.insert(
            spec.id.clone(),
            Observed {
                physical_id,
                outputs: outputs[&spec.id].clone(),
                fields,
            },
        );
    }
    let extra = ExtraReads {
        account_concurrency: Some(Ok(AccountConcurrency {
            limit: 1000,
            unreserved: 900,
        })),
        archived_log_objects: Some(Ok(1)),
        api_function_invoke_configs: Some(Ok(Vec::new())),
    };
    Fixture {
        config,
        env,
        graph,
        observed,
        extra,
    }
}

fn defaults() -> Fixture {
    fixture(Config::defaults().unwrap())
}

impl Fixture {
    fn audit(&self, target: Target) -> AuditReport {
        let input = AuditInput::new(
            &self.config,
            &self.env,
            &self.graph,
            &self.observed,
            target,
            &self.extra,
        );
        run(CHECKS, &input)
    }

    fn id(&self, id: &str) -> ResourceId {
        self.observed
            .resources
            .keys()
            .find(|k| k.to_string() == id)
            .unwrap_or_else(|| panic!("`{id}` is not observed"))
            .clone()
    }

    fn fields(&mut self, id: &str) -> &mut BTreeMap<String, Json> {
        let id = self.id(id);
        &mut self.observed.resources.get_mut(&id).unwrap().fields
    }

    fn set(&mut self, id: &str, field: &str, value: Json) {
        self.fields(id).insert(field.to_owned(), value);
    }

    /// A value inside a field, by JSON pointer.
    fn set_in(&mut self, id: &str, field: &str, pointer: &str, value: Json) {
        let target = self
            .fields(id)
            .get_mut(field)
            .and_then(|f| f.pointer_mut(pointer))
            .unwrap_or_else(|| panic!("`{id}`.{field}{pointer} does not exist"));
        *target = value;
    }

    fn remove(&mut self, id: &str) {
        let id = self.id(id);
        self.observed.resources.remove(&id);
    }
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn failed(report: &AuditReport) -> BTreeSet<String> {
    report
        .ids(Status::Fail)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The checks an emulator cannot decide.
fn gaps() -> BTreeSet<String> {
    CHECKS
        .iter()
        .filter(|c| c.emulator_gap.is_some())
        .map(|c| c.id.to_owned())
        .collect()
}

#[test]
fn the_table_has_unique_ids_and_says_what_each_check_guards() {
    let mut seen = BTreeSet::new();
    for check in CHECKS {
        assert!(seen.insert(check.id), "duplicate id `{}`", check.id);
        assert!(
            check.id.contains('.'),
            "`{}` is `section.setting`",
            check.id
        );
        assert!(!check.section.is_empty() && !check.stack_md.is_empty());
        assert!(!check.fix.is_empty());
        for r in check.refs {
            let n: u32 = r[1..].parse().unwrap();
            match &r[..1] {
                "F" => assert!((1..=20).contains(&n), "{r}"),
                "R" => assert!((1..=11).contains(&n), "{r}"),
                _ => panic!("`{r}` is neither F1..F20 nor R1..R11"),
            }
        }
    }
}

#[test]
fn a_stack_that_matches_the_graph_passes_every_check_against_aws() {
    let report = defaults().audit(Target::Aws);
    assert_eq!(failed(&report), BTreeSet::new(), "{}", report.render_text());
    assert_eq!(
        report.count(Status::NotCheckableHere),
        0,
        "{}",
        report.render_text()
    );
    assert_eq!(report.count(Status::Pass), CHECKS.len());
}

#[test]
fn against_an_emulator_the_gap_checks_are_not_checkable_with_their_reason() {
    let report = defaults().audit(Target::Emulator);
    let not_checkable: BTreeSet<String> = report
        .ids(Status::NotCheckableHere)
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(not_checkable, gaps());
    assert_eq!(
        not_checkable,
        ids(&[
            "kms.rotation-period",
            "s3.logs-reach-bucket",
            "lambda.explicit-log-group",
            "lambda.account-unreserved-minimum",
            "lambda.mappings-target-alias",
            "api.cache-keys",
            "cloudwatch.concurrency-real-limit",
        ])
    );
    for r in report
        .results
        .iter()
        .filter(|r| r.status == Status::NotCheckableHere)
    {
        assert!(
            r.reason.as_deref().is_some_and(|w| w.contains("moto")),
            "{}",
            r.id
        );
    }
    assert!(report.passed());
}

#[test]
fn what_an_emulator_drops_is_not_drift_there_but_is_against_aws() {
    let mut f = defaults();
    f.set_in(
        "rest_api/api",
        "methods",
        "/GET ~1transactions~1{id}/integration/cache_key_parameters",
        json!([]),
    );
    f.set_in("kms_key/s3", "rotation_period_days", "", json!(null));
    assert_eq!(failed(&f.audit(Target::Emulator)), BTreeSet::new());
    assert_eq!(
        failed(&f.audit(Target::Aws)),
        ids(&["api.cache-keys", "kms.rotation-period", "stack.converged"])
    );
}

#[test]
fn another_stacks_role_in_the_shared_api_gateway_account_setting_is_not_drift() {
    let mut f = defaults();
    f.set(
        "api_account/account",
        "cloudwatch_role_arn",
        json!("arn:aws:iam::123456789012:role/other-stack-api-gateway-logs"),
    );
    assert_eq!(failed(&f.audit(Target::Aws)), BTreeSet::new());
}

type Mutation = fn(&mut Fixture);

/// One changed value per row, and the checks it must fail (against AWS).
const CASES: &[(&str, Mutation, &[&str])] = &[
    (
        "dashboard deleted",
        |f| f.remove("dashboard/overview"),
        &[
            "names.every-resource-exists",
            "cloudwatch.dashboard",
            "stack.converged",
        ],
    ),
    (
        "queue tag removed",
        |f| f.set_in("queue/analytics", "tags", "/txdeploy:stack", json!("x")),
        &["tags.stack-and-logical", "stack.converged"],
    ),
    (
        "alias on another key",
        |f| f.set("kms_alias/s3", "target_key_id", json!("other")),
        &["kms.keys-and-aliases", "stack.converged"],
    ),
    (
        "rotation off",
        |f| f.set("kms_key/s3", "rotation_enabled", json!(false)),
        &["kms.rotation", "stack.converged"],
    ),
    (
        "rotation period",
        |f| f.set("kms_key/s3", "rotation_period_days", json!(90)),
        &["kms.rotation-period", "stack.converged"],
    ),
    (
        "logs key lost the logs service",
        |f| {
            let policy = f.fields("kms_key/s3")["key_policy"].clone();
            f.set("kms_key/logs", "key_policy", policy);
        },
        &["kms.key-policies", "stack.converged"],
    ),
    (
        "versioning suspended",
        |f| f.set("bucket/logs", "versioning", json!("Suspended")),
        &["s3.versioning", "stack.converged"],
    ),
    (
        "AES256",
        |f| {
            f.set_in(
                "bucket/logs",
                "encryption",
                "/sse_algorithm",
                json!("AES256"),
            )
        },
        &["s3.sse-kms", "stack.converged"],
    ),
    (
        "public policy allowed",
        |f| {
            f.set_in(
                "bucket/logs",
                "public_access_block",
                "/block_public_policy",
                json!(false),
            )
        },
        &["s3.public-access-block", "stack.converged"],
    ),
    (
        "bucket policy deleted",
        |f| f.set("bucket/logs", "bucket_policy", json!(null)),
        &["s3.tls-only-policy", "stack.converged"],
    ),
    (
        "glacier later",
        |f| f.set_in("bucket/logs", "lifecycle", "/glacier_after_days", json!(30)),
        &["s3.lifecycle", "stack.converged"],
    ),
    (
        "filter elsewhere",
        |f| {
            f.set(
                "subscription_filter/analytics-processor",
                "destination_arn",
                json!("arn:aws:firehose:us-east-1:123456789012:deliverystream/x"),
            )
        },
        &["s3.log-subscriptions", "stack.converged"],
    ),
    (
        "index dropped",
        |f| f.set("table/transactions", "global_secondary_indexes", json!([])),
        &["dynamodb.key-and-gsi", "stack.converged"],
    ),
    (
        "table SSE",
        |f| f.set_in("table/transactions", "sse", "/sse_type", json!("AES256")),
        &["dynamodb.sse-kms", "stack.converged"],
    ),
    (
        "PITR off",
        |f| {
            f.set_in(
                "table/transactions",
                "point_in_time_recovery",
                "/enabled",
                json!(false),
            )
        },
        &["dynamodb.pitr", "stack.converged"],
    ),
    (
        "deletion protection off",
        |f| f.set("table/transactions", "deletion_protection", json!(false)),
        &["dynamodb.deletion-protection", "stack.converged"],
    ),
    (
        "TTL off",
        |f| f.set_in("table/transactions", "ttl", "/enabled", json!(false)),
        &["dynamodb.ttl", "stack.converged"],
    ),
    (
        "billing switched",
        |f| f.set("table/transactions", "billing_mode", json!("PROVISIONED")),
        &["dynamodb.billing-mode", "stack.converged"],
    ),
    (
        "maxReceiveCount",
        |f| {
            f.set_in(
                "queue/analytics",
                "redrive_policy",
                "/maxReceiveCount",
                json!(9),
            )
        },
        &["sqs.redrive", "stack.converged"],
    ),
    (
        "queue unencrypted",
        |f| f.set("queue/reporting", "kms_master_key_id", json!(null)),
        &["sqs.kms", "stack.converged"],
    ),
    (
        "DLQ retention",
        |f| {
            f.set(
                "queue/reporting-dlq",
                "message_retention_seconds",
                json!(345_600),
            )
        },
        &["sqs.dlq-retention", "stack.converged"],
    ),
    (
        "visibility under 6x",
        |f| f.set("queue/analytics", "visibility_timeout_seconds", json!(10)),
        &["sqs.visibility-6x-timeout", "stack.converged"],
    ),
    (
        "async retries",
        |f| {
            f.set(
                "event_invoke_config/notification-handler",
                "maximum_retry_attempts",
                json!(0),
            )
        },
        &["sqs.failure-destination", "stack.converged"],
    ),
    (
        "destination on the API function",
        |f| {
            f.extra.api_function_invoke_configs = Some(Ok(vec!["live".to_owned()]));
        },
        &["lambda.no-destination-on-sync"],
    ),
    (
        "memory",
        |f| f.set("function/transaction-validator", "memory_size", json!(1024)),
        &["lambda.memory", "stack.converged"],
    ),
    (
        "timeout",
        |f| f.set("function/notification-handler", "timeout", json!(900)),
        &["lambda.configuration", "stack.converged"],
    ),
    (
        "runtime",
        |f| {
            f.set(
                "function/reporting-processor",
                "runtime",
                json!("python3.12"),
            )
        },
        &["lambda.runtime-and-bundle", "stack.converged"],
    ),
    (
        "tracing",
        |f| {
            f.set(
                "function/analytics-processor",
                "tracing_mode",
                json!("PassThrough"),
            )
        },
        &["lambda.xray-active", "stack.converged"],
    ),
    (
        "log group",
        |f| {
            f.set_in(
                "function/analytics-processor",
                "logging_config",
                "/log_group",
                json!("/aws/lambda/other"),
            )
        },
        &["lambda.explicit-log-group", "stack.converged"],
    ),
    (
        "reservation dropped",
        |f| {
            f.set(
                "function/transaction-validator",
                "reserved_concurrency",
                json!(null),
            )
        },
        &["lambda.reserved-concurrency", "stack.converged"],
    ),
    (
        "account under its minimum",
        |f| {
            f.extra.account_concurrency = Some(Ok(AccountConcurrency {
                limit: 1000,
                unreserved: 50,
            }));
        },
        &["lambda.account-unreserved-minimum"],
    ),
    (
        "provisioned concurrency",
        |f| {
            f.set(
                "lambda_alias/transaction-validator",
                "provisioned_concurrency",
                json!(5),
            )
        },
        &["lambda.provisioned-concurrency", "stack.converged"],
    ),
    (
        "alias on $LATEST",
        |f| {
            f.set(
                "lambda_alias/analytics-processor",
                "function_version",
                json!("$LATEST"),
            )
        },
        &["lambda.alias-on-published-version", "stack.converged"],
    ),
    (
        "alias split by an interrupted canary",
        |f| {
            f.set(
                "lambda_alias/notification-handler",
                "routing",
                json!({"9": 0.1}),
            )
        },
        &["lambda.alias-no-split", "stack.converged"],
    ),
    (
        "no partial batch failures",
        |f| {
            f.set(
                "event_source_mapping/analytics-processor",
                "function_response_types",
                json!([]),
            )
        },
        &["lambda.sqs-consumers", "stack.converged"],
    ),
    (
        "mapping on a version",
        |f| {
            f.set(
                "event_source_mapping/reporting-processor",
                "function_name",
                json!("arn:aws:lambda:us-east-1:123456789012:function:x:3"),
            )
        },
        &["lambda.mappings-target-alias", "stack.converged"],
    ),
    (
        "wildcard queue resource",
        |f| {
            f.set_in(
                "role/analytics-processor",
                "inline_policy",
                "/document/Statement/0/Resource",
                json!(["*"]),
            )
        },
        &[
            "iam.role-per-function",
            "iam.no-wildcard-resource",
            "stack.converged",
        ],
    ),
    (
        "foreign ARN",
        |f| {
            f.set_in(
                "role/reporting-processor",
                "inline_policy",
                "/document/Statement/0/Resource",
                json!(["arn:aws:sqs:us-east-1:999999999999:other"]),
            )
        },
        &[
            "iam.role-per-function",
            "iam.no-wildcard-resource",
            "stack.converged",
        ],
    ),
    (
        "retention",
        |f| {
            f.set(
                "log_group/analytics-processor",
                "retention_in_days",
                json!(14),
            )
        },
        &["logs.retention", "stack.converged"],
    ),
    (
        "log group key",
        |f| f.set("log_group/api-access", "kms_key_id", json!(null)),
        &["logs.kms", "stack.converged"],
    ),
    (
        "integration not proxy",
        |f| {
            f.set_in(
                "rest_api/api",
                "methods",
                "/POST ~1transactions/integration/type",
                json!("AWS"),
            )
        },
        &["api.routes", "api.proxy-to-alias", "stack.converged"],
    ),
    (
        "permission widened",
        |f| {
            f.set(
                "lambda_permission/get-transaction",
                "source_arn",
                json!("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/*"),
            )
        },
        &["api.permission-per-route", "stack.converged"],
    ),
    (
        "stage on another deployment",
        |f| f.set("api_stage/api", "deployment_id", json!("oob0001")),
        &["api.stage-on-current-deployment", "stack.converged"],
    ),
    (
        "no current deployment",
        |f| f.remove("api_deployment/api"),
        &[
            "names.every-resource-exists",
            "api.stage-on-current-deployment",
            "stack.converged",
        ],
    ),
    (
        "stage tracing",
        |f| f.set("api_stage/api", "tracing_enabled", json!(false)),
        &["api.stage-xray", "stack.converged"],
    ),
    (
        "access logs off",
        |f| f.set("api_stage/api", "access_log_settings", json!(null)),
        &["api.access-logging", "stack.converged"],
    ),
    (
        "metrics off",
        |f| {
            f.set_in(
                "api_stage/api",
                "method_settings",
                "/*~1*/metrics_enabled",
                json!(false),
            )
        },
        &["api.method-settings", "stack.converged"],
    ),
    (
        "cache cluster off",
        |f| f.set_in("api_stage/api", "cache_cluster", "/enabled", json!(false)),
        &["api.cache-cluster-encrypted", "stack.converged"],
    ),
    (
        "cache unencrypted",
        |f| {
            f.set_in(
                "api_stage/api",
                "method_settings",
                "/transactions~1{id}~1GET/cache_data_encrypted",
                json!(false),
            )
        },
        &[
            "api.cache-cluster-encrypted",
            "api.method-settings",
            "stack.converged",
        ],
    ),
    (
        "POST cached",
        |f| {
            f.set_in(
                "api_stage/api",
                "method_settings",
                "/*~1*/caching_enabled",
                json!(true),
            )
        },
        &[
            "api.caching-gets-only",
            "api.method-settings",
            "stack.converged",
        ],
    ),
    (
        "TTL",
        |f| {
            f.set_in(
                "api_stage/api",
                "method_settings",
                "/transactions~1{id}~1GET/cache_ttl_in_seconds",
                json!(60),
            )
        },
        &[
            "api.caching-gets-only",
            "api.method-settings",
            "stack.converged",
        ],
    ),
    (
        "Cache-Control honoured",
        |f| {
            f.set_in(
                "api_stage/api",
                "method_settings",
                "/transactions~1{id}~1GET/unauthorized_cache_control_header_strategy",
                json!("SUCCEED_WITHOUT_RESPONSE_HEADER"),
            )
        },
        &[
            "api.cache-control-403",
            "api.method-settings",
            "stack.converged",
        ],
    ),
    (
        "cache keys",
        |f| {
            f.set_in(
                "rest_api/api",
                "methods",
                "/GET ~1transactions~1{id}/integration/cache_key_parameters",
                json!([]),
            )
        },
        &["api.cache-keys", "stack.converged"],
    ),
    (
        "usage plan",
        |f| f.set_in("usage_plan/api", "throttle", "/burst_limit", json!(1)),
        &["api.usage-plan-and-key", "stack.converged"],
    ),
    (
        "account role",
        |f| f.set("api_account/account", "cloudwatch_role_arn", json!(null)),
        &["api.access-logging", "stack.converged"],
    ),
    (
        "topic unencrypted",
        |f| f.set("topic/notifications", "kms_master_key_id", json!(null)),
        &["sns.topics", "sqs.kms", "stack.converged"],
    ),
    (
        "alarm silent",
        |f| {
            f.set(
                "alarm/transaction-validator-error-rate",
                "ok_actions",
                json!([]),
            )
        },
        &[
            "cloudwatch.alarms-notify-topic",
            "cloudwatch.error-rate-alarms",
            "stack.converged",
        ],
    ),
    (
        "error-rate threshold",
        |f| {
            f.set(
                "alarm/reporting-processor-error-rate",
                "threshold",
                json!(5.0),
            )
        },
        &["cloudwatch.error-rate-alarms", "stack.converged"],
    ),
    (
        "throttles threshold",
        |f| {
            f.set(
                "alarm/analytics-processor-throttles",
                "threshold",
                json!(3.0),
            )
        },
        &["cloudwatch.throttle-alarms", "stack.converged"],
    ),
    (
        "concurrency threshold",
        |f| f.set("alarm/account-concurrency", "threshold", json!(500.0)),
        &[
            "cloudwatch.concurrency-alarm",
            "cloudwatch.concurrency-real-limit",
            "stack.converged",
        ],
    ),
    (
        "raised account limit",
        |f| {
            f.extra.account_concurrency = Some(Ok(AccountConcurrency {
                limit: 3000,
                unreserved: 2900,
            }));
        },
        &["cloudwatch.concurrency-real-limit"],
    ),
    (
        "DLQ alarm",
        |f| f.set("alarm/analytics-dlq-messages", "threshold", json!(10.0)),
        &["cloudwatch.dlq-alarms", "stack.converged"],
    ),
    (
        "5XX alarm",
        |f| f.set("alarm/api-5xx-rate", "threshold", json!(50.0)),
        &["cloudwatch.api-alarms", "stack.converged"],
    ),
    (
        "table alarm",
        |f| {
            f.set(
                "alarm/table-throttles",
                "treat_missing_data",
                json!("breaching"),
            )
        },
        &["cloudwatch.table-throttle-alarm", "stack.converged"],
    ),
    (
        "dashboard emptied",
        |f| {
            f.set(
                "dashboard/overview",
                "dashboard_body",
                json!({"widgets": []}),
            )
        },
        &["cloudwatch.dashboard", "stack.converged"],
    ),
];

#[test]
fn each_changed_value_fails_exactly_the_checks_that_guard_it() {
    for (what, mutate, expected) in CASES {
        let mut f = defaults();
        mutate(&mut f);
        let report = f.audit(Target::Aws);
        assert_eq!(
            failed(&report),
            ids(expected),
            "{what}:\n{}",
            report.render_text()
        );
        let text = report.render_text();
        assert!(text.contains("fix: "), "{what}: a failure names its fix");
    }
}

#[test]
fn provisioned_billing_audits_its_scaling_targets_and_policies() {
    let mut config = Config::defaults().unwrap();
    config.dynamodb.billing_mode = TableBilling::Provisioned;
    let mut f = fixture(config);
    assert!(f.audit(Target::Aws).passed());
    let policy = f
        .observed
        .resources
        .keys()
        .find(|k| k.kind() == crate::spec::ResourceKind::ScalingPolicy)
        .unwrap()
        .clone();
    f.observed.resources.remove(&policy);
    assert_eq!(
        failed(&f.audit(Target::Aws)),
        ids(&[
            "names.every-resource-exists",
            "dynamodb.autoscaling-70",
            "stack.converged"
        ])
    );
}

#[test]
fn every_check_but_the_archive_one_has_a_case_that_fails_it() {
    let mut covered: BTreeSet<String> = CASES
        .iter()
        .flat_map(|(_, _, expected)| expected.iter().map(|s| (*s).to_owned()))
        .collect();
    covered.insert("dynamodb.autoscaling-70".to_owned());
    // Logs missing from the archive are not a failure by themselves: a stack nobody called
    // has written none; the check asks to call it and audit again.
    covered.insert("s3.logs-reach-bucket".to_owned());
    let all: BTreeSet<String> = CHECKS.iter().map(|c| c.id.to_owned()).collect();
    assert_eq!(
        all.difference(&covered).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
}

#[test]
fn the_archive_check_asks_for_traffic_when_the_bucket_is_empty_and_reports_read_errors() {
    let status_of = |f: &Fixture| {
        let report = f.audit(Target::Aws);
        let r = report
            .results
            .iter()
            .find(|r| r.id == "s3.logs-reach-bucket")
            .unwrap();
        (r.status, r.reason.clone().unwrap_or_default())
    };
    let mut f = defaults();
    assert_eq!(status_of(&f).0, Status::Pass);
    f.extra.archived_log_objects = Some(Ok(0));
    let (status, reason) = status_of(&f);
    assert_eq!(status, Status::NotCheckableHere);
    assert!(reason.contains("invoke the API"), "{reason}");
    f.extra.archived_log_objects = Some(Err("AccessDenied".to_owned()));
    let (status, reason) = status_of(&f);
    assert_eq!(status, Status::NotCheckableHere);
    assert!(reason.contains("AccessDenied"), "{reason}");
}

#[test]
fn json_lines_carry_every_check_and_a_summary_and_text_shows_observed_against_expected() {
    let mut f = defaults();
    f.set("function/transaction-validator", "memory_size", json!(1024));
    let report = f.audit(Target::Aws);
    let lines: Vec<Json> = report
        .render_json()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), CHECKS.len() + 1);
    let memory = lines.iter().find(|l| l["id"] == "lambda.memory").unwrap();
    assert_eq!(memory["event"], "audit_check");
    assert_eq!(memory["status"], "fail");
    assert_eq!(memory["refs"], json!(["R3"]));
    assert_eq!(memory["findings"][0]["observed"], 1024);
    assert_eq!(memory["findings"][0]["expected"], 1536);
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "audit_summary");
    assert_eq!(summary["fail"], 2);
    assert_eq!(
        summary["failed"],
        json!(["lambda.memory", "stack.converged"])
    );
    let text = report.render_text();
    assert!(
        text.contains("function/transaction-validator `memory_size`: observed 1024, expected 1536"),
        "{text}"
    );
    assert!(text.contains("2 fail"), "{text}");
}
