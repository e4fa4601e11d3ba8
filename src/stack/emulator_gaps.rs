//! One test per line of EMULATOR.md section 2 ("moto accepts what AWS rejects"): against moto
//! such a mistake would pass every test and fail only in AWS, mid-deploy. Each test shows the
//! mistake cannot reach AWS: a value the config can produce is refused by config validation
//! (`config::load`, which runs before any AWS call); a value only code produces is checked on
//! the built graph (or, where it is the adapter's call, on what the spec gives the adapter).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use serde_json::Value as Json;

use super::api::ROUTES;
use super::dashboard::validate_dashboard_body;
use super::iam_policies::validate_policy;
use super::tests::{default_graph, field_of, get, graph_with, resolved};
use super::*;
use crate::config::{Config, ConfigErrors, LoadOptions, TableBilling, load};
use crate::spec::{AlarmMetric, GraphError, KmsKeySpec, OutputRef, SpecBody, field};

/// Loads the defaults plus `toml`; the errors, keyed by the config key they name.
fn load_toml(toml: &str) -> Result<Config, ConfigErrors> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txdeploy.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(toml.as_bytes())
        .unwrap();
    load(&LoadOptions {
        config_path: Some(path),
        ..LoadOptions::default()
    })
    .map(|l| l.config)
}

#[track_caller]
fn refused(toml: &str, key: &str) -> String {
    let errors = load_toml(toml).expect_err("validation must refuse it before any AWS call");
    let error = errors
        .errors
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no error names `{key}`: {errors:?}"));
    format!("{} / {}", error.rule, error.fix)
}

// -- Values the config can produce: refused by validation. --------------------------------

#[test]
fn lambda_create_function_memory_size_100() {
    // "Lambda: CreateFunction MemorySize=100 (AWS min 128)"
    for key in [
        "validator_memory_mb",
        "notification_memory_mb",
        "analytics_memory_mb",
        "reporting_memory_mb",
    ] {
        let text = refused(
            &format!("[lambda]\n{key} = 100\n"),
            &format!("lambda.{key}"),
        );
        assert!(text.contains("between 128 and 10240"), "{text}");
    }
    load_toml("[lambda]\nvalidator_memory_mb = 128\n").unwrap();
}

#[test]
fn logs_put_retention_policy_8() {
    // "Logs: PutRetentionPolicy(8) (not an allowed value)"
    let text = refused("[logs]\nretention_days = 8\n", "logs.retention_days");
    assert!(text.contains("use 7 or 14"), "{text}");
}

#[test]
fn apigw_create_stage_cache_cluster_size_0_7() {
    // "APIGW: CreateStage cacheClusterSize='0.7' (invalid size)"
    let text = refused("[api]\ncache_size = \"0.7\"\n", "api.cache_size");
    assert!(text.contains("`0.5`, `1.6`, `6.1`"), "{text}");
    // Unquoted, the number is only missing its quotes.
    assert!(refused("[api]\ncache_size = 1.6\n", "api.cache_size").contains("\"1.6\""));
    let config = load_toml("[api]\ncache_size = \"237\"\n").unwrap();
    let graph = graph_with(&config, &test_inputs());
    let cache = field_of(&graph, ResourceKind::ApiStage, "api", field::CACHE_CLUSTER);
    assert_eq!(cache["size"], "237");
}

#[test]
fn s3_lifecycle_standard_ia_transition_at_7_days() {
    // "S3: Lifecycle STANDARD_IA transition at 7 days (AWS requires >=30)": the lifecycle
    // transitions only to GLACIER (no minimum age), so no configured day count can produce a
    // STANDARD_IA transition; a GLACIER transition at 0 days is refused.
    let graph = default_graph();
    let lifecycle = field_of(&graph, ResourceKind::Bucket, "logs", field::LIFECYCLE);
    let keys: Vec<&String> = lifecycle.as_object().unwrap().keys().collect();
    assert!(keys.iter().all(|k| !k.contains("standard_ia")), "{keys:?}");
    refused(
        "[logs]\nglacier_after_days = 0\n",
        "logs.glacier_after_days",
    );
}

