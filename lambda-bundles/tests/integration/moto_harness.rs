//! Test fixtures against moto: an SDK config for `TXDEPLOY_TEST_ENDPOINT` and a fresh,
//! uniquely named stack (table with GSI, queues, topic, notification function) per test.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_sqs::types::QueueAttributeName;

/// The moto endpoint, or `None` with a notice: these tests need the emulator.
pub fn endpoint() -> Option<String> {
    let endpoint = std::env::var("TXDEPLOY_TEST_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    if endpoint.is_none() {
        eprintln!("skipped: set `TXDEPLOY_TEST_ENDPOINT` to a moto server URL to run this test");
    }
    endpoint
}

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

/// A unique suffix per stack, so tests run in parallel against one moto.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// The resources one test's handlers talk to.
pub struct TestStack {
    pub sdk: SdkConfig,
    pub table: String,
    pub analytics_queue_url: String,
    pub reporting_queue_url: String,
    /// Subscribed to the notifications topic, to observe what the handler published.
    pub topic_probe_queue_url: String,
    pub notification_function: String,
    pub topic_arn: String,
}

pub const PAGINATION_KEY: &str = "integration-test-pagination-key";

impl TestStack {
    pub async fn create(endpoint: &str) -> TestStack {
        let sdk = sdk_config(endpoint).await;
        let name = unique("tx");
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = format!("{name}-transactions");
        let attribute = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .unwrap()
        };
        dynamodb
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("transaction_id"))
            .attribute_definitions(attribute("merchant_id"))
            .attribute_definitions(attribute("transaction_date"))
            .key_schema(key("transaction_id", KeyType::Hash))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("merchant-date-index")
                    .key_schema(key("merchant_id", KeyType::Hash))
                    .key_schema(key("transaction_date", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = |suffix: &str| {
            let sqs = sqs.clone();
            let queue_name = format!("{name}-{suffix}");
            async move {
                sqs.create_queue()
                    .queue_name(queue_name)
                    .send()
                    .await
                    .unwrap()
                    .queue_url
                    .unwrap()
            }
        };
        let analytics_queue_url = queue("analytics").await;
        let reporting_queue_url = queue("reporting").await;
        let topic_probe_queue_url = queue("topic-probe").await;

        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arn = sns
            .create_topic()
            .name(format!("{name}-notifications"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let probe_arn = sqs
            .get_queue_attributes()
            .queue_url(&topic_probe_queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(probe_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();

        // The API handler invokes the notification function by name; moto needs it to exist.
        let iam = aws_sdk_iam::Client::new(&sdk);
        let role = iam
            .create_role()
            .role_name(format!("{name}-role"))
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap();
        let notification_function = format!("{name}-notification-handler");
        // An empty zip archive: moto never runs it (no container runtime in tests).
        let empty_zip = [&b"PK\x05\x06"[..], &[0u8; 18]].concat();
        aws_sdk_lambda::Client::new(&sdk)
            .create_function()
            .function_name(&notification_function)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role.role.unwrap().arn)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(empty_zip))
                    .build(),
            )
            .send()
            .await
            .unwrap();

        TestStack {
            sdk,
            table,
            analytics_queue_url,
            reporting_queue_url,
            topic_probe_queue_url,
            notification_function,
            topic_arn,
        }
    }

    /// The environment the deployer gives the functions.
    pub fn env(&self) -> HashMap<String, String> {
        HashMap::from([
            ("TRANSACTIONS_TABLE".to_owned(), self.table.clone()),
            (
                "ANALYTICS_QUEUE_URL".to_owned(),
                self.analytics_queue_url.clone(),
            ),
            (
                "REPORTING_QUEUE_URL".to_owned(),
                self.reporting_queue_url.clone(),
            ),
            (
                "NOTIFICATION_FUNCTION".to_owned(),
                self.notification_function.clone(),
            ),
            ("NOTIFICATIONS_TOPIC_ARN".to_owned(), self.topic_arn.clone()),
            ("PAGINATION_KEY".to_owned(), PAGINATION_KEY.to_owned()),
        ])
    }

    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + use<> {
        let env = self.env();
        move |name: &str| env.get(name).cloned()
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// Every item in the table.
    pub async fn items(&self) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.dynamodb()
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// Drains a queue (up to 100 messages), with their system attributes.
    pub async fn drain(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut all = Vec::new();
        for _ in 0..10 {
            let output = self
                .sqs()
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in &messages {
                self.sqs()
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle.clone().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            all.extend(messages);
        }
        all
    }
}
