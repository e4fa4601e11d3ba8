//! API Gateway: the account's logging role, the REST API with its whole definition, the
//! deployment that snapshots it, the stage, the usage plan and the API key.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::spec::resource_spec::{Fields, field, optional, replace, update};
use crate::spec::value::{OutputRef, Value};

/// The account's API Gateway settings in the region: the role API Gateway uses to write
/// access logs to CloudWatch Logs (without it, a stage with access logging is refused).
///
/// Fields: `cloudwatch_role_arn` (update via `UpdateAccount`). This setting is shared by
/// every API in the account and region: deleting the spec leaves it as it is. Not taggable.
/// Outputs: none.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiAccountSpec {
    /// ARN of the role API Gateway assumes.
    pub cloudwatch_role: OutputRef,
}

impl ApiAccountSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::CLOUDWATCH_ROLE_ARN,
            update(self.cloudwatch_role.clone()),
        );
    }
}

/// A JSON-schema model for request bodies.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiModel {
    pub name: String,
    pub content_type: String,
    /// The JSON schema (draft 4), as a JSON value; sent as text.
    pub schema: Value,
}

/// A request validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestValidator {
    pub name: String,
    pub validate_request_body: bool,
    pub validate_request_parameters: bool,
}

/// A method's integration with a Lambda alias.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiIntegration {
    /// `AWS_PROXY`.
    pub integration_type: String,
    /// Always `POST` for Lambda.
    pub http_method: String,
    /// `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{alias ARN}/invocations`.
    pub uri: Value,
    /// The request parameters the stage cache keys on.
    pub cache_key_parameters: Vec<String>,
    pub timeout_millis: u32,
}

/// One route: a method on a resource path.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiMethod {
    /// `GET`, `POST`, …
    pub http_method: String,
    /// `/transactions/{id}`.
    pub path: String,
    pub api_key_required: bool,
    /// Name of a request validator of the same API.
    pub request_validator: Option<String>,
    /// Content type to model name.
    pub request_models: BTreeMap<String, String>,
    /// `method.request.path.id` / `method.request.querystring.from` to whether required.
    pub request_parameters: BTreeMap<String, bool>,
    pub integration: ApiIntegration,
    /// Status codes the method declares.
    pub method_responses: Vec<String>,
}

impl ApiMethod {
    /// `POST /transactions`: the key of the method in the `methods` field.
    pub fn key(&self) -> String {
        format!("{} {}", self.http_method, self.path)
    }
}

/// A customized answer API Gateway gives before a request reaches the function (for
/// example a body the request validator refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayResponse {
    /// `BAD_REQUEST_BODY`, `BAD_REQUEST_PARAMETERS`, …
    pub response_type: String,
    pub status_code: String,
    /// Content type to mapping template.
    pub response_templates: BTreeMap<String, String>,
}

/// Everything a deployment snapshots: the resource tree (derived from the method paths),
/// models, validators, methods with their integrations, and gateway responses.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiDefinition {
    pub models: Vec<ApiModel>,
    pub request_validators: Vec<RequestValidator>,
    pub methods: Vec<ApiMethod>,
    pub gateway_responses: Vec<GatewayResponse>,
}

impl ApiDefinition {
    /// Every resource path the methods need, parents included, sorted (`/` excluded: every
    /// API has it).
    pub fn resources(&self) -> Vec<String> {
        let mut paths = BTreeSet::new();
        for method in &self.methods {
            let mut path = String::new();
            for part in method.path.split('/').filter(|p| !p.is_empty()) {
                path.push('/');
                path.push_str(part);
                paths.insert(path.clone());
            }
        }
        paths.into_iter().collect()
    }

    fn resources_value(&self) -> Value {
        Value::list(self.resources().into_iter().map(Value::Str))
    }

    fn models_value(&self) -> Value {
        Value::map(self.models.iter().map(|m| {
            (
                m.name.clone(),
                Value::map([
                    ("content_type", Value::str(m.content_type.clone())),
                    ("schema", m.schema.clone()),
                ]),
            )
        }))
    }

    fn validators_value(&self) -> Value {
        Value::map(self.request_validators.iter().map(|v| {
            (
                v.name.clone(),
                Value::map([
                    (
                        "validate_request_body",
                        Value::Bool(v.validate_request_body),
                    ),
                    (
                        "validate_request_parameters",
                        Value::Bool(v.validate_request_parameters),
                    ),
                ]),
            )
        }))
    }

