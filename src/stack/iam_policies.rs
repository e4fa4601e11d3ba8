//! Every IAM document of the stack: the trust policies, one least-privilege inline policy per
//! role, and `validate_policy`, which every document passes before it is sent.
//!
//! Policies are `Value` trees of typed references: they become JSON only when every ARN is
//! known (the seed review's F5). `Resource: "*"` appears only for actions AWS offers no
//! resource-level permission for ([`WILDCARD_ACTIONS`]), and `cloudwatch:PutMetricData`
//! only with a `cloudwatch:namespace` condition.

use serde_json::Value as Json;

use super::messaging::NOTIFICATIONS_TOPIC;
use super::{
    Builder, Handler, MERCHANT_DATE_INDEX, METRICS_NAMESPACE, NOTIFICATION_FAILURES_QUEUE,
};
use super::{data::table_id, id, logs::delivery_stream_id, storage::BUCKET};
use crate::spec::{EnvFact, OutputRef, ResourceId, ResourceKind, Value};

/// Actions AWS offers no resource-level permission for: the only ones allowed on `*`.
pub const WILDCARD_ACTIONS: [&str; 3] = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
];

/// The longest inline role policy AWS accepts (characters, whitespace excluded).
const MAX_INLINE_POLICY_CHARS: usize = 10_240;

fn statement(sid: &str, actions: &[&str], resources: Vec<Value>) -> Value {
    Value::map([
        ("Sid", Value::str(sid)),
        ("Effect", Value::str("Allow")),
        (
            "Action",
            Value::list(actions.iter().map(|a| Value::str(*a))),
        ),
        ("Resource", Value::List(resources)),
    ])
}

fn arn_of(resource: &ResourceId) -> Value {
    OutputRef::arn(resource).into()
}

/// `{arn}{suffix}`: a sub-resource of a resource in the graph.
fn under(resource: &ResourceId, suffix: &str) -> Value {
    Value::Concat(vec![arn_of(resource), Value::str(suffix)])
}

fn key(name: &str) -> ResourceId {
    id(ResourceKind::KmsKey, name)
}

fn queue(name: &str) -> ResourceId {
    id(ResourceKind::Queue, name)
}

/// A trust policy letting `principal` (a service, e.g. `lambda.amazonaws.com`) assume the
/// role, with an optional condition against the confused-deputy problem.
pub fn service_trust(principal: Value, condition: Option<Value>) -> Value {
    let mut statement = vec![
        ("Effect", Value::str("Allow")),
        ("Principal", Value::map([("Service", principal)])),
        ("Action", Value::str("sts:AssumeRole")),
    ];
    if let Some(condition) = condition {
        statement.push(("Condition", condition));
    }
    Builder::document(vec![Value::map(statement)])
}

/// Lambda may assume a function's role.
pub fn lambda_trust() -> Value {
    service_trust(Value::str("lambda.amazonaws.com"), None)
}

/// Firehose may assume its role, only on behalf of this account.
pub fn firehose_trust() -> Value {
    service_trust(
        Value::str("firehose.amazonaws.com"),
        Some(Value::map([(
            "StringEquals",
            Value::map([("sts:ExternalId", Value::Env(EnvFact::AccountId))]),
        )])),
    )
}

/// CloudWatch Logs (regional principal) may assume the role, only for this account's groups.
pub(crate) fn logs_trust(b: &Builder<'_>) -> Value {
    service_trust(
        Value::Concat(vec![
            Value::str("logs."),
            Value::Env(EnvFact::Region),
            Value::str(".amazonaws.com"),
        ]),
        Some(Value::map([(
            "StringLike",
            Value::map([("aws:SourceArn", b.arn("logs", vec![Value::str("*")]))]),
        )])),
    )
}

/// API Gateway may assume its CloudWatch Logs role.
pub fn api_gateway_trust() -> Value {
    service_trust(Value::str("apigateway.amazonaws.com"), None)
}

