//! `AwsCloud`: the `Cloud` boundary implemented over the AWS SDK, one adapter per service.
//!
//! Each adapter observes, creates, updates and deletes one kind of object and reports its
//! fields with exactly the names and JSON shapes `ResourceSpec::fields()` resolves to, so a
//! converged stack plans as no-ops and a no-op apply makes no mutating call.

pub mod apigateway_adapter;
pub mod autoscaling_adapter;
pub mod aws_clients;
pub mod call_counter;
pub mod cloudwatch_adapter;
pub mod dynamodb_adapter;
pub mod event_invoke_adapter;
pub mod event_source_mapping_adapter;
pub mod firehose_adapter;
pub mod iam_adapter;
pub mod kms_adapter;
pub mod lambda_adapter;
pub mod lambda_alias_adapter;
pub mod lambda_permission_adapter;
pub mod logs_adapter;
pub mod preflight;
pub mod s3_adapter;
pub mod sdk_error;
pub mod sns_adapter;
pub mod sqs_adapter;
pub mod tagging;

use std::collections::BTreeSet;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_types::SdkConfig;
use serde_json::Value as Json;

pub use aws_clients::{AwsAccess, AwsClients, load_sdk_config};
pub use call_counter::{CallCounter, CallCounts};

use crate::cloud::{Cloud, CloudError, Discovered, Observed, PreflightFinding, StepContext};
use crate::plan::{ObservedState, Plan};
use crate::spec::{
    CheckedGraph, Environment, Outputs, ResourceId, ResourceKind, ResourceSpec, SpecBody, Value,
};
use crate::stack::STACK_TAG;
use sdk_error::Classified;
use tagging::{Arn, TaggedResource};

/// The AWS SDK implementation of `Cloud`.
#[derive(Clone, Debug)]
pub struct AwsCloud {
    clients: AwsClients,
    region: Option<String>,
}

impl AwsCloud {
    /// Loads the SDK config for `access` and builds every client with a fresh call counter.
    pub async fn connect(access: &AwsAccess) -> (AwsCloud, CallCounter) {
        let config = load_sdk_config(access).await;
        let counter = CallCounter::new();
        let clients = AwsClients::new(&config, &counter);
        (AwsCloud::new(clients, &config), counter)
    }

    /// A cloud over clients built elsewhere (tests attach extra interceptors this way).
    pub fn new(clients: AwsClients, config: &SdkConfig) -> Self {
        Self {
            clients,
            region: config.region().map(|r| r.as_ref().to_owned()),
        }
    }

    pub fn clients(&self) -> &AwsClients {
        &self.clients
    }
}