    fn methods_value(&self) -> Value {
        Value::map(self.methods.iter().map(|m| {
            let integration = &m.integration;
            (
                m.key(),
                Value::map([
                    ("authorization_type", Value::str("NONE")),
                    ("api_key_required", Value::Bool(m.api_key_required)),
                    ("request_validator", optional(m.request_validator.clone())),
                    (
                        "request_models",
                        Value::map(
                            m.request_models
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::str(v.clone()))),
                        ),
                    ),
                    (
                        "request_parameters",
                        Value::map(
                            m.request_parameters
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::Bool(*v))),
                        ),
                    ),
                    (
                        "integration",
                        Value::map([
                            ("type", Value::str(integration.integration_type.clone())),
                            ("http_method", Value::str(integration.http_method.clone())),
                            ("uri", integration.uri.clone()),
                            (
                                "cache_key_parameters",
                                Value::list(
                                    integration
                                        .cache_key_parameters
                                        .iter()
                                        .cloned()
                                        .map(Value::Str),
                                ),
                            ),
                            ("timeout_in_millis", integration.timeout_millis.into()),
                        ]),
                    ),
                    (
                        "method_responses",
                        Value::list(m.method_responses.iter().cloned().map(Value::Str)),
                    ),
                ]),
            )
        }))
    }

    fn gateway_responses_value(&self) -> Value {
        Value::map(self.gateway_responses.iter().map(|r| {
            (
                r.response_type.clone(),
                Value::map([
                    ("status_code", Value::str(r.status_code.clone())),
                    (
                        "response_templates",
                        Value::map(
                            r.response_templates
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::str(v.clone()))),
                        ),
                    ),
                ]),
            )
        }))
    }

    /// The definition as one value: what the deployment's hash covers.
    pub fn to_value(&self) -> Value {
        Value::map([
            ("resources", self.resources_value()),
            ("models", self.models_value()),
            ("request_validators", self.validators_value()),
            ("methods", self.methods_value()),
            ("gateway_responses", self.gateway_responses_value()),
        ])
    }

    /// Lower-case hex sha256 of the canonical definition together with `context` (what the
    /// definition's references will resolve to, such as the environment and the physical
    /// names of the referenced resources), so that any change that would change what the
    /// API serves changes the hash. Canonical: maps are ordered, references are written as
    /// `kind/logical.output`.
    pub fn sha256(&self, context: &Json) -> String {
        let document = serde_json::json!({
            "definition": canonical_json(&self.to_value()),
            "context": context,
        });
        let digest = Sha256::digest(document.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A value as JSON with references and environment facts spelled out, without resolving
/// them; maps keep their sorted order.
fn canonical_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(canonical_json).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), canonical_json(v)))
                .collect(),
        ),
        Value::Ref(r) => serde_json::json!({ "ref": r.to_string() }),
        Value::Env(fact) => serde_json::json!({ "env": format!("{fact:?}") }),
        Value::Concat(parts) => {
            serde_json::json!({ "concat": parts.iter().map(canonical_json).collect::<Vec<_>>() })
        }
        Value::JsonText(inner) => serde_json::json!({ "json_text": canonical_json(inner) }),
    }
}

/// A regional REST API holding its whole definition. The physical name is the API name;
/// the adapter finds the API by name and its `txdeploy:logical` tag.
///
/// Fields (all update; the adapter changes only the parts that differ):
/// - `description` (string), `endpoint_types` (`["REGIONAL"]`), `api_key_source`
///   (`"HEADER"`).
/// - `resources`: sorted list of resource paths (`/transactions`, `/transactions/{id}`, …).
/// - `models`: `{name: {"content_type", "schema": JSON schema}}` (the schema is sent as
///   text).
/// - `request_validators`: `{name: {"validate_request_body", "validate_request_parameters"}}`.
/// - `methods`: `{"POST /transactions": {"authorization_type": "NONE", "api_key_required",
///   "request_validator": name | null, "request_models": {content type: model},
///   "request_parameters": {"method.request.path.id": required}, "integration": {"type":
///   "AWS_PROXY", "http_method": "POST", "uri", "cache_key_parameters": [..],
///   "timeout_in_millis"}, "method_responses": ["200", ..]}}`.
/// - `gateway_responses`: `{response type: {"status_code", "response_templates":
///   {content type: template}}}` (`PutGatewayResponse`).
/// - `tags`.
///
/// Outputs: `Id` (the REST API id), `Arn` (`arn:…:apigateway:{region}::/restapis/{id}`),
/// `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct RestApiSpec {
    pub description: String,
    /// `REGIONAL`.
    pub endpoint_type: String,
    /// `HEADER`: clients send `x-api-key`.
    pub api_key_source: String,
    pub definition: ApiDefinition,
}

