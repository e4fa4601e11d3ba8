//! The CloudWatch Logs and Firehose adapters against moto: log groups, subscription filters
//! and the archive delivery stream read back exactly as their specs resolve, updates call
//! only the changed field's API, deletes leave nothing, and a log event written to a group
//! ends up under `logs/` in the bucket. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT`
//! is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use aws_sdk_kms::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Value as Json, json};
use txdeploy::adapters::load_sdk_config;
use txdeploy::adapters::{AwsAccess, AwsClients, AwsCloud, CallCounter, CallCounts};
use txdeploy::cloud::{Cloud, Observed, StepContext};
use txdeploy::config::Config;
use txdeploy::spec::{
    CheckedGraph, Environment, OutputKey, OutputTable, Outputs, ResourceId, ResourceKind,
    ResourceSpec, SpecBody,
};

use crate::harness;

macro_rules! moto_or_skip {
    () => {
        match harness::moto_endpoint() {
            Some(endpoint) => endpoint,
            None => {
                eprintln!("skipped: set TXDEPLOY_TEST_ENDPOINT to a moto server to run this test");
                return;
            }
        }
    };
}

/// The SDK config for moto with static test credentials (production never invents them).
async fn moto_sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    let access = AwsAccess {
        region: Some("us-east-1".to_owned()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    };
    load_sdk_config(&access)
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "moto",
        )))
        .build()
}

/// One test's stack on moto: the cloud, its call counter, the graph and the outputs of what
/// exists so far (created by the adapters or directly with the SDK).
struct Fixture {
    cloud: AwsCloud,
    counter: CallCounter,
    env: Environment,
    graph: CheckedGraph,
    outputs: BTreeMap<ResourceId, Outputs>,
    iam: aws_sdk_iam::Client,
}

impl Fixture {
    async fn new(endpoint: &str) -> Self {
        Self::with_clients(endpoint, |_| {}).await
    }

    async fn with_clients(endpoint: &str, adjust: impl FnOnce(&mut AwsClients)) -> Self {
        let sdk_config = moto_sdk_config(endpoint).await;
        let counter = CallCounter::new();
        let mut clients = AwsClients::new(&sdk_config, &counter);
        adjust(&mut clients);
        let cloud = AwsCloud::new(clients, &sdk_config);
        let env = cloud.environment().await.unwrap();
        let mut config = Config::defaults().unwrap();
        config.stack.prefix = harness::unique_stack();
        config.logs.retention_days = 7;
        let inputs = txdeploy::stack::StackInputs {
            bundle: txdeploy::stack::BundleInfo {
                code_sha256: "not deployed by these tests".to_owned(),
                architecture: "x86_64".to_owned(),
            },
            account_concurrency_limit: None,
        };
        let graph = txdeploy::stack::build(&config, &env, &inputs)
            .check()
            .unwrap();
        Self {
            cloud,
            counter,
            env,
            graph,
            outputs: BTreeMap::new(),
            iam: aws_sdk_iam::Client::new(&sdk_config),
        }
    }

    fn spec(&self, kind: ResourceKind, logical: &str) -> ResourceSpec {
        self.graph
            .get(&ResourceId::new(kind, logical))
            .unwrap()
            .clone()
    }

    fn ctx(&self) -> StepContext {
        StepContext::quiet(self.env.clone(), self.outputs.clone())
    }

    async fn create(&mut self, spec: &ResourceSpec) -> Outputs {
        let outputs = self.cloud.create(spec, &self.ctx()).await.unwrap();
        self.outputs.insert(spec.id.clone(), outputs.clone());
        outputs
    }

    async fn observe(&self, spec: &ResourceSpec) -> Option<Observed> {
        self.cloud.observe(spec, &self.env).await.unwrap()
    }

    fn resolved(&self, spec: &ResourceSpec) -> BTreeMap<String, Json> {
        let table = OutputTable {
            env: &self.env,
            outputs: &self.outputs,
        };
        spec.fields()
            .into_iter()
            .map(|(name, f)| (name.to_owned(), f.value.resolve(&table).unwrap()))
            .collect()
    }

    fn changed(&self, spec: &ResourceSpec, observed: &Observed) -> Vec<String> {
        self.resolved(spec)
            .into_iter()
            .filter(|(name, want)| observed.fields.get(name).unwrap_or(&Json::Null) != want)
            .map(|(name, _)| name)
            .collect()
    }

