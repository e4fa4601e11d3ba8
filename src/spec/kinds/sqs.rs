//! SQS: the work queues and their dead-letter queues.

use crate::spec::resource_spec::{Fields, field, update};
use crate::spec::value::{OutputRef, Value};

/// A queue's dead-letter target.
#[derive(Clone, Debug, PartialEq)]
pub struct RedriveSpec {
    /// ARN of the dead-letter queue.
    pub dead_letter_queue: OutputRef,
    pub max_receive_count: u32,
}

/// An SQS queue, KMS-encrypted, optionally with a redrive policy.
///
/// Fields: `kms_master_key_id` (key ARN), `visibility_timeout_seconds`,
/// `message_retention_seconds` (integers), `redrive_policy` ({`deadLetterTargetArn`,
/// `maxReceiveCount`} or null). Outputs: `Url`, `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSpec {
    /// ARN of the KMS key.
    pub kms_key: OutputRef,
    pub visibility_timeout_seconds: u32,
    pub message_retention_seconds: u32,
    pub redrive: Option<RedriveSpec>,
}

impl QueueSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::KMS_MASTER_KEY_ID, update(self.kms_key.clone()));
        fields.insert(
            field::VISIBILITY_TIMEOUT,
            update(self.visibility_timeout_seconds),
        );
        fields.insert(
            field::MESSAGE_RETENTION,
            update(self.message_retention_seconds),
        );
        let redrive = match &self.redrive {
            Some(r) => Value::JsonText(Box::new(Value::map([
                ("deadLetterTargetArn", r.dead_letter_queue.clone().into()),
                ("maxReceiveCount", r.max_receive_count.into()),
            ]))),
            None => Value::Null,
        };
        fields.insert(field::REDRIVE_POLICY, update(redrive));
    }
}
