//! Lambda functions: configuration, embedded code (uploaded only when its sha differs),
//! reserved concurrency, tags and published versions, plus the account-concurrency
//! preflight that runs before any reservation.

use std::collections::HashMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionConfiguration, LastUpdateStatus, LoggingConfig, Runtime,
    State, TracingConfig, TracingMode,
};
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, Tags, desired_tags, observed_tags, tags_json};
use super::{resolved_field, resolved_i32, resolved_text, unknown_field};
use crate::cloud::waiter::{Poll, WaitPolicy, wait_until};
use crate::cloud::{CloudError, ErrorClass, Observed, StepContext};
use crate::spec::{FunctionSpec, OutputKey, Outputs, ResourceSpec, field};
use crate::stack::DEFAULT_ACCOUNT_CONCURRENCY_LIMIT;

const SERVICE: &str = "lambda";

/// The concurrency AWS keeps unreserved in every account: reservations may not go below it.
pub const UNRESERVED_MINIMUM: u32 = 100;

/// The fields `UpdateFunctionConfiguration` sets.
const CONFIG_FIELDS: [&str; 8] = [
    field::RUNTIME,
    field::HANDLER,
    field::MEMORY_SIZE,
    field::TIMEOUT,
    field::ENVIRONMENT,
    field::TRACING_MODE,
    field::ROLE,
    field::LOGGING_CONFIG,
];

/// The function named `name`, or `None` when it does not exist.
pub async fn observe(clients: &AwsClients, name: &str) -> Result<Option<Observed>, CloudError> {
    let Some(config) = clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .classified(SERVICE, "GetFunction")
        .found(&[])?
        .and_then(|out| out.configuration)
    else {
        return Ok(None);
    };
    let arn = unqualified(config.function_arn().unwrap_or_default());
    let tags: Tags = clients
        .lambda
        .list_tags()
        .resource(&arn)
        .send()
        .await
        .classified(SERVICE, "ListTags")?
        .tags
        .unwrap_or_default()
        .into_iter()
        // The release tag is written by `release::record` after an apply, not by the spec:
        // leaving it out keeps a recorded release from reading as tag drift.
        .filter(|(key, _)| key != crate::release::RELEASE_TAG)
        .collect();
    let reserved = clients
        .lambda
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
        .classified(SERVICE, "GetFunctionConcurrency")?
        .reserved_concurrent_executions;
    let version = matching_version(clients, name, &config).await?;

    let mut outputs = Outputs::from([(OutputKey::Arn, arn), (OutputKey::Name, name.to_owned())]);
    if let Some(version) = version {
        outputs.insert(OutputKey::Version, version);
    }
    let mut fields = config_fields(name, &config);
    fields.insert(field::FUNCTION_NAME.to_owned(), Json::from(name));
    fields.insert(field::TAGS.to_owned(), tags_json(&tags));
    fields.insert(
        field::RESERVED_CONCURRENCY.to_owned(),
        reserved.map_or(Json::Null, Json::from),
    );
    fields.insert(
        field::CODE_SHA256.to_owned(),
        Json::from(config.code_sha256().unwrap_or_default()),
    );
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs,
        fields,
    }))
}

/// `…:function:name:$LATEST` without the qualifier; other ARNs as they are.
fn unqualified(arn: &str) -> String {
    arn.strip_suffix(":$LATEST").unwrap_or(arn).to_owned()
}

