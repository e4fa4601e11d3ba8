//! The configuration schema: every key a user may set, its type and its allowed range.
//!
//! The loader checks each layer against this table, so an unknown key or a wrong type is
//! reported with its own source, and every error is found in one pass rather than at the
//! first serde failure. A test keeps the table and the `Config` struct in step.

/// What a key's value must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A string.
    Str,
    /// A string that may be left unset.
    OptStr,
    /// An integer in `min..=max`; `why` names the AWS limit behind the range.
    Int {
        min: i64,
        max: i64,
        why: &'static str,
    },
    /// An integer in `min..=max` that may be left unset.
    OptInt {
        min: i64,
        max: i64,
        why: &'static str,
    },
    /// A number (an integer is accepted) in `min..=max`.
    Float {
        min: f64,
        max: f64,
        why: &'static str,
    },
    /// `true` or `false`.
    Bool,
    /// An integer from a fixed set of values.
    IntIn {
        allowed: &'static [i64],
        why: &'static str,
    },
    /// A table of string values (tags).
    StrMap,
    /// One of a few strings.
    Choice(&'static [&'static str]),
}

/// One settable key: `[section]` `key`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeySpec {
    pub section: &'static str,
    pub key: &'static str,
    pub kind: Kind,
}

impl KeySpec {
    /// `section.key`.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    /// The `TXDEPLOY_SECTION__KEY` variable that overrides this key.
    pub fn env_var(&self) -> String {
        format!("TXDEPLOY_{}__{}", self.section, self.key).to_ascii_uppercase()
    }
}

const U32_MAX: i64 = u32::MAX as i64;

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The cache sizes (GB) API Gateway offers for a stage cache cluster.
pub const API_CACHE_SIZES: &[&str] = &["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"];

const LAMBDA_MEMORY: Kind = Kind::Int {
    min: 128,
    max: 10_240,
    why: "Lambda MemorySize in MB",
};
const LAMBDA_TIMEOUT: Kind = Kind::Int {
    min: 1,
    max: 900,
    why: "Lambda Timeout, 15 minutes at most",
};
const CAPACITY_UNITS: Kind = Kind::Int {
    min: 1,
    max: 40_000,
    why: "DynamoDB capacity units per table or index",
};
const OPT_CAPACITY_UNITS: Kind = Kind::OptInt {
    min: 1,
    max: 40_000,
    why: "DynamoDB capacity units per table or index",
};
const PERCENT: Kind = Kind::Float {
    min: 0.0,
    max: 100.0,
    why: "a percentage",
};

const fn key(section: &'static str, key: &'static str, kind: Kind) -> KeySpec {
    KeySpec { section, key, kind }
}