    /// Observes `spec`, asserts it reads back exactly as it resolves, with no mutating call.
    async fn assert_converged(&self, spec: &ResourceSpec) -> Observed {
        let before = self.counter.snapshot();
        let observed = self.observe(spec).await.expect("the resource exists");
        assert_eq!(
            observed.fields,
            self.resolved(spec),
            "observed fields of `{}`",
            spec.id
        );
        assert_eq!(self.counter.snapshot().since(&before).mutations(), 0);
        observed
    }

    /// Asserts the changed fields are exactly `expect_changed`, applies them, returns the
    /// calls the update made.
    async fn update(&self, spec: &ResourceSpec, expect_changed: &[&str]) -> CallCounts {
        let current = self.observe(spec).await.unwrap();
        let changed = self.changed(spec, &current);
        assert_eq!(changed, expect_changed, "changed fields of `{}`", spec.id);
        let before = self.counter.snapshot();
        self.cloud
            .update(spec, &current, &changed, &self.ctx())
            .await
            .unwrap();
        self.counter.snapshot().since(&before)
    }

    async fn delete(&self, spec: &ResourceSpec) -> CallCounts {
        let current = self.observe(spec).await.unwrap();
        let before = self.counter.snapshot();
        self.cloud
            .delete(&spec.id, &current, &self.ctx())
            .await
            .unwrap();
        self.counter.snapshot().since(&before)
    }

    /// Creates the role `logical` directly with IAM, trusted by `service`, and records its
    /// ARN as the role's output (the IAM adapter is not part of these tests).
    async fn role(&mut self, logical: &str, service: &str) -> String {
        let spec = self.spec(ResourceKind::Role, logical);
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }],
        });
        let role = self
            .iam
            .create_role()
            .role_name(&spec.physical_name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        let arn = role.arn().to_owned();
        self.outputs.insert(
            spec.id.clone(),
            Outputs::from([
                (OutputKey::Arn, arn.clone()),
                (OutputKey::Name, spec.physical_name.clone()),
            ]),
        );
        arn
    }

    /// Creates the archive bucket directly with S3, without the TLS-only policy so the
    /// test can read objects (EMULATOR.md, S3 row), and records its outputs.
    async fn bucket(&mut self) -> String {
        let spec = self.spec(ResourceKind::Bucket, "logs");
        let s3 = &self.cloud.clients().s3;
        s3.create_bucket()
            .bucket(&spec.physical_name)
            .send()
            .await
            .unwrap();
        self.outputs.insert(
            spec.id.clone(),
            Outputs::from([
                (
                    OutputKey::Arn,
                    format!("arn:aws:s3:::{}", spec.physical_name),
                ),
                (OutputKey::Name, spec.physical_name.clone()),
            ]),
        );
        spec.physical_name
    }

    /// The delivery stream with everything it needs: the `s3` key, the bucket, the role.
    async fn delivery_stream(&mut self) -> ResourceSpec {
        let key = self.spec(ResourceKind::KmsKey, "s3");
        self.create(&key).await;
        self.bucket().await;
        self.role("firehose", "firehose.amazonaws.com").await;
        let stream = self.spec(ResourceKind::DeliveryStream, "logs-archive");
        self.create(&stream).await;
        stream
    }
}

/// Bodies of the JSON requests sent for one operation, captured before transmission.
#[derive(Clone, Debug)]
struct CaptureRequests {
    operation: &'static str,
    bodies: Arc<Mutex<Vec<Json>>>,
}

impl Intercept for CaptureRequests {
    fn name(&self) -> &'static str {
        "CaptureRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation)
        {
            let body = context.request().body().bytes().unwrap_or_default();
            self.bodies
                .lock()
                .unwrap()
                .push(serde_json::from_slice(body)?);
        }
        Ok(())
    }
}

const GROUP: &str = "transaction-validator";

