//! Desired state: typed resource specs, the values and references inside them, and the
//! dependency graph derived from those references.

pub mod kinds;
pub mod resource_graph;
pub mod resource_id;
pub mod resource_spec;
pub mod value;

pub use kinds::apigateway::{
    ApiAccountSpec, ApiDefinition, ApiDeploymentSpec, ApiIntegration, ApiKeySpec, ApiMethod,
    ApiModel, ApiStageSpec, GatewayResponse, MethodSetting, RequestValidator, RestApiSpec,
    UsagePlanKeySpec, UsagePlanSpec,
};
pub use kinds::autoscaling::{ScalingPolicySpec, ScalingTargetSpec};
pub use kinds::cloudwatch::{
    AlarmMetric, AlarmSpec, DashboardSpec, MetricQuery, MetricStat, QueryBody, Statistic,
};
pub use kinds::dynamodb::{BillingMode, GsiSpec, InitialCapacity, KeyAttribute, TableSpec};
pub use kinds::firehose::DeliveryStreamSpec;
pub use kinds::iam::RoleSpec;
pub use kinds::kms::{KmsAliasSpec, KmsKeySpec};
pub use kinds::lambda::{
    EventInvokeConfigSpec, EventSourceMappingSpec, FunctionSpec, LambdaAliasSpec,
    LambdaPermissionSpec,
};
pub use kinds::logs::{LogGroupSpec, SubscriptionFilterSpec};
pub use kinds::s3::{BucketSpec, LifecycleSpec};
pub use kinds::sns::TopicSpec;
pub use kinds::sqs::{QueueSpec, RedriveSpec};
pub use resource_graph::{CheckedGraph, GraphError, ResourceGraph};
pub use resource_id::{ResourceId, ResourceKind, Service};
pub use resource_spec::{Field, Fields, OnChange, ResourceSpec, SpecBody, field};
pub use value::{
    EnvFact, Environment, OutputKey, OutputRef, OutputTable, Outputs, Resolve, Unresolved, Value,
};
