//! The AWS adapters against moto: what they create reads back exactly as the spec resolves
//! (so a converged stack plans as no-ops), updates call only the changed field's API, and
//! deletes leave nothing behind. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Value as Json, json};
use txdeploy::cloud::{Cloud, ErrorClass, StepContext};
use txdeploy::spec::{
    KmsKeySpec, OutputKey, ResourceId, ResourceKind, ResourceSpec, SpecBody, Value,
};

use crate::harness::{AdapterFixture, CaptureRequests, add_interceptor, moto_or_skip};

fn kms_key_spec(spec: &mut ResourceSpec) -> &mut KmsKeySpec {
    match &mut spec.body {
        SpecBody::KmsKey(key) => key,
        other => panic!("not a key: {other:?}"),
    }
}

#[tokio::test]
async fn kms_key_round_trips_and_updates_only_the_changed_field() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = fx.spec(ResourceKind::KmsKey, "logs");
    assert_eq!(fx.observe(&spec).await, None);

    let outputs = fx.create(&spec).await;
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(observed.physical_id, outputs[&OutputKey::Id]);

    kms_key_spec(&mut spec).description = "rotated description".to_owned();
    let calls = fx.update(&spec, &["description"]).await;
    assert_eq!(calls.mutating_operations(), ["KMS:UpdateKeyDescription"]);
    fx.assert_converged(&spec).await;

    spec.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["KMS:TagResource"]);
    spec.tags.remove("team");
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["KMS:UntagResource"]);

    // A policy with only the account statement: a different document, still administrable.
    let root = format!("arn:{}:iam::{}:root", fx.env.partition, fx.env.account_id);
    kms_key_spec(&mut spec).policy = Value::JsonText(Box::new(Value::map([
        ("Version", Value::str("2012-10-17")),
        (
            "Statement",
            Value::list([Value::map([
                ("Sid", Value::str("AccountOnly")),
                ("Effect", Value::str("Allow")),
                ("Principal", Value::map([("AWS", Value::str(root))])),
                ("Action", Value::str("kms:*")),
                ("Resource", Value::str("*")),
            ])]),
        ),
    ])));
    let calls = fx.update(&spec, &["key_policy"]).await;
    assert_eq!(calls.mutating_operations(), ["KMS:PutKeyPolicy"]);
    fx.assert_converged(&spec).await;

    // Deletion schedules the key (7 days) and says so; a pending key no longer counts.
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = messages.clone();
    let ctx = StepContext::new(
        fx.env.clone(),
        fx.outputs.clone(),
        Box::new(move |m| sink.lock().unwrap().push(m)),
    );
    let current = fx.observe(&spec).await.unwrap();
    let before = fx.counter.snapshot();
    fx.cloud.delete(&spec.id, &current, &ctx).await.unwrap();
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["KMS:ScheduleKeyDeletion"]
    );
    let reported = messages.lock().unwrap().join("\n");
    assert!(reported.contains("scheduled for deletion"), "{reported}");
    assert!(reported.contains(&current.physical_id), "{reported}");
    assert_eq!(fx.observe(&spec).await, None);
    // Deleting again (a retried step) succeeds.
    fx.cloud.delete(&spec.id, &current, &ctx).await.unwrap();
}

/// moto gap (EMULATOR.md section 1, KMS): EnableKeyRotation accepts `RotationPeriodInDays`
/// but GetKeyRotationStatus never returns it, so the period cannot be read back from moto.
/// The request txdeploy sends is checked instead, on create and on update.
#[tokio::test]
async fn moto_gap_kms_rotation_period_is_checked_on_the_request() {
    let endpoint = moto_or_skip!();
    let capture = CaptureRequests::new("EnableKeyRotation");
    let kms_capture = capture.clone();
    let mut fx = AdapterFixture::builder(&endpoint)
        .config(|config| config.kms.rotation_period_days = 400)
        .clients(move |clients| add_interceptor!(clients.kms, aws_sdk_kms, kms_capture))
        .build()
        .await;
    let mut spec = fx.spec(ResourceKind::KmsKey, "s3");
    let outputs = fx.create(&spec).await;
    let key_id = &outputs[&OutputKey::Id];
    assert_eq!(
        capture.bodies(),
        [json!({"KeyId": key_id, "RotationPeriodInDays": 400})]
    );
    // moto reports rotation on but no period; the adapter reads that as the spec's period.
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.fields["rotation_enabled"], json!(true));

    // Changing the period cannot show up as a diff against moto (it never reports one),
    // so the update is driven with the field name the planner would pass against AWS.
    kms_key_spec(&mut spec).rotation_period_days = 180;
    let before = fx.counter.snapshot();
    fx.cloud
        .update(
            &spec,
            &observed,
            &["rotation_period_days".to_owned()],
            &fx.ctx(),
        )
        .await
        .unwrap();
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["KMS:EnableKeyRotation"]
    );
    assert_eq!(
        capture.bodies()[1],
        json!({"KeyId": key_id, "RotationPeriodInDays": 180})
    );
}