/// Every key, in the order of `assets/default_config.toml`.
pub const KEYS: &[KeySpec] = &[
    key("stack", "prefix", Kind::Str),
    key("stack", "env", Kind::Str),
    key("stack", "tags", Kind::StrMap),
    key("aws", "region", Kind::OptStr),
    key("aws", "profile", Kind::OptStr),
    key("aws", "endpoint_url", Kind::OptStr),
    key(
        "kms",
        "rotation_period_days",
        Kind::Int {
            min: 90,
            max: 2560,
            why: "KMS RotationPeriodInDays",
        },
    ),
    key(
        "logs",
        "retention_days",
        Kind::IntIn {
            allowed: LOG_RETENTION_DAYS,
            why: "CloudWatch Logs retention",
        },
    ),
    key("logs", "archive_prefix", Kind::Str),
    key(
        "logs",
        "glacier_after_days",
        Kind::Int {
            min: 1,
            max: U32_MAX,
            why: "S3 lifecycle transitions count whole days",
        },
    ),
    key(
        "logs",
        "expire_after_days",
        Kind::Int {
            min: 1,
            max: U32_MAX,
            why: "S3 lifecycle expiration counts whole days",
        },
    ),
    key(
        "logs",
        "noncurrent_expire_after_days",
        Kind::Int {
            min: 1,
            max: U32_MAX,
            why: "S3 NoncurrentDays must be positive",
        },
    ),
    key(
        "queues",
        "max_receive_count",
        Kind::Int {
            min: 1,
            max: 1000,
            why: "SQS maxReceiveCount",
        },
    ),
    key(
        "queues",
        "visibility_timeout_seconds",
        Kind::Int {
            min: 0,
            max: 43_200,
            why: "SQS VisibilityTimeout, 12 hours at most",
        },
    ),
    key(
        "queues",
        "message_retention_seconds",
        Kind::Int {
            min: 60,
            max: 1_209_600,
            why: "SQS MessageRetentionPeriod, 1 minute to 14 days",
        },
    ),
    key(
        "queues",
        "dlq_retention_seconds",
        Kind::Int {
            min: 60,
            max: 1_209_600,
            why: "SQS MessageRetentionPeriod, 1 minute to 14 days",
        },
    ),
    key("lambda", "validator_memory_mb", LAMBDA_MEMORY),
    key("lambda", "notification_memory_mb", LAMBDA_MEMORY),
    key("lambda", "analytics_memory_mb", LAMBDA_MEMORY),
    key("lambda", "reporting_memory_mb", LAMBDA_MEMORY),
    key("lambda", "validator_timeout_seconds", LAMBDA_TIMEOUT),
    key("lambda", "notification_timeout_seconds", LAMBDA_TIMEOUT),
    key("lambda", "analytics_timeout_seconds", LAMBDA_TIMEOUT),
    key("lambda", "reporting_timeout_seconds", LAMBDA_TIMEOUT),
    key(
        "lambda",
        "reserved_concurrency",
        Kind::Int {
            min: 0,
            max: 1000,
            why: "Lambda reserved concurrency, within the default account limit of 1000",
        },
    ),
    key(
        "lambda",
        "provisioned_concurrency",
        Kind::Int {
            min: 0,
            max: 1000,
            why: "Lambda provisioned concurrency, within the default account limit of 1000",
        },
    ),
    key(
        "dynamodb",
        "billing_mode",
        Kind::Choice(&["on_demand", "provisioned"]),
    ),
    key("dynamodb", "ttl_attribute", Kind::Str),
    key(
        "dynamodb",
        "pitr_recovery_days",
        Kind::Int {
            min: 1,
            max: 35,
            why: "DynamoDB PITR RecoveryPeriodInDays",
        },
    ),
    key("dynamodb", "min_capacity", CAPACITY_UNITS),
    key("dynamodb", "max_capacity", CAPACITY_UNITS),
    key(
        "dynamodb",
        "target_utilization",
        Kind::Int {
            min: 20,
            max: 90,
            why: "Application Auto Scaling target utilization for DynamoDB, in percent",
        },
    ),
    key("dynamodb", "read_capacity", OPT_CAPACITY_UNITS),
    key("dynamodb", "write_capacity", OPT_CAPACITY_UNITS),
    key("api", "stage", Kind::Str),
    key("api", "cache_size", Kind::Choice(API_CACHE_SIZES)),
    key(
        "api",
        "cache_ttl_seconds",
        Kind::Int {
            min: 0,
            max: 3600,
            why: "API Gateway cache TTL, 1 hour at most",
        },
    ),
    key(
        "api",
        "throttle_rate",
        Kind::Int {
            min: 1,
            max: 10_000,
            why: "requests per second; 10000 is API Gateway's default account limit",
        },
    ),
    key(
        "api",
        "throttle_burst",
        Kind::Int {
            min: 1,
            max: 5000,
            why: "5000 is API Gateway's default account burst",
        },
    ),
    key("api", "api_key_required", Kind::Bool),
    key(
        "api",
        "quota_limit",
        Kind::Int {
            min: 1,
            max: U32_MAX,
            why: "a usage plan quota counts requests",
        },
    ),
    key(
        "api",
        "quota_period",
        Kind::Choice(&["day", "week", "month"]),
    ),
    key("alarms", "email", Kind::Str),
    key("alarms", "error_rate_percent", PERCENT),
    key("alarms", "api_5xx_rate_percent", PERCENT),
    key(
        "alarms",
        "p99_latency_ms",
        Kind::Int {
            min: 1,
            max: 29_000,
            why: "API Gateway answers within 29 s",
        },
    ),
    key(
        "alarms",
        "concurrency_fraction",
        Kind::Float {
            min: 0.01,
            max: 1.0,
            why: "a fraction of the account's concurrency limit",
        },
    ),
    key(
        "deploy",
        "parallelism",
        Kind::Int {
            min: 1,
            max: 64,
            why: "more calls at once only buys throttling",
        },
    ),
    key("deploy", "on_failure", Kind::Choice(&["rollback", "stop"])),
    key("deploy", "canary", Kind::Str),
    key(
        "deploy",
        "canary_poll_seconds",
        Kind::Int {
            min: 1,
            max: 300,
            why: "a canary window polls its alarms at least every 5 minutes",
        },
    ),
];

