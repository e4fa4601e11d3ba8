//! The `notification-handler` function: publishes a validated transaction to the
//! notifications topic. Invoked asynchronously; a failure returns `Err` so Lambda's two
//! retries and then the on-failure destination queue receive the event.

use aws_config::SdkConfig;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use lambda_runtime::Context;
use serde_json::{Value, json};

use crate::handler_env::{EnvError, EnvLookup, HandlerKind, required};
use crate::telemetry::{DEFAULT_NAMESPACE, Level, Metrics, Unit, log};
use crate::transaction::TransactionMessage;

const HANDLER: &str = "notification-handler";

/// Why a notification was not published; Lambda retries the event.
#[derive(Debug)]
pub struct NotificationError(pub String);

impl std::fmt::Display for NotificationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotificationError {}

/// The SNS client and topic.
#[derive(Clone, Debug)]
pub struct NotificationHandler {
    sns: aws_sdk_sns::Client,
    topic_arn: String,
    metrics_namespace: String,
}

impl NotificationHandler {
    /// Reads `NOTIFICATIONS_TOPIC_ARN` and optionally `METRICS_NAMESPACE`.
    pub fn from_env(sdk: &SdkConfig, env: EnvLookup<'_>) -> Result<NotificationHandler, EnvError> {
        let mut values = required(HandlerKind::NotificationHandler, env)?;
        Ok(NotificationHandler {
            sns: aws_sdk_sns::Client::new(sdk),
            topic_arn: values.remove(0),
            metrics_namespace: env("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        })
    }

    /// Publishes one transaction; returns the SNS message id.
    pub async fn handle(
        &self,
        event: Value,
        context: &Context,
    ) -> Result<Value, NotificationError> {
        let mut metrics = Metrics::new(&self.metrics_namespace, HANDLER);
        metrics.property("request_id", context.request_id.as_str());
        let result = self.publish(event).await;
        match &result {
            Ok(_) => metrics.put("NotificationsPublished", 1.0, Unit::Count),
            Err(error) => {
                log(
                    Level::Error,
                    HANDLER,
                    "notification not published; Lambda will retry",
                    json!({ "request_id": context.request_id, "error": error.0 }),
                );
                metrics.put("NotificationFailures", 1.0, Unit::Count)
            }
        };
        metrics.flush();
        result
    }

    async fn publish(&self, event: Value) -> Result<Value, NotificationError> {
        // A malformed event will not get better with retries, but it must not vanish either:
        // failing sends it to the on-failure destination where someone can look at it.
        let message: TransactionMessage = serde_json::from_value(event)
            .map_err(|e| NotificationError(format!("event is not a transaction message: {e}")))?;
        let merchant = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(message.merchant_id.as_str())
            .build()
            .map_err(|e| NotificationError(format!("message attribute: {e}")))?;
        let body = serde_json::to_string(&message)
            .map_err(|e| NotificationError(format!("serialize message: {e}")))?;
        let output = self
            .sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject("Transaction validated")
            .message(body)
            // Lets subscribers filter by merchant without parsing the body.
            .message_attributes("merchant_id", merchant)
            .send()
            .await
            .map_err(|e| NotificationError(format!("Publish: {}", DisplayErrorContext(e))))?;
        Ok(json!({ "message_id": output.message_id(), "transaction_id": message.transaction_id }))
    }
}
