//! The rules a merged `Config` must satisfy before any AWS call: everything AWS would reject
//! mid-deploy (names, lengths, ranges, tags, lifecycle ordering) is caught here, all at once.

use std::collections::BTreeMap;

use super::Config;
use super::config_error::{ConfigError, Source};
use super::config_loader::{default_float, default_int, dotted};
use super::config_schema::{self, KeySpec, Kind};
use crate::canary::canary_policy;
use crate::spec::{Environment, ResourceKind};
use crate::stack::{BundleInfo, StackInputs};

/// A 12-digit account id, for checking lengths of names that include the account.
const ACCOUNT_PLACEHOLDER: &str = "123456789012";
/// The longest region names are 14 characters; names are checked against one of them when
/// the region is not configured.
const LONGEST_REGION: &str = "ap-southeast-1";
/// AWS allows 50 tags per resource; txdeploy sets `txdeploy:stack` and `txdeploy:logical`.
const MAX_USER_TAGS: usize = 48;
/// GLACIER bills every object for at least 90 days.
const GLACIER_MINIMUM_DAYS: u32 = 90;
/// API Gateway waits at most 29 seconds for an integration.
const API_INTEGRATION_TIMEOUT_SECONDS: u32 = 29;
/// AWS's advice for SQS event sources: a visibility timeout of 6x the function's timeout,
/// so a batch that Lambda retries is not delivered twice at once.
const VISIBILITY_TIMEOUT_FACTOR: u32 = 6;
/// The key attributes of the table and its index: strings, so none can be the TTL attribute
/// (TTL reads a number of epoch seconds).
const KEY_ATTRIBUTES: [&str; 3] = ["transaction_id", "merchant_id", "transaction_date"];

/// Checks every rule; returns every violation.
pub fn validate(config: &Config, sources: &BTreeMap<String, Source>) -> Vec<ConfigError> {
    let mut v = Validator {
        sources,
        errors: Vec::new(),
    };
    v.ranges(config);
    v.names(config);
    v.tags(config);
    v.logs(config);
    v.queues(config);
    v.lambda(config);
    v.dynamodb(config);
    v.api(config);
    v.alarms(config);
    v.aws(config);
    v.deploy(config);
    v.errors
}

/// The rule and fix for an integer outside its key's range, or `None` when it is allowed.
pub fn int_violation(spec: &KeySpec, value: i64, default: Option<i64>) -> Option<(String, String)> {
    let default_note = default.map(|d| format!("{d} (the default)"));
    match spec.kind {
        Kind::Int { min, max, why } | Kind::OptInt { min, max, why } => {
            if (min..=max).contains(&value) {
                return None;
            }
            if max >= i64::from(u32::MAX) {
                let fix = match default_note {
                    Some(d) => format!("set it to {d} or any value from {min} up"),
                    None => format!("set it to {min} or more"),
                };
                Some((format!("must be at least {min} ({why})"), fix))
            } else {
                let fix = match default_note {
                    Some(d) => format!("set it to {d} or any value in {min}..={max}"),
                    None => format!("set it to a value in {min}..={max}"),
                };
                Some((format!("must be between {min} and {max} ({why})"), fix))
            }
        }
        Kind::IntIn { allowed, why } => {
            if allowed.contains(&value) {
                return None;
            }
            let list = allowed
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let below = allowed.iter().rev().find(|a| **a < value);
            let above = allowed.iter().find(|a| **a > value);
            let nearest = match (below, above) {
                (Some(b), Some(a)) => format!("use {b} or {a}, the nearest allowed values"),
                (Some(x), None) | (None, Some(x)) => format!("use {x}, the nearest allowed value"),
                (None, None) => "use an allowed value".to_owned(),
            };
            let fix = match default {
                Some(d) => format!("{nearest} ({d} is the default)"),
                None => nearest,
            };
            Some((
                format!("must be one of the values {why} allows: {list}"),
                fix,
            ))
        }
        _ => None,
    }
}

/// The rule and fix for a number outside its key's range, or `None` when it is allowed.
pub fn float_violation(
    spec: &KeySpec,
    value: f64,
    default: Option<f64>,
) -> Option<(String, String)> {
    let Kind::Float { min, max, why } = spec.kind else {
        return None;
    };
    if (min..=max).contains(&value) {
        return None;
    }
    let fix = match default {
        Some(d) => format!("set it to {d:?} (the default) or any number from {min:?} to {max:?}"),
        None => format!("set it to a number from {min:?} to {max:?}"),
    };
    Some((format!("must be between {min:?} and {max:?} ({why})"), fix))
}