#[test]
fn dynamodb_update_table_to_provisioned_without_gsi_throughput() {
    // "DynamoDB: UpdateTable -> PROVISIONED without GSI throughput": a provisioned table's
    // spec gives every index its own initial capacity, so the switch always carries it.
    let mut config = Config::defaults().unwrap();
    config.dynamodb.billing_mode = TableBilling::Provisioned;
    let graph = graph_with(&config, &test_inputs());
    let SpecBody::Table(table) = &get(&graph, ResourceKind::Table, TABLE).body else {
        panic!()
    };
    assert!(table.initial_capacity.is_some());
    assert!(!table.global_secondary_indexes.is_empty());
    for gsi in &table.global_secondary_indexes {
        let capacity = gsi
            .initial_capacity
            .expect("every index has throughput when provisioned");
        assert!(capacity.min_units <= capacity.max_units);
    }
    // And a configured capacity outside the scaling bounds is refused.
    refused(
        "[dynamodb]\nbilling_mode = \"provisioned\"\nread_capacity = 500\n",
        "dynamodb.read_capacity",
    );
}

// -- Values only code produces: checked on the built graph. ---------------------------------

#[test]
fn kms_create_key_with_malformed_policy_json() {
    // "KMS: CreateKey with malformed policy JSON"
    let graph = default_graph();
    for name in KEYS {
        let policy = field_of(&graph, ResourceKind::KmsKey, name, field::KEY_POLICY);
        // What the adapter sends is the resolved value serialized: it parses back.
        let text = policy.to_string();
        assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), policy);
        validate_policy(&policy).unwrap();
    }
}

#[test]
fn kms_create_key_with_policy_lacking_statement() {
    // "KMS: CreateKey with policy lacking Statement"
    let graph = default_graph();
    for name in KEYS {
        let policy = field_of(&graph, ResourceKind::KmsKey, name, field::KEY_POLICY);
        assert!(
            !policy["Statement"].as_array().unwrap().is_empty(),
            "{name}"
        );
    }
    let empty = serde_json::json!({"Version": "2012-10-17"});
    assert!(validate_policy(&empty).is_err());
}

#[test]
fn iam_create_role_with_invalid_json_trust_policy() {
    // "IAM: CreateRole with invalid JSON trust policy"
    let graph = default_graph();
    for spec in graph.in_order().filter(|s| s.kind() == ResourceKind::Role) {
        let trust = resolved(&graph, spec)
            .remove(field::ASSUME_ROLE_POLICY)
            .unwrap();
        validate_policy(&trust).unwrap_or_else(|e| panic!("{}: {e}", spec.id));
        assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
    }
}

#[test]
fn s3_put_bucket_policy_malformed_json() {
    // "S3: PutBucketPolicy malformed JSON (on scratch bucket)"
    let graph = default_graph();
    let policy = field_of(&graph, ResourceKind::Bucket, "logs", field::BUCKET_POLICY);
    validate_policy(&policy).unwrap();
}

#[test]
fn dynamodb_update_table_creating_2_gsis_in_one_call() {
    // "DynamoDB: UpdateTable creating 2 GSIs in one call (AWS: only one per call)": indexes
    // are a list in the spec, which the adapter creates one `UpdateTable` at a time (the
    // field's contract); every index is named once, so each is one call.
    let graph = default_graph();
    let indexes = field_of(
        &graph,
        ResourceKind::Table,
        TABLE,
        field::GLOBAL_SECONDARY_INDEXES,
    );
    let names: Vec<&str> = indexes
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index_name"].as_str().unwrap())
        .collect();
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(names, unique);
    assert_eq!(names, [MERCHANT_DATE_INDEX]);
}

#[test]
fn logs_create_log_group_with_non_existent_kms_key() {
    // "Logs: CreateLogGroup with non-existent KMS key": the key is a reference to a key in
    // the graph, so the group waits for it; a reference to a missing key is a graph error.
    let graph = default_graph();
    for spec in graph
        .in_order()
        .filter(|s| s.kind() == ResourceKind::LogGroup)
    {
        assert!(
            graph
                .dependencies(&spec.id)
                .contains(&id(ResourceKind::KmsKey, "logs")),
            "{}",
            spec.id
        );
    }
    let mut broken = build(
        &Config::defaults().unwrap(),
        &super::tests::env(),
        &test_inputs(),
    );
    broken.retain(|s| s.id != id(ResourceKind::KmsKey, "logs"));
    let errors = broken.check().unwrap_err();
    assert!(errors.iter().any(|e| matches!(
        e,
        GraphError::Dangling { from, to } if from.kind() == ResourceKind::LogGroup && *to == id(ResourceKind::KmsKey, "logs")
    )));
}

