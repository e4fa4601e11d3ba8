//! `ResourceId` and `ResourceKind`: the names the engine uses for every node of the graph.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The AWS service a resource belongs to; the executor limits concurrency per service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Service {
    #[serde(rename = "kms")]
    Kms,
    #[serde(rename = "s3")]
    S3,
    #[serde(rename = "sqs")]
    Sqs,
    #[serde(rename = "sns")]
    Sns,
    #[serde(rename = "iam")]
    Iam,
    #[serde(rename = "logs")]
    Logs,
    #[serde(rename = "firehose")]
    Firehose,
    #[serde(rename = "dynamodb")]
    DynamoDb,
    #[serde(rename = "application-autoscaling")]
    ApplicationAutoScaling,
    #[serde(rename = "lambda")]
    Lambda,
    #[serde(rename = "apigateway")]
    ApiGateway,
    #[serde(rename = "cloudwatch")]
    CloudWatch,
}

impl Service {
    /// Every service, in display order.
    pub const ALL: [Service; 12] = [
        Service::Kms,
        Service::S3,
        Service::Sqs,
        Service::Sns,
        Service::Iam,
        Service::Logs,
        Service::Firehose,
        Service::DynamoDb,
        Service::ApplicationAutoScaling,
        Service::Lambda,
        Service::ApiGateway,
        Service::CloudWatch,
    ];

    /// The lowercase service name used in messages and per-service limits; it is also the
    /// service's prefix in IAM actions and ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::S3 => "s3",
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Iam => "iam",
            Service::Logs => "logs",
            Service::Firehose => "firehose",
            Service::DynamoDb => "dynamodb",
            Service::ApplicationAutoScaling => "application-autoscaling",
            Service::Lambda => "lambda",
            Service::ApiGateway => "apigateway",
            Service::CloudWatch => "cloudwatch",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of AWS object a node manages. One adapter per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    KmsKey,
    KmsAlias,
    Bucket,
    Queue,
    Topic,
    /// An IAM role with one inline policy.
    Role,
    /// A CloudWatch Logs log group.
    LogGroup,
    /// A log group's subscription filter (to the archive delivery stream).
    SubscriptionFilter,
    /// A Firehose delivery stream writing to S3.
    DeliveryStream,
    /// A DynamoDB table with its global secondary indexes.
    Table,
    /// An Application Auto Scaling scalable target (a table's or index's capacity).
    ScalingTarget,
    /// A target-tracking scaling policy on a scalable target.
    ScalingPolicy,
    /// A Lambda function; each apply that changes it publishes a version.
    Function,
    /// The `live` alias of a function, pointing at its published version.
    LambdaAlias,
    /// How Lambda handles a function's asynchronous invocations (retries, destinations).
    EventInvokeConfig,
    /// An SQS event source mapping that invokes a function's alias.
    EventSourceMapping,
    /// One statement of a function alias's resource policy (API Gateway may invoke it).
    LambdaPermission,
    /// The account's API Gateway settings in the region (the CloudWatch Logs role).
    ApiAccount,
    /// A REST API with its whole definition (resources, models, validators, methods).
    RestApi,
    /// A snapshot of a REST API's definition that a stage serves.
    ApiDeployment,
    /// A REST API stage (tracing, access logs, cache, method settings).
    ApiStage,
    /// A usage plan (throttle, quota) on a stage.
    UsagePlan,
    /// An API key.
    ApiKey,
    /// The membership of an API key in a usage plan.
    UsagePlanKey,
    /// A CloudWatch metric alarm.
    Alarm,
    /// A CloudWatch dashboard.
    Dashboard,
}

impl ResourceKind {
    /// Every kind, in the order used to sort deletions of orphans (dependents first): a kind
    /// comes before every kind it may reference.
    pub const ALL: [ResourceKind; 26] = [
        ResourceKind::Dashboard,
        ResourceKind::Alarm,
        ResourceKind::UsagePlanKey,
        ResourceKind::ApiKey,
        ResourceKind::UsagePlan,
        ResourceKind::ApiStage,
        ResourceKind::ApiDeployment,
        ResourceKind::LambdaPermission,
        ResourceKind::RestApi,
        ResourceKind::ApiAccount,
        ResourceKind::ScalingPolicy,
        ResourceKind::ScalingTarget,
        ResourceKind::EventSourceMapping,
        ResourceKind::EventInvokeConfig,
        ResourceKind::LambdaAlias,
        ResourceKind::Function,
        ResourceKind::SubscriptionFilter,
        ResourceKind::DeliveryStream,
        ResourceKind::LogGroup,
        ResourceKind::Role,
        ResourceKind::Table,
        ResourceKind::Topic,
        ResourceKind::Queue,
        ResourceKind::Bucket,
        ResourceKind::KmsAlias,
        ResourceKind::KmsKey,
    ];

