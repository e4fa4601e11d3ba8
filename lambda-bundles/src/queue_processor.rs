//! The `analytics-processor` and `reporting-processor` functions: SQS batch consumers that
//! report partial batch failures and are idempotent under at-least-once delivery.
//!
//! Each message claims its transaction with one conditional write (`SET
//! {stage}_processed_at` only if absent); only the winner of that claim emits the stage's
//! effects, so a redelivered message changes nothing twice.

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use lambda_runtime::Context;
use serde_json::json;

use crate::dynamo_item::{Item, attr};
use crate::handler_env::{EnvError, EnvLookup, HandlerKind, required};
use crate::telemetry::{DEFAULT_NAMESPACE, Level, Metrics, Unit, log};
use crate::transaction::{TransactionDate, TransactionMessage};

/// Which consumer this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Analytics,
    Reporting,
}

impl Stage {
    pub fn handler_name(self) -> &'static str {
        match self {
            Stage::Analytics => "analytics-processor",
            Stage::Reporting => "reporting-processor",
        }
    }

    /// The attribute that records that this stage processed the transaction.
    pub fn processed_attribute(self) -> &'static str {
        match self {
            Stage::Analytics => "analytics_processed_at",
            Stage::Reporting => "reporting_processed_at",
        }
    }

    /// The attribute that records which message did it.
    pub fn message_attribute(self) -> &'static str {
        match self {
            Stage::Analytics => "analytics_message_id",
            Stage::Reporting => "reporting_message_id",
        }
    }

    fn kind(self) -> HandlerKind {
        match self {
            Stage::Analytics => HandlerKind::AnalyticsProcessor,
            Stage::Reporting => HandlerKind::ReportingProcessor,
        }
    }
}

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageOutcome {
    /// First delivery: the claim was written and the stage's effects emitted.
    Processed(TransactionMessage),
    /// A redelivery of work already done: acknowledged, nothing changed.
    Duplicate,
}

/// The consumer's client and settings.
#[derive(Clone, Debug)]
pub struct QueueProcessor {
    stage: Stage,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    metrics_namespace: String,
}

impl QueueProcessor {
    /// Reads `TRANSACTIONS_TABLE` and optionally `METRICS_NAMESPACE`.
    pub fn from_env(
        stage: Stage,
        sdk: &SdkConfig,
        env: EnvLookup<'_>,
    ) -> Result<QueueProcessor, EnvError> {
        let mut values = required(stage.kind(), env)?;
        Ok(QueueProcessor {
            stage,
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            table: values.remove(0),
            metrics_namespace: env("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        })
    }

    /// Processes a batch; failed messages are listed so only they are redelivered.
    pub async fn handle(&self, event: SqsEvent, context: &Context) -> SqsBatchResponse {
        let handler = self.stage.handler_name();
        let mut response = SqsBatchResponse::default();
        let (mut processed, mut duplicates) = (0u32, 0u32);
        for message in &event.records {
            let id = message.message_id.clone().unwrap_or_default();
            match self.process(message).await {
                Ok(MessageOutcome::Processed(tx)) => {
                    processed += 1;
                    self.emit_effects(&tx, &id, context);
                }
                Ok(MessageOutcome::Duplicate) => duplicates += 1,
                Err(reason) => {
                    log(
                        Level::Warn,
                        handler,
                        "message failed; it will be redelivered, then dead-lettered",
                        json!({ "request_id": context.request_id, "message_id": id, "error": reason }),
                    );
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        let mut metrics = Metrics::new(&self.metrics_namespace, handler);
        metrics
            .put("MessagesProcessed", f64::from(processed), Unit::Count)
            .put("DuplicateMessages", f64::from(duplicates), Unit::Count)
            .put(
                "MessageFailures",
                response.batch_item_failures.len() as f64,
                Unit::Count,
            )
            .property("request_id", context.request_id.as_str())
            .flush();
        response
    }

    /// Claims one message's transaction for this stage.
    pub async fn process(&self, message: &SqsMessage) -> Result<MessageOutcome, String> {
        let message_id = message
            .message_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or("message has no id")?;
        let body = message.body.as_deref().ok_or("message has no body")?;
        let tx: TransactionMessage = serde_json::from_str(body)
            .map_err(|e| format!("body is not a transaction message: {e}"))?;
        let claimed = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(
                attr::TRANSACTION_ID,
                AttributeValue::S(tx.transaction_id.to_string()),
            )
            .update_expression("SET #processed = :now, #message = :message")
            .condition_expression(
                "attribute_exists(transaction_id) AND attribute_not_exists(#processed)",
            )
            .expression_attribute_names("#processed", self.stage.processed_attribute())
            .expression_attribute_names("#message", self.stage.message_attribute())
            .expression_attribute_values(
                ":now",
                AttributeValue::S(TransactionDate::now().to_stored()),
            )
            .expression_attribute_values(":message", AttributeValue::S(message_id.to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match claimed {
            Ok(_) => return Ok(MessageOutcome::Processed(tx)),
            Err(error) => error,
        };
        let existing: Option<Item> = match error.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(failed)) => match failed.item() {
                Some(item) => Some(item.clone()),
                // Without the returned item, read it to tell "done" from "missing".
                None => self.read(&tx).await?,
            },
            _ => return Err(format!("UpdateItem: {}", DisplayErrorContext(error))),
        };
        match existing {
            Some(item) if item.contains_key(self.stage.processed_attribute()) => {
                Ok(MessageOutcome::Duplicate)
            }
            Some(_) => Err("condition failed on an unprocessed item; retrying".to_owned()),
            // The API stores before it sends, so this is a stray or foreign message.
            None => Err(format!(
                "transaction `{}` does not exist",
                tx.transaction_id
            )),
        }
    }

    async fn read(&self, tx: &TransactionMessage) -> Result<Option<Item>, String> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key(
                attr::TRANSACTION_ID,
                AttributeValue::S(tx.transaction_id.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|e| format!("GetItem: {}", DisplayErrorContext(e)))
    }

    /// The stage's output, emitted once per transaction: EMF metrics for analytics, a
    /// structured report line for reporting (both extracted from the log group).
    fn emit_effects(&self, tx: &TransactionMessage, message_id: &str, context: &Context) {
        let handler = self.stage.handler_name();
        match self.stage {
            Stage::Analytics => {
                let mut metrics = Metrics::new(&self.metrics_namespace, handler);
                metrics
                    .put(
                        "TransactionAmount",
                        tx.amount.cents() as f64 / 100.0,
                        Unit::None,
                    )
                    .put("TransactionsAnalysed", 1.0, Unit::Count)
                    .property("currency", tx.currency.as_str())
                    .property("merchant_id", tx.merchant_id.as_str())
                    .property("transaction_id", tx.transaction_id.as_str())
                    .flush();
            }
            Stage::Reporting => log(
                Level::Info,
                handler,
                "report line",
                json!({
                    "request_id": context.request_id,
                    "message_id": message_id,
                    "transaction_id": tx.transaction_id,
                    "merchant_id": tx.merchant_id,
                    "amount": tx.amount,
                    "currency": tx.currency,
                    "transaction_date": tx.transaction_date,
                }),
            ),
        }
    }
}