impl RestApiSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::DESCRIPTION, update(self.description.as_str()));
        fields.insert(
            field::ENDPOINT_TYPES,
            update(Value::list([Value::str(self.endpoint_type.clone())])),
        );
        fields.insert(field::API_KEY_SOURCE, update(self.api_key_source.as_str()));
        fields.insert(field::RESOURCES, update(self.definition.resources_value()));
        fields.insert(field::MODELS, update(self.definition.models_value()));
        fields.insert(
            field::REQUEST_VALIDATORS,
            update(self.definition.validators_value()),
        );
        fields.insert(field::METHODS, update(self.definition.methods_value()));
        fields.insert(
            field::GATEWAY_RESPONSES,
            update(self.definition.gateway_responses_value()),
        );
    }
}

/// A deployment: an immutable snapshot of the API's definition. Its identity is the hash of
/// that definition: a changed hash is a new deployment, and the stage then points at it.
///
/// Fields: `rest_api_id` (replace: a deployment belongs to its API), `definition_sha256`
/// (replace: "the API definition changed"; the adapter writes the hash into the
/// deployment's description, `txdeploy definition {sha256}`, and reads it back from there).
/// Not taggable. Outputs: `Id` (the deployment id).
///
/// Replacing a deployment must not delete the previous one while a stage still serves it
/// (AWS refuses, and it is the release a rollback returns to): the adapter's delete keeps
/// deployments that a stage references or that belong to the recorded releases.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiDeploymentSpec {
    /// Id of the REST API.
    pub rest_api: OutputRef,
    pub definition_sha256: String,
    /// `txdeploy definition {sha256}`.
    pub description: String,
}

impl ApiDeploymentSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::REST_API_ID,
            replace(self.rest_api.clone(), "a deployment belongs to its API"),
        );
        fields.insert(
            field::DEFINITION_SHA256,
            replace(
                self.definition_sha256.as_str(),
                "the API definition changed",
            ),
        );
    }
}

/// Settings of one method (or of `*/*`, every method) on a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodSetting {
    pub metrics_enabled: bool,
    /// `OFF`, `ERROR` or `INFO` (execution logging).
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub throttling_rate_limit: f64,
    pub throttling_burst_limit: u32,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: u32,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    /// `FAIL_WITH_403`: an unauthorized `Cache-Control: max-age=0` is refused.
    pub unauthorized_cache_control_header_strategy: String,
}

impl MethodSetting {
    fn to_value(&self) -> Value {
        Value::map([
            ("metrics_enabled", Value::Bool(self.metrics_enabled)),
            ("logging_level", Value::str(self.logging_level.clone())),
            ("data_trace_enabled", Value::Bool(self.data_trace_enabled)),
            (
                "throttling_rate_limit",
                Value::Float(self.throttling_rate_limit),
            ),
            ("throttling_burst_limit", self.throttling_burst_limit.into()),
            ("caching_enabled", Value::Bool(self.caching_enabled)),
            ("cache_ttl_in_seconds", self.cache_ttl_in_seconds.into()),
            (
                "cache_data_encrypted",
                Value::Bool(self.cache_data_encrypted),
            ),
            (
                "require_authorization_for_cache_control",
                Value::Bool(self.require_authorization_for_cache_control),
            ),
            (
                "unauthorized_cache_control_header_strategy",
                Value::str(self.unauthorized_cache_control_header_strategy.clone()),
            ),
        ])
    }
}

/// A stage. The physical name is the stage name.
///
/// Fields:
/// - `stage_name` (replace: a stage cannot be renamed), `rest_api_id` (replace: a stage
///   belongs to its API).
/// - `deployment_id`: update (moving it is a release, or a rollback of routes).
/// - `tracing_enabled` (boolean), `access_log_settings` (`{"destination_arn": log group
///   ARN without `:*`, "format": string}`), `cache_cluster` (`{"enabled", "size"}`).
/// - `method_settings`: `{"*/*" | "{path without leading /}/{METHOD}": {"metrics_enabled",
///   "logging_level", "data_trace_enabled", "throttling_rate_limit" (float),
///   "throttling_burst_limit", "caching_enabled", "cache_ttl_in_seconds",
///   "cache_data_encrypted", "require_authorization_for_cache_control",
///   "unauthorized_cache_control_header_strategy"}}`; the adapter patches
///   `/{key with / escaped as ~1}/{setting}` (`*/*` stays as is) and reports every entry with
///   all ten settings.
/// - `tags`.
///
/// Outputs: `Name` (the stage name), `Arn`
/// (`arn:…:apigateway:{region}::/restapis/{id}/stages/{name}`).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiStageSpec {
    /// Id of the REST API.
    pub rest_api: OutputRef,
    /// Id of the deployment the stage serves.
    pub deployment: OutputRef,
    pub tracing_enabled: bool,
    /// ARN of the access-log group.
    pub access_log_destination: OutputRef,
    /// One JSON object per request, `$context` variables.
    pub access_log_format: String,
    pub cache_cluster_enabled: bool,
    /// One of the sizes API Gateway offers (`0.5`, `1.6`, … `237`), in GB.
    pub cache_cluster_size: String,
    pub method_settings: BTreeMap<String, MethodSetting>,
}

