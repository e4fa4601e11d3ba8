//! KMS: customer-managed keys and their aliases.

use crate::spec::resource_spec::{Fields, field, update};
use crate::spec::value::{OutputRef, Value};

/// A customer-managed KMS key with rotation.
///
/// Fields: `description` (string), `rotation_enabled` (always `true`),
/// `rotation_period_days` (integer), `key_policy` (the policy document as a JSON value).
/// Outputs: `Id` (key id), `Arn`.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsKeySpec {
    pub description: String,
    pub rotation_period_days: u32,
    /// The key policy; must grant only the service principals that need the key.
    pub policy: Value,
}

impl KmsKeySpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::DESCRIPTION, update(self.description.as_str()));
        fields.insert(field::ROTATION_ENABLED, update(true));
        fields.insert(
            field::ROTATION_PERIOD_DAYS,
            update(self.rotation_period_days),
        );
        fields.insert(field::KEY_POLICY, update(self.policy.clone()));
    }
}

/// `alias/{name}` pointing at a key.
///
/// Fields: `target_key_id` (the key id). Not taggable. Outputs: `Name`, `Arn`.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsAliasSpec {
    /// The key id of the target key.
    pub target_key: OutputRef,
}

impl KmsAliasSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::TARGET_KEY_ID, update(self.target_key.clone()));
    }
}
