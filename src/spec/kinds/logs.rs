//! CloudWatch Logs: one log group per function and the API's access-log group, each with a
//! subscription filter that ships every event to the archive delivery stream.

use crate::spec::resource_spec::{Fields, field, replace, update};
use crate::spec::value::OutputRef;

/// A log group; its physical name is the group name (`/aws/lambda/{function name}`).
///
/// Fields: `retention_in_days` (integer, one of the values CloudWatch Logs allows; update
/// via `PutRetentionPolicy`), `kms_key_id` (the key ARN; update via `AssociateKmsKey`),
/// `tags`. Outputs: `Arn` (`arn:…:log-group:{name}`, WITHOUT the `:*` suffix
/// `DescribeLogGroups` adds), `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogGroupSpec {
    pub retention_days: u32,
    /// ARN of the `logs` KMS key.
    pub kms_key: OutputRef,
}

impl LogGroupSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::RETENTION_IN_DAYS, update(self.retention_days));
        fields.insert(field::KMS_KEY_ID, update(self.kms_key.clone()));
    }
}

/// A subscription filter; its physical name is the filter name.
///
/// Fields: `log_group_name` (replace: a filter belongs to its group), `filter_pattern`
/// (string, `""` matches every event), `destination_arn` (the delivery stream ARN),
/// `role_arn` (the role CloudWatch Logs assumes to write to Firehose); the last three update
/// through `PutSubscriptionFilter`. Not taggable. Outputs: `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionFilterSpec {
    /// Name of the log group.
    pub log_group: OutputRef,
    pub filter_pattern: String,
    /// ARN of the delivery stream.
    pub destination: OutputRef,
    /// ARN of the role CloudWatch Logs assumes.
    pub role: OutputRef,
}

impl SubscriptionFilterSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::LOG_GROUP_NAME,
            replace(
                self.log_group.clone(),
                "a subscription filter belongs to its log group",
            ),
        );
        fields.insert(field::FILTER_PATTERN, update(self.filter_pattern.as_str()));
        fields.insert(field::DESTINATION_ARN, update(self.destination.clone()));
        fields.insert(field::ROLE_ARN, update(self.role.clone()));
    }
}