#[tokio::test]
async fn kms_alias_round_trips_and_moves_to_another_key() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "sqs");
    let other_key = fx.spec(ResourceKind::KmsKey, "dynamodb");
    let alias = fx.spec(ResourceKind::KmsAlias, "sqs");
    fx.create(&key).await;
    let other_outputs = fx.create(&other_key).await;
    assert_eq!(fx.observe(&alias).await, None);

    let outputs = fx.create(&alias).await;
    let observed = fx.assert_converged(&alias).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(
        observed.physical_id,
        format!("alias/{}-sqs", fx.config.stack_name())
    );

    // Point the alias at the other key, as if the spec's target had changed.
    fx.outputs.insert(key.id.clone(), other_outputs);
    let calls = fx.update(&alias, &["target_key_id"]).await;
    assert_eq!(calls.mutating_operations(), ["KMS:UpdateAlias"]);
    fx.assert_converged(&alias).await;

    fx.delete(&alias).await;
    assert_eq!(fx.observe(&alias).await, None);
}

#[tokio::test]
async fn bucket_round_trips_every_setting_and_updates_one_at_a_time() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "s3");
    let mut bucket = fx.spec(ResourceKind::Bucket, "logs");
    fx.create(&key).await;
    assert_eq!(fx.observe(&bucket).await, None);

    let outputs = fx.create(&bucket).await;
    let observed = fx.assert_converged(&bucket).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(
        observed.fields["public_access_block"]["restrict_public_buckets"],
        json!(true)
    );
    assert_eq!(observed.fields["lifecycle"]["glacier_after_days"], json!(7));

    if let SpecBody::Bucket(b) = &mut bucket.body {
        b.lifecycle.glacier_after_days = 30;
    }
    let calls = fx.update(&bucket, &["lifecycle"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["S3:PutBucketLifecycleConfiguration"]
    );
    fx.assert_converged(&bucket).await;

    if let SpecBody::Bucket(b) = &mut bucket.body {
        b.versioning = false;
    }
    let calls = fx.update(&bucket, &["versioning"]).await;
    assert_eq!(calls.mutating_operations(), ["S3:PutBucketVersioning"]);
    fx.assert_converged(&bucket).await;

    let before = fx.counter.snapshot();
    fx.delete(&bucket).await;
    let calls = fx.counter.snapshot().since(&before);
    assert_eq!(
        calls.mutating_operations(),
        ["S3:DeleteBucket", "S3:DeleteBucketPolicy"]
    );
    assert_eq!(fx.observe(&bucket).await, None);
}

#[tokio::test]
async fn bucket_holding_objects_is_not_deleted() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "s3");
    let mut bucket = fx.spec(ResourceKind::Bucket, "logs");
    // No TLS-only policy: moto would apply it to PutObject over http (EMULATOR.md #4).
    if let SpecBody::Bucket(b) = &mut bucket.body {
        b.policy = Value::Null;
    }
    fx.create(&key).await;
    fx.create(&bucket).await;
    fx.assert_converged(&bucket).await;
    fx.cloud
        .clients()
        .s3
        .put_object()
        .bucket(&bucket.physical_name)
        .key("logs/2026/11/28/app.log")
        .body(b"line".to_vec().into())
        .send()
        .await
        .unwrap();

    let current = fx.observe(&bucket).await.unwrap();
    let err = fx
        .cloud
        .delete(&bucket.id, &current, &fx.ctx())
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("still holds objects"), "{err}");
    assert!(
        fx.observe(&bucket).await.is_some(),
        "the bucket must survive"
    );
}