struct Validator<'a> {
    sources: &'a BTreeMap<String, Source>,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn source(&self, key: &str) -> Source {
        self.sources.get(key).cloned().unwrap_or(Source::Default)
    }

    fn push(
        &mut self,
        key: &str,
        value: impl Into<String>,
        rule: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let source = self.source(key);
        self.errors
            .push(ConfigError::invalid(key, value, rule, fix, source));
    }

    /// Integer ranges and allowed sets, straight from the schema.
    fn ranges(&mut self, config: &Config) {
        let Ok(table) = toml::Table::try_from(config) else {
            return;
        };
        for spec in config_schema::KEYS {
            let value = table.get(spec.section).and_then(|s| s.get(spec.key));
            if matches!(spec.kind, Kind::Float { .. }) {
                let number = value.and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
                if let Some(x) = number
                    && let Some((rule, fix)) = float_violation(spec, x, default_float(spec))
                {
                    self.push(&spec.dotted(), format!("{x:?}"), rule, fix);
                }
                continue;
            }
            let Some(n) = value.and_then(toml::Value::as_integer) else {
                continue;
            };
            if let Some((rule, fix)) = int_violation(spec, n, default_int(spec)) {
                self.push(&spec.dotted(), n.to_string(), rule, fix);
            }
        }
    }

    /// `stack.prefix` and `stack.env`, and the length of every name derived from them.
    fn names(&mut self, config: &Config) {
        let prefix_ok = self.name_part("stack.prefix", &config.stack.prefix, true);
        let env_ok = self.name_part("stack.env", &config.stack.env, false);
        if prefix_ok && env_ok {
            self.derived_names(config);
        }
    }

    /// Lowercase letters, digits and single `-` between them: the common ground of S3 bucket,
    /// SQS queue, SNS topic and KMS alias names.
    fn name_part(&mut self, key: &str, value: &str, must_start_with_letter: bool) -> bool {
        let shown = format!("{value:?}");
        let suggestion = sanitize(value);
        let fix = if suggestion.is_empty() || suggestion == value {
            "use lowercase letters, digits and `-`, e.g. `tx`".to_owned()
        } else {
            format!("use `{suggestion}`")
        };
        let rule = if value.is_empty() {
            Some("must not be empty: it is part of every physical name".to_owned())
        } else if let Some(c) = value
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            Some(format!(
                "contains `{c}`; only lowercase letters, digits and `-` fit every AWS name it \
                 is part of (S3 buckets, SQS queues, SNS topics)"
            ))
        } else if value.starts_with('-') || value.ends_with('-') {
            Some("must not start or end with `-`".to_owned())
        } else if value.contains("--") {
            Some("must not contain `--` (S3 reserves it in bucket names)".to_owned())
        } else if must_start_with_letter && !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            Some("must start with a lowercase letter".to_owned())
        } else {
            None
        };
        match rule {
            Some(rule) => {
                self.push(key, shown, rule, fix);
                false
            }
            None => true,
        }
    }

    /// Builds the stack with the longest plausible region and checks every physical name
    /// against its service's limit, so new resources are covered without new rules here.
    fn derived_names(&mut self, config: &Config) {
        let configured_region = config
            .aws
            .region
            .clone()
            .filter(|r| region_problem(r).is_none());
        let region_note = match &configured_region {
            Some(r) => format!("in `{r}`"),
            None => format!("assuming a 14-character region such as `{LONGEST_REGION}`"),
        };
        let env = Environment {
            account_id: ACCOUNT_PLACEHOLDER.to_owned(),
            region: configured_region.unwrap_or_else(|| LONGEST_REGION.to_owned()),
            partition: "aws".to_owned(),
        };
        // Names do not depend on the code or the account's limits.
        let inputs = StackInputs {
            bundle: BundleInfo {
                code_sha256: String::new(),
                architecture: "x86_64".to_owned(),
            },
            account_concurrency_limit: None,
        };
        let Ok(graph) = crate::stack::build(config, &env, &inputs).check() else {
            return;
        };
        let stack = config.stack_name();
        // The tightest limit decides how long `{prefix}-{env}` may be.
        let mut tightest: Option<(usize, String, usize, &'static str)> = None;
        for spec in graph.in_order() {
            let name = &spec.physical_name;
            if spec.id.kind() == ResourceKind::Bucket
                && let Some(reserved) = ["xn--", "sthree-", "amzn-s3-demo-"]
                    .into_iter()
                    .find(|p| name.starts_with(p))
            {
                self.push(
                    "stack.prefix",
                    format!("{:?}", config.stack.prefix),
                    format!(
                        "makes the bucket name `{name}` start with `{reserved}`, which S3 reserves"
                    ),
                    "choose another `stack.prefix`",
                );
            }
            let Some((limit, what)) = name_limit(spec.id.kind()) else {
                continue;
            };
            let fixed = name.chars().count().saturating_sub(stack.chars().count());
            let allowed = limit.saturating_sub(fixed);
            if tightest.as_ref().is_none_or(|t| allowed < t.0) {
                tightest = Some((allowed, name.clone(), limit, what));
            }
        }
        let Some((allowed, name, limit, what)) = tightest else {
            return;
        };
        let stack_len = stack.chars().count();
        if stack_len > allowed {
            self.push(
                "stack.prefix",
                format!("{:?}", config.stack.prefix),
                format!(
                    "`{{prefix}}-{{env}}` = `{stack}` is {stack_len} characters, which makes \
                     the {what} `{name}` {} characters ({region_note}); {what}s are at most \
                     {limit} characters",
                    name.chars().count()
                ),
                format!(
                    "shorten `stack.prefix` or `stack.env` so that `{{prefix}}-{{env}}` is at \
                     most {allowed} characters"
                ),
            );
        }
    }

    fn tags(&mut self, config: &Config) {
        let tags = &config.stack.tags;
        if tags.len() > MAX_USER_TAGS {
            self.push(
                "stack.tags",
                format!("{} tags", tags.len()),
                format!(
                    "at most {MAX_USER_TAGS} tags: AWS allows 50 per resource and txdeploy sets \
                     `txdeploy:stack` and `txdeploy:logical`"
                ),
                "remove some tags",
            );
        }
        for (name, value) in tags {
            let key = dotted(&["stack", "tags", name.as_str()]);
            let shown = format!("{value:?}");
            let lower = name.to_lowercase();
            let rule_fix = if name.is_empty() || name.chars().count() > 128 {
                Some((
                    "tag keys are 1 to 128 characters".to_owned(),
                    "shorten the tag key".to_owned(),
                ))
            } else if lower.starts_with("aws:") {
                Some((
                    "the `aws:` tag prefix is reserved for AWS".to_owned(),
                    rename_without_prefix(name, "aws:"),
                ))
            } else if lower.starts_with("txdeploy:") {
                Some((
                    "the `txdeploy:` tag prefix is reserved: txdeploy sets `txdeploy:stack` and \
                     `txdeploy:logical` to find its resources"
                        .to_owned(),
                    rename_without_prefix(name, "txdeploy:"),
                ))
            } else if let Some(c) = name.chars().find(|c| !tag_char(*c)) {
                Some((
                    format!(
                        "tag keys may contain letters, digits, spaces and `_ . : / = + - @`, \
                         not `{c}`"
                    ),
                    "rename the tag".to_owned(),
                ))
            } else if value.chars().count() > 256 {
                Some((
                    "tag values are at most 256 characters".to_owned(),
                    "shorten the value".to_owned(),
                ))
            } else {
                value.chars().find(|c| !tag_char(*c)).map(|c| {
                    (
                        format!(
                            "tag values may contain letters, digits, spaces and \
                             `_ . : / = + - @`, not `{c}`"
                        ),
                        "remove that character from the value".to_owned(),
                    )
                })
            };
            if let Some((rule, fix)) = rule_fix {
                self.push(&key, shown, rule, fix);
            }
        }
    }

    fn logs(&mut self, config: &Config) {
        let logs = &config.logs;
        let prefix = &logs.archive_prefix;
        let shown = format!("{prefix:?}");
        if prefix.is_empty() {
            self.push(
                "logs.archive_prefix",
                shown,
                "must not be empty: the lifecycle rule would then move every object in the \
                 archive bucket to GLACIER and expire it",
                "set it to \"logs/\" (the default)",
            );
        } else if prefix.starts_with('/') {
            self.push(
                "logs.archive_prefix",
                shown,
                "must not start with `/`: S3 keys have no leading slash, so nothing would match",
                format!("use {:?}", prefix.trim_start_matches('/')),
            );
        } else if !prefix.ends_with('/') {
            self.push(
                "logs.archive_prefix",
                shown,
                "must end with `/`, so the lifecycle rule matches a folder and not every key \
                 that merely starts with the same letters",
                format!("use {:?}", format!("{prefix}/")),
            );
        } else if prefix.len() > 1024 {
            self.push(
                "logs.archive_prefix",
                shown,
                "must be at most 1024 bytes (the S3 key length limit)",
                "use a shorter prefix",
            );
        }
        let needed = logs.glacier_after_days.saturating_add(GLACIER_MINIMUM_DAYS);
        if logs.expire_after_days < needed {
            self.push(
                "logs.expire_after_days",
                logs.expire_after_days.to_string(),
                format!(
                    "must be at least `logs.glacier_after_days` + 90 = {needed}: GLACIER bills \
                     every object for 90 days, so expiring sooner pays an early-deletion charge \
                     for nothing (and S3 rejects an expiration before the transition)"
                ),
                format!(
                    "set `logs.expire_after_days` to {needed} or more, or lower \
                     `logs.glacier_after_days`"
                ),
            );
        }
    }

    fn queues(&mut self, config: &Config) {
        let q = &config.queues;
        let in_range = |key: &str, n: u32| Self::in_range("queues", key, n);
        // Only compare two retentions that are each valid, so one mistake is one error.
        if in_range("message_retention_seconds", q.message_retention_seconds)
            && in_range("dlq_retention_seconds", q.dlq_retention_seconds)
            && q.dlq_retention_seconds < q.message_retention_seconds
        {
            self.push(
                "queues.dlq_retention_seconds",
                q.dlq_retention_seconds.to_string(),
                format!(
                    "must be at least `queues.message_retention_seconds` ({}): a message moved \
                     to a dead-letter queue keeps its original enqueue time, so a shorter \
                     retention there deletes failed transactions before anyone looks",
                    q.message_retention_seconds
                ),
                format!(
                    "set it to {} or more (1209600, the default, is the SQS maximum)",
                    q.message_retention_seconds
                ),
            );
        }
    }

    /// Whether `section.key` holds a value its own range allows, so cross-key rules only
    /// compare valid values and one mistake is one error.
    fn in_range(section: &str, key: &str, n: u32) -> bool {
        config_schema::find(section, key)
            .is_none_or(|spec| int_violation(spec, i64::from(n), None).is_none())
    }

    fn lambda(&mut self, config: &Config) {
        let l = &config.lambda;
        if Self::in_range(
            "lambda",
            "validator_timeout_seconds",
            l.validator_timeout_seconds,
        ) && l.validator_timeout_seconds > API_INTEGRATION_TIMEOUT_SECONDS
        {
            self.push(
                "lambda.validator_timeout_seconds",
                l.validator_timeout_seconds.to_string(),
                format!(
                    "must be at most {API_INTEGRATION_TIMEOUT_SECONDS}: API Gateway stops waiting \
                     for the function after {API_INTEGRATION_TIMEOUT_SECONDS} s and answers 504 \
                     while the function keeps running"
                ),
                format!(
                    "set it to {API_INTEGRATION_TIMEOUT_SECONDS} or less (10, the default, \
                     leaves room for retries)"
                ),
            );
        }
        if l.provisioned_concurrency > 0
            && l.reserved_concurrency > 0
            && Self::in_range(
                "lambda",
                "provisioned_concurrency",
                l.provisioned_concurrency,
            )
            && Self::in_range("lambda", "reserved_concurrency", l.reserved_concurrency)
            && l.provisioned_concurrency > l.reserved_concurrency
        {
            self.push(
                "lambda.provisioned_concurrency",
                l.provisioned_concurrency.to_string(),
                format!(
                    "must be at most `lambda.reserved_concurrency` ({}): Lambda refuses to \
                     provision more instances than the function may run",
                    l.reserved_concurrency
                ),
                format!(
                    "lower `lambda.provisioned_concurrency` to {} or less, or raise \
                     `lambda.reserved_concurrency`",
                    l.reserved_concurrency
                ),
            );
        }
        // Each work queue is consumed by its processor: AWS advises a visibility timeout of at
        // least 6x the function's timeout, or a retried batch is delivered twice at once.
        let visibility = config.queues.visibility_timeout_seconds;
        if !Self::in_range("queues", "visibility_timeout_seconds", visibility) {
            return;
        }
        let consumers = [
            (
                "lambda.analytics_timeout_seconds",
                "analytics",
                l.analytics_timeout_seconds,
            ),
            (
                "lambda.reporting_timeout_seconds",
                "reporting",
                l.reporting_timeout_seconds,
            ),
        ];
        let worst = consumers
            .into_iter()
            .filter(|(key, _, t)| {
                let (section, name) = key.split_once('.').unwrap_or_default();
                Self::in_range(section, name, *t)
            })
            .max_by_key(|(_, _, t)| *t);
        if let Some((key, queue, timeout)) = worst {
            let needed = timeout.saturating_mul(VISIBILITY_TIMEOUT_FACTOR);
            if visibility < needed {
                self.push(
                    "queues.visibility_timeout_seconds",
                    visibility.to_string(),
                    format!(
                        "must be at least {VISIBILITY_TIMEOUT_FACTOR} x `{key}` ({timeout}) = \
                         {needed}: the `{queue}` queue's consumer could still be working on a \
                         batch when its messages become visible again"
                    ),
                    format!(
                        "set `queues.visibility_timeout_seconds` to {needed} or more, or lower \
                         `{key}` to {} or less",
                        visibility / VISIBILITY_TIMEOUT_FACTOR
                    ),
                );
            }
        }
    }

    fn dynamodb(&mut self, config: &Config) {
        let d = &config.dynamodb;
        let attribute = &d.ttl_attribute;
        let shown = format!("{attribute:?}");
        if attribute.is_empty() || attribute.len() > 255 {
            self.push(
                "dynamodb.ttl_attribute",
                shown,
                "must be 1 to 255 bytes long (DynamoDB attribute names)",
                "set it to \"expires_at\" (the default)",
            );
        } else if KEY_ATTRIBUTES.contains(&attribute.as_str()) {
            self.push(
                "dynamodb.ttl_attribute",
                shown,
                format!(
                    "must not be a key attribute ({}): those are strings, and TTL reads a \
                     number of epoch seconds",
                    KEY_ATTRIBUTES.map(|a| format!("`{a}`")).join(", ")
                ),
                "use a separate attribute such as \"expires_at\" (the default)",
            );
        }
        let bounds_valid = Self::in_range("dynamodb", "min_capacity", d.min_capacity)
            && Self::in_range("dynamodb", "max_capacity", d.max_capacity);
        if !bounds_valid {
            return;
        }
        if d.max_capacity < d.min_capacity {
            self.push(
                "dynamodb.max_capacity",
                d.max_capacity.to_string(),
                format!(
                    "must be at least `dynamodb.min_capacity` ({}): Application Auto Scaling \
                     refuses a target whose maximum is below its minimum",
                    d.min_capacity
                ),
                format!(
                    "set `dynamodb.max_capacity` to {} or more, or lower `dynamodb.min_capacity`",
                    d.min_capacity
                ),
            );
            return;
        }
        for (key, value) in [
            ("dynamodb.read_capacity", d.read_capacity),
            ("dynamodb.write_capacity", d.write_capacity),
        ] {
            let Some(units) = value else { continue };
            let (section, name) = key.split_once('.').unwrap_or_default();
            if Self::in_range(section, name, units)
                && !(d.min_capacity..=d.max_capacity).contains(&units)
            {
                self.push(
                    key,
                    units.to_string(),
                    format!(
                        "must be within `dynamodb.min_capacity`..=`dynamodb.max_capacity` \
                         ({}..={}): auto scaling would move it there at once",
                        d.min_capacity, d.max_capacity
                    ),
                    format!(
                        "set it between {} and {}, or leave it unset to derive it from the \
                         observed consumption",
                        d.min_capacity, d.max_capacity
                    ),
                );
            }
        }
    }

    fn api(&mut self, config: &Config) {
        let stage = &config.api.stage;
        let shown = format!("{stage:?}");
        if stage.is_empty() || stage.chars().count() > 128 {
            self.push(
                "api.stage",
                shown,
                "must be 1 to 128 characters (API Gateway stage names)",
                "set it to \"prod\" (the default)",
            );
        } else if let Some(c) = stage
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            let suggestion: String = stage
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            self.push(
                "api.stage",
                shown,
                format!("contains `{c}`; API Gateway stage names are letters, digits, `-` and `_`"),
                format!("use `{suggestion}`"),
            );
        }
    }

    fn alarms(&mut self, config: &Config) {
        let email = &config.alarms.email;
        if !email.is_empty() && !plausible_email(email) {
            self.push(
                "alarms.email",
                format!("{email:?}"),
                "must be empty or an e-mail address such as `ops@example.com`",
                "correct the address, or set it to \"\" for no e-mail subscription",
            );
        }
    }

    fn deploy(&mut self, config: &Config) {
        if let Err(e) = config.canary_policy() {
            self.push(
                "deploy.canary",
                format!("{:?}", config.deploy.canary),
                format!("{} (the format is {})", e.rule, canary_policy::FORMAT),
                e.fix,
            );
        }
    }

    fn aws(&mut self, config: &Config) {
        let aws = &config.aws;
        if let Some(region) = &aws.region
            && let Some(fix) = region_problem(region)
        {
            self.push(
                "aws.region",
                format!("{region:?}"),
                "must be an AWS region code such as `us-east-1` or `eu-central-1`",
                fix,
            );
        }
        if let Some(profile) = &aws.profile
            && (profile.trim().is_empty() || profile.chars().any(char::is_whitespace))
        {
            self.push(
                "aws.profile",
                format!("{profile:?}"),
                "must be a profile name from `~/.aws/config`, without spaces",
                "fix the name, or leave `aws.profile` unset to use `AWS_PROFILE` or `default`",
            );
        }
        if let Some(url) = &aws.endpoint_url
            && let Some(problem) = url_problem(url)
        {
            self.push(
                "aws.endpoint_url",
                format!("{url:?}"),
                format!("must be an `http://` or `https://` URL ({problem})"),
                "use a URL such as `http://127.0.0.1:4566`, or leave it unset for AWS itself",
            );
        }
    }
}

