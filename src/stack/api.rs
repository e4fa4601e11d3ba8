//! The regional REST API: three routes on the validator's `live` alias (AWS_PROXY, with the
//! `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{alias ARN}/invocations`
//! URI), one Lambda permission per route scoped to `{execution ARN}/{stage}/{METHOD}/{path}`,
//! a deployment identified by the hash of the definition, and a stage with X-Ray, access
//! logs, metrics, throttling and an encrypted cache on the GET routes only. A usage plan and
//! an API key go with it, and the account's API Gateway logging role.

use std::collections::BTreeMap;

use serde_json::json;

use super::iam_policies::{api_gateway_logs_policy, api_gateway_trust};
use super::logs::{API_ACCESS_LOG_GROUP, role};
use super::{Builder, Handler, id};
use crate::spec::{
    ApiAccountSpec, ApiDefinition, ApiDeploymentSpec, ApiIntegration, ApiKeySpec, ApiMethod,
    ApiModel, ApiStageSpec, EnvFact, GatewayResponse, LambdaPermissionSpec, MethodSetting,
    OutputRef, RequestValidator, ResourceGraph, ResourceId, ResourceKind, ResourceSpec,
    RestApiSpec, SpecBody, UsagePlanKeySpec, UsagePlanSpec, Value,
};

/// The logical name of the REST API, its deployment, stage, usage plan and key.
pub const API: &str = "api";
/// The role API Gateway assumes to write access logs.
pub const API_GATEWAY_LOGS_ROLE: &str = "api-gateway-logs";
/// The logical name of the account's API Gateway settings.
pub const API_ACCOUNT: &str = "account";
/// The model of `POST /transactions` bodies.
pub const TRANSACTION_MODEL: &str = "TransactionRequest";
/// API Gateway waits at most this long for the function.
const INTEGRATION_TIMEOUT_MILLIS: u32 = 29_000;

/// One route of the API.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    /// With `{param}` path parameters.
    pub path: &'static str,
    /// The logical name of the route's Lambda permission.
    pub permission: &'static str,
    /// Optional query-string parameters.
    pub query: &'static [&'static str],
    /// Whether the stage caches the route's responses (the GET routes).
    pub cached: bool,
    /// The status codes the handler answers with.
    pub responses: &'static [&'static str],
}

impl Route {
    /// The path parameters (`id` of `/transactions/{id}`).
    pub fn path_parameters(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .collect()
    }

    /// The path as the permission's source ARN names it: no leading `/`, parameters as `*`.
    pub fn source_arn_path(&self) -> String {
        self.path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| if p.starts_with('{') { "*" } else { p })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The key of the route in the stage's method settings: `{path without /}/{METHOD}`.
    pub fn method_settings_key(&self) -> String {
        format!("{}/{}", self.path.trim_start_matches('/'), self.method)
    }

    /// Every request parameter, with whether it is required: path parameters are, query
    /// parameters are not.
    fn request_parameters(&self) -> BTreeMap<String, bool> {
        let path = self
            .path_parameters()
            .into_iter()
            .map(|p| (format!("method.request.path.{p}"), true));
        let query = self
            .query
            .iter()
            .map(|q| (format!("method.request.querystring.{q}"), false));
        path.chain(query).collect()
    }
}

/// The routes; every one is served by the transaction validator.
pub const ROUTES: [Route; 3] = [
    Route {
        method: "POST",
        path: "/transactions",
        permission: "post-transactions",
        query: &[],
        cached: false,
        responses: &["200", "400", "409", "500"],
    },
    Route {
        method: "GET",
        path: "/transactions/{id}",
        permission: "get-transaction",
        query: &[],
        cached: true,
        responses: &["200", "404", "500"],
    },
    Route {
        method: "GET",
        path: "/merchants/{merchant_id}/transactions",
        permission: "list-merchant-transactions",
        query: &["from", "to", "limit", "next"],
        cached: true,
        responses: &["200", "400", "500"],
    },
];

/// The id of the REST API.
pub fn rest_api_id() -> ResourceId {
    id(ResourceKind::RestApi, API)
}

