//! Configuration: the typed `Config`, built from embedded defaults < `txdeploy.toml` <
//! `TXDEPLOY_*` environment < command-line flags, and validated before any AWS call.
//!
//! - [`config_loader`]: the layers, merged at the TOML table level, with the provenance of
//!   every key (file and line:col, environment variable or flag).
//! - [`config_schema`]: every key, its type and its range; unknown keys are errors.
//! - [`config_validation`]: the rules AWS would otherwise reject mid-deploy.
//! - [`config_error`]: `ConfigErrors`, every problem at once, each with the key, the value,
//!   the rule, the fix and where the value came from.

pub mod config_error;
pub mod config_loader;
pub mod config_schema;
pub mod config_validation;

use crate::canary::canary_policy::{CanaryPolicy, PolicyError};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use config_error::{ConfigError, ConfigErrorKind, ConfigErrors, Source};
pub use config_loader::{FlagOverrides, LoadOptions, LoadedConfig, load};

/// The embedded defaults; every valid key appears here.
pub const DEFAULT_CONFIG: &str = include_str!("../assets/default_config.toml");

/// The whole configuration. Unknown keys are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[stack]`: names and tags.
    pub stack: StackConfig,
    /// `[aws]`: where to deploy; unset values fall back to the usual AWS chain.
    pub aws: AwsConfig,
    /// `[kms]`: the customer-managed keys.
    pub kms: KmsConfig,
    /// `[logs]`: log retention and the archive bucket's lifecycle.
    pub logs: LogsConfig,
    /// `[queues]`: the work queues and their dead-letter queues.
    pub queues: QueuesConfig,
    /// `[lambda]`: memory, timeouts and concurrency of the four functions.
    pub lambda: LambdaConfig,
    /// `[dynamodb]`: the transactions table's billing, recovery and scaling.
    pub dynamodb: DynamoDbConfig,
    /// `[api]`: the REST API's stage, cache, throttling and usage plan.
    pub api: ApiConfig,
    /// `[alarms]`: who hears about alarms, and their thresholds.
    pub alarms: AlarmsConfig,
    /// `[deploy]`: how the executor runs.
    pub deploy: DeployConfig,
}

/// `[stack]`: every physical name is `{prefix}-{env}-{logical}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// Lowercase letters, digits and `-`, starting with a letter.
    pub prefix: String,
    /// Lowercase letters, digits and `-`.
    pub env: String,
    /// Extra tags on every taggable resource (`aws:` and `txdeploy:` keys are reserved).
    pub tags: BTreeMap<String, String>,
}

/// `[aws]`: where to deploy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// For example `us-east-1`; `None` means `AWS_REGION` or the profile's region.
    pub region: Option<String>,
    /// A profile from `~/.aws/config`; `None` means `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// An `http(s)://` endpoint for every service (a local emulator).
    pub endpoint_url: Option<String>,
}

/// `[kms]`: the customer-managed keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsConfig {
    /// Automatic rotation period of every key, 90..=2560 days.
    pub rotation_period_days: u32,
}

/// `[logs]`: log retention and the archive bucket's lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// CloudWatch Logs retention; one of the values CloudWatch allows.
    pub retention_days: u32,
    /// Key prefix of archived logs in the archive bucket; ends with `/`.
    pub archive_prefix: String,
    /// Days before archived logs move to GLACIER.
    pub glacier_after_days: u32,
    /// Days before archived logs expire; at least `glacier_after_days + 90`.
    pub expire_after_days: u32,
    /// Days before noncurrent object versions expire.
    pub noncurrent_expire_after_days: u32,
}

/// `[queues]`: the work queues and their dead-letter queues.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuesConfig {
    /// Receives before a message moves to its dead-letter queue, 1..=1000.
    pub max_receive_count: u32,
    /// Work queues' visibility timeout, 0..=43200 seconds.
    pub visibility_timeout_seconds: u32,
    /// Work queues' retention, 60..=1209600 seconds.
    pub message_retention_seconds: u32,
    /// Dead-letter queues' retention, 60..=1209600 seconds, at least the work queues'.
    pub dlq_retention_seconds: u32,
}

/// `[lambda]`: memory, timeouts and concurrency of the four functions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaConfig {
    /// Memory of `transaction-validator` in MB, 128..=10240 (1536 from profiling).
    pub validator_memory_mb: u32,
    /// Memory of `notification-handler` in MB, 128..=10240.
    pub notification_memory_mb: u32,
    /// Memory of `analytics-processor` in MB, 128..=10240.
    pub analytics_memory_mb: u32,
    /// Memory of `reporting-processor` in MB, 128..=10240.
    pub reporting_memory_mb: u32,
    /// Timeout of `transaction-validator`, 1..=29 seconds (API Gateway waits 29 s at most).
    pub validator_timeout_seconds: u32,
    /// Timeout of `notification-handler`, 1..=900 seconds.
    pub notification_timeout_seconds: u32,
    /// Timeout of `analytics-processor`, 1..=900 seconds; its queue's visibility timeout
    /// must be at least 6x this.
    pub analytics_timeout_seconds: u32,
    /// Timeout of `reporting-processor`, 1..=900 seconds; as for analytics.
    pub reporting_timeout_seconds: u32,
    /// Reserved concurrency of `transaction-validator`, 0..=1000; 0 reserves nothing.
    pub reserved_concurrency: u32,
    /// Provisioned concurrency on the validator's `live` alias; 0 for none.
    pub provisioned_concurrency: u32,
}

