//! Lambda event source mappings: a queue feeding a function alias in batches. AWS names
//! them by a UUID, so they are found by their queue and function.

use aws_sdk_lambda::types::{EventSourceMappingConfiguration, FunctionResponseType};
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, Tags, desired_tags, observed_tags, tags_json};
use super::{resolved_bool, resolved_field, resolved_i32, unknown_field};
use crate::cloud::waiter::{Poll, WaitPolicy, wait_until};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{Environment, EventSourceMappingSpec, OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "lambda";

/// `{prefix}-{env}-{logical}` of another resource of the same stack: observe has no
/// outputs, so the queue and function names come from the naming convention.
fn sibling_name(spec: &ResourceSpec, logical: &str) -> Result<String, CloudError> {
    spec.physical_name
        .strip_suffix(spec.id.logical())
        .map(|prefix| format!("{prefix}{logical}"))
        .ok_or_else(|| {
            CloudError::fatal(
                SERVICE,
                "ListEventSourceMappings",
                format!(
                    "`{}` does not end with its logical name `{}`; this is a txdeploy bug",
                    spec.physical_name,
                    spec.id.logical()
                ),
            )
        })
}

/// The function name in a (possibly qualified) function ARN.
fn function_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(6)
}

fn text(value: Json) -> String {
    match value {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

fn clamp(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The response types of a resolved `function_response_types` field (a list of names; null
/// is none).
fn response_types(field: &Json) -> Vec<FunctionResponseType> {
    field
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(FunctionResponseType::from)
        .collect()
}

/// The mapping from the spec's queue to its function, or `None`.
///
/// Lists the mappings of the queue (its ARN built from the environment and the naming
/// convention, `arn:{partition}:sqs:{region}:{account}:{prefix}-{env}-{queue}`) and keeps
/// the one invoking the spec's function, whatever its qualifier.
pub async fn observe(
    clients: &AwsClients,
    spec: &ResourceSpec,
    mapping: &EventSourceMappingSpec,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let queue = sibling_name(spec, mapping.event_source.resource.logical())?;
    let queue_arn = format!(
        "arn:{}:sqs:{}:{}:{queue}",
        env.partition, env.region, env.account_id
    );
    let function = sibling_name(spec, mapping.function.resource.logical())?;
    let mut marker = None;
    let found = loop {
        let Some(page) = clients
            .lambda
            .list_event_source_mappings()
            .event_source_arn(&queue_arn)
            .set_marker(marker)
            .send()
            .await
            .classified(SERVICE, "ListEventSourceMappings")
            .found(&[])?
        else {
            return Ok(None);
        };
        let hit = page.event_source_mappings().iter().find(|m| {
            m.function_arn().and_then(function_of) == Some(function.as_str())
                && m.state() != Some("Deleting")
        });
        if let Some(hit) = hit {
            break hit.clone();
        }
        match page.next_marker {
            Some(next) if !next.is_empty() => marker = Some(next),
            _ => return Ok(None),
        }
    };
    observed(clients, &found, env).await.map(Some)
}

async fn observed(
    clients: &AwsClients,
    found: &EventSourceMappingConfiguration,
    env: &Environment,
) -> Result<Observed, CloudError> {
    let uuid = found.uuid().unwrap_or_default().to_owned();
    let arn = found.event_source_mapping_arn().map_or_else(
        || {
            format!(
                "arn:{}:lambda:{}:{}:event-source-mapping:{uuid}",
                env.partition, env.region, env.account_id
            )
        },
        str::to_owned,
    );
    let tags: Tags = clients
        .lambda
        .list_tags()
        .resource(&arn)
        .send()
        .await
        .classified(SERVICE, "ListTags")?
        .tags
        .unwrap_or_default()
        .into_iter()
        .collect();
    let types: Vec<Json> = found
        .function_response_types()
        .iter()
        .map(|t| Json::from(t.as_str()))
        .collect();
    // create and update wait for the state to settle; a mapping caught being created or
    // enabled by someone else reads as enabled, as it soon will be.
    let enabled = matches!(found.state(), Some("Enabled" | "Enabling" | "Creating"));
    Ok(Observed {
        physical_id: uuid.clone(),
        outputs: Outputs::from([(OutputKey::Id, uuid), (OutputKey::Arn, arn)]),
        fields: [
            (
                field::EVENT_SOURCE_ARN,
                found.event_source_arn().map_or(Json::Null, Json::from),
            ),
            (
                field::FUNCTION_NAME,
                found.function_arn().map_or(Json::Null, Json::from),
            ),
            (
                field::BATCH_SIZE,
                found.batch_size().map_or(Json::Null, Json::from),
            ),
            (
                field::MAXIMUM_BATCHING_WINDOW,
                Json::from(found.maximum_batching_window_in_seconds().unwrap_or(0)),
            ),
            (field::FUNCTION_RESPONSE_TYPES, Json::Array(types)),
            (field::ENABLED, Json::Bool(enabled)),
            (field::TAGS, tags_json(&tags)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    })
}

/// Waits until the mapping has left its transitional states (`Creating`, `Enabling`,
/// `Disabling`, `Updating`), so the next observation reads `enabled` as it will stay.
async fn wait_settled(
    clients: &AwsClients,
    uuid: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let what = format!("event source mapping `{uuid}`");
    wait_until(&what, ctx, WaitPolicy::SHORT, || async {
        let state = clients
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .classified(SERVICE, "GetEventSourceMapping")?
            .state
            .unwrap_or_default();
        Ok(match state.as_str() {
            "Creating" | "Enabling" | "Disabling" | "Updating" => Poll::Pending(state),
            _ => Poll::Ready(()),
        })
    })
    .await
}

/// CreateEventSourceMapping with every setting and the tags, then waits for it to settle.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    mapping: &EventSourceMappingSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateEventSourceMapping";
    let source = text(resolved_field(
        spec,
        field::EVENT_SOURCE_ARN,
        ctx,
        SERVICE,
        op,
    )?);
    let function = text(resolved_field(
        spec,
        field::FUNCTION_NAME,
        ctx,
        SERVICE,
        op,
    )?);
    let out = clients
        .lambda
        .create_event_source_mapping()
        .event_source_arn(source)
        .function_name(function)
        .batch_size(clamp(mapping.batch_size))
        .maximum_batching_window_in_seconds(clamp(mapping.maximum_batching_window_seconds))
        .set_function_response_types(Some(response_types(&resolved_field(
            spec,
            field::FUNCTION_RESPONSE_TYPES,
            ctx,
            SERVICE,
            op,
        )?)))
        .enabled(mapping.enabled)
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)?;
    let uuid = out.uuid.unwrap_or_default();
    let env = &ctx.env;
    let arn = out.event_source_mapping_arn.unwrap_or_else(|| {
        format!(
            "arn:{}:lambda:{}:{}:event-source-mapping:{uuid}",
            env.partition, env.region, env.account_id
        )
    });
    Ok(Outputs::from([
        (OutputKey::Id, uuid),
        (OutputKey::Arn, arn),
    ]))
}

/// One UpdateEventSourceMapping with the changed settings (then waits for it to settle);
/// tags on their own calls.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "UpdateEventSourceMapping";
    let has = |name: &str| changed.iter().any(|c| c == name);
    if let Some(name) = changed.iter().find(|n| {
        ![
            field::FUNCTION_NAME,
            field::BATCH_SIZE,
            field::MAXIMUM_BATCHING_WINDOW,
            field::FUNCTION_RESPONSE_TYPES,
            field::ENABLED,
            field::TAGS,
        ]
        .contains(&n.as_str())
    }) {
        return Err(unknown_field(spec, name));
    }
    let settings = changed.iter().any(|c| c != field::TAGS);
    if settings {
        let mut call = clients
            .lambda
            .update_event_source_mapping()
            .uuid(&current.physical_id);
        if has(field::FUNCTION_NAME) {
            let function = text(resolved_field(
                spec,
                field::FUNCTION_NAME,
                ctx,
                SERVICE,
                op,
            )?);
            call = call.function_name(function);
        }
        // Read through `resolved_*`, so an undo writes back the recorded settings.
        if has(field::BATCH_SIZE) {
            let size = resolved_i32(spec, field::BATCH_SIZE, ctx, SERVICE, op)?;
            call = call.set_batch_size(size);
        }
        if has(field::MAXIMUM_BATCHING_WINDOW) {
            let window = resolved_i32(spec, field::MAXIMUM_BATCHING_WINDOW, ctx, SERVICE, op)?;
            call = call.set_maximum_batching_window_in_seconds(window);
        }
        if has(field::FUNCTION_RESPONSE_TYPES) {
            let types = resolved_field(spec, field::FUNCTION_RESPONSE_TYPES, ctx, SERVICE, op)?;
            call = call.set_function_response_types(Some(response_types(&types)));
        }
        if has(field::ENABLED) {
            let enabled = resolved_bool(spec, field::ENABLED, ctx, SERVICE, op)?;
            call = call.set_enabled(enabled);
        }
        call.send().await.classified(SERVICE, op)?;
        wait_settled(clients, &current.physical_id, ctx).await?;
    }
    let arn = current
        .outputs
        .get(&OutputKey::Arn)
        .cloned()
        .unwrap_or_default();
    if has(field::TAGS) {
        let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
        if !diff.set.is_empty() {
            clients
                .lambda
                .tag_resource()
                .resource(&arn)
                .set_tags(Some(diff.set.into_iter().collect()))
                .send()
                .await
                .classified(SERVICE, "TagResource")?;
        }
        if !diff.remove.is_empty() {
            clients
                .lambda
                .untag_resource()
                .resource(&arn)
                .set_tag_keys(Some(diff.remove))
                .send()
                .await
                .classified(SERVICE, "UntagResource")?;
        }
    }
    Ok(current.outputs.clone())
}

/// DeleteEventSourceMapping; a mapping already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .lambda
        .delete_event_source_mapping()
        .uuid(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteEventSourceMapping")
        .found(&[])?;
    Ok(())
}
