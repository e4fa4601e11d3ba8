//! The IAM role and Lambda adapters against moto: what they create reads back exactly as
//! the spec resolves, updates call only the changed field's API, deletes leave nothing
//! behind. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_lambda::types::AliasRoutingConfiguration;
use serde_json::{Value as Json, json};
use txdeploy::cloud::Cloud;
use txdeploy::spec::{OutputKey, ResourceKind, ResourceSpec, SpecBody};

use crate::harness::{AdapterFixture, moto_or_skip};

const VALIDATOR: &str = "transaction-validator";

#[tokio::test]
async fn role_round_trips_and_updates_only_the_changed_field() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = fx.spec(ResourceKind::Role, VALIDATOR);
    fx.seed_dependencies(&spec);
    assert_eq!(fx.observe(&spec).await, None);

    let outputs = fx.create(&spec).await;
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs, outputs);
    assert!(outputs[&OutputKey::Arn].ends_with(&format!(":role/{}", spec.physical_name)));

    let SpecBody::Role(role) = &mut spec.body else {
        panic!("not a role")
    };
    role.description = "another description".to_owned();
    let calls = fx.update(&spec, &["description"]).await;
    assert_eq!(calls.mutating_operations(), ["IAM:UpdateRoleDescription"]);

    let SpecBody::Role(role) = &mut spec.body else {
        panic!("not a role")
    };
    role.assume_role_policy = txdeploy::stack::iam_policies::firehose_trust();
    let calls = fx.update(&spec, &["assume_role_policy"]).await;
    assert_eq!(calls.mutating_operations(), ["IAM:UpdateAssumeRolePolicy"]);

    // A renamed inline policy: the new one is put, the old one deleted, one remains.
    let SpecBody::Role(role) = &mut spec.body else {
        panic!("not a role")
    };
    role.policy_name = format!("{}-renamed", role.policy_name);
    let calls = fx.update(&spec, &["inline_policy"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["IAM:DeleteRolePolicy", "IAM:PutRolePolicy"]
    );
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(
        observed.fields["inline_policy"]["name"],
        json!(format!("{}-policy-renamed", spec.physical_name))
    );

    spec.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["IAM:TagRole"]);
    spec.tags.remove("team");
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["IAM:UntagRole"]);
    fx.assert_converged(&spec).await;

    let before = fx.counter.snapshot();
    fx.delete(&spec).await;
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["IAM:DeleteRole", "IAM:DeleteRolePolicy"]
    );
    assert_eq!(fx.observe(&spec).await, None);
}

/// Creates the validator's role through the adapter (moto checks it exists on
/// CreateFunction) and seeds everything else the function references.
async fn validator_function(fx: &mut AdapterFixture) -> ResourceSpec {
    let role = fx.spec(ResourceKind::Role, VALIDATOR);
    fx.seed_dependencies(&role);
    fx.create(&role).await;
    let function = fx.spec(ResourceKind::Function, VALIDATOR);
    fx.seed_dependencies(&function);
    function
}

fn function_spec(spec: &mut ResourceSpec) -> &mut txdeploy::spec::FunctionSpec {
    match &mut spec.body {
        SpecBody::Function(f) => f,
        other => panic!("not a function: {other:?}"),
    }
}

#[tokio::test]
async fn function_round_trips_publishes_versions_and_updates_only_the_changed_field() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = validator_function(&mut fx).await;
    assert_eq!(fx.observe(&spec).await, None);

    let before = fx.counter.snapshot();
    let outputs = fx.create(&spec).await;
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        [
            "Lambda:CreateFunction",
            "Lambda:PublishVersion",
            "Lambda:PutFunctionConcurrency"
        ]
    );
    assert_eq!(outputs[&OutputKey::Version], "1");
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(
        observed.fields["code_sha256"],
        json!(txdeploy::bundle::embedded().code_sha256)
    );

    // A configuration change: one update, one new version, nothing else.
    function_spec(&mut spec).memory_mb = 1024;
    let calls = fx.update(&spec, &["memory_size"]).await;
    assert_eq!(
        calls.mutating_operations(),
        [
            "Lambda:PublishVersion",
            "Lambda:UpdateFunctionConfiguration"
        ]
    );
    assert_eq!(fx.outputs[&spec.id][&OutputKey::Version], "2");
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs[&OutputKey::Version], "2");

    // Code changed out of band: the embedded bundle goes back up, with a new version.
    let empty_zip = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
    fx.cloud
        .clients()
        .lambda
        .update_function_code()
        .function_name(&spec.physical_name)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
        .send()
        .await
        .unwrap();
    let calls = fx.update(&spec, &["code_sha256"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["Lambda:PublishVersion", "Lambda:UpdateFunctionCode"]
    );
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs[&OutputKey::Version], "3");

    function_spec(&mut spec).reserved_concurrency = None;
    let calls = fx.update(&spec, &["reserved_concurrency"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["Lambda:DeleteFunctionConcurrency"]
    );
    spec.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["Lambda:TagResource"]);
    let observed = fx.assert_converged(&spec).await;
    // Neither concurrency nor tags make a version.
    assert_eq!(observed.outputs[&OutputKey::Version], "3");

    fx.delete(&spec).await;
    assert_eq!(fx.observe(&spec).await, None);
}

