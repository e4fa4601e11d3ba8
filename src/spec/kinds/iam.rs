//! IAM: one role per function and per service that acts for the stack, each with one inline
//! policy scoped to the exact ARNs it touches.

use crate::spec::resource_spec::{Fields, field, update};
use crate::spec::value::Value;

/// An IAM role assumed by one AWS service, with exactly one inline policy.
///
/// Fields:
/// - `description` (string), update.
/// - `assume_role_policy`: the trust policy document (a JSON value; AWS returns it
///   URL-encoded, decode and parse it), update via `UpdateAssumeRolePolicy`.
/// - `inline_policy`: `{"name": string, "document": policy}`, update via `PutRolePolicy`
///   (and `DeleteRolePolicy` of any other inline policy, so exactly one remains).
/// - `tags`.
///
/// The role name is the physical name. Outputs: `Arn`, `Name`, `Id` (the role id).
/// Documents are checked with `stack::iam_policies::validate_policy` before they are sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleSpec {
    pub description: String,
    /// Who may assume the role: one service principal, possibly with a condition.
    pub assume_role_policy: Value,
    /// The name of the inline policy.
    pub policy_name: String,
    /// The inline policy document, built from references.
    pub policy: Value,
}

impl RoleSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::DESCRIPTION, update(self.description.as_str()));
        fields.insert(
            field::ASSUME_ROLE_POLICY,
            update(self.assume_role_policy.clone()),
        );
        fields.insert(
            field::INLINE_POLICY,
            update(Value::map([
                ("name", Value::str(self.policy_name.clone())),
                ("document", self.policy.clone()),
            ])),
        );
    }
}
