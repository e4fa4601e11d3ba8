//! SNS: the alarms and notifications topics.

use crate::spec::resource_spec::{Fields, field, update};
use crate::spec::value::{OutputRef, Value};

/// An SNS topic, KMS-encrypted.
///
/// Fields: `kms_master_key_id` (key ARN), `email_subscription` (address or null).
/// Outputs: `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicSpec {
    /// ARN of the KMS key.
    pub kms_key: OutputRef,
    /// Optional e-mail subscription endpoint.
    pub email_subscription: Option<String>,
}

impl TopicSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::KMS_MASTER_KEY_ID, update(self.kms_key.clone()));
        fields.insert(
            field::EMAIL_SUBSCRIPTION,
            update(
                self.email_subscription
                    .clone()
                    .map_or(Value::Null, Value::Str),
            ),
        );
    }
}
