//! The `transaction-validator` function: the API Gateway proxy handler behind all three
//! routes. Routing and validation are pure (`api_router`); this file does the I/O.

use std::time::Instant;

use aws_config::SdkConfig;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sqs::types::{MessageSystemAttributeNameForSends, MessageSystemAttributeValue};
use lambda_runtime::Context;
use serde_json::json;

use crate::api_response::ApiResponse;
use crate::api_router::{MerchantQuery, Route, route};
use crate::dynamo_item::{
    Item, attr, item_to_json, new_item, page_key_from_item, page_key_to_item, string_attr,
};
use crate::handler_env::{EnvError, EnvLookup, HandlerKind, required};
use crate::pagination::PaginationKey;
use crate::telemetry::{DEFAULT_NAMESPACE, Level, Metrics, Unit, log};
use crate::transaction::{NewTransaction, TransactionDate, TransactionId, TransactionMessage};

/// The name of the index the merchant listing queries.
pub const MERCHANT_DATE_INDEX: &str = "merchant-date-index";

const HANDLER: &str = "transaction-validator";

/// An internal failure: logged in full, answered as a bare 500.
#[derive(Debug)]
pub struct Internal(String);

impl Internal {
    fn from_sdk<E: std::error::Error + 'static>(operation: &str, error: E) -> Internal {
        Internal(format!("{operation}: {}", DisplayErrorContext(error)))
    }
}

/// What a POST did, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Created,
    Replayed,
    Conflict,
}

/// The API function's clients and settings, built once per execution environment.
#[derive(Clone, Debug)]
pub struct ApiHandler {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    table: String,
    analytics_queue_url: String,
    reporting_queue_url: String,
    notification_function: String,
    pagination_key: PaginationKey,
    metrics_namespace: String,
}