/// How the transactions table is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableBilling {
    /// Pay per request: during the GSI migration and for unpredictable traffic.
    OnDemand,
    /// Provisioned capacity with auto scaling on the table and every index.
    Provisioned,
}

/// `[dynamodb]`: the transactions table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbConfig {
    /// `on_demand` or `provisioned`; AWS allows one switch per 24 hours.
    pub billing_mode: TableBilling,
    /// Attribute holding each item's expiry (epoch seconds); not a key attribute.
    pub ttl_attribute: String,
    /// How far back point-in-time recovery can restore, 1..=35 days.
    pub pitr_recovery_days: u32,
    /// Auto scaling floor of every table and index capacity (provisioned mode).
    pub min_capacity: u32,
    /// Auto scaling ceiling, at least `min_capacity`.
    pub max_capacity: u32,
    /// Auto scaling target utilization in percent, 20..=90.
    pub target_utilization: u32,
    /// Initial read capacity when switching to provisioned; unset derives it from the
    /// observed consumption.
    pub read_capacity: Option<u32>,
    /// Initial write capacity when switching to provisioned; unset derives it likewise.
    pub write_capacity: Option<u32>,
}

/// The period of the usage plan's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

impl QuotaPeriod {
    /// API Gateway's spelling.
    pub fn as_aws(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "DAY",
            QuotaPeriod::Week => "WEEK",
            QuotaPeriod::Month => "MONTH",
        }
    }
}

/// `[api]`: the REST API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// The stage name: letters, digits, `-` and `_`, at most 128 characters.
    pub stage: String,
    /// Stage cache size in GB; one of 0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237.
    pub cache_size: String,
    /// How long the GET routes are cached, 0..=3600 seconds.
    pub cache_ttl_seconds: u32,
    /// Steady-state requests per second the stage (and the usage plan) allows.
    pub throttle_rate: u32,
    /// Burst of requests the stage (and the usage plan) allows.
    pub throttle_burst: u32,
    /// Whether every route requires an API key (`x-api-key`).
    pub api_key_required: bool,
    /// Requests per `quota_period` the usage plan allows each key.
    pub quota_limit: u32,
    /// `day`, `week` or `month`.
    pub quota_period: QuotaPeriod,
}

/// `[alarms]`: who hears about alarms, and their thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsConfig {
    /// Address subscribed to the alarms topic; empty for none.
    pub email: String,
    /// Per-function error rate (errors / invocations, %) that alarms.
    pub error_rate_percent: f64,
    /// API 5XX rate (5XX / requests, %) that alarms.
    pub api_5xx_rate_percent: f64,
    /// API p99 latency (ms) that alarms.
    pub p99_latency_ms: u32,
    /// Fraction of the account's concurrency limit that alarms.
    pub concurrency_fraction: f64,
}

/// What a failed apply does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Undo what this apply changed.
    Rollback,
    /// Stop and keep a resumable journal.
    Stop,
}

/// `[deploy]`: how the executor runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// Most AWS calls in flight at once, 1..=64.
    pub parallelism: usize,
    /// What a failed apply does.
    pub on_failure: OnFailure,
    /// The canary of every apply: `off`, or `WEIGHT%:WINDOW` such as `10%:5m`
    /// (`CanaryPolicy::parse`); `apply --canary` overrides it.
    pub canary: String,
    /// How often the canary window reads the alarms, in seconds.
    pub canary_poll_seconds: u32,
}

impl Config {
    /// `{prefix}-{env}`: the stack name, used in tags, state paths and physical names.
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.stack.prefix, self.stack.env)
    }

    /// `{prefix}-{env}-{logical}`.
    pub fn physical_name(&self, logical: &str) -> String {
        format!("{}-{}", self.stack_name(), logical)
    }

    /// The canary policy of an apply, `None` for `off`. The config was validated, so a bad
    /// value cannot reach here; it is still reported rather than ignored.
    pub fn canary_policy(&self) -> Result<Option<CanaryPolicy>, PolicyError> {
        CanaryPolicy::parse(&self.deploy.canary)
    }

    /// The embedded defaults alone.
    pub fn defaults() -> Result<Self, toml::de::Error> {
        toml::from_str(DEFAULT_CONFIG)
    }
}
