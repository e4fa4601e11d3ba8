//! The API Gateway adapter against moto: the whole REST API definition, its hash-named
//! deployments and the stage read back as the spec resolves; a throttle change is one
//! UpdateStage; a changed definition gets a new deployment and moves the stage; an
//! out-of-band deployment shows as drift. Skipped with a notice when
//! `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};
use txdeploy::adapters::apigateway_adapter::{flush_stage_cache, method_settings_path};
use txdeploy::cloud::{Cloud, Observed};
use txdeploy::spec::{OutputKey, ResourceKind, ResourceSpec, SpecBody};

use crate::harness::{AdapterFixture, CaptureRequests, add_interceptor, moto_or_skip};

/// The stack's spec of `kind` (logical `api`; the account settings are `account`).
fn spec(fx: &AdapterFixture, kind: ResourceKind) -> ResourceSpec {
    let logical = if kind == ResourceKind::ApiAccount {
        "account"
    } else {
        "api"
    };
    fx.spec(kind, logical)
}

/// Applies the changed fields of `spec` (asserted to be `expect`) and returns the
/// mutating operations called, and how many calls they were.
async fn update(
    fx: &mut AdapterFixture,
    spec: &ResourceSpec,
    expect: &[&str],
) -> (Vec<String>, u64) {
    let calls = fx.update(spec, expect).await;
    (calls.mutating_operations(), calls.mutations())
}

/// The spec's `methods` with every `cache_key_parameters` emptied: what moto reports.
fn without_cache_keys(methods: &Json) -> Json {
    let mut methods = methods.clone();
    for method in methods.as_object_mut().unwrap().values_mut() {
        method["integration"]["cache_key_parameters"] = json!([]);
    }
    methods
}

/// Creates the API, its deployment and the stage; asserts each reads back as resolved.
async fn create_api(fx: &mut AdapterFixture) -> (ResourceSpec, ResourceSpec, ResourceSpec) {
    let api = spec(fx, ResourceKind::RestApi);
    fx.create(&api).await;
    let before = fx.counter.snapshot();
    let observed = fx.observe(&api).await.unwrap();
    assert_eq!(fx.counter.snapshot().since(&before).mutations(), 0);
    let mut want = fx.resolved(&api);
    // moto gap (EMULATOR.md section 1): GetIntegration returns `cacheKeyParameters: []`
    // whatever was sent; `moto_gap_cache_key_parameters_are_checked_on_the_request` checks
    // the request. Every other part of the definition must read back exactly.
    want.insert("methods".into(), without_cache_keys(&want["methods"]));
    assert_eq!(observed.fields, want, "observed fields of the REST API");
    assert_eq!(observed.fields["methods"].as_object().unwrap().len(), 3);

    let deployment = spec(fx, ResourceKind::ApiDeployment);
    fx.create(&deployment).await;
    let observed = fx.observe(&deployment).await.unwrap();
    assert_eq!(observed.fields, fx.resolved(&deployment));

    let stage = spec(fx, ResourceKind::ApiStage);
    fx.create(&stage).await;
    let observed = fx.observe(&stage).await.unwrap();
    assert_eq!(
        observed.fields,
        fx.resolved(&stage),
        "observed fields of the stage"
    );
    (api, deployment, stage)
}

#[tokio::test]
async fn api_definition_deployment_and_stage_round_trip_and_delete() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let (api, deployment, stage) = create_api(&mut fx).await;

    let stage_now = fx.observe(&stage).await.unwrap();
    let ctx = fx.ctx();
    fx.cloud.delete(&stage.id, &stage_now, &ctx).await.unwrap();
    assert_eq!(fx.observe(&stage).await, None);
    let deployed = fx.observe(&deployment).await.unwrap();
    fx.cloud
        .delete(&deployment.id, &deployed, &ctx)
        .await
        .unwrap();
    assert_eq!(fx.observe(&deployment).await, None);
    let api_now = fx.observe(&api).await.unwrap();
    fx.cloud.delete(&api.id, &api_now, &ctx).await.unwrap();
    assert_eq!(fx.observe(&api).await, None);
}

#[tokio::test]
async fn changing_the_stage_throttle_is_one_update_stage() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let (_, _, mut stage) = create_api(&mut fx).await;
    let SpecBody::ApiStage(body) = &mut stage.body else {
        panic!("not a stage");
    };
    for setting in body.method_settings.values_mut() {
        setting.throttling_rate_limit = 42.0;
    }
    let (operations, mutations) = update(&mut fx, &stage, &["method_settings"]).await;
    assert_eq!(operations.len(), 1, "{operations:?}");
    assert!(operations[0].ends_with(":UpdateStage"), "{operations:?}");
    assert_eq!(mutations, 1);
    let observed = fx.observe(&stage).await.unwrap();
    assert_eq!(observed.fields, fx.resolved(&stage));
    assert_eq!(
        observed.fields["method_settings"]["*/*"]["throttling_rate_limit"],
        json!(42.0)
    );
}

