//! The handlers called in process with realistic API Gateway and SQS events, against moto.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::Method;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::Context;
use serde_json::{Value, json};
use txhandlers::api_handler::ApiHandler;
use txhandlers::notification_handler::NotificationHandler;
use txhandlers::queue_processor::{MessageOutcome, QueueProcessor, Stage};

use crate::moto_harness::{TestStack, endpoint};

const TRACE: &str = "Root=1-6543a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";

/// An API Gateway REST proxy event as the `transaction-validator` receives it.
pub fn api_event(
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
) -> ApiGatewayProxyRequest {
    let document = json!({
        "resource": path,
        "path": path,
        "httpMethod": method.as_str(),
        "headers": {"Content-Type": "application/json", "X-Amzn-Trace-Id": TRACE},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": if query.is_empty() { Value::Null } else {
            Value::Object(query.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
        },
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "abc123", "stage": "dev",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "identity": {"sourceIp": "203.0.113.7"},
            "resourcePath": path, "httpMethod": method.as_str(), "apiId": "a1b2c3d4e5",
            "protocol": "HTTP/1.1", "requestTimeEpoch": 1_700_000_000_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    });
    serde_json::from_value(document).unwrap()
}

fn context(request_id: &str) -> Context {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    context.xray_trace_id = Some(TRACE.to_owned());
    context
}

async fn call(handler: &ApiHandler, event: ApiGatewayProxyRequest) -> (i64, Value) {
    let response = handler.handle(event, &context("req-test")).await;
    let Some(Body::Text(text)) = response.body else {
        panic!("response without a text body")
    };
    assert_eq!(response.headers["content-type"], "application/json");
    (response.status_code, serde_json::from_str(&text).unwrap())
}

async fn post(handler: &ApiHandler, body: &str) -> (i64, Value) {
    call(
        handler,
        api_event(Method::POST, "/transactions", &[], Some(body)),
    )
    .await
}

fn sqs_message(id: &str, body: &str) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                        "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1700000000001"},
        "messageAttributes": {},
        "md5OfBody": "0",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tx-dev-analytics",
        "awsRegion": "us-east-1"
    }))
    .unwrap()
}

fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    serde_json::from_value(json!({ "Records": messages })).unwrap()
}

macro_rules! stack_or_skip {
    () => {
        match endpoint() {
            Some(endpoint) => TestStack::create(&endpoint).await,
            None => return,
        }
    };
}

#[tokio::test]
async fn post_stores_dispatches_and_answers_compatibly() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    let (status, body) = post(
        &api,
        r#"{"transaction_id":"tx-1","merchant_id":"m-1","amount":"19.99","currency":"EUR"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"message": "Transaction validated successfully", "transaction_id": "tx-1"})
    );

    let items = stack.items().await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["amount"], AttributeValue::N("19.99".into()));
    assert_eq!(item["currency"], AttributeValue::S("EUR".into()));
    assert!(
        item.contains_key("dispatched_at"),
        "fan-out must be recorded"
    );
    // The defaulted date is the current time.
    let date = item["transaction_date"].as_s().unwrap();
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(date.starts_with(&year) && date.ends_with('Z'), "{date}");

    for queue in [&stack.analytics_queue_url, &stack.reporting_queue_url] {
        let messages = stack.drain(queue).await;
        assert_eq!(messages.len(), 1, "one message per queue");
        let message: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
        assert_eq!(message["transaction_id"], "tx-1");
        assert_eq!(message["amount"], "19.99");
        assert_eq!(message["transaction_date"], json!(date));
        let attributes = messages[0].attributes().unwrap();
        assert_eq!(
            attributes
                .get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader)
                .map(String::as_str),
            Some(TRACE),
            "the X-Ray trace header must travel with the message"
        );
    }
}

#[tokio::test]
async fn replay_is_idempotent_and_reuse_with_another_payload_conflicts() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    // No date: the replay must match although "now" has moved on.
    let body = r#"{"transaction_id":"tx-2","merchant_id":"m-1","amount":5}"#;
    assert_eq!(post(&api, body).await.0, 200);
    let first = stack.items().await;
    let (status, replay) = post(
        &api,
        r#"{"amount":"5.00","merchant_id":"m-1","transaction_id":"tx-2"}"#,
    )
    .await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["message"], "Transaction validated successfully");
    assert_eq!(stack.items().await, first, "a replay writes nothing");
    assert_eq!(
        stack.drain(&stack.analytics_queue_url).await.len(),
        1,
        "a replay sends nothing twice"
    );

    let (status, conflict) = post(
        &api,
        r#"{"transaction_id":"tx-2","merchant_id":"m-1","amount":6}"#,
    )
    .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["transaction_id"], "tx-2");
    assert_eq!(stack.items().await, first, "a conflict writes nothing");
}