/// The partition a region belongs to: `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    async fn preflight(
        &self,
        plan: &Plan,
        graph: &CheckedGraph,
        observed: &ObservedState,
    ) -> Result<Vec<PreflightFinding>, CloudError> {
        preflight::check(&self.clients, plan, graph, observed, SystemTime::now()).await
    }

    async fn environment(&self) -> Result<Environment, CloudError> {
        let Some(region) = self.region.clone() else {
            return Err(CloudError::fatal(
                "txdeploy",
                "environment",
                "no AWS region is configured; set `aws.region` in txdeploy.toml, \
                 `AWS_REGION`, or a region in your AWS profile",
            ));
        };
        let identity = self
            .clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .classified("sts", "GetCallerIdentity")?;
        let account_id = identity.account().map(str::to_owned).ok_or_else(|| {
            CloudError::fatal("sts", "GetCallerIdentity", "the response has no `Account`")
        })?;
        Ok(Environment {
            account_id,
            partition: partition_of(&region).to_owned(),
            region,
        })
    }

    async fn observe(
        &self,
        spec: &ResourceSpec,
        env: &Environment,
    ) -> Result<Option<Observed>, CloudError> {
        let c = &self.clients;
        match &spec.body {
            SpecBody::KmsKey(key) => kms_adapter::observe_key(c, spec, key).await,
            SpecBody::KmsAlias(_) => kms_adapter::observe_alias(c, &spec.physical_name).await,
            SpecBody::Bucket(_) => s3_adapter::observe(c, &spec.physical_name, env).await,
            SpecBody::Queue(_) => sqs_adapter::observe(c, &spec.physical_name).await,
            SpecBody::Table(_) => dynamodb_adapter::observe(c, &spec.physical_name).await,
            SpecBody::Topic(topic) => {
                let email = topic.email_subscription.as_deref();
                sns_adapter::observe(c, &spec.physical_name, email, env).await
            }
            SpecBody::Alarm(_) => cloudwatch_adapter::observe_alarm(c, &spec.physical_name).await,
            SpecBody::Dashboard(_) => {
                cloudwatch_adapter::observe_dashboard(c, &spec.physical_name).await
            }
            SpecBody::LogGroup(_) => logs_adapter::observe_group(c, &spec.physical_name).await,
            SpecBody::SubscriptionFilter(_) => {
                logs_adapter::observe_filter(c, &spec.physical_name).await
            }
            SpecBody::DeliveryStream(_) => firehose_adapter::observe(c, &spec.physical_name).await,
            SpecBody::RestApi(_) => apigateway_adapter::observe_rest_api(c, spec, env).await,
            SpecBody::ApiDeployment(_) => apigateway_adapter::observe_deployment(c, spec).await,
            SpecBody::ApiStage(_) => apigateway_adapter::observe_stage(c, spec, env).await,
            SpecBody::ApiAccount(_) => apigateway_adapter::observe_account(c, spec).await,
            SpecBody::UsagePlan(_) => apigateway_adapter::observe_usage_plan(c, spec).await,
            SpecBody::ApiKey(_) => apigateway_adapter::observe_api_key(c, spec).await,
            SpecBody::UsagePlanKey(_) => apigateway_adapter::observe_usage_plan_key(c, spec).await,
            SpecBody::Role(_) => iam_adapter::observe(c, &spec.physical_name).await,
            SpecBody::Function(_) => lambda_adapter::observe(c, &spec.physical_name).await,
            SpecBody::LambdaAlias(_) => lambda_alias_adapter::observe(c, &spec.physical_name).await,
            SpecBody::EventInvokeConfig(_) => {
                event_invoke_adapter::observe(c, &spec.physical_name).await
            }
            SpecBody::LambdaPermission(permission) => {
                lambda_permission_adapter::observe(c, spec, permission).await
            }
            SpecBody::EventSourceMapping(mapping) => {
                event_source_mapping_adapter::observe(c, spec, mapping, env).await
            }
            SpecBody::ScalingTarget(target) => {
                autoscaling_adapter::observe_target(c, spec, target, env).await
            }
            SpecBody::ScalingPolicy(policy) => {
                autoscaling_adapter::observe_policy(c, spec, policy, env).await
            }
        }
    }

    async fn discover(
        &self,
        stack: &str,
        env: &Environment,
    ) -> Result<Vec<Discovered>, CloudError> {
        let c = &self.clients;
        let tagged = tagging::find_by_tags(
            c,
            &[
                "kms:key",
                "s3:bucket",
                "sqs:queue",
                "sns:topic",
                "cloudwatch:alarm",
                "dynamodb:table",
                // Log groups by service alone: AWS types them `logs:log-group`, moto
                // `logs:loggroup`; `logical_id` still checks the ARN is a log group.
                "logs",
                "firehose:deliverystream",
            ],
            &[(STACK_TAG, stack)],
        )
        .await?;
        // Keys pending deletion included: their aliases still exist until the key is gone.
        let stack_key_ids: BTreeSet<String> = tagged
            .iter()
            .filter_map(|r| kms_adapter::key_id_of(&r.arn))
            .map(str::to_owned)
            .collect();
        let mut found = Vec::new();
        for resource in tagged {
            let Some(id) = logical_id(&resource) else {
                continue;
            };
            let observed = match id.kind() {
                ResourceKind::KmsKey => kms_adapter::discovered_key(c, &resource).await?,
                ResourceKind::Bucket => Some(s3_adapter::discovered(&resource, env)),
                ResourceKind::Queue => sqs_adapter::discovered(c, &resource).await?,
                ResourceKind::Topic => Some(sns_adapter::discovered(&resource)),
                ResourceKind::Alarm => cloudwatch_adapter::discovered_alarm(&resource),
                ResourceKind::Table => dynamodb_adapter::discovered(c, &resource).await?,
                ResourceKind::LogGroup => logs_adapter::discovered_group(c, &resource).await?,
                ResourceKind::DeliveryStream => firehose_adapter::discovered(c, &resource).await?,
                // Aliases are found by name below; the other kinds have no adapter yet.
                _ => None,
            };
            if let Some(observed) = observed {
                found.push(Discovered { id, observed });
            }
        }
        found.extend(kms_adapter::discover_aliases(c, stack, &stack_key_ids).await?);
        found.extend(autoscaling_adapter::discover(c, stack).await?);
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    async fn create(&self, spec: &ResourceSpec, ctx: &StepContext) -> Result<Outputs, CloudError> {
        let c = &self.clients;
        match &spec.body {
            SpecBody::KmsKey(key) => kms_adapter::create_key(c, spec, key, ctx).await,
            SpecBody::KmsAlias(alias) => kms_adapter::create_alias(c, spec, alias, ctx).await,
            SpecBody::Bucket(bucket) => s3_adapter::create(c, spec, bucket, ctx).await,
            SpecBody::Queue(_) => sqs_adapter::create(c, spec, ctx).await,
            SpecBody::Topic(topic) => sns_adapter::create(c, spec, topic, ctx).await,
            SpecBody::Alarm(_) => cloudwatch_adapter::create_alarm(c, spec, ctx).await,
            SpecBody::Dashboard(_) => cloudwatch_adapter::create_dashboard(c, spec, ctx).await,
            SpecBody::Table(_) => dynamodb_adapter::create(c, spec, ctx).await,
            SpecBody::LogGroup(_) => logs_adapter::create_group(c, spec, ctx).await,
            SpecBody::SubscriptionFilter(_) => logs_adapter::put_filter(c, spec, ctx).await,
            SpecBody::DeliveryStream(_) => firehose_adapter::create(c, spec, ctx).await,
            SpecBody::RestApi(_) => apigateway_adapter::create_rest_api(c, spec, ctx).await,
            SpecBody::ApiDeployment(_) => apigateway_adapter::create_deployment(c, spec, ctx).await,
            SpecBody::ApiStage(_) => apigateway_adapter::create_stage(c, spec, ctx).await,
            SpecBody::ApiAccount(_) => apigateway_adapter::set_account(c, spec, ctx).await,
            SpecBody::UsagePlan(_) => apigateway_adapter::create_usage_plan(c, spec, ctx).await,
            SpecBody::ApiKey(_) => apigateway_adapter::create_api_key(c, spec, ctx).await,
            SpecBody::UsagePlanKey(_) => {
                apigateway_adapter::create_usage_plan_key(c, spec, ctx).await
            }
            SpecBody::Role(role) => iam_adapter::create(c, spec, role, ctx).await,
            SpecBody::Function(function) => lambda_adapter::create(c, spec, function, ctx).await,
            SpecBody::LambdaAlias(alias) => lambda_alias_adapter::create(c, spec, alias, ctx).await,
            SpecBody::EventInvokeConfig(config) => {
                event_invoke_adapter::create(c, spec, config, ctx).await
            }
            SpecBody::LambdaPermission(permission) => {
                lambda_permission_adapter::create(c, spec, permission, ctx).await
            }
            SpecBody::EventSourceMapping(mapping) => {
                event_source_mapping_adapter::create(c, spec, mapping, ctx).await
            }
            SpecBody::ScalingTarget(target) => {
                autoscaling_adapter::create_target(c, spec, target, ctx).await
            }
            SpecBody::ScalingPolicy(policy) => {
                autoscaling_adapter::put_policy(c, spec, policy, ctx).await
            }
        }
    }

    async fn update(
        &self,
        spec: &ResourceSpec,
        current: &Observed,
        changed: &[String],
        ctx: &StepContext,
    ) -> Result<Outputs, CloudError> {
        let c = &self.clients;
        match &spec.body {
            SpecBody::KmsKey(_) => kms_adapter::update_key(c, spec, current, changed, ctx).await,
            SpecBody::KmsAlias(_) => {
                kms_adapter::update_alias(c, spec, current, changed, ctx).await
            }
            SpecBody::Bucket(_) => s3_adapter::update(c, spec, current, changed, ctx).await,
            SpecBody::Queue(_) => sqs_adapter::update(c, spec, current, changed, ctx).await,
            SpecBody::Table(_) => dynamodb_adapter::update(c, spec, current, changed, ctx).await,
            SpecBody::Topic(_) => sns_adapter::update(c, spec, current, changed, ctx).await,
            SpecBody::Alarm(_) => {
                cloudwatch_adapter::update_alarm(c, spec, current, changed, ctx).await
            }
            SpecBody::Dashboard(_) => {
                cloudwatch_adapter::update_dashboard(c, spec, current, changed, ctx).await
            }
            SpecBody::LogGroup(_) => {
                logs_adapter::update_group(c, spec, current, changed, ctx).await
            }
            SpecBody::SubscriptionFilter(_) => {
                logs_adapter::update_filter(c, spec, current, changed, ctx).await
            }
            SpecBody::DeliveryStream(_) => {
                firehose_adapter::update(c, spec, current, changed, ctx).await
            }
            SpecBody::RestApi(_) => {
                apigateway_adapter::update_rest_api(c, spec, current, changed, ctx).await
            }
            SpecBody::ApiStage(_) => {
                apigateway_adapter::update_stage(c, spec, current, changed, ctx).await
            }
            SpecBody::ApiAccount(_) => apigateway_adapter::set_account(c, spec, ctx).await,
            SpecBody::UsagePlan(_) => {
                apigateway_adapter::update_usage_plan(c, spec, current, changed, ctx).await
            }
            SpecBody::ApiKey(_) => {
                apigateway_adapter::update_api_key(c, spec, current, changed, ctx).await
            }
            SpecBody::Role(_) => iam_adapter::update(c, spec, current, changed, ctx).await,
            SpecBody::Function(function) => {
                lambda_adapter::update(c, spec, function, current, changed, ctx).await
            }
            SpecBody::LambdaAlias(alias) => {
                lambda_alias_adapter::update(c, spec, alias, current, changed, ctx).await
            }
            SpecBody::EventInvokeConfig(config) => {
                event_invoke_adapter::update(c, spec, config, changed, ctx).await
            }
            SpecBody::LambdaPermission(permission) => {
                lambda_permission_adapter::update(c, spec, permission, current, changed, ctx).await
            }
            SpecBody::EventSourceMapping(_) => {
                event_source_mapping_adapter::update(c, spec, current, changed, ctx).await
            }
            SpecBody::ScalingTarget(target) => {
                autoscaling_adapter::update_target(c, spec, target, current, changed, ctx).await
            }
            SpecBody::ScalingPolicy(policy) => {
                autoscaling_adapter::update_policy(c, spec, policy, changed, ctx).await
            }
            body => Err(not_updatable(body.kind())),
        }
    }

    async fn delete(
        &self,
        id: &ResourceId,
        current: &Observed,
        ctx: &StepContext,
    ) -> Result<(), CloudError> {
        let c = &self.clients;
        match id.kind() {
            ResourceKind::KmsKey => kms_adapter::delete_key(c, current, ctx).await,
            ResourceKind::KmsAlias => kms_adapter::delete_alias(c, current).await,
            ResourceKind::Bucket => s3_adapter::delete(c, current).await,
            ResourceKind::Queue => sqs_adapter::delete(c, current).await,
            ResourceKind::Topic => sns_adapter::delete(c, current).await,
            ResourceKind::Alarm => cloudwatch_adapter::delete_alarm(c, current).await,
            ResourceKind::Dashboard => cloudwatch_adapter::delete_dashboard(c, current).await,
            ResourceKind::Table => dynamodb_adapter::delete(c, current, ctx).await,
            ResourceKind::LogGroup => logs_adapter::delete_group(c, current).await,
            ResourceKind::SubscriptionFilter => logs_adapter::delete_filter(c, current).await,
            ResourceKind::DeliveryStream => firehose_adapter::delete(c, current).await,
            ResourceKind::RestApi => apigateway_adapter::delete_rest_api(c, current).await,
            ResourceKind::ApiDeployment => {
                apigateway_adapter::delete_deployment(c, current, ctx).await
            }
            ResourceKind::ApiStage => apigateway_adapter::delete_stage(c, current).await,
            // The account's settings are shared by every API in the region: left as they are.
            ResourceKind::ApiAccount => Ok(()),
            ResourceKind::UsagePlan => apigateway_adapter::delete_usage_plan(c, current).await,
            ResourceKind::ApiKey => apigateway_adapter::delete_api_key(c, current).await,
            ResourceKind::UsagePlanKey => {
                apigateway_adapter::delete_usage_plan_key(c, current).await
            }
            ResourceKind::Role => iam_adapter::delete(c, current).await,
            ResourceKind::Function => lambda_adapter::delete(c, current).await,
            ResourceKind::LambdaAlias => lambda_alias_adapter::delete(c, current).await,
            ResourceKind::EventInvokeConfig => event_invoke_adapter::delete(c, current).await,
            ResourceKind::LambdaPermission => lambda_permission_adapter::delete(c, current).await,
            ResourceKind::EventSourceMapping => {
                event_source_mapping_adapter::delete(c, current).await
            }
            ResourceKind::ScalingTarget => autoscaling_adapter::delete_target(c, current).await,
            ResourceKind::ScalingPolicy => autoscaling_adapter::delete_policy(c, current).await,
        }
    }
}

