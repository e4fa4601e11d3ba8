//! API Gateway: the REST API with its whole definition (resources, models, validators,
//! methods, integrations, method and gateway responses), the deployments that snapshot it,
//! the stage with its method settings, the account's logging role, the usage plan, the API
//! key and the key's membership in the plan.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::types::{
    ApiKeySourceType, CacheClusterSize, EndpointConfiguration, EndpointType, GatewayResponseType,
    IntegrationType, Op, PatchOperation, RestApi,
};
use serde_json::{Map, Value as Json, json};

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, Tags, desired_tags, observed_tags, tags_json};
use super::{parse_document, resolved_field, unknown_field};
use crate::cloud::waiter::{Poll, WaitPolicy, wait_until};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{ApiStageSpec, Environment, OutputKey, Outputs, ResourceSpec, field};
use crate::stack::{LOGICAL_TAG, STACK_TAG};

const SERVICE: &str = "apigateway";

/// The prefix of a deployment description; the definition's sha256 follows it.
const DEFINITION_PREFIX: &str = "txdeploy definition ";

/// Page size of the list calls (API Gateway's maximum).
const PAGE: i32 = 500;

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

fn patch_op(op: Op, path: impl Into<String>, value: impl Into<String>) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path(path)
        .value(value)
        .build()
}

fn replace_op(path: impl Into<String>, value: impl Into<String>) -> PatchOperation {
    patch_op(Op::Replace, path, value)
}

fn remove_op(path: impl Into<String>) -> PatchOperation {
    PatchOperation::builder().op(Op::Remove).path(path).build()
}

/// The ARN of the API Gateway resource at `path` (`/restapis/{id}`, `/usageplans/{id}`...):
/// what the tagging calls take.
fn apigateway_arn(env: &Environment, path: &str) -> String {
    format!("arn:{}:apigateway:{}::{path}", env.partition, env.region)
}

fn rest_api_arn(env: &Environment, api_id: &str) -> String {
    apigateway_arn(env, &format!("/restapis/{api_id}"))
}

fn stage_arn(env: &Environment, api_id: &str, stage: &str) -> String {
    format!("{}/stages/{stage}", rest_api_arn(env, api_id))
}

fn str_of<'a>(value: &'a Json, key: &str) -> &'a str {
    value.get(key).and_then(Json::as_str).unwrap_or_default()
}

/// A string field of an earlier observation (empty when it is not a string).
fn observed_str<'a>(current: &'a Observed, name: &str) -> &'a str {
    current
        .fields
        .get(name)
        .and_then(Json::as_str)
        .unwrap_or_default()
}

/// Tags as the SDK returns them, sorted.
fn tags_of(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.map(|t| t.clone().into_iter().collect())
        .unwrap_or_default()
}

fn bool_of(value: &Json, key: &str) -> bool {
    value.get(key).and_then(Json::as_bool).unwrap_or_default()
}

fn object(value: &Json) -> Map<String, Json> {
    value.as_object().cloned().unwrap_or_default()
}

/// A string-to-string map from a JSON object (templates, request models).
fn string_map(value: Option<&Json>) -> HashMap<String, String> {
    value
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn sorted_json<V: Into<Json> + Clone>(map: Option<&HashMap<String, V>>) -> Json {
    Json::Object(
        map.map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect()
        })
        .unwrap_or_default(),
    )
}

/// One page of a listing: its items and the position of the next page; `None` when what
/// is listed (an API's resources, its deployments) is gone.
type Page<T> = Option<(Vec<T>, Option<String>)>;

/// Reads a `position`-paginated listing page by page (`fetch` sends the request for one
/// position) until an item matches `until` or the pages end, and returns the items read;
/// `None` when what is listed is gone. Stopping at the match saves the later pages' calls.
async fn read_pages<T, Fut>(
    mut fetch: impl FnMut(Option<String>) -> Fut,
    until: impl Fn(&T) -> bool,
) -> Result<Option<Vec<T>>, CloudError>
where
    Fut: Future<Output = Result<Page<T>, CloudError>>,
{
    let mut items = Vec::new();
    let mut position = None;
    loop {
        let Some((page, next)) = fetch(position).await? else {
            return Ok(None);
        };
        if let Some(at) = page.iter().position(&until) {
            items.extend(page.into_iter().take(at + 1));
            return Ok(Some(items));
        }
        items.extend(page);
        position = next;
        if position.is_none() {
            return Ok(Some(items));
        }
    }
}

/// The first item of a paginated listing that matches `wanted` (see `read_pages`).
async fn find_in_pages<T, Fut>(
    fetch: impl FnMut(Option<String>) -> Fut,
    wanted: impl Fn(&T) -> bool,
) -> Result<Option<T>, CloudError>
where
    Fut: Future<Output = Result<Page<T>, CloudError>>,
{
    let items = read_pages(fetch, &wanted).await?;
    Ok(items
        .and_then(|mut items| items.pop())
        .filter(|i| wanted(i)))
}

/// Every REST API of the account and region.
async fn list_rest_apis(clients: &AwsClients) -> Result<Vec<RestApi>, CloudError> {
    let fetch = |position| {
        let request = clients
            .apigateway
            .get_rest_apis()
            .limit(PAGE)
            .set_position(position);
        async move {
            let page = request.send().await.classified(SERVICE, "GetRestApis")?;
            Ok(Some((page.items.unwrap_or_default(), page.position)))
        }
    };
    Ok(read_pages(fetch, |_| false).await?.unwrap_or_default())
}

/// The REST API named `name`; with several of that name, the one tagged as `logical` of
/// `stack` (names are not unique in API Gateway, tags are what txdeploy owns).
async fn find_rest_api(
    clients: &AwsClients,
    name: &str,
    owner: Option<(&str, &str)>,
) -> Result<Option<RestApi>, CloudError> {
    let mut named: Vec<RestApi> = list_rest_apis(clients)
        .await?
        .into_iter()
        .filter(|api| api.name.as_deref() == Some(name))
        .collect();
    if let Some((stack, logical)) = owner
        && named.len() > 1
    {
        named.retain(|api| is_owned_by(api, stack, logical));
    }
    Ok(named.into_iter().next())
}

fn is_owned_by(api: &RestApi, stack: &str, logical: &str) -> bool {
    let tags = api.tags.as_ref();
    tags.and_then(|t| t.get(STACK_TAG)).map(String::as_str) == Some(stack)
        && tags.and_then(|t| t.get(LOGICAL_TAG)).map(String::as_str) == Some(logical)
}

/// The REST API tagged as `logical` of `stack`: how the stage finds its API (its own name
/// is the stage name, not the API's).
async fn find_rest_api_by_tags(
    clients: &AwsClients,
    stack: &str,
    logical: &str,
) -> Result<Option<RestApi>, CloudError> {
    Ok(list_rest_apis(clients)
        .await?
        .into_iter()
        .find(|api| is_owned_by(api, stack, logical)))
}

async fn tag_resource(
    clients: &AwsClients,
    arn: &str,
    current: &Tags,
    desired: &Tags,
) -> Result<(), CloudError> {
    let diff = TagDiff::between(current, desired);
    if !diff.set.is_empty() {
        clients
            .apigateway
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(diff.set.into_iter().collect()))
            .send()
            .await
            .classified(SERVICE, "TagResource")?;
    }
    if !diff.remove.is_empty() {
        clients
            .apigateway
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(diff.remove))
            .send()
            .await
            .classified(SERVICE, "UntagResource")?;
    }
    Ok(())
}

/// One update step's arguments, as `Cloud::update` passes them.
struct Updating<'a> {
    spec: &'a ResourceSpec,
    current: &'a Observed,
    changed: &'a [String],
    ctx: &'a StepContext,
}

/// How the stage, the usage plan and the API key are updated: the tags through the tagging
/// calls on `arn`, every other changed field as the patches `patches_for` gives (or its
/// error), then one `send` of all the patches when there are any.
async fn patch_update<Fut>(
    clients: &AwsClients,
    step: Updating<'_>,
    arn: &str,
    mut patches_for: impl FnMut(&str) -> Result<Vec<PatchOperation>, CloudError>,
    send: impl FnOnce(Vec<PatchOperation>) -> Fut,
) -> Result<(), CloudError>
where
    Fut: Future<Output = Result<(), CloudError>>,
{
    let Updating {
        spec,
        current,
        changed,
        ctx,
    } = step;
    let mut patches = Vec::new();
    for name in changed {
        if name == field::TAGS {
            let desired = desired_tags(spec, ctx)?;
            tag_resource(clients, arn, &observed_tags(current), &desired).await?;
        } else {
            patches.extend(patches_for(name)?);
        }
    }
    if patches.is_empty() {
        return Ok(());
    }
    send(patches).await
}

