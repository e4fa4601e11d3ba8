//! Hand-made specs of the kinds the fake cloud models (keys and their aliases, queues,
//! topics, buckets), tagged like the stack's: for tests and benchmarks that need a graph of
//! a chosen shape rather than the stack's.

use std::collections::BTreeMap;

use crate::spec::{
    BucketSpec, CheckedGraph, GraphError, KmsAliasSpec, KmsKeySpec, LifecycleSpec, OutputRef,
    QueueSpec, ResourceGraph, ResourceId, ResourceKind, ResourceSpec, SpecBody, TopicSpec, Value,
};
use crate::stack::{LOGICAL_TAG, STACK_TAG};

/// The stack every sample spec belongs to.
pub const SAMPLE_STACK: &str = "tx-dev";

/// A spec named `{SAMPLE_STACK}-{logical}`, tagged with the stack and its logical id.
pub fn spec(
    kind: ResourceKind,
    logical: &str,
    body: SpecBody,
    depends_on: &[&ResourceId],
) -> ResourceSpec {
    let id = ResourceId::new(kind, logical);
    ResourceSpec {
        physical_name: format!("{SAMPLE_STACK}-{logical}"),
        tags: BTreeMap::from([
            (STACK_TAG.to_owned(), SAMPLE_STACK.to_owned()),
            (LOGICAL_TAG.to_owned(), id.to_string()),
        ]),
        id,
        body,
        depends_on: depends_on.iter().map(|d| (*d).clone()).collect(),
    }
}

pub fn kms_key(logical: &str, depends_on: &[&ResourceId]) -> ResourceSpec {
    let body = SpecBody::KmsKey(KmsKeySpec {
        description: format!("test key {logical}"),
        rotation_period_days: 365,
        policy: Value::Null,
    });
    spec(ResourceKind::KmsKey, logical, body, depends_on)
}

/// `alias/{SAMPLE_STACK}-{logical}` on `target`; untagged, like every KMS alias.
pub fn kms_alias(logical: &str, target: &ResourceId) -> ResourceSpec {
    let body = SpecBody::KmsAlias(KmsAliasSpec {
        target_key: OutputRef::id(target),
    });
    let mut alias = spec(ResourceKind::KmsAlias, logical, body, &[]);
    alias.physical_name = format!("alias/{SAMPLE_STACK}-{logical}");
    alias.tags.clear();
    alias
}

pub fn queue(logical: &str, kms: &ResourceId, depends_on: &[&ResourceId]) -> ResourceSpec {
    let body = SpecBody::Queue(QueueSpec {
        kms_key: OutputRef::arn(kms),
        visibility_timeout_seconds: 30,
        message_retention_seconds: 3600,
        redrive: None,
    });
    spec(ResourceKind::Queue, logical, body, depends_on)
}

pub fn topic(logical: &str, kms: &ResourceId, depends_on: &[&ResourceId]) -> ResourceSpec {
    let body = SpecBody::Topic(TopicSpec {
        kms_key: OutputRef::arn(kms),
        email_subscription: None,
    });
    spec(ResourceKind::Topic, logical, body, depends_on)
}

pub fn bucket(logical: &str, kms: &ResourceId, depends_on: &[&ResourceId]) -> ResourceSpec {
    let body = SpecBody::Bucket(BucketSpec {
        versioning: true,
        kms_key: OutputRef::arn(kms),
        bucket_key: true,
        block_public_access: true,
        policy: Value::Null,
        lifecycle: LifecycleSpec {
            prefix: "logs/".to_owned(),
            glacier_after_days: 7,
            expire_after_days: 365,
            noncurrent_expire_after_days: 30,
        },
    });
    spec(ResourceKind::Bucket, logical, body, depends_on)
}

/// The checked graph of `specs`.
pub fn graph_of(
    specs: impl IntoIterator<Item = ResourceSpec>,
) -> Result<CheckedGraph, Vec<GraphError>> {
    let mut graph = ResourceGraph::new();
    for s in specs {
        graph.add(s);
    }
    graph.check()
}
