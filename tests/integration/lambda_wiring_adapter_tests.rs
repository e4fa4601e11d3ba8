//! The Lambda wiring adapters against moto (`lambda_permission`, `event_source_mapping`):
//! what they create reads back exactly as the spec resolves, a change makes exactly its
//! calls, deletes leave nothing behind. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT`
//! is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use txdeploy::adapters::CallCounts;
use txdeploy::cloud::{Cloud, Observed};
use txdeploy::spec::{OutputKey, ResourceKind, ResourceSpec, SpecBody};

use crate::harness::{AdapterFixture, moto_or_skip};

const VALIDATOR: &str = "transaction-validator";

/// Creates the validator's role, function and `live` alias through their adapters (moto
/// checks the alias exists on AddPermission). moto cannot store provisioned concurrency,
/// so the alias is created without it.
async fn validator_alias(fx: &mut AdapterFixture) {
    let role = fx.spec(ResourceKind::Role, VALIDATOR);
    fx.seed_dependencies(&role);
    fx.create(&role).await;
    let function = fx.spec(ResourceKind::Function, VALIDATOR);
    fx.seed_dependencies(&function);
    fx.create(&function).await;
    let mut alias = fx.spec(ResourceKind::LambdaAlias, VALIDATOR);
    if let SpecBody::LambdaAlias(a) = &mut alias.body {
        a.provisioned_concurrency = None;
    }
    fx.create(&alias).await;
}

/// The first permission of the stack (one per API route).
fn permission_spec(fx: &AdapterFixture) -> ResourceSpec {
    fx.graph
        .in_order()
        .find(|s| s.kind() == ResourceKind::LambdaPermission)
        .expect("the stack has a lambda permission")
        .clone()
}

#[tokio::test]
async fn lambda_permission_round_trips_and_a_change_removes_then_adds_it() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    validator_alias(&mut fx).await;
    let mut spec = permission_spec(&fx);
    fx.seed_dependencies(&spec);
    assert_eq!(fx.observe(&spec).await, None);

    let before = fx.counter.snapshot();
    let outputs = fx.create(&spec).await;
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["Lambda:AddPermission"]
    );
    assert_eq!(outputs[&OutputKey::Id], spec.physical_name);
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(
        observed.fields["principal"],
        json!("apigateway.amazonaws.com")
    );
    assert_eq!(observed.fields["source_account"], json!(fx.env.account_id));

    // Another route: the statement is removed and added again with the new source ARN.
    let SpecBody::LambdaPermission(permission) = &mut spec.body else {
        panic!("not a permission")
    };
    permission.source_arn = txdeploy::spec::Value::str(format!(
        "arn:aws:execute-api:us-east-1:{}:abc123/prod/GET/other",
        fx.env.account_id
    ));
    let calls = fx.update(&spec, &["source_arn"]).await;
    // The counts are sorted by name: one removal and one addition, nothing else.
    assert_eq!(
        calls.mutating_operations(),
        ["Lambda:AddPermission", "Lambda:RemovePermission"]
    );
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(
        observed.fields["source_arn"],
        json!(format!(
            "arn:aws:execute-api:us-east-1:{}:abc123/prod/GET/other",
            fx.env.account_id
        ))
    );

    let before = fx.counter.snapshot();
    fx.delete(&spec).await;
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["Lambda:RemovePermission"]
    );
    assert_eq!(fx.observe(&spec).await, None);
}

/// The first event source mapping of the stack, with its function's role, function and
/// alias (without provisioned concurrency, which moto cannot store) and its queue created
/// through their adapters: moto checks both exist on CreateEventSourceMapping.
async fn mapping_with_dependencies(fx: &mut AdapterFixture) -> ResourceSpec {
    let spec = fx
        .graph
        .in_order()
        .find(|s| s.kind() == ResourceKind::EventSourceMapping)
        .expect("the stack has an event source mapping")
        .clone();
    let SpecBody::EventSourceMapping(mapping) = &spec.body else {
        panic!("not a mapping")
    };
    let handler = mapping.function.resource.logical().to_owned();
    let queue = fx.spec(ResourceKind::Queue, mapping.event_source.resource.logical());
    let role = fx.spec(ResourceKind::Role, &handler);
    fx.seed_dependencies(&role);
    fx.create(&role).await;
    let function = fx.spec(ResourceKind::Function, &handler);
    fx.seed_dependencies(&function);
    fx.create(&function).await;
    let mut alias = fx.spec(ResourceKind::LambdaAlias, &handler);
    if let SpecBody::LambdaAlias(a) = &mut alias.body {
        a.provisioned_concurrency = None;
    }
    fx.create(&alias).await;
    // moto checks the queue's dead-letter queue exists: create it too.
    let mut refs = Vec::new();
    for f in queue.fields().values() {
        f.value.references(&mut refs);
    }
    for r in refs
        .iter()
        .filter(|r| r.resource.kind() == ResourceKind::Queue)
    {
        let dlq = fx.spec(ResourceKind::Queue, r.resource.logical());
        fx.seed_dependencies(&dlq);
        fx.create(&dlq).await;
    }
    fx.seed_dependencies(&queue);
    fx.create(&queue).await;
    fx.seed_dependencies(&spec);
    spec
}