/// The id of the stage.
pub fn stage_id() -> ResourceId {
    id(ResourceKind::ApiStage, API)
}

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    graph.add(role(
        b,
        API_GATEWAY_LOGS_ROLE,
        "API Gateway writes the stage's access logs",
        api_gateway_trust(),
        api_gateway_logs_policy(),
    ));
    let account = graph.add(api_account(b));
    let definition = definition(b);
    let sha256 = definition.sha256(&hash_context(b));
    graph.add(rest_api(b, definition));
    let permissions: Vec<ResourceId> = ROUTES
        .iter()
        .map(|route| graph.add(permission(b, route)))
        .collect();
    let deployment = graph.add(deployment(b, &sha256, permissions));
    graph.add(stage(b, &deployment, &account));
    let plan = graph.add(usage_plan(b));
    let key = graph.add(api_key(b));
    graph.add(usage_plan_key(b, &plan, &key));
}

fn api_account(b: &Builder<'_>) -> ResourceSpec {
    let mut spec = b.spec(
        ResourceKind::ApiAccount,
        API_ACCOUNT,
        SpecBody::ApiAccount(ApiAccountSpec {
            cloudwatch_role: OutputRef::arn(&id(ResourceKind::Role, API_GATEWAY_LOGS_ROLE)),
        }),
    );
    // The account and region's settings, shared with every other API there.
    spec.physical_name = "api-gateway-account-settings".to_owned();
    spec
}

/// `arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{alias ARN}/invocations`:
/// API Gateway's path to invoke the validator's `live` alias (not the function's invoke ARN).
pub(crate) fn integration_uri() -> Value {
    Value::Concat(vec![
        Value::str("arn:"),
        Value::Env(EnvFact::Partition),
        Value::str(":apigateway:"),
        Value::Env(EnvFact::Region),
        Value::str(":lambda:path/2015-03-31/functions/"),
        OutputRef::arn(&Handler::TransactionValidator.alias_id()).into(),
        Value::str("/invocations"),
    ])
}

/// The JSON schema (draft 4) of `POST /transactions` bodies. The types are the ones the
/// handler accepts (an amount may be a number or a decimal string) plus `null`, which the
/// handler answers itself as a missing field, so the validator never refuses a body the
/// handler would accept.
fn transaction_schema() -> Value {
    let types =
        |names: &[&str]| Value::map([("type", Value::list(names.iter().map(|n| Value::str(*n))))]);
    Value::map([
        (
            "$schema",
            Value::str("http://json-schema.org/draft-04/schema#"),
        ),
        ("title", Value::str(TRANSACTION_MODEL)),
        ("type", Value::str("object")),
        (
            "required",
            Value::list(["transaction_id", "merchant_id", "amount"].map(Value::str)),
        ),
        (
            "properties",
            Value::map([
                ("transaction_id", types(&["string", "null"])),
                ("merchant_id", types(&["string", "null"])),
                ("amount", types(&["number", "string", "null"])),
                ("currency", types(&["string", "null"])),
                ("transaction_date", types(&["string", "null"])),
            ]),
        ),
    ])
}

