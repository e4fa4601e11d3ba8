//! The undo's restore, one resource at a time against moto: for each kind whose adapter
//! reads its values through `resolved_field` and `desired_tags`, create spec A, update it to
//! spec B (every updatable field moto stores differs), then call `update` with B's spec and
//! `StepContext::restoring(A's observation)` as the undo does, and read back A's values. An
//! adapter that sends the typed spec value instead of the recorded one reads back B's.
//! Fields moto does not store are named per test and checked on the request sent. Skipped
//! with a notice when `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};
use txdeploy::cloud::{Cloud, Observed};
use txdeploy::config::TableBilling;
use txdeploy::spec::{ResourceKind, ResourceSpec, SpecBody, Value};

use crate::harness::{AdapterFixture, CaptureRequests, add_interceptor, moto_or_skip};

/// One kind's undo: the spec as created and the spec of the failed apply.
struct Case {
    a: ResourceSpec,
    b: ResourceSpec,
    /// The fields the update from A to B changes, as the planner finds them against moto.
    changed: &'static [&'static str],
    /// Fields moto accepts but does not report (a moto gap each): driven as changed like the
    /// planner would against AWS, left out of the read-back comparison; the test checks the
    /// request sent instead.
    moto_gaps: &'static [&'static str],
}

/// Creates A, updates it to B, restores A's recorded fields through `update` with B's spec
/// (the undo's call) and asserts every field reads back as A's, moto gaps excepted. Returns
/// A's observation (what the undo restored from).
async fn assert_undo_restores(fx: &mut AdapterFixture, case: &Case) -> Observed {
    let Case {
        a,
        b,
        changed,
        moto_gaps,
    } = case;
    fx.create(a).await;
    fx.seed_dependencies(b);
    // What the journal records as the step's `before`.
    let before = fx.observe(a).await.expect("A exists");

    // The failed apply's update.
    let current = fx.observe(b).await.unwrap();
    let mut update: Vec<String> = fx.changed(b, &current);
    assert_eq!(
        update, *changed,
        "fields the update to B changes of `{}`",
        b.id
    );
    update.extend(moto_gaps.iter().map(|g| (*g).to_owned()));
    fx.cloud
        .update(b, &current, &update, &fx.ctx())
        .await
        .unwrap();
    let updated = fx.observe(b).await.unwrap();
    for name in *changed {
        assert_ne!(
            updated.fields[*name], before.fields[*name],
            "B must change `{}`.{name} for its restore to be checked",
            b.id
        );
    }

    // The undo: B's spec, A's recorded fields. A gap field may read as differing or not
    // (moto's stand-in value follows the spec observed with), so it is added either way.
    let mut restore: Vec<String> = before
        .fields
        .iter()
        .filter(|(name, value)| updated.fields.get(*name) != Some(*value))
        .map(|(name, _)| name.clone())
        .filter(|name| !moto_gaps.contains(&name.as_str()))
        .collect();
    assert_eq!(restore, *changed, "fields the undo of `{}` restores", b.id);
    restore.extend(moto_gaps.iter().map(|g| (*g).to_owned()));
    let ctx = fx.ctx().restoring(before.fields.clone());
    fx.cloud.update(b, &updated, &restore, &ctx).await.unwrap();

    let after = fx.observe(b).await.unwrap();
    for (name, recorded) in &before.fields {
        if moto_gaps.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            after.fields.get(name),
            Some(recorded),
            "`{}`.{name} reads back as recorded before the update",
            b.id
        );
    }
    before
}

/// The spec with a `team` tag (and for B an extra one), so the restore sets a changed tag
/// back and removes an added one.
fn tagged(mut spec: ResourceSpec, pairs: &[(&str, &str)]) -> ResourceSpec {
    for (key, value) in pairs {
        spec.tags.insert((*key).to_owned(), (*value).to_owned());
    }
    spec
}

const TAGS_A: &[(&str, &str)] = &[("team", "payments")];
const TAGS_B: &[(&str, &str)] = &[("team", "risk"), ("cost-center", "42")];