#[tokio::test]
async fn queues_round_trip_with_redrive_and_update_one_attribute() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "sqs");
    let dlq = fx.spec(ResourceKind::Queue, "analytics-dlq");
    let mut queue = fx.spec(ResourceKind::Queue, "analytics");
    fx.create(&key).await;
    assert_eq!(fx.observe(&queue).await, None);

    fx.create(&dlq).await;
    let outputs = fx.create(&queue).await;
    let dlq_observed = fx.assert_converged(&dlq).await;
    assert_eq!(dlq_observed.fields["redrive_policy"], Json::Null);
    let observed = fx.assert_converged(&queue).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(
        observed.fields["redrive_policy"]["maxReceiveCount"],
        json!(3)
    );
    assert_eq!(observed.fields["visibility_timeout_seconds"], json!(180));

    if let SpecBody::Queue(q) = &mut queue.body {
        q.visibility_timeout_seconds = 240;
    }
    let calls = fx.update(&queue, &["visibility_timeout_seconds"]).await;
    assert_eq!(calls.mutating_operations(), ["SQS:SetQueueAttributes"]);
    fx.assert_converged(&queue).await;

    // Removing the redrive policy sends it empty, which SQS reads as "none".
    if let SpecBody::Queue(q) = &mut queue.body {
        q.redrive = None;
    }
    let calls = fx.update(&queue, &["redrive_policy"]).await;
    assert_eq!(calls.mutating_operations(), ["SQS:SetQueueAttributes"]);
    fx.assert_converged(&queue).await;

    fx.delete(&queue).await;
    assert_eq!(fx.observe(&queue).await, None);
}

#[tokio::test]
async fn topic_round_trips_with_an_email_subscription_and_changes_it() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::builder(&endpoint)
        .config(|c| c.alarms.email = "ops@example.com".to_owned())
        .build()
        .await;
    let key = fx.spec(ResourceKind::KmsKey, "sqs");
    let mut alarms = fx.spec(ResourceKind::Topic, "alarms");
    let notifications = fx.spec(ResourceKind::Topic, "notifications");
    fx.create(&key).await;
    assert_eq!(fx.observe(&alarms).await, None);

    let outputs = fx.create(&alarms).await;
    fx.create(&notifications).await;
    let observed = fx.assert_converged(&alarms).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(
        observed.fields["email_subscription"],
        json!("ops@example.com")
    );
    let plain = fx.assert_converged(&notifications).await;
    assert_eq!(plain.fields["email_subscription"], Json::Null);

    if let SpecBody::Topic(t) = &mut alarms.body {
        t.email_subscription = Some("oncall@example.com".to_owned());
    }
    let calls = fx.update(&alarms, &["email_subscription"]).await;
    let mutations = calls.mutating_operations();
    assert!(
        mutations.contains(&"SNS:Subscribe".to_owned()),
        "{mutations:?}"
    );
    assert!(
        mutations
            .iter()
            .all(|op| op == "SNS:Subscribe" || op == "SNS:Unsubscribe"),
        "{mutations:?}"
    );
    fx.assert_converged(&alarms).await;

    fx.delete(&alarms).await;
    assert_eq!(fx.observe(&alarms).await, None);
}

#[tokio::test]
async fn discover_finds_this_stack_and_nothing_else() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    // A stack whose name starts with this one's, so its alias names do too.
    let prefix = fx.config.stack.prefix.clone();
    let mut other = AdapterFixture::builder(&endpoint)
        .config(move |c| c.stack.prefix = format!("{prefix}-dev-eu"))
        .build()
        .await;
    assert!(
        other
            .config
            .stack_name()
            .starts_with(&format!("{}-", fx.config.stack_name()))
    );
    let ids = [
        (ResourceKind::KmsKey, "sqs"),
        (ResourceKind::KmsAlias, "sqs"),
        (ResourceKind::KmsKey, "s3"),
        (ResourceKind::Bucket, "logs"),
        (ResourceKind::Queue, "notification-failures"),
        (ResourceKind::Topic, "notifications"),
    ];
    for (kind, logical) in ids {
        let spec = fx.spec(kind, logical);
        fx.create(&spec).await;
    }
    for (kind, logical) in [
        (ResourceKind::KmsKey, "sqs"),
        (ResourceKind::KmsAlias, "sqs"),
    ] {
        let spec = other.spec(kind, logical);
        other.create(&spec).await;
    }

    let stack = fx.config.stack_name();
    let found = fx.cloud.discover(&stack, &fx.env).await.unwrap();
    let found_ids: Vec<ResourceId> = found.iter().map(|d| d.id.clone()).collect();
    let mut want: Vec<ResourceId> = ids.iter().map(|(k, l)| ResourceId::new(*k, *l)).collect();
    want.sort();
    assert_eq!(found_ids, want);
    for d in &found {
        assert_eq!(
            &d.observed.outputs, &fx.outputs[&d.id],
            "outputs of `{}`",
            d.id
        );
    }

    // A key pending deletion is gone as far as discovery is concerned.
    let key = fx.spec(ResourceKind::KmsKey, "s3");
    fx.delete(&key).await;
    let found = fx.cloud.discover(&stack, &fx.env).await.unwrap();
    assert!(found.iter().all(|d| d.id != key.id));
}

