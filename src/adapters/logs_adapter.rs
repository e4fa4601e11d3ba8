//! CloudWatch Logs: log groups (retention, KMS key, tags) and the subscription filters that
//! ship every event of a group to the archive delivery stream.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, TaggedResource, Tags, desired_tags, observed_tags, tags_json};
use super::{resolved_field, unknown_field};
use crate::cloud::{CloudError, ErrorClass, Observed, StepContext};
use crate::spec::{Environment, OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "logs";

/// `stack::logs` names a group's filter `{group resource name}-archive`, and the group's
/// name contains that resource name (`/aws/lambda/{name}`, `/aws/apigateway/{name}`); the
/// suffix is how a filter finds its group without the group's outputs.
const FILTER_SUFFIX: &str = "-archive";

/// The log group named exactly `name`, or `None`.
pub async fn observe_group(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<Observed>, CloudError> {
    let Some(group) = describe_group(clients, name).await? else {
        return Ok(None);
    };
    let arn = group_arn(&group);
    let tags = list_tags(clients, &arn).await?;
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: Outputs::from([(OutputKey::Arn, arn), (OutputKey::Name, name.to_owned())]),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (
                field::RETENTION_IN_DAYS,
                group.retention_in_days.map_or(Json::Null, Json::from),
            ),
            (
                field::KMS_KEY_ID,
                group.kms_key_id.map_or(Json::Null, Json::from),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// A log group found by `discover`, read in full by the name its ARN ends with.
pub async fn discovered_group(
    clients: &AwsClients,
    resource: &TaggedResource,
) -> Result<Option<Observed>, CloudError> {
    let name = resource
        .arn
        .trim_end_matches(":*")
        .split_once(":log-group:")
        .map_or("", |(_, name)| name);
    observe_group(clients, name).await
}

/// DescribeLogGroups matches by prefix: the exact name is picked from the pages.
async fn describe_group(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>, CloudError> {
    let mut token = None;
    loop {
        let page = clients
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .set_next_token(token)
            .send()
            .await
            .classified(SERVICE, "DescribeLogGroups")?;
        if let Some(group) = page
            .log_groups
            .unwrap_or_default()
            .into_iter()
            .find(|g| g.log_group_name.as_deref() == Some(name))
        {
            return Ok(Some(group));
        }
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(None),
        }
    }
}

/// The group's ARN without the `:*` that `arn` carries (the form tags and IAM policies use).
fn group_arn(group: &aws_sdk_cloudwatchlogs::types::LogGroup) -> String {
    group
        .log_group_arn
        .clone()
        .or_else(|| group.arn.clone())
        .unwrap_or_default()
        .trim_end_matches(":*")
        .to_owned()
}

fn arn_of(env: &Environment, name: &str) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{name}",
        env.partition, env.region, env.account_id
    )
}

async fn list_tags(clients: &AwsClients, arn: &str) -> Result<Tags, CloudError> {
    Ok(clients
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .classified(SERVICE, "ListTagsForResource")?
        .tags
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// The retention as the API's `i32`; the spec's value is a small positive number.
fn retention_days(value: &Json, op: &str) -> Result<Option<i32>, CloudError> {
    match value {
        Json::Null => Ok(None),
        other => other
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                CloudError::fatal(
                    SERVICE,
                    op,
                    format!("`retention_in_days` must be a number of days, not {other}"),
                )
            }),
    }
}

/// CreateLogGroup with its KMS key and tags in one call, then PutRetentionPolicy.
pub async fn create_group(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateLogGroup";
    let name = spec.physical_name.as_str();
    let kms = resolved_field(spec, field::KMS_KEY_ID, ctx, SERVICE, op)?;
    let retention = resolved_field(spec, field::RETENTION_IN_DAYS, ctx, SERVICE, op)?;
    let retention = retention_days(&retention, op)?;
    clients
        .logs
        .create_log_group()
        .log_group_name(name)
        .set_kms_key_id(kms.as_str().map(str::to_owned))
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)
        .map_err(key_not_ready)?;
    if let Some(days) = retention {
        put_retention(clients, name, days).await?;
    }
    Ok(Outputs::from([
        (OutputKey::Arn, arn_of(&ctx.env, name)),
        (OutputKey::Name, name.to_owned()),
    ]))
}

/// A key created a moment ago whose policy CloudWatch Logs cannot see yet is rejected with
/// "... is not allowed to be used with ..." ; that clears up, so it is retried.
fn key_not_ready(mut err: CloudError) -> CloudError {
    let msg = err.message.to_ascii_lowercase();
    if err.code.as_deref() == Some("AccessDeniedException") && msg.contains("kms") {
        err.class = ErrorClass::EventuallyConsistent;
    }
    err
}

async fn put_retention(clients: &AwsClients, name: &str, days: i32) -> Result<(), CloudError> {
    clients
        .logs
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .classified(SERVICE, "PutRetentionPolicy")?;
    Ok(())
}

/// One call per changed field: retention, KMS key (associate or disassociate), tags.
pub async fn update_group(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let name = current.physical_id.as_str();
    for changed_field in changed {
        match changed_field.as_str() {
            field::RETENTION_IN_DAYS => {
                let op = "PutRetentionPolicy";
                let value = resolved_field(spec, field::RETENTION_IN_DAYS, ctx, SERVICE, op)?;
                match retention_days(&value, op)? {
                    Some(days) => put_retention(clients, name, days).await?,
                    None => {
                        clients
                            .logs
                            .delete_retention_policy()
                            .log_group_name(name)
                            .send()
                            .await
                            .classified(SERVICE, "DeleteRetentionPolicy")?;
                    }
                }
            }
            field::KMS_KEY_ID => {
                let op = "AssociateKmsKey";
                match resolved_field(spec, field::KMS_KEY_ID, ctx, SERVICE, op)? {
                    Json::String(key) => {
                        clients
                            .logs
                            .associate_kms_key()
                            .log_group_name(name)
                            .kms_key_id(key)
                            .send()
                            .await
                            .classified(SERVICE, op)
                            .map_err(key_not_ready)?;
                    }
                    _ => {
                        clients
                            .logs
                            .disassociate_kms_key()
                            .log_group_name(name)
                            .send()
                            .await
                            .classified(SERVICE, "DisassociateKmsKey")?;
                    }
                }
            }
            field::TAGS => {
                let arn = current
                    .outputs
                    .get(&OutputKey::Arn)
                    .cloned()
                    .unwrap_or_else(|| arn_of(&ctx.env, name));
                let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
                if !diff.set.is_empty() {
                    clients
                        .logs
                        .tag_resource()
                        .resource_arn(&arn)
                        .set_tags(Some(diff.set.into_iter().collect()))
                        .send()
                        .await
                        .classified(SERVICE, "TagResource")?;
                }
                if !diff.remove.is_empty() {
                    clients
                        .logs
                        .untag_resource()
                        .resource_arn(&arn)
                        .set_tag_keys(Some(diff.remove))
                        .send()
                        .await
                        .classified(SERVICE, "UntagResource")?;
                }
            }
            _ => return Err(unknown_field(spec, changed_field)),
        }
    }
    Ok(current.outputs.clone())
}

/// DeleteLogGroup (its events and filters go with it); a group already gone is fine.
pub async fn delete_group(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .logs
        .delete_log_group()
        .log_group_name(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteLogGroup")
        .found(&[])?;
    Ok(())
}

/// The subscription filter named `name`, looked for in the groups whose name contains the
/// filter's name without its suffix (see `FILTER_SUFFIX`).
pub async fn observe_filter(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<Observed>, CloudError> {
    let pattern = name.strip_suffix(FILTER_SUFFIX).unwrap_or(name);
    let mut token = None;
    loop {
        let page = clients
            .logs
            .describe_log_groups()
            .log_group_name_pattern(pattern)
            .set_next_token(token)
            .send()
            .await
            .classified(SERVICE, "DescribeLogGroups")?;
        let groups = page.log_groups.unwrap_or_default();
        // Checked here too: the pattern is a case-insensitive substring match on AWS, and an
        // emulator may ignore it.
        for group in groups.iter().filter_map(|g| g.log_group_name.as_deref()) {
            if group.contains(pattern)
                && let Some(observed) = filter_in_group(clients, group, name).await?
            {
                return Ok(Some(observed));
            }
        }
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(None),
        }
    }
}

async fn filter_in_group(
    clients: &AwsClients,
    group: &str,
    name: &str,
) -> Result<Option<Observed>, CloudError> {
    let filters = clients
        .logs
        .describe_subscription_filters()
        .log_group_name(group)
        .filter_name_prefix(name)
        .send()
        .await
        .classified(SERVICE, "DescribeSubscriptionFilters")
        .found(&[])?
        .and_then(|out| out.subscription_filters)
        .unwrap_or_default();
    let Some(filter) = filters
        .into_iter()
        .find(|f| f.filter_name.as_deref() == Some(name))
    else {
        return Ok(None);
    };
    let text = |s: Option<String>| s.map_or(Json::Null, Json::String);
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: Outputs::from([(OutputKey::Name, name.to_owned())]),
        fields: [
            (field::LOG_GROUP_NAME, Json::String(group.to_owned())),
            // An absent pattern is the empty one, which matches every event.
            (
                field::FILTER_PATTERN,
                Json::String(filter.filter_pattern.unwrap_or_default()),
            ),
            (field::DESTINATION_ARN, text(filter.destination_arn)),
            (field::ROLE_ARN, text(filter.role_arn)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// PutSubscriptionFilter with every field: it both creates and updates.
pub async fn put_filter(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "PutSubscriptionFilter";
    let text = |name: &str| -> Result<String, CloudError> {
        match resolved_field(spec, name, ctx, SERVICE, op)? {
            Json::String(s) => Ok(s),
            other => Err(CloudError::fatal(
                SERVICE,
                op,
                format!("`{}`: `{name}` must be a string, not {other}", spec.id),
            )),
        }
    };
    let group = text(field::LOG_GROUP_NAME)?;
    let mut fields = HashMap::new();
    for name in [
        field::FILTER_PATTERN,
        field::DESTINATION_ARN,
        field::ROLE_ARN,
    ] {
        fields.insert(name, text(name)?);
    }
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    clients
        .logs
        .put_subscription_filter()
        .log_group_name(group)
        .filter_name(&spec.physical_name)
        .filter_pattern(get(field::FILTER_PATTERN))
        .destination_arn(get(field::DESTINATION_ARN))
        .role_arn(get(field::ROLE_ARN))
        .send()
        .await
        .classified(SERVICE, op)
        .map_err(destination_not_ready)?;
    Ok(Outputs::from([(
        OutputKey::Name,
        spec.physical_name.clone(),
    )]))
}

/// CloudWatch Logs sends a test message through the role when a filter is put; a role or
/// stream created a moment ago makes that fail with `InvalidParameterException` ("could not
/// deliver test message", "unable to assume role"), which clears up by itself.
fn destination_not_ready(mut err: CloudError) -> CloudError {
    let msg = err.message.to_ascii_lowercase();
    if err.code.as_deref() == Some("InvalidParameterException")
        && (msg.contains("could not deliver test message")
            || (msg.contains("assume") && msg.contains("role")))
    {
        err.class = ErrorClass::EventuallyConsistent;
    }
    err
}

/// Changes to the pattern, destination or role are one PutSubscriptionFilter.
pub async fn update_filter(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    if let Some(other) = changed.iter().find(|f| {
        ![
            field::FILTER_PATTERN,
            field::DESTINATION_ARN,
            field::ROLE_ARN,
        ]
        .contains(&f.as_str())
    }) {
        return Err(unknown_field(spec, other));
    }
    if !changed.is_empty() {
        put_filter(clients, spec, ctx).await?;
    }
    Ok(current.outputs.clone())
}

/// DeleteSubscriptionFilter in the group it was observed in; already gone is fine.
pub async fn delete_filter(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let group = current
        .fields
        .get(field::LOG_GROUP_NAME)
        .and_then(Json::as_str)
        .unwrap_or_default();
    clients
        .logs
        .delete_subscription_filter()
        .log_group_name(group)
        .filter_name(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteSubscriptionFilter")
        .found(&[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> CloudError {
        CloudError::from_parts(
            SERVICE,
            "PutSubscriptionFilter",
            Some(code),
            Some(400),
            message.to_owned(),
        )
    }

    #[test]
    fn a_destination_not_ready_yet_is_retried_and_other_errors_are_not() {
        let not_ready = error(
            "InvalidParameterException",
            "Could not deliver test message to specified Firehose stream. Check if the given \
             Firehose stream is in ACTIVE state.",
        );
        assert_eq!(
            destination_not_ready(not_ready).class,
            ErrorClass::EventuallyConsistent
        );
        let bad_pattern = error("InvalidParameterException", "Invalid character(s) in term");
        assert_eq!(destination_not_ready(bad_pattern).class, ErrorClass::Fatal);
    }

    #[test]
    fn retention_is_a_number_of_days_or_none() {
        assert_eq!(retention_days(&Json::from(7), "op").unwrap(), Some(7));
        assert_eq!(retention_days(&Json::Null, "op").unwrap(), None);
        assert!(retention_days(&Json::from("7"), "op").is_err());
    }

    #[test]
    fn a_group_arn_never_ends_in_the_wildcard() {
        let group = aws_sdk_cloudwatchlogs::types::LogGroup::builder()
            .log_group_name("/aws/lambda/f")
            .arn("arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*")
            .build();
        assert_eq!(
            group_arn(&group),
            "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f"
        );
    }
}