/// moto gap (EMULATOR.md section 1, KMS): GetKeyRotationStatus never returns the rotation
/// period, so the restored period is checked on the EnableKeyRotation request.
#[tokio::test]
async fn restore_tests_kms_key_moto_gap_rotation_period() {
    let endpoint = moto_or_skip!();
    let capture = CaptureRequests::new("EnableKeyRotation");
    let kms_capture = capture.clone();
    let mut fx = AdapterFixture::builder(&endpoint)
        .clients(move |clients| add_interceptor!(clients.kms, aws_sdk_kms, kms_capture))
        .build()
        .await;
    let a = tagged(fx.spec(ResourceKind::KmsKey, "s3"), TAGS_A);
    let mut b = tagged(a.clone(), TAGS_B);
    let other_policy = match fx.spec(ResourceKind::KmsKey, "sqs").body {
        SpecBody::KmsKey(key) => key.policy,
        other => panic!("not a key: {other:?}"),
    };
    let SpecBody::KmsKey(key) = &mut b.body else {
        panic!("not a key")
    };
    let period_a = key.rotation_period_days;
    key.description = "the failed apply's description".to_owned();
    key.rotation_period_days = period_a + 30;
    key.policy = other_policy;
    let case = Case {
        a,
        b,
        changed: &["description", "key_policy", "tags"],
        moto_gaps: &["rotation_period_days"],
    };
    assert_undo_restores(&mut fx, &case).await;
    let periods: Vec<Json> = capture
        .bodies()
        .iter()
        .map(|body| body["RotationPeriodInDays"].clone())
        .collect();
    assert_eq!(
        periods,
        [json!(period_a), json!(period_a + 30), json!(period_a)],
        "create, update to B, restore"
    );
}

#[tokio::test]
async fn restore_tests_kms_alias() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "sqs");
    let other_key = fx.spec(ResourceKind::KmsKey, "dynamodb");
    fx.create(&key).await;
    fx.create(&other_key).await;
    let a = fx.spec(ResourceKind::KmsAlias, "sqs");
    let mut b = a.clone();
    let SpecBody::KmsAlias(alias) = &mut b.body else {
        panic!("not an alias")
    };
    alias.target_key.resource = other_key.id.clone();
    let case = Case {
        a,
        b,
        changed: &["target_key_id"],
        moto_gaps: &[],
    };
    assert_undo_restores(&mut fx, &case).await;
}

#[tokio::test]
async fn restore_tests_bucket() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "s3");
    let other_key = fx.spec(ResourceKind::KmsKey, "sqs");
    fx.create(&key).await;
    fx.create(&other_key).await;
    let a = tagged(fx.spec(ResourceKind::Bucket, "logs"), TAGS_A);
    let mut b = tagged(a.clone(), TAGS_B);
    let SpecBody::Bucket(bucket) = &mut b.body else {
        panic!("not a bucket")
    };
    bucket.versioning = !bucket.versioning;
    bucket.kms_key.resource = other_key.id.clone();
    bucket.bucket_key = !bucket.bucket_key;
    bucket.block_public_access = !bucket.block_public_access;
    bucket.policy = Value::Null;
    bucket.lifecycle.prefix = "elsewhere/".to_owned();
    bucket.lifecycle.glacier_after_days += 23;
    bucket.lifecycle.expire_after_days += 100;
    bucket.lifecycle.noncurrent_expire_after_days += 10;
    let case = Case {
        a,
        b,
        changed: &[
            "bucket_policy",
            "encryption",
            "lifecycle",
            "public_access_block",
            "tags",
            "versioning",
        ],
        moto_gaps: &[],
    };
    let before = assert_undo_restores(&mut fx, &case).await;
    assert_eq!(before.fields["versioning"], json!("Enabled"));
    assert!(before.fields["bucket_policy"].is_object());
}

#[tokio::test]
async fn restore_tests_topic() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::builder(&endpoint)
        .config(|c| c.alarms.email = "ops@example.com".to_owned())
        .build()
        .await;
    let key = fx.spec(ResourceKind::KmsKey, "sqs");
    let other_key = fx.spec(ResourceKind::KmsKey, "s3");
    fx.create(&key).await;
    fx.create(&other_key).await;
    let a = tagged(fx.spec(ResourceKind::Topic, "alarms"), TAGS_A);
    let mut b = tagged(a.clone(), TAGS_B);
    let SpecBody::Topic(topic) = &mut b.body else {
        panic!("not a topic")
    };
    topic.kms_key.resource = other_key.id.clone();
    topic.email_subscription = Some("oncall@example.com".to_owned());
    let case = Case {
        a,
        b,
        changed: &["email_subscription", "kms_master_key_id", "tags"],
        moto_gaps: &[],
    };
    let before = assert_undo_restores(&mut fx, &case).await;
    assert_eq!(
        before.fields["email_subscription"],
        json!("ops@example.com")
    );
}

#[tokio::test]
async fn restore_tests_iam_role() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let a = tagged(fx.spec(ResourceKind::Role, "transaction-validator"), TAGS_A);
    fx.seed_dependencies(&a);
    let other_policy = match fx.spec(ResourceKind::Role, "firehose").body {
        SpecBody::Role(role) => role.policy,
        other => panic!("not a role: {other:?}"),
    };
    let mut b = tagged(a.clone(), TAGS_B);
    let SpecBody::Role(role) = &mut b.body else {
        panic!("not a role")
    };
    role.description = "the failed apply's description".to_owned();
    role.assume_role_policy = txdeploy::stack::iam_policies::firehose_trust();
    role.policy_name = format!("{}-renamed", role.policy_name);
    role.policy = other_policy;
    let case = Case {
        a,
        b,
        changed: &["assume_role_policy", "description", "inline_policy", "tags"],
        moto_gaps: &[],
    };
    let before = assert_undo_restores(&mut fx, &case).await;
    // The renamed policy the failed apply put is gone again: one inline policy, A's.
    assert!(before.fields["inline_policy"].is_object());
}