#[tokio::test]
async fn invalid_requests_are_400s_and_write_nothing() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    let (status, body) = post(&api, r#"{"merchant_id":"m"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "Missing required fields", "fields": ["transaction_id", "amount"]})
    );
    for (payload, field) in [
        (
            r#"{"transaction_id":"t","merchant_id":"m","amount":-3}"#,
            "amount",
        ),
        (
            r#"{"transaction_id":"t","merchant_id":"m","amount":1.001}"#,
            "amount",
        ),
        (
            r#"{"transaction_id":"t t","merchant_id":"m","amount":1}"#,
            "transaction_id",
        ),
        (
            r#"{"transaction_id":"t","merchant_id":"m","amount":1,"currency":"ABC"}"#,
            "currency",
        ),
        (
            r#"{"transaction_id":"t","merchant_id":"m","amount":1,"transaction_date":"soon"}"#,
            "transaction_date",
        ),
    ] {
        let (status, body) = post(&api, payload).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{payload}"
        );
    }
    assert_eq!(post(&api, "not json").await.0, 400);
    assert!(stack.items().await.is_empty());
    assert!(stack.drain(&stack.analytics_queue_url).await.is_empty());
}

#[tokio::test]
async fn get_returns_the_item_or_404() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    let body = r#"{"transaction_id":"tx-3","merchant_id":"m-3","amount":0.29,"transaction_date":"2026-03-01T10:00:00+01:00"}"#;
    assert_eq!(post(&api, body).await.0, 200);
    let (status, item) = call(
        &api,
        api_event(Method::GET, "/transactions/tx-3", &[], None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(item["transaction_id"], "tx-3");
    assert_eq!(item["amount"], json!(0.29));
    assert_eq!(item["currency"], "USD");
    assert_eq!(item["transaction_date"], "2026-03-01T09:00:00.000Z");
    assert!(
        item.get("payload_hash").is_none(),
        "bookkeeping stays private"
    );
    let (status, missing) = call(
        &api,
        api_event(Method::GET, "/transactions/nope", &[], None),
    )
    .await;
    assert_eq!(
        (status, missing),
        (404, json!({"error": "Transaction not found"}))
    );
}

#[tokio::test]
async fn merchant_listing_pages_through_the_index_and_rejects_tampered_tokens() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    for day in 1..=7 {
        let body = format!(
            r#"{{"transaction_id":"p-{day}","merchant_id":"m-page","amount":{day},"transaction_date":"2026-05-0{day}T12:00:00Z"}}"#
        );
        assert_eq!(post(&api, &body).await.0, 200);
    }
    assert_eq!(post(&api, r#"{"transaction_id":"other","merchant_id":"m-other","amount":1,"transaction_date":"2026-05-03T12:00:00Z"}"#).await.0, 200);

    let path = "/merchants/m-page/transactions";
    let range = [("from", "2026-05-02"), ("to", "2026-05-06")];
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![range[0], range[1], ("limit", "2")];
        if let Some(token) = &next {
            query.push(("next", token));
        }
        let (status, page) = call(&api, api_event(Method::GET, path, &query, None)).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["count"].as_u64().unwrap() <= 2);
        for item in page["transactions"].as_array().unwrap() {
            assert_eq!(item["merchant_id"], "m-page");
            seen.push(item["transaction_id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        assert!(pages < 10, "pagination must terminate");
        match page["next"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["p-2", "p-3", "p-4", "p-5", "p-6"],
        "every item once, in date order"
    );
    assert!(pages >= 3);

    // A token from the first page, edited, or used for another merchant or range: 400.
    let (_, first) = call(&api, api_event(Method::GET, path, &[("limit", "2")], None)).await;
    let token = first["next"].as_str().unwrap().to_owned();
    let mut tampered = token.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (path, token) in [
        (path, tampered.as_str()),
        (path, "bm90LWEtdG9rZW4"),
        ("/merchants/m-other/transactions", token.as_str()),
    ] {
        let (status, body) = call(
            &api,
            api_event(Method::GET, path, &[("limit", "2"), ("next", token)], None),
        )
        .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("next")),
            "{body}"
        );
    }
    let (status, _) = call(
        &api,
        api_event(Method::GET, path, &[("limit", "2"), ("next", &token)], None),
    )
    .await;
    assert_eq!(status, 200, "the untouched token still works");
}

#[tokio::test]
async fn sqs_redelivery_changes_nothing_twice() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    assert_eq!(
        post(
            &api,
            r#"{"transaction_id":"tx-q","merchant_id":"m","amount":"7.50"}"#
        )
        .await
        .0,
        200
    );
    let delivered = stack.drain(&stack.analytics_queue_url).await;
    assert_eq!(delivered.len(), 1);
    let event = sqs_event(vec![sqs_message(
        delivered[0].message_id().unwrap(),
        delivered[0].body().unwrap(),
    )]);

    let analytics =
        QueueProcessor::from_env(Stage::Analytics, &stack.sdk, &stack.lookup()).unwrap();
    let first = analytics.handle(event.clone(), &context("sqs-1")).await;
    assert!(first.batch_item_failures.is_empty());
    let after_first = stack.items().await;
    let stamp = after_first[0]["analytics_processed_at"].clone();
    assert_eq!(
        after_first[0]["analytics_message_id"].as_s().unwrap(),
        delivered[0].message_id().unwrap()
    );

    // The same message again, and the same transaction under a new message id.
    let second = analytics.handle(event.clone(), &context("sqs-2")).await;
    assert!(second.batch_item_failures.is_empty());
    let again = sqs_message("another-delivery", delivered[0].body().unwrap());
    assert_eq!(
        analytics.process(&again).await,
        Ok(MessageOutcome::Duplicate)
    );
    let after_second = stack.items().await;
    assert_eq!(after_second, after_first, "a redelivery changes nothing");
    assert_eq!(after_second[0]["analytics_processed_at"], stamp);

    // The reporting stage keeps its own record, independent of analytics.
    let reporting =
        QueueProcessor::from_env(Stage::Reporting, &stack.sdk, &stack.lookup()).unwrap();
    assert!(matches!(
        reporting.process(&again).await,
        Ok(MessageOutcome::Processed(_))
    ));
    assert_eq!(
        reporting.process(&again).await,
        Ok(MessageOutcome::Duplicate)
    );
}

#[tokio::test]
async fn a_batch_reports_exactly_its_failed_messages() {
    let stack = stack_or_skip!();
    let api = ApiHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    assert_eq!(
        post(
            &api,
            r#"{"transaction_id":"tx-b","merchant_id":"m","amount":1}"#
        )
        .await
        .0,
        200
    );
    let good = stack.drain(&stack.reporting_queue_url).await.remove(0);
    let ghost = r#"{"transaction_id":"ghost","merchant_id":"m","amount":"1.00","currency":"USD","transaction_date":"2026-01-01T00:00:00.000Z"}"#;
    let event = sqs_event(vec![
        sqs_message("good", good.body().unwrap()),
        sqs_message("malformed", "{not json"),
        sqs_message("ghost", ghost),
    ]);
    let reporting =
        QueueProcessor::from_env(Stage::Reporting, &stack.sdk, &stack.lookup()).unwrap();
    let response = reporting.handle(event, &context("sqs-batch")).await;
    let mut failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, ["ghost", "malformed"]);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json["batchItemFailures"].as_array().unwrap().len(),
        2,
        "{json}"
    );
    let items = stack.items().await;
    assert_eq!(items.len(), 1, "a failed message creates nothing");
    assert!(items[0].contains_key("reporting_processed_at"));
}