/// The spec of `section.key`, if it exists.
pub fn find(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.section == section && k.key == key)
}

/// The sections, in order, each once.
pub fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KEYS {
        if !out.contains(&k.section) {
            out.push(k.section);
        }
    }
    out
}

/// The keys of one section.
pub fn keys_of(section: &str) -> impl Iterator<Item = &'static KeySpec> {
    KEYS.iter().filter(move |k| k.section == section)
}

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    // Edit distance catches typos; Jaro-Winkler and prefixes catch shortened keys.
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::levenshtein(&input, c),
                strsim::jaro_winkler(&input, c),
                c,
            )
        })
        .filter(|(d, jw, c)| {
            *d <= (c.len().max(input.len()) / 3).max(2)
                || *jw >= 0.9
                || (input.len() >= 4 && c.starts_with(input.as_str()))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{Config, OnFailure};

    /// A config with every optional value set, so serialization shows every key.
    fn full_config() -> Config {
        let mut config = Config::defaults().unwrap();
        config.aws.region = Some("us-east-1".into());
        config.aws.profile = Some("default".into());
        config.aws.endpoint_url = Some("http://127.0.0.1:4566".into());
        config.deploy.on_failure = OnFailure::Stop;
        config.dynamodb.read_capacity = Some(10);
        config.dynamodb.write_capacity = Some(10);
        config
    }

    #[test]
    fn the_schema_lists_exactly_the_fields_of_config() {
        let table = toml::Table::try_from(full_config()).unwrap();
        let mut from_struct = Vec::new();
        for (section, value) in &table {
            for key in value.as_table().unwrap().keys() {
                from_struct.push(format!("{section}.{key}"));
            }
        }
        let mut from_schema: Vec<String> = KEYS.iter().map(KeySpec::dotted).collect();
        from_struct.sort();
        from_schema.sort();
        assert_eq!(from_schema, from_struct);
    }

    #[test]
    fn every_required_key_has_an_embedded_default() {
        let defaults: toml::Table = toml::from_str(crate::config::DEFAULT_CONFIG).unwrap();
        let optional = |k: &&KeySpec| matches!(k.kind, Kind::OptStr | Kind::OptInt { .. });
        for spec in KEYS.iter().filter(|k| !optional(k)) {
            assert!(
                defaults[spec.section].get(spec.key).is_some(),
                "`{}` has no default in assets/default_config.toml",
                spec.dotted()
            );
        }
    }

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["max_receive_count", "visibility_timeout_seconds"];
        assert_eq!(
            closest("max_recieve_count", keys),
            Some("max_receive_count")
        );
        assert_eq!(
            closest("MAX_RECEIVE_COUNT", keys),
            Some("max_receive_count")
        );
        assert_eq!(closest("max_recieve", keys), Some("max_receive_count"));
        assert_eq!(
            closest("visibility", keys),
            Some("visibility_timeout_seconds")
        );
        assert_eq!(closest("colour", keys), None);
        assert_eq!(closest("retention", ["prefix", "env", "tags"]), None);
        assert_eq!(closest("queue", sections()), Some("queues"));
    }

    #[test]
    fn env_var_names_follow_the_documented_mapping() {
        let spec = find("queues", "max_receive_count").unwrap();
        assert_eq!(spec.env_var(), "TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT");
    }
}
