//! `stack::build`: the desired resource graph of the transaction stack, as plain functions of
//! the config, the target environment and the inputs only known at run time (the Lambda
//! bundle, the account's concurrency limit). STACK.md is the spec these functions follow.
//!
//! One file per part of the stack, in the order they are built:
//! - [`security`]: the customer-managed KMS keys and their aliases.
//! - [`storage`]: the log-archive bucket.
//! - [`messaging`]: the work queues, their dead-letter queues, the failure destination and
//!   the topics.
//! - [`data`]: the transactions table and, when provisioned, its auto scaling.
//! - [`logs`]: log groups, the archive delivery stream and the subscription filters.
//! - [`functions`]: the four functions with their roles, `live` aliases, the async-invoke
//!   config and the SQS event source mappings.
//! - [`api`]: the REST API, its permissions, deployment, stage, usage plan and key.
//! - [`monitoring`]: the alarms; [`dashboard`]: the dashboard body.
//! - [`iam_policies`]: every trust and inline policy document, and `validate_policy`.
//!
//! Every cross-resource value is a typed reference (`OutputRef`), so dependencies come from
//! the references; explicit `depends_on` edges exist only where AWS needs an order the
//! references do not give, each with a comment saying why.

pub mod api;
pub mod dashboard;
pub mod data;
pub mod functions;
pub mod iam_policies;
pub mod logs;
pub mod messaging;
pub mod monitoring;
pub mod security;
pub mod storage;

#[cfg(test)]
mod emulator_gaps;
#[cfg(test)]
mod tests;

use crate::config::{Config, LambdaConfig};
use crate::spec::{
    EnvFact, Environment, ResourceGraph, ResourceId, ResourceKind, ResourceSpec, SpecBody, Value,
};

/// Tag that names the stack on every taggable resource.
pub const STACK_TAG: &str = "txdeploy:stack";
/// Tag that names the resource's id (`kind/logical`) within the stack.
pub const LOGICAL_TAG: &str = "txdeploy:logical";

/// The logical names of the customer-managed keys (`sqs` also encrypts SNS).
pub const KEYS: [&str; 4] = ["s3", "dynamodb", "sqs", "logs"];
/// Queues that carry work off the request path, each with its own dead-letter queue.
pub const WORK_QUEUES: [&str; 2] = ["analytics", "reporting"];
/// The on-failure destination of the asynchronously invoked notification handler.
pub const NOTIFICATION_FAILURES_QUEUE: &str = "notification-failures";
/// The CloudWatch namespace of the handlers' Embedded Metric Format metrics.
pub const METRICS_NAMESPACE: &str = "TxDeploy";
/// The runtime of every function: the bundle's `bootstrap` is a native binary.
pub const LAMBDA_RUNTIME: &str = "provided.al2023";
/// Lambda's `Handler`; `provided.al2023` runs `bootstrap` and ignores it, but it is required.
pub const LAMBDA_HANDLER: &str = "bootstrap";
/// The variable that tells the one `bootstrap` which handler a function runs.
pub const HANDLER_ENV_VAR: &str = "TXDEPLOY_HANDLER";
/// The alias every function is invoked through; moving it is a release or a rollback.
pub const LIVE_ALIAS: &str = "live";
/// The table's logical name.
pub const TABLE: &str = "transactions";
/// The table's index for lookups by merchant and date range.
pub const MERCHANT_DATE_INDEX: &str = "merchant-date-index";
/// The account concurrency limit assumed when the account's real one could not be read.
pub const DEFAULT_ACCOUNT_CONCURRENCY_LIMIT: u32 = 1000;

/// The four functions; one bundle serves all of them, `TXDEPLOY_HANDLER` selects one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Handler {
    /// `POST /transactions`, `GET /transactions/{id}` and the merchant listing (synchronous).
    TransactionValidator,
    /// Publishes to the notifications topic (invoked asynchronously).
    NotificationHandler,
    /// Consumes the `analytics` queue.
    AnalyticsProcessor,
    /// Consumes the `reporting` queue.
    ReportingProcessor,
}

