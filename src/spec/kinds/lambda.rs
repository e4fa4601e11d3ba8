//! Lambda: functions, their `live` aliases, the asynchronous-invocation config, SQS event
//! source mappings and the permissions that let API Gateway invoke an alias.

use std::collections::BTreeMap;

use crate::spec::resource_spec::{Fields, field, optional, replace, update, upload};
use crate::spec::value::{OutputRef, Value};

/// A function. The physical name is the function name.
///
/// Fields:
/// - `function_name` (replace: a function cannot be renamed).
/// - `runtime` (`"provided.al2023"`), `handler` (`"bootstrap"`), `memory_size`, `timeout`
///   (integers), `environment` (object of variable name to string), `tracing_mode`
///   (`"Active"`), `role` (role ARN), `logging_config` (`{"log_group": name}`): update via
///   `UpdateFunctionConfiguration`.
/// - `architectures` (`["x86_64"]` or `["arm64"]`, from the bundle) and `code_sha256` (the
///   bundle's base64 sha256, compared with `CodeSha256`): update via `UpdateFunctionCode`
///   with the embedded zip; unchanged code is never uploaded. Both are `OnChange::Upload`:
///   an undo never uploads code, it moves the function's `live` alias back to the version
///   it served before, which still holds the old code.
/// - `reserved_concurrency`: integer or null (`PutFunctionConcurrency` /
///   `DeleteFunctionConcurrency`). Before reserving, the adapter reads
///   `GetAccountSettings` and stops, naming `lambda.reserved_concurrency`, when the
///   reservation would leave less than the account's unreserved minimum.
/// - `tags`.
///
/// Outputs: `Arn` (unqualified), `Name`, `Version`: after every create or update the
/// adapter publishes a version and reports its number; when observing an unchanged
/// function it reports the newest published version whose code sha and configuration equal
/// `$LATEST` (or publishes one if none does).
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionSpec {
    pub runtime: String,
    /// `x86_64` or `arm64`, from the bundle.
    pub architecture: String,
    pub handler: String,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    /// Variable name to value; values may reference other resources' outputs.
    pub environment: BTreeMap<String, Value>,
    /// `Active`: X-Ray traces every invocation.
    pub tracing_mode: String,
    /// ARN of the function's own role.
    pub role: OutputRef,
    /// Name of the function's own log group.
    pub log_group: OutputRef,
    pub reserved_concurrency: Option<u32>,
    /// sha256 of the deployment package, base64 (Lambda's `CodeSha256`).
    pub code_sha256: String,
}

impl FunctionSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::RUNTIME, update(self.runtime.as_str()));
        fields.insert(
            field::ARCHITECTURES,
            upload(Value::list([Value::str(self.architecture.clone())])),
        );
        fields.insert(field::HANDLER, update(self.handler.as_str()));
        fields.insert(field::MEMORY_SIZE, update(self.memory_mb));
        fields.insert(field::TIMEOUT, update(self.timeout_seconds));
        fields.insert(
            field::ENVIRONMENT,
            update(Value::Map(
                self.environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )),
        );
        fields.insert(field::TRACING_MODE, update(self.tracing_mode.as_str()));
        fields.insert(field::ROLE, update(self.role.clone()));
        fields.insert(
            field::LOGGING_CONFIG,
            update(Value::map([("log_group", self.log_group.clone().into())])),
        );
        fields.insert(
            field::RESERVED_CONCURRENCY,
            update(optional(self.reserved_concurrency)),
        );
        fields.insert(field::CODE_SHA256, upload(self.code_sha256.as_str()));
    }
}

/// An alias (`live`) of a function. The physical name is `{function name}:{alias}`.
///
/// Fields: `function_name` (replace: an alias belongs to its function), `function_version`
/// (the version number; update via `UpdateAlias`, which is what makes a release and a
/// rollback instant), `provisioned_concurrency` (integer or null;
/// `PutProvisionedConcurrencyConfig` on the alias), `routing` (the versions besides
/// `function_version` that get a share of the traffic, as `{"7": 0.1}`; always desired
/// null: a full release routes every request to one version. Only a canary window
/// (`src/canary*`) splits an alias, and its promotion or rollback clears the split, so a
/// split seen by `plan` is a canary that was interrupted or weights set by hand; update via
/// `UpdateAlias`, in the same call as a version change). Not taggable. Outputs: `Arn` (the
/// qualified ARN `…:function:{name}:{alias}`), `Name` (the alias name).
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaAliasSpec {
    /// Name of the function.
    pub function: OutputRef,
    /// `live`.
    pub alias_name: String,
    /// The function's published version.
    pub version: OutputRef,
    pub provisioned_concurrency: Option<u32>,
}

impl LambdaAliasSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::FUNCTION_NAME,
            replace(self.function.clone(), "an alias belongs to its function"),
        );
        fields.insert(field::FUNCTION_VERSION, update(self.version.clone()));
        fields.insert(
            field::PROVISIONED_CONCURRENCY,
            update(optional(self.provisioned_concurrency)),
        );
        fields.insert(field::ROUTING, update(Value::Null));
    }
}