#[tokio::test]
async fn notifications_are_published_and_failures_raise() {
    let stack = stack_or_skip!();
    let handler = NotificationHandler::from_env(&stack.sdk, &stack.lookup()).unwrap();
    let event = json!({"transaction_id":"tx-n","merchant_id":"m-n","amount":"3.10","currency":"USD","transaction_date":"2026-01-01T00:00:00.000Z"});
    let output = handler
        .handle(event.clone(), &context("n-1"))
        .await
        .unwrap();
    assert!(output["message_id"].is_string());
    let published = stack.drain(&stack.topic_probe_queue_url).await;
    assert_eq!(published.len(), 1);
    let body: Value = serde_json::from_str(published[0].body().unwrap()).unwrap();
    assert_eq!(body, event);

    // A malformed event and an unreachable topic both return Err, so Lambda retries and
    // the on-failure destination gets the event.
    assert!(
        handler
            .handle(json!({"transaction_id": 1}), &context("n-2"))
            .await
            .is_err()
    );
    let mut env = stack.env();
    env.insert(
        "NOTIFICATIONS_TOPIC_ARN".into(),
        "arn:aws:sns:us-east-1:123456789012:missing".into(),
    );
    let broken = NotificationHandler::from_env(&stack.sdk, &|n: &str| env.get(n).cloned()).unwrap();
    assert!(broken.handle(event, &context("n-3")).await.is_err());
}

#[tokio::test]
async fn internal_errors_are_500s_that_leak_nothing() {
    let stack = stack_or_skip!();
    let mut env: HashMap<String, String> = stack.env();
    env.insert("TRANSACTIONS_TABLE".into(), "no-such-table".into());
    let api = ApiHandler::from_env(&stack.sdk, &|n: &str| env.get(n).cloned()).unwrap();
    let (status, body) = post(
        &api,
        r#"{"transaction_id":"t","merchant_id":"m","amount":1}"#,
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"error": "Internal error", "request_id": "req-test"})
    );
    let (status, body) = call(&api, api_event(Method::GET, "/transactions/t", &[], None)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("Internal error"))
    );
}