impl Handler {
    pub const ALL: [Handler; 4] = [
        Handler::TransactionValidator,
        Handler::NotificationHandler,
        Handler::AnalyticsProcessor,
        Handler::ReportingProcessor,
    ];

    /// The logical name of the function (and of its role, log group and alias), also the
    /// value of `TXDEPLOY_HANDLER`.
    pub fn logical(self) -> &'static str {
        match self {
            Handler::TransactionValidator => "transaction-validator",
            Handler::NotificationHandler => "notification-handler",
            Handler::AnalyticsProcessor => "analytics-processor",
            Handler::ReportingProcessor => "reporting-processor",
        }
    }

    /// The work queue this function consumes, for the two processors.
    pub fn consumed_queue(self) -> Option<&'static str> {
        match self {
            Handler::AnalyticsProcessor => Some(WORK_QUEUES[0]),
            Handler::ReportingProcessor => Some(WORK_QUEUES[1]),
            Handler::TransactionValidator | Handler::NotificationHandler => None,
        }
    }

    /// Memory in MB, from `[lambda]`.
    pub fn memory_mb(self, lambda: &LambdaConfig) -> u32 {
        match self {
            Handler::TransactionValidator => lambda.validator_memory_mb,
            Handler::NotificationHandler => lambda.notification_memory_mb,
            Handler::AnalyticsProcessor => lambda.analytics_memory_mb,
            Handler::ReportingProcessor => lambda.reporting_memory_mb,
        }
    }

    /// Timeout in seconds, from `[lambda]`.
    pub fn timeout_seconds(self, lambda: &LambdaConfig) -> u32 {
        match self {
            Handler::TransactionValidator => lambda.validator_timeout_seconds,
            Handler::NotificationHandler => lambda.notification_timeout_seconds,
            Handler::AnalyticsProcessor => lambda.analytics_timeout_seconds,
            Handler::ReportingProcessor => lambda.reporting_timeout_seconds,
        }
    }

    /// The id of the function's spec.
    pub fn function_id(self) -> ResourceId {
        ResourceId::new(ResourceKind::Function, self.logical())
    }

    /// The id of the function's `live` alias.
    pub fn alias_id(self) -> ResourceId {
        ResourceId::new(ResourceKind::LambdaAlias, self.logical())
    }

    /// The id of the function's role.
    pub fn role_id(self) -> ResourceId {
        ResourceId::new(ResourceKind::Role, self.logical())
    }

    /// The id of the function's log group.
    pub fn log_group_id(self) -> ResourceId {
        ResourceId::new(ResourceKind::LogGroup, self.logical())
    }
}

/// The Lambda deployment package the functions run: what `stack::build` needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleInfo {
    /// sha256 of the zip, standard base64: Lambda's `CodeSha256` for this code.
    pub code_sha256: String,
    /// `x86_64` or `arm64`, read from the bundle (never guessed).
    pub architecture: String,
}

impl BundleInfo {
    /// The bundle `build.rs` embedded in this binary.
    pub fn embedded() -> BundleInfo {
        let bundle = crate::bundle::embedded();
        BundleInfo {
            code_sha256: bundle.code_sha256.to_owned(),
            architecture: bundle.architecture.as_lambda_str().to_owned(),
        }
    }
}

/// What the graph depends on besides the config and the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackInputs {
    pub bundle: BundleInfo,
    /// The account's Lambda concurrency limit (`GetAccountSettings`); `None` when it could
    /// not be read: the concurrency alarm then assumes 1000 and says so.
    pub account_concurrency_limit: Option<u32>,
}

/// Builds the whole desired graph.
pub fn build(config: &Config, env: &Environment, inputs: &StackInputs) -> ResourceGraph {
    let b = Builder {
        config,
        env,
        inputs,
    };
    let mut graph = ResourceGraph::new();
    security::add(&b, &mut graph);
    storage::add(&b, &mut graph);
    messaging::add(&b, &mut graph);
    data::add(&b, &mut graph);
    logs::add(&b, &mut graph);
    functions::add(&b, &mut graph);
    api::add(&b, &mut graph);
    monitoring::add(&b, &mut graph);
    graph
}

