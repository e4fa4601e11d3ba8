//! Tests of every part of the stack builder: each STACK.md bullet the graph encodes has an
//! assertion here, on the typed spec or on the spec's fields resolved against outputs shaped
//! like AWS's (`made_up_outputs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use super::api::ROUTES;
use super::dashboard::validate_dashboard_body;
use super::iam_policies::{WILDCARD_ACTIONS, validate_policy};
use super::*;
use crate::config::{Config, TableBilling};
use crate::spec::{
    AlarmMetric, CheckedGraph, OnChange, OutputKey, OutputRef, OutputTable, Outputs, QueryBody,
    field,
};

pub(super) fn env() -> Environment {
    Environment {
        account_id: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        partition: "aws".to_owned(),
    }
}

pub(super) fn graph_with(config: &Config, inputs: &StackInputs) -> CheckedGraph {
    build(config, &env(), inputs).check().unwrap()
}

pub(super) fn default_graph() -> CheckedGraph {
    graph_with(&Config::defaults().unwrap(), &test_inputs())
}

pub(super) fn get<'g>(
    graph: &'g CheckedGraph,
    kind: ResourceKind,
    logical: &str,
) -> &'g ResourceSpec {
    graph
        .get(&id(kind, logical))
        .unwrap_or_else(|| panic!("`{}` is not in the stack", id(kind, logical)))
}

/// The outputs of every resource of `graph`, as AWS would report them.
pub(super) fn all_outputs(graph: &CheckedGraph) -> BTreeMap<ResourceId, Outputs> {
    graph
        .in_order()
        .map(|s| (s.id.clone(), made_up_outputs(s, &env())))
        .collect()
}

/// Every field of `spec`, resolved against the made-up outputs of `graph`.
pub(super) fn resolved(graph: &CheckedGraph, spec: &ResourceSpec) -> BTreeMap<String, Json> {
    let env = env();
    let outputs = all_outputs(graph);
    let table = OutputTable {
        env: &env,
        outputs: &outputs,
    };
    spec.fields()
        .into_iter()
        .map(|(name, f)| {
            let value = f
                .value
                .resolve(&table)
                .unwrap_or_else(|e| panic!("{}.{name}: {e}", spec.id));
            (name.to_owned(), value)
        })
        .collect()
}

pub(super) fn field_of(
    graph: &CheckedGraph,
    kind: ResourceKind,
    logical: &str,
    name: &str,
) -> Json {
    let spec = get(graph, kind, logical);
    resolved(graph, spec)
        .remove(name)
        .unwrap_or_else(|| panic!("`{}` has no field `{name}`", spec.id))
}