/// The longest name each kind allows, and what to call it; `None` for kinds whose physical
/// name is no AWS name derived from `{prefix}-{env}` (a KMS key is found by its alias,
/// scaling targets, deployments and event source mappings get generated ids, an alias is
/// always `live`, a stage is named by `api.stage`).
fn name_limit(kind: ResourceKind) -> Option<(usize, &'static str)> {
    match kind {
        ResourceKind::KmsAlias => Some((256, "KMS alias name")),
        ResourceKind::Bucket => Some((63, "S3 bucket name")),
        ResourceKind::Queue => Some((80, "SQS queue name")),
        ResourceKind::Topic => Some((256, "SNS topic name")),
        ResourceKind::Role => Some((64, "IAM role name")),
        ResourceKind::LogGroup => Some((512, "log group name")),
        ResourceKind::SubscriptionFilter => Some((512, "subscription filter name")),
        ResourceKind::DeliveryStream => Some((64, "Firehose delivery stream name")),
        ResourceKind::Table => Some((255, "DynamoDB table name")),
        ResourceKind::ScalingPolicy => Some((256, "scaling policy name")),
        ResourceKind::Function => Some((64, "Lambda function name")),
        ResourceKind::LambdaPermission => Some((100, "Lambda permission statement id")),
        ResourceKind::RestApi => Some((1024, "REST API name")),
        ResourceKind::UsagePlan => Some((1024, "usage plan name")),
        ResourceKind::ApiKey => Some((1024, "API key name")),
        ResourceKind::Alarm => Some((255, "CloudWatch alarm name")),
        ResourceKind::Dashboard => Some((255, "CloudWatch dashboard name")),
        ResourceKind::KmsKey
        | ResourceKind::ScalingTarget
        | ResourceKind::LambdaAlias
        | ResourceKind::EventInvokeConfig
        | ResourceKind::EventSourceMapping
        | ResourceKind::ApiAccount
        | ResourceKind::ApiDeployment
        | ResourceKind::ApiStage
        | ResourceKind::UsagePlanKey => None,
    }
}

