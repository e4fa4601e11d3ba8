//! IAM roles: trust policy, description, exactly one inline policy and tags. Found by name
//! with GetRole; documents come back URL-encoded and are decoded before they are compared.

use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, Tags, desired_tags, observed_tags, tags_json};
use super::{
    Members, document_text, parse_document, resolve, resolved_field, resolved_text, unknown_field,
};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{OutputKey, Outputs, ResourceSpec, RoleSpec, field};
use crate::stack::iam_policies::validate_policy;

const SERVICE: &str = "iam";

/// The role named `name`, or `None` when it does not exist.
pub async fn observe(clients: &AwsClients, name: &str) -> Result<Option<Observed>, CloudError> {
    let role = clients
        .iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .classified(SERVICE, "GetRole")
        .found(&[])?
        .and_then(|out| out.role);
    let Some(role) = role else {
        return Ok(None);
    };
    let tags: Tags = clients
        .iam
        .list_role_tags()
        .role_name(name)
        .send()
        .await
        .classified(SERVICE, "ListRoleTags")?
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let policy_names = clients
        .iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .classified(SERVICE, "ListRolePolicies")?
        .policy_names;
    let mut policies = Vec::new();
    for policy_name in &policy_names {
        let document = clients
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await
            .classified(SERVICE, "GetRolePolicy")?
            .policy_document;
        policies.push(serde_json::json!({
            "name": policy_name,
            "document": decode_document(&document),
        }));
    }
    // Exactly one inline policy reads as the spec's shape; several read as a list, which
    // differs from any spec, so the update puts the wanted one and deletes the others.
    let inline_policy = match policies.len() {
        0 => Json::Null,
        1 => policies.remove(0),
        _ => Json::Array(policies),
    };
    let trust = role
        .assume_role_policy_document
        .as_deref()
        .map_or(Json::Null, decode_document);
    Ok(Some(Observed {
        physical_id: role.role_name.clone(),
        outputs: Outputs::from([
            (OutputKey::Arn, role.arn.clone()),
            (OutputKey::Name, role.role_name.clone()),
            (OutputKey::Id, role.role_id.clone()),
        ]),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (
                field::DESCRIPTION,
                Json::String(role.description.unwrap_or_default()),
            ),
            (field::ASSUME_ROLE_POLICY, trust),
            (field::INLINE_POLICY, inline_policy),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// IAM returns documents percent-encoded (EMULATOR.md quirk 5, as AWS does): decode, then
/// parse; text that does not decode is compared as it came.
fn decode_document(text: &str) -> Json {
    match urlencoding::decode(text) {
        Ok(decoded) => parse_document(&decoded),
        Err(_) => parse_document(text),
    }
}

/// Resolves a policy document and checks it before it is sent.
fn checked_document(
    document: &crate::spec::Value,
    what: &str,
    ctx: &StepContext,
    operation: &str,
) -> Result<String, CloudError> {
    let resolved = resolve(document, ctx, SERVICE, operation)?;
    validated(resolved, what, operation)
}

/// Checks a policy document the spec built before it is sent (documents an undo writes
/// back are what IAM held before, so they are sent as recorded).
fn validated(document: Json, what: &str, operation: &str) -> Result<String, CloudError> {
    validate_policy(&document).map_err(|problem| {
        CloudError::fatal(
            SERVICE,
            operation,
            format!(
                "the {what} is not a valid IAM policy: {problem}; fix it in `stack::iam_policies`"
            ),
        )
    })?;
    Ok(document.to_string())
}

/// A document field to send: the spec's, checked, or in an undo the recorded one.
fn document_to_send(
    spec: &ResourceSpec,
    name: &str,
    document: Json,
    what: &str,
    ctx: &StepContext,
    operation: &str,
) -> Result<String, CloudError> {
    if ctx.restored(name).is_some() {
        return document_text(document).ok_or_else(|| {
            CloudError::fatal(
                SERVICE,
                operation,
                format!(
                    "`{}` has no recorded {what} to restore; a role always has one, so this \
                     is a txdeploy bug",
                    spec.id
                ),
            )
        });
    }
    validated(document, what, operation)
}

/// The inline policies the `inline_policy` field describes, as (name, document): the
/// spec's one, or in an undo what was recorded (none, one, or several as a list).
fn inline_policies(
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Vec<(String, String)>, CloudError> {
    let op = "PutRolePolicy";
    let value = resolved_field(spec, field::INLINE_POLICY, ctx, SERVICE, op)?;
    let entries = match value {
        Json::Null => Vec::new(),
        Json::Array(list) => list,
        one => vec![one],
    };
    entries
        .iter()
        .map(|entry| {
            let members = Members::of(spec, field::INLINE_POLICY, entry, SERVICE, op);
            let name = members.text("name")?.ok_or_else(|| {
                CloudError::fatal(
                    SERVICE,
                    op,
                    format!("`{}` has an inline policy without a name", spec.id),
                )
            })?;
            let document = entry.get("document").cloned().unwrap_or(Json::Null);
            let document = document_to_send(
                spec,
                field::INLINE_POLICY,
                document,
                "inline policy",
                ctx,
                op,
            )?;
            Ok((name, document))
        })
        .collect()
}

/// CreateRole with trust policy, description and tags, then PutRolePolicy.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    role: &RoleSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateRole";
    let trust = checked_document(&role.assume_role_policy, "trust policy", ctx, op)?;
    let policy = checked_document(&role.policy, "inline policy", ctx, "PutRolePolicy")?;
    let mut request = clients
        .iam
        .create_role()
        .role_name(&spec.physical_name)
        .assume_role_policy_document(trust)
        .description(&role.description);
    for (key, value) in &spec.tags {
        request = request.tags(tag(key, value, op)?);
    }
    let created = request
        .send()
        .await
        .classified(SERVICE, op)?
        .role
        .ok_or_else(|| CloudError::fatal(SERVICE, op, "the response has no `Role`"))?;
    put_policy(clients, &spec.physical_name, &role.policy_name, policy).await?;
    Ok(Outputs::from([
        (OutputKey::Arn, created.arn),
        (OutputKey::Name, created.role_name),
        (OutputKey::Id, created.role_id),
    ]))
}

fn tag(key: &str, value: &str, op: &str) -> Result<aws_sdk_iam::types::Tag, CloudError> {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))
}

async fn put_policy(
    clients: &AwsClients,
    role_name: &str,
    policy_name: &str,
    document: String,
) -> Result<(), CloudError> {
    clients
        .iam
        .put_role_policy()
        .role_name(role_name)
        .policy_name(policy_name)
        .policy_document(document)
        .send()
        .await
        .classified(SERVICE, "PutRolePolicy")?;
    Ok(())
}

/// The inline policy names an observation saw.
fn observed_policy_names(current: &Observed) -> Vec<String> {
    let name = |p: &Json| p.get("name").and_then(Json::as_str).map(str::to_owned);
    match current.fields.get(field::INLINE_POLICY) {
        Some(Json::Array(list)) => list.iter().filter_map(name).collect(),
        Some(p @ Json::Object(_)) => name(p).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// One call per changed field; the inline policy is put before others are deleted, so the
/// role never loses its permissions in between.
///
/// Every value is read through `resolved_field`, so an undo writes back the recorded
/// description, trust policy and inline policies instead of the spec's.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let name = spec.physical_name.as_str();
    for field_name in changed {
        match field_name.as_str() {
            field::DESCRIPTION => {
                let op = "UpdateRoleDescription";
                // Observation reports a role without description as "", so null is the same.
                let description = resolved_text(spec, field::DESCRIPTION, ctx, SERVICE, op)?;
                clients
                    .iam
                    .update_role_description()
                    .role_name(name)
                    .description(description.unwrap_or_default())
                    .send()
                    .await
                    .classified(SERVICE, op)?;
            }
            field::ASSUME_ROLE_POLICY => {
                let op = "UpdateAssumeRolePolicy";
                let trust = resolved_field(spec, field::ASSUME_ROLE_POLICY, ctx, SERVICE, op)?;
                let what = "trust policy";
                let trust =
                    document_to_send(spec, field::ASSUME_ROLE_POLICY, trust, what, ctx, op)?;
                clients
                    .iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(trust)
                    .send()
                    .await
                    .classified(SERVICE, op)?;
            }
            field::INLINE_POLICY => {
                let wanted = inline_policies(spec, ctx)?;
                for (policy_name, document) in &wanted {
                    put_policy(clients, name, policy_name, document.clone()).await?;
                }
                for other in observed_policy_names(current) {
                    if !wanted.iter().any(|(kept, _)| *kept == other) {
                        delete_policy(clients, name, &other).await?;
                    }
                }
            }
            field::TAGS => {
                let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
                if !diff.set.is_empty() {
                    let op = "TagRole";
                    let mut request = clients.iam.tag_role().role_name(name);
                    for (key, value) in &diff.set {
                        request = request.tags(tag(key, value, op)?);
                    }
                    request.send().await.classified(SERVICE, op)?;
                }
                if !diff.remove.is_empty() {
                    clients
                        .iam
                        .untag_role()
                        .role_name(name)
                        .set_tag_keys(Some(diff.remove))
                        .send()
                        .await
                        .classified(SERVICE, "UntagRole")?;
                }
            }
            _ => return Err(unknown_field(spec, field_name)),
        }
    }
    Ok(current.outputs.clone())
}

async fn delete_policy(
    clients: &AwsClients,
    role_name: &str,
    policy_name: &str,
) -> Result<(), CloudError> {
    clients
        .iam
        .delete_role_policy()
        .role_name(role_name)
        .policy_name(policy_name)
        .send()
        .await
        .classified(SERVICE, "DeleteRolePolicy")
        .found(&[])?;
    Ok(())
}

/// Deletes every inline policy (IAM refuses to delete a role that has one), then the role;
/// a role already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let name = current.physical_id.as_str();
    let names = clients
        .iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .classified(SERVICE, "ListRolePolicies")
        .found(&[])?;
    let Some(names) = names else {
        return Ok(());
    };
    for policy_name in &names.policy_names {
        delete_policy(clients, name, policy_name).await?;
    }
    clients
        .iam
        .delete_role()
        .role_name(name)
        .send()
        .await
        .classified(SERVICE, "DeleteRole")
        .found(&[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_percent_decoded_then_parsed() {
        assert_eq!(
            decode_document("%7B%22Version%22%3A%222012-10-17%22%7D"),
            serde_json::json!({"Version": "2012-10-17"})
        );
        assert_eq!(decode_document(r#"{"a":1}"#), serde_json::json!({"a": 1}));
    }

    #[test]
    fn several_inline_policies_are_all_named_for_deletion() {
        let mut current = Observed::default();
        current.fields.insert(
            field::INLINE_POLICY.to_owned(),
            serde_json::json!([{"name": "a", "document": {}}, {"name": "b", "document": {}}]),
        );
        assert_eq!(observed_policy_names(&current), ["a", "b"]);
        current.fields.insert(
            field::INLINE_POLICY.to_owned(),
            serde_json::json!({"name": "only", "document": {}}),
        );
        assert_eq!(observed_policy_names(&current), ["only"]);
    }
}