fn ids_of(graph: &CheckedGraph, kind: ResourceKind) -> Vec<String> {
    graph
        .in_order()
        .filter(|s| s.kind() == kind)
        .map(|s| s.id.logical().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn the_whole_stack_checks_and_every_reference_resolves() {
    let graph = default_graph();
    for spec in graph.in_order() {
        // Panics on any field that cannot be resolved once every resource exists.
        resolved(&graph, spec);
    }
    let count = |kind| ids_of(&graph, kind).len();
    assert_eq!(count(ResourceKind::Function), 4);
    assert_eq!(count(ResourceKind::LambdaAlias), 4);
    assert_eq!(
        count(ResourceKind::Role),
        7,
        "4 functions, firehose, logs-to-firehose, API logs"
    );
    assert_eq!(count(ResourceKind::LogGroup), 5);
    assert_eq!(count(ResourceKind::SubscriptionFilter), 5);
    assert_eq!(count(ResourceKind::Alarm), 15);
    assert_eq!(count(ResourceKind::Dashboard), 1);
    assert_eq!(count(ResourceKind::LambdaPermission), 3);
    // On-demand by default: no auto scaling.
    assert_eq!(count(ResourceKind::ScalingTarget), 0);
}

#[test]
fn logical_ids_are_the_ones_other_parts_of_txdeploy_use() {
    let graph = default_graph();
    for logical in [
        "function/transaction-validator",
        "function/notification-handler",
        "function/analytics-processor",
        "function/reporting-processor",
        "lambda_alias/transaction-validator",
        "role/transaction-validator",
        "role/firehose",
        "role/logs-to-firehose",
        "log_group/transaction-validator",
        "log_group/api-access",
        "table/transactions",
        "rest_api/api",
        "api_deployment/api",
        "api_stage/api",
    ] {
        let id: ResourceId = logical.parse().unwrap();
        assert!(graph.get(&id).is_some(), "{logical} missing");
    }
}

#[test]
fn physical_names_derive_from_prefix_and_env_and_every_taggable_resource_is_tagged() {
    let mut config = Config::defaults().unwrap();
    config.stack.tags.insert("team".into(), "payments".into());
    let graph = graph_with(&config, &test_inputs());
    for spec in graph.in_order() {
        let name = &spec.physical_name;
        let derived = name.starts_with("tx-dev-")
            || name.starts_with("alias/tx-dev-")
            || name.starts_with("/aws/lambda/tx-dev-")
            || name.starts_with("/aws/apigateway/tx-dev-")
            || (spec.kind() == ResourceKind::ApiStage && name == "prod")
            || spec.kind() == ResourceKind::ApiAccount;
        assert!(
            derived,
            "{}: `{name}` is not derived from the config",
            spec.id
        );
        if spec.kind().is_taggable() {
            assert_eq!(spec.tags[STACK_TAG], "tx-dev", "{}", spec.id);
            assert_eq!(spec.tags[LOGICAL_TAG], spec.id.to_string());
            assert_eq!(spec.tags["team"], "payments", "{}", spec.id);
            assert_eq!(
                spec.fields().contains_key(field::TAGS),
                spec.kind().compares_tags(),
                "{}",
                spec.id
            );
        } else {
            assert!(spec.tags.is_empty(), "{} cannot be tagged in AWS", spec.id);
            assert!(!spec.fields().contains_key(field::TAGS));
        }
    }
    assert_eq!(
        get(&graph, ResourceKind::Function, "transaction-validator").physical_name,
        "tx-dev-transaction-validator"
    );
    assert_eq!(
        get(&graph, ResourceKind::Table, "transactions").physical_name,
        "tx-dev-transactions"
    );
}

#[test]
fn keys_rotate_and_their_policies_are_valid() {
    let graph = default_graph();
    for name in KEYS {
        let f = resolved(&graph, get(&graph, ResourceKind::KmsKey, name));
        assert_eq!(f[field::ROTATION_ENABLED], json!(true));
        validate_policy(&f[field::KEY_POLICY]).unwrap();
        let alias = get(&graph, ResourceKind::KmsAlias, name);
        assert_eq!(alias.physical_name, format!("alias/tx-dev-{name}"));
    }
    let logs = field_of(&graph, ResourceKind::KmsKey, "logs", field::KEY_POLICY);
    assert_eq!(
        logs["Statement"][1]["Principal"]["Service"],
        "logs.us-east-1.amazonaws.com"
    );
    let sqs = field_of(&graph, ResourceKind::KmsKey, "sqs", field::KEY_POLICY);
    assert_eq!(
        sqs["Statement"][1]["Principal"]["Service"],
        "cloudwatch.amazonaws.com"
    );
}

#[test]
fn the_bucket_is_versioned_kms_encrypted_private_tls_only_and_archives_logs() {
    // F13, F14, F15, R5.
    let graph = default_graph();
    let f = resolved(&graph, get(&graph, ResourceKind::Bucket, "logs"));
    assert_eq!(f[field::VERSIONING], "Enabled");
    assert_eq!(f[field::ENCRYPTION]["sse_algorithm"], "aws:kms");
    assert_eq!(f[field::ENCRYPTION]["bucket_key"], true);
    assert!(
        f[field::ENCRYPTION]["kms_key"]
            .as_str()
            .unwrap()
            .contains(":key/0000-s3-key-id")
    );
    assert!(
        f[field::PUBLIC_ACCESS_BLOCK]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == true)
    );
    assert_eq!(f[field::BUCKET_POLICY]["Statement"][0]["Effect"], "Deny");
    assert_eq!(f[field::LIFECYCLE]["prefix"], "logs/");
    assert_eq!(f[field::LIFECYCLE]["glacier_after_days"], 7);
    assert_eq!(f[field::LIFECYCLE]["expire_after_days"], 365);
}

#[test]
fn work_queues_redrive_to_their_own_dead_letter_queues() {
    // F19, R4.
    let graph = default_graph();
    for queue in WORK_QUEUES {
        let redrive = field_of(&graph, ResourceKind::Queue, queue, field::REDRIVE_POLICY);
        assert_eq!(
            redrive["deadLetterTargetArn"],
            format!("arn:aws:sqs:us-east-1:123456789012:tx-dev-{queue}-dlq")
        );
        assert_eq!(redrive["maxReceiveCount"], 3);
    }
    for dlq in messaging::dead_letter_queues() {
        let f = resolved(&graph, get(&graph, ResourceKind::Queue, &dlq));
        assert_eq!(f[field::MESSAGE_RETENTION], 1_209_600, "{dlq}");
        assert!(
            f[field::KMS_MASTER_KEY_ID]
                .as_str()
                .unwrap()
                .contains("0000-sqs-key-id")
        );
    }
}

fn function_spec(graph: &CheckedGraph, handler: Handler) -> &crate::spec::FunctionSpec {
    match &get(graph, ResourceKind::Function, handler.logical()).body {
        SpecBody::Function(f) => f,
        other => panic!("not a function: {other:?}"),
    }
}

#[test]
fn functions_run_the_bundle_on_provided_al2023_with_tracing_and_profiled_memory() {
    // R3, R8, F8, F10, F16.
    let inputs = StackInputs {
        bundle: BundleInfo {
            code_sha256: "c2hhMjU2".into(),
            architecture: "arm64".into(),
        },
        account_concurrency_limit: None,
    };
    let graph = graph_with(&Config::defaults().unwrap(), &inputs);
    let memory: Vec<u32> = Handler::ALL
        .iter()
        .map(|h| function_spec(&graph, *h).memory_mb)
        .collect();
    assert_eq!(memory, [1536, 512, 256, 256]);
    for handler in Handler::ALL {
        let f = resolved(
            &graph,
            get(&graph, ResourceKind::Function, handler.logical()),
        );
        assert_eq!(f[field::RUNTIME], "provided.al2023");
        assert_eq!(f[field::HANDLER], "bootstrap");
        assert_eq!(f[field::ARCHITECTURES], json!(["arm64"]));
        assert_eq!(f[field::CODE_SHA256], "c2hhMjU2");
        assert_eq!(f[field::TRACING_MODE], "Active");
        assert_eq!(f[field::ENVIRONMENT][HANDLER_ENV_VAR], handler.logical());
        assert_eq!(
            f[field::ENVIRONMENT]["METRICS_NAMESPACE"],
            METRICS_NAMESPACE
        );
        assert_eq!(
            f[field::ROLE],
            format!(
                "arn:aws:iam::123456789012:role/tx-dev-{}",
                handler.logical()
            )
        );
        // F7: its own log group, created (with retention) before the function.
        assert_eq!(
            f[field::LOGGING_CONFIG]["log_group"],
            format!("/aws/lambda/tx-dev-{}", handler.logical())
        );
        assert!(
            graph
                .dependencies(&handler.function_id())
                .contains(&handler.log_group_id())
        );
    }
    assert_eq!(
        function_spec(&graph, Handler::TransactionValidator).timeout_seconds,
        10
    );
    assert_eq!(
        function_spec(&graph, Handler::ReportingProcessor).timeout_seconds,
        30
    );
    let name = get(&graph, ResourceKind::Function, "transaction-validator").fields()
        [field::FUNCTION_NAME]
        .clone();
    assert_eq!(
        name.on_change,
        OnChange::Replace("a Lambda function cannot be renamed")
    );
}

#[test]
fn only_the_validator_reserves_concurrency_and_zero_reserves_nothing() {
    // F3: the reservation is in the spec, never silently dropped.
    let graph = default_graph();
    let reserved = |g: &CheckedGraph, h| {
        field_of(
            g,
            ResourceKind::Function,
            Handler::logical(h),
            field::RESERVED_CONCURRENCY,
        )
    };
    assert_eq!(reserved(&graph, Handler::TransactionValidator), 100);
    for h in [
        Handler::NotificationHandler,
        Handler::AnalyticsProcessor,
        Handler::ReportingProcessor,
    ] {
        assert_eq!(reserved(&graph, h), Json::Null);
    }
    let mut config = Config::defaults().unwrap();
    config.lambda.reserved_concurrency = 0;
    config.lambda.provisioned_concurrency = 5;
    let graph = graph_with(&config, &test_inputs());
    assert_eq!(reserved(&graph, Handler::TransactionValidator), Json::Null);
    let provisioned = field_of(
        &graph,
        ResourceKind::LambdaAlias,
        "transaction-validator",
        field::PROVISIONED_CONCURRENCY,
    );
    assert_eq!(provisioned, 5);
}

#[test]
fn environments_hold_the_resolved_names_urls_and_arns_the_handlers_read() {
    let graph = default_graph();
    let env = |h: Handler| {
        field_of(
            &graph,
            ResourceKind::Function,
            h.logical(),
            field::ENVIRONMENT,
        )
    };
    let validator = env(Handler::TransactionValidator);
    assert_eq!(validator["TRANSACTIONS_TABLE"], "tx-dev-transactions");
    assert_eq!(
        validator["ANALYTICS_QUEUE_URL"],
        "https://sqs.us-east-1.amazonaws.com/123456789012/tx-dev-analytics"
    );
    assert_eq!(
        validator["REPORTING_QUEUE_URL"],
        "https://sqs.us-east-1.amazonaws.com/123456789012/tx-dev-reporting"
    );
    assert_eq!(
        validator["NOTIFICATION_FUNCTION"],
        "arn:aws:lambda:us-east-1:123456789012:function:tx-dev-notification-handler:live"
    );
    assert!(validator["PAGINATION_KEY"].as_str().unwrap().len() >= 16);
    assert_eq!(
        env(Handler::NotificationHandler)["NOTIFICATIONS_TOPIC_ARN"],
        "arn:aws:sns:us-east-1:123456789012:tx-dev-notifications"
    );
    assert_eq!(
        env(Handler::AnalyticsProcessor)["TRANSACTIONS_TABLE"],
        "tx-dev-transactions"
    );
}

#[test]
fn every_function_is_invoked_through_a_live_alias_on_its_published_version() {
    let graph = default_graph();
    for handler in Handler::ALL {
        let alias = get(&graph, ResourceKind::LambdaAlias, handler.logical());
        assert_eq!(
            alias.physical_name,
            format!("tx-dev-{}:live", handler.logical())
        );
        let SpecBody::LambdaAlias(a) = &alias.body else {
            panic!()
        };
        assert_eq!(a.version, OutputRef::version(&handler.function_id()));
        assert_eq!(a.alias_name, LIVE_ALIAS);
        assert_eq!(resolved(&graph, alias)[field::FUNCTION_VERSION], "7");
    }
}

#[test]
fn only_the_asynchronous_notification_handler_has_an_on_failure_destination() {
    // F2 as STACK.md words it: not on the API function, where it never fires.
    let graph = default_graph();
    assert_eq!(
        ids_of(&graph, ResourceKind::EventInvokeConfig),
        ["notification-handler"]
    );
    let spec = get(
        &graph,
        ResourceKind::EventInvokeConfig,
        "notification-handler",
    );
    let f = resolved(&graph, spec);
    assert_eq!(f[field::QUALIFIER], "live");
    assert_eq!(f[field::MAXIMUM_RETRY_ATTEMPTS], 2);
    assert_eq!(f[field::MAXIMUM_EVENT_AGE], 3600);
    assert_eq!(
        f[field::DESTINATION_CONFIG]["on_failure"],
        "arn:aws:sqs:us-east-1:123456789012:tx-dev-notification-failures"
    );
    assert!(
        spec.depends_on
            .contains(&Handler::NotificationHandler.alias_id())
    );
}

#[test]
fn processors_consume_their_queue_through_the_alias_reporting_batch_failures() {
    // R4, F19: SQS consumers rely on the redrive policy and report partial failures.
    let graph = default_graph();
    assert_eq!(
        sorted(ids_of(&graph, ResourceKind::EventSourceMapping)),
        ["analytics-processor", "reporting-processor"]
    );
    for (handler, queue) in [
        (Handler::AnalyticsProcessor, "analytics"),
        (Handler::ReportingProcessor, "reporting"),
    ] {
        let f = resolved(
            &graph,
            get(&graph, ResourceKind::EventSourceMapping, handler.logical()),
        );
        assert_eq!(
            f[field::EVENT_SOURCE_ARN],
            format!("arn:aws:sqs:us-east-1:123456789012:tx-dev-{queue}")
        );
        assert_eq!(
            f[field::FUNCTION_NAME],
            format!(
                "arn:aws:lambda:us-east-1:123456789012:function:tx-dev-{}:live",
                handler.logical()
            )
        );
        assert_eq!(
            f[field::FUNCTION_RESPONSE_TYPES],
            json!(["ReportBatchItemFailures"])
        );
        assert_eq!(f[field::BATCH_SIZE], 10);
        assert_eq!(f[field::ENABLED], true);
    }
}

#[test]
fn log_groups_keep_logs_for_the_configured_days_encrypted_and_ship_them_to_the_archive() {
    // F7, R5.
    let mut config = Config::defaults().unwrap();
    config.logs.retention_days = 14;
    let graph = graph_with(&config, &test_inputs());
    let groups = ids_of(&graph, ResourceKind::LogGroup);
    assert_eq!(sorted(groups.clone()).len(), 5);
    for group in &groups {
        let spec = get(&graph, ResourceKind::LogGroup, group);
        let f = resolved(&graph, spec);
        assert_eq!(f[field::RETENTION_IN_DAYS], 14, "{group}");
        assert!(
            f[field::KMS_KEY_ID]
                .as_str()
                .unwrap()
                .contains("0000-logs-key-id")
        );
        let filter = resolved(&graph, get(&graph, ResourceKind::SubscriptionFilter, group));
        assert_eq!(filter[field::LOG_GROUP_NAME], spec.physical_name.as_str());
        assert_eq!(filter[field::FILTER_PATTERN], "");
        assert_eq!(
            filter[field::DESTINATION_ARN],
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/tx-dev-logs-archive"
        );
        assert_eq!(
            filter[field::ROLE_ARN],
            "arn:aws:iam::123456789012:role/tx-dev-logs-to-firehose"
        );
    }
    assert_eq!(
        get(&graph, ResourceKind::LogGroup, "api-access").physical_name,
        "/aws/apigateway/tx-dev-api-access"
    );
}

#[test]
fn the_delivery_stream_writes_gzip_under_the_archive_prefix_with_the_s3_key() {
    let graph = default_graph();
    let destination = field_of(
        &graph,
        ResourceKind::DeliveryStream,
        "logs-archive",
        field::S3_DESTINATION,
    );
    assert_eq!(
        destination["bucket_arn"],
        "arn:aws:s3:::tx-dev-logs-123456789012-us-east-1"
    );
    assert_eq!(destination["prefix"], "logs/");
    assert_eq!(destination["error_output_prefix"], "logs/errors/");
    assert_eq!(destination["compression_format"], "GZIP");
    assert_eq!(
        destination["role_arn"],
        "arn:aws:iam::123456789012:role/tx-dev-firehose"
    );
    assert!(
        destination["kms_key_arn"]
            .as_str()
            .unwrap()
            .contains("0000-s3-key-id")
    );
    assert_eq!(
        destination["buffering_hints"],
        json!({"size_in_mbs": 5, "interval_in_seconds": 300})
    );
}

#[test]
fn the_table_is_keyed_indexed_encrypted_recoverable_and_protected() {
    // F18, R2, R10.
    let mut config = Config::defaults().unwrap();
    config.dynamodb.pitr_recovery_days = 14;
    let graph = graph_with(&config, &test_inputs());
    let f = resolved(&graph, get(&graph, ResourceKind::Table, TABLE));
    assert_eq!(
        f[field::KEY_SCHEMA],
        json!({"partition_key": {"name": "transaction_id", "type": "S"}, "sort_key": null})
    );
    assert_eq!(
        f[field::GLOBAL_SECONDARY_INDEXES],
        json!([{
            "index_name": "merchant-date-index",
            "partition_key": {"name": "merchant_id", "type": "S"},
            "sort_key": {"name": "transaction_date", "type": "S"},
            "projection_type": "ALL",
        }])
    );
    assert_eq!(f[field::SSE]["sse_type"], "KMS");
    assert!(
        f[field::SSE]["kms_master_key_arn"]
            .as_str()
            .unwrap()
            .contains("0000-dynamodb-key-id")
    );
    assert_eq!(
        f[field::POINT_IN_TIME_RECOVERY],
        json!({"enabled": true, "recovery_period_in_days": 14})
    );
    assert_eq!(f[field::DELETION_PROTECTION], true);
    assert_eq!(
        f[field::TTL],
        json!({"attribute_name": "expires_at", "enabled": true})
    );
    assert_eq!(f[field::BILLING_MODE], "PAY_PER_REQUEST");
    let fields = get(&graph, ResourceKind::Table, TABLE).fields();
    assert!(matches!(
        fields[field::KEY_SCHEMA].on_change,
        OnChange::Replace(_)
    ));
    assert_eq!(
        fields[field::GLOBAL_SECONDARY_INDEXES].on_change,
        OnChange::Update
    );
    assert!(ResourceKind::Table.is_data_bearing());
}

#[test]
fn provisioned_billing_scales_reads_and_writes_of_the_table_and_every_index_at_70_percent() {
    // F9, R6: the scaling exists in the graph (not a helper nobody calls).
    let mut config = Config::defaults().unwrap();
    config.dynamodb.billing_mode = TableBilling::Provisioned;
    config.dynamodb.read_capacity = Some(20);
    let graph = graph_with(&config, &test_inputs());
    let SpecBody::Table(table) = &get(&graph, ResourceKind::Table, TABLE).body else {
        panic!()
    };
    let capacity = table.initial_capacity.unwrap();
    assert_eq!(
        (capacity.read_units, capacity.write_units),
        (Some(20), None)
    );
    assert!(
        table
            .global_secondary_indexes
            .iter()
            .all(|g| g.initial_capacity.is_some())
    );
    let expected = [
        "merchant-date-index-read",
        "merchant-date-index-write",
        "table-read",
        "table-write",
    ];
    assert_eq!(
        sorted(ids_of(&graph, ResourceKind::ScalingTarget)),
        expected
    );
    assert_eq!(
        sorted(ids_of(&graph, ResourceKind::ScalingPolicy)),
        expected
    );
    let target = resolved(
        &graph,
        get(
            &graph,
            ResourceKind::ScalingTarget,
            "merchant-date-index-write",
        ),
    );
    assert_eq!(
        target[field::RESOURCE_ID],
        "table/tx-dev-transactions/index/merchant-date-index"
    );
    assert_eq!(
        target[field::SCALABLE_DIMENSION],
        "dynamodb:index:WriteCapacityUnits"
    );
    assert_eq!(
        (
            target[field::MIN_CAPACITY].clone(),
            target[field::MAX_CAPACITY].clone()
        ),
        (json!(5), json!(100))
    );
    for logical in expected {
        let policy = get(&graph, ResourceKind::ScalingPolicy, logical);
        let tracking = &resolved(&graph, policy)[field::TARGET_TRACKING];
        assert_eq!(tracking["target_value"], json!(70.0));
        let metric = if logical.ends_with("read") {
            "DynamoDBReadCapacityUtilization"
        } else {
            "DynamoDBWriteCapacityUtilization"
        };
        assert_eq!(tracking["predefined_metric_type"], metric);
        assert_eq!(
            policy.depends_on,
            [id(ResourceKind::ScalingTarget, logical)]
        );
    }
    assert_eq!(
        field_of(&graph, ResourceKind::Table, TABLE, field::BILLING_MODE),
        "PROVISIONED"
    );
}

fn stage_fields(graph: &CheckedGraph) -> BTreeMap<String, Json> {
    resolved(graph, get(graph, ResourceKind::ApiStage, "api"))
}

#[test]
fn integrations_use_the_apigateway_lambda_path_to_the_validator_alias() {
    // F1: not the function's invoke ARN, not the unqualified function.
    let graph = default_graph();
    let methods = field_of(&graph, ResourceKind::RestApi, "api", field::METHODS);
    let expected = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
                    arn:aws:lambda:us-east-1:123456789012:function:tx-dev-transaction-validator:live/invocations";
    assert_eq!(methods.as_object().unwrap().len(), 3);
    for (key, method) in methods.as_object().unwrap() {
        assert_eq!(method["integration"]["type"], "AWS_PROXY", "{key}");
        assert_eq!(method["integration"]["http_method"], "POST");
        assert_eq!(method["integration"]["uri"], expected, "{key}");
    }
}

#[test]
fn each_route_has_its_own_permission_scoped_to_stage_method_and_path() {
    // F1: `{execution ARN}/{stage}/{METHOD}/{path}`, path parameters as `*`, never `/*/*`.
    let graph = default_graph();
    let arns: BTreeMap<String, Json> = ROUTES
        .iter()
        .map(|r| {
            let f = resolved(
                &graph,
                get(&graph, ResourceKind::LambdaPermission, r.permission),
            );
            assert_eq!(f[field::PRINCIPAL], "apigateway.amazonaws.com");
            assert_eq!(f[field::ACTION], "lambda:InvokeFunction");
            assert_eq!(f[field::QUALIFIER], "live");
            assert_eq!(f[field::SOURCE_ACCOUNT], "123456789012");
            (r.permission.to_owned(), f[field::SOURCE_ARN].clone())
        })
        .collect();
    let base = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod";
    assert_eq!(
        arns["post-transactions"],
        format!("{base}/POST/transactions")
    );
    assert_eq!(
        arns["get-transaction"],
        format!("{base}/GET/transactions/*")
    );
    assert_eq!(
        arns["list-merchant-transactions"],
        format!("{base}/GET/merchants/*/transactions")
    );
    let spec = get(&graph, ResourceKind::LambdaPermission, "get-transaction");
    assert!(
        spec.fields()
            .values()
            .all(|f| matches!(f.on_change, OnChange::Replace(_)))
    );
}

#[test]
fn the_api_definition_has_the_routes_models_validators_and_cache_keys() {
    let graph = default_graph();
    let f = resolved(&graph, get(&graph, ResourceKind::RestApi, "api"));
    assert_eq!(f[field::ENDPOINT_TYPES], json!(["REGIONAL"]));
    assert_eq!(
        f[field::RESOURCES],
        json!([
            "/merchants",
            "/merchants/{merchant_id}",
            "/merchants/{merchant_id}/transactions",
            "/transactions",
            "/transactions/{id}"
        ])
    );
    let post = &f[field::METHODS]["POST /transactions"];
    assert_eq!(post["request_validator"], "body");
    assert_eq!(
        post["request_models"]["application/json"],
        "TransactionRequest"
    );
    assert_eq!(post["integration"]["cache_key_parameters"], json!([]));
    let schema = &f[field::MODELS]["TransactionRequest"]["schema"];
    assert_eq!(
        schema["required"],
        json!(["transaction_id", "merchant_id", "amount"])
    );
    assert_eq!(
        schema["properties"]["amount"]["type"],
        json!(["number", "string", "null"])
    );
    let get_one = &f[field::METHODS]["GET /transactions/{id}"];
    assert_eq!(
        get_one["request_parameters"],
        json!({"method.request.path.id": true})
    );
    assert_eq!(
        get_one["integration"]["cache_key_parameters"],
        json!(["method.request.path.id"])
    );
    let list = &f[field::METHODS]["GET /merchants/{merchant_id}/transactions"];
    assert_eq!(
        list["integration"]["cache_key_parameters"],
        json!([
            "method.request.path.merchant_id",
            "method.request.querystring.from",
            "method.request.querystring.limit",
            "method.request.querystring.next",
            "method.request.querystring.to",
        ])
    );
    assert_eq!(
        list["request_parameters"]["method.request.querystring.from"],
        false
    );
    for method in f[field::METHODS].as_object().unwrap().values() {
        assert_eq!(method["api_key_required"], false);
        let validator = method["request_validator"].as_str().unwrap();
        assert!(f[field::REQUEST_VALIDATORS].get(validator).is_some());
    }
    assert_eq!(
        f[field::GATEWAY_RESPONSES]["BAD_REQUEST_BODY"]["status_code"],
        "400"
    );
}

fn deployment_sha(graph: &CheckedGraph) -> String {
    let SpecBody::ApiDeployment(d) = &get(graph, ResourceKind::ApiDeployment, "api").body else {
        panic!()
    };
    d.definition_sha256.clone()
}

#[test]
fn a_changed_definition_is_a_new_deployment_and_nothing_else_is() {
    let graph = default_graph();
    let sha = deployment_sha(&graph);
    assert_eq!(sha.len(), 64);
    assert_eq!(
        sha,
        deployment_sha(&default_graph()),
        "the hash is deterministic"
    );
    let mut config = Config::defaults().unwrap();
    config.api.cache_ttl_seconds = 60;
    config.lambda.validator_memory_mb = 2048;
    assert_eq!(
        sha,
        deployment_sha(&graph_with(&config, &test_inputs())),
        "stage and function settings need no deployment"
    );
    config.api.api_key_required = true;
    assert_ne!(
        sha,
        deployment_sha(&graph_with(&config, &test_inputs())),
        "methods changed"
    );
    let mut renamed = Config::defaults().unwrap();
    renamed.stack.env = "prod".into();
    assert_ne!(
        sha,
        deployment_sha(&graph_with(&renamed, &test_inputs())),
        "integrations target another alias"
    );
    let spec = get(&graph, ResourceKind::ApiDeployment, "api");
    assert_eq!(
        spec.fields()[field::DEFINITION_SHA256].on_change,
        OnChange::Replace("the API definition changed")
    );
    // A new route is served only once its permission exists.
    for route in ROUTES {
        assert!(
            spec.depends_on
                .contains(&id(ResourceKind::LambdaPermission, route.permission))
        );
    }
}

#[test]
fn the_stage_traces_logs_throttles_and_caches_only_the_get_routes_encrypted() {
    // F12, F17, R7.
    let graph = default_graph();
    let f = stage_fields(&graph);
    assert_eq!(f[field::STAGE_NAME], "prod");
    assert_eq!(f[field::TRACING_ENABLED], true);
    assert_eq!(f[field::DEPLOYMENT_ID], "dep0001");
    assert_eq!(
        f[field::CACHE_CLUSTER],
        json!({"enabled": true, "size": "0.5"})
    );
    assert_eq!(
        f[field::ACCESS_LOG_SETTINGS]["destination_arn"],
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/tx-dev-api-access"
    );
    let format: Json =
        serde_json::from_str(f[field::ACCESS_LOG_SETTINGS]["format"].as_str().unwrap()).unwrap();
    assert_eq!(format["requestId"], "$context.requestId");
    let settings = f[field::METHOD_SETTINGS].as_object().unwrap();
    let keys: Vec<&String> = settings.keys().collect();
    assert_eq!(
        keys,
        [
            "*/*",
            "merchants/{merchant_id}/transactions/GET",
            "transactions/{id}/GET"
        ]
    );
    let all = &settings["*/*"];
    assert_eq!(all["metrics_enabled"], true);
    assert_eq!(all["caching_enabled"], false);
    assert_eq!(all["throttling_rate_limit"], json!(500.0));
    assert_eq!(all["throttling_burst_limit"], 1000);
    for key in [
        "transactions/{id}/GET",
        "merchants/{merchant_id}/transactions/GET",
    ] {
        let s = &settings[key];
        assert_eq!(s["caching_enabled"], true);
        assert_eq!(s["cache_ttl_in_seconds"], 300);
        assert_eq!(s["cache_data_encrypted"], true);
        assert_eq!(s["require_authorization_for_cache_control"], true);
        assert_eq!(
            s["unauthorized_cache_control_header_strategy"],
            "FAIL_WITH_403"
        );
    }
    let spec = get(&graph, ResourceKind::ApiStage, "api");
    assert!(
        spec.depends_on
            .contains(&id(ResourceKind::ApiAccount, "account"))
    );
    let account = resolved(&graph, get(&graph, ResourceKind::ApiAccount, "account"));
    assert_eq!(
        account[field::CLOUDWATCH_ROLE_ARN],
        "arn:aws:iam::123456789012:role/tx-dev-api-gateway-logs"
    );
}

#[test]
fn the_usage_plan_throttles_and_meters_the_stage_with_a_key() {
    let graph = default_graph();
    let plan = resolved(&graph, get(&graph, ResourceKind::UsagePlan, "api"));
    assert_eq!(
        plan[field::THROTTLE],
        json!({"rate_limit": 500.0, "burst_limit": 1000})
    );
    assert_eq!(
        plan[field::QUOTA],
        json!({"limit": 1_000_000, "offset": 0, "period": "MONTH"})
    );
    assert_eq!(
        plan[field::API_STAGES],
        json!([{"api_id": "a1b2c3d4e5", "stage": "prod"}])
    );
    let key = resolved(&graph, get(&graph, ResourceKind::UsagePlanKey, "api"));
    assert_eq!(key[field::USAGE_PLAN_ID], "plan0001");
    assert_eq!(key[field::KEY_ID], "apikey0001");
    assert_eq!(
        field_of(&graph, ResourceKind::ApiKey, "api", field::ENABLED),
        true
    );
}

fn alarm(graph: &CheckedGraph, logical: &str) -> BTreeMap<String, Json> {
    resolved(graph, get(graph, ResourceKind::Alarm, logical))
}

#[test]
fn function_error_alarms_are_rates_by_metric_math_not_counts() {
    // F6.
    let graph = default_graph();
    for handler in Handler::ALL {
        let name = handler.logical();
        let f = alarm(&graph, &format!("{name}-error-rate"));
        let metrics = f[field::METRIC]["metrics"].as_array().unwrap();
        let ids: Vec<&str> = metrics.iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["errors", "invocations", "error_rate"]);
        assert_eq!(metrics[0]["metric"]["metric_name"], "Errors");
        assert_eq!(
            metrics[0]["metric"]["dimensions"]["FunctionName"],
            format!("tx-dev-{name}")
        );
        assert_eq!(
            metrics[2]["expression"],
            "IF(invocations > 0, 100 * errors / invocations, 0)"
        );
        let returning: Vec<bool> = metrics.iter().map(|m| m["return_data"] == true).collect();
        assert_eq!(returning, [false, false, true]);
        assert_eq!(f[field::THRESHOLD], json!(1.0));
        assert_eq!(f[field::TREAT_MISSING_DATA], "notBreaching");
        let throttles = alarm(&graph, &format!("{name}-throttles"));
        assert_eq!(throttles[field::METRIC]["metric_name"], "Throttles");
        assert_eq!(throttles[field::THRESHOLD], json!(0.0));
    }
}

