//! The audit's check table: one entry per STACK.md line or setting, with the F/R numbers it
//! guards, and the check functions. Field checks compare the desired graph with what exists;
//! semantic checks state a STACK.md rule (caching only on GETs, every alarm notifies the
//! alarms topic, no `*` resource outside the allow-list, ...) over what exists.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::{AuditInput, Finding, Target, Verdict};
use crate::adapters::lambda_adapter::UNRESERVED_MINIMUM;
use crate::spec::{
    AlarmMetric, OutputKey, QueryBody, ResourceId, ResourceKind, ResourceSpec, SpecBody, field,
};
use crate::stack::dashboard::validate_dashboard_body;
use crate::stack::iam_policies::validate_policy;
use crate::stack::{Handler, monitoring};

/// One check: what STACK.md says, what it guards, and how to decide it.
pub struct CheckDef {
    /// Stable id, `section.setting`; tests and CI scripts key on it.
    pub id: &'static str,
    /// The STACK.md section.
    pub section: &'static str,
    /// The STACK.md wording, shortened.
    pub stack_md: &'static str,
    /// The seed review's failures (F1..F20) and requirements (R1..R11) this guards.
    pub refs: &'static [&'static str],
    /// Why an emulator cannot show this (EMULATOR.md section 1); the check then reports
    /// `not-checkable-here` there and runs only against AWS.
    pub emulator_gap: Option<&'static str>,
    /// What restores the setting after a failure.
    pub fix: &'static str,
    pub eval: fn(&AuditInput<'_>) -> Verdict,
}

/// The fix of every setting `txdeploy` manages: the desired graph has it.
const APPLY: &str = "`txdeploy apply` restores it (`txdeploy plan` shows the change first)";

macro_rules! check {
    ($id:literal, $section:literal, $wording:literal, [$($r:literal),*], $eval:expr) => {
        check!($id, $section, $wording, [$($r),*], None, APPLY, $eval)
    };
    ($id:literal, $section:literal, $wording:literal, [$($r:literal),*], gap: $gap:literal,
     $eval:expr) => {
        check!($id, $section, $wording, [$($r),*], Some($gap), APPLY, $eval)
    };
    ($id:literal, $section:literal, $wording:literal, [$($r:literal),*], $gap:expr, $fix:expr,
     $eval:expr) => {
        CheckDef {
            id: $id,
            section: $section,
            stack_md: $wording,
            refs: &[$($r),*],
            emulator_gap: $gap,
            fix: $fix,
            eval: $eval,
        }
    };
}