/// The configuration fields of one function version, in the spec's shapes.
fn config_fields(
    name: &str,
    config: &FunctionConfiguration,
) -> std::collections::BTreeMap<String, Json> {
    let environment: serde_json::Map<String, Json> = config
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| (k.clone(), Json::from(v.as_str())))
                .collect()
        })
        .unwrap_or_default();
    // Lambda logs to `/aws/lambda/{name}` unless told otherwise, and reports that default
    // as the log group; an answer without one (moto stores no LoggingConfig) means it.
    let log_group = config
        .logging_config()
        .and_then(LoggingConfig::log_group)
        .map_or_else(|| format!("/aws/lambda/{name}"), str::to_owned);
    let architectures: Vec<Json> = match config.architectures() {
        [] => vec![Json::from("x86_64")],
        list => list.iter().map(|a| Json::from(a.as_str())).collect(),
    };
    [
        (
            field::RUNTIME,
            config
                .runtime()
                .map_or(Json::Null, |r| Json::from(r.as_str())),
        ),
        (field::ARCHITECTURES, Json::Array(architectures)),
        (
            field::HANDLER,
            config.handler().map_or(Json::Null, Json::from),
        ),
        (
            field::MEMORY_SIZE,
            config.memory_size().map_or(Json::Null, Json::from),
        ),
        (
            field::TIMEOUT,
            config.timeout().map_or(Json::Null, Json::from),
        ),
        (field::ENVIRONMENT, Json::Object(environment)),
        (
            field::TRACING_MODE,
            Json::from(
                config
                    .tracing_config()
                    .and_then(|t| t.mode())
                    .map_or("PassThrough", TracingMode::as_str),
            ),
        ),
        (field::ROLE, config.role().map_or(Json::Null, Json::from)),
        (
            field::LOGGING_CONFIG,
            serde_json::json!({ "log_group": log_group }),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The newest published version whose code and configuration equal `$LATEST`, if any.
async fn matching_version(
    clients: &AwsClients,
    name: &str,
    latest: &FunctionConfiguration,
) -> Result<Option<String>, CloudError> {
    let want = config_fields(name, latest);
    let mut best: Option<u64> = None;
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .lambda
            .list_versions_by_function()
            .function_name(name)
            .set_marker(marker.clone())
            .send()
            .await
            .classified(SERVICE, "ListVersionsByFunction")?;
        for v in page.versions() {
            let Some(number) = v.version().and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            if v.code_sha256() == latest.code_sha256()
                && config_fields(name, v) == want
                && best.is_none_or(|b| number > b)
            {
                best = Some(number);
            }
        }
        match page.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(best.map(|n| n.to_string()))
}

/// The resolved configuration of a spec, ready to send.
struct ResolvedConfig {
    role: String,
    environment: HashMap<String, String>,
    log_group: String,
}

fn resolve_config(
    spec: &ResourceSpec,
    ctx: &StepContext,
    op: &str,
) -> Result<ResolvedConfig, CloudError> {
    let role = resolved_field(spec, field::ROLE, ctx, SERVICE, op)?;
    let environment = resolved_field(spec, field::ENVIRONMENT, ctx, SERVICE, op)?;
    let logging = resolved_field(spec, field::LOGGING_CONFIG, ctx, SERVICE, op)?;
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(ResolvedConfig {
        role: text(&role),
        environment: environment
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default(),
        log_group: logging.get("log_group").map(text).unwrap_or_default(),
    })
}

fn tracing(mode: &str) -> TracingConfig {
    TracingConfig::builder()
        .mode(TracingMode::from(mode))
        .build()
}

fn env_of(vars: HashMap<String, String>) -> Environment {
    Environment::builder().set_variables(Some(vars)).build()
}

fn logging_of(log_group: String) -> LoggingConfig {
    LoggingConfig::builder().log_group(log_group).build()
}

/// CreateFunction (not published), wait for Active, reserve concurrency, PublishVersion.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    function: &FunctionSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateFunction";
    let name = spec.physical_name.as_str();
    let resolved = resolve_config(spec, ctx, op)?;
    let bundle = crate::bundle::embedded();
    let created = clients
        .lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::from(function.runtime.as_str()))
        .architectures(Architecture::from(function.architecture.as_str()))
        .handler(&function.handler)
        .role(resolved.role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(Blob::new(bundle.zip))
                .build(),
        )
        .memory_size(to_i32(function.memory_mb))
        .timeout(to_i32(function.timeout_seconds))
        .environment(env_of(resolved.environment))
        .tracing_config(tracing(&function.tracing_mode))
        .logging_config(logging_of(resolved.log_group))
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .publish(false)
        .send()
        .await
        .classified(SERVICE, op)?;
    let arn = unqualified(created.function_arn().unwrap_or_default());
    wait_active(clients, name, ctx).await?;
    if let Some(reserved) = function.reserved_concurrency {
        put_concurrency(clients, name, Some(to_i32(reserved))).await?;
    }
    let version = publish(clients, name, ctx).await?;
    Ok(Outputs::from([
        (OutputKey::Arn, arn),
        (OutputKey::Name, name.to_owned()),
        (OutputKey::Version, version),
    ]))
}