#[tokio::test]
async fn a_changed_definition_gets_a_new_deployment_and_the_stage_moves_to_it() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let (mut api, mut deployment, stage) = create_api(&mut fx).await;
    let old_deployment = fx.observe(&deployment).await.unwrap();

    // One integration's timeout changes: only `methods` differs, and only that method's
    // integration is put again.
    let SpecBody::RestApi(body) = &mut api.body else {
        panic!("not a REST API");
    };
    body.definition.methods[0].integration.timeout_millis = 12_000;
    let sha = body.definition.sha256(&json!({"test": "changed timeout"}));
    let (operations, _) = update(&mut fx, &api, &["methods"]).await;
    // Against moto the cache keys of the cached GETs always differ (the gap above), so
    // their integrations are put again too; nothing but integrations is touched.
    assert!(
        operations.iter().all(|o| o.ends_with(":PutIntegration")),
        "{operations:?}"
    );

    let SpecBody::ApiDeployment(d) = &mut deployment.body else {
        panic!("not a deployment");
    };
    d.definition_sha256 = sha.clone();
    d.description = format!("txdeploy definition {sha}");
    // The new hash is not deployed yet: the planner creates a deployment.
    assert_eq!(fx.observe(&deployment).await, None);

    // The old deployment is kept while the stage serves it.
    let ctx = fx.ctx();
    fx.cloud
        .delete(&deployment.id, &old_deployment, &ctx)
        .await
        .unwrap();
    let api_id = fx.outputs[&api.id][&OutputKey::Id].clone();
    let listed = fx
        .cloud
        .clients()
        .apigateway
        .get_deployments()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    assert!(
        listed
            .items()
            .iter()
            .any(|x| x.id() == Some(old_deployment.physical_id.as_str())),
        "the served deployment was deleted"
    );

    let new_outputs = fx.create(&deployment).await;
    assert_ne!(new_outputs[&OutputKey::Id], old_deployment.physical_id);
    assert_eq!(
        fx.observe(&deployment).await.unwrap().fields,
        fx.resolved(&deployment)
    );
    let (operations, _) = update(&mut fx, &stage, &["deployment_id"]).await;
    assert_eq!(operations.len(), 1, "{operations:?}");
    assert!(operations[0].ends_with(":UpdateStage"), "{operations:?}");
    let observed = fx.observe(&stage).await.unwrap();
    assert_eq!(
        observed.fields["deployment_id"],
        json!(new_outputs[&OutputKey::Id])
    );
    assert_eq!(observed.fields, fx.resolved(&stage));
}

#[tokio::test]
async fn an_out_of_band_deployment_shows_as_drift_on_deployment_id() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let (api, _, stage) = create_api(&mut fx).await;
    let api_id = fx.outputs[&api.id][&OutputKey::Id].clone();
    let sdk = &fx.cloud.clients().apigateway;
    let rogue = sdk
        .create_deployment()
        .rest_api_id(&api_id)
        .description("hotfix by hand")
        .send()
        .await
        .unwrap();
    sdk.update_stage()
        .rest_api_id(&api_id)
        .stage_name(&stage.physical_name)
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/deploymentId")
                .value(rogue.id().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let observed = fx.observe(&stage).await.unwrap();
    assert_eq!(fx.changed(&stage, &observed), ["deployment_id"]);
    assert_eq!(observed.fields["deployment_id"], json!(rogue.id().unwrap()));
    // Applying the plan moves the stage back to the spec's deployment.
    update(&mut fx, &stage, &["deployment_id"]).await;
    let observed = fx.observe(&stage).await.unwrap();
    assert_eq!(observed.fields, fx.resolved(&stage));
}

/// moto gap (EMULATOR.md section 1): PutIntegration accepts `cacheKeyParameters` but
/// GetIntegration returns `[]`, so the cache keys are checked on the requests sent.
#[tokio::test]
async fn moto_gap_cache_key_parameters_are_checked_on_the_request() {
    let endpoint = moto_or_skip!();
    let capture = CaptureRequests::new("PutIntegration");
    let interceptor = capture.clone();
    let mut fx = AdapterFixture::builder(&endpoint)
        .clients(move |clients| {
            add_interceptor!(clients.apigateway, aws_sdk_apigateway, interceptor)
        })
        .build()
        .await;
    let api = spec(&fx, ResourceKind::RestApi);
    fx.create(&api).await;
    let want = fx.resolved(&api);
    let sent = capture.bodies();
    assert_eq!(sent.len(), 3, "one PutIntegration per method");
    let mut expected: Vec<Json> = want["methods"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["integration"]["cache_key_parameters"].clone())
        .collect();
    let mut got: Vec<Json> = sent
        .iter()
        .map(|b| b.get("cacheKeyParameters").cloned().unwrap_or(json!([])))
        .collect();
    expected.sort_by_key(Json::to_string);
    got.sort_by_key(Json::to_string);
    assert_eq!(got, expected);
    assert!(
        got.iter()
            .any(|k| k.as_array().is_some_and(|a| !a.is_empty())),
        "the cached GETs key on their parameters"
    );
}