#[tokio::test]
async fn log_group_round_trips_and_updates_retention_and_tags_one_call_each() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let mut group = fx.spec(ResourceKind::LogGroup, GROUP);
    fx.create(&key).await;
    assert_eq!(fx.observe(&group).await, None);

    let outputs = fx.create(&group).await;
    let observed = fx.assert_converged(&group).await;
    assert_eq!(observed.outputs, outputs);
    let arn = &outputs[&OutputKey::Arn];
    assert!(
        arn.ends_with(&format!(":log-group:{}", group.physical_name)),
        "{arn}"
    );
    assert_eq!(observed.fields["retention_in_days"], json!(7));
    assert_eq!(
        observed.fields["kms_key_id"],
        json!(fx.outputs[&key.id][&OutputKey::Arn])
    );

    if let SpecBody::LogGroup(g) = &mut group.body {
        g.retention_days = 30;
    }
    let calls = fx.update(&group, &["retention_in_days"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["CloudWatch Logs:PutRetentionPolicy"]
    );
    fx.assert_converged(&group).await;

    group.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = fx.update(&group, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["CloudWatch Logs:TagResource"]);
    fx.assert_converged(&group).await;

    group.tags.remove("team");
    let calls = fx.update(&group, &["tags"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["CloudWatch Logs:UntagResource"]
    );
    fx.assert_converged(&group).await;

    let calls = fx.delete(&group).await;
    assert_eq!(
        calls.mutating_operations(),
        ["CloudWatch Logs:DeleteLogGroup"]
    );
    assert_eq!(fx.observe(&group).await, None);
}

/// moto 5.2.5 does not implement AssociateKmsKey: the request the adapter sends is checked
/// instead of its effect.
#[tokio::test]
async fn moto_gap_logs_associate_kms_key_is_checked_on_the_request() {
    let endpoint = moto_or_skip!();
    let capture = CaptureRequests {
        operation: "AssociateKmsKey",
        bodies: Arc::default(),
    };
    let mut fx = Fixture::with_clients(&endpoint, |clients| {
        clients.logs = aws_sdk_cloudwatchlogs::Client::from_conf(
            clients
                .logs
                .config()
                .to_builder()
                .interceptor(capture.clone())
                .build(),
        );
    })
    .await;
    let logs_key = fx.spec(ResourceKind::KmsKey, "logs");
    let other_key = fx.spec(ResourceKind::KmsKey, "sqs");
    let mut group = fx.spec(ResourceKind::LogGroup, GROUP);
    fx.create(&logs_key).await;
    fx.create(&other_key).await;
    fx.create(&group).await;
    fx.assert_converged(&group).await;

    if let SpecBody::LogGroup(g) = &mut group.body {
        g.kms_key = txdeploy::spec::OutputRef::arn(&other_key.id);
    }
    let current = fx.observe(&group).await.unwrap();
    assert_eq!(fx.changed(&group, &current), ["kms_key_id"]);
    let result = fx
        .cloud
        .update(&group, &current, &["kms_key_id".to_owned()], &fx.ctx())
        .await;
    // Every attempt (moto's answer is retried by the SDK) carries the new key.
    let bodies = capture.bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty());
    let expected = json!({
        "logGroupName": group.physical_name,
        "kmsKeyId": fx.outputs[&other_key.id][&OutputKey::Arn],
    });
    assert!(bodies.iter().all(|b| *b == expected), "{bodies:?}");
    // moto has no such action; once it has one, this test should observe the new key.
    assert!(
        result.is_err(),
        "moto now implements AssociateKmsKey: {result:?}"
    );
    fx.delete(&group).await;
}

#[tokio::test]
async fn delivery_stream_round_trips_and_updates_the_destination_and_tags() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    assert_eq!(
        fx.observe(&fx.spec(ResourceKind::DeliveryStream, "logs-archive"))
            .await,
        None
    );
    let mut stream = fx.delivery_stream().await;
    let observed = fx.assert_converged(&stream).await;
    assert_eq!(observed.outputs, fx.outputs[&stream.id]);
    assert!(
        observed.outputs[&OutputKey::Arn]
            .ends_with(&format!(":deliverystream/{}", stream.physical_name))
    );
    assert_eq!(observed.fields["stream_type"], json!("DirectPut"));
    assert_eq!(
        observed.fields["s3_destination"]["compression_format"],
        json!("GZIP")
    );
    assert_eq!(observed.fields["s3_destination"]["prefix"], json!("logs/"));

    if let SpecBody::DeliveryStream(s) = &mut stream.body {
        s.buffering_interval_seconds = 60;
    }
    let calls = fx.update(&stream, &["s3_destination"]).await;
    assert_eq!(calls.mutating_operations(), ["Firehose:UpdateDestination"]);
    let observed = fx.assert_converged(&stream).await;
    assert_eq!(
        observed.fields["s3_destination"]["buffering_hints"]["interval_in_seconds"],
        json!(60)
    );

    // A second update needs the version id the first one produced.
    if let SpecBody::DeliveryStream(s) = &mut stream.body {
        s.error_output_prefix = "logs/failed/".to_owned();
    }
    let calls = fx.update(&stream, &["s3_destination"]).await;
    assert_eq!(calls.mutating_operations(), ["Firehose:UpdateDestination"]);
    fx.assert_converged(&stream).await;

    stream.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = fx.update(&stream, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["Firehose:TagDeliveryStream"]);
    fx.assert_converged(&stream).await;

    let calls = fx.delete(&stream).await;
    assert_eq!(
        calls.mutating_operations(),
        ["Firehose:DeleteDeliveryStream"]
    );
    assert_eq!(fx.observe(&stream).await, None);
}