#[test]
fn the_concurrency_alarm_uses_the_account_limit_and_says_when_it_had_to_assume_it() {
    // R9.
    let unknown = alarm(&default_graph(), "account-concurrency");
    assert_eq!(unknown[field::THRESHOLD], json!(800.0));
    assert!(
        unknown[field::ALARM_DESCRIPTION]
            .as_str()
            .unwrap()
            .contains("ASSUMED")
    );
    assert_eq!(
        unknown[field::METRIC]["metric_name"],
        "ConcurrentExecutions"
    );
    assert_eq!(unknown[field::METRIC]["dimensions"], json!({}));
    let inputs = StackInputs {
        account_concurrency_limit: Some(3000),
        ..test_inputs()
    };
    let known = alarm(
        &graph_with(&Config::defaults().unwrap(), &inputs),
        "account-concurrency",
    );
    assert_eq!(known[field::THRESHOLD], json!(2400.0));
    let description = known[field::ALARM_DESCRIPTION].as_str().unwrap();
    assert!(
        description.contains("3000") && !description.contains("ASSUMED"),
        "{description}"
    );
}

#[test]
fn every_dead_letter_queue_the_api_and_the_table_have_alarms() {
    let graph = default_graph();
    for dlq in messaging::dead_letter_queues() {
        let f = alarm(&graph, &format!("{dlq}-messages"));
        assert_eq!(
            f[field::METRIC]["metric_name"],
            "ApproximateNumberOfMessagesVisible"
        );
        assert_eq!(
            f[field::METRIC]["dimensions"]["QueueName"],
            format!("tx-dev-{dlq}")
        );
        assert_eq!(f[field::THRESHOLD], json!(0.0));
    }
    let api = alarm(&graph, "api-5xx-rate");
    let metrics = api[field::METRIC]["metrics"].as_array().unwrap();
    assert_eq!(metrics[0]["metric"]["metric_name"], "5XXError");
    assert_eq!(
        metrics[0]["metric"]["dimensions"],
        json!({"ApiName": "tx-dev-api", "Stage": "prod"})
    );
    assert_eq!(
        metrics[2]["expression"],
        "IF(requests > 0, 100 * errors / requests, 0)"
    );
    let latency = alarm(&graph, "api-p99-latency");
    assert_eq!(latency[field::METRIC]["extended_statistic"], "p99");
    assert_eq!(latency[field::METRIC]["statistic"], Json::Null);
    assert_eq!(latency[field::THRESHOLD], json!(2000.0));
    let table = alarm(&graph, "table-throttles");
    let metrics = table[field::METRIC]["metrics"].as_array().unwrap();
    assert!(
        metrics[..4]
            .iter()
            .all(|m| m["metric"]["metric_name"] == "ThrottledRequests")
    );
    assert_eq!(
        metrics[4]["expression"],
        "SUM([put_item, get_item, update_item, query])"
    );
}

