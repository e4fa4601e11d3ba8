//! The log-archive bucket: versioned, SSE-KMS with a bucket key, every public-access block,
//! TLS-only, and a lifecycle that archives `logs/` to GLACIER and expires it.

use super::{Builder, id};
use crate::spec::{
    BucketSpec, LifecycleSpec, OutputRef, ResourceGraph, ResourceKind, ResourceSpec, SpecBody,
    Value,
};

/// The bucket's logical name.
pub const BUCKET: &str = "logs";

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    graph.add(log_archive_bucket(b));
}

/// The bucket's physical name: bucket names are global, so the account and region make it
/// unique.
pub(crate) fn bucket_name(b: &Builder<'_>) -> String {
    format!("{}-{}-{}", b.name(BUCKET), b.env.account_id, b.env.region)
}

fn log_archive_bucket(b: &Builder<'_>) -> ResourceSpec {
    let logs = &b.config.logs;
    let name = bucket_name(b);
    let bucket_arn = format!("arn:{}:s3:::{name}", b.env.partition);
    let mut spec = b.spec(
        ResourceKind::Bucket,
        BUCKET,
        SpecBody::Bucket(BucketSpec {
            versioning: true,
            kms_key: OutputRef::arn(&id(ResourceKind::KmsKey, "s3")),
            bucket_key: true,
            block_public_access: true,
            policy: tls_only_policy(&bucket_arn),
            lifecycle: LifecycleSpec {
                prefix: logs.archive_prefix.clone(),
                glacier_after_days: logs.glacier_after_days,
                expire_after_days: logs.expire_after_days,
                noncurrent_expire_after_days: logs.noncurrent_expire_after_days,
            },
        }),
    );
    spec.physical_name = name;
    spec
}

/// Denies every request to the bucket that does not use TLS.
fn tls_only_policy(bucket_arn: &str) -> Value {
    Builder::document(vec![Value::map([
        ("Sid", Value::str("DenyInsecureTransport")),
        ("Effect", Value::str("Deny")),
        ("Principal", Value::str("*")),
        ("Action", Value::str("s3:*")),
        (
            "Resource",
            Value::list([
                Value::str(bucket_arn),
                Value::str(format!("{bucket_arn}/*")),
            ]),
        ),
        (
            "Condition",
            Value::map([(
                "Bool",
                Value::map([("aws:SecureTransport", Value::str("false"))]),
            )]),
        ),
    ])])
}