fn definition(b: &Builder<'_>) -> ApiDefinition {
    let api_key_required = b.config.api.api_key_required;
    let methods = ROUTES
        .iter()
        .map(|route| {
            let parameters = route.request_parameters();
            let is_post = route.method == "POST";
            ApiMethod {
                http_method: route.method.to_owned(),
                path: route.path.to_owned(),
                api_key_required,
                request_validator: Some(if is_post { "body" } else { "parameters" }.to_owned()),
                request_models: if is_post {
                    BTreeMap::from([("application/json".to_owned(), TRANSACTION_MODEL.to_owned())])
                } else {
                    BTreeMap::new()
                },
                integration: ApiIntegration {
                    integration_type: "AWS_PROXY".to_owned(),
                    http_method: "POST".to_owned(),
                    uri: integration_uri(),
                    // The cache keys on every parameter, or one merchant's page would be
                    // served for another's.
                    cache_key_parameters: if route.cached {
                        parameters.keys().cloned().collect()
                    } else {
                        Vec::new()
                    },
                    timeout_millis: INTEGRATION_TIMEOUT_MILLIS,
                },
                request_parameters: parameters,
                method_responses: route.responses.iter().map(|s| (*s).to_owned()).collect(),
            }
        })
        .collect();
    ApiDefinition {
        models: vec![ApiModel {
            name: TRANSACTION_MODEL.to_owned(),
            content_type: "application/json".to_owned(),
            schema: transaction_schema(),
        }],
        request_validators: vec![
            RequestValidator {
                name: "body".to_owned(),
                validate_request_body: true,
                validate_request_parameters: false,
            },
            RequestValidator {
                name: "parameters".to_owned(),
                validate_request_body: false,
                validate_request_parameters: true,
            },
        ],
        methods,
        // A refused body keeps the API's error shape (`{"error": ...}`, 400), with API
        // Gateway's reason, instead of its default `{"message": ...}`.
        gateway_responses: vec![GatewayResponse {
            response_type: "BAD_REQUEST_BODY".to_owned(),
            status_code: "400".to_owned(),
            response_templates: BTreeMap::from([(
                "application/json".to_owned(),
                r#"{"error": "Invalid request body", "details": "$context.error.validationErrorString"}"#
                    .to_owned(),
            )]),
        }],
    }
}

/// What the definition's references resolve to, for its hash: the environment and the
/// physical name of the alias every integration targets. A new hash means a new deployment.
fn hash_context(b: &Builder<'_>) -> serde_json::Value {
    json!({
        "partition": b.env.partition,
        "region": b.env.region,
        "account_id": b.env.account_id,
        "targets": {
            Handler::TransactionValidator.alias_id().to_string():
                format!("{}:{}", b.function_name(Handler::TransactionValidator), super::LIVE_ALIAS),
        },
    })
}

fn rest_api(b: &Builder<'_>, definition: ApiDefinition) -> ResourceSpec {
    b.spec(
        ResourceKind::RestApi,
        API,
        SpecBody::RestApi(RestApiSpec {
            description: format!("txdeploy {} transaction API", b.config.stack_name()),
            endpoint_type: "REGIONAL".to_owned(),
            api_key_source: "HEADER".to_owned(),
            definition,
        }),
    )
}

/// `{execution ARN}/{stage}/{METHOD}/{path}`: the only calls the permission allows.
pub(crate) fn source_arn(b: &Builder<'_>, route: &Route) -> Value {
    b.arn(
        "execute-api",
        vec![
            OutputRef::id(&rest_api_id()).into(),
            Value::str(format!(
                "/{}/{}/{}",
                b.config.api.stage,
                route.method,
                route.source_arn_path()
            )),
        ],
    )
}

fn permission(b: &Builder<'_>, route: &Route) -> ResourceSpec {
    let validator = Handler::TransactionValidator;
    let statement_id = b.name(route.permission);
    let mut spec = b.spec(
        ResourceKind::LambdaPermission,
        route.permission,
        SpecBody::LambdaPermission(LambdaPermissionSpec {
            function: OutputRef::name(&validator.function_id()),
            qualifier: super::LIVE_ALIAS.to_owned(),
            statement_id: statement_id.clone(),
            action: "lambda:InvokeFunction".to_owned(),
            principal: "apigateway.amazonaws.com".to_owned(),
            source_arn: source_arn(b, route),
            source_account: Value::Env(EnvFact::AccountId),
        }),
    );
    spec.physical_name = statement_id;
    // The statement goes into the alias's policy: the alias must exist, and the qualifier is
    // its name, not an output.
    spec.depends_on.push(validator.alias_id());
    spec
}