#[test]
fn lambda_create_function_with_invalid_runtime() {
    // "Lambda: CreateFunction with invalid runtime 'rust1.x'": the runtime is a constant, not
    // a setting.
    let graph = default_graph();
    for handler in Handler::ALL {
        assert_eq!(
            field_of(
                &graph,
                ResourceKind::Function,
                handler.logical(),
                field::RUNTIME
            ),
            "provided.al2023"
        );
    }
}

#[test]
fn lambda_create_alias_weight_pointing_at_latest() {
    // "Lambda: CreateAlias weight pointing at $LATEST": aliases point at the published
    // version output, never `$LATEST`, and carry no weights.
    let graph = default_graph();
    for handler in Handler::ALL {
        let alias = get(&graph, ResourceKind::LambdaAlias, handler.logical());
        let SpecBody::LambdaAlias(spec) = &alias.body else {
            panic!()
        };
        assert_eq!(spec.version, OutputRef::version(&handler.function_id()));
        let version = resolved(&graph, alias)
            .remove(field::FUNCTION_VERSION)
            .unwrap();
        assert_ne!(version, "$LATEST");
        assert!(!alias.fields().keys().any(|k| k.contains("weight")));
    }
}

#[test]
fn lambda_add_permission_duplicate_statement_id() {
    // "Lambda: AddPermission duplicate StatementId"
    let graph = default_graph();
    let ids: Vec<Json> = ROUTES
        .iter()
        .map(|r| {
            field_of(
                &graph,
                ResourceKind::LambdaPermission,
                r.permission,
                field::STATEMENT_ID,
            )
        })
        .collect();
    let mut unique = ids.clone();
    unique.sort_by_key(ToString::to_string);
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn apigw_create_resource_duplicate_path_part_under_same_parent() {
    // "APIGW: CreateResource duplicate pathPart under same parent"
    let graph = default_graph();
    let resources = field_of(&graph, ResourceKind::RestApi, "api", field::RESOURCES);
    let paths: Vec<&str> = resources
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let mut unique = paths.clone();
    unique.dedup();
    assert_eq!(
        paths, unique,
        "each path once, so each path part once under its parent"
    );
    for path in &paths {
        if let Some((parent, _)) = path.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
            assert!(paths.contains(&parent), "`{path}` has no parent `{parent}`");
        }
    }
}

#[test]
fn apigw_create_model_with_invalid_json_schema_text() {
    // "APIGW: CreateModel with invalid JSON schema text"
    let graph = default_graph();
    let models = field_of(&graph, ResourceKind::RestApi, "api", field::MODELS);
    for (name, model) in models.as_object().unwrap() {
        let schema = &model["schema"];
        assert_eq!(
            schema["$schema"], "http://json-schema.org/draft-04/schema#",
            "{name}"
        );
        assert_eq!(
            serde_json::from_str::<Json>(&schema.to_string()).unwrap(),
            *schema
        );
        for (property, definition) in schema["properties"].as_object().unwrap() {
            assert!(
                definition["type"].is_array() || definition["type"].is_string(),
                "{property}"
            );
        }
    }
}

#[test]
fn apigw_put_method_referencing_non_existent_model_or_validator() {
    // "APIGW: PutMethod referencing non-existent model" and "… non-existent request
    // validator"
    let graph = default_graph();
    let api = resolved(&graph, get(&graph, ResourceKind::RestApi, "api"));
    for (key, method) in api[field::METHODS].as_object().unwrap() {
        for model in method["request_models"].as_object().unwrap().values() {
            assert!(
                api[field::MODELS].get(model.as_str().unwrap()).is_some(),
                "{key}: {model}"
            );
        }
        if let Some(validator) = method["request_validator"].as_str() {
            assert!(
                api[field::REQUEST_VALIDATORS].get(validator).is_some(),
                "{key}: {validator}"
            );
        }
    }
}