/// Every check, in STACK.md order.
pub const CHECKS: &[CheckDef] = &[
    // Names and tags
    check!(
        "names.every-resource-exists",
        "Names and tags",
        "every resource exists under its derived name `{prefix}-{env}-{logical}`",
        [],
        every_resource_exists
    ),
    check!(
        "tags.stack-and-logical",
        "Names and tags",
        "every taggable resource carries txdeploy:stack, txdeploy:logical and the config's tags",
        [],
        |i| all_of_field(i, field::TAGS)
    ),
    // KMS
    check!(
        "kms.keys-and-aliases",
        "KMS",
        "customer-managed keys `s3`, `dynamodb`, `sqs`, `logs`, an alias each",
        [],
        |i| i
            .drift_of_kind(ResourceKind::KmsAlias, &[field::TARGET_KEY_ID])
            .and(i.drift_of_kind(ResourceKind::KmsKey, &[field::DESCRIPTION]))
    ),
    check!(
        "kms.rotation",
        "KMS",
        "rotation enabled on every key",
        [],
        |i| i.drift_of_kind(ResourceKind::KmsKey, &[field::ROTATION_ENABLED])
    ),
    check!("kms.rotation-period", "KMS", "the rotation period the stack sets", [],
        gap: "moto accepts EnableKeyRotation `RotationPeriodInDays` and never returns it \
              (EMULATOR.md section 1)",
        |i| i.drift_of_kind(ResourceKind::KmsKey, &[field::ROTATION_PERIOD_DAYS])),
    check!(
        "kms.key-policies",
        "KMS",
        "key policies grant only the service principals that need them (logs, cloudwatch on \
         the SNS key)",
        [],
        key_policies
    ),
    // S3
    check!(
        "s3.versioning",
        "S3",
        "log-archive bucket: versioning on",
        ["F15"],
        |i| i.drift_of_kind(ResourceKind::Bucket, &[field::VERSIONING])
    ),
    check!(
        "s3.sse-kms",
        "S3",
        "SSE-KMS with the `s3` key, bucket key on",
        ["F13"],
        |i| i.drift_of_kind(ResourceKind::Bucket, &[field::ENCRYPTION])
    ),
    check!(
        "s3.public-access-block",
        "S3",
        "all four public-access blocks on",
        ["F14"],
        |i| i.drift_of_kind(ResourceKind::Bucket, &[field::PUBLIC_ACCESS_BLOCK])
    ),
    check!(
        "s3.tls-only-policy",
        "S3",
        "bucket policy denying non-TLS access",
        ["F14"],
        |i| i.drift_of_kind(ResourceKind::Bucket, &[field::BUCKET_POLICY])
    ),
    check!(
        "s3.lifecycle",
        "S3",
        "`logs/` to GLACIER after 7 days, expire after 365, noncurrent versions expire",
        ["R5"],
        |i| i.drift_of_kind(ResourceKind::Bucket, &[field::LIFECYCLE])
    ),
    check!(
        "s3.log-subscriptions",
        "S3",
        "each log group has a subscription filter to a Firehose stream writing to `logs/`",
        ["R5"],
        log_subscriptions
    ),
    check!("s3.logs-reach-bucket", "S3", "logs really reach the bucket", ["R5"],
        gap: "no function runs on moto without Docker (Lambda Invoke, EMULATOR.md section 1), \
              so no log event is ever written to archive",
        logs_reach_bucket),
    // DynamoDB
    check!(
        "dynamodb.key-and-gsi",
        "DynamoDB",
        "key `transaction_id`; GSI `merchant-date-index` (merchant_id, transaction_date, ALL)",
        ["R2"],
        |i| i.drift_of_kind(
            ResourceKind::Table,
            &[field::KEY_SCHEMA, field::GLOBAL_SECONDARY_INDEXES]
        )
    ),
    check!(
        "dynamodb.sse-kms",
        "DynamoDB",
        "SSE with the `dynamodb` key",
        [],
        |i| i.drift_of_kind(ResourceKind::Table, &[field::SSE])
    ),
    check!(
        "dynamodb.pitr",
        "DynamoDB",
        "point-in-time recovery on",
        ["F18", "R10"],
        |i| i.drift_of_kind(ResourceKind::Table, &[field::POINT_IN_TIME_RECOVERY])
    ),
    check!(
        "dynamodb.deletion-protection",
        "DynamoDB",
        "deletion protection on",
        [],
        |i| i.drift_of_kind(ResourceKind::Table, &[field::DELETION_PROTECTION])
    ),
    check!(
        "dynamodb.ttl",
        "DynamoDB",
        "TTL attribute from config",
        [],
        |i| i.drift_of_kind(ResourceKind::Table, &[field::TTL])
    ),
    check!(
        "dynamodb.billing-mode",
        "DynamoDB",
        "billing mode from config",
        ["F9", "R2"],
        |i| i.drift_of_kind(ResourceKind::Table, &[field::BILLING_MODE])
    ),
    check!(
        "dynamodb.autoscaling-70",
        "DynamoDB",
        "provisioned: scaling targets and 70 % target tracking on the table and every GSI",
        ["F9", "R6"],
        autoscaling
    ),
    // SQS
    check!(
        "sqs.redrive",
        "SQS",
        "`analytics` and `reporting` each redrive to their own DLQ (maxReceiveCount from config)",
        ["F19", "R4"],
        |i| i.drift_of_kind(ResourceKind::Queue, &[field::REDRIVE_POLICY])
    ),
    check!(
        "sqs.kms",
        "SQS",
        "all queues (and topics) KMS-encrypted",
        [],
        |i| i
            .drift_of_kind(ResourceKind::Queue, &[field::KMS_MASTER_KEY_ID])
            .and(i.drift_of_kind(ResourceKind::Topic, &[field::KMS_MASTER_KEY_ID]))
    ),
    check!(
        "sqs.dlq-retention",
        "SQS",
        "DLQ retention 14 days",
        ["F19"],
        dlq_retention
    ),
    check!(
        "sqs.visibility-6x-timeout",
        "SQS",
        "a consumed queue's visibility timeout is at least 6x its consumer's timeout",
        ["R4"],
        visibility_six_times
    ),
    check!(
        "sqs.failure-destination",
        "SQS",
        "async notification-handler: on-failure destination queue, 2 retries, 3600 s max age",
        ["F2"],
        |i| i.drift_of_kind(
            ResourceKind::EventInvokeConfig,
            &[
                field::DESTINATION_CONFIG,
                field::MAXIMUM_RETRY_ATTEMPTS,
                field::MAXIMUM_EVENT_AGE,
                field::QUALIFIER
            ]
        )
    ),
    check!(
        "lambda.no-destination-on-sync",
        "Lambda",
        "no on-failure destination on the synchronous API function (it never fires)",
        ["F2"],
        None,
        "delete the event-invoke config of the API function: `aws lambda \
               delete-function-event-invoke-config --function-name NAME --qualifier Q`",
        no_destination_on_sync
    ),
    // Lambda
    check!(
        "lambda.memory",
        "Lambda",
        "memory: validator 1536 MB, notification 512 MB (from config)",
        ["R3"],
        |i| i.drift_of_kind(ResourceKind::Function, &[field::MEMORY_SIZE])
    ),
    check!(
        "lambda.configuration",
        "Lambda",
        "timeout, environment, handler and role of every function",
        [],
        |i| i.drift_of_kind(
            ResourceKind::Function,
            &[
                field::TIMEOUT,
                field::ENVIRONMENT,
                field::HANDLER,
                field::ROLE
            ]
        )
    ),
    check!(
        "lambda.runtime-and-bundle",
        "Lambda",
        "runtime provided.al2023, architecture and CodeSha256 of the embedded bundle",
        ["F8", "F10", "R8"],
        |i| i.drift_of_kind(
            ResourceKind::Function,
            &[field::RUNTIME, field::ARCHITECTURES, field::CODE_SHA256]
        )
    ),
    check!(
        "lambda.xray-active",
        "Lambda",
        "X-Ray tracing Active on every function",
        ["F16"],
        |i| i.drift_of_kind(ResourceKind::Function, &[field::TRACING_MODE])
    ),
    check!("lambda.explicit-log-group", "Lambda", "explicit log group per function", [],
        gap: "moto accepts CreateFunction `LoggingConfig` and never stores it (EMULATOR.md \
              section 1)",
        |i| i.drift_of_kind(ResourceKind::Function, &[field::LOGGING_CONFIG])),
    check!(
        "lambda.reserved-concurrency",
        "Lambda",
        "reserved concurrency on the validator (config, 100)",
        ["F3", "R1"],
        |i| i.drift_of_kind(ResourceKind::Function, &[field::RESERVED_CONCURRENCY])
    ),
    check!(
        "lambda.account-unreserved-minimum",
        "Lambda",
        "the account keeps its unreserved concurrency minimum",
        ["F3", "R1"],
        Some("moto does not implement Lambda GetAccountSettings (HTTP 404, EMULATOR.md section 1)"),
        "lower `lambda.reserved_concurrency` (or other functions' reservations in the account), \
         or ask AWS for a higher concurrency limit",
        account_unreserved_minimum
    ),
    check!(
        "lambda.provisioned-concurrency",
        "Lambda",
        "optional provisioned concurrency on the validator's live alias (config)",
        ["R1"],
        |i| i.drift_of_kind(ResourceKind::LambdaAlias, &[field::PROVISIONED_CONCURRENCY])
    ),
    check!(
        "lambda.alias-on-published-version",
        "Lambda",
        "alias `live` points at the published version of the current code, not $LATEST",
        [],
        alias_on_published_version
    ),
    check!(
        "lambda.alias-no-split",
        "Lambda",
        "alias `live` points at the published version: all of its traffic, no weighted second \
         version left by a canary that was interrupted or by hand",
        [],
        None,
        "`txdeploy apply` sends all traffic to the configured version (`txdeploy plan` shows \
         the split first), or `txdeploy rollback` to the previous release",
        |i| i.drift_of_kind(ResourceKind::LambdaAlias, &[field::ROUTING])
    ),
    check!(
        "lambda.sqs-consumers",
        "Lambda",
        "SQS consumers: mapping from their queue with ReportBatchItemFailures",
        ["F19", "R4"],
        |i| i.drift_of_kind(
            ResourceKind::EventSourceMapping,
            &[
                field::EVENT_SOURCE_ARN,
                field::FUNCTION_RESPONSE_TYPES,
                field::BATCH_SIZE,
                field::MAXIMUM_BATCHING_WINDOW,
                field::ENABLED
            ]
        )
    ),
    check!("lambda.mappings-target-alias", "Lambda", "event source mappings target the alias", [],
        gap: "moto stores an event source mapping's function as the alias's version ARN \
              where AWS keeps the alias ARN",
        |i| i.drift_of_kind(ResourceKind::EventSourceMapping, &[field::FUNCTION_NAME])),
    // IAM
    check!(
        "iam.role-per-function",
        "IAM",
        "one role per function with its trust and scoped inline policy",
        ["F4"],
        |i| i.drift_of_kind(
            ResourceKind::Role,
            &[field::ASSUME_ROLE_POLICY, field::INLINE_POLICY]
        )
    ),
    check!(
        "iam.no-wildcard-resource",
        "IAM",
        "`Resource: \"*\"` only for actions without resource-level permission; every ARN is \
         the stack's",
        ["F4", "F5"],
        no_wildcard_resource
    ),
    // CloudWatch Logs
    check!(
        "logs.retention",
        "CloudWatch Logs",
        "retention 7 days (config)",
        ["F7", "R5"],
        |i| i.drift_of_kind(ResourceKind::LogGroup, &[field::RETENTION_IN_DAYS])
    ),
    check!(
        "logs.kms",
        "CloudWatch Logs",
        "log groups encrypted with the `logs` key",
        [],
        |i| i.drift_of_kind(ResourceKind::LogGroup, &[field::KMS_KEY_ID])
    ),
    // API Gateway
    check!(
        "api.routes",
        "API Gateway",
        "regional REST API: the three routes, request validator, JSON-schema model",
        ["F11", "R11"],
        api_routes
    ),
    check!(
        "api.proxy-to-alias",
        "API Gateway",
        "AWS_PROXY integrations whose URI names the validator's alias ARN",
        ["F1"],
        proxy_to_alias
    ),
    check!(
        "api.permission-per-route",
        "API Gateway",
        "one Lambda permission per route, source ARN `{execution ARN}/{stage}/{METHOD}/{path}`",
        ["F1"],
        |i| all_fields_of(i, ResourceKind::LambdaPermission)
    ),
    check!(
        "api.stage-on-current-deployment",
        "API Gateway",
        "the stage points at the deployment of the current definition hash",
        ["F11"],
        stage_on_current_deployment
    ),
    check!(
        "api.stage-xray",
        "API Gateway",
        "stage: X-Ray on",
        ["F17"],
        |i| i.drift_of_kind(ResourceKind::ApiStage, &[field::TRACING_ENABLED])
    ),
    check!(
        "api.access-logging",
        "API Gateway",
        "stage access logging to the access-log group (account CloudWatch role set)",
        [],
        |i| i
            .drift_of_kind(ResourceKind::ApiStage, &[field::ACCESS_LOG_SETTINGS])
            .and(account_role_set(i))
    ),
    check!(
        "api.method-settings",
        "API Gateway",
        "stage: metrics on, throttling rate and burst from config",
        ["R7"],
        |i| i.drift_of_kind(ResourceKind::ApiStage, &[field::METHOD_SETTINGS])
    ),
    check!(
        "api.cache-cluster-encrypted",
        "API Gateway",
        "cache cluster (size from config) with encrypted cache data",
        ["R7"],
        cache_cluster
    ),
    check!(
        "api.caching-gets-only",
        "API Gateway",
        "caching on the GET routes only, TTL 300 s",
        ["R7", "F12"],
        caching_gets_only
    ),
    check!(
        "api.cache-control-403",
        "API Gateway",
        "cache invalidation requires authorization (unauthorized Cache-Control answered 403)",
        ["F12"],
        cache_control_403
    ),
    check!("api.cache-keys", "API Gateway", "cache keys on the path and query parameters", ["R7"],
        gap: "moto accepts PutIntegration `cacheKeyParameters` and GetIntegration returns [] \
              (EMULATOR.md section 1)",
        cache_keys),
    check!(
        "api.usage-plan-and-key",
        "API Gateway",
        "usage plan with throttle settings and an API key",
        [],
        |i| all_fields_of(i, ResourceKind::UsagePlan)
            .and(all_fields_of(i, ResourceKind::ApiKey))
            .and(all_fields_of(i, ResourceKind::UsagePlanKey))
    ),
    // SNS
    check!(
        "sns.topics",
        "SNS",
        "`alarms` topic (KMS, optional email subscription) and `notifications` topic",
        [],
        |i| all_fields_of(i, ResourceKind::Topic)
    ),
    // CloudWatch
    check!(
        "cloudwatch.alarms-notify-topic",
        "CloudWatch",
        "every alarm notifies the alarms topic (ALARM and OK)",
        ["F6"],
        alarms_notify_topic
    ),
    check!(
        "cloudwatch.error-rate-alarms",
        "CloudWatch",
        "per function: error RATE `100 * errors / invocations` > 1 %, missing data not breaching",
        ["F6"],
        |i| alarms_of(i, AlarmFamily::ErrorRate)
    ),
    check!(
        "cloudwatch.throttle-alarms",
        "CloudWatch",
        "per function: throttles > 0",
        ["F6"],
        |i| alarms_of(i, AlarmFamily::Throttles)
    ),
    check!(
        "cloudwatch.concurrency-alarm",
        "CloudWatch",
        "account ConcurrentExecutions > 80 % of the limit",
        ["R9"],
        |i| alarms_of(i, AlarmFamily::Concurrency)
    ),
    check!("cloudwatch.concurrency-real-limit", "CloudWatch",
        "the 80 % threshold uses the account's real limit (GetAccountSettings)", ["R9"],
        gap: "moto does not implement Lambda GetAccountSettings (HTTP 404, EMULATOR.md \
              section 1), so the stack assumes 1000",
        concurrency_real_limit),
    check!(
        "cloudwatch.dlq-alarms",
        "CloudWatch",
        "every DLQ: messages visible > 0",
        ["F19"],
        |i| alarms_of(i, AlarmFamily::Dlq)
    ),
    check!(
        "cloudwatch.api-alarms",
        "CloudWatch",
        "API: 5XX rate > 1 %, p99 latency",
        [],
        |i| alarms_of(i, AlarmFamily::Api)
    ),
    check!(
        "cloudwatch.table-throttle-alarm",
        "CloudWatch",
        "DynamoDB throttled requests",
        [],
        |i| alarms_of(i, AlarmFamily::Table)
    ),
    check!(
        "cloudwatch.dashboard",
        "CloudWatch",
        "one dashboard whose body is built from resolved names",
        ["F20"],
        dashboard
    ),
    // The whole stack
    check!(
        "stack.converged",
        "Resources",
        "every setting matches the config: `txdeploy apply` would change nothing",
        [],
        converged
    ),
];

