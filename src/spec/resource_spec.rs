//! `ResourceSpec`: the typed desired state of one AWS object, and its uniform field view.
//!
//! Each kind has its own struct with typed settings (in [`super::kinds`], one file per
//! service); `fields()` turns it into the named, comparable fields the planner diffs against
//! what the adapters observe. Adapters read the typed struct; the planner and reporters read
//! the fields. The field names live in [`field`] so adapters report exactly the same names.

use std::collections::BTreeMap;

use serde::Serialize;

use super::kinds::apigateway::{
    ApiAccountSpec, ApiDeploymentSpec, ApiKeySpec, ApiStageSpec, RestApiSpec, UsagePlanKeySpec,
    UsagePlanSpec,
};
use super::kinds::autoscaling::{ScalingPolicySpec, ScalingTargetSpec};
use super::kinds::cloudwatch::{AlarmSpec, DashboardSpec};
use super::kinds::dynamodb::TableSpec;
use super::kinds::firehose::DeliveryStreamSpec;
use super::kinds::iam::RoleSpec;
use super::kinds::kms::{KmsAliasSpec, KmsKeySpec};
use super::kinds::lambda::{
    EventInvokeConfigSpec, EventSourceMappingSpec, FunctionSpec, LambdaAliasSpec,
    LambdaPermissionSpec,
};
use super::kinds::logs::{LogGroupSpec, SubscriptionFilterSpec};
use super::kinds::s3::BucketSpec;
use super::kinds::sns::TopicSpec;
use super::kinds::sqs::QueueSpec;
use super::resource_id::{ResourceId, ResourceKind};
use super::value::Value;

/// What changing a field costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// Updated in place.
    Update,
    /// AWS cannot change it in place: the resource is replaced, for the reason given.
    Replace(&'static str),
    /// Changed in place, but only by uploading a package (a function's code): the apply
    /// uploads the embedded one and publishes a version. An undo cannot write the previous
    /// value back (the embedded package is the only one there is to upload); that value
    /// lives on in the published version the resource's alias served, so the undo restores
    /// it by moving the alias back (`ResourceSpec::serves_versions_of`).
    Upload,
}

/// One named desired setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub value: Value,
    pub on_change: OnChange,
}

/// The comparable view of a spec, by field name.
pub type Fields = BTreeMap<&'static str, Field>;

/// A field changed in place.
pub(crate) fn update(value: impl Into<Value>) -> Field {
    Field {
        value: value.into(),
        on_change: OnChange::Update,
    }
}

/// A field only an upload changes (`OnChange::Upload`).
pub(crate) fn upload(value: impl Into<Value>) -> Field {
    Field {
        value: value.into(),
        on_change: OnChange::Upload,
    }
}

/// A field whose change replaces the resource, for `reason` (shown in the plan).
pub(crate) fn replace(value: impl Into<Value>, reason: &'static str) -> Field {
    Field {
        value: value.into(),
        on_change: OnChange::Replace(reason),
    }
}

/// `Some(v)` as its value, `None` as null (a setting that must be absent in AWS).
pub(crate) fn optional<T: Into<Value>>(value: Option<T>) -> Value {
    value.map_or(Value::Null, Into::into)
}

/// The kind-specific part of a spec.
#[derive(Clone, Debug, PartialEq)]
pub enum SpecBody {
    KmsKey(KmsKeySpec),
    KmsAlias(KmsAliasSpec),
    Bucket(BucketSpec),
    Queue(QueueSpec),
    Topic(TopicSpec),
    Role(RoleSpec),
    LogGroup(LogGroupSpec),
    SubscriptionFilter(SubscriptionFilterSpec),
    DeliveryStream(DeliveryStreamSpec),
    Table(TableSpec),
    ScalingTarget(ScalingTargetSpec),
    ScalingPolicy(ScalingPolicySpec),
    Function(FunctionSpec),
    LambdaAlias(LambdaAliasSpec),
    EventInvokeConfig(EventInvokeConfigSpec),
    EventSourceMapping(EventSourceMappingSpec),
    LambdaPermission(LambdaPermissionSpec),
    ApiAccount(ApiAccountSpec),
    RestApi(RestApiSpec),
    ApiDeployment(ApiDeploymentSpec),
    ApiStage(ApiStageSpec),
    UsagePlan(UsagePlanSpec),
    ApiKey(ApiKeySpec),
    UsagePlanKey(UsagePlanKeySpec),
    Alarm(AlarmSpec),
    Dashboard(DashboardSpec),
}