impl ApiHandler {
    /// Reads `TRANSACTIONS_TABLE`, `ANALYTICS_QUEUE_URL`, `REPORTING_QUEUE_URL`,
    /// `NOTIFICATION_FUNCTION`, `PAGINATION_KEY` (at least 16 bytes) and optionally
    /// `METRICS_NAMESPACE`.
    pub fn from_env(sdk: &SdkConfig, env: EnvLookup<'_>) -> Result<ApiHandler, EnvError> {
        let values = required(HandlerKind::TransactionValidator, env)?;
        let [table, analytics, reporting, notification, key] = <[String; 5]>::try_from(values)
            .map_err(|_| EnvError::Invalid {
                name: "TXDEPLOY_HANDLER",
                reason: "is inconsistent",
            })?;
        let pagination_key = PaginationKey::new(key.as_bytes()).map_err(|_| EnvError::Invalid {
            name: "PAGINATION_KEY",
            reason: "must be at least 16 bytes: use a random secret",
        })?;
        Ok(ApiHandler {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            table,
            analytics_queue_url: analytics,
            reporting_queue_url: reporting,
            notification_function: notification,
            pagination_key,
            metrics_namespace: env("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        })
    }

    /// Answers one API Gateway proxy request. Never fails: internal errors become a 500
    /// that names only the request id.
    pub async fn handle(
        &self,
        request: ApiGatewayProxyRequest,
        context: &Context,
    ) -> ApiGatewayProxyResponse {
        let started = Instant::now();
        let mut metrics = Metrics::new(&self.metrics_namespace, HANDLER);
        metrics.property("request_id", context.request_id.as_str());
        let trace = context
            .xray_trace_id
            .clone()
            .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok());
        let (route_name, result) = match route(&request, &self.pagination_key) {
            Err(rejection) => {
                metrics.put("ValidationFailures", 1.0, Unit::Count);
                ("rejected", Ok(rejection))
            }
            Ok(route) => {
                let name = route.name();
                let result = match route {
                    Route::CreateTransaction(tx) => {
                        self.create(&tx, trace.as_deref())
                            .await
                            .map(|(outcome, response)| {
                                let metric = match outcome {
                                    Outcome::Created => "TransactionsValidated",
                                    Outcome::Replayed => "IdempotentReplays",
                                    Outcome::Conflict => "IdempotencyConflicts",
                                };
                                metrics.put(metric, 1.0, Unit::Count);
                                response
                            })
                    }
                    Route::GetTransaction(id) => self.get(&id).await,
                    Route::ListMerchantTransactions(query) => self.list(&query).await,
                };
                (name, result)
            }
        };
        let response = result.unwrap_or_else(|Internal(detail)| {
            metrics.put("InternalErrors", 1.0, Unit::Count);
            log(
                Level::Error,
                HANDLER,
                "request failed",
                json!({ "request_id": context.request_id, "route": route_name, "error": detail }),
            );
            ApiResponse::internal(&context.request_id)
        });
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        metrics
            .put("Latency", elapsed, Unit::Milliseconds)
            .property("route", route_name)
            .property("status", response.status)
            .flush();
        response.into_proxy_response()
    }

    async fn create(
        &self,
        tx: &NewTransaction,
        trace: Option<&str>,
    ) -> Result<(Outcome, ApiResponse), Internal> {
        let hash = tx.payload_hash();
        let now = TransactionDate::now();
        let mut record = tx.record(now);
        let put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(new_item(&record, &hash, now)))
            .condition_expression("attribute_not_exists(transaction_id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let mut outcome = Outcome::Created;
        if let Err(error) = put {
            let existing = match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        Some(item) => item.clone(),
                        // Older emulators ignore ReturnValuesOnConditionCheckFailure.
                        None => self.get_item(&tx.transaction_id).await?.ok_or_else(|| {
                            Internal("PutItem: condition failed but no item exists".into())
                        })?,
                    }
                }
                _ => return Err(Internal::from_sdk("PutItem", error)),
            };
            if string_attr(&existing, attr::PAYLOAD_HASH) != Some(hash.as_str()) {
                let body = json!({
                    "error": "Transaction already exists with a different payload",
                    "transaction_id": tx.transaction_id,
                });
                return Ok((
                    Outcome::Conflict,
                    ApiResponse {
                        status: 409,
                        body,
                        allow: None,
                    },
                ));
            }
            outcome = Outcome::Replayed;
            if existing.contains_key(attr::DISPATCHED_AT) {
                return Ok((outcome, validated(&tx.transaction_id)));
            }
            // The first attempt stored the item but died before handing it on: finish its
            // work, with the date that attempt stored.
            if let Some(date) = string_attr(&existing, attr::TRANSACTION_DATE)
                .and_then(TransactionDate::parse_rfc3339)
            {
                record.transaction_date = date;
            }
        }
        self.dispatch(&record, trace).await?;
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key(
                attr::TRANSACTION_ID,
                AttributeValue::S(record.transaction_id.to_string()),
            )
            .update_expression("SET #dispatched = :now")
            .expression_attribute_names("#dispatched", attr::DISPATCHED_AT)
            .expression_attribute_values(
                ":now",
                AttributeValue::S(TransactionDate::now().to_stored()),
            )
            .send()
            .await
            .map_err(|e| Internal::from_sdk("UpdateItem", e))?;
        Ok((outcome, validated(&tx.transaction_id)))
    }

    /// Sends to both queues and invokes the notification handler asynchronously, at once.
    async fn dispatch(
        &self,
        record: &TransactionMessage,
        trace: Option<&str>,
    ) -> Result<(), Internal> {
        let body = serde_json::to_string(record)
            .map_err(|e| Internal(format!("serialize message: {e}")))?;
        let trace_attribute = match trace {
            Some(trace) => Some(
                MessageSystemAttributeValue::builder()
                    .data_type("String")
                    .string_value(trace)
                    .build()
                    .map_err(|e| Internal(format!("trace header attribute: {e}")))?,
            ),
            None => None,
        };
        let send = |queue_url: &str| {
            let mut request = self
                .sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(&body);
            if let Some(attribute) = &trace_attribute {
                request = request.message_system_attributes(
                    MessageSystemAttributeNameForSends::AwsTraceHeader,
                    attribute.clone(),
                );
            }
            async move {
                request
                    .send()
                    .await
                    .map_err(|e| Internal::from_sdk("SendMessage", e))
            }
        };
        let invoke = async {
            self.lambda
                .invoke()
                .function_name(&self.notification_function)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(body.as_bytes()))
                .send()
                .await
                .map_err(|e| Internal::from_sdk("Invoke", e))
        };
        tokio::try_join!(
            send(&self.analytics_queue_url),
            send(&self.reporting_queue_url),
            invoke
        )?;
        Ok(())
    }

    async fn get_item(&self, id: &TransactionId) -> Result<Option<Item>, Internal> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(attr::TRANSACTION_ID, AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Internal::from_sdk("GetItem", e))?;
        Ok(output.item)
    }

    async fn get(&self, id: &TransactionId) -> Result<ApiResponse, Internal> {
        Ok(match self.get_item(id).await? {
            Some(item) => ApiResponse::ok(item_to_json(&item)),
            None => ApiResponse::error(404, "Transaction not found"),
        })
    }

    async fn list(&self, query: &MerchantQuery) -> Result<ApiResponse, Internal> {
        let mut condition = "merchant_id = :merchant".to_owned();
        let mut request = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(MERCHANT_DATE_INDEX)
            .expression_attribute_values(
                ":merchant",
                AttributeValue::S(query.merchant_id.to_string()),
            )
            .limit(i32::from(query.limit))
            .set_exclusive_start_key(query.start_key.as_ref().map(page_key_to_item));
        match (query.from, query.to) {
            (Some(_), Some(_)) => condition.push_str(" AND transaction_date BETWEEN :from AND :to"),
            (Some(_), None) => condition.push_str(" AND transaction_date >= :from"),
            (None, Some(_)) => condition.push_str(" AND transaction_date <= :to"),
            (None, None) => {}
        }
        if let Some(from) = query.from {
            request =
                request.expression_attribute_values(":from", AttributeValue::S(from.to_stored()));
        }
        if let Some(to) = query.to {
            request = request.expression_attribute_values(":to", AttributeValue::S(to.to_stored()));
        }
        let output = request
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(|e| Internal::from_sdk("Query", e))?;
        let transactions: Vec<_> = output.items().iter().map(item_to_json).collect();
        let next = match output.last_evaluated_key() {
            Some(key) if !key.is_empty() => {
                let page_key = page_key_from_item(key).ok_or_else(|| {
                    Internal("Query returned a non-string LastEvaluatedKey".into())
                })?;
                Some(self.pagination_key.encode(query.scope(), &page_key))
            }
            _ => None,
        };
        Ok(ApiResponse::ok(json!({
            "merchant_id": query.merchant_id,
            "count": transactions.len(),
            "transactions": transactions,
            "next": next,
        })))
    }
}

fn validated(id: &TransactionId) -> ApiResponse {
    ApiResponse::ok(
        json!({ "message": "Transaction validated successfully", "transaction_id": id }),
    )
}