/// The `id` a Create call returned; its absence is a fatal error of `op`.
fn created_id(id: Option<String>, op: &str) -> Result<String, CloudError> {
    id.ok_or_else(|| CloudError::fatal(SERVICE, op, "the response has no `id`"))
}

/// The outputs of a resource known by its id and its (physical) name.
fn id_and_name(id: String, name: &str) -> Outputs {
    Outputs::from([(OutputKey::Id, id), (OutputKey::Name, name.to_owned())])
}

/// What is observed of a usage plan or an API key: found by `name`, with its id, tags and
/// description, and `more` fields of its own.
fn observed_by_name(
    id: Option<String>,
    name: &str,
    tags: Option<HashMap<String, String>>,
    description: Option<String>,
    more: Vec<(&str, Json)>,
) -> Observed {
    let id = id.unwrap_or_default();
    let tags = tags_of(tags.as_ref());
    let mut fields = fields_of(vec![
        (field::TAGS, tags_json(&tags)),
        (
            field::DESCRIPTION,
            description.map_or(Json::Null, Json::from),
        ),
    ]);
    fields.extend(fields_of(more));
    Observed {
        physical_id: id.clone(),
        outputs: id_and_name(id, name),
        fields,
    }
}

fn fields_of(pairs: Vec<(&str, Json)>) -> BTreeMap<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

// ---------------------------------------------------------------------------------------
// REST API
// ---------------------------------------------------------------------------------------

/// The definition fields of a REST API, in the spec's shapes.
const DEFINITION_FIELDS: [&str; 5] = [
    field::RESOURCES,
    field::MODELS,
    field::REQUEST_VALIDATORS,
    field::METHODS,
    field::GATEWAY_RESPONSES,
];

/// The REST API named like `spec`, read with its whole definition.
pub async fn observe_rest_api(
    clients: &AwsClients,
    spec: &ResourceSpec,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let owner = spec
        .tags
        .get(STACK_TAG)
        .map(|stack| (stack.as_str(), spec.id.to_string()));
    let api = find_rest_api(
        clients,
        &spec.physical_name,
        owner.as_ref().map(|(s, l)| (*s, l.as_str())),
    )
    .await?;
    let Some(api) = api else {
        return Ok(None);
    };
    let api_id = api.id.clone().unwrap_or_default();
    let Some(definition) = read_definition(clients, &api_id).await? else {
        return Ok(None);
    };
    let tags = tags_of(api.tags.as_ref());
    let endpoint_types: Vec<Json> = api
        .endpoint_configuration
        .as_ref()
        .map(|c| c.types().iter().map(|t| Json::from(t.as_str())).collect())
        .unwrap_or_default();
    let mut fields = fields_of(vec![
        (field::TAGS, tags_json(&tags)),
        (
            field::DESCRIPTION,
            api.description.clone().map_or(Json::Null, Json::from),
        ),
        (field::ENDPOINT_TYPES, Json::Array(endpoint_types)),
        (
            field::API_KEY_SOURCE,
            api.api_key_source
                .as_ref()
                .map_or(Json::Null, |s| Json::from(s.as_str())),
        ),
    ]);
    fields.extend(definition);
    Ok(Some(Observed {
        physical_id: api_id.clone(),
        outputs: Outputs::from([
            (OutputKey::Id, api_id.clone()),
            (OutputKey::Arn, rest_api_arn(env, &api_id)),
            (OutputKey::Name, spec.physical_name.clone()),
        ]),
        fields,
    }))
}

/// Resource path to resource id, `/` included.
async fn resource_ids(
    clients: &AwsClients,
    api_id: &str,
) -> Result<Option<BTreeMap<String, (String, Vec<String>)>>, CloudError> {
    let fetch = |position| {
        let request = clients
            .apigateway
            .get_resources()
            .rest_api_id(api_id)
            .limit(PAGE)
            .set_position(position);
        async move {
            let page = request
                .send()
                .await
                .classified(SERVICE, "GetResources")
                .found(&[])?;
            Ok(page.map(|p| (p.items.unwrap_or_default(), p.position)))
        }
    };
    let Some(items) = read_pages(fetch, |_| false).await? else {
        return Ok(None);
    };
    let mut resources = BTreeMap::new();
    for resource in items {
        let methods: Vec<String> = resource
            .resource_methods
            .as_ref()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        resources.insert(
            resource.path.unwrap_or_default(),
            (resource.id.unwrap_or_default(), methods),
        );
    }
    Ok(Some(resources))
}

/// Validator name to id.
async fn validator_ids(
    clients: &AwsClients,
    api_id: &str,
) -> Result<BTreeMap<String, (String, Json)>, CloudError> {
    let page = clients
        .apigateway
        .get_request_validators()
        .rest_api_id(api_id)
        .limit(PAGE)
        .send()
        .await
        .classified(SERVICE, "GetRequestValidators")?;
    Ok(page
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let shape = json!({
                "validate_request_body": v.validate_request_body,
                "validate_request_parameters": v.validate_request_parameters,
            });
            (
                v.name.unwrap_or_default(),
                (v.id.unwrap_or_default(), shape),
            )
        })
        .collect())
}

/// The five definition fields of the API `api_id`, or `None` when it is gone.
async fn read_definition(
    clients: &AwsClients,
    api_id: &str,
) -> Result<Option<BTreeMap<String, Json>>, CloudError> {
    let Some(resources) = resource_ids(clients, api_id).await? else {
        return Ok(None);
    };
    let validators = validator_ids(clients, api_id).await?;
    let validator_names: HashMap<&str, &str> = validators
        .iter()
        .map(|(name, (id, _))| (id.as_str(), name.as_str()))
        .collect();

    let models = clients
        .apigateway
        .get_models()
        .rest_api_id(api_id)
        .limit(PAGE)
        .send()
        .await
        .classified(SERVICE, "GetModels")?;
    let models: Map<String, Json> = models
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.name.unwrap_or_default(),
                json!({
                    "content_type": m.content_type,
                    "schema": m.schema.as_deref().map_or(Json::Null, parse_document),
                }),
            )
        })
        .collect();

    let mut methods = Map::new();
    for (path, (resource_id, verbs)) in &resources {
        for verb in verbs {
            let method = clients
                .apigateway
                .get_method()
                .rest_api_id(api_id)
                .resource_id(resource_id)
                .http_method(verb)
                .send()
                .await
                .classified(SERVICE, "GetMethod")?;
            let integration = method.method_integration.as_ref();
            let mut responses: Vec<String> = method
                .method_responses
                .as_ref()
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            responses.sort();
            let validator = method
                .request_validator_id
                .as_deref()
                .map(|id| validator_names.get(id).copied().unwrap_or(id));
            methods.insert(
                format!("{verb} {path}"),
                json!({
                    "authorization_type": method.authorization_type,
                    "api_key_required": method.api_key_required.unwrap_or_default(),
                    "request_validator": validator,
                    "request_models": sorted_json(method.request_models.as_ref()),
                    "request_parameters": sorted_json(method.request_parameters.as_ref()),
                    "integration": integration.map_or(Json::Null, |i| json!({
                        "type": i.r#type.as_ref().map(|t| t.as_str()),
                        "http_method": i.http_method,
                        "uri": i.uri,
                        "cache_key_parameters": i.cache_key_parameters.clone().unwrap_or_default(),
                        "timeout_in_millis": i.timeout_in_millis,
                    })),
                    "method_responses": responses,
                }),
            );
        }
    }

    let gateway = clients
        .apigateway
        .get_gateway_responses()
        .rest_api_id(api_id)
        .limit(PAGE)
        .send()
        .await
        .classified(SERVICE, "GetGatewayResponses")?;
    // AWS lists every response type, the defaults included; only customized ones are ours.
    let gateway_responses: Map<String, Json> = gateway
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.default_response)
        .map(|r| {
            (
                r.response_type
                    .as_ref()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                json!({
                    "status_code": r.status_code,
                    "response_templates": sorted_json(r.response_templates.as_ref()),
                }),
            )
        })
        .collect();

    let paths: Vec<Json> = resources
        .keys()
        .filter(|p| p.as_str() != "/")
        .map(|p| Json::from(p.as_str()))
        .collect();
    let validators: Map<String, Json> = validators
        .into_iter()
        .map(|(name, (_, shape))| (name, shape))
        .collect();
    Ok(Some(fields_of(vec![
        (field::RESOURCES, Json::Array(paths)),
        (field::MODELS, Json::Object(models)),
        (field::REQUEST_VALIDATORS, Json::Object(validators)),
        (field::METHODS, Json::Object(methods)),
        (field::GATEWAY_RESPONSES, Json::Object(gateway_responses)),
    ])))
}