impl SpecBody {
    pub fn kind(&self) -> ResourceKind {
        match self {
            SpecBody::KmsKey(_) => ResourceKind::KmsKey,
            SpecBody::KmsAlias(_) => ResourceKind::KmsAlias,
            SpecBody::Bucket(_) => ResourceKind::Bucket,
            SpecBody::Queue(_) => ResourceKind::Queue,
            SpecBody::Topic(_) => ResourceKind::Topic,
            SpecBody::Role(_) => ResourceKind::Role,
            SpecBody::LogGroup(_) => ResourceKind::LogGroup,
            SpecBody::SubscriptionFilter(_) => ResourceKind::SubscriptionFilter,
            SpecBody::DeliveryStream(_) => ResourceKind::DeliveryStream,
            SpecBody::Table(_) => ResourceKind::Table,
            SpecBody::ScalingTarget(_) => ResourceKind::ScalingTarget,
            SpecBody::ScalingPolicy(_) => ResourceKind::ScalingPolicy,
            SpecBody::Function(_) => ResourceKind::Function,
            SpecBody::LambdaAlias(_) => ResourceKind::LambdaAlias,
            SpecBody::EventInvokeConfig(_) => ResourceKind::EventInvokeConfig,
            SpecBody::EventSourceMapping(_) => ResourceKind::EventSourceMapping,
            SpecBody::LambdaPermission(_) => ResourceKind::LambdaPermission,
            SpecBody::ApiAccount(_) => ResourceKind::ApiAccount,
            SpecBody::RestApi(_) => ResourceKind::RestApi,
            SpecBody::ApiDeployment(_) => ResourceKind::ApiDeployment,
            SpecBody::ApiStage(_) => ResourceKind::ApiStage,
            SpecBody::UsagePlan(_) => ResourceKind::UsagePlan,
            SpecBody::ApiKey(_) => ResourceKind::ApiKey,
            SpecBody::UsagePlanKey(_) => ResourceKind::UsagePlanKey,
            SpecBody::Alarm(_) => ResourceKind::Alarm,
            SpecBody::Dashboard(_) => ResourceKind::Dashboard,
        }
    }

    /// The field that holds the physical name, for kinds whose name AWS cannot change (a new
    /// name replaces the resource), with the reason shown in the plan.
    fn name_field(&self) -> Option<(&'static str, &'static str)> {
        match self {
            SpecBody::Function(_) => {
                Some((field::FUNCTION_NAME, "a Lambda function cannot be renamed"))
            }
            SpecBody::Table(_) => Some((field::TABLE_NAME, "a DynamoDB table cannot be renamed")),
            SpecBody::ApiStage(_) => Some((field::STAGE_NAME, "a stage cannot be renamed")),
            _ => None,
        }
    }

    /// Adds the kind's own fields (everything but `tags` and the name).
    fn add_fields(&self, fields: &mut Fields) {
        match self {
            SpecBody::KmsKey(s) => s.add_fields(fields),
            SpecBody::KmsAlias(s) => s.add_fields(fields),
            SpecBody::Bucket(s) => s.add_fields(fields),
            SpecBody::Queue(s) => s.add_fields(fields),
            SpecBody::Topic(s) => s.add_fields(fields),
            SpecBody::Role(s) => s.add_fields(fields),
            SpecBody::LogGroup(s) => s.add_fields(fields),
            SpecBody::SubscriptionFilter(s) => s.add_fields(fields),
            SpecBody::DeliveryStream(s) => s.add_fields(fields),
            SpecBody::Table(s) => s.add_fields(fields),
            SpecBody::ScalingTarget(s) => s.add_fields(fields),
            SpecBody::ScalingPolicy(s) => s.add_fields(fields),
            SpecBody::Function(s) => s.add_fields(fields),
            SpecBody::LambdaAlias(s) => s.add_fields(fields),
            SpecBody::EventInvokeConfig(s) => s.add_fields(fields),
            SpecBody::EventSourceMapping(s) => s.add_fields(fields),
            SpecBody::LambdaPermission(s) => s.add_fields(fields),
            SpecBody::ApiAccount(s) => s.add_fields(fields),
            SpecBody::RestApi(s) => s.add_fields(fields),
            SpecBody::ApiDeployment(s) => s.add_fields(fields),
            SpecBody::ApiStage(s) => s.add_fields(fields),
            SpecBody::UsagePlan(s) => s.add_fields(fields),
            SpecBody::ApiKey(s) => s.add_fields(fields),
            SpecBody::UsagePlanKey(s) => s.add_fields(fields),
            SpecBody::Alarm(s) => s.add_fields(fields),
            SpecBody::Dashboard(s) => s.add_fields(fields),
        }
    }
}