#[tokio::test]
async fn restore_tests_autoscaling() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::builder(&endpoint)
        .config(|c| c.dynamodb.billing_mode = TableBilling::Provisioned)
        .build()
        .await;
    let key = fx.spec(ResourceKind::KmsKey, "dynamodb");
    let table = fx.spec(ResourceKind::Table, "transactions");
    fx.create(&key).await;
    fx.create(&table).await;

    let a = fx.spec(ResourceKind::ScalingTarget, "merchant-date-index-write");
    let mut b = a.clone();
    let SpecBody::ScalingTarget(bounds) = &mut b.body else {
        panic!("not a scaling target")
    };
    bounds.min_capacity += 2;
    bounds.max_capacity += 150;
    let case = Case {
        a,
        b,
        changed: &["max_capacity", "min_capacity"],
        moto_gaps: &[],
    };
    assert_undo_restores(&mut fx, &case).await;

    let a = fx.spec(ResourceKind::ScalingPolicy, "merchant-date-index-write");
    let mut b = a.clone();
    let SpecBody::ScalingPolicy(tracking) = &mut b.body else {
        panic!("not a scaling policy")
    };
    tracking.target_value -= 15.0;
    tracking.scale_in_cooldown_seconds += 30;
    tracking.scale_out_cooldown_seconds += 45;
    let case = Case {
        a,
        b,
        changed: &["target_tracking"],
        moto_gaps: &[],
    };
    assert_undo_restores(&mut fx, &case).await;
    fx.delete(&table).await;
}

/// moto gap: a repeated PutFunctionEventInvokeConfig keeps the old settings (AWS replaces
/// them), so the restore is checked on the request: the undo's Put sends the recorded
/// retries, event age and on-failure destination, not the failed apply's.
#[tokio::test]
async fn restore_tests_event_invoke_config_moto_gap_put_keeps_old_settings() {
    const NOTIFIER: &str = "notification-handler";
    let endpoint = moto_or_skip!();
    let capture = CaptureRequests::new("PutFunctionEventInvokeConfig");
    let lambda_capture = capture.clone();
    let mut fx = AdapterFixture::builder(&endpoint)
        .clients(move |clients| add_interceptor!(clients.lambda, aws_sdk_lambda, lambda_capture))
        .build()
        .await;
    for kind in [
        ResourceKind::Role,
        ResourceKind::Function,
        ResourceKind::LambdaAlias,
    ] {
        let spec = fx.spec(kind, NOTIFIER);
        fx.create(&spec).await;
    }
    let a = fx.spec(ResourceKind::EventInvokeConfig, NOTIFIER);
    fx.create(&a).await;
    let recorded = fx.observe(&a).await.expect("A exists");
    let mut b = a.clone();
    let SpecBody::EventInvokeConfig(config) = &mut b.body else {
        panic!("not an event invoke config")
    };
    config.maximum_retry_attempts = 0;
    config.maximum_event_age_seconds = 60;
    let settings: Vec<String> = ["maximum_event_age_in_seconds", "maximum_retry_attempts"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    fx.cloud
        .update(&b, &recorded, &settings, &fx.ctx())
        .await
        .unwrap();
    let undo = fx.ctx().restoring(recorded.fields.clone());
    fx.cloud
        .update(&b, &recorded, &settings, &undo)
        .await
        .unwrap();

    let sent: Vec<(Json, Json, Json)> = capture
        .bodies()
        .iter()
        .map(|body| {
            (
                body["MaximumRetryAttempts"].clone(),
                body["MaximumEventAgeInSeconds"].clone(),
                body["DestinationConfig"]["OnFailure"]["Destination"].clone(),
            )
        })
        .collect();
    let on_failure = recorded.fields["destination_config"]["on_failure"].clone();
    assert!(on_failure.is_string(), "{recorded:?}");
    let as_recorded = (
        recorded.fields["maximum_retry_attempts"].clone(),
        recorded.fields["maximum_event_age_in_seconds"].clone(),
        on_failure.clone(),
    );
    assert_eq!(
        sent,
        [
            as_recorded.clone(),
            (json!(0), json!(60), on_failure),
            as_recorded
        ],
        "create, the failed apply's update, the undo's restore"
    );
}
