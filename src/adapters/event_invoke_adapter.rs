//! Lambda event-invoke configs: retries, maximum event age and the on-failure destination
//! of asynchronous invocations of one alias. The physical name is `{function}:{qualifier}`.

use aws_sdk_lambda::types::{DestinationConfig, OnFailure, OnSuccess};
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::{Members, resolved_field, resolved_i32, unknown_field};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{EventInvokeConfigSpec, OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "lambda";

fn split(physical_name: &str) -> Result<(&str, &str), CloudError> {
    physical_name.rsplit_once(':').ok_or_else(|| {
        CloudError::fatal(
            SERVICE,
            "GetFunctionEventInvokeConfig",
            format!("`{physical_name}` is not `function:qualifier`; this is a txdeploy bug"),
        )
    })
}

/// The config of the alias, or `None` when there is none.
pub async fn observe(
    clients: &AwsClients,
    physical_name: &str,
) -> Result<Option<Observed>, CloudError> {
    let (function, qualifier) = split(physical_name)?;
    let Some(found) = clients
        .lambda
        .get_function_event_invoke_config()
        .function_name(function)
        .qualifier(qualifier)
        .send()
        .await
        .classified(SERVICE, "GetFunctionEventInvokeConfig")
        .found(&[])?
    else {
        return Ok(None);
    };
    let destinations = found.destination_config();
    let on_failure = destinations
        .and_then(DestinationConfig::on_failure)
        .and_then(OnFailure::destination);
    let on_success = destinations
        .and_then(DestinationConfig::on_success)
        .and_then(OnSuccess::destination);
    Ok(Some(Observed {
        physical_id: physical_name.to_owned(),
        outputs: Outputs::from([(
            OutputKey::Arn,
            found.function_arn().unwrap_or_default().to_owned(),
        )]),
        fields: [
            (field::FUNCTION_NAME, Json::from(function)),
            (field::QUALIFIER, Json::from(qualifier)),
            (
                field::MAXIMUM_RETRY_ATTEMPTS,
                found
                    .maximum_retry_attempts()
                    .map_or(Json::Null, Json::from),
            ),
            (
                field::MAXIMUM_EVENT_AGE,
                found
                    .maximum_event_age_in_seconds()
                    .map_or(Json::Null, Json::from),
            ),
            (
                field::DESTINATION_CONFIG,
                serde_json::json!({"on_failure": on_failure, "on_success": on_success}),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// PutFunctionEventInvokeConfig with every setting: it replaces the whole config, so
/// create and every update are the same call.
async fn put(
    clients: &AwsClients,
    spec: &ResourceSpec,
    config: &EventInvokeConfigSpec,
    ctx: &StepContext,
    op: &str,
) -> Result<Outputs, CloudError> {
    let function = match resolved_field(spec, field::FUNCTION_NAME, ctx, SERVICE, op)? {
        Json::String(s) => s,
        other => other.to_string(),
    };
    // Read through `resolved_*`, so an undo writes back the recorded settings.
    let retries = resolved_i32(spec, field::MAXIMUM_RETRY_ATTEMPTS, ctx, SERVICE, op)?;
    let max_age = resolved_i32(spec, field::MAXIMUM_EVENT_AGE, ctx, SERVICE, op)?;
    let destination = resolved_field(spec, field::DESTINATION_CONFIG, ctx, SERVICE, op)?;
    let destination = Members::of(spec, field::DESTINATION_CONFIG, &destination, SERVICE, op);
    let on_failure = destination
        .text("on_failure")?
        .map(|arn| OnFailure::builder().destination(arn).build());
    let on_success = destination
        .text("on_success")?
        .map(|arn| OnSuccess::builder().destination(arn).build());
    let destinations = DestinationConfig::builder()
        .set_on_failure(on_failure)
        .set_on_success(on_success)
        .build();
    // Put replaces the whole config, on create and on every update.
    let arn = clients
        .lambda
        .put_function_event_invoke_config()
        .function_name(&function)
        .qualifier(&config.qualifier)
        .set_maximum_retry_attempts(retries)
        .set_maximum_event_age_in_seconds(max_age)
        .destination_config(destinations)
        .send()
        .await
        .classified(SERVICE, op)?
        .function_arn;
    Ok(Outputs::from([(OutputKey::Arn, arn.unwrap_or_default())]))
}

pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    config: &EventInvokeConfigSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    put(clients, spec, config, ctx, "PutFunctionEventInvokeConfig").await
}

/// One PutFunctionEventInvokeConfig for any number of changed settings.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    config: &EventInvokeConfigSpec,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    for name in changed {
        if ![
            field::MAXIMUM_RETRY_ATTEMPTS,
            field::MAXIMUM_EVENT_AGE,
            field::DESTINATION_CONFIG,
        ]
        .contains(&name.as_str())
        {
            return Err(unknown_field(spec, name));
        }
    }
    put(
        clients,
        spec,
        config,
        ctx,
        "UpdateFunctionEventInvokeConfig",
    )
    .await
}

/// DeleteFunctionEventInvokeConfig; a config already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let (function, qualifier) = split(&current.physical_id)?;
    clients
        .lambda
        .delete_function_event_invoke_config()
        .function_name(function)
        .qualifier(qualifier)
        .send()
        .await
        .classified(SERVICE, "DeleteFunctionEventInvokeConfig")
        .found(&[])?;
    Ok(())
}