/// CreateRestApi (regional, tagged), then the whole definition.
pub async fn create_rest_api(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateRestApi";
    let description = resolved_field(spec, field::DESCRIPTION, ctx, SERVICE, op)?;
    let key_source = resolved_field(spec, field::API_KEY_SOURCE, ctx, SERVICE, op)?;
    let endpoint_types = resolved_field(spec, field::ENDPOINT_TYPES, ctx, SERVICE, op)?;
    let types: Vec<EndpointType> = endpoint_types
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(Json::as_str)
                .map(EndpointType::from)
                .collect()
        })
        .unwrap_or_default();
    let created = clients
        .apigateway
        .create_rest_api()
        .name(&spec.physical_name)
        .set_description(description.as_str().map(str::to_owned))
        .api_key_source(ApiKeySourceType::from(
            key_source.as_str().unwrap_or("HEADER"),
        ))
        .endpoint_configuration(
            EndpointConfiguration::builder()
                .set_types(Some(types))
                .build(),
        )
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)?;
    let api_id = created_id(created.id, op)?;
    let empty = empty_definition();
    let desired = desired_definition(spec, ctx)?;
    converge_definition(clients, &api_id, &empty, &desired).await?;
    Ok(Outputs::from([
        (OutputKey::Id, api_id.clone()),
        (OutputKey::Arn, rest_api_arn(&ctx.env, &api_id)),
        (OutputKey::Name, spec.physical_name.clone()),
    ]))
}

fn empty_definition() -> BTreeMap<String, Json> {
    DEFINITION_FIELDS
        .iter()
        .map(|name| {
            let empty = if *name == field::RESOURCES {
                json!([])
            } else {
                json!({})
            };
            ((*name).to_owned(), empty)
        })
        .collect()
}