/// The desired state of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSpec {
    pub id: ResourceId,
    /// The name in AWS, `{prefix}-{env}-{logical}` (or `alias/...` for aliases, the log group
    /// path for log groups; see each kind's documentation).
    pub physical_name: String,
    /// `txdeploy:stack`, `txdeploy:logical` and the user's tags (empty for kinds AWS cannot
    /// tag).
    pub tags: BTreeMap<String, String>,
    pub body: SpecBody,
    /// Ordering edges AWS needs beyond the references in the body.
    pub depends_on: Vec<ResourceId>,
}

/// Field names shared by specs and adapters' observations, grouped by the kinds using them.
///
/// An adapter reports an observed object with exactly these names and the JSON shapes the
/// spec's values resolve to; the shapes are documented on each kind's `add_fields`.
pub mod field {
    /// Every taggable kind: a JSON object of tag key to value.
    pub const TAGS: &str = "tags";
    pub const DESCRIPTION: &str = "description";

    // KMS
    pub const ROTATION_ENABLED: &str = "rotation_enabled";
    pub const ROTATION_PERIOD_DAYS: &str = "rotation_period_days";
    pub const KEY_POLICY: &str = "key_policy";
    pub const TARGET_KEY_ID: &str = "target_key_id";

    // S3
    pub const VERSIONING: &str = "versioning";
    pub const ENCRYPTION: &str = "encryption";
    pub const PUBLIC_ACCESS_BLOCK: &str = "public_access_block";
    pub const BUCKET_POLICY: &str = "bucket_policy";
    pub const LIFECYCLE: &str = "lifecycle";

    // SQS and SNS
    pub const KMS_MASTER_KEY_ID: &str = "kms_master_key_id";
    pub const VISIBILITY_TIMEOUT: &str = "visibility_timeout_seconds";
    pub const MESSAGE_RETENTION: &str = "message_retention_seconds";
    pub const REDRIVE_POLICY: &str = "redrive_policy";
    pub const EMAIL_SUBSCRIPTION: &str = "email_subscription";

    // IAM role
    pub const ASSUME_ROLE_POLICY: &str = "assume_role_policy";
    pub const INLINE_POLICY: &str = "inline_policy";

    // CloudWatch Logs
    pub const RETENTION_IN_DAYS: &str = "retention_in_days";
    pub const KMS_KEY_ID: &str = "kms_key_id";
    pub const LOG_GROUP_NAME: &str = "log_group_name";
    pub const FILTER_PATTERN: &str = "filter_pattern";
    pub const DESTINATION_ARN: &str = "destination_arn";
    pub const ROLE_ARN: &str = "role_arn";

    // Firehose
    pub const STREAM_TYPE: &str = "stream_type";
    pub const S3_DESTINATION: &str = "s3_destination";

    // DynamoDB
    pub const TABLE_NAME: &str = "table_name";
    pub const KEY_SCHEMA: &str = "key_schema";
    pub const GLOBAL_SECONDARY_INDEXES: &str = "global_secondary_indexes";
    pub const BILLING_MODE: &str = "billing_mode";
    pub const SSE: &str = "sse";
    pub const POINT_IN_TIME_RECOVERY: &str = "point_in_time_recovery";
    pub const DELETION_PROTECTION: &str = "deletion_protection";
    pub const TTL: &str = "ttl";

    // Application Auto Scaling
    pub const SERVICE_NAMESPACE: &str = "service_namespace";
    pub const RESOURCE_ID: &str = "resource_id";
    pub const SCALABLE_DIMENSION: &str = "scalable_dimension";
    pub const MIN_CAPACITY: &str = "min_capacity";
    pub const MAX_CAPACITY: &str = "max_capacity";
    pub const POLICY_TYPE: &str = "policy_type";
    pub const TARGET_TRACKING: &str = "target_tracking";