/// Lambda's integers are `i32`; the spec's are small `u32`s (validated by config).
fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

async fn wait_active(
    clients: &AwsClients,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    wait_until(
        &format!("function `{name}` to become Active"),
        ctx,
        WaitPolicy::SHORT,
        || async {
            let config = clients
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .classified(SERVICE, "GetFunctionConfiguration")?;
            Ok(match config.state() {
                Some(State::Active) | None => Poll::Ready(()),
                Some(State::Failed) => {
                    return Err(CloudError::fatal(
                        SERVICE,
                        "CreateFunction",
                        format!(
                            "function `{name}` failed to become Active: {}; fix the cause, \
                             then run the command again",
                            config.state_reason().unwrap_or("no reason given")
                        ),
                    ));
                }
                Some(other) => Poll::Pending(other.as_str().to_owned()),
            })
        },
    )
    .await
}

async fn wait_updated(
    clients: &AwsClients,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    wait_until(
        &format!("the update of function `{name}`"),
        ctx,
        WaitPolicy::SHORT,
        || async {
            let config = clients
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .classified(SERVICE, "GetFunctionConfiguration")?;
            Ok(match config.last_update_status() {
                Some(LastUpdateStatus::Successful) | None => Poll::Ready(()),
                Some(LastUpdateStatus::Failed) => {
                    return Err(CloudError::fatal(
                        SERVICE,
                        "UpdateFunctionConfiguration",
                        format!(
                            "the update of function `{name}` failed: {}; fix the cause, then \
                             run the command again",
                            config
                                .last_update_status_reason()
                                .unwrap_or("no reason given")
                        ),
                    ));
                }
                Some(other) => Poll::Pending(other.as_str().to_owned()),
            })
        },
    )
    .await
}

async fn put_concurrency(
    clients: &AwsClients,
    name: &str,
    reserved: Option<i32>,
) -> Result<(), CloudError> {
    match reserved {
        Some(n) => {
            clients
                .lambda
                .put_function_concurrency()
                .function_name(name)
                .reserved_concurrent_executions(n)
                .send()
                .await
                .classified(SERVICE, "PutFunctionConcurrency")?;
        }
        None => {
            clients
                .lambda
                .delete_function_concurrency()
                .function_name(name)
                .send()
                .await
                .classified(SERVICE, "DeleteFunctionConcurrency")?;
        }
    }
    Ok(())
}

/// PublishVersion of `$LATEST`; the description names the bundle, so releases can be read
/// back from AWS.
async fn publish(
    clients: &AwsClients,
    name: &str,
    ctx: &StepContext,
) -> Result<String, CloudError> {
    let bundle = crate::bundle::embedded();
    let published = clients
        .lambda
        .publish_version()
        .function_name(name)
        .description(format!("txdeploy bundle sha256 {}", bundle.sha256_hex))
        .send()
        .await
        .classified(SERVICE, "PublishVersion")?;
    let version = published.version().unwrap_or_default().to_owned();
    ctx.progress(format!("published version {version} of function `{name}`"));
    Ok(version)
}