fn every_resource_exists(input: &AuditInput<'_>) -> Verdict {
    Verdict::from_findings(
        input
            .graph
            .in_order()
            .filter(|s| input.observed(&s.id).is_none())
            .map(Finding::missing)
            .collect(),
    )
}

/// `field` on every desired resource that has it.
fn all_of_field(input: &AuditInput<'_>, name: &str) -> Verdict {
    Verdict::from_findings(
        input
            .graph
            .in_order()
            .filter(|s| s.fields().contains_key(name))
            .flat_map(|s| input.drift(s, &[name], None))
            .collect(),
    )
}

/// Every field of every resource of `kind`.
fn all_fields_of(input: &AuditInput<'_>, kind: ResourceKind) -> Verdict {
    Verdict::from_findings(
        input
            .specs(kind)
            .flat_map(|s| {
                let names: Vec<&str> = s.fields().keys().copied().collect();
                input.drift(s, &names, None)
            })
            .collect(),
    )
}

fn key_policies(input: &AuditInput<'_>) -> Verdict {
    let drift = input.drift_of_kind(ResourceKind::KmsKey, &[field::KEY_POLICY]);
    // STACK.md names two grants explicitly: the logs service on the logs key, CloudWatch on
    // the key that encrypts the alarms topic.
    let needs = [
        ("logs", format!("logs.{}.amazonaws.com", input.env.region)),
        ("sqs", "cloudwatch.amazonaws.com".to_owned()),
    ];
    let mut findings = Vec::new();
    for (key, principal) in needs {
        let id = ResourceId::new(ResourceKind::KmsKey, key);
        let Some(policy) = input.field(&id, field::KEY_POLICY) else {
            continue;
        };
        if !service_principals(policy).contains(&principal) {
            findings.push(Finding::new(
                id.to_string(),
                "key_policy Principal.Service",
                Some(Json::from(
                    service_principals(policy).into_iter().collect::<Vec<_>>(),
                )),
                format!("a statement granting `{principal}`"),
            ));
        }
    }
    drift.and(Verdict::from_findings(findings))
}