#[test]
fn every_alarm_notifies_the_alarms_topic_on_alarm_and_on_ok_with_one_returned_series() {
    let graph = default_graph();
    let topic = json!(["arn:aws:sns:us-east-1:123456789012:tx-dev-alarms"]);
    for logical in ids_of(&graph, ResourceKind::Alarm) {
        let spec = get(&graph, ResourceKind::Alarm, &logical);
        let f = resolved(&graph, spec);
        assert_eq!(f[field::ALARM_ACTIONS], topic, "{logical}");
        assert_eq!(f[field::OK_ACTIONS], topic, "{logical}");
        if let SpecBody::Alarm(a) = &spec.body
            && let AlarmMetric::Math(queries) = &a.metric
        {
            assert_eq!(
                queries.iter().filter(|q| q.return_data).count(),
                1,
                "{logical}"
            );
            let returned = queries.iter().find(|q| q.return_data).unwrap();
            assert!(
                matches!(returned.body, QueryBody::Expression(_)),
                "{logical}"
            );
        }
    }
}

#[test]
fn the_dashboard_body_resolves_to_a_valid_document_naming_every_resource() {
    // F20: built from references, resolved only when all are known.
    let graph = default_graph();
    let spec = get(&graph, ResourceKind::Dashboard, "overview");
    let body = resolved(&graph, spec)
        .remove(field::DASHBOARD_BODY)
        .unwrap();
    validate_dashboard_body(&body).unwrap();
    let widgets = body["widgets"].as_array().unwrap();
    for widget in widgets {
        for key in ["type", "x", "y", "width", "height", "properties"] {
            assert!(
                widget.get(key).is_some(),
                "a widget lacks `{key}`: {widget}"
            );
        }
    }
    let text = body.to_string();
    for name in [
        "tx-dev-transaction-validator",
        "tx-dev-notification-handler",
        "tx-dev-analytics-processor",
        "tx-dev-reporting-processor",
        "tx-dev-transactions",
        "tx-dev-api",
        "tx-dev-analytics-dlq",
        "tx-dev-notification-failures",
        "CacheHitCount",
        "ConsumedReadCapacityUnits",
        "ProvisionedWriteCapacityUnits",
        "ApproximateAgeOfOldestMessage",
        METRICS_NAMESPACE,
    ] {
        assert!(text.contains(name), "the dashboard does not show `{name}`");
    }
    let alarm_widget = widgets.iter().find(|w| w["type"] == "alarm").unwrap();
    assert_eq!(
        alarm_widget["properties"]["alarms"]
            .as_array()
            .unwrap()
            .len(),
        15
    );
    // Unresolvable without the alarms: the dashboard waits for them.
    let deps = graph.dependencies(&spec.id);
    assert!(
        deps.iter()
            .filter(|d| d.kind() == ResourceKind::Alarm)
            .count()
            == 15
    );
}