/// Code, then configuration (each awaited), then a new version if either changed;
/// concurrency and tags on their own calls.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    function: &FunctionSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let name = spec.physical_name.as_str();
    let has = |f: &str| changed.iter().any(|c| c == f);
    if let Some(unknown) = changed.iter().find(|c| {
        !CONFIG_FIELDS.contains(&c.as_str())
            && ![
                field::CODE_SHA256,
                field::ARCHITECTURES,
                field::RESERVED_CONCURRENCY,
                field::TAGS,
            ]
            .contains(&c.as_str())
    }) {
        return Err(unknown_field(spec, unknown));
    }
    let code_changed = has(field::CODE_SHA256) || has(field::ARCHITECTURES);
    let config_changed = CONFIG_FIELDS.iter().any(|f| has(f));
    if code_changed {
        let bundle = crate::bundle::embedded();
        clients
            .lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(bundle.zip))
            .architectures(Architecture::from(function.architecture.as_str()))
            .send()
            .await
            .classified(SERVICE, "UpdateFunctionCode")?;
        wait_updated(clients, name, ctx).await?;
    }
    if config_changed {
        let op = "UpdateFunctionConfiguration";
        let resolved = resolve_config(spec, ctx, op)?;
        // Read through `resolved_field`, so an undo sends the recorded values; a setting
        // recorded as null (AWS reported none) is left unset.
        let runtime = resolved_text(spec, field::RUNTIME, ctx, SERVICE, op)?;
        let handler = resolved_text(spec, field::HANDLER, ctx, SERVICE, op)?;
        let memory = resolved_i32(spec, field::MEMORY_SIZE, ctx, SERVICE, op)?;
        let timeout = resolved_i32(spec, field::TIMEOUT, ctx, SERVICE, op)?;
        let tracing_mode = resolved_text(spec, field::TRACING_MODE, ctx, SERVICE, op)?;
        clients
            .lambda
            .update_function_configuration()
            .function_name(name)
            .set_runtime(runtime.map(|r| Runtime::from(r.as_str())))
            .set_handler(handler)
            .role(resolved.role)
            .set_memory_size(memory)
            .set_timeout(timeout)
            .environment(env_of(resolved.environment))
            .set_tracing_config(tracing_mode.as_deref().map(tracing))
            .logging_config(logging_of(resolved.log_group))
            .send()
            .await
            .classified(SERVICE, op)?;
        wait_updated(clients, name, ctx).await?;
    }
    if has(field::RESERVED_CONCURRENCY) {
        let op = "PutFunctionConcurrency";
        let reserved = resolved_i32(spec, field::RESERVED_CONCURRENCY, ctx, SERVICE, op)?;
        put_concurrency(clients, name, reserved).await?;
    }
    let arn = current
        .outputs
        .get(&OutputKey::Arn)
        .cloned()
        .unwrap_or_default();
    if has(field::TAGS) {
        let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
        if !diff.set.is_empty() {
            clients
                .lambda
                .tag_resource()
                .resource(&arn)
                .set_tags(Some(diff.set.into_iter().collect()))
                .send()
                .await
                .classified(SERVICE, "TagResource")?;
        }
        if !diff.remove.is_empty() {
            clients
                .lambda
                .untag_resource()
                .resource(&arn)
                .set_tag_keys(Some(diff.remove))
                .send()
                .await
                .classified(SERVICE, "UntagResource")?;
        }
    }
    let mut outputs = current.outputs.clone();
    if code_changed || config_changed {
        outputs.insert(OutputKey::Version, publish(clients, name, ctx).await?);
    }
    Ok(outputs)
}

/// DeleteFunction (every version goes with it); a function already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .lambda
        .delete_function()
        .function_name(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteFunction")
        .found(&[])?;
    Ok(())
}

/// The account's concurrency as `GetAccountSettings` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountConcurrency {
    /// `AccountLimit.ConcurrentExecutions`: the regional limit.
    pub limit: u32,
    /// `AccountLimit.UnreservedConcurrentExecutions`: what no function has reserved now.
    pub unreserved: u32,
}

/// What the reserved-concurrency preflight concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preflight {
    /// The reservation fits (or nothing is reserved).
    Ok,
    /// The check could not run; the text says why. Not a reason to stop.
    Warning(String),
    /// The reservation would leave the account under its unreserved minimum: stop before
    /// any mutation. The text names `lambda.reserved_concurrency` and the numbers.
    Refused(String),
}