/// The `Principal.Service` values of a policy document.
fn service_principals(policy: &Json) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for statement in policy
        .get("Statement")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        match statement.pointer("/Principal/Service") {
            Some(Json::String(s)) => {
                out.insert(s.clone());
            }
            Some(Json::Array(list)) => {
                out.extend(list.iter().filter_map(Json::as_str).map(str::to_owned));
            }
            _ => {}
        }
    }
    out
}

fn log_subscriptions(input: &AuditInput<'_>) -> Verdict {
    all_fields_of(input, ResourceKind::SubscriptionFilter)
        .and(all_fields_of(input, ResourceKind::DeliveryStream))
}

fn logs_reach_bucket(input: &AuditInput<'_>) -> Verdict {
    match &input.extra.archived_log_objects {
        Some(Ok(0)) => Verdict::NotCheckable(
            "no object under `logs/` yet: invoke the API, wait for the Firehose buffer \
             (300 s), then audit again"
                .to_owned(),
        ),
        Some(Ok(_)) => Verdict::Pass,
        Some(Err(e)) => Verdict::NotCheckable(format!("could not list `logs/`: {e}")),
        None => Verdict::NotCheckable("the archive bucket was not listed".to_owned()),
    }
}

fn autoscaling(input: &AuditInput<'_>) -> Verdict {
    // On-demand has no targets; provisioned must have every one the graph describes.
    all_fields_of(input, ResourceKind::ScalingTarget)
        .and(all_fields_of(input, ResourceKind::ScalingPolicy))
}