#[test]
fn apigw_update_stage_with_bogus_method_settings_path() {
    // "APIGW: UpdateStage with bogus path /*/*/caching/bogus": every setting is one of API
    // Gateway's ten, and every method key names a route of the API.
    const SETTINGS: [&str; 10] = [
        "metrics_enabled",
        "logging_level",
        "data_trace_enabled",
        "throttling_rate_limit",
        "throttling_burst_limit",
        "caching_enabled",
        "cache_ttl_in_seconds",
        "cache_data_encrypted",
        "require_authorization_for_cache_control",
        "unauthorized_cache_control_header_strategy",
    ];
    let graph = default_graph();
    let settings = field_of(
        &graph,
        ResourceKind::ApiStage,
        "api",
        field::METHOD_SETTINGS,
    );
    let routes: Vec<String> = ROUTES.iter().map(api::Route::method_settings_key).collect();
    for (key, values) in settings.as_object().unwrap() {
        assert!(
            key == "*/*" || routes.contains(key),
            "`{key}` is not a route"
        );
        let names: Vec<&str> = values
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = SETTINGS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "{key}");
    }
}

#[test]
fn apigw_create_usage_plan_with_api_stages_referencing_non_existent_stage() {
    // "APIGW: CreateUsagePlan with apiStages referencing non-existent stage": the plan
    // references the stage's name output, so it is created after the stage.
    let graph = default_graph();
    let plan = get(&graph, ResourceKind::UsagePlan, "api");
    assert!(graph.dependencies(&plan.id).contains(&api::stage_id()));
    let stages = resolved(&graph, plan).remove(field::API_STAGES).unwrap();
    assert_eq!(
        stages[0]["stage"],
        graph.get(&api::stage_id()).unwrap().physical_name.as_str()
    );
}

#[test]
fn cloudwatch_put_metric_alarm_with_return_data_on_2_queries() {
    // "CloudWatch: PutMetricAlarm metric math with ReturnData=True on 2 queries"
    let graph = default_graph();
    let mut math = 0;
    for spec in graph.in_order().filter(|s| s.kind() == ResourceKind::Alarm) {
        let SpecBody::Alarm(alarm) = &spec.body else {
            panic!()
        };
        if let AlarmMetric::Math(queries) = &alarm.metric {
            math += 1;
            assert_eq!(
                queries.iter().filter(|q| q.return_data).count(),
                1,
                "{}",
                spec.id
            );
        }
    }
    assert_eq!(
        math, 6,
        "4 function error rates, the API 5XX rate, the table throttles"
    );
}

#[test]
fn cloudwatch_put_dashboard_with_invalid_body() {
    // "CloudWatch: PutDashboard with invalid body (widgets not a list)"
    let graph = default_graph();
    let body = field_of(
        &graph,
        ResourceKind::Dashboard,
        "overview",
        field::DASHBOARD_BODY,
    );
    validate_dashboard_body(&body).unwrap();
    assert!(validate_dashboard_body(&serde_json::json!({"widgets": {}})).is_err());
}

#[test]
fn kms_schedule_key_deletion_with_a_3_day_window() {
    // "KMS: ScheduleKeyDeletion PendingWindowInDays=3 (AWS min 7)": no configuration sets the
    // window; the key adapter always asks for 7 days and the plan warns about it. The key
    // spec has no deletion-window setting that could say otherwise.
    let graph = default_graph();
    let SpecBody::KmsKey(KmsKeySpec {
        rotation_period_days,
        ..
    }) = &get(&graph, ResourceKind::KmsKey, "s3").body
    else {
        panic!()
    };
    assert_eq!(*rotation_period_days, 365);
    let fields = get(&graph, ResourceKind::KmsKey, "s3").fields();
    assert!(
        !fields
            .keys()
            .any(|k| k.contains("deletion") || k.contains("window"))
    );
    // The rotation period the config sets is range-checked (90..=2560).
    refused(
        "[kms]\nrotation_period_days = 3\n",
        "kms.rotation_period_days",
    );
}