/// moto gap (EMULATOR.md section 1): GetAccountSettings is not implemented (HTTP 404), so
/// the reserved-concurrency preflight cannot read the account limit and must warn, naming
/// the setting, instead of failing or silently passing.
#[tokio::test]
async fn moto_gap_account_settings_unavailable_makes_the_preflight_warn() {
    use txdeploy::adapters::lambda_adapter::{Preflight, preflight};
    let endpoint = moto_or_skip!();
    let fx = AdapterFixture::new(&endpoint).await;
    let before = fx.counter.snapshot();
    let outcome = preflight(fx.cloud.clients(), "no-such-function", Some(100))
        .await
        .unwrap();
    let Preflight::Warning(message) = outcome else {
        panic!("expected a warning, got {outcome:?}")
    };
    assert!(message.contains("lambda.reserved_concurrency"), "{message}");
    assert_eq!(fx.counter.snapshot().since(&before).mutations(), 0);
    assert_eq!(
        preflight(fx.cloud.clients(), "no-such-function", None)
            .await
            .unwrap(),
        Preflight::Ok
    );
}

const NOTIFIER: &str = "notification-handler";

#[tokio::test]
async fn alias_and_event_invoke_config_round_trip_moto_gap_repeated_put_checked_by_call() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let role = fx.spec(ResourceKind::Role, NOTIFIER);
    fx.seed_dependencies(&role);
    fx.create(&role).await;
    let mut function = fx.spec(ResourceKind::Function, NOTIFIER);
    fx.seed_dependencies(&function);
    fx.create(&function).await;
    // The notifier's alias has no provisioned concurrency, which moto cannot store.
    let alias = fx.spec(ResourceKind::LambdaAlias, NOTIFIER);
    assert_eq!(fx.observe(&alias).await, None);

    let outputs = fx.create(&alias).await;
    assert!(outputs[&OutputKey::Arn].ends_with(":live"), "{outputs:?}");
    let observed = fx.assert_converged(&alias).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(observed.fields["function_version"], json!("1"));

    // A release: the function publishes version 2, the alias moves with one call.
    function_spec(&mut function).timeout_seconds += 1;
    fx.update(&function, &["timeout"]).await;
    let calls = fx.update(&alias, &["function_version"]).await;
    assert_eq!(calls.mutating_operations(), ["Lambda:UpdateAlias"]);
    let observed = fx.assert_converged(&alias).await;
    assert_eq!(observed.fields["function_version"], json!("2"));

    // Split by hand (10% back to version 1): observed as `routing`, cleared by one
    // UpdateAlias that keeps the version; an undo whose recorded state was split (the
    // journal's `before`) writes the split back through the same call.
    let function_name = observed.physical_id.split_once(':').unwrap().0.to_owned();
    fx.cloud
        .clients()
        .lambda
        .update_alias()
        .function_name(&function_name)
        .name("live")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights("1", 0.1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let split = fx.observe(&alias).await.unwrap();
    assert_eq!(split.fields["routing"], json!({"1": 0.1}));
    let calls = fx.update(&alias, &["routing"]).await;
    assert_eq!(calls.mutating_operations(), ["Lambda:UpdateAlias"]);
    let whole = fx.assert_converged(&alias).await;
    assert_eq!(whole.fields["function_version"], json!("2"));
    assert_eq!(whole.fields["routing"], Json::Null);
    let undo = fx.ctx().restoring(split.fields.clone());
    fx.cloud
        .update(&alias, &whole, &["routing".to_owned()], &undo)
        .await
        .unwrap();
    assert_eq!(fx.observe(&alias).await.unwrap().fields, split.fields);
    fx.update(&alias, &["routing"]).await;

    // The async function's failure handling, on the alias.
    let invoke = fx.spec(ResourceKind::EventInvokeConfig, NOTIFIER);
    fx.seed_dependencies(&invoke);
    assert_eq!(fx.observe(&invoke).await, None);
    fx.create(&invoke).await;
    let observed = fx.assert_converged(&invoke).await;
    assert_eq!(observed.fields["maximum_retry_attempts"], json!(2));
    assert_eq!(observed.fields["maximum_event_age_in_seconds"], json!(3600));
    let mut invoke = invoke;
    if let SpecBody::EventInvokeConfig(c) = &mut invoke.body {
        c.maximum_retry_attempts = 1;
    }
    let calls = fx.update(&invoke, &["maximum_retry_attempts"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["Lambda:PutFunctionEventInvokeConfig"]
    );
    // moto gap: a repeated Put keeps the old settings (AWS replaces them), and moto's
    // UpdateFunctionEventInvokeConfig answers a timestamp the SDK cannot parse, so the
    // update is checked by its call, not by reading it back.
    fx.delete(&invoke).await;
    assert_eq!(fx.observe(&invoke).await, None);

    fx.delete(&alias).await;
    assert_eq!(fx.observe(&alias).await, None);
}