/// The queues some queue's redrive policy sends to.
fn dead_letter_queues(input: &AuditInput<'_>) -> Vec<ResourceId> {
    input
        .specs(ResourceKind::Queue)
        .filter_map(|s| match &s.body {
            SpecBody::Queue(q) => q
                .redrive
                .as_ref()
                .map(|r| r.dead_letter_queue.resource.clone()),
            _ => None,
        })
        .collect()
}

fn dlq_retention(input: &AuditInput<'_>) -> Verdict {
    let dlqs = dead_letter_queues(input);
    Verdict::from_findings(
        input
            .specs(ResourceKind::Queue)
            .filter(|s| dlqs.contains(&s.id))
            .flat_map(|s| input.drift(s, &[field::MESSAGE_RETENTION], None))
            .collect(),
    )
}

fn visibility_six_times(input: &AuditInput<'_>) -> Verdict {
    let mut findings = Vec::new();
    for spec in input.specs(ResourceKind::EventSourceMapping) {
        let SpecBody::EventSourceMapping(mapping) = &spec.body else {
            continue;
        };
        let queue = &mapping.event_source.resource;
        let function = ResourceId::new(ResourceKind::Function, mapping.function.resource.logical());
        let visibility = input
            .field(queue, field::VISIBILITY_TIMEOUT)
            .and_then(Json::as_u64);
        let timeout = input
            .field(&function, field::TIMEOUT)
            .and_then(Json::as_u64);
        match (visibility, timeout) {
            (Some(v), Some(t)) if v >= 6 * t => {}
            (v, Some(t)) => findings.push(Finding::new(
                queue.to_string(),
                field::VISIBILITY_TIMEOUT,
                v.map(Json::from),
                format!(">= {} (6 x `{function}` timeout {t} s)", 6 * t),
            )),
            (_, None) => findings.push(Finding::new(
                function.to_string(),
                field::TIMEOUT,
                None,
                "a timeout to compare the queue's visibility timeout with",
            )),
        }
    }
    Verdict::from_findings(findings)
}

fn no_destination_on_sync(input: &AuditInput<'_>) -> Verdict {
    let function = Handler::TransactionValidator.function_id();
    match &input.extra.api_function_invoke_configs {
        Some(Ok(qualifiers)) if qualifiers.is_empty() => Verdict::Pass,
        Some(Ok(qualifiers)) => Verdict::Fail(vec![Finding::new(
            function.to_string(),
            "event_invoke_configs",
            Some(Json::from(qualifiers.clone())),
            Json::Array(Vec::new()),
        )]),
        Some(Err(e)) => Verdict::NotCheckable(format!("could not list its invoke configs: {e}")),
        None => Verdict::NotCheckable("its invoke configs were not listed".to_owned()),
    }
}

fn account_unreserved_minimum(input: &AuditInput<'_>) -> Verdict {
    match &input.extra.account_concurrency {
        Some(Ok(account)) if account.unreserved >= UNRESERVED_MINIMUM => Verdict::Pass,
        Some(Ok(account)) => Verdict::Fail(vec![Finding::new(
            "account",
            "UnreservedConcurrentExecutions",
            Some(Json::from(account.unreserved)),
            format!(">= {UNRESERVED_MINIMUM}"),
        )]),
        Some(Err(e)) => Verdict::NotCheckable(format!("GetAccountSettings failed: {e}")),
        None => Verdict::NotCheckable("GetAccountSettings was not read".to_owned()),
    }
}

fn alias_on_published_version(input: &AuditInput<'_>) -> Verdict {
    let drift = input.drift_of_kind(ResourceKind::LambdaAlias, &[field::FUNCTION_VERSION]);
    let mut findings = Vec::new();
    for spec in input.specs(ResourceKind::LambdaAlias) {
        let version = input.field(&spec.id, field::FUNCTION_VERSION);
        let published = version
            .and_then(Json::as_str)
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
        if input.observed(&spec.id).is_some() && !published {
            findings.push(Finding::new(
                spec.id.to_string(),
                field::FUNCTION_VERSION,
                version.cloned(),
                "a published version number, not $LATEST",
            ));
        }
    }
    drift.and(Verdict::from_findings(findings))
}