/// Lowercase, with every other character turned into `-`, and no leading, trailing or
/// doubled `-`: the nearest valid name part.
fn sanitize(value: &str) -> String {
    let mut out = String::new();
    for c in value.to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// A fix for a tag key with a reserved prefix (matched case-insensitively, so ASCII).
fn rename_without_prefix(name: &str, prefix: &str) -> String {
    match name.get(prefix.len()..) {
        Some(rest) if !rest.is_empty() => {
            format!("rename the tag without the prefix, e.g. `{rest}`")
        }
        _ => "rename the tag".to_owned(),
    }
}

/// Characters AWS accepts in tag keys and values: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric()
        || c == ' '
        || c.is_whitespace() && !c.is_control()
        || "_.:/=+-@".contains(c)
}

fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && s.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Why `region` is not a region code (`xx-name-N`), as a fix to print; `None` when it is one.
fn region_problem(region: &str) -> Option<String> {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let valid = parts.len() >= 3
        && parts[0].len() == 2
        && letters(&parts[0])
        && parts[1..parts.len() - 1].iter().all(letters)
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if valid {
        return None;
    }
    let zone = region.trim_end_matches(|c: char| c.is_ascii_lowercase());
    if zone != region
        && zone.ends_with(|c: char| c.is_ascii_digit())
        && region_problem(zone).is_none()
    {
        return Some(format!(
            "use `{zone}`: `{region}` is an availability zone, not a region"
        ));
    }
    let lower = region.to_ascii_lowercase().replace('_', "-");
    if lower != region && region_problem(&lower).is_none() {
        return Some(format!("use `{lower}`"));
    }
    Some("use a region code such as `us-east-1`".to_owned())
}