#[test]
fn dashboard_validation_refuses_what_cloudwatch_refuses() {
    let widget = |x: i64, name: &str| {
        json!({"type": "metric", "x": x, "y": 0, "width": 12, "height": 6,
               "properties": {"region": "us-east-1", "metrics": [["AWS/Lambda", "Errors", "FunctionName", name]]}})
    };
    validate_dashboard_body(&json!({"widgets": [widget(0, "f"), widget(12, "g")]})).unwrap();
    let refused = |body: Json| validate_dashboard_body(&body).unwrap_err();
    assert!(refused(json!({"widgets": {"a": 1}})).contains("`widgets` must be a non-empty list"));
    assert!(
        refused(json!({"widgets": [widget(0, "f"), widget(6, "g")]})).contains("overlaps widget 0")
    );
    assert!(refused(json!({"widgets": [widget(18, "f")]})).contains("24-unit grid"));
    assert!(refused(json!({"widgets": [widget(0, "")]})).contains("unresolved"));
    let no_height =
        json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 6, "properties": {}}]});
    assert!(refused(no_height).contains("`height`"));
    let alarm = json!({"widgets": [{"type": "alarm", "x": 0, "y": 0, "width": 6, "height": 6,
                                    "properties": {"alarms": ["not-an-arn"]}}]});
    assert!(refused(alarm).contains("not an alarm ARN"));
}