fn no_wildcard_resource(input: &AuditInput<'_>) -> Verdict {
    // Every ARN the stack owns; a policy ARN must be one of them or a sub-resource of one.
    let owned: Vec<&str> = input
        .observed
        .resources
        .values()
        .filter_map(|o| o.outputs.get(&OutputKey::Arn))
        .map(String::as_str)
        .collect();
    let mut findings = Vec::new();
    for spec in input.specs(ResourceKind::Role) {
        let Some(document) = input
            .field(&spec.id, field::INLINE_POLICY)
            .and_then(|p| p.get("document"))
        else {
            continue;
        };
        if let Err(e) = validate_policy(document) {
            findings.push(Finding::new(
                spec.id.to_string(),
                "inline_policy",
                Some(document.clone()),
                format!("a valid least-privilege policy ({e})"),
            ));
        }
        for resource in policy_resources(document) {
            let known = resource == "*"
                || owned.iter().any(|arn| {
                    resource == *arn
                        || resource
                            .strip_prefix(arn)
                            .is_some_and(|rest| rest.starts_with([':', '/']))
                });
            if !known {
                findings.push(Finding::new(
                    spec.id.to_string(),
                    "inline_policy Resource",
                    Some(Json::from(resource)),
                    "an ARN of a resource in the stack",
                ));
            }
        }
    }
    Verdict::from_findings(findings)
}

/// Every `Resource` entry of a policy document.
fn policy_resources(document: &Json) -> Vec<&str> {
    let mut out = Vec::new();
    for statement in document
        .get("Statement")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        match statement.get("Resource") {
            Some(Json::String(s)) => out.push(s.as_str()),
            Some(Json::Array(list)) => out.extend(list.iter().filter_map(Json::as_str)),
            _ => {}
        }
    }
    out
}

/// The API's methods without what the emulator drops (`cacheKeyParameters`), so a field
/// check does not report the emulator's gap as drift.
fn without_cache_keys(name: &str, value: &Json) -> Json {
    let mut value = value.clone();
    if name == field::METHODS
        && let Some(methods) = value.as_object_mut()
    {
        for method in methods.values_mut() {
            if let Some(integration) = method.get_mut("integration").and_then(Json::as_object_mut) {
                integration.remove("cache_key_parameters");
            }
        }
    }
    value
}

/// Only the `cacheKeyParameters` of each method.
fn only_cache_keys(name: &str, value: &Json) -> Json {
    match value.as_object() {
        Some(methods) if name == field::METHODS => methods
            .iter()
            .map(|(k, m)| {
                let keys = m
                    .pointer("/integration/cache_key_parameters")
                    .cloned()
                    .unwrap_or(Json::Null);
                (k.clone(), keys)
            })
            .collect(),
        _ => value.clone(),
    }
}

fn api_routes(input: &AuditInput<'_>) -> Verdict {
    let fields = [
        field::ENDPOINT_TYPES,
        field::API_KEY_SOURCE,
        field::RESOURCES,
        field::MODELS,
        field::REQUEST_VALIDATORS,
        field::METHODS,
        field::GATEWAY_RESPONSES,
    ];
    Verdict::from_findings(
        input
            .specs(ResourceKind::RestApi)
            .flat_map(|s| input.drift(s, &fields, Some(&without_cache_keys)))
            .collect(),
    )
}

fn cache_keys(input: &AuditInput<'_>) -> Verdict {
    Verdict::from_findings(
        input
            .specs(ResourceKind::RestApi)
            .flat_map(|s| input.drift(s, &[field::METHODS], Some(&only_cache_keys)))
            .collect(),
    )
}

fn proxy_to_alias(input: &AuditInput<'_>) -> Verdict {
    let alias = Handler::TransactionValidator.alias_id();
    let Some(alias_arn) = input.output(&alias, OutputKey::Arn) else {
        return Verdict::Fail(vec![Finding::new(
            alias.to_string(),
            "(exists)",
            None,
            "the validator's `live` alias",
        )]);
    };
    let mut findings = Vec::new();
    for spec in input.specs(ResourceKind::RestApi) {
        let methods = input
            .field(&spec.id, field::METHODS)
            .and_then(Json::as_object);
        for (name, method) in methods.into_iter().flatten() {
            let kind = method.pointer("/integration/type").and_then(Json::as_str);
            let uri = method.pointer("/integration/uri").and_then(Json::as_str);
            let to_alias = uri.is_some_and(|u| {
                u.contains(":apigateway:")
                    && u.ends_with(&format!("/functions/{alias_arn}/invocations"))
            });
            if kind != Some("AWS_PROXY") || !to_alias {
                findings.push(Finding::new(
                    spec.id.to_string(),
                    format!("methods.{name}.integration"),
                    method.get("integration").cloned(),
                    format!("AWS_PROXY to `.../functions/{alias_arn}/invocations`"),
                ));
            }
        }
    }
    Verdict::from_findings(findings)
}

