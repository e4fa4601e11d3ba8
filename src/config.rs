//! Configuration: the typed `Config`, built from embedded defaults < `txdeploy.toml` <
//! `TXDEPLOY_*` environment < command-line flags, and validated before any AWS call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The embedded defaults; every valid key appears here.
pub const DEFAULT_CONFIG: &str = include_str!("../assets/default_config.toml");

/// The whole configuration. Unknown keys are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub stack: StackConfig,
    pub aws: AwsConfig,
    pub kms: KmsConfig,
    pub logs: LogsConfig,
    pub queues: QueuesConfig,
    pub alarms: AlarmsConfig,
    pub deploy: DeployConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    pub prefix: String,
    pub env: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsConfig {
    pub rotation_period_days: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    pub retention_days: u32,
    pub archive_prefix: String,
    pub glacier_after_days: u32,
    pub expire_after_days: u32,
    pub noncurrent_expire_after_days: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuesConfig {
    pub max_receive_count: u32,
    pub visibility_timeout_seconds: u32,
    pub message_retention_seconds: u32,
    pub dlq_retention_seconds: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsConfig {
    pub email: String,
}

/// What a failed apply does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Rollback,
    Stop,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    pub parallelism: usize,
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