    /// The stable short name used in ids, journals and tags.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::KmsKey => "kms_key",
            ResourceKind::KmsAlias => "kms_alias",
            ResourceKind::Bucket => "bucket",
            ResourceKind::Queue => "queue",
            ResourceKind::Topic => "topic",
            ResourceKind::Role => "role",
            ResourceKind::LogGroup => "log_group",
            ResourceKind::SubscriptionFilter => "subscription_filter",
            ResourceKind::DeliveryStream => "delivery_stream",
            ResourceKind::Table => "table",
            ResourceKind::ScalingTarget => "scaling_target",
            ResourceKind::ScalingPolicy => "scaling_policy",
            ResourceKind::Function => "function",
            ResourceKind::LambdaAlias => "lambda_alias",
            ResourceKind::EventInvokeConfig => "event_invoke_config",
            ResourceKind::EventSourceMapping => "event_source_mapping",
            ResourceKind::LambdaPermission => "lambda_permission",
            ResourceKind::ApiAccount => "api_account",
            ResourceKind::RestApi => "rest_api",
            ResourceKind::ApiDeployment => "api_deployment",
            ResourceKind::ApiStage => "api_stage",
            ResourceKind::UsagePlan => "usage_plan",
            ResourceKind::ApiKey => "api_key",
            ResourceKind::UsagePlanKey => "usage_plan_key",
            ResourceKind::Alarm => "alarm",
            ResourceKind::Dashboard => "dashboard",
        }
    }

    /// The service whose API manages this kind.
    pub fn service(self) -> Service {
        match self {
            ResourceKind::KmsKey | ResourceKind::KmsAlias => Service::Kms,
            ResourceKind::Bucket => Service::S3,
            ResourceKind::Queue => Service::Sqs,
            ResourceKind::Topic => Service::Sns,
            ResourceKind::Role => Service::Iam,
            ResourceKind::LogGroup | ResourceKind::SubscriptionFilter => Service::Logs,
            ResourceKind::DeliveryStream => Service::Firehose,
            ResourceKind::Table => Service::DynamoDb,
            ResourceKind::ScalingTarget | ResourceKind::ScalingPolicy => {
                Service::ApplicationAutoScaling
            }
            ResourceKind::Function
            | ResourceKind::LambdaAlias
            | ResourceKind::EventInvokeConfig
            | ResourceKind::EventSourceMapping
            | ResourceKind::LambdaPermission => Service::Lambda,
            ResourceKind::ApiAccount
            | ResourceKind::RestApi
            | ResourceKind::ApiDeployment
            | ResourceKind::ApiStage
            | ResourceKind::UsagePlan
            | ResourceKind::ApiKey
            | ResourceKind::UsagePlanKey => Service::ApiGateway,
            ResourceKind::Alarm | ResourceKind::Dashboard => Service::CloudWatch,
        }
    }

    /// Whether deleting or replacing this kind can lose data (keys, buckets, queues, tables).
    ///
    /// Such resources are kept by `destroy` and never replaced without an explicit flag.
    pub fn is_data_bearing(self) -> bool {
        matches!(
            self,
            ResourceKind::KmsKey | ResourceKind::Bucket | ResourceKind::Queue | ResourceKind::Table
        )
    }

    /// Whether AWS lets this kind carry tags; the spec of a taggable kind has a `tags` field.
    ///
    /// Aliases, subscription filters, scaling policies, event-invoke configs, permissions,
    /// deployments, plan keys, the account settings and dashboards have no tags in AWS.
    pub fn is_taggable(self) -> bool {
        !matches!(
            self,
            ResourceKind::KmsAlias
                | ResourceKind::SubscriptionFilter
                | ResourceKind::ScalingPolicy
                | ResourceKind::LambdaAlias
                | ResourceKind::EventInvokeConfig
                | ResourceKind::LambdaPermission
                | ResourceKind::ApiAccount
                | ResourceKind::ApiDeployment
                | ResourceKind::UsagePlanKey
                | ResourceKind::Dashboard
        )
    }

    /// Whether the spec's `tags` field is compared with what AWS holds (a taggable kind
    /// always carries the stack's tags; this says whether their drift is planned).
    ///
    /// Scalable targets get their tags once, at registration, and are not compared: they
    /// are found by namespace, resource and dimension, never by tag, so comparing would
    /// cost a `ListTagsForResource` per target for tags nothing reads (and moto answers
    /// that call, and `TagResource`, with HTTP 500).
    pub fn compares_tags(self) -> bool {
        self.is_taggable() && self != ResourceKind::ScalingTarget
    }

    /// Outputs an in-place update can change (a Lambda function publishes a new version).
    ///
    /// The planner treats them as known only after apply, so a dependent that reads one
    /// (the `live` alias reads the version) is updated in the same apply instead of the next.
    pub fn outputs_changed_by_update(self) -> &'static [crate::spec::OutputKey] {
        match self {
            // Every configuration or code update publishes a new version.
            ResourceKind::Function => &[crate::spec::OutputKey::Version],
            _ => &[],
        }
    }

    /// Position in which orphans of this kind are deleted (lower first).
    pub fn delete_rank(self) -> usize {
        Self::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown resource kind `{s}`"))
    }
}