fn stage_on_current_deployment(input: &AuditInput<'_>) -> Verdict {
    let mut findings = Vec::new();
    for deployment in input.specs(ResourceKind::ApiDeployment) {
        let wanted_hash = input
            .desired(deployment, field::DEFINITION_SHA256)
            .unwrap_or(Json::Null);
        let current = input
            .observed(&deployment.id)
            .map(|o| o.physical_id.clone());
        for stage in input.specs(ResourceKind::ApiStage) {
            if !stage.dependencies().contains(&deployment.id) {
                continue;
            }
            let on = input.field(&stage.id, field::DEPLOYMENT_ID).cloned();
            match &current {
                None => findings.push(Finding::new(
                    stage.id.to_string(),
                    field::DEPLOYMENT_ID,
                    on,
                    format!("a deployment whose description carries definition hash {wanted_hash}"),
                )),
                Some(id) if on.as_ref().and_then(Json::as_str) != Some(id) => {
                    findings.push(Finding::new(
                        stage.id.to_string(),
                        field::DEPLOYMENT_ID,
                        on,
                        format!("`{id}`, the deployment of definition hash {wanted_hash}"),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Verdict::from_findings(findings)
}

/// The observed method settings of every stage, by stage id and route key.
fn method_settings<'a>(
    input: &AuditInput<'a>,
) -> Vec<(ResourceId, &'a serde_json::Map<String, Json>)> {
    input
        .specs(ResourceKind::ApiStage)
        .filter_map(|s| {
            input
                .field(&s.id, field::METHOD_SETTINGS)
                .and_then(Json::as_object)
                .map(|m| (s.id.clone(), m))
        })
        .collect()
}

fn caching(setting: &Json) -> bool {
    setting.get("caching_enabled").and_then(Json::as_bool) == Some(true)
}

fn cache_cluster(input: &AuditInput<'_>) -> Verdict {
    let drift = input.drift_of_kind(ResourceKind::ApiStage, &[field::CACHE_CLUSTER]);
    let mut findings = Vec::new();
    for (stage, settings) in method_settings(input) {
        for (key, setting) in settings.iter().filter(|(_, s)| caching(s)) {
            let encrypted = setting.get("cache_data_encrypted");
            if encrypted.and_then(Json::as_bool) != Some(true) {
                findings.push(Finding::new(
                    stage.to_string(),
                    format!("method_settings.{key}.cache_data_encrypted"),
                    encrypted.cloned(),
                    true,
                ));
            }
        }
    }
    drift.and(Verdict::from_findings(findings))
}

fn caching_gets_only(input: &AuditInput<'_>) -> Verdict {
    let mut findings = Vec::new();
    for stage in input.specs(ResourceKind::ApiStage) {
        let desired = input.desired(stage, field::METHOD_SETTINGS);
        let observed = input
            .field(&stage.id, field::METHOD_SETTINGS)
            .and_then(Json::as_object);
        let keys: BTreeSet<&String> = desired
            .as_ref()
            .and_then(Json::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
            .chain(observed.into_iter().flat_map(|m| m.keys()))
            .collect();
        for key in keys {
            let get = key.ends_with("/GET");
            let seen = observed.and_then(|m| m.get(key.as_str()));
            let enabled = seen.is_some_and(caching);
            if enabled != get {
                findings.push(Finding::new(
                    stage.id.to_string(),
                    format!("method_settings.{key}.caching_enabled"),
                    seen.and_then(|s| s.get("caching_enabled")).cloned(),
                    get,
                ));
            }
            let want_ttl = desired
                .as_ref()
                .and_then(|d| {
                    d.pointer(&format!("/{}/cache_ttl_in_seconds", key.replace('/', "~1")))
                })
                .cloned();
            let ttl = seen.and_then(|s| s.get("cache_ttl_in_seconds")).cloned();
            if get && want_ttl.is_some() && ttl != want_ttl {
                findings.push(Finding::new(
                    stage.id.to_string(),
                    format!("method_settings.{key}.cache_ttl_in_seconds"),
                    ttl,
                    want_ttl.unwrap_or(Json::Null),
                ));
            }
        }
    }
    Verdict::from_findings(findings)
}

fn cache_control_403(input: &AuditInput<'_>) -> Verdict {
    let mut findings = Vec::new();
    for (stage, settings) in method_settings(input) {
        for (key, setting) in settings.iter().filter(|(_, s)| caching(s)) {
            let required = setting.get("require_authorization_for_cache_control");
            if required.and_then(Json::as_bool) != Some(true) {
                findings.push(Finding::new(
                    stage.to_string(),
                    format!("method_settings.{key}.require_authorization_for_cache_control"),
                    required.cloned(),
                    true,
                ));
            }
            let strategy = setting.get("unauthorized_cache_control_header_strategy");
            if strategy.and_then(Json::as_str) != Some("FAIL_WITH_403") {
                findings.push(Finding::new(
                    stage.to_string(),
                    format!("method_settings.{key}.unauthorized_cache_control_header_strategy"),
                    strategy.cloned(),
                    "FAIL_WITH_403",
                ));
            }
        }
    }
    Verdict::from_findings(findings)
}

fn alarms_notify_topic(input: &AuditInput<'_>) -> Verdict {
    let topic = ResourceId::new(ResourceKind::Topic, crate::stack::messaging::ALARMS_TOPIC);
    let Some(arn) = input.output(&topic, OutputKey::Arn) else {
        return Verdict::Fail(vec![Finding::new(
            topic.to_string(),
            "(exists)",
            None,
            "the alarms topic",
        )]);
    };
    let want = Json::from(vec![arn]);
    let mut findings = Vec::new();
    for spec in input.specs(ResourceKind::Alarm) {
        for name in [field::ALARM_ACTIONS, field::OK_ACTIONS] {
            let seen = input.field(&spec.id, name);
            if seen != Some(&want) {
                findings.push(Finding::new(
                    spec.id.to_string(),
                    name,
                    seen.cloned(),
                    want.clone(),
                ));
            }
        }
    }
    Verdict::from_findings(findings)
}

/// The alarms of STACK.md's CloudWatch section, told apart by the metrics they watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AlarmFamily {
    ErrorRate,
    Throttles,
    Concurrency,
    Dlq,
    Api,
    Table,
}

fn family(spec: &ResourceSpec) -> Option<AlarmFamily> {
    let SpecBody::Alarm(alarm) = &spec.body else {
        return None;
    };
    let stats: Vec<(&str, &str)> = match &alarm.metric {
        AlarmMetric::Single(s) => vec![(s.namespace.as_str(), s.metric_name.as_str())],
        AlarmMetric::Math(queries) => queries
            .iter()
            .filter_map(|q| match &q.body {
                QueryBody::Metric(s) => Some((s.namespace.as_str(), s.metric_name.as_str())),
                QueryBody::Expression(_) => None,
            })
            .collect(),
    };
    let (namespace, metric) = stats.first().copied()?;
    Some(match (namespace, metric) {
        ("AWS/Lambda", "Errors") => AlarmFamily::ErrorRate,
        ("AWS/Lambda", "Throttles") => AlarmFamily::Throttles,
        ("AWS/Lambda", "ConcurrentExecutions") => AlarmFamily::Concurrency,
        ("AWS/SQS", _) => AlarmFamily::Dlq,
        ("AWS/ApiGateway", _) => AlarmFamily::Api,
        ("AWS/DynamoDB", _) => AlarmFamily::Table,
        _ => return None,
    })
}

fn alarms_of(input: &AuditInput<'_>, wanted: AlarmFamily) -> Verdict {
    let specs: Vec<&ResourceSpec> = input
        .specs(ResourceKind::Alarm)
        .filter(|s| family(s) == Some(wanted))
        .collect();
    if specs.is_empty() {
        return Verdict::Fail(vec![Finding::new(
            "alarm/*",
            "(desired)",
            None,
            format!("the stack defines {wanted:?} alarms"),
        )]);
    }
    Verdict::from_findings(
        specs
            .into_iter()
            .flat_map(|s| {
                let names: Vec<&str> = s.fields().keys().copied().collect();
                input.drift(s, &names, None)
            })
            .collect(),
    )
}

fn concurrency_real_limit(input: &AuditInput<'_>) -> Verdict {
    let account = match &input.extra.account_concurrency {
        Some(Ok(account)) => *account,
        Some(Err(e)) => return Verdict::NotCheckable(format!("GetAccountSettings failed: {e}")),
        None => return Verdict::NotCheckable("GetAccountSettings was not read".to_owned()),
    };
    let (want, _) = monitoring::concurrency_threshold(
        Some(account.limit),
        input.config.alarms.concurrency_fraction,
    );
    let mut findings = Vec::new();
    for spec in input
        .specs(ResourceKind::Alarm)
        .filter(|s| family(s) == Some(AlarmFamily::Concurrency))
    {
        let seen = input.field(&spec.id, field::THRESHOLD);
        let close = seen
            .and_then(Json::as_f64)
            .is_some_and(|t| (t - want).abs() < 0.5);
        if !close {
            findings.push(Finding::new(
                spec.id.to_string(),
                field::THRESHOLD,
                seen.cloned(),
                format!(
                    "{want} ({} of the account limit {})",
                    input.config.alarms.concurrency_fraction, account.limit
                ),
            ));
        }
    }
    Verdict::from_findings(findings)
}

fn dashboard(input: &AuditInput<'_>) -> Verdict {
    let drift = input.drift_of_kind(ResourceKind::Dashboard, &[field::DASHBOARD_BODY]);
    let mut findings = Vec::new();
    for spec in input.specs(ResourceKind::Dashboard) {
        if let Some(body) = input.field(&spec.id, field::DASHBOARD_BODY)
            && let Err(e) = validate_dashboard_body(body)
        {
            findings.push(Finding::new(
                spec.id.to_string(),
                field::DASHBOARD_BODY,
                None,
                format!("a valid body of resolved names ({e})"),
            ));
        }
    }
    drift.and(Verdict::from_findings(findings))
}

/// The region's API Gateway account setting is shared by every stack in the region: any
/// role there lets the stage write its access logs, so only whether one is set counts.
fn region_shared(kind: ResourceKind, name: &str, value: &Json) -> Json {
    match (kind, name) {
        (ResourceKind::ApiAccount, field::CLOUDWATCH_ROLE_ARN) => {
            Json::Bool(value.as_str().is_some_and(|arn| !arn.is_empty()))
        }
        _ => value.clone(),
    }
}

fn account_role_set(input: &AuditInput<'_>) -> Verdict {
    let shared = |name: &str, value: &Json| region_shared(ResourceKind::ApiAccount, name, value);
    Verdict::from_findings(
        input
            .specs(ResourceKind::ApiAccount)
            .flat_map(|s| input.drift(s, &[field::CLOUDWATCH_ROLE_ARN], Some(&shared)))
            .collect(),
    )
}

/// What the emulator cannot show, left out of the convergence check there (the checks
/// named for those gaps say `not-checkable-here` instead).
fn emulator_blind(kind: ResourceKind, name: &str, value: &Json) -> Json {
    match (kind, name) {
        (ResourceKind::RestApi, field::METHODS) => without_cache_keys(name, value),
        (ResourceKind::EventSourceMapping, field::FUNCTION_NAME)
        | (ResourceKind::Function, field::LOGGING_CONFIG)
        | (ResourceKind::KmsKey, field::ROTATION_PERIOD_DAYS) => Json::Null,
        _ => value.clone(),
    }
}

fn converged(input: &AuditInput<'_>) -> Verdict {
    Verdict::from_findings(
        input
            .graph
            .in_order()
            .flat_map(|s| {
                let names: Vec<&str> = s.fields().keys().copied().collect();
                let kind = s.kind();
                let target = input.target;
                let project = move |name: &str, value: &Json| {
                    let value = region_shared(kind, name, value);
                    match target {
                        Target::Emulator => emulator_blind(kind, name, &value),
                        Target::Aws => value,
                    }
                };
                input.drift(s, &names, Some(&project))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