/// How Lambda retries asynchronous invocations of a function alias and where it sends
/// the ones that still fail. Only for asynchronously invoked functions: on a synchronous
/// (API) function an on-failure destination never fires. The physical name is
/// `{function name}:{qualifier}`; the spec depends on the alias explicitly.
///
/// Fields: `function_name`, `qualifier` (replace: the config belongs to that alias),
/// `maximum_retry_attempts` (0..=2), `maximum_event_age_in_seconds` (60..=21600),
/// `destination_config`: `{"on_failure": queue ARN, "on_success": null}` (update via
/// `PutFunctionEventInvokeConfig`). Not taggable. Outputs: `Arn` (the qualified function
/// ARN).
#[derive(Clone, Debug, PartialEq)]
pub struct EventInvokeConfigSpec {
    /// Name of the function.
    pub function: OutputRef,
    pub qualifier: String,
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u32,
    /// ARN of the on-failure destination queue.
    pub on_failure: OutputRef,
}

impl EventInvokeConfigSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        let reason = "an event-invoke config belongs to its function alias";
        fields.insert(field::FUNCTION_NAME, replace(self.function.clone(), reason));
        fields.insert(field::QUALIFIER, replace(self.qualifier.as_str(), reason));
        fields.insert(
            field::MAXIMUM_RETRY_ATTEMPTS,
            update(self.maximum_retry_attempts),
        );
        fields.insert(
            field::MAXIMUM_EVENT_AGE,
            update(self.maximum_event_age_seconds),
        );
        fields.insert(
            field::DESTINATION_CONFIG,
            update(Value::map([
                ("on_failure", self.on_failure.clone().into()),
                ("on_success", Value::Null),
            ])),
        );
    }
}

/// An SQS event source mapping; AWS gives it a UUID, so the adapter finds it by its event
/// source and function (`ListEventSourceMappings`). The physical name is only a label.
///
/// Fields: `event_source_arn` (queue ARN; replace: a mapping cannot change its source),
/// `function_name` (the alias ARN), `batch_size`, `maximum_batching_window_in_seconds`
/// (integers), `function_response_types` (`["ReportBatchItemFailures"]`), `enabled`
/// (boolean): update via `UpdateEventSourceMapping`. `tags`. Outputs: `Id` (the UUID),
/// `Arn`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSourceMappingSpec {
    /// ARN of the queue.
    pub event_source: OutputRef,
    /// ARN of the function alias the mapping invokes.
    pub function: OutputRef,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u32,
    /// Lets the function report the failed messages of a batch; only those are retried.
    pub report_batch_item_failures: bool,
    pub enabled: bool,
}

impl EventSourceMappingSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::EVENT_SOURCE_ARN,
            replace(
                self.event_source.clone(),
                "an event source mapping cannot change its source",
            ),
        );
        fields.insert(field::FUNCTION_NAME, update(self.function.clone()));
        fields.insert(field::BATCH_SIZE, update(self.batch_size));
        fields.insert(
            field::MAXIMUM_BATCHING_WINDOW,
            update(self.maximum_batching_window_seconds),
        );
        let types = if self.report_batch_item_failures {
            vec![Value::str("ReportBatchItemFailures")]
        } else {
            Vec::new()
        };
        fields.insert(field::FUNCTION_RESPONSE_TYPES, update(Value::List(types)));
        fields.insert(field::ENABLED, update(self.enabled));
    }
}

/// One statement in a function alias's resource policy (`AddPermission` with a
/// qualifier). The physical name is the statement id; the spec depends on the alias
/// explicitly.
///
/// Fields: `function_name`, `qualifier`, `statement_id`, `action`, `principal`,
/// `source_arn`, `source_account`: all replace (a statement cannot be changed in place:
/// `RemovePermission`, then `AddPermission`). Not taggable. Outputs: `Id` (the statement
/// id).
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaPermissionSpec {
    /// Name of the function.
    pub function: OutputRef,
    pub qualifier: String,
    pub statement_id: String,
    /// `lambda:InvokeFunction`.
    pub action: String,
    /// `apigateway.amazonaws.com`.
    pub principal: String,
    /// `{execution ARN}/{stage}/{METHOD}/{path}`, path parameters as `*`.
    pub source_arn: Value,
    /// The account id, so a same-named API in another account cannot invoke the function.
    pub source_account: Value,
}

impl LambdaPermissionSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        let reason = "a permission statement cannot be changed in place";
        fields.insert(field::FUNCTION_NAME, replace(self.function.clone(), reason));
        fields.insert(field::QUALIFIER, replace(self.qualifier.as_str(), reason));
        fields.insert(
            field::STATEMENT_ID,
            replace(self.statement_id.as_str(), reason),
        );
        fields.insert(field::ACTION, replace(self.action.as_str(), reason));
        fields.insert(field::PRINCIPAL, replace(self.principal.as_str(), reason));
        fields.insert(field::SOURCE_ARN, replace(self.source_arn.clone(), reason));
        fields.insert(
            field::SOURCE_ACCOUNT,
            replace(self.source_account.clone(), reason),
        );
    }
}
