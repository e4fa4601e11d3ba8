//! S3: the log-archive bucket.

use crate::spec::resource_spec::{Fields, field, update};
use crate::spec::value::{OutputRef, Value};

/// S3 lifecycle: archive under a prefix, then expire.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleSpec {
    pub prefix: String,
    pub glacier_after_days: u32,
    pub expire_after_days: u32,
    pub noncurrent_expire_after_days: u32,
}

/// The log-archive bucket with every setting STACK.md names.
///
/// Fields: `versioning` (`"Enabled"`/`"Suspended"`), `encryption` ({`sse_algorithm`,
/// `kms_key`, `bucket_key`}), `public_access_block` (the four booleans), `bucket_policy`
/// (document), `lifecycle` ({`prefix`, `glacier_after_days`, `expire_after_days`,
/// `noncurrent_expire_after_days`}). Outputs: `Name`, `Arn`.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketSpec {
    pub versioning: bool,
    /// ARN of the KMS key for SSE-KMS.
    pub kms_key: OutputRef,
    pub bucket_key: bool,
    /// All four public-access blocks.
    pub block_public_access: bool,
    /// The bucket policy (TLS-only Deny).
    pub policy: Value,
    pub lifecycle: LifecycleSpec,
}

impl BucketSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::VERSIONING,
            update(if self.versioning {
                "Enabled"
            } else {
                "Suspended"
            }),
        );
        fields.insert(
            field::ENCRYPTION,
            update(Value::map([
                ("sse_algorithm", Value::str("aws:kms")),
                ("kms_key", self.kms_key.clone().into()),
                ("bucket_key", self.bucket_key.into()),
            ])),
        );
        let block = Value::Bool(self.block_public_access);
        fields.insert(
            field::PUBLIC_ACCESS_BLOCK,
            update(Value::map([
                ("block_public_acls", block.clone()),
                ("block_public_policy", block.clone()),
                ("ignore_public_acls", block.clone()),
                ("restrict_public_buckets", block),
            ])),
        );
        fields.insert(field::BUCKET_POLICY, update(self.policy.clone()));
        let lc = &self.lifecycle;
        fields.insert(
            field::LIFECYCLE,
            update(Value::map([
                ("prefix", Value::str(lc.prefix.clone())),
                ("glacier_after_days", lc.glacier_after_days.into()),
                ("expire_after_days", lc.expire_after_days.into()),
                (
                    "noncurrent_expire_after_days",
                    lc.noncurrent_expire_after_days.into(),
                ),
            ])),
        );
    }
}
