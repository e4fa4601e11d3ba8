//! Lambda aliases (`live`): the version they point at and their provisioned concurrency.
//! The physical name is `{function}:{alias}`. With a canary (`StepContext::canary`) a
//! version change keeps the old version primary and routes the canary weight to the new one;
//! `route` is the one place that sets (or clears) that routing. The split is observed as the
//! `routing` field (`{"7": 0.1}`, null when none; [`AliasRouting::weights_field`]), desired
//! null, so a split left by an interrupted canary shows in `plan` and `audit` and `apply`
//! clears it.

use std::collections::HashMap;

use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::{resolved_field, unknown_field, wrong_shape};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{LambdaAliasSpec, OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "lambda";

/// AWS's code for "no provisioned concurrency on this qualifier".
const NO_PROVISIONED: &str = "ProvisionedConcurrencyConfigNotFoundException";

/// Splits `{function}:{alias}`.
fn split(physical_name: &str) -> Result<(&str, &str), CloudError> {
    physical_name.rsplit_once(':').ok_or_else(|| {
        CloudError::fatal(
            SERVICE,
            "GetAlias",
            format!("`{physical_name}` is not `function:alias`; this is a txdeploy bug"),
        )
    })
}

/// The alias, or `None` when it (or its function) does not exist.
pub async fn observe(
    clients: &AwsClients,
    physical_name: &str,
) -> Result<Option<Observed>, CloudError> {
    let (function, alias) = split(physical_name)?;
    let Some(found) = clients
        .lambda
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
        .classified(SERVICE, "GetAlias")
        .found(&[])?
    else {
        return Ok(None);
    };
    let provisioned = clients
        .lambda
        .get_provisioned_concurrency_config()
        .function_name(function)
        .qualifier(alias)
        .send()
        .await
        .classified(SERVICE, "GetProvisionedConcurrencyConfig")
        .map_err(|e| {
            // An endpoint without the operation (moto: unrouted, HTTP 404 with no error
            // code) can hold no provisioned concurrency: read it as none.
            if e.status == Some(404) && e.code.is_none() {
                CloudError::from_parts(
                    SERVICE,
                    "GetProvisionedConcurrencyConfig",
                    Some(NO_PROVISIONED),
                    Some(404),
                    "not implemented by this endpoint",
                )
            } else {
                e
            }
        })
        .found(&[NO_PROVISIONED])?
        .and_then(|out| out.requested_provisioned_concurrent_executions);
    Ok(Some(Observed {
        physical_id: physical_name.to_owned(),
        outputs: Outputs::from([
            (
                OutputKey::Arn,
                found.alias_arn().unwrap_or_default().to_owned(),
            ),
            (OutputKey::Name, alias.to_owned()),
        ]),
        fields: [
            (field::FUNCTION_NAME, Json::from(function)),
            (
                field::FUNCTION_VERSION,
                found.function_version().map_or(Json::Null, Json::from),
            ),
            (
                field::PROVISIONED_CONCURRENCY,
                provisioned.map_or(Json::Null, Json::from),
            ),
            (
                field::ROUTING,
                AliasRouting::from_alias(&found).weights_field(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

fn text(value: Json) -> String {
    match value {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// CreateAlias at the function's published version, then provisioned concurrency if set.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    alias: &LambdaAliasSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateAlias";
    let function = text(resolved_field(
        spec,
        field::FUNCTION_NAME,
        ctx,
        SERVICE,
        op,
    )?);
    let version = text(resolved_field(
        spec,
        field::FUNCTION_VERSION,
        ctx,
        SERVICE,
        op,
    )?);
    let created = clients
        .lambda
        .create_alias()
        .function_name(&function)
        .name(&alias.alias_name)
        .function_version(version)
        .send()
        .await
        .classified(SERVICE, op)?;
    if let Some(n) = alias.provisioned_concurrency {
        put_provisioned(clients, &function, &alias.alias_name, Some(n)).await?;
    }
    Ok(Outputs::from([
        (
            OutputKey::Arn,
            created.alias_arn().unwrap_or_default().to_owned(),
        ),
        (OutputKey::Name, alias.alias_name.clone()),
    ]))
}

async fn put_provisioned(
    clients: &AwsClients,
    function: &str,
    alias: &str,
    provisioned: Option<u32>,
) -> Result<(), CloudError> {
    match provisioned {
        Some(n) => {
            clients
                .lambda
                .put_provisioned_concurrency_config()
                .function_name(function)
                .qualifier(alias)
                .provisioned_concurrent_executions(i32::try_from(n).unwrap_or(i32::MAX))
                .send()
                .await
                .classified(SERVICE, "PutProvisionedConcurrencyConfig")?;
        }
        None => {
            clients
                .lambda
                .delete_provisioned_concurrency_config()
                .function_name(function)
                .qualifier(alias)
                .send()
                .await
                .classified(SERVICE, "DeleteProvisionedConcurrencyConfig")
                .found(&[NO_PROVISIONED])?;
        }
    }
    Ok(())
}

/// UpdateAlias for a new version (a release or a rollback) or a split to clear, in one call
/// when both changed; provisioned concurrency on its own call.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    alias: &LambdaAliasSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let (function, name) = split(&current.physical_id)?;
    let mut routed = false;
    for field_name in changed {
        match field_name.as_str() {
            field::FUNCTION_VERSION | field::ROUTING if routed => {}
            field::FUNCTION_VERSION | field::ROUTING => {
                routed = true;
                let moves = changed.iter().any(|f| f == field::FUNCTION_VERSION);
                update_routing(clients, spec, current, (function, name), moves, ctx).await?;
            }
            field::PROVISIONED_CONCURRENCY => {
                put_provisioned(clients, function, name, alias.provisioned_concurrency).await?;
            }
            _ => return Err(unknown_field(spec, field_name)),
        }
    }
    Ok(current.outputs.clone())
}

/// The one UpdateAlias of an update that changes the version, the routing or both.
///
/// A canary (`ctx.canary`) is in effect only for a step that moves the alias to another
/// version: the old version stays primary and the new one gets the weight. The executor does
/// not read an alias back after this call; a retry does, sees both `function_version` and
/// `routing` differ from the spec, and comes here again with the same canary, so it sends
/// the same split rather than clearing it. Any other routing
/// change sends every request to the resolved version with no weights (the spec's routing
/// is always null), except an undo, which writes back the recorded routing (`ctx.restored`
/// through `resolved_field`), so an alias split before the failed apply is split again.
async fn update_routing(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    (function, name): (&str, &str),
    moves_version: bool,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "UpdateAlias";
    let version = text(resolved_field(
        spec,
        field::FUNCTION_VERSION,
        ctx,
        SERVICE,
        op,
    )?);
    let stable = current
        .fields
        .get(field::FUNCTION_VERSION)
        .and_then(Json::as_str);
    match (ctx.canary, stable) {
        // A canary: the old version stays primary, the new one gets the weight.
        (Some(canary), Some(stable)) if moves_version && stable != version => {
            let weight = canary.weight_fraction();
            route(clients, function, name, stable, Some((&version, weight))).await
        }
        _ => {
            let routing = resolved_field(spec, field::ROUTING, ctx, SERVICE, op)?;
            let weights = AliasRouting::weights_from_field(&routing).ok_or_else(|| {
                wrong_shape(spec, field::ROUTING, WEIGHTS_SHAPE, &routing, SERVICE, op)
            })?;
            update_alias(clients, function, name, &version, weights).await
        }
    }
}

/// Points the alias at `primary` and routes `canary`'s weight (0.0..1.0) to its version;
/// with `None` the routing is cleared, so every request runs `primary` (a full release, a
/// promotion or a rollback of a canary).
pub async fn route(
    clients: &AwsClients,
    function: &str,
    alias: &str,
    primary: &str,
    canary: Option<(&str, f64)>,
) -> Result<(), CloudError> {
    let weights = canary
        .map(|(version, weight)| (version.to_owned(), weight))
        .into_iter()
        .collect();
    update_alias(clients, function, alias, primary, weights).await
}

/// UpdateAlias with exactly these weights; an empty map clears the routing (AWS keeps the
/// old weights when `RoutingConfig` is left out).
async fn update_alias(
    clients: &AwsClients,
    function: &str,
    alias: &str,
    primary: &str,
    weights: HashMap<String, f64>,
) -> Result<(), CloudError> {
    clients
        .lambda
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(primary)
        .routing_config(
            AliasRoutingConfiguration::builder()
                .set_additional_version_weights(Some(weights))
                .build(),
        )
        .send()
        .await
        .classified(SERVICE, "UpdateAlias")?;
    Ok(())
}

/// What `routing` must look like, for the error when it does not.
const WEIGHTS_SHAPE: &str = "null or an object of version to weight (0.0..1.0)";

/// Where an alias sends traffic: its primary version and any weighted extra versions.
#[derive(Clone, Debug, PartialEq)]
pub struct AliasRouting {
    pub primary: String,
    /// Sorted by version.
    pub weights: Vec<(String, f64)>,
}

impl AliasRouting {
    fn from_alias(found: &GetAliasOutput) -> Self {
        let mut weights: Vec<(String, f64)> = found
            .routing_config()
            .and_then(AliasRoutingConfiguration::additional_version_weights)
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        Self {
            primary: found.function_version().unwrap_or_default().to_owned(),
            weights,
        }
    }

    /// The `routing` field: `{"7": 0.1}`, or null when every request runs the primary
    /// version (AWS reports a cleared routing as an empty map, or not at all).
    pub fn weights_field(&self) -> Json {
        if self.weights.is_empty() {
            return Json::Null;
        }
        Json::Object(
            self.weights
                .iter()
                .map(|(version, weight)| (version.clone(), Json::from(*weight)))
                .collect(),
        )
    }

    /// The weights a `routing` field holds (none for null); `None` when it is not that shape.
    pub fn weights_from_field(routing: &Json) -> Option<HashMap<String, f64>> {
        match routing {
            Json::Null => Some(HashMap::new()),
            Json::Object(map) => map
                .iter()
                .map(|(version, weight)| Some((version.clone(), weight.as_f64()?)))
                .collect(),
            _ => None,
        }
    }
}

/// Reads an alias's routing (GetAlias).
pub async fn routing(
    clients: &AwsClients,
    function: &str,
    alias: &str,
) -> Result<AliasRouting, CloudError> {
    let found = clients
        .lambda
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
        .classified(SERVICE, "GetAlias")?;
    Ok(AliasRouting::from_alias(&found))
}

/// Splits an alias's physical name `{function}:{alias}`.
pub fn function_and_alias(physical_name: &str) -> Result<(&str, &str), CloudError> {
    split(physical_name)
}

/// DeleteAlias; an alias already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let (function, name) = split(&current.physical_id)?;
    clients
        .lambda
        .delete_alias()
        .function_name(function)
        .name(name)
        .send()
        .await
        .classified(SERVICE, "DeleteAlias")
        .found(&[])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_split_reads_as_an_object_of_weights_and_none_as_null() {
        let split = AliasRouting {
            primary: "6".to_owned(),
            weights: vec![("7".to_owned(), 0.1)],
        };
        assert_eq!(split.weights_field(), json!({"7": 0.1}));
        let full = AliasRouting {
            primary: "7".to_owned(),
            weights: Vec::new(),
        };
        assert_eq!(full.weights_field(), Json::Null);
    }

    #[test]
    fn a_recorded_routing_reads_back_as_the_weights_to_send() {
        let weights = AliasRouting::weights_from_field(&json!({"7": 0.1})).unwrap();
        assert_eq!(weights, HashMap::from([("7".to_owned(), 0.1)]));
        assert!(
            AliasRouting::weights_from_field(&Json::Null)
                .unwrap()
                .is_empty()
        );
        assert_eq!(AliasRouting::weights_from_field(&json!({"7": "10%"})), None);
        assert_eq!(AliasRouting::weights_from_field(&json!([0.1])), None);
    }
}