fn desired_definition(
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<BTreeMap<String, Json>, CloudError> {
    DEFINITION_FIELDS
        .iter()
        .map(|name| {
            resolved_field(spec, name, ctx, SERVICE, "PutMethod").map(|v| ((*name).to_owned(), v))
        })
        .collect()
}

/// UpdateRestApi for the top-level settings, tag calls, and the definition parts that
/// differ.
pub async fn update_rest_api(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let api_id = current.physical_id.as_str();
    let mut patches = Vec::new();
    let mut definition_changed = false;
    for name in changed {
        match name.as_str() {
            field::TAGS => {
                tag_resource(
                    clients,
                    &rest_api_arn(&ctx.env, api_id),
                    &observed_tags(current),
                    &desired_tags(spec, ctx)?,
                )
                .await?;
            }
            field::DESCRIPTION => {
                let value = resolved_field(spec, name, ctx, SERVICE, "UpdateRestApi")?;
                patches.push(replace_op(
                    "/description",
                    value.as_str().unwrap_or_default(),
                ));
            }
            field::API_KEY_SOURCE => {
                let value = resolved_field(spec, name, ctx, SERVICE, "UpdateRestApi")?;
                patches.push(replace_op(
                    "/apiKeySource",
                    value.as_str().unwrap_or_default(),
                ));
            }
            field::ENDPOINT_TYPES => {
                let value = resolved_field(spec, name, ctx, SERVICE, "UpdateRestApi")?;
                let old = current
                    .fields
                    .get(name)
                    .and_then(|v| v.get(0))
                    .and_then(Json::as_str)
                    .unwrap_or("EDGE");
                let new = value.get(0).and_then(Json::as_str).unwrap_or("REGIONAL");
                patches.push(replace_op(
                    format!("/endpointConfiguration/types/{old}"),
                    new,
                ));
            }
            n if DEFINITION_FIELDS.contains(&n) => definition_changed = true,
            _ => return Err(unknown_field(spec, name)),
        }
    }
    if !patches.is_empty() {
        clients
            .apigateway
            .update_rest_api()
            .rest_api_id(api_id)
            .set_patch_operations(Some(patches))
            .send()
            .await
            .classified(SERVICE, "UpdateRestApi")?;
    }
    if definition_changed {
        let observed: BTreeMap<String, Json> = DEFINITION_FIELDS
            .iter()
            .map(|n| {
                let value = current.fields.get(*n).cloned().unwrap_or(Json::Null);
                ((*n).to_owned(), value)
            })
            .collect();
        let desired = desired_definition(spec, ctx)?;
        converge_definition(clients, api_id, &observed, &desired).await?;
    }
    Ok(current.outputs.clone())
}

/// Makes the API's definition `desired`, starting from `current` (both in the spec's field
/// shapes): only parts that differ are created, replaced or deleted. Models and validators
/// come first and leave last, since methods name them.
async fn converge_definition(
    clients: &AwsClients,
    api_id: &str,
    current: &BTreeMap<String, Json>,
    desired: &BTreeMap<String, Json>,
) -> Result<(), CloudError> {
    let api = &clients.apigateway;
    let get = |m: &BTreeMap<String, Json>, k: &str| object(m.get(k).unwrap_or(&Json::Null));
    let (cur_models, want_models) = (get(current, field::MODELS), get(desired, field::MODELS));
    for (name, model) in &want_models {
        let schema = model.get("schema").map(Json::to_string).unwrap_or_default();
        match cur_models.get(name) {
            None => {
                api.create_model()
                    .rest_api_id(api_id)
                    .name(name)
                    .content_type(str_of(model, "content_type"))
                    .schema(schema)
                    .send()
                    .await
                    .classified(SERVICE, "CreateModel")?;
            }
            Some(old) if old != model => {
                api.update_model()
                    .rest_api_id(api_id)
                    .model_name(name)
                    .patch_operations(replace_op("/schema", schema))
                    .send()
                    .await
                    .classified(SERVICE, "UpdateModel")?;
            }
            Some(_) => {}
        }
    }

    let (cur_validators, want_validators) = (
        get(current, field::REQUEST_VALIDATORS),
        get(desired, field::REQUEST_VALIDATORS),
    );
    let mut validator_ids: BTreeMap<String, String> = validator_ids(clients, api_id)
        .await?
        .into_iter()
        .map(|(name, (id, _))| (name, id))
        .collect();
    for (name, want) in &want_validators {
        let body = bool_of(want, "validate_request_body");
        let params = bool_of(want, "validate_request_parameters");
        match (cur_validators.get(name), validator_ids.get(name)) {
            (Some(old), Some(id)) if old != want => {
                api.update_request_validator()
                    .rest_api_id(api_id)
                    .request_validator_id(id)
                    .patch_operations(replace_op("/validateRequestBody", body.to_string()))
                    .patch_operations(replace_op("/validateRequestParameters", params.to_string()))
                    .send()
                    .await
                    .classified(SERVICE, "UpdateRequestValidator")?;
            }
            (_, Some(_)) => {}
            (_, None) => {
                let created = api
                    .create_request_validator()
                    .rest_api_id(api_id)
                    .name(name)
                    .validate_request_body(body)
                    .validate_request_parameters(params)
                    .send()
                    .await
                    .classified(SERVICE, "CreateRequestValidator")?;
                validator_ids.insert(name.clone(), created.id.unwrap_or_default());
            }
        }
    }

    // Resources: parents sort before their children, so creating in order always finds
    // the parent.
    let mut resources: BTreeMap<String, String> = resource_ids(clients, api_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|(path, (id, _))| (path, id))
        .collect();
    let want_paths: Vec<String> = desired
        .get(field::RESOURCES)
        .and_then(Json::as_array)
        .map(|p| {
            p.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for path in &want_paths {
        if resources.contains_key(path) {
            continue;
        }
        let (parent, part) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = if parent.is_empty() { "/" } else { parent };
        let parent_id = resources.get(parent).cloned().ok_or_else(|| {
            CloudError::fatal(
                SERVICE,
                "CreateResource",
                format!("the parent of `{path}` does not exist in API `{api_id}`"),
            )
        })?;
        let created = api
            .create_resource()
            .rest_api_id(api_id)
            .parent_id(parent_id)
            .path_part(part)
            .send()
            .await
            .classified(SERVICE, "CreateResource")?;
        resources.insert(path.clone(), created.id.unwrap_or_default());
    }

    let (cur_methods, want_methods) = (get(current, field::METHODS), get(desired, field::METHODS));
    for (key, want) in &want_methods {
        let (verb, path) = key.split_once(' ').unwrap_or((key.as_str(), "/"));
        let resource_id = resources.get(path).cloned().unwrap_or_default();
        let old = cur_methods.get(key);
        if old == Some(want) {
            continue;
        }
        let method_part = |m: &Json| {
            let mut m = object(m);
            m.remove("integration");
            m.remove("method_responses");
            m
        };
        let same_method = old.is_some_and(|o| method_part(o) == method_part(want));
        if old.is_some() && !same_method {
            // Request settings changed: the method is put again from scratch (the stage
            // keeps serving its deployment's snapshot meanwhile).
            delete_method(clients, api_id, &resource_id, verb).await?;
        }
        if !same_method {
            put_method(clients, api_id, &resource_id, verb, want, &validator_ids).await?;
        }
        let old_integration = old
            .filter(|_| same_method)
            .and_then(|o| o.get("integration"));
        if old_integration != want.get("integration") {
            put_integration(clients, api_id, &resource_id, verb, want).await?;
        }
        let codes = |m: Option<&Json>| -> Vec<String> {
            m.and_then(|m| m.get("method_responses"))
                .and_then(Json::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let old_codes = if same_method { codes(old) } else { Vec::new() };
        for code in codes(Some(want)).iter().filter(|c| !old_codes.contains(c)) {
            api.put_method_response()
                .rest_api_id(api_id)
                .resource_id(&resource_id)
                .http_method(verb)
                .status_code(code)
                .send()
                .await
                .classified(SERVICE, "PutMethodResponse")?;
        }
        let want_codes = codes(Some(want));
        for code in old_codes.iter().filter(|c| !want_codes.contains(c)) {
            api.delete_method_response()
                .rest_api_id(api_id)
                .resource_id(&resource_id)
                .http_method(verb)
                .status_code(code)
                .send()
                .await
                .classified(SERVICE, "DeleteMethodResponse")
                .found(&[])?;
        }
    }
    for key in cur_methods
        .keys()
        .filter(|k| !want_methods.contains_key(*k))
    {
        let (verb, path) = key.split_once(' ').unwrap_or((key.as_str(), "/"));
        if let Some(resource_id) = resources.get(path) {
            delete_method(clients, api_id, resource_id, verb).await?;
        }
    }
    // Extra resources, children first (deleting a parent removes its children anyway).
    let mut extra: Vec<&String> = resources
        .keys()
        .filter(|p| p.as_str() != "/" && !want_paths.contains(p))
        .collect();
    extra.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in extra {
        api.delete_resource()
            .rest_api_id(api_id)
            .resource_id(&resources[path])
            .send()
            .await
            .classified(SERVICE, "DeleteResource")
            .found(&[])?;
    }

    let (cur_responses, want_responses) = (
        get(current, field::GATEWAY_RESPONSES),
        get(desired, field::GATEWAY_RESPONSES),
    );
    for (kind, want) in &want_responses {
        if cur_responses.get(kind) == Some(want) {
            continue;
        }
        api.put_gateway_response()
            .rest_api_id(api_id)
            .response_type(GatewayResponseType::from(kind.as_str()))
            .status_code(str_of(want, "status_code"))
            .set_response_templates(Some(string_map(want.get("response_templates"))))
            .send()
            .await
            .classified(SERVICE, "PutGatewayResponse")?;
    }
    for kind in cur_responses
        .keys()
        .filter(|k| !want_responses.contains_key(*k))
    {
        api.delete_gateway_response()
            .rest_api_id(api_id)
            .response_type(GatewayResponseType::from(kind.as_str()))
            .send()
            .await
            .classified(SERVICE, "DeleteGatewayResponse")
            .found(&[])?;
    }

    for name in cur_validators
        .keys()
        .filter(|n| !want_validators.contains_key(*n))
    {
        if let Some(id) = validator_ids.get(name) {
            api.delete_request_validator()
                .rest_api_id(api_id)
                .request_validator_id(id)
                .send()
                .await
                .classified(SERVICE, "DeleteRequestValidator")
                .found(&[])?;
        }
    }
    for name in cur_models.keys().filter(|n| !want_models.contains_key(*n)) {
        api.delete_model()
            .rest_api_id(api_id)
            .model_name(name)
            .send()
            .await
            .classified(SERVICE, "DeleteModel")
            .found(&[])?;
    }
    Ok(())
}

/// DeleteMethod; a method already gone is not an error.
async fn delete_method(
    clients: &AwsClients,
    api_id: &str,
    resource_id: &str,
    verb: &str,
) -> Result<(), CloudError> {
    clients
        .apigateway
        .delete_method()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(verb)
        .send()
        .await
        .classified(SERVICE, "DeleteMethod")
        .found(&[])?;
    Ok(())
}

async fn put_method(
    clients: &AwsClients,
    api_id: &str,
    resource_id: &str,
    verb: &str,
    want: &Json,
    validator_ids: &BTreeMap<String, String>,
) -> Result<(), CloudError> {
    let validator = want.get("request_validator").and_then(Json::as_str);
    let validator_id = match validator {
        Some(name) => Some(validator_ids.get(name).cloned().ok_or_else(|| {
            CloudError::fatal(
                SERVICE,
                "PutMethod",
                format!("request validator `{name}` is not defined in API `{api_id}`"),
            )
        })?),
        None => None,
    };
    let parameters: HashMap<String, bool> = want
        .get("request_parameters")
        .and_then(Json::as_object)
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.clone(), v.as_bool().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    clients
        .apigateway
        .put_method()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(verb)
        .authorization_type(str_of(want, "authorization_type"))
        .api_key_required(bool_of(want, "api_key_required"))
        .set_request_validator_id(validator_id)
        .set_request_models(Some(string_map(want.get("request_models"))))
        .set_request_parameters(Some(parameters))
        .send()
        .await
        .classified(SERVICE, "PutMethod")?;
    Ok(())
}

/// PutIntegration, which replaces the method's integration as a whole.
///
/// `cacheKeyParameters` is sent as the spec says; moto accepts and drops it (EMULATOR.md
/// section 1), AWS keeps it.
async fn put_integration(
    clients: &AwsClients,
    api_id: &str,
    resource_id: &str,
    verb: &str,
    want: &Json,
) -> Result<(), CloudError> {
    let integration = want.get("integration").cloned().unwrap_or(Json::Null);
    let cache_keys: Vec<String> = integration
        .get("cache_key_parameters")
        .and_then(Json::as_array)
        .map(|k| {
            k.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let timeout = integration
        .get("timeout_in_millis")
        .and_then(Json::as_i64)
        .and_then(|t| i32::try_from(t).ok());
    clients
        .apigateway
        .put_integration()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(verb)
        .r#type(IntegrationType::from(str_of(&integration, "type")))
        .integration_http_method(str_of(&integration, "http_method"))
        .uri(str_of(&integration, "uri"))
        .set_cache_key_parameters(Some(cache_keys))
        .set_timeout_in_millis(timeout)
        .send()
        .await
        .classified(SERVICE, "PutIntegration")?;
    Ok(())
}

/// DeleteRestApi; an API already gone is not an error.
pub async fn delete_rest_api(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .apigateway
        .delete_rest_api()
        .rest_api_id(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteRestApi")
        .found(&[])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Deployment
// ---------------------------------------------------------------------------------------

/// The name of the API a deployment belongs to: its physical name is `{api name}@{sha}`.
fn deployment_api_name(spec: &ResourceSpec) -> &str {
    spec.physical_name
        .split_once('@')
        .map_or(spec.physical_name.as_str(), |(api, _)| api)
}

fn deployment_description(spec: &ResourceSpec) -> Result<String, CloudError> {
    match &spec.body {
        crate::spec::SpecBody::ApiDeployment(d) => Ok(d.description.clone()),
        _ => Err(unknown_field(spec, field::DEFINITION_SHA256)),
    }
}

/// The deployment of the API whose description carries the spec's definition hash; `None`
/// when the current definition has not been deployed yet (a new one is then created, and
/// earlier ones stay for the stages and rollbacks that use them).
pub async fn observe_deployment(
    clients: &AwsClients,
    spec: &ResourceSpec,
) -> Result<Option<Observed>, CloudError> {
    let Some(api) = find_rest_api(clients, deployment_api_name(spec), None).await? else {
        return Ok(None);
    };
    let api_id = api.id.unwrap_or_default();
    let description = deployment_description(spec)?;
    let fetch = |position| {
        let request = clients
            .apigateway
            .get_deployments()
            .rest_api_id(&api_id)
            .limit(PAGE)
            .set_position(position);
        async move {
            let page = request
                .send()
                .await
                .classified(SERVICE, "GetDeployments")
                .found(&[])?;
            Ok(page.map(|p| (p.items.unwrap_or_default(), p.position)))
        }
    };
    let found = find_in_pages(fetch, |d: &aws_sdk_apigateway::types::Deployment| {
        d.description.as_deref() == Some(description.as_str())
    })
    .await?;
    let Some(deployment) = found else {
        return Ok(None);
    };
    let id = deployment.id.unwrap_or_default();
    let sha = description
        .strip_prefix(DEFINITION_PREFIX)
        .unwrap_or_default();
    Ok(Some(Observed {
        physical_id: id.clone(),
        outputs: Outputs::from([(OutputKey::Id, id)]),
        fields: fields_of(vec![
            (field::REST_API_ID, Json::from(api_id)),
            (field::DEFINITION_SHA256, Json::from(sha)),
        ]),
    }))
}

/// CreateDeployment with the definition hash in its description (no stage: the stage
/// adapter moves the stage).
pub async fn create_deployment(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateDeployment";
    let api_id = resolved_field(spec, field::REST_API_ID, ctx, SERVICE, op)?;
    let created = clients
        .apigateway
        .create_deployment()
        .rest_api_id(api_id.as_str().unwrap_or_default())
        .description(deployment_description(spec)?)
        .send()
        .await
        .classified(SERVICE, op)?;
    let id = created_id(created.id, op)?;
    Ok(Outputs::from([(OutputKey::Id, id)]))
}

/// DeleteDeployment, unless a stage still serves it: that deployment is live (AWS refuses
/// to delete it) and is what a rollback returns to, so it is kept and reported.
pub async fn delete_deployment(
    clients: &AwsClients,
    current: &Observed,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let api_id = observed_str(current, field::REST_API_ID);
    let deployment_id = current.physical_id.as_str();
    let stages = clients
        .apigateway
        .get_stages()
        .rest_api_id(api_id)
        .send()
        .await
        .classified(SERVICE, "GetStages")
        .found(&[])?;
    let Some(stages) = stages else {
        return Ok(());
    };
    let serving: Vec<String> = stages
        .item
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.deployment_id.as_deref() == Some(deployment_id))
        .filter_map(|s| s.stage_name)
        .collect();
    if !serving.is_empty() {
        ctx.progress(format!(
            "kept deployment `{deployment_id}` of API `{api_id}`: stage `{}` serves it",
            serving.join("`, `")
        ));
        return Ok(());
    }
    clients
        .apigateway
        .delete_deployment()
        .rest_api_id(api_id)
        .deployment_id(deployment_id)
        .send()
        .await
        .classified(SERVICE, "DeleteDeployment")
        .found(&[])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Stage
// ---------------------------------------------------------------------------------------

/// The ten method settings, as (spec name, patch path suffix).
const METHOD_SETTINGS: [(&str, &str); 10] = [
    ("metrics_enabled", "metrics/enabled"),
    ("logging_level", "logging/loglevel"),
    ("data_trace_enabled", "logging/dataTrace"),
    ("throttling_rate_limit", "throttling/rateLimit"),
    ("throttling_burst_limit", "throttling/burstLimit"),
    ("caching_enabled", "caching/enabled"),
    ("cache_ttl_in_seconds", "caching/ttlInSeconds"),
    ("cache_data_encrypted", "caching/dataEncrypted"),
    (
        "require_authorization_for_cache_control",
        "caching/requireAuthorizationForCacheControl",
    ),
    (
        "unauthorized_cache_control_header_strategy",
        "caching/unauthorizedCacheControlHeaderStrategy",
    ),
];

/// The patch path prefix of a method-settings key: `*/*` stays, `transactions/{id}/GET`
/// becomes `~1transactions~1{id}/GET` (the resource path's slashes escaped as `~1`).
pub fn method_settings_path(key: &str) -> String {
    if key == "*/*" {
        return key.to_owned();
    }
    match key.rsplit_once('/') {
        Some((path, verb)) => format!("~1{}/{verb}", path.replace('/', "~1")),
        None => key.to_owned(),
    }
}

/// The spec's key for a method-settings key as API Gateway reports it.
fn method_settings_key(reported: &str) -> String {
    let key = reported.replace("~1", "/");
    key.trim_start_matches('/').to_owned()
}

fn patch_value(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn stage_spec(spec: &ResourceSpec) -> Result<&ApiStageSpec, CloudError> {
    match &spec.body {
        crate::spec::SpecBody::ApiStage(s) => Ok(s),
        _ => Err(unknown_field(spec, field::STAGE_NAME)),
    }
}

/// The stage named like `spec` on the API the stage's `rest_api` reference names (found by
/// its stack and logical tags).
pub async fn observe_stage(
    clients: &AwsClients,
    spec: &ResourceSpec,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let stage = stage_spec(spec)?;
    let stack = spec.tags.get(STACK_TAG).cloned().unwrap_or_default();
    let logical = stage.rest_api.resource.to_string();
    let Some(api) = find_rest_api_by_tags(clients, &stack, &logical).await? else {
        return Ok(None);
    };
    let api_id = api.id.unwrap_or_default();
    read_stage(clients, &api_id, &spec.physical_name, env).await
}

/// GetStage, in the spec's shapes.
pub async fn read_stage(
    clients: &AwsClients,
    api_id: &str,
    name: &str,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let stage = clients
        .apigateway
        .get_stage()
        .rest_api_id(api_id)
        .stage_name(name)
        .send()
        .await
        .classified(SERVICE, "GetStage")
        .found(&[])?;
    let Some(stage) = stage else {
        return Ok(None);
    };
    let tags = tags_of(stage.tags.as_ref());
    let access_log = stage.access_log_settings.as_ref().map_or(
        Json::Null,
        |a| json!({"destination_arn": a.destination_arn, "format": a.format}),
    );
    let settings: Map<String, Json> = stage
        .method_settings
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(key, s)| {
            (
                method_settings_key(&key),
                json!({
                    "metrics_enabled": s.metrics_enabled,
                    "logging_level": s.logging_level,
                    "data_trace_enabled": s.data_trace_enabled,
                    "throttling_rate_limit": s.throttling_rate_limit,
                    "throttling_burst_limit": s.throttling_burst_limit,
                    "caching_enabled": s.caching_enabled,
                    "cache_ttl_in_seconds": s.cache_ttl_in_seconds,
                    "cache_data_encrypted": s.cache_data_encrypted,
                    "require_authorization_for_cache_control":
                        s.require_authorization_for_cache_control,
                    "unauthorized_cache_control_header_strategy":
                        s.unauthorized_cache_control_header_strategy.as_ref().map(|u| u.as_str()),
                }),
            )
        })
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    Ok(Some(Observed {
        physical_id: format!("{api_id}/{name}"),
        outputs: Outputs::from([
            (OutputKey::Name, name.to_owned()),
            (OutputKey::Arn, stage_arn(env, api_id, name)),
        ]),
        fields: fields_of(vec![
            (field::TAGS, tags_json(&tags)),
            (field::STAGE_NAME, Json::from(name)),
            (field::REST_API_ID, Json::from(api_id)),
            (
                field::DEPLOYMENT_ID,
                stage.deployment_id.clone().map_or(Json::Null, Json::from),
            ),
            (field::TRACING_ENABLED, Json::Bool(stage.tracing_enabled)),
            (field::ACCESS_LOG_SETTINGS, access_log),
            (
                field::CACHE_CLUSTER,
                json!({
                    "enabled": stage.cache_cluster_enabled,
                    "size": stage.cache_cluster_size.as_ref().map(|s| s.as_str()),
                }),
            ),
            (field::METHOD_SETTINGS, Json::Object(settings)),
        ]),
    }))
}

/// The patch operations that turn `current` (the observed field, or null) into `desired`
/// for one stage field.
fn stage_patches(name: &str, current: &Json, desired: &Json) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    match name {
        field::DEPLOYMENT_ID => ops.push(replace_op("/deploymentId", patch_value(desired))),
        field::TRACING_ENABLED => ops.push(replace_op("/tracingEnabled", patch_value(desired))),
        field::ACCESS_LOG_SETTINGS => {
            for (key, path) in [("destination_arn", "destinationArn"), ("format", "format")] {
                if current.get(key) != desired.get(key) {
                    let value = desired.get(key).map(patch_value).unwrap_or_default();
                    ops.push(replace_op(format!("/accessLogSettings/{path}"), value));
                }
            }
        }
        field::CACHE_CLUSTER => {
            for (key, path) in [
                ("size", "cacheClusterSize"),
                ("enabled", "cacheClusterEnabled"),
            ] {
                if current.get(key) != desired.get(key)
                    && let Some(value) = desired.get(key).filter(|v| !v.is_null())
                {
                    ops.push(replace_op(format!("/{path}"), patch_value(value)));
                }
            }
        }
        field::METHOD_SETTINGS => {
            let (current, desired) = (object(current), object(desired));
            for (key, want) in &desired {
                let old = current.get(key);
                let prefix = method_settings_path(key);
                for (setting, path) in METHOD_SETTINGS {
                    let value = want.get(setting);
                    if old.and_then(|o| o.get(setting)) != value {
                        let value = value.map(patch_value).unwrap_or_default();
                        ops.push(replace_op(format!("/{prefix}/{path}"), value));
                    }
                }
            }
            for key in current.keys().filter(|k| !desired.contains_key(*k)) {
                ops.push(remove_op(format!("/{}", method_settings_path(key))));
            }
        }
        _ => {}
    }
    ops
}

/// Fields UpdateStage patches (the rest are the name, the API and tags).
const STAGE_PATCHED: [&str; 5] = [
    field::DEPLOYMENT_ID,
    field::TRACING_ENABLED,
    field::ACCESS_LOG_SETTINGS,
    field::CACHE_CLUSTER,
    field::METHOD_SETTINGS,
];

async fn update_stage_call(
    clients: &AwsClients,
    api_id: &str,
    name: &str,
    patches: Vec<PatchOperation>,
) -> Result<(), CloudError> {
    if patches.is_empty() {
        return Ok(());
    }
    clients
        .apigateway
        .update_stage()
        .rest_api_id(api_id)
        .stage_name(name)
        .set_patch_operations(Some(patches))
        .send()
        .await
        .classified(SERVICE, "UpdateStage")?;
    Ok(())
}

/// Waits until the stage's cache cluster is `AVAILABLE` (creating or resizing one takes
/// minutes on AWS), or gone when it is disabled.
async fn wait_for_cache(
    clients: &AwsClients,
    api_id: &str,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let what = format!("the cache cluster of stage `{name}` of API `{api_id}`");
    wait_until(&what, ctx, WaitPolicy::LONG, || async {
        let stage = clients
            .apigateway
            .get_stage()
            .rest_api_id(api_id)
            .stage_name(name)
            .send()
            .await
            .classified(SERVICE, "GetStage")?;
        let status = stage
            .cache_cluster_status
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        Ok(match status.as_str() {
            "CREATE_IN_PROGRESS" | "DELETE_IN_PROGRESS" | "FLUSH_IN_PROGRESS" => {
                Poll::Pending(status)
            }
            _ => Poll::Ready(()),
        })
    })
    .await
}

/// CreateStage (deployment, cache cluster, tracing, tags), then one UpdateStage for the
/// access log and method settings CreateStage cannot take.
pub async fn create_stage(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateStage";
    let api_id = resolved_field(spec, field::REST_API_ID, ctx, SERVICE, op)?;
    let api_id = api_id.as_str().unwrap_or_default().to_owned();
    let deployment = resolved_field(spec, field::DEPLOYMENT_ID, ctx, SERVICE, op)?;
    let tracing = resolved_field(spec, field::TRACING_ENABLED, ctx, SERVICE, op)?;
    let cache = resolved_field(spec, field::CACHE_CLUSTER, ctx, SERVICE, op)?;
    let name = spec.physical_name.as_str();
    clients
        .apigateway
        .create_stage()
        .rest_api_id(&api_id)
        .stage_name(name)
        .deployment_id(deployment.as_str().unwrap_or_default())
        .tracing_enabled(tracing.as_bool().unwrap_or_default())
        .cache_cluster_enabled(bool_of(&cache, "enabled"))
        .set_cache_cluster_size(
            cache
                .get("size")
                .and_then(Json::as_str)
                .map(CacheClusterSize::from),
        )
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)?;
    let mut patches = Vec::new();
    for name in [field::ACCESS_LOG_SETTINGS, field::METHOD_SETTINGS] {
        let desired = resolved_field(spec, name, ctx, SERVICE, "UpdateStage")?;
        patches.extend(stage_patches(name, &Json::Null, &desired));
    }
    update_stage_call(clients, &api_id, name, patches).await?;
    if bool_of(&cache, "enabled") {
        wait_for_cache(clients, &api_id, name, ctx).await?;
    }
    Ok(Outputs::from([
        (OutputKey::Name, name.to_owned()),
        (OutputKey::Arn, stage_arn(&ctx.env, &api_id, name)),
    ]))
}

/// One UpdateStage with a patch for every changed setting, then tag calls.
pub async fn update_stage(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let api_id = observed_str(current, field::REST_API_ID);
    let name = spec.physical_name.as_str();
    let patches_for = |field_name: &str| {
        if !STAGE_PATCHED.contains(&field_name) {
            return Err(unknown_field(spec, field_name));
        }
        let desired = resolved_field(spec, field_name, ctx, SERVICE, "UpdateStage")?;
        let old = current.fields.get(field_name).unwrap_or(&Json::Null);
        Ok(stage_patches(field_name, old, &desired))
    };
    let send = |patches| update_stage_call(clients, api_id, name, patches);
    let arn = stage_arn(&ctx.env, api_id, name);
    let step = Updating {
        spec,
        current,
        changed,
        ctx,
    };
    patch_update(clients, step, &arn, patches_for, send).await?;
    if changed.iter().any(|c| c == field::CACHE_CLUSTER) {
        wait_for_cache(clients, api_id, name, ctx).await?;
    }
    Ok(current.outputs.clone())
}

/// DeleteStage; a stage already gone is not an error.
pub async fn delete_stage(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let api_id = observed_str(current, field::REST_API_ID);
    let name = observed_str(current, field::STAGE_NAME);
    clients
        .apigateway
        .delete_stage()
        .rest_api_id(api_id)
        .stage_name(name)
        .send()
        .await
        .classified(SERVICE, "DeleteStage")
        .found(&[])?;
    Ok(())
}

/// FlushStageCache: empties the stage's cache (after a data fix, the cached GETs would
/// otherwise serve stale answers for up to the TTL). moto does not implement it (HTTP 404).
pub async fn flush_stage_cache(
    clients: &AwsClients,
    rest_api_id: &str,
    stage: &str,
) -> Result<(), CloudError> {
    clients
        .apigateway
        .flush_stage_cache()
        .rest_api_id(rest_api_id)
        .stage_name(stage)
        .send()
        .await
        .classified(SERVICE, "FlushStageCache")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Account settings
// ---------------------------------------------------------------------------------------

/// The account's API Gateway settings: they always exist, so this never returns `None`.
pub async fn observe_account(
    clients: &AwsClients,
    spec: &ResourceSpec,
) -> Result<Option<Observed>, CloudError> {
    let account = clients
        .apigateway
        .get_account()
        .send()
        .await
        .classified(SERVICE, "GetAccount")?;
    Ok(Some(Observed {
        physical_id: spec.physical_name.clone(),
        outputs: Outputs::new(),
        fields: fields_of(vec![(
            field::CLOUDWATCH_ROLE_ARN,
            account.cloudwatch_role_arn.map_or(Json::Null, Json::from),
        )]),
    }))
}

/// UpdateAccount with the logging role. A role created moments ago is refused until IAM
/// has propagated it, which is eventual consistency (retried), not a user error.
pub async fn set_account(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "UpdateAccount";
    let role = resolved_field(spec, field::CLOUDWATCH_ROLE_ARN, ctx, SERVICE, op)?;
    clients
        .apigateway
        .update_account()
        .patch_operations(replace_op(
            "/cloudwatchRoleArn",
            role.as_str().unwrap_or_default(),
        ))
        .send()
        .await
        .classified(SERVICE, op)
        .map_err(role_not_ready)?;
    Ok(Outputs::new())
}

/// API Gateway's answer for a role it cannot assume yet: a `BadRequestException` whose
/// message names the role; retried as eventual consistency.
fn role_not_ready(mut err: CloudError) -> CloudError {
    let message = err.message.to_ascii_lowercase();
    if err.code.as_deref() == Some("BadRequestException")
        && message.contains("role")
        && (message.contains("permission") || message.contains("trust"))
    {
        err.class = crate::cloud::ErrorClass::EventuallyConsistent;
    }
    err
}

// ---------------------------------------------------------------------------------------
// Usage plan
// ---------------------------------------------------------------------------------------

fn usage_plan_arn(env: &Environment, id: &str) -> String {
    apigateway_arn(env, &format!("/usageplans/{id}"))
}

fn api_key_arn(env: &Environment, id: &str) -> String {
    apigateway_arn(env, &format!("/apikeys/{id}"))
}

async fn find_usage_plan(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<aws_sdk_apigateway::types::UsagePlan>, CloudError> {
    let fetch = |position| {
        let request = clients
            .apigateway
            .get_usage_plans()
            .limit(PAGE)
            .set_position(position);
        async move {
            let page = request.send().await.classified(SERVICE, "GetUsagePlans")?;
            Ok(Some((page.items.unwrap_or_default(), page.position)))
        }
    };
    find_in_pages(fetch, |p: &aws_sdk_apigateway::types::UsagePlan| {
        p.name.as_deref() == Some(name)
    })
    .await
}

fn api_stages_json(plan: &aws_sdk_apigateway::types::UsagePlan) -> Json {
    let mut stages: Vec<Json> = plan
        .api_stages()
        .iter()
        .map(|s| json!({"api_id": s.api_id(), "stage": s.stage()}))
        .collect();
    stages.sort_by_key(Json::to_string);
    Json::Array(stages)
}

/// The usage plan named like `spec`.
pub async fn observe_usage_plan(
    clients: &AwsClients,
    spec: &ResourceSpec,
) -> Result<Option<Observed>, CloudError> {
    let Some(plan) = find_usage_plan(clients, &spec.physical_name).await? else {
        return Ok(None);
    };
    let api_stages = api_stages_json(&plan);
    Ok(Some(observed_by_name(
        plan.id,
        &spec.physical_name,
        plan.tags,
        plan.description,
        vec![
            (
                field::THROTTLE,
                plan.throttle.as_ref().map_or(
                    Json::Null,
                    |t| json!({"rate_limit": t.rate_limit, "burst_limit": t.burst_limit}),
                ),
            ),
            (
                field::QUOTA,
                plan.quota.as_ref().map_or(Json::Null, |q| {
                    json!({
                        "limit": q.limit,
                        "offset": q.offset,
                        "period": q.period.as_ref().map(|p| p.as_str()),
                    })
                }),
            ),
            (field::API_STAGES, api_stages),
        ],
    )))
}

/// CreateUsagePlan with throttle, quota, stages and tags in one call.
pub async fn create_usage_plan(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    use aws_sdk_apigateway::types::{ApiStage, QuotaPeriodType, QuotaSettings, ThrottleSettings};
    let op = "CreateUsagePlan";
    let description = resolved_field(spec, field::DESCRIPTION, ctx, SERVICE, op)?;
    let throttle = resolved_field(spec, field::THROTTLE, ctx, SERVICE, op)?;
    let quota = resolved_field(spec, field::QUOTA, ctx, SERVICE, op)?;
    let stages = resolved_field(spec, field::API_STAGES, ctx, SERVICE, op)?;
    let int = |v: &Json, k: &str| {
        v.get(k)
            .and_then(Json::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or_default()
    };
    let created = clients
        .apigateway
        .create_usage_plan()
        .name(&spec.physical_name)
        .set_description(description.as_str().map(str::to_owned))
        .throttle(
            ThrottleSettings::builder()
                .rate_limit(
                    throttle
                        .get("rate_limit")
                        .and_then(Json::as_f64)
                        .unwrap_or_default(),
                )
                .burst_limit(int(&throttle, "burst_limit"))
                .build(),
        )
        .quota(
            QuotaSettings::builder()
                .limit(int(&quota, "limit"))
                .offset(int(&quota, "offset"))
                .period(QuotaPeriodType::from(str_of(&quota, "period")))
                .build(),
        )
        .set_api_stages(Some(
            stages
                .as_array()
                .map(|s| {
                    s.iter()
                        .map(|s| {
                            ApiStage::builder()
                                .api_id(str_of(s, "api_id"))
                                .stage(str_of(s, "stage"))
                                .build()
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ))
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)?;
    let id = created_id(created.id, op)?;
    Ok(id_and_name(id, &spec.physical_name))
}

/// The `apiStages` patches from `current` to `desired` (`{api_id}:{stage}` values).
fn api_stage_patches(current: &Json, desired: &Json) -> Vec<PatchOperation> {
    let entries = |v: &Json| -> Vec<String> {
        v.as_array()
            .map(|s| {
                s.iter()
                    .map(|s| format!("{}:{}", str_of(s, "api_id"), str_of(s, "stage")))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (entries(current), entries(desired));
    let mut ops = Vec::new();
    for stage in old.iter().filter(|s| !new.contains(s)) {
        ops.push(patch_op(Op::Remove, "/apiStages", stage));
    }
    for stage in new.iter().filter(|s| !old.contains(s)) {
        ops.push(patch_op(Op::Add, "/apiStages", stage));
    }
    ops
}

/// One UpdateUsagePlan with a patch per changed setting, then tag calls.
pub async fn update_usage_plan(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "UpdateUsagePlan";
    let id = current.physical_id.as_str();
    let patches_for = |name: &str| {
        let old = current.fields.get(name).unwrap_or(&Json::Null);
        let mut patches = Vec::new();
        match name {
            field::DESCRIPTION => {
                let want = resolved_field(spec, name, ctx, SERVICE, op)?;
                patches.push(replace_op("/description", patch_value(&want)));
            }
            field::THROTTLE | field::QUOTA => {
                let want = resolved_field(spec, name, ctx, SERVICE, op)?;
                let paths: &[(&str, &str)] = if name == field::THROTTLE {
                    &[
                        ("rate_limit", "/throttle/rateLimit"),
                        ("burst_limit", "/throttle/burstLimit"),
                    ]
                } else {
                    &[
                        ("limit", "/quota/limit"),
                        ("offset", "/quota/offset"),
                        ("period", "/quota/period"),
                    ]
                };
                for (key, path) in paths {
                    if old.get(key) != want.get(key) {
                        let value = want.get(key).map(patch_value).unwrap_or_default();
                        patches.push(replace_op(*path, value));
                    }
                }
            }
            field::API_STAGES => {
                let want = resolved_field(spec, name, ctx, SERVICE, op)?;
                patches.extend(api_stage_patches(old, &want));
            }
            _ => return Err(unknown_field(spec, name)),
        }
        Ok(patches)
    };
    let send = |patches| async move {
        clients
            .apigateway
            .update_usage_plan()
            .usage_plan_id(id)
            .set_patch_operations(Some(patches))
            .send()
            .await
            .classified(SERVICE, op)?;
        Ok(())
    };
    let arn = usage_plan_arn(&ctx.env, id);
    let step = Updating {
        spec,
        current,
        changed,
        ctx,
    };
    patch_update(clients, step, &arn, patches_for, send).await?;
    Ok(current.outputs.clone())
}

/// Detaches the plan's stages (AWS refuses to delete a plan still attached to a stage),
/// then DeleteUsagePlan.
pub async fn delete_usage_plan(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let id = current.physical_id.as_str();
    let stages = current.fields.get(field::API_STAGES).unwrap_or(&Json::Null);
    let detach = api_stage_patches(stages, &json!([]));
    if !detach.is_empty() {
        let detached = clients
            .apigateway
            .update_usage_plan()
            .usage_plan_id(id)
            .set_patch_operations(Some(detach))
            .send()
            .await
            .classified(SERVICE, "UpdateUsagePlan")
            .found(&[])?;
        if detached.is_none() {
            return Ok(());
        }
    }
    clients
        .apigateway
        .delete_usage_plan()
        .usage_plan_id(id)
        .send()
        .await
        .classified(SERVICE, "DeleteUsagePlan")
        .found(&[])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// API key
// ---------------------------------------------------------------------------------------

/// The API key named `name`, read without its value (txdeploy never asks for it).
async fn find_api_key(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<aws_sdk_apigateway::types::ApiKey>, CloudError> {
    let page = clients
        .apigateway
        .get_api_keys()
        .name_query(name)
        .include_values(false)
        .limit(PAGE)
        .send()
        .await
        .classified(SERVICE, "GetApiKeys")?;
    Ok(page
        .items
        .unwrap_or_default()
        .into_iter()
        .find(|k| k.name.as_deref() == Some(name)))
}

/// The API key named like `spec` (description, enabled, tags; never the value).
pub async fn observe_api_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
) -> Result<Option<Observed>, CloudError> {
    let Some(key) = find_api_key(clients, &spec.physical_name).await? else {
        return Ok(None);
    };
    Ok(Some(observed_by_name(
        key.id,
        &spec.physical_name,
        key.tags,
        key.description,
        vec![(field::ENABLED, Json::Bool(key.enabled))],
    )))
}

/// CreateApiKey; AWS generates the value, which the response carries and which is dropped
/// here, unread, so it never reaches outputs, logs or the journal.
pub async fn create_api_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateApiKey";
    let description = resolved_field(spec, field::DESCRIPTION, ctx, SERVICE, op)?;
    let enabled = resolved_field(spec, field::ENABLED, ctx, SERVICE, op)?;
    let created = clients
        .apigateway
        .create_api_key()
        .name(&spec.physical_name)
        .set_description(description.as_str().map(str::to_owned))
        .enabled(enabled.as_bool().unwrap_or_default())
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)?;
    let id = created_id(created.id, op)?;
    Ok(id_and_name(id, &spec.physical_name))
}

/// One UpdateApiKey for description and enabled, then tag calls.
pub async fn update_api_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "UpdateApiKey";
    let id = current.physical_id.as_str();
    let patches_for = |name: &str| {
        let path = match name {
            field::ENABLED => "/enabled",
            field::DESCRIPTION => "/description",
            _ => return Err(unknown_field(spec, name)),
        };
        let want = resolved_field(spec, name, ctx, SERVICE, op)?;
        Ok(vec![replace_op(path, patch_value(&want))])
    };
    let send = |patches| async move {
        clients
            .apigateway
            .update_api_key()
            .api_key(id)
            .set_patch_operations(Some(patches))
            .send()
            .await
            .classified(SERVICE, op)?;
        Ok(())
    };
    let arn = api_key_arn(&ctx.env, id);
    let step = Updating {
        spec,
        current,
        changed,
        ctx,
    };
    patch_update(clients, step, &arn, patches_for, send).await?;
    Ok(current.outputs.clone())
}

/// DeleteApiKey; a key already gone is not an error.
pub async fn delete_api_key(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .apigateway
        .delete_api_key()
        .api_key(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteApiKey")
        .found(&[])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Usage plan key
// ---------------------------------------------------------------------------------------

/// The membership of the key in the plan. The stack names the plan, the key and the
/// membership after the same logical id (`{prefix}-{env}-api`), so both are found by the
/// membership's physical name.
pub async fn observe_usage_plan_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
) -> Result<Option<Observed>, CloudError> {
    let Some(plan) = find_usage_plan(clients, &spec.physical_name).await? else {
        return Ok(None);
    };
    let Some(key) = find_api_key(clients, &spec.physical_name).await? else {
        return Ok(None);
    };
    let (plan_id, key_id) = (plan.id.unwrap_or_default(), key.id.unwrap_or_default());
    let member = clients
        .apigateway
        .get_usage_plan_key()
        .usage_plan_id(&plan_id)
        .key_id(&key_id)
        .send()
        .await
        .classified(SERVICE, "GetUsagePlanKey")
        .found(&[])?;
    let Some(member) = member else {
        return Ok(None);
    };
    Ok(Some(Observed {
        physical_id: format!("{plan_id}/{key_id}"),
        outputs: Outputs::from([(OutputKey::Id, key_id.clone())]),
        fields: fields_of(vec![
            (field::USAGE_PLAN_ID, Json::from(plan_id)),
            (field::KEY_ID, Json::from(key_id)),
            (
                field::KEY_TYPE,
                member.r#type.map_or(Json::Null, Json::from),
            ),
        ]),
    }))
}

/// CreateUsagePlanKey.
pub async fn create_usage_plan_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateUsagePlanKey";
    let plan = resolved_field(spec, field::USAGE_PLAN_ID, ctx, SERVICE, op)?;
    let key = resolved_field(spec, field::KEY_ID, ctx, SERVICE, op)?;
    let key_type = resolved_field(spec, field::KEY_TYPE, ctx, SERVICE, op)?;
    let created = clients
        .apigateway
        .create_usage_plan_key()
        .usage_plan_id(plan.as_str().unwrap_or_default())
        .key_id(key.as_str().unwrap_or_default())
        .key_type(key_type.as_str().unwrap_or("API_KEY"))
        .send()
        .await
        .classified(SERVICE, op)?;
    let id = created_id(created.id, op)?;
    Ok(Outputs::from([(OutputKey::Id, id)]))
}

/// DeleteUsagePlanKey; a membership already gone is not an error.
pub async fn delete_usage_plan_key(
    clients: &AwsClients,
    current: &Observed,
) -> Result<(), CloudError> {
    clients
        .apigateway
        .delete_usage_plan_key()
        .usage_plan_id(observed_str(current, field::USAGE_PLAN_ID))
        .key_id(observed_str(current, field::KEY_ID))
        .send()
        .await
        .classified(SERVICE, "DeleteUsagePlanKey")
        .found(&[])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn paths(ops: &[PatchOperation]) -> Vec<(String, String, String)> {
        ops.iter()
            .map(|o| {
                (
                    o.op().unwrap().as_str().to_owned(),
                    o.path().unwrap_or_default().to_owned(),
                    o.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn method_settings_patch_only_what_changed_and_remove_extra_entries() {
        let current = json!({
            "*/*": {"throttling_rate_limit": 100.0, "caching_enabled": false},
            "old/GET": {"caching_enabled": true},
        });
        let desired = json!({
            "*/*": {"throttling_rate_limit": 50.0, "caching_enabled": false},
        });
        let got = paths(&stage_patches(field::METHOD_SETTINGS, &current, &desired));
        assert!(got.contains(&(
            "replace".into(),
            "/*/*/throttling/rateLimit".into(),
            "50.0".into()
        )));
        assert!(got.contains(&("remove".into(), "/~1old/GET".into(), String::new())));
        // An unchanged setting is not patched.
        assert!(!got.iter().any(|(_, p, _)| p.ends_with("caching/enabled")));
    }

    #[test]
    fn a_new_deployment_is_one_replace_of_deployment_id() {
        let ops = stage_patches(field::DEPLOYMENT_ID, &json!("old"), &json!("new"));
        assert_eq!(
            paths(&ops),
            [("replace".into(), "/deploymentId".into(), "new".into())]
        );
    }

    #[test]
    fn a_role_api_gateway_cannot_assume_yet_is_retried() {
        let err = CloudError::from_parts(
            SERVICE,
            "UpdateAccount",
            Some("BadRequestException"),
            Some(400),
            "The role ARN does not have required permissions set to API Gateway",
        );
        assert_eq!(
            role_not_ready(err).class,
            crate::cloud::ErrorClass::EventuallyConsistent
        );
        let other = CloudError::from_parts(
            SERVICE,
            "UpdateAccount",
            Some("BadRequestException"),
            Some(400),
            "Invalid patch path",
        );
        assert_ne!(
            role_not_ready(other).class,
            crate::cloud::ErrorClass::EventuallyConsistent
        );
    }

    #[test]
    fn usage_plan_stages_are_added_and_removed_as_api_colon_stage() {
        let ops = api_stage_patches(
            &json!([{"api_id": "a", "stage": "old"}]),
            &json!([{"api_id": "a", "stage": "prod"}]),
        );
        assert_eq!(
            paths(&ops),
            [
                ("remove".into(), "/apiStages".into(), "a:old".into()),
                ("add".into(), "/apiStages".into(), "a:prod".into()),
            ]
        );
    }
}