/// The pure rule: reserving `wanted` for a function that holds `current` now must leave
/// the account at least [`UNRESERVED_MINIMUM`] unreserved. `account` is `None` when
/// `GetAccountSettings` is unavailable (moto does not implement it): the rule then runs on
/// AWS's default regional limit ([`DEFAULT_ACCOUNT_CONCURRENCY_LIMIT`]) with nothing reserved
/// by other functions, and the outcome says so: a warning when it fits, a refusal when the
/// reservation cannot fit even there.
pub fn check_reserved_concurrency(
    account: Option<AccountConcurrency>,
    current: u32,
    wanted: Option<u32>,
) -> Preflight {
    let Some(wanted) = wanted else {
        return Preflight::Ok;
    };
    let Some(account) = account else {
        let assumed = AccountConcurrency {
            limit: DEFAULT_ACCOUNT_CONCURRENCY_LIMIT,
            unreserved: DEFAULT_ACCOUNT_CONCURRENCY_LIMIT.saturating_sub(current),
        };
        let assumption = format!(
            "the account's Lambda concurrency could not be read (GetAccountSettings is not \
             available here), so AWS's default limit of {DEFAULT_ACCOUNT_CONCURRENCY_LIMIT} \
             with nothing reserved by other functions was assumed"
        );
        return match check_reserved_concurrency(Some(assumed), current, Some(wanted)) {
            Preflight::Refused(message) => Preflight::Refused(format!("{message} ({assumption})")),
            _ => Preflight::Warning(format!(
                "`lambda.reserved_concurrency` = {wanted} leaves {} unreserved, at least the \
                 minimum of {UNRESERVED_MINIMUM}, if {assumption}; on an account with a lower \
                 limit AWS refuses the reservation",
                i64::from(DEFAULT_ACCOUNT_CONCURRENCY_LIMIT) - i64::from(wanted)
            )),
        };
    };
    // Reserved by the other functions: everything reserved minus this function's share.
    let reserved_by_others = account
        .limit
        .saturating_sub(account.unreserved)
        .saturating_sub(current);
    let left = i64::from(account.limit) - i64::from(reserved_by_others) - i64::from(wanted);
    if left < i64::from(UNRESERVED_MINIMUM) {
        return Preflight::Refused(format!(
            "`lambda.reserved_concurrency` = {wanted} would leave the account {left} unreserved \
             concurrent executions (limit {}, reserved by other functions {reserved_by_others}), \
             below the minimum of {UNRESERVED_MINIMUM}; lower `lambda.reserved_concurrency` to \
             at most {} (0 reserves nothing), or ask AWS for a higher concurrency limit",
            account.limit,
            i64::from(account.limit)
                - i64::from(reserved_by_others)
                - i64::from(UNRESERVED_MINIMUM),
        ));
    }
    Preflight::Ok
}

/// Reads the account settings and the function's current reservation, then applies
/// [`check_reserved_concurrency`]. An unavailable `GetAccountSettings` (HTTP 404 or 501,
/// as on moto) is checked against AWS's default limit, saying so; other errors are
/// returned.
pub async fn preflight(
    clients: &AwsClients,
    function_name: &str,
    wanted: Option<u32>,
) -> Result<Preflight, CloudError> {
    if wanted.is_none() {
        return Ok(Preflight::Ok);
    }
    let settings = clients
        .lambda
        .get_account_settings()
        .send()
        .await
        .classified(SERVICE, "GetAccountSettings");
    let account = match settings {
        Ok(out) => out.account_limit.map(|limit| AccountConcurrency {
            limit: u32::try_from(limit.concurrent_executions).unwrap_or(0),
            unreserved: limit
                .unreserved_concurrent_executions
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        }),
        Err(e) if is_unavailable(&e) => None,
        Err(e) => return Err(e),
    };
    let current = clients
        .lambda
        .get_function_concurrency()
        .function_name(function_name)
        .send()
        .await
        .classified(SERVICE, "GetFunctionConcurrency")
        .found(&[])?
        .and_then(|out| out.reserved_concurrent_executions)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    Ok(check_reserved_concurrency(account, current, wanted))
}