/// What every function needs: its own log group, X-Ray, and metrics in the stack's
/// namespace only.
fn common_statements(handler: Handler) -> Vec<Value> {
    let group = handler.log_group_id();
    vec![
        statement(
            "OwnLogGroup",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![arn_of(&group), under(&group, ":*")],
        ),
        statement(
            "Tracing",
            &["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            vec![Value::str("*")],
        ),
        Value::map([
            ("Sid", Value::str("MetricsInOwnNamespace")),
            ("Effect", Value::str("Allow")),
            (
                "Action",
                Value::list([Value::str("cloudwatch:PutMetricData")]),
            ),
            ("Resource", Value::list([Value::str("*")])),
            (
                "Condition",
                Value::map([(
                    "StringEquals",
                    Value::map([("cloudwatch:namespace", Value::str(METRICS_NAMESPACE))]),
                )]),
            ),
        ]),
    ]
}

/// The inline policy of a function's role: exactly the ARNs its handler touches.
pub(crate) fn function_policy(handler: Handler) -> Value {
    let table = table_id();
    let table_and_index = || {
        vec![
            arn_of(&table),
            under(&table, &format!("/index/{MERCHANT_DATE_INDEX}")),
        ]
    };
    let mut statements = match handler {
        Handler::TransactionValidator => {
            let notification = Handler::NotificationHandler;
            vec![
                // UpdateItem marks a stored transaction as handed on (idempotent replays).
                statement(
                    "TransactionsTable",
                    &[
                        "dynamodb:PutItem",
                        "dynamodb:GetItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:Query",
                    ],
                    table_and_index(),
                ),
                statement(
                    "WorkQueues",
                    &["sqs:SendMessage"],
                    vec![arn_of(&queue("analytics")), arn_of(&queue("reporting"))],
                ),
                statement(
                    "InvokeNotificationHandler",
                    &["lambda:InvokeFunction"],
                    vec![
                        arn_of(&notification.function_id()),
                        arn_of(&notification.alias_id()),
                    ],
                ),
                statement(
                    "EncryptionKeys",
                    &["kms:Decrypt", "kms:GenerateDataKey"],
                    vec![arn_of(&key("dynamodb")), arn_of(&key("sqs"))],
                ),
            ]
        }
        Handler::NotificationHandler => vec![
            statement(
                "PublishNotifications",
                &["sns:Publish"],
                vec![arn_of(&id(ResourceKind::Topic, NOTIFICATIONS_TOPIC))],
            ),
            // Lambda sends events that failed every retry to the destination with this role.
            statement(
                "FailureDestination",
                &["sqs:SendMessage"],
                vec![arn_of(&queue(NOTIFICATION_FAILURES_QUEUE))],
            ),
            statement(
                "EncryptionKeys",
                &["kms:Decrypt", "kms:GenerateDataKey"],
                vec![arn_of(&key("sqs"))],
            ),
        ],
        Handler::AnalyticsProcessor | Handler::ReportingProcessor => {
            let own = handler.consumed_queue().unwrap_or_default();
            vec![
                // The event source mapping polls the queue with the function's role.
                statement(
                    "OwnQueue",
                    &[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ChangeMessageVisibility",
                    ],
                    vec![arn_of(&queue(own))],
                ),
                statement(
                    "TransactionsTable",
                    &["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    vec![arn_of(&table)],
                ),
                statement(
                    "EncryptionKeys",
                    &["kms:Decrypt", "kms:GenerateDataKey"],
                    vec![arn_of(&key("dynamodb")), arn_of(&key("sqs"))],
                ),
            ]
        }
    };
    statements.extend(common_statements(handler));
    Builder::document(statements)
}

/// The Firehose role: write objects under the archive prefix, encrypted with the `s3` key.
pub(crate) fn firehose_policy(b: &Builder<'_>) -> Value {
    let bucket = id(ResourceKind::Bucket, BUCKET);
    let prefix = &b.config.logs.archive_prefix;
    Builder::document(vec![
        statement(
            "ArchiveBucket",
            &[
                "s3:AbortMultipartUpload",
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
            ],
            vec![arn_of(&bucket), under(&bucket, &format!("/{prefix}*"))],
        ),
        statement(
            "ArchiveKey",
            &["kms:GenerateDataKey", "kms:Decrypt"],
            vec![arn_of(&key("s3"))],
        ),
    ])
}

/// The role CloudWatch Logs assumes to put subscription events into the stream.
pub(crate) fn logs_to_firehose_policy() -> Value {
    Builder::document(vec![statement(
        "ArchiveStream",
        &["firehose:PutRecord", "firehose:PutRecordBatch"],
        vec![arn_of(&delivery_stream_id())],
    )])
}

/// The role API Gateway assumes to write the stage's access logs.
pub(crate) fn api_gateway_logs_policy() -> Value {
    let group = id(ResourceKind::LogGroup, super::logs::API_ACCESS_LOG_GROUP);
    Builder::document(vec![statement(
        "AccessLogGroup",
        &[
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
        ],
        vec![arn_of(&group), under(&group, ":*")],
    )])
}

/// Checks a resolved policy document before it is sent: the grammar AWS enforces (version,
/// statement list, effect, actions with a service prefix, ARN resources, condition shape,
/// size) and the stack's own rule that an identity policy names `*` only for the actions
/// in [`WILDCARD_ACTIONS`] (and `cloudwatch:PutMetricData` only with a namespace condition).
///
/// Trust and resource policies (statements with a `Principal`) may omit `Resource`.
pub fn validate_policy(document: &Json) -> Result<(), String> {
    let Some(doc) = document.as_object() else {
        return Err("the policy is not a JSON object".to_owned());
    };
    if doc.get("Version").and_then(Json::as_str) != Some("2012-10-17") {
        return Err("`Version` must be \"2012-10-17\"".to_owned());
    }
    if let Some(other) = doc
        .keys()
        .find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
    {
        return Err(format!("unknown top-level key `{other}`"));
    }
    let statements = match doc.get("Statement") {
        Some(Json::Array(list)) if !list.is_empty() => list,
        _ => return Err("`Statement` must be a non-empty list".to_owned()),
    };
    let mut identity = false;
    for (i, statement) in statements.iter().enumerate() {
        let has_principal =
            validate_statement(statement).map_err(|e| format!("statement {i}: {e}"))?;
        identity |= !has_principal;
    }
    let compact = document.to_string();
    if identity && compact.len() > MAX_INLINE_POLICY_CHARS {
        return Err(format!(
            "the policy is {} characters; an inline role policy is at most {MAX_INLINE_POLICY_CHARS}",
            compact.len()
        ));
    }
    Ok(())
}

/// Checks one statement; returns whether it names a `Principal` (a trust or resource
/// policy).
fn validate_statement(statement: &Json) -> Result<bool, String> {
    let Some(s) = statement.as_object() else {
        return Err("not a JSON object".to_owned());
    };
    const KEYS: [&str; 9] = [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ];
    if let Some(other) = s.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key `{other}`"));
    }
    if let Some(sid) = s.get("Sid") {
        let valid = sid
            .as_str()
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_alphanumeric()));
        if !valid {
            return Err("`Sid` must be letters and digits".to_owned());
        }
    }
    match s.get("Effect").and_then(Json::as_str) {
        Some("Allow" | "Deny") => {}
        _ => return Err("`Effect` must be \"Allow\" or \"Deny\"".to_owned()),
    }
    let principal = s.get("Principal").or_else(|| s.get("NotPrincipal"));
    if let Some(p) = principal {
        let valid = p.as_str() == Some("*")
            || p.as_object().is_some_and(|m| {
                !m.is_empty()
                    && m.iter().all(|(k, v)| {
                        matches!(
                            k.as_str(),
                            "AWS" | "Service" | "Federated" | "CanonicalUser"
                        ) && strings(v).is_some_and(|l| !l.is_empty())
                    })
            });
        if !valid {
            return Err(
                "`Principal` must be \"*\" or a map of `AWS`/`Service`/… to names".to_owned(),
            );
        }
    }
    let actions = s
        .get("Action")
        .or_else(|| s.get("NotAction"))
        .and_then(strings)
        .filter(|a| !a.is_empty())
        .ok_or("`Action` must be an action or a non-empty list of actions")?;
    for action in &actions {
        let well_formed = action.split_once(':').is_some_and(|(service, name)| {
            !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '*')
        });
        if !(well_formed || (*action == "*" && principal.is_some())) {
            return Err(format!(
                "action `{action}` is not of the form `service:Action`"
            ));
        }
    }
    let resources = match s.get("Resource").or_else(|| s.get("NotResource")) {
        Some(r) => strings(r)
            .filter(|l| !l.is_empty())
            .ok_or("`Resource` must be an ARN or a non-empty list of ARNs")?,
        None if principal.is_some() => Vec::new(),
        None => return Err("`Resource` is missing".to_owned()),
    };
    for resource in &resources {
        if *resource != "*" && !resource.starts_with("arn:") {
            return Err(format!("resource `{resource}` is neither `*` nor an ARN"));
        }
    }
    let condition = s.get("Condition");
    if let Some(c) = condition {
        let valid = c.as_object().is_some_and(|ops| {
            ops.values().all(|keys| {
                keys.as_object().is_some_and(|m| {
                    !m.is_empty()
                        && m.values()
                            .all(|v| strings(v).is_some_and(|l| !l.is_empty()))
                })
            })
        });
        if !valid {
            return Err("`Condition` must map operators to maps of keys to values".to_owned());
        }
    }
    if principal.is_none() && resources.contains(&"*") {
        if let Some(action) = actions.iter().find(|a| !WILDCARD_ACTIONS.contains(a)) {
            return Err(format!(
                "`{action}` on `*`: only {} may use `*` (AWS has no resource-level permission \
                 for them); name the exact ARNs instead",
                WILDCARD_ACTIONS.map(|a| format!("`{a}`")).join(", ")
            ));
        }
        let namespaced = condition
            .and_then(|c| c.get("StringEquals"))
            .and_then(|c| c.get("cloudwatch:namespace"))
            .is_some();
        if actions.contains(&"cloudwatch:PutMetricData") && !namespaced {
            return Err(
                "`cloudwatch:PutMetricData` on `*` needs a `StringEquals` condition on \
                 `cloudwatch:namespace`"
                    .to_owned(),
            );
        }
    }
    Ok(principal.is_some())
}

/// A string or a list of strings, as a list.
fn strings(value: &Json) -> Option<Vec<&str>> {
    match value {
        Json::String(s) => Some(vec![s.as_str()]),
        Json::Array(items) => items.iter().map(Json::as_str).collect(),
        _ => None,
    }
}