impl ApiStageSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::REST_API_ID,
            replace(self.rest_api.clone(), "a stage belongs to its API"),
        );
        fields.insert(field::DEPLOYMENT_ID, update(self.deployment.clone()));
        fields.insert(field::TRACING_ENABLED, update(self.tracing_enabled));
        fields.insert(
            field::ACCESS_LOG_SETTINGS,
            update(Value::map([
                (
                    "destination_arn",
                    self.access_log_destination.clone().into(),
                ),
                ("format", Value::str(self.access_log_format.clone())),
            ])),
        );
        fields.insert(
            field::CACHE_CLUSTER,
            update(Value::map([
                ("enabled", Value::Bool(self.cache_cluster_enabled)),
                ("size", Value::str(self.cache_cluster_size.clone())),
            ])),
        );
        fields.insert(
            field::METHOD_SETTINGS,
            update(Value::map(
                self.method_settings
                    .iter()
                    .map(|(k, s)| (k.clone(), s.to_value())),
            )),
        );
    }
}

/// A usage plan on the stage. The physical name is the plan name.
///
/// Fields: `description`, `throttle` (`{"rate_limit": float, "burst_limit"}`), `quota`
/// (`{"limit", "offset": 0, "period": "DAY" | "WEEK" | "MONTH"}`), `api_stages`
/// (`[{"api_id", "stage"}]`), all update (`UpdateUsagePlan`); `tags`. Outputs: `Id`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct UsagePlanSpec {
    pub description: String,
    pub throttle_rate_limit: f64,
    pub throttle_burst_limit: u32,
    pub quota_limit: u32,
    pub quota_period: String,
    /// Id of the REST API.
    pub rest_api: OutputRef,
    /// Name of the stage (a reference, so the plan waits for the stage).
    pub stage: OutputRef,
}

impl UsagePlanSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::DESCRIPTION, update(self.description.as_str()));
        fields.insert(
            field::THROTTLE,
            update(Value::map([
                ("rate_limit", Value::Float(self.throttle_rate_limit)),
                ("burst_limit", self.throttle_burst_limit.into()),
            ])),
        );
        fields.insert(
            field::QUOTA,
            update(Value::map([
                ("limit", self.quota_limit.into()),
                ("offset", Value::Int(0)),
                ("period", Value::str(self.quota_period.clone())),
            ])),
        );
        fields.insert(
            field::API_STAGES,
            update(Value::list([Value::map([
                ("api_id", self.rest_api.clone().into()),
                ("stage", self.stage.clone().into()),
            ])])),
        );
    }
}

/// An API key. AWS generates its value, which is never part of the spec, the outputs or the
/// journal. The physical name is the key name.
///
/// Fields: `description`, `enabled` (update), `tags`. Outputs: `Id`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeySpec {
    pub description: String,
    pub enabled: bool,
}

impl ApiKeySpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::DESCRIPTION, update(self.description.as_str()));
        fields.insert(field::ENABLED, update(self.enabled));
    }
}

/// The membership of an API key in a usage plan.
///
/// Fields: `usage_plan_id`, `key_id`, `key_type` (`"API_KEY"`), all replace. Not taggable.
/// Outputs: `Id` (the key id).
#[derive(Clone, Debug, PartialEq)]
pub struct UsagePlanKeySpec {
    /// Id of the usage plan.
    pub usage_plan: OutputRef,
    /// Id of the API key.
    pub key: OutputRef,
}

impl UsagePlanKeySpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        let reason = "a usage plan key cannot be changed in place";
        fields.insert(
            field::USAGE_PLAN_ID,
            replace(self.usage_plan.clone(), reason),
        );
        fields.insert(field::KEY_ID, replace(self.key.clone(), reason));
        fields.insert(field::KEY_TYPE, replace("API_KEY", reason));
    }
}