/// What is wrong with an endpoint URL, or `None` when it is a plausible http(s) URL.
fn url_problem(url: &str) -> Option<&'static str> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Some("the scheme must be `http` or `https`");
    };
    if url.chars().any(char::is_whitespace) {
        return Some("it contains whitespace");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
        _ => (authority, None),
    };
    if host.is_empty() {
        return Some("the host is missing");
    }
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Some("the port must be a number up to 65535");
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn valid() -> Config {
        Config::defaults().unwrap()
    }

    fn keys(config: &Config) -> Vec<String> {
        validate(config, &BTreeMap::new())
            .into_iter()
            .map(|e| e.key)
            .collect()
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(keys(&valid()), Vec::<String>::new());
    }

    #[test]
    fn ranges_come_from_the_schema_with_the_default_in_the_fix() {
        let mut c = valid();
        c.queues.max_receive_count = 0;
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "queues.max_receive_count");
        assert_eq!(
            errors[0].rule,
            "must be between 1 and 1000 (SQS maxReceiveCount)"
        );
        assert_eq!(
            errors[0].fix,
            "set it to 3 (the default) or any value in 1..=1000"
        );
    }

    #[test]
    fn retention_outside_the_cloudwatch_set_names_the_neighbours() {
        let mut c = valid();
        c.logs.retention_days = 8;
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors[0].key, "logs.retention_days");
        assert!(
            errors[0]
                .fix
                .starts_with("use 7 or 14, the nearest allowed values")
        );
    }

    #[test]
    fn a_long_prefix_is_caught_by_the_bucket_name_limit() {
        let mut c = valid();
        // `{prefix}-dev-logs-123456789012-ap-southeast-1`: a 26-character prefix makes 63.
        c.stack.prefix = "a".repeat(26);
        assert_eq!(keys(&c), Vec::<String>::new());
        c.stack.prefix = "a".repeat(27);
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].rule.contains("S3 bucket name"),
            "{}",
            errors[0].rule
        );
        assert!(
            errors[0].fix.contains("at most 30 characters"),
            "{}",
            errors[0].fix
        );
    }

    #[test]
    fn a_configured_region_replaces_the_worst_case_one() {
        let mut c = valid();
        // `us-east-1` is 5 characters shorter than the assumed worst case.
        c.stack.prefix = "a".repeat(31);
        c.aws.region = Some("us-east-1".into());
        assert_eq!(keys(&c), Vec::<String>::new());
        c.stack.prefix = "a".repeat(32);
        assert_eq!(keys(&c), ["stack.prefix"]);
    }

    #[test]
    fn name_parts_get_a_sanitized_suggestion() {
        let mut c = valid();
        c.stack.prefix = "My_App".into();
        c.stack.env = "-dev".into();
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].fix, "use `my-app`");
        assert!(errors[1].rule.contains("start or end with `-`"));
    }

    #[test]
    fn reserved_and_malformed_tags_are_each_reported() {
        let mut c = valid();
        c.stack.tags.insert("aws:team".into(), "x".into());
        c.stack.tags.insert("txdeploy:stack".into(), "x".into());
        c.stack.tags.insert("ok".into(), "v".repeat(257));
        c.stack.tags.insert("bad#key".into(), "x".into());
        assert_eq!(
            keys(&c),
            [
                "stack.tags.\"aws:team\"",
                "stack.tags.\"bad#key\"",
                "stack.tags.ok",
                "stack.tags.\"txdeploy:stack\""
            ]
        );
    }

    #[test]
    fn glacier_objects_must_live_ninety_days_before_expiring() {
        let mut c = valid();
        c.logs.glacier_after_days = 30;
        c.logs.expire_after_days = 119;
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors[0].key, "logs.expire_after_days");
        assert!(errors[0].rule.contains("= 120"));
        c.logs.expire_after_days = 120;
        assert_eq!(keys(&c), Vec::<String>::new());
    }

    #[test]
    fn archive_prefix_must_be_a_folder() {
        for (prefix, fix) in [
            ("", "\"logs/\""),
            ("logs", "\"logs/\""),
            ("/logs/", "\"logs/\""),
        ] {
            let mut c = valid();
            c.logs.archive_prefix = prefix.into();
            let errors = validate(&c, &BTreeMap::new());
            assert_eq!(errors.len(), 1, "{prefix:?}");
            assert!(errors[0].fix.contains(fix), "{prefix:?}: {}", errors[0].fix);
        }
    }

    #[test]
    fn dlq_retention_must_cover_the_queue_retention() {
        let mut c = valid();
        c.queues.dlq_retention_seconds = 3600;
        assert_eq!(keys(&c), ["queues.dlq_retention_seconds"]);
        // An out-of-range value is one error, not two.
        c.queues.dlq_retention_seconds = 10;
        assert_eq!(keys(&c), ["queues.dlq_retention_seconds"]);
    }

    #[test]
    fn emails_regions_and_urls() {
        assert!(plausible_email("ops@example.com"));
        assert!(!plausible_email("ops@example"));
        assert!(!plausible_email("ops example.com"));
        assert!(!plausible_email("a@b@c.com"));
        assert_eq!(region_problem("us-gov-west-1"), None);
        assert_eq!(region_problem("ap-southeast-1"), None);
        assert!(
            region_problem("us-east-1a")
                .unwrap()
                .contains("availability zone")
        );
        assert_eq!(region_problem("US_EAST_1").unwrap(), "use `us-east-1`");
        assert!(region_problem("useast1").is_some());
        assert_eq!(url_problem("http://127.0.0.1:4566"), None);
        assert_eq!(url_problem("https://sqs.us-east-1.amazonaws.com/"), None);
        assert!(url_problem("ftp://x").is_some());
        assert!(url_problem("http://").is_some());
        assert!(url_problem("http://localhost:port").is_some());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_source() {
        let mut c = valid();
        c.queues.max_receive_count = 0;
        c.deploy.parallelism = 100;
        c.alarms.email = "nope".into();
        let sources = BTreeMap::from([(
            "deploy.parallelism".to_owned(),
            Source::Flag {
                flag: "--parallelism".into(),
            },
        )]);
        let errors = validate(&c, &sources);
        assert_eq!(errors.len(), 3);
        let parallelism = errors
            .iter()
            .find(|e| e.key == "deploy.parallelism")
            .unwrap();
        assert_eq!(
            parallelism.source,
            Source::Flag {
                flag: "--parallelism".into()
            }
        );
    }

    #[test]
    fn lambda_memory_and_timeouts_are_in_aws_ranges() {
        let mut c = valid();
        c.lambda.validator_memory_mb = 100;
        c.lambda.reporting_memory_mb = 20_000;
        c.lambda.notification_timeout_seconds = 0;
        assert_eq!(
            keys(&c),
            [
                "lambda.validator_memory_mb",
                "lambda.reporting_memory_mb",
                "lambda.notification_timeout_seconds"
            ]
        );
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(
            errors[0].rule,
            "must be between 128 and 10240 (Lambda MemorySize in MB)"
        );
    }

    #[test]
    fn the_validator_must_answer_before_api_gateway_gives_up() {
        let mut c = valid();
        c.lambda.validator_timeout_seconds = 30;
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "lambda.validator_timeout_seconds");
        assert!(errors[0].rule.contains("29 s"), "{}", errors[0].rule);
        c.lambda.validator_timeout_seconds = 29;
        assert_eq!(keys(&c), Vec::<String>::new());
    }

    #[test]
    fn visibility_timeout_covers_six_times_the_slowest_consumer_naming_both_keys() {
        let mut c = valid();
        c.lambda.reporting_timeout_seconds = 60;
        let errors = validate(&c, &BTreeMap::new());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, "queues.visibility_timeout_seconds");
        assert!(
            errors[0]
                .rule
                .contains("`lambda.reporting_timeout_seconds` (60) = 360"),
            "{}",
            errors[0].rule
        );
        assert!(errors[0].fix.contains("360 or more"), "{}", errors[0].fix);
        assert!(errors[0].fix.contains("30 or less"), "{}", errors[0].fix);
        c.queues.visibility_timeout_seconds = 360;
        assert_eq!(keys(&c), Vec::<String>::new());
        // An out-of-range timeout is its own error, not a second one here.
        c.lambda.analytics_timeout_seconds = 5000;
        assert_eq!(keys(&c), ["lambda.analytics_timeout_seconds"]);
    }

    #[test]
    fn provisioned_concurrency_fits_in_the_reservation() {
        let mut c = valid();
        c.lambda.provisioned_concurrency = 150;
        assert_eq!(keys(&c), ["lambda.provisioned_concurrency"]);
        c.lambda.reserved_concurrency = 0;
        assert_eq!(keys(&c), Vec::<String>::new());
        c.lambda.reserved_concurrency = 1001;
        assert_eq!(keys(&c), ["lambda.reserved_concurrency"]);
    }

    #[test]
    fn table_settings_are_checked_against_dynamodb_and_auto_scaling() {
        let mut c = valid();
        c.dynamodb.pitr_recovery_days = 36;
        c.dynamodb.ttl_attribute = "transaction_id".into();
        c.dynamodb.target_utilization = 95;
        assert_eq!(
            keys(&c),
            [
                "dynamodb.pitr_recovery_days",
                "dynamodb.target_utilization",
                "dynamodb.ttl_attribute"
            ]
        );
        let mut c = valid();
        c.dynamodb.min_capacity = 50;
        c.dynamodb.max_capacity = 10;
        c.dynamodb.read_capacity = Some(1);
        // Inverted bounds are one error; the initial capacity is not judged against them.
        assert_eq!(keys(&c), ["dynamodb.max_capacity"]);
        c.dynamodb.max_capacity = 100;
        assert_eq!(keys(&c), ["dynamodb.read_capacity"]);
        c.dynamodb.read_capacity = Some(50);
        c.dynamodb.write_capacity = Some(101);
        assert_eq!(keys(&c), ["dynamodb.write_capacity"]);
    }

    #[test]
    fn stage_names_and_api_ranges() {
        let mut c = valid();
        c.api.stage = "prod v2".into();
        c.api.cache_ttl_seconds = 3601;
        c.api.throttle_burst = 0;
        let errors = validate(&c, &BTreeMap::new());
        let found: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            found,
            ["api.cache_ttl_seconds", "api.throttle_burst", "api.stage"]
        );
        assert_eq!(errors[2].fix, "use `prod_v2`");
    }

    #[test]
    fn alarm_thresholds_are_percentages_and_fractions() {
        let mut c = valid();
        c.alarms.error_rate_percent = 150.0;
        c.alarms.concurrency_fraction = 0.0;
        c.alarms.p99_latency_ms = 0;
        let errors = validate(&c, &BTreeMap::new());
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            found,
            [
                ("alarms.error_rate_percent", "150.0"),
                ("alarms.p99_latency_ms", "0"),
                ("alarms.concurrency_fraction", "0.0"),
            ]
        );
        assert_eq!(
            errors[0].fix,
            "set it to 1.0 (the default) or any number from 0.0 to 100.0"
        );
    }

    #[test]
    fn every_derived_name_is_checked_against_its_aws_limit() {
        let config = valid();
        let env = Environment {
            account_id: ACCOUNT_PLACEHOLDER.to_owned(),
            region: LONGEST_REGION.to_owned(),
            partition: "aws".to_owned(),
        };
        let graph = crate::stack::build(&config, &env, &crate::stack::test_inputs())
            .check()
            .unwrap();
        let mut limited = std::collections::BTreeSet::new();
        for spec in graph.in_order() {
            if let Some((limit, what)) = name_limit(spec.kind()) {
                assert!(
                    spec.physical_name.chars().count() <= limit,
                    "{what} `{}`",
                    spec.physical_name
                );
                limited.insert(spec.kind());
            }
        }
        for kind in [
            ResourceKind::Function,
            ResourceKind::Role,
            ResourceKind::LogGroup,
            ResourceKind::Table,
            ResourceKind::RestApi,
            ResourceKind::Alarm,
            ResourceKind::Dashboard,
            ResourceKind::DeliveryStream,
        ] {
            assert!(limited.contains(&kind), "{kind} names are not checked");
        }
        assert_eq!(
            name_limit(ResourceKind::Function),
            Some((64, "Lambda function name"))
        );
        assert_eq!(name_limit(ResourceKind::Role), Some((64, "IAM role name")));
        assert_eq!(
            name_limit(ResourceKind::LogGroup),
            Some((512, "log group name"))
        );
        assert_eq!(
            name_limit(ResourceKind::Table),
            Some((255, "DynamoDB table name"))
        );
        assert_eq!(
            name_limit(ResourceKind::RestApi),
            Some((1024, "REST API name"))
        );
        assert_eq!(
            name_limit(ResourceKind::Alarm),
            Some((255, "CloudWatch alarm name"))
        );
        assert_eq!(
            name_limit(ResourceKind::DeliveryStream),
            Some((64, "Firehose delivery stream name"))
        );
    }
}