/// Inputs for tests: a made-up bundle (the specs only carry its sha and architecture) and an
/// unknown account limit.
#[cfg(test)]
pub(crate) fn test_inputs() -> StackInputs {
    StackInputs {
        bundle: BundleInfo {
            code_sha256: "dGVzdCBidW5kbGUgc2hhMjU2IG9mIHRoZSB6aXAgZmlsZQ==".to_owned(),
            architecture: "x86_64".to_owned(),
        },
        account_concurrency_limit: None,
    }
}

/// The part of the stack the fake cloud simulates (KMS, S3, SQS and SNS), for the engine's
/// tests; it references nothing outside itself.
#[cfg(test)]
pub(crate) fn foundation(config: &Config, env: &Environment) -> ResourceGraph {
    use crate::spec::Service;
    let mut graph = build(config, env, &test_inputs());
    graph.retain(|s| {
        matches!(
            s.kind().service(),
            Service::Kms | Service::S3 | Service::Sqs | Service::Sns
        )
    });
    graph
}

/// Outputs shaped like the ones AWS reports for `spec` in `env`, made up where AWS generates
/// them (key ids, API ids, versions), so tests can resolve every reference realistically.
/// Public for the integration tests, which seed dependencies owned by other adapters.
pub fn made_up_outputs(spec: &ResourceSpec, env: &Environment) -> crate::spec::Outputs {
    use crate::spec::OutputKey;
    let Environment {
        account_id: account,
        region,
        partition,
    } = env;
    let name = spec.physical_name.clone();
    let logical = spec.id.logical();
    let arn = |service: &str, resource: &str| {
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    };
    let api = "a1b2c3d4e5";
    let mut outputs = crate::spec::Outputs::new();
    let mut put = |key: OutputKey, value: String| {
        outputs.insert(key, value);
    };
    match spec.kind() {
        ResourceKind::KmsKey => {
            let key_id = format!("0000-{logical}-key-id");
            put(OutputKey::Arn, arn("kms", &format!("key/{key_id}")));
            put(OutputKey::Id, key_id);
        }
        ResourceKind::KmsAlias => put(OutputKey::Arn, arn("kms", &name)),
        ResourceKind::Bucket => put(OutputKey::Arn, format!("arn:{partition}:s3:::{name}")),
        ResourceKind::Queue => {
            put(
                OutputKey::Url,
                format!("https://sqs.{region}.amazonaws.com/{account}/{name}"),
            );
            put(OutputKey::Arn, arn("sqs", &name));
        }
        ResourceKind::Topic => put(OutputKey::Arn, arn("sns", &name)),
        ResourceKind::Role => {
            put(
                OutputKey::Arn,
                format!("arn:{partition}:iam::{account}:role/{name}"),
            );
            put(
                OutputKey::Id,
                format!("AROA{}", logical.to_ascii_uppercase()),
            );
        }
        ResourceKind::LogGroup => put(OutputKey::Arn, arn("logs", &format!("log-group:{name}"))),
        ResourceKind::SubscriptionFilter => {}
        ResourceKind::DeliveryStream => {
            put(
                OutputKey::Arn,
                arn("firehose", &format!("deliverystream/{name}")),
            );
        }
        ResourceKind::Table => put(OutputKey::Arn, arn("dynamodb", &format!("table/{name}"))),
        ResourceKind::ScalingTarget | ResourceKind::ScalingPolicy => {
            put(
                OutputKey::Arn,
                arn(
                    "application-autoscaling",
                    &format!("scalable-target/{logical}"),
                ),
            );
        }
        ResourceKind::Function => {
            put(OutputKey::Arn, arn("lambda", &format!("function:{name}")));
            put(OutputKey::Version, "7".to_owned());
        }
        ResourceKind::LambdaAlias | ResourceKind::EventInvokeConfig => {
            put(OutputKey::Arn, arn("lambda", &format!("function:{name}")));
        }
        ResourceKind::EventSourceMapping => {
            let uuid = format!("{logical}-0000-uuid");
            put(
                OutputKey::Arn,
                arn("lambda", &format!("event-source-mapping:{uuid}")),
            );
            put(OutputKey::Id, uuid);
        }
        ResourceKind::LambdaPermission => put(OutputKey::Id, name.clone()),
        ResourceKind::ApiAccount => {}
        ResourceKind::RestApi => {
            put(OutputKey::Id, api.to_owned());
            put(
                OutputKey::Arn,
                format!("arn:{partition}:apigateway:{region}::/restapis/{api}"),
            );
        }
        ResourceKind::ApiDeployment => put(OutputKey::Id, "dep0001".to_owned()),
        ResourceKind::ApiStage => {
            put(
                OutputKey::Arn,
                format!("arn:{partition}:apigateway:{region}::/restapis/{api}/stages/{name}"),
            );
        }
        ResourceKind::UsagePlan => put(OutputKey::Id, "plan0001".to_owned()),
        ResourceKind::ApiKey | ResourceKind::UsagePlanKey => {
            put(OutputKey::Id, "apikey0001".to_owned())
        }
        ResourceKind::Alarm => put(OutputKey::Arn, arn("cloudwatch", &format!("alarm:{name}"))),
        ResourceKind::Dashboard => {
            put(
                OutputKey::Arn,
                format!("arn:{partition}:cloudwatch::{account}:dashboard/{name}"),
            );
        }
    }
    let alias_name = (spec.kind() == ResourceKind::LambdaAlias).then(|| LIVE_ALIAS.to_owned());
    outputs.insert(OutputKey::Name, alias_name.unwrap_or(name));
    outputs
}

