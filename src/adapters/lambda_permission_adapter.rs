//! Lambda permissions: one statement (its id is the physical name) in the resource policy
//! of a function alias, letting API Gateway invoke it. Every field is replace-only.

use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::{parse_document, resolved_field, unknown_field};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{LambdaPermissionSpec, OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "lambda";

/// The function's name, derived from the naming convention: observe has no outputs, and
/// both names are `{prefix}-{env}-{logical}`, so the permission's physical name minus its
/// own logical name is the stack's prefix.
fn function_name(
    spec: &ResourceSpec,
    permission: &LambdaPermissionSpec,
) -> Result<String, CloudError> {
    spec.physical_name
        .strip_suffix(spec.id.logical())
        .map(|prefix| format!("{prefix}{}", permission.function.resource.logical()))
        .ok_or_else(|| {
            CloudError::fatal(
                SERVICE,
                "GetPolicy",
                format!(
                    "`{}` does not end with its logical name `{}`; this is a txdeploy bug",
                    spec.physical_name,
                    spec.id.logical()
                ),
            )
        })
}

/// A condition value as the spec holds it: a string, or `null` when the statement has none.
fn condition(statement: &Json, operator: &str, key: &str) -> Json {
    statement
        .get("Condition")
        .and_then(|c| c.get(operator))
        .and_then(|c| c.get(key))
        .cloned()
        .unwrap_or(Json::Null)
}

/// The principal as the spec holds it: the service name (AWS writes `{"Service": ...}`).
fn principal(statement: &Json) -> Json {
    match statement.get("Principal") {
        Some(Json::Object(p)) => p
            .get("Service")
            .or_else(|| p.get("AWS"))
            .cloned()
            .unwrap_or(Json::Null),
        Some(other) => other.clone(),
        None => Json::Null,
    }
}

/// The statement whose `Sid` is the spec's statement id, or `None` when the alias has no
/// policy or the policy has no such statement.
pub async fn observe(
    clients: &AwsClients,
    spec: &ResourceSpec,
    permission: &LambdaPermissionSpec,
) -> Result<Option<Observed>, CloudError> {
    let function = function_name(spec, permission)?;
    let Some(found) = clients
        .lambda
        .get_policy()
        .function_name(&function)
        .qualifier(&permission.qualifier)
        .send()
        .await
        .classified(SERVICE, "GetPolicy")
        .found(&[])?
    else {
        return Ok(None);
    };
    let policy = parse_document(found.policy().unwrap_or_default());
    let statements = match policy.get("Statement") {
        Some(Json::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let Some(statement) = statements
        .into_iter()
        .find(|s| s.get("Sid").and_then(Json::as_str) == Some(permission.statement_id.as_str()))
    else {
        return Ok(None);
    };
    let action = match statement.get("Action") {
        Some(Json::Array(items)) if items.len() == 1 => items[0].clone(),
        Some(other) => other.clone(),
        None => Json::Null,
    };
    Ok(Some(Observed {
        physical_id: permission.statement_id.clone(),
        outputs: Outputs::from([(OutputKey::Id, permission.statement_id.clone())]),
        fields: [
            (field::FUNCTION_NAME, Json::from(function)),
            (field::QUALIFIER, Json::from(permission.qualifier.as_str())),
            (
                field::STATEMENT_ID,
                statement.get("Sid").cloned().unwrap_or(Json::Null),
            ),
            (field::ACTION, action),
            (field::PRINCIPAL, principal(&statement)),
            (
                field::SOURCE_ARN,
                condition(&statement, "ArnLike", "AWS:SourceArn"),
            ),
            (
                field::SOURCE_ACCOUNT,
                condition(&statement, "StringEquals", "AWS:SourceAccount"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

fn as_text(value: Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// AddPermission with every field of the spec, resolved exactly as the planner compares them.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    permission: &LambdaPermissionSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "AddPermission";
    let function = as_text(resolved_field(
        spec,
        field::FUNCTION_NAME,
        ctx,
        SERVICE,
        op,
    )?)
    .unwrap_or_default();
    let source_arn = as_text(resolved_field(spec, field::SOURCE_ARN, ctx, SERVICE, op)?);
    let source_account = as_text(resolved_field(
        spec,
        field::SOURCE_ACCOUNT,
        ctx,
        SERVICE,
        op,
    )?);
    clients
        .lambda
        .add_permission()
        .function_name(function)
        .qualifier(&permission.qualifier)
        .statement_id(&permission.statement_id)
        .action(&permission.action)
        .principal(&permission.principal)
        .set_source_arn(source_arn)
        .set_source_account(source_account)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(Outputs::from([(
        OutputKey::Id,
        permission.statement_id.clone(),
    )]))
}

/// A statement cannot be changed in place: RemovePermission of the current one, then
/// AddPermission of the spec's.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    permission: &LambdaPermissionSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let known = [
        field::FUNCTION_NAME,
        field::QUALIFIER,
        field::STATEMENT_ID,
        field::ACTION,
        field::PRINCIPAL,
        field::SOURCE_ARN,
        field::SOURCE_ACCOUNT,
    ];
    if let Some(name) = changed.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(unknown_field(spec, name));
    }
    delete(clients, current).await?;
    create(clients, spec, permission, ctx).await
}

/// RemovePermission of the observed statement; a statement, alias or function already gone
/// is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let text = |name: &str| {
        current
            .fields
            .get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    let Some(function) = text(field::FUNCTION_NAME) else {
        return Err(CloudError::fatal(
            SERVICE,
            "RemovePermission",
            format!(
                "the observed permission `{}` has no `function_name`; this is a txdeploy bug",
                current.physical_id
            ),
        ));
    };
    clients
        .lambda
        .remove_permission()
        .function_name(function)
        .set_qualifier(text(field::QUALIFIER))
        .statement_id(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "RemovePermission")
        .found(&[])?;
    Ok(())
}