/// moto gap (EMULATOR.md section 1): FlushStageCache is not implemented (HTTP 404), so the
/// request is checked: `DELETE /restapis/{id}/stages/{stage}/cache/data`.
#[tokio::test]
async fn moto_gap_flush_stage_cache_sends_the_delete_request() {
    let endpoint = moto_or_skip!();
    let capture = CaptureRequests::new("FlushStageCache");
    let interceptor = capture.clone();
    let fx = AdapterFixture::builder(&endpoint)
        .clients(move |clients| {
            add_interceptor!(clients.apigateway, aws_sdk_apigateway, interceptor)
        })
        .build()
        .await;
    let result = flush_stage_cache(fx.cloud.clients(), "abc123", "prod").await;
    assert!(result.is_err(), "moto has no FlushStageCache route");
    let seen = capture.seen();
    assert!(!seen.is_empty());
    assert_eq!(seen[0].method, "DELETE");
    assert!(
        seen[0]
            .uri
            .ends_with("/restapis/abc123/stages/prod/cache/data"),
        "{}",
        seen[0].uri
    );
}

#[test]
fn method_settings_keys_escape_the_resource_path() {
    assert_eq!(method_settings_path("*/*"), "*/*");
    assert_eq!(
        method_settings_path("transactions/{id}/GET"),
        "~1transactions~1{id}/GET"
    );
    assert_eq!(
        method_settings_path("merchants/{merchant_id}/transactions/GET"),
        "~1merchants~1{merchant_id}~1transactions/GET"
    );
}

/// Asserts `spec` reads back exactly as it resolves.
async fn assert_converged(fx: &AdapterFixture, spec: &ResourceSpec) -> Observed {
    let observed = fx.observe(spec).await.expect("the resource exists");
    assert_eq!(
        observed.fields,
        fx.resolved(spec),
        "observed fields of `{}`",
        spec.id
    );
    observed
}

#[tokio::test]
async fn usage_plan_api_key_and_membership_round_trip_update_and_delete() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    create_api(&mut fx).await;

    let mut plan = spec(&fx, ResourceKind::UsagePlan);
    fx.create(&plan).await;
    assert_converged(&fx, &plan).await;
    let SpecBody::UsagePlan(body) = &mut plan.body else {
        panic!("not a usage plan");
    };
    body.throttle_burst_limit += 7;
    let (operations, mutations) = update(&mut fx, &plan, &["throttle"]).await;
    assert!(
        operations[0].ends_with(":UpdateUsagePlan"),
        "{operations:?}"
    );
    assert_eq!(mutations, 1);
    assert_converged(&fx, &plan).await;

    let mut key = spec(&fx, ResourceKind::ApiKey);
    let outputs = fx.create(&key).await;
    // Only the id and name: the key's value never becomes an output.
    assert_eq!(
        outputs.keys().copied().collect::<Vec<_>>(),
        [OutputKey::Id, OutputKey::Name]
    );
    let observed = assert_converged(&fx, &key).await;
    assert!(!format!("{observed:?}").contains("value"), "{observed:?}");
    let SpecBody::ApiKey(body) = &mut key.body else {
        panic!("not an API key");
    };
    body.enabled = false;
    let (operations, mutations) = update(&mut fx, &key, &["enabled"]).await;
    assert!(operations[0].ends_with(":UpdateApiKey"), "{operations:?}");
    assert_eq!(mutations, 1);
    assert_converged(&fx, &key).await;

    let member = spec(&fx, ResourceKind::UsagePlanKey);
    fx.create(&member).await;
    assert_converged(&fx, &member).await;

    let ctx = fx.ctx();
    for spec in [&member, &key, &plan] {
        let current = fx.observe(spec).await.unwrap();
        fx.cloud.delete(&spec.id, &current, &ctx).await.unwrap();
        assert_eq!(fx.observe(spec).await, None, "`{}` still exists", spec.id);
    }
}

#[tokio::test]
async fn account_logging_role_is_set_and_read_back() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let account = spec(&fx, ResourceKind::ApiAccount);
    fx.create(&account).await;
    let observed = assert_converged(&fx, &account).await;
    assert!(
        observed.fields["cloudwatch_role_arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::"),
        "{observed:?}"
    );
    // Deleting the spec leaves the account's shared setting as it is.
    let ctx = fx.ctx();
    fx.cloud.delete(&account.id, &observed, &ctx).await.unwrap();
    assert_eq!(fx.observe(&account).await.unwrap().fields, observed.fields);
}
