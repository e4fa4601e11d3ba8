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
    /// `[alarms]`: who hears about alarms.
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

/// `[alarms]`: who hears about alarms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsConfig {
    /// Address subscribed to the alarms topic; empty for none.
    pub email: String,
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

    /// The embedded defaults alone.
    pub fn defaults() -> Result<Self, toml::de::Error> {
        toml::from_str(DEFAULT_CONFIG)
    }
}