/// A node's identity: its kind and its logical name within the stack, shown as `kind/logical`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    kind: ResourceKind,
    logical: String,
}

impl ResourceId {
    /// Builds an id; the logical name is lowercase letters, digits and `-`.
    pub fn new(kind: ResourceKind, logical: impl Into<String>) -> Self {
        Self {
            kind,
            logical: logical.into(),
        }
    }

    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    pub fn logical(&self) -> &str {
        &self.logical
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.logical)
    }
}

impl FromStr for ResourceId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, logical) = s
            .split_once('/')
            .ok_or_else(|| format!("resource id `{s}` is not of the form `kind/logical`"))?;
        if logical.is_empty()
            || !logical
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "resource id `{s}`: the logical name must be lowercase letters, digits and `-`"
            ));
        }
        Ok(Self::new(kind.parse()?, logical))
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_and_parses_from_its_name() {
        for kind in ResourceKind::ALL {
            assert_eq!(kind.as_str().parse::<ResourceKind>(), Ok(kind));
            assert_eq!(ResourceKind::ALL.iter().filter(|k| **k == kind).count(), 1);
            assert!(Service::ALL.contains(&kind.service()));
        }
    }

    #[test]
    fn service_names_are_the_iam_prefixes_and_serialize_as_such() {
        for service in Service::ALL {
            let json = serde_json::to_value(service).unwrap();
            assert_eq!(json, serde_json::Value::from(service.as_str()));
        }
        assert_eq!(Service::DynamoDb.as_str(), "dynamodb");
    }

    #[test]
    fn orphans_are_deleted_before_what_they_reference() {
        use ResourceKind as K;
        let before = |a: K, b: K| a.delete_rank() < b.delete_rank();
        assert!(before(K::LambdaPermission, K::RestApi));
        assert!(before(K::RestApi, K::LambdaAlias));
        assert!(before(K::LambdaAlias, K::Function));
        assert!(before(K::Function, K::Role));
        assert!(before(K::Function, K::LogGroup));
        assert!(before(K::SubscriptionFilter, K::DeliveryStream));
        assert!(before(K::ScalingPolicy, K::ScalingTarget));
        assert!(before(K::ScalingTarget, K::Table));
        assert!(before(K::Role, K::Table));
        assert!(before(K::Table, K::KmsKey));
        assert!(before(K::Alarm, K::Topic));
    }

    #[test]
    fn id_round_trips_through_its_display_form() {
        let id = ResourceId::new(ResourceKind::Queue, "analytics-dlq");
        assert_eq!(id.to_string(), "queue/analytics-dlq");
        assert_eq!("queue/analytics-dlq".parse::<ResourceId>(), Ok(id));
    }

    #[test]
    fn malformed_ids_are_rejected_with_the_reason() {
        assert!(
            "queue"
                .parse::<ResourceId>()
                .unwrap_err()
                .contains("kind/logical")
        );
        assert!(
            "lambda/x"
                .parse::<ResourceId>()
                .unwrap_err()
                .contains("unknown resource kind")
        );
        assert_eq!(
            "lambda_alias/transaction-validator".parse::<ResourceId>(),
            Ok(ResourceId::new(
                ResourceKind::LambdaAlias,
                "transaction-validator"
            ))
        );
        assert!(
            "queue/Bad_Name"
                .parse::<ResourceId>()
                .unwrap_err()
                .contains("lowercase")
        );
    }
}
