//! `bootstrap`: the one executable of the bundle. `TXDEPLOY_HANDLER` selects which of the
//! four functions it serves, so a single zip is uploaded for all of them.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use txhandlers::api_handler::ApiHandler;
use txhandlers::handler_env::{HandlerKind, handler_kind, process_env};
use txhandlers::notification_handler::NotificationHandler;
use txhandlers::queue_processor::{QueueProcessor, Stage};

// One thread: a Lambda execution environment serves one invocation at a time, and a
// single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let kind = handler_kind(&process_env)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    match kind {
        HandlerKind::TransactionValidator => {
            let handler = ApiHandler::from_env(&sdk, &process_env)?;
            let handler = &handler;
            lambda_runtime::run(service_fn(
                |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
                    Ok::<_, Error>(handler.handle(event.payload, &event.context).await)
                },
            ))
            .await
        }
        HandlerKind::NotificationHandler => {
            let handler = NotificationHandler::from_env(&sdk, &process_env)?;
            let handler = &handler;
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
                handler
                    .handle(event.payload, &event.context)
                    .await
                    .map_err(Error::from)
            }))
            .await
        }
        HandlerKind::AnalyticsProcessor | HandlerKind::ReportingProcessor => {
            let stage = if kind == HandlerKind::AnalyticsProcessor {
                Stage::Analytics
            } else {
                Stage::Reporting
            };
            let handler = QueueProcessor::from_env(stage, &sdk, &process_env)?;
            let handler = &handler;
            lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
                Ok::<_, Error>(handler.handle(event.payload, &event.context).await)
            }))
            .await
        }
    }
}