/// Every policy document of the graph (trust, inline, key and bucket policies), resolved.
fn documents(graph: &CheckedGraph) -> Vec<(String, bool, Json)> {
    let mut docs = Vec::new();
    for spec in graph.in_order() {
        let f = resolved(graph, spec);
        match spec.kind() {
            ResourceKind::Role => {
                docs.push((
                    format!("{} trust", spec.id),
                    false,
                    f[field::ASSUME_ROLE_POLICY].clone(),
                ));
                docs.push((
                    format!("{} inline", spec.id),
                    true,
                    f[field::INLINE_POLICY]["document"].clone(),
                ));
            }
            ResourceKind::KmsKey => {
                docs.push((spec.id.to_string(), false, f[field::KEY_POLICY].clone()))
            }
            ResourceKind::Bucket => {
                docs.push((spec.id.to_string(), false, f[field::BUCKET_POLICY].clone()))
            }
            _ => {}
        }
    }
    docs
}

/// The ARNs a policy may name: every resource's ARN, plus the sub-resources of a resource
/// in the graph (a table's indexes, a log group's streams, objects under the archive prefix).
fn arns_in_graph(graph: &CheckedGraph) -> BTreeSet<String> {
    let mut arns = BTreeSet::new();
    for (resource_id, outputs) in all_outputs(graph) {
        let Some(arn) = outputs.get(&OutputKey::Arn) else {
            continue;
        };
        arns.insert(arn.clone());
        match resource_id.kind() {
            ResourceKind::Table => {
                arns.insert(format!("{arn}/index/{MERCHANT_DATE_INDEX}"));
            }
            ResourceKind::LogGroup => {
                arns.insert(format!("{arn}:*"));
            }
            ResourceKind::Bucket => {
                arns.insert(format!("{arn}/logs/*"));
            }
            _ => {}
        }
    }
    arns
}

