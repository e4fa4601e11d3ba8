//! The four functions: each with its own role and log group, runtime `provided.al2023`, the
//! embedded bundle's code and architecture, X-Ray tracing, and a `live` alias that API
//! Gateway and the event source mappings invoke. Failure handling matches each invocation
//! type: the asynchronously invoked notification handler gets an event-invoke config with an
//! on-failure queue; the SQS consumers report partial batch failures and rely on their
//! queues' redrive policies; the synchronous API function returns its errors to the caller.

use std::collections::BTreeMap;

use super::iam_policies::{function_policy, lambda_trust};
use super::logs::role;
use super::messaging::NOTIFICATIONS_TOPIC;
use super::{
    Builder, HANDLER_ENV_VAR, Handler, LAMBDA_HANDLER, LAMBDA_RUNTIME, LIVE_ALIAS,
    METRICS_NAMESPACE, NOTIFICATION_FAILURES_QUEUE, data::table_id, id,
};
use crate::spec::{
    EventInvokeConfigSpec, EventSourceMappingSpec, FunctionSpec, LambdaAliasSpec, OutputRef,
    ResourceGraph, ResourceKind, ResourceSpec, SpecBody, Value,
};

/// Messages per invocation of a processor (SQS's maximum without a batching window).
const SQS_BATCH_SIZE: u32 = 10;
/// Async invocations of the notification handler: retries before the failure destination.
const ASYNC_MAX_RETRIES: u32 = 2;
/// An async event older than this goes to the failure destination instead of running.
const ASYNC_MAX_EVENT_AGE_SECONDS: u32 = 3600;

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    // The validator invokes the notification handler's alias: build that one first.
    let order = [
        Handler::NotificationHandler,
        Handler::AnalyticsProcessor,
        Handler::ReportingProcessor,
        Handler::TransactionValidator,
    ];
    for handler in order {
        graph.add(role(
            b,
            handler.logical(),
            &format!("the `{}` function", handler.logical()),
            lambda_trust(),
            function_policy(handler),
        ));
        graph.add(function(b, handler));
        graph.add(alias(b, handler));
        if handler == Handler::NotificationHandler {
            graph.add(event_invoke_config(b, handler));
        }
        if let Some(queue) = handler.consumed_queue() {
            graph.add(event_source_mapping(b, handler, queue));
        }
    }
}

/// The environment each handler reads (`lambda-bundles/src/handler_env.rs`), built from
/// references so every value is the resolved name, URL or ARN.
fn environment(handler: Handler) -> BTreeMap<String, Value> {
    let mut env = BTreeMap::from([
        (HANDLER_ENV_VAR.to_owned(), Value::str(handler.logical())),
        (
            "METRICS_NAMESPACE".to_owned(),
            Value::str(METRICS_NAMESPACE),
        ),
    ]);
    let table: Value = OutputRef::name(&table_id()).into();
    match handler {
        Handler::TransactionValidator => {
            let queue_url = |q: &str| Value::from(OutputRef::url(&id(ResourceKind::Queue, q)));
            env.insert("TRANSACTIONS_TABLE".to_owned(), table);
            env.insert("ANALYTICS_QUEUE_URL".to_owned(), queue_url("analytics"));
            env.insert("REPORTING_QUEUE_URL".to_owned(), queue_url("reporting"));
            // The alias ARN, so asynchronous invocations go through `live` and get its
            // event-invoke config (retries and the failure destination).
            env.insert(
                "NOTIFICATION_FUNCTION".to_owned(),
                OutputRef::arn(&Handler::NotificationHandler.alias_id()).into(),
            );
            // The MAC key of the merchant listing's pagination tokens: the `dynamodb` key's
            // id is random, stable across deploys and never shown to API clients, who are
            // the ones the tokens are protected from.
            env.insert(
                "PAGINATION_KEY".to_owned(),
                OutputRef::id(&id(ResourceKind::KmsKey, "dynamodb")).into(),
            );
        }
        Handler::NotificationHandler => {
            env.insert(
                "NOTIFICATIONS_TOPIC_ARN".to_owned(),
                OutputRef::arn(&id(ResourceKind::Topic, NOTIFICATIONS_TOPIC)).into(),
            );
        }
        Handler::AnalyticsProcessor | Handler::ReportingProcessor => {
            env.insert("TRANSACTIONS_TABLE".to_owned(), table);
        }
    }
    env
}