/// Observes the mapping and asserts every field but `function_name` reads back exactly as
/// the spec resolves. moto gap: moto stores the alias's version ARN as the mapping's
/// `FunctionArn` (AWS keeps the alias ARN), so `function_name` is checked to name the same
/// function, with moto's version qualifier.
async fn assert_mapping_converged(fx: &AdapterFixture, spec: &ResourceSpec) -> Observed {
    let observed = fx.observe(spec).await.expect("the mapping exists");
    let mut want = fx.resolved(spec);
    let mut got = observed.fields.clone();
    let alias_arn = want.remove("function_name").unwrap();
    let function_arn = got.remove("function_name").unwrap();
    assert_eq!(got, want, "observed fields of `{}`", spec.id);
    let alias_arn = alias_arn.as_str().unwrap();
    assert!(alias_arn.ends_with(":live"), "{alias_arn}");
    assert_eq!(
        function_arn,
        json!(format!("{}:1", alias_arn.trim_end_matches(":live")))
    );
    observed
}

/// Updates the mapping with the fields that differ (but `function_name`, see
/// `assert_mapping_converged`), asserting they are `expect_changed`; the calls made.
async fn update_mapping(
    fx: &AdapterFixture,
    spec: &ResourceSpec,
    expect_changed: &[&str],
) -> CallCounts {
    let current = fx.observe(spec).await.unwrap();
    let mut changed = fx.changed(spec, &current);
    changed.retain(|name| name != "function_name");
    assert_eq!(changed, expect_changed, "changed fields of `{}`", spec.id);
    let before = fx.counter.snapshot();
    fx.cloud
        .update(spec, &current, &changed, &fx.ctx())
        .await
        .unwrap();
    fx.counter.snapshot().since(&before)
}

#[tokio::test]
async fn event_source_mapping_round_trips_moto_gap_function_arn_reads_back_as_the_version() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = mapping_with_dependencies(&mut fx).await;
    assert_eq!(fx.observe(&spec).await, None);

    let before = fx.counter.snapshot();
    let outputs = fx.create(&spec).await;
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["Lambda:CreateEventSourceMapping"]
    );
    let observed = assert_mapping_converged(&fx, &spec).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(observed.physical_id, outputs[&OutputKey::Id]);
    assert_eq!(
        observed.fields["function_response_types"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(observed.fields["enabled"], json!(true));

    // A smaller batch: only the batch size is sent, on one update call.
    let SpecBody::EventSourceMapping(mapping) = &mut spec.body else {
        panic!("not a mapping")
    };
    mapping.batch_size = 5;
    let calls = update_mapping(&fx, &spec, &["batch_size"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["Lambda:UpdateEventSourceMapping"]
    );
    let observed = assert_mapping_converged(&fx, &spec).await;
    assert_eq!(observed.fields["batch_size"], json!(5));

    // The undo's restore: a failed apply changed every setting; the same update call with
    // B's spec and the recorded fields (`StepContext::restoring`) writes A's back.
    let recorded = observed;
    let mut failed = spec.clone();
    let SpecBody::EventSourceMapping(m) = &mut failed.body else {
        panic!("not a mapping")
    };
    m.batch_size = 7;
    m.maximum_batching_window_seconds += 2;
    m.report_batch_item_failures = false;
    m.enabled = false;
    let settings = [
        "batch_size",
        "enabled",
        "function_response_types",
        "maximum_batching_window_in_seconds",
    ];
    update_mapping(&fx, &failed, &settings).await;
    let current = fx.observe(&failed).await.unwrap();
    assert_eq!(current.fields["enabled"], json!(false));
    let settings: Vec<String> = settings.iter().map(|s| (*s).to_owned()).collect();
    let undo = fx.ctx().restoring(recorded.fields.clone());
    fx.cloud
        .update(&failed, &current, &settings, &undo)
        .await
        .unwrap();
    assert_eq!(fx.observe(&spec).await.unwrap().fields, recorded.fields);

    spec.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = update_mapping(&fx, &spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["Lambda:TagResource"]);
    spec.tags.remove("team");
    let calls = update_mapping(&fx, &spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["Lambda:UntagResource"]);
    assert_mapping_converged(&fx, &spec).await;

    let before = fx.counter.snapshot();
    fx.delete(&spec).await;
    assert_eq!(
        fx.counter.snapshot().since(&before).mutating_operations(),
        ["Lambda:DeleteEventSourceMapping"]
    );
    assert_eq!(fx.observe(&spec).await, None);
}