#[test]
fn every_inline_policy_is_least_privilege_and_names_only_resources_of_the_stack() {
    // F4, F5.
    let graph = default_graph();
    let allowed = arns_in_graph(&graph);
    let docs = documents(&graph);
    assert_eq!(docs.iter().filter(|(_, inline, _)| *inline).count(), 7);
    for (name, inline, doc) in &docs {
        validate_policy(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        if !inline {
            continue;
        }
        for statement in doc["Statement"].as_array().unwrap() {
            let actions: Vec<&str> = statement["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert!(
                actions
                    .iter()
                    .all(|a| a.split_once(':').is_some_and(|(s, _)| !s.is_empty())),
                "{name}"
            );
            for resource in statement["Resource"].as_array().unwrap() {
                let resource = resource.as_str().unwrap();
                if resource == "*" {
                    assert!(
                        actions.iter().all(|a| WILDCARD_ACTIONS.contains(a)),
                        "{name}: {actions:?} on *"
                    );
                } else {
                    assert!(
                        allowed.contains(resource),
                        "{name}: `{resource}` is not a resource of the stack"
                    );
                }
            }
        }
    }
}

#[test]
fn function_policies_grant_exactly_what_each_handler_does() {
    let graph = default_graph();
    let statements = |h: Handler| {
        let policy = field_of(
            &graph,
            ResourceKind::Role,
            h.logical(),
            field::INLINE_POLICY,
        );
        let mut by_sid = BTreeMap::new();
        for s in policy["document"]["Statement"].as_array().unwrap() {
            by_sid.insert(s["Sid"].as_str().unwrap().to_owned(), s.clone());
        }
        by_sid
    };
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/tx-dev-transactions";
    let validator = statements(Handler::TransactionValidator);
    assert_eq!(
        validator["TransactionsTable"]["Resource"],
        json!([table, format!("{table}/index/merchant-date-index")])
    );
    assert_eq!(
        validator["InvokeNotificationHandler"]["Resource"],
        json!([
            "arn:aws:lambda:us-east-1:123456789012:function:tx-dev-notification-handler",
            "arn:aws:lambda:us-east-1:123456789012:function:tx-dev-notification-handler:live",
        ])
    );
    assert_eq!(
        validator["OwnLogGroup"]["Resource"],
        json!([
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/tx-dev-transaction-validator",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/tx-dev-transaction-validator:*",
        ])
    );
    assert_eq!(
        validator["MetricsInOwnNamespace"]["Condition"],
        json!({"StringEquals": {"cloudwatch:namespace": "TxDeploy"}})
    );
    let notification = statements(Handler::NotificationHandler);
    assert_eq!(
        notification["PublishNotifications"]["Resource"],
        json!(["arn:aws:sns:us-east-1:123456789012:tx-dev-notifications"])
    );
    assert_eq!(
        notification["FailureDestination"]["Resource"],
        json!(["arn:aws:sqs:us-east-1:123456789012:tx-dev-notification-failures"])
    );
    assert!(!notification.contains_key("TransactionsTable"));
    let analytics = statements(Handler::AnalyticsProcessor);
    assert_eq!(
        analytics["OwnQueue"]["Resource"],
        json!(["arn:aws:sqs:us-east-1:123456789012:tx-dev-analytics"])
    );
    assert_eq!(
        analytics["TransactionsTable"]["Action"],
        json!(["dynamodb:GetItem", "dynamodb:UpdateItem"])
    );
    let firehose = field_of(&graph, ResourceKind::Role, "firehose", field::INLINE_POLICY);
    assert_eq!(
        firehose["document"]["Statement"][0]["Resource"],
        json!([
            "arn:aws:s3:::tx-dev-logs-123456789012-us-east-1",
            "arn:aws:s3:::tx-dev-logs-123456789012-us-east-1/logs/*"
        ])
    );
    let trust = field_of(
        &graph,
        ResourceKind::Role,
        "logs-to-firehose",
        field::ASSUME_ROLE_POLICY,
    );
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "logs.us-east-1.amazonaws.com"
    );
}

