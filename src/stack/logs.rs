//! Logs: one log group per function (`/aws/lambda/{name}`) and the API's access-log group,
//! each kept `logs.retention_days` and encrypted with the `logs` key, and each shipped by a
//! subscription filter to a Firehose stream that writes everything under `logs/` in the
//! archive bucket, so nothing is lost while CloudWatch keeps only days of logs.

use super::iam_policies::{firehose_policy, firehose_trust, logs_to_firehose_policy, logs_trust};
use super::{Builder, Handler, id, storage::BUCKET};
use crate::spec::{
    DeliveryStreamSpec, LogGroupSpec, OutputRef, ResourceGraph, ResourceId, ResourceKind,
    ResourceSpec, RoleSpec, SpecBody, SubscriptionFilterSpec,
};

/// The logical name of the API stage's access-log group.
pub const API_ACCESS_LOG_GROUP: &str = "api-access";
/// The logical name of the archive delivery stream.
pub const DELIVERY_STREAM: &str = "logs-archive";
/// The role Firehose assumes.
pub const FIREHOSE_ROLE: &str = "firehose";
/// The role CloudWatch Logs assumes to feed the stream.
pub const LOGS_TO_FIREHOSE_ROLE: &str = "logs-to-firehose";
/// Firehose flushes a buffer at this size or age, whichever comes first.
const BUFFER_SIZE_MB: u32 = 5;
const BUFFER_INTERVAL_SECONDS: u32 = 300;

/// The id of the archive delivery stream.
pub fn delivery_stream_id() -> ResourceId {
    id(ResourceKind::DeliveryStream, DELIVERY_STREAM)
}

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    let mut groups = Vec::new();
    for handler in Handler::ALL {
        let name = format!("/aws/lambda/{}", b.function_name(handler));
        groups.push(graph.add(log_group(b, handler.logical(), name)));
    }
    let access_name = format!("/aws/apigateway/{}", b.name(API_ACCESS_LOG_GROUP));
    groups.push(graph.add(log_group(b, API_ACCESS_LOG_GROUP, access_name)));

    graph.add(role(
        b,
        FIREHOSE_ROLE,
        "Firehose writes archived logs to the log-archive bucket",
        firehose_trust(),
        firehose_policy(b),
    ));
    graph.add(delivery_stream(b));
    graph.add(role(
        b,
        LOGS_TO_FIREHOSE_ROLE,
        "CloudWatch Logs feeds the archive delivery stream",
        logs_trust(b),
        logs_to_firehose_policy(),
    ));
    for group in &groups {
        graph.add(subscription_filter(b, group));
    }
}

fn log_group(b: &Builder<'_>, logical: &str, name: String) -> ResourceSpec {
    let mut spec = b.spec(
        ResourceKind::LogGroup,
        logical,
        SpecBody::LogGroup(LogGroupSpec {
            retention_days: b.config.logs.retention_days,
            kms_key: OutputRef::arn(&id(ResourceKind::KmsKey, "logs")),
        }),
    );
    spec.physical_name = name;
    spec
}

/// A role for one service, with its one inline policy named after the role.
pub(crate) fn role(
    b: &Builder<'_>,
    logical: &str,
    description: &str,
    trust: crate::spec::Value,
    policy: crate::spec::Value,
) -> ResourceSpec {
    let name = b.name(logical);
    b.spec(
        ResourceKind::Role,
        logical,
        SpecBody::Role(RoleSpec {
            description: format!("txdeploy {}: {description}", b.config.stack_name()),
            assume_role_policy: trust,
            policy_name: format!("{name}-policy"),
            policy,
        }),
    )
}

fn delivery_stream(b: &Builder<'_>) -> ResourceSpec {
    let prefix = &b.config.logs.archive_prefix;
    b.spec(
        ResourceKind::DeliveryStream,
        DELIVERY_STREAM,
        SpecBody::DeliveryStream(DeliveryStreamSpec {
            role: OutputRef::arn(&id(ResourceKind::Role, FIREHOSE_ROLE)),
            bucket: OutputRef::arn(&id(ResourceKind::Bucket, BUCKET)),
            kms_key: OutputRef::arn(&id(ResourceKind::KmsKey, "s3")),
            prefix: prefix.clone(),
            // Inside the archive prefix: failed records are archived and expire like the rest,
            // and the role's write permission covers them.
            error_output_prefix: format!("{prefix}errors/"),
            buffering_size_mb: BUFFER_SIZE_MB,
            buffering_interval_seconds: BUFFER_INTERVAL_SECONDS,
            compression_format: "GZIP".to_owned(),
        }),
    )
}

fn subscription_filter(b: &Builder<'_>, group: &ResourceId) -> ResourceSpec {
    let logical = group.logical();
    let mut spec = b.spec(
        ResourceKind::SubscriptionFilter,
        logical,
        SpecBody::SubscriptionFilter(SubscriptionFilterSpec {
            log_group: OutputRef::name(group),
            filter_pattern: String::new(),
            destination: OutputRef::arn(&delivery_stream_id()),
            role: OutputRef::arn(&id(ResourceKind::Role, LOGS_TO_FIREHOSE_ROLE)),
        }),
    );
    spec.physical_name = format!("{}-archive", b.name(logical));
    spec
}
