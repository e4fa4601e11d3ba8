//! Firehose: the delivery stream that writes every log event to the archive bucket.

use crate::spec::resource_spec::{Fields, field, replace, update};
use crate::spec::value::{OutputRef, Value};

/// A `DirectPut` delivery stream with an S3 destination; the physical name is the stream
/// name.
///
/// Fields:
/// - `stream_type`: `"DirectPut"` (replace: the type cannot change).
/// - `s3_destination`: `{"role_arn", "bucket_arn", "prefix", "error_output_prefix",
///   "buffering_hints": {"size_in_mbs", "interval_in_seconds"}, "compression_format",
///   "kms_key_arn"}`, update via `UpdateDestination`.
/// - `tags`.
///
/// Outputs: `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryStreamSpec {
    /// ARN of the role Firehose assumes to write to the bucket.
    pub role: OutputRef,
    /// ARN of the archive bucket.
    pub bucket: OutputRef,
    /// ARN of the KMS key objects are encrypted with.
    pub kms_key: OutputRef,
    /// Key prefix of delivered objects (the lifecycle rule's prefix).
    pub prefix: String,
    /// Key prefix of records Firehose could not deliver (inside `prefix`, so they are
    /// archived and expire like the rest).
    pub error_output_prefix: String,
    pub buffering_size_mb: u32,
    pub buffering_interval_seconds: u32,
    /// `GZIP`: objects are compressed at rest.
    pub compression_format: String,
}

impl DeliveryStreamSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::STREAM_TYPE,
            replace("DirectPut", "a delivery stream's type cannot change"),
        );
        fields.insert(
            field::S3_DESTINATION,
            update(Value::map([
                ("role_arn", self.role.clone().into()),
                ("bucket_arn", self.bucket.clone().into()),
                ("prefix", Value::str(self.prefix.clone())),
                (
                    "error_output_prefix",
                    Value::str(self.error_output_prefix.clone()),
                ),
                (
                    "buffering_hints",
                    Value::map([
                        ("size_in_mbs", self.buffering_size_mb.into()),
                        (
                            "interval_in_seconds",
                            self.buffering_interval_seconds.into(),
                        ),
                    ]),
                ),
                (
                    "compression_format",
                    Value::str(self.compression_format.clone()),
                ),
                ("kms_key_arn", self.kms_key.clone().into()),
            ])),
        );
    }
}