    // Lambda
    pub const FUNCTION_NAME: &str = "function_name";
    pub const RUNTIME: &str = "runtime";
    pub const ARCHITECTURES: &str = "architectures";
    pub const HANDLER: &str = "handler";
    pub const MEMORY_SIZE: &str = "memory_size";
    pub const TIMEOUT: &str = "timeout";
    pub const ENVIRONMENT: &str = "environment";
    pub const TRACING_MODE: &str = "tracing_mode";
    pub const ROLE: &str = "role";
    pub const LOGGING_CONFIG: &str = "logging_config";
    pub const RESERVED_CONCURRENCY: &str = "reserved_concurrency";
    pub const CODE_SHA256: &str = "code_sha256";
    pub const FUNCTION_VERSION: &str = "function_version";
    pub const PROVISIONED_CONCURRENCY: &str = "provisioned_concurrency";
    /// A Lambda alias's extra weighted versions: `{"7": 0.1}`, null when it has none.
    pub const ROUTING: &str = "routing";
    pub const QUALIFIER: &str = "qualifier";
    pub const MAXIMUM_RETRY_ATTEMPTS: &str = "maximum_retry_attempts";
    pub const MAXIMUM_EVENT_AGE: &str = "maximum_event_age_in_seconds";
    pub const DESTINATION_CONFIG: &str = "destination_config";
    pub const EVENT_SOURCE_ARN: &str = "event_source_arn";
    pub const BATCH_SIZE: &str = "batch_size";
    pub const MAXIMUM_BATCHING_WINDOW: &str = "maximum_batching_window_in_seconds";
    pub const FUNCTION_RESPONSE_TYPES: &str = "function_response_types";
    pub const ENABLED: &str = "enabled";
    pub const STATEMENT_ID: &str = "statement_id";
    pub const ACTION: &str = "action";
    pub const PRINCIPAL: &str = "principal";
    pub const SOURCE_ARN: &str = "source_arn";
    pub const SOURCE_ACCOUNT: &str = "source_account";

    // API Gateway
    pub const CLOUDWATCH_ROLE_ARN: &str = "cloudwatch_role_arn";
    pub const API_NAME: &str = "name";
    pub const ENDPOINT_TYPES: &str = "endpoint_types";
    pub const API_KEY_SOURCE: &str = "api_key_source";
    pub const RESOURCES: &str = "resources";
    pub const MODELS: &str = "models";
    pub const REQUEST_VALIDATORS: &str = "request_validators";
    pub const METHODS: &str = "methods";
    pub const GATEWAY_RESPONSES: &str = "gateway_responses";
    pub const REST_API_ID: &str = "rest_api_id";
    pub const DEFINITION_SHA256: &str = "definition_sha256";
    pub const STAGE_NAME: &str = "stage_name";
    pub const DEPLOYMENT_ID: &str = "deployment_id";
    pub const TRACING_ENABLED: &str = "tracing_enabled";
    pub const ACCESS_LOG_SETTINGS: &str = "access_log_settings";
    pub const CACHE_CLUSTER: &str = "cache_cluster";
    pub const METHOD_SETTINGS: &str = "method_settings";
    pub const THROTTLE: &str = "throttle";
    pub const QUOTA: &str = "quota";
    pub const API_STAGES: &str = "api_stages";
    pub const USAGE_PLAN_ID: &str = "usage_plan_id";
    pub const KEY_ID: &str = "key_id";
    pub const KEY_TYPE: &str = "key_type";

    // CloudWatch
    pub const ALARM_DESCRIPTION: &str = "alarm_description";
    pub const METRIC: &str = "metric";
    pub const COMPARISON_OPERATOR: &str = "comparison_operator";
    pub const THRESHOLD: &str = "threshold";
    pub const EVALUATION_PERIODS: &str = "evaluation_periods";
    pub const DATAPOINTS_TO_ALARM: &str = "datapoints_to_alarm";
    pub const TREAT_MISSING_DATA: &str = "treat_missing_data";
    pub const ALARM_ACTIONS: &str = "alarm_actions";
    pub const OK_ACTIONS: &str = "ok_actions";
    pub const DASHBOARD_BODY: &str = "dashboard_body";
}

impl ResourceSpec {
    pub fn kind(&self) -> ResourceKind {
        self.id.kind()
    }

    /// The comparable fields of this spec; adapters observe the same names.
    pub fn fields(&self) -> Fields {
        let mut fields = Fields::new();
        if self.kind().compares_tags() {
            fields.insert(
                field::TAGS,
                update(Value::map(
                    self.tags
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::str(v.clone()))),
                )),
            );
        }
        if let Some((name, reason)) = self.body.name_field() {
            fields.insert(name, replace(self.physical_name.as_str(), reason));
        }
        self.body.add_fields(&mut fields);
        fields
    }

    /// The resource whose published versions this spec points at (a function's alias), if
    /// any: what brings a resource's uploaded fields (`OnChange::Upload`) back in an undo.
    pub fn serves_versions_of(&self) -> Option<&ResourceId> {
        match &self.body {
            SpecBody::LambdaAlias(alias) => Some(&alias.version.resource),
            _ => None,
        }
    }

    /// Every resource this spec must wait for: its references plus explicit edges.
    pub fn dependencies(&self) -> Vec<ResourceId> {
        let mut refs = Vec::new();
        for field in self.fields().values() {
            field.value.references(&mut refs);
        }
        let mut deps: Vec<ResourceId> = refs.into_iter().map(|r| r.resource).collect();
        deps.extend(self.depends_on.iter().cloned());
        deps.sort();
        deps.dedup();
        deps
    }
}