/// An operation the endpoint does not implement (moto answers 404 with no error code).
fn is_unavailable(e: &CloudError) -> bool {
    matches!(e.status, Some(404 | 501)) && e.class != ErrorClass::Throttled
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: AccountConcurrency = AccountConcurrency {
        limit: 1000,
        unreserved: 1000,
    };

    #[test]
    fn reserving_within_the_account_limit_passes() {
        assert_eq!(
            check_reserved_concurrency(Some(ACCOUNT), 0, Some(100)),
            Preflight::Ok
        );
        assert_eq!(
            check_reserved_concurrency(Some(ACCOUNT), 0, None),
            Preflight::Ok
        );
        // Exactly the minimum left is allowed.
        assert_eq!(
            check_reserved_concurrency(Some(ACCOUNT), 0, Some(900)),
            Preflight::Ok
        );
    }

    #[test]
    fn a_reservation_that_eats_the_unreserved_minimum_is_refused_with_the_numbers() {
        // A new account's default: limit 10, nothing reserved.
        let small = AccountConcurrency {
            limit: 10,
            unreserved: 10,
        };
        let Preflight::Refused(message) = check_reserved_concurrency(Some(small), 0, Some(100))
        else {
            panic!("expected a refusal")
        };
        assert!(
            message.contains("`lambda.reserved_concurrency` = 100"),
            "{message}"
        );
        assert!(message.contains("limit 10"), "{message}");
        assert!(message.contains("minimum of 100"), "{message}");

        // Others reserved 850 of 1000: 100 more leaves 50.
        let busy = AccountConcurrency {
            limit: 1000,
            unreserved: 150,
        };
        assert!(matches!(
            check_reserved_concurrency(Some(busy), 0, Some(100)),
            Preflight::Refused(_)
        ));
        // The function's own current reservation is not counted against it twice.
        assert_eq!(
            check_reserved_concurrency(Some(busy), 100, Some(100)),
            Preflight::Ok
        );
    }

    #[test]
    fn an_unavailable_account_settings_call_is_a_warning_naming_the_setting() {
        let Preflight::Warning(message) = check_reserved_concurrency(None, 0, Some(100)) else {
            panic!("expected a warning")
        };
        assert!(message.contains("lambda.reserved_concurrency"), "{message}");
        assert!(message.contains("leaves 900 unreserved"), "{message}");
        assert!(message.contains("default limit of 1000"), "{message}");
        // Even on the default limit 950 leaves 50: refused, and the assumption is stated.
        let Preflight::Refused(message) = check_reserved_concurrency(None, 0, Some(950)) else {
            panic!("expected a refusal")
        };
        assert!(message.contains("would leave the account 50"), "{message}");
        assert!(message.contains("at most 900"), "{message}");
        assert!(message.contains("default limit of 1000"), "{message}");
        // The function's own reservation is not counted as someone else's.
        assert!(matches!(
            check_reserved_concurrency(None, 900, Some(900)),
            Preflight::Warning(_)
        ));
        let moto_404 = CloudError::from_parts(SERVICE, "GetAccountSettings", None, Some(404), "");
        assert!(is_unavailable(&moto_404));
        let denied = CloudError::from_parts(
            SERVICE,
            "GetAccountSettings",
            Some("AccessDeniedException"),
            Some(403),
            "denied",
        );
        assert!(!is_unavailable(&denied));
    }

    #[test]
    fn a_role_not_yet_assumable_is_eventually_consistent() {
        let e = CloudError::from_parts(
            SERVICE,
            "CreateFunction",
            Some("InvalidParameterValueException"),
            Some(400),
            "The role defined for the function cannot be assumed by Lambda.",
        );
        assert_eq!(e.class, ErrorClass::EventuallyConsistent);
    }

    #[test]
    fn qualified_latest_arns_lose_their_qualifier() {
        assert_eq!(
            unqualified("arn:aws:lambda:us-east-1:1:function:f:$LATEST"),
            "arn:aws:lambda:us-east-1:1:function:f"
        );
        assert_eq!(
            unqualified("arn:aws:lambda:us-east-1:1:function:f"),
            "arn:aws:lambda:us-east-1:1:function:f"
        );
    }
}