fn deployment(b: &Builder<'_>, sha256: &str, permissions: Vec<ResourceId>) -> ResourceSpec {
    let mut spec = b.spec(
        ResourceKind::ApiDeployment,
        API,
        SpecBody::ApiDeployment(ApiDeploymentSpec {
            rest_api: OutputRef::id(&rest_api_id()),
            definition_sha256: sha256.to_owned(),
            description: format!("txdeploy definition {sha256}"),
        }),
    );
    spec.physical_name = format!("{}@{}", b.name(API), sha256.get(..12).unwrap_or(sha256));
    // A new route goes live with the deployment; its permission must exist by then, or the
    // first calls answer 500. The deployment reads no output of the permissions.
    spec.depends_on = permissions;
    spec
}

fn method_setting(b: &Builder<'_>, cached: bool) -> MethodSetting {
    let api = &b.config.api;
    MethodSetting {
        metrics_enabled: true,
        // Access logs (one JSON line per request) and X-Ray cover what execution logs would;
        // execution logs would go to a group API Gateway creates itself, with no retention
        // and no encryption.
        logging_level: "OFF".to_owned(),
        data_trace_enabled: false,
        throttling_rate_limit: f64::from(api.throttle_rate),
        throttling_burst_limit: api.throttle_burst,
        caching_enabled: cached,
        cache_ttl_in_seconds: api.cache_ttl_seconds,
        cache_data_encrypted: true,
        require_authorization_for_cache_control: true,
        unauthorized_cache_control_header_strategy: "FAIL_WITH_403".to_owned(),
    }
}

/// The access-log line: one JSON object per request.
fn access_log_format() -> String {
    json!({
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationError": "$context.integration.error",
        "errorMessage": "$context.error.message",
        "apiKeyId": "$context.identity.apiKeyId",
        "xrayTraceId": "$context.xrayTraceId",
    })
    .to_string()
}

fn stage(b: &Builder<'_>, deployment: &ResourceId, account: &ResourceId) -> ResourceSpec {
    let mut method_settings = BTreeMap::from([("*/*".to_owned(), method_setting(b, false))]);
    for route in ROUTES.iter().filter(|r| r.cached) {
        method_settings.insert(route.method_settings_key(), method_setting(b, true));
    }
    let mut spec = b.spec(
        ResourceKind::ApiStage,
        API,
        SpecBody::ApiStage(ApiStageSpec {
            rest_api: OutputRef::id(&rest_api_id()),
            deployment: OutputRef::id(deployment),
            tracing_enabled: true,
            access_log_destination: OutputRef::arn(&id(
                ResourceKind::LogGroup,
                API_ACCESS_LOG_GROUP,
            )),
            access_log_format: access_log_format(),
            cache_cluster_enabled: true,
            cache_cluster_size: b.config.api.cache_size.clone(),
            method_settings,
        }),
    );
    spec.physical_name = b.config.api.stage.clone();
    // API Gateway refuses access logging until the account's CloudWatch role is set; the
    // stage reads no output of the account settings.
    spec.depends_on.push(account.clone());
    spec
}

fn usage_plan(b: &Builder<'_>) -> ResourceSpec {
    let api = &b.config.api;
    b.spec(
        ResourceKind::UsagePlan,
        API,
        SpecBody::UsagePlan(UsagePlanSpec {
            description: format!("txdeploy {} usage plan", b.config.stack_name()),
            throttle_rate_limit: f64::from(api.throttle_rate),
            throttle_burst_limit: api.throttle_burst,
            quota_limit: api.quota_limit,
            quota_period: api.quota_period.as_aws().to_owned(),
            rest_api: OutputRef::id(&rest_api_id()),
            stage: OutputRef::name(&stage_id()),
        }),
    )
}

fn api_key(b: &Builder<'_>) -> ResourceSpec {
    b.spec(
        ResourceKind::ApiKey,
        API,
        SpecBody::ApiKey(ApiKeySpec {
            description: format!("txdeploy {} API key", b.config.stack_name()),
            enabled: true,
        }),
    )
}

fn usage_plan_key(b: &Builder<'_>, plan: &ResourceId, key: &ResourceId) -> ResourceSpec {
    b.spec(
        ResourceKind::UsagePlanKey,
        API,
        SpecBody::UsagePlanKey(UsagePlanKeySpec {
            usage_plan: OutputRef::id(plan),
            key: OutputRef::id(key),
        }),
    )
}