/// `aws-sdk-cloudwatch` is pinned below 1.100 because later versions speak rpc-v2-CBOR,
/// which moto does not route; this fails if the pin is lifted while moto lacks CBOR.
#[tokio::test]
async fn cloudwatch_pin_speaks_query_protocol() {
    let endpoint = moto_or_skip!();
    let fx = AdapterFixture::new(&endpoint).await;
    let described = fx.cloud.clients().cloudwatch.describe_alarms().send().await;
    assert!(
        described.is_ok(),
        "DescribeAlarms failed: {:?}",
        described.err()
    );
    let calls = fx.counter.snapshot().by_operation();
    assert_eq!(
        calls[&("CloudWatch".to_owned(), "DescribeAlarms".to_owned())],
        1
    );
}

/// Counts one call per operation, not per attempt: moto answers DescribeAlarmHistory with
/// HTTP 500 (not implemented), which the SDK retries.
#[tokio::test]
async fn call_counter_splits_reads_from_mutations_and_ignores_retries() {
    let endpoint = moto_or_skip!();
    let attempts = CaptureAttempts::default();
    let attempts_seen = attempts.clone();
    let mut fx = AdapterFixture::builder(&endpoint)
        .clients(move |clients| {
            add_interceptor!(clients.cloudwatch, aws_sdk_cloudwatch, attempts_seen)
        })
        .build()
        .await;
    let start = fx.counter.snapshot();
    let key = fx.spec(ResourceKind::KmsKey, "sqs");
    let queue = fx.spec(ResourceKind::Queue, "notification-failures");
    fx.create(&key).await;
    assert_eq!(fx.observe(&queue).await, None);
    fx.create(&queue).await;
    let calls = fx.counter.snapshot().since(&start);
    let ops = calls.by_operation();
    let count = |service: &str, op: &str| ops.get(&(service.to_owned(), op.to_owned())).copied();
    assert_eq!(count("SQS", "GetQueueUrl"), Some(1));
    assert_eq!(count("SQS", "CreateQueue"), Some(1));
    assert_eq!(
        calls.mutating_operations(),
        ["KMS:CreateKey", "KMS:EnableKeyRotation", "SQS:CreateQueue"]
    );
    assert_eq!(calls.mutations(), 3);
    assert_eq!(calls.reads(), 1);

    let before = fx.counter.snapshot();
    let history = fx
        .cloud
        .clients()
        .cloudwatch
        .describe_alarm_history()
        .send()
        .await;
    assert!(
        history.is_err(),
        "moto does not implement DescribeAlarmHistory"
    );
    assert!(
        *attempts.0.lock().unwrap() > 1,
        "the SDK should have retried the 500"
    );
    let calls = fx.counter.snapshot().since(&before);
    assert_eq!(calls.reads(), 1);
    assert_eq!(calls.mutations(), 0);
}

/// Counts transmission attempts of every call.
#[derive(Clone, Debug, Default)]
struct CaptureAttempts(Arc<Mutex<u32>>);

impl Intercept for CaptureAttempts {
    fn name(&self) -> &'static str {
        "CaptureAttempts"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

#[tokio::test]
async fn environment_reads_the_account_from_sts() {
    let endpoint = moto_or_skip!();
    let fx = AdapterFixture::new(&endpoint).await;
    assert_eq!(fx.env.region, "us-east-1");
    assert_eq!(fx.env.partition, "aws");
    assert_eq!(fx.env.account_id.len(), 12, "{}", fx.env.account_id);
    assert!(fx.env.account_id.chars().all(|c| c.is_ascii_digit()));
    let ops = fx.counter.snapshot().by_operation();
    assert_eq!(ops[&("STS".to_owned(), "GetCallerIdentity".to_owned())], 1);
}