/// The id a tagged resource claims, if its `txdeploy:logical` tag parses and names the kind
/// its ARN shows (a hand-edited tag on the wrong kind of object is ignored, not deleted).
fn logical_id(resource: &TaggedResource) -> Option<ResourceId> {
    let id: ResourceId = resource.logical()?.parse().ok()?;
    let arn = Arn::parse(&resource.arn)?;
    let matches = match id.kind() {
        ResourceKind::KmsKey => arn.service == "kms" && arn.resource.starts_with("key/"),
        ResourceKind::Bucket => arn.service == "s3",
        ResourceKind::Queue => arn.service == "sqs",
        ResourceKind::Topic => arn.service == "sns",
        ResourceKind::Alarm => arn.service == "cloudwatch" && arn.resource.starts_with("alarm:"),
        ResourceKind::Table => arn.service == "dynamodb" && arn.resource.starts_with("table/"),
        ResourceKind::LogGroup => arn.service == "logs" && arn.resource.starts_with("log-group:"),
        ResourceKind::DeliveryStream => {
            arn.service == "firehose" && arn.resource.starts_with("deliverystream/")
        }
        // Aliases carry no tags; the other kinds have no adapter yet.
        _ => false,
    };
    matches.then_some(id)
}

/// The error for an update of a kind that has no updatable field (deployments and plan
/// keys are replaced): the planner never plans one, so reaching this is a bug.
fn not_updatable(kind: ResourceKind) -> CloudError {
    CloudError::fatal(
        kind.service().as_str(),
        "update",
        format!("`{kind}` has no field that can change in place; this is a txdeploy bug"),
    )
}