fn function(b: &Builder<'_>, handler: Handler) -> ResourceSpec {
    let lambda = &b.config.lambda;
    let reserved = match handler {
        Handler::TransactionValidator => Some(lambda.reserved_concurrency).filter(|n| *n > 0),
        _ => None,
    };
    b.spec(
        ResourceKind::Function,
        handler.logical(),
        SpecBody::Function(FunctionSpec {
            runtime: LAMBDA_RUNTIME.to_owned(),
            architecture: b.inputs.bundle.architecture.clone(),
            handler: LAMBDA_HANDLER.to_owned(),
            memory_mb: handler.memory_mb(lambda),
            timeout_seconds: handler.timeout_seconds(lambda),
            environment: environment(handler),
            tracing_mode: "Active".to_owned(),
            role: OutputRef::arn(&handler.role_id()),
            // Referencing the group also orders the function after it, so Lambda never
            // creates the group itself (without retention or encryption).
            log_group: OutputRef::name(&handler.log_group_id()),
            reserved_concurrency: reserved,
            code_sha256: b.inputs.bundle.code_sha256.clone(),
        }),
    )
}

fn alias(b: &Builder<'_>, handler: Handler) -> ResourceSpec {
    let function = handler.function_id();
    let provisioned = match handler {
        Handler::TransactionValidator => {
            Some(b.config.lambda.provisioned_concurrency).filter(|n| *n > 0)
        }
        _ => None,
    };
    let mut spec = b.spec(
        ResourceKind::LambdaAlias,
        handler.logical(),
        SpecBody::LambdaAlias(LambdaAliasSpec {
            function: OutputRef::name(&function),
            alias_name: LIVE_ALIAS.to_owned(),
            version: OutputRef::version(&function),
            provisioned_concurrency: provisioned,
        }),
    );
    spec.physical_name = format!("{}:{LIVE_ALIAS}", b.function_name(handler));
    spec
}

fn event_invoke_config(b: &Builder<'_>, handler: Handler) -> ResourceSpec {
    let mut spec = b.spec(
        ResourceKind::EventInvokeConfig,
        handler.logical(),
        SpecBody::EventInvokeConfig(EventInvokeConfigSpec {
            function: OutputRef::name(&handler.function_id()),
            qualifier: LIVE_ALIAS.to_owned(),
            maximum_retry_attempts: ASYNC_MAX_RETRIES,
            maximum_event_age_seconds: ASYNC_MAX_EVENT_AGE_SECONDS,
            on_failure: OutputRef::arn(&id(ResourceKind::Queue, NOTIFICATION_FAILURES_QUEUE)),
        }),
    );
    spec.physical_name = format!("{}:{LIVE_ALIAS}", b.function_name(handler));
    // The config is set on the alias, which must exist; the qualifier is its name, not an
    // output, so the order is explicit.
    spec.depends_on.push(handler.alias_id());
    spec
}

fn event_source_mapping(b: &Builder<'_>, handler: Handler, queue: &str) -> ResourceSpec {
    b.spec(
        ResourceKind::EventSourceMapping,
        handler.logical(),
        SpecBody::EventSourceMapping(EventSourceMappingSpec {
            event_source: OutputRef::arn(&id(ResourceKind::Queue, queue)),
            function: OutputRef::arn(&handler.alias_id()),
            batch_size: SQS_BATCH_SIZE,
            maximum_batching_window_seconds: 0,
            report_batch_item_failures: true,
            enabled: true,
        }),
    )
}