#[tokio::test]
async fn subscription_filter_round_trips_and_changes_its_pattern_in_place() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let group = fx.spec(ResourceKind::LogGroup, GROUP);
    let mut filter = fx.spec(ResourceKind::SubscriptionFilter, GROUP);
    fx.create(&key).await;
    fx.create(&group).await;
    fx.delivery_stream().await;
    fx.role("logs-to-firehose", "logs.amazonaws.com").await;
    assert_eq!(fx.observe(&filter).await, None);

    let outputs = fx.create(&filter).await;
    let observed = fx.assert_converged(&filter).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(observed.fields["filter_pattern"], json!(""));
    assert_eq!(
        observed.fields["log_group_name"],
        json!(group.physical_name)
    );

    if let SpecBody::SubscriptionFilter(f) = &mut filter.body {
        f.filter_pattern = "ERROR".to_owned();
    }
    let calls = fx.update(&filter, &["filter_pattern"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["CloudWatch Logs:PutSubscriptionFilter"]
    );
    fx.assert_converged(&filter).await;

    let calls = fx.delete(&filter).await;
    assert_eq!(
        calls.mutating_operations(),
        ["CloudWatch Logs:DeleteSubscriptionFilter"]
    );
    assert_eq!(fx.observe(&filter).await, None);
    assert!(fx.observe(&group).await.is_some(), "the group stays");
}

/// STACK.md "logs really reach it": an event written to a function's log group arrives,
/// through the subscription filter and the delivery stream, as an object under `logs/`.
/// moto delivers at once (no buffering) and writes the CloudWatch Logs payload gzipped.
#[tokio::test]
async fn a_log_event_reaches_the_archive_bucket_under_the_logs_prefix() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let group = fx.spec(ResourceKind::LogGroup, GROUP);
    let filter = fx.spec(ResourceKind::SubscriptionFilter, GROUP);
    fx.create(&key).await;
    fx.create(&group).await;
    fx.delivery_stream().await;
    fx.role("logs-to-firehose", "logs.amazonaws.com").await;
    fx.create(&filter).await;
    let bucket =
        fx.outputs[&ResourceId::new(ResourceKind::Bucket, "logs")][&OutputKey::Name].clone();

    let logs = &fx.cloud.clients().logs;
    logs.create_log_stream()
        .log_group_name(&group.physical_name)
        .log_stream_name("2026/11/28/[$LATEST]abc")
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    logs.put_log_events()
        .log_group_name(&group.physical_name)
        .log_stream_name("2026/11/28/[$LATEST]abc")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now)
                .message("transaction tx-42 accepted")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let s3 = &fx.cloud.clients().s3;
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("logs/")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(&keys[0])
        .send()
        .await
        .unwrap();
    let gzipped = object.body.collect().await.unwrap().into_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut text)
        .unwrap();
    let payload: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(payload["logGroup"], json!(group.physical_name));
    assert_eq!(
        payload["subscriptionFilters"],
        json!([filter.physical_name])
    );
    assert_eq!(
        payload["logEvents"][0]["message"],
        json!("transaction tx-42 accepted")
    );
}

/// `discover` finds the stack's log groups and delivery stream by their tags and reads them
/// as `observe` does, so orphans of these kinds can be planned for deletion.
#[tokio::test]
async fn discover_finds_the_stacks_log_groups_and_delivery_stream() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let group = fx.spec(ResourceKind::LogGroup, GROUP);
    fx.create(&key).await;
    fx.create(&group).await;
    let stream = fx.delivery_stream().await;

    let stack = group.tags[txdeploy::stack::STACK_TAG].clone();
    let found = fx.cloud.discover(&stack, &fx.env).await.unwrap();
    for spec in [&group, &stream] {
        let discovered = found
            .iter()
            .find(|d| d.id == spec.id)
            .unwrap_or_else(|| panic!("`{}` not discovered in {found:?}", spec.id));
        assert_eq!(Some(discovered.observed.clone()), fx.observe(spec).await);
    }
}