/// Resolves a spec value for sending; an unresolved reference is an executor bug (it starts
/// a step only after its dependencies), so it is fatal.
fn resolve(
    value: &Value,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Json, CloudError> {
    value
        .resolve(ctx)
        .map_err(|e| CloudError::fatal(service, operation, e.to_string()))
}

/// The resolved value of one of the spec's fields: what adapters send is exactly what the
/// planner compares against observations.
fn resolved_field(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Json, CloudError> {
    match (spec.fields().get(name), ctx.restored(name)) {
        // An undo writes back the value recorded before the failed apply.
        (Some(_), Some(value)) => Ok(value),
        (Some(f), None) => resolve(&f.value, ctx, service, operation),
        (None, _) => Err(unknown_field(spec, name)),
    }
}

/// A resolved field converted by `convert` (`None`: another JSON type than `expected`, a
/// txdeploy bug reported as such); `Ok(None)` when it is null.
fn resolved_as<T>(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    (service, operation): (&str, &str),
    expected: &str,
    convert: fn(&Json) -> Option<Option<T>>,
) -> Result<Option<T>, CloudError> {
    let value = resolved_field(spec, name, ctx, service, operation)?;
    convert(&value).ok_or_else(|| wrong_shape(spec, name, expected, &value, service, operation))
}

/// A resolved field sent as a string; `None` when it is null (an undo restoring a setting
/// AWS did not report leaves it unset rather than sending a made-up value).
fn resolved_text(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Option<String>, CloudError> {
    resolved_as(spec, name, ctx, (service, operation), "a string", text_of)
}

/// A resolved field sent as an API `i32` (sizes, counts, seconds); `None` when it is null.
fn resolved_i32(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Option<i32>, CloudError> {
    resolved_as(spec, name, ctx, (service, operation), "an integer", i32_of)
}

/// A resolved field sent as an API `f64` (alarm thresholds); `None` when it is null.
fn resolved_f64(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Option<f64>, CloudError> {
    resolved_as(spec, name, ctx, (service, operation), "a number", f64_of)
}

/// A resolved field sent as a boolean (rotation on/off); `None` when it is null.
fn resolved_bool(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Option<bool>, CloudError> {
    resolved_as(spec, name, ctx, (service, operation), "a boolean", bool_of)
}

/// A resolved policy document as the text AWS takes; `None` when it is null (no policy).
/// A recorded document that was not JSON (`parse_document` kept it as a string) is sent
/// as the text it was.
fn resolved_document(
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
    service: &str,
    operation: &str,
) -> Result<Option<String>, CloudError> {
    Ok(document_text(resolved_field(
        spec, name, ctx, service, operation,
    )?))
}

/// The text of a document value: `None` for null, a string as it is, anything else as JSON.
fn document_text(value: Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

/// A resolved object field (a bucket's lifecycle, a policy's target tracking) whose
/// members an adapter reads with the same shape checks as the `resolved_*` functions; a
/// missing member reads as null.
struct Members<'a> {
    spec: &'a ResourceSpec,
    field: &'a str,
    value: &'a Json,
    service: &'a str,
    operation: &'a str,
}

impl<'a> Members<'a> {
    fn of(
        spec: &'a ResourceSpec,
        field: &'a str,
        value: &'a Json,
        service: &'a str,
        operation: &'a str,
    ) -> Self {
        Self {
            spec,
            field,
            value,
            service,
            operation,
        }
    }

    fn get(&self, key: &str) -> &'a Json {
        self.value.get(key).unwrap_or(&Json::Null)
    }

    fn checked<T>(
        &self,
        key: &str,
        expected: &str,
        convert: fn(&Json) -> Option<Option<T>>,
    ) -> Result<Option<T>, CloudError> {
        let value = self.get(key);
        convert(value).ok_or_else(|| {
            let name = format!("{}.{key}", self.field);
            wrong_shape(
                self.spec,
                &name,
                expected,
                value,
                self.service,
                self.operation,
            )
        })
    }

    fn text(&self, key: &str) -> Result<Option<String>, CloudError> {
        self.checked(key, "a string", text_of)
    }

    fn i32(&self, key: &str) -> Result<Option<i32>, CloudError> {
        self.checked(key, "an integer", i32_of)
    }

    fn f64(&self, key: &str) -> Result<Option<f64>, CloudError> {
        self.checked(key, "a number", f64_of)
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, CloudError> {
        self.checked(key, "a boolean", bool_of)
    }
}

/// `Some(None)` for null, `Some(Some(..))` for a value of the type, `None` for another type.
fn text_of(value: &Json) -> Option<Option<String>> {
    match value {
        Json::Null => Some(None),
        Json::String(s) => Some(Some(s.clone())),
        _ => None,
    }
}

fn i32_of(value: &Json) -> Option<Option<i32>> {
    match value {
        Json::Null => Some(None),
        other => other.as_i64().and_then(|n| i32::try_from(n).ok()).map(Some),
    }
}

fn f64_of(value: &Json) -> Option<Option<f64>> {
    match value {
        Json::Null => Some(None),
        other => other.as_f64().map(Some),
    }
}

fn bool_of(value: &Json) -> Option<Option<bool>> {
    match value {
        Json::Null => Some(None),
        other => other.as_bool().map(Some),
    }
}

/// The error for a resolved value of the wrong JSON type: the spec, the observation (an
/// undo's recorded values) and the adapter disagree on a field's shape, a txdeploy bug.
fn wrong_shape(
    spec: &ResourceSpec,
    name: &str,
    expected: &str,
    got: &Json,
    service: &str,
    operation: &str,
) -> CloudError {
    CloudError::fatal(
        service,
        operation,
        format!(
            "`{}`.{name} must be {expected}, not {got}; this is a txdeploy bug",
            spec.id
        ),
    )
}

/// A document AWS returns as a string (policies, redrive policies), parsed so it compares
/// as JSON with the resolved spec; text that is not JSON is kept as a string, so it differs.
fn parse_document(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned()))
}

/// The error for a field name an adapter does not manage: the planner and the adapter
/// disagree on `ResourceSpec::fields()`, which must be fixed in code, not retried.
fn unknown_field(spec: &ResourceSpec, name: &str) -> CloudError {
    CloudError::fatal(
        spec.kind().service().as_str(),
        "update",
        format!(
            "`{}` has no updatable field `{name}`; this is a txdeploy bug",
            spec.id
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::field as field_names;

    #[test]
    fn partitions_follow_the_region_prefix() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("eu-central-2"), "aws");
        assert_eq!(partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn a_logical_tag_counts_only_on_the_kind_of_object_it_names() {
        let tagged = |arn: &str, logical: &str| TaggedResource {
            arn: arn.to_owned(),
            tags: [("txdeploy:logical".to_owned(), logical.to_owned())].into(),
        };
        let key = tagged("arn:aws:kms:us-east-1:1:key/abc", "kms_key/s3");
        assert_eq!(
            logical_id(&key),
            Some(ResourceId::new(ResourceKind::KmsKey, "s3"))
        );
        let queue = tagged(
            "arn:aws:sqs:us-east-1:1:tx-dev-analytics",
            "queue/analytics",
        );
        assert_eq!(
            logical_id(&queue),
            Some(ResourceId::new(ResourceKind::Queue, "analytics"))
        );
        assert_eq!(
            logical_id(&tagged("arn:aws:sns:us-east-1:1:t", "queue/analytics")),
            None
        );
        assert_eq!(logical_id(&tagged("arn:aws:s3:::b", "not an id")), None);
        let table = tagged(
            "arn:aws:dynamodb:us-east-1:1:table/tx-dev-transactions",
            "table/transactions",
        );
        assert_eq!(
            logical_id(&table),
            Some(ResourceId::new(ResourceKind::Table, "transactions"))
        );
        assert_eq!(
            logical_id(&tagged(
                "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
                "queue/analytics"
            )),
            None
        );
    }

    #[test]
    fn object_members_read_null_as_unset_and_name_the_member_of_the_wrong_type() {
        use crate::fake_cloud::fake_environment;
        let config = crate::config::Config::defaults().unwrap();
        let graph = crate::stack::foundation(&config, &fake_environment())
            .check()
            .unwrap();
        let spec = graph
            .get(&ResourceId::new(ResourceKind::Bucket, "logs"))
            .unwrap();
        let value = serde_json::json!({"prefix": "logs/", "glacier_after_days": 7,
            "expire_after_days": null, "enabled": "yes"});
        let members = Members::of(spec, field_names::LIFECYCLE, &value, "s3", "Put");
        assert_eq!(members.text("prefix").unwrap().as_deref(), Some("logs/"));
        assert_eq!(members.i32("glacier_after_days").unwrap(), Some(7));
        assert_eq!(members.i32("expire_after_days").unwrap(), None);
        assert_eq!(members.i32("missing").unwrap(), None);
        let err = members.bool("enabled").unwrap_err();
        assert!(
            err.message.contains("lifecycle.enabled must be a boolean"),
            "{}",
            err.message
        );
        assert!(members.i32("prefix").is_err());
    }

    #[test]
    fn document_text_sends_objects_as_json_and_strings_as_they_are() {
        assert_eq!(document_text(Json::Null), None);
        assert_eq!(
            document_text(serde_json::json!({"a": 1})).as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(
            document_text(Json::String("{oops".into())).as_deref(),
            Some("{oops")
        );
    }

    #[test]
    fn documents_parse_as_json_and_other_text_stays_a_string() {
        assert_eq!(
            parse_document(r#"{"a": [1]}"#),
            serde_json::json!({"a": [1]})
        );
        assert_eq!(parse_document("{oops"), Json::String("{oops".into()));
    }
}