/// The id of `kind/logical`.
pub(crate) fn id(kind: ResourceKind, logical: &str) -> ResourceId {
    ResourceId::new(kind, logical)
}

/// What every part of the stack reads while it adds its specs.
pub(crate) struct Builder<'a> {
    pub config: &'a Config,
    pub env: &'a Environment,
    pub inputs: &'a StackInputs,
}

impl Builder<'_> {
    /// A spec named `{prefix}-{env}-{logical}` and tagged (when its kind can carry tags)
    /// with the stack, its own id and the user's tags.
    pub fn spec(&self, kind: ResourceKind, logical: &str, body: SpecBody) -> ResourceSpec {
        let id = ResourceId::new(kind, logical);
        let mut tags = std::collections::BTreeMap::new();
        if kind.is_taggable() {
            tags = self.config.stack.tags.clone();
            tags.insert(STACK_TAG.to_owned(), self.config.stack_name());
            tags.insert(LOGICAL_TAG.to_owned(), id.to_string());
        }
        ResourceSpec {
            physical_name: self.config.physical_name(logical),
            id,
            tags,
            body,
            depends_on: Vec::new(),
        }
    }

    /// `{prefix}-{env}-{logical}`.
    pub fn name(&self, logical: &str) -> String {
        self.config.physical_name(logical)
    }

    /// The physical name of a function (known before it exists: names are derived).
    pub fn function_name(&self, handler: Handler) -> String {
        self.name(handler.logical())
    }

    /// `arn:{partition}:{service}:{region}:{account}:{rest}` with the environment's facts.
    pub fn arn(&self, service: &str, rest: Vec<Value>) -> Value {
        let mut parts = vec![
            Value::str("arn:"),
            Value::Env(EnvFact::Partition),
            Value::str(format!(":{service}:")),
            Value::Env(EnvFact::Region),
            Value::str(":"),
            Value::Env(EnvFact::AccountId),
            Value::str(":"),
        ];
        parts.extend(rest);
        Value::Concat(parts)
    }

    /// A `{"Version": "2012-10-17", "Statement": [..]}` document, sent as JSON text.
    pub fn document(statements: Vec<Value>) -> Value {
        Value::JsonText(Box::new(Value::map([
            ("Version", Value::str("2012-10-17")),
            ("Statement", Value::List(statements)),
        ])))
    }
}
