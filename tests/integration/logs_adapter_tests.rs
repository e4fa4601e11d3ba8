//! The CloudWatch Logs and Firehose adapters against moto: log groups, subscription filters
//! and the archive delivery stream read back exactly as their specs resolve, updates call
//! only the changed field's API, deletes leave nothing, and a log event written to a group
//! ends up under `logs/` in the bucket. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT`
//! is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use serde_json::{Value as Json, json};
use txdeploy::cloud::Cloud;
use txdeploy::spec::{OutputKey, Outputs, ResourceId, ResourceKind, ResourceSpec, SpecBody};

use crate::harness::adapter_fixture::AdapterFixtureBuilder;
use crate::harness::{AdapterFixture, CaptureRequests, add_interceptor, moto_or_skip};

/// The logs tests' stack: a 7-day retention, so that a change to 30 days shows.
fn logs_fixture(endpoint: &str) -> AdapterFixtureBuilder {
    AdapterFixture::builder(endpoint).config(|c| c.logs.retention_days = 7)
}

/// Creates the role `logical` directly with IAM, trusted by `service`, and records its
/// ARN as the role's output (the IAM adapter is not part of these tests).
async fn role(fx: &mut AdapterFixture, logical: &str, service: &str) -> String {
    let spec = fx.spec(ResourceKind::Role, logical);
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    });
    let role = aws_sdk_iam::Client::new(&fx.sdk_config)
        .create_role()
        .role_name(&spec.physical_name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let arn = role.arn().to_owned();
    fx.outputs.insert(
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
async fn bucket(fx: &mut AdapterFixture) -> String {
    let spec = fx.spec(ResourceKind::Bucket, "logs");
    let s3 = &fx.cloud.clients().s3;
    s3.create_bucket()
        .bucket(&spec.physical_name)
        .send()
        .await
        .unwrap();
    fx.outputs.insert(
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
async fn delivery_stream(fx: &mut AdapterFixture) -> ResourceSpec {
    let key = fx.spec(ResourceKind::KmsKey, "s3");
    fx.create(&key).await;
    bucket(fx).await;
    role(fx, "firehose", "firehose.amazonaws.com").await;
    let stream = fx.spec(ResourceKind::DeliveryStream, "logs-archive");
    fx.create(&stream).await;
    stream
}

const GROUP: &str = "transaction-validator";

#[tokio::test]
async fn log_group_round_trips_and_updates_retention_and_tags_one_call_each() {
    let endpoint = moto_or_skip!();
    let mut fx = logs_fixture(&endpoint).build().await;
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
    let capture = CaptureRequests::new("AssociateKmsKey");
    let interceptor = capture.clone();
    let mut fx = logs_fixture(&endpoint)
        .clients(move |clients| add_interceptor!(clients.logs, aws_sdk_cloudwatchlogs, interceptor))
        .build()
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
    let bodies = capture.bodies();
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
    let mut fx = logs_fixture(&endpoint).build().await;
    assert_eq!(
        fx.observe(&fx.spec(ResourceKind::DeliveryStream, "logs-archive"))
            .await,
        None
    );
    let mut stream = delivery_stream(&mut fx).await;
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
    let mut fx = logs_fixture(&endpoint).build().await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let group = fx.spec(ResourceKind::LogGroup, GROUP);
    let mut filter = fx.spec(ResourceKind::SubscriptionFilter, GROUP);
    fx.create(&key).await;
    fx.create(&group).await;
    delivery_stream(&mut fx).await;
    role(&mut fx, "logs-to-firehose", "logs.amazonaws.com").await;
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
    let mut fx = logs_fixture(&endpoint).build().await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let group = fx.spec(ResourceKind::LogGroup, GROUP);
    let filter = fx.spec(ResourceKind::SubscriptionFilter, GROUP);
    fx.create(&key).await;
    fx.create(&group).await;
    delivery_stream(&mut fx).await;
    role(&mut fx, "logs-to-firehose", "logs.amazonaws.com").await;
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
    let mut fx = logs_fixture(&endpoint).build().await;
    let key = fx.spec(ResourceKind::KmsKey, "logs");
    let group = fx.spec(ResourceKind::LogGroup, GROUP);
    fx.create(&key).await;
    fx.create(&group).await;
    let stream = delivery_stream(&mut fx).await;

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