#[test]
fn policy_validation_refuses_malformed_and_overly_broad_documents() {
    let ok = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["arn:aws:sqs:us-east-1:1:q"]}]});
    validate_policy(&ok).unwrap();
    let refused = |doc: Json| validate_policy(&doc).unwrap_err();
    assert!(refused(json!({"Statement": []})).contains("Version"));
    assert!(refused(json!({"Version": "2012-10-17"})).contains("`Statement`"));
    let statement = |s: Json| json!({"Version": "2012-10-17", "Statement": [s]});
    assert!(
        refused(statement(
            json!({"Action": "sqs:SendMessage", "Resource": "*"})
        ))
        .contains("Effect")
    );
    assert!(
        refused(statement(
            json!({"Effect": "Allow", "Action": "SendMessage", "Resource": "arn:aws:sqs:::q"})
        ))
        .contains("service:Action")
    );
    assert!(
        refused(statement(
            json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "queue"})
        ))
        .contains("neither")
    );
    assert!(
        refused(statement(
            json!({"Effect": "Allow", "Action": "sqs:SendMessage"})
        ))
        .contains("`Resource` is missing")
    );
    assert!(
        refused(statement(
            json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"})
        ))
        .contains("only")
    );
    assert!(
        refused(statement(
            json!({"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"})
        ))
        .contains("namespace")
    );
    assert!(refused(statement(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": "x"}}))).contains("Condition"));
    // A trust policy has a principal and no resource.
    validate_policy(&statement(json!({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))).unwrap();
}

#[test]
fn explicit_edges_exist_only_where_aws_needs_an_order_references_do_not_give() {
    let graph = default_graph();
    let explicit: Vec<(String, Vec<String>)> = graph
        .in_order()
        .filter(|s| !s.depends_on.is_empty())
        .map(|s| {
            (
                s.id.to_string(),
                s.depends_on.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    let kinds: BTreeSet<ResourceKind> = graph
        .in_order()
        .filter(|s| !s.depends_on.is_empty())
        .map(|s| s.kind())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ResourceKind::EventInvokeConfig,
            ResourceKind::LambdaPermission,
            ResourceKind::ApiDeployment,
            ResourceKind::ApiStage,
        ]),
        "{explicit:?}"
    );
    // The validator's role reads the notification alias: no cycle, an order.
    let validator_role = Handler::TransactionValidator.role_id();
    assert!(
        graph
            .dependencies(&validator_role)
            .contains(&Handler::NotificationHandler.alias_id())
    );
}

#[test]
fn handler_tables_agree_with_the_config() {
    let config = Config::defaults().unwrap();
    assert_eq!(
        Handler::AnalyticsProcessor.consumed_queue(),
        Some("analytics")
    );
    assert_eq!(Handler::TransactionValidator.consumed_queue(), None);
    assert_eq!(
        Handler::TransactionValidator.memory_mb(&config.lambda),
        1536
    );
    assert_eq!(
        Handler::NotificationHandler.timeout_seconds(&config.lambda),
        30
    );
    assert!(matches!(
        monitoring::concurrency_threshold(Some(1000), 0.8),
        (t, _) if (t - 800.0).abs() < f64::EPSILON
    ));
}
