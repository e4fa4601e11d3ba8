//! The DynamoDB table adapter against moto: the table reads back exactly as its spec
//! resolves, one changed setting makes only its call, indexes are added one per
//! `UpdateTable` (checked on the captured requests: moto would accept two), the switch to
//! provisioned gives the table and every index a capacity, and delete turns deletion
//! protection off first. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_kms::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Value as Json, json};
use txdeploy::adapters::{
    AwsAccess, AwsClients, AwsCloud, CallCounter, CallCounts, load_sdk_config,
};
use txdeploy::cloud::{Cloud, Observed, StepContext};
use txdeploy::spec::{
    BillingMode, CheckedGraph, Environment, GsiSpec, InitialCapacity, KeyAttribute, OutputTable,
    Outputs, ResourceId, ResourceKind, ResourceSpec, SpecBody, TableSpec,
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

/// Request bodies of one DynamoDB operation, captured just before transmission.
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

struct Fixture {
    cloud: AwsCloud,
    counter: CallCounter,
    env: Environment,
    graph: CheckedGraph,
    outputs: BTreeMap<ResourceId, Outputs>,
    update_table: CaptureRequests,
}

impl Fixture {
    async fn new(endpoint: &str) -> Self {
        let access = AwsAccess {
            region: Some("us-east-1".to_owned()),
            profile: None,
            endpoint_url: Some(endpoint.to_owned()),
        };
        let sdk_config = load_sdk_config(&access)
            .await
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "moto",
            )))
            .build();
        let counter = CallCounter::new();
        let mut clients = AwsClients::new(&sdk_config, &counter);
        let update_table = CaptureRequests {
            operation: "UpdateTable",
            bodies: Arc::default(),
        };
        clients.dynamodb = aws_sdk_dynamodb::Client::from_conf(
            clients
                .dynamodb
                .config()
                .to_builder()
                .interceptor(update_table.clone())
                .build(),
        );
        let cloud = AwsCloud::new(clients, &sdk_config);
        let env = cloud.environment().await.unwrap();
        let mut config = txdeploy::config::Config::defaults().unwrap();
        config.stack.prefix = harness::unique_stack();
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
            update_table,
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

    async fn assert_converged(&self, spec: &ResourceSpec) -> Observed {
        let before = self.counter.snapshot();
        let observed = self.observe(spec).await.expect("the table exists");
        assert_eq!(observed.fields, self.resolved(spec), "observed fields");
        assert_eq!(self.counter.snapshot().since(&before).mutations(), 0);
        observed
    }

    async fn update(&self, spec: &ResourceSpec, expect_changed: &[&str]) -> CallCounts {
        let current = self.observe(spec).await.unwrap();
        let changed: Vec<String> = self
            .resolved(spec)
            .into_iter()
            .filter(|(name, want)| current.fields.get(name).unwrap_or(&Json::Null) != want)
            .map(|(name, _)| name)
            .collect();
        assert_eq!(changed, expect_changed, "changed fields");
        let before = self.counter.snapshot();
        self.cloud
            .update(spec, &current, &changed, &self.ctx())
            .await
            .unwrap();
        self.counter.snapshot().since(&before)
    }

    fn update_table_bodies(&self) -> Vec<Json> {
        std::mem::take(&mut *self.update_table.bodies.lock().unwrap())
    }
}

fn table_spec(spec: &mut ResourceSpec) -> &mut TableSpec {
    match &mut spec.body {
        SpecBody::Table(t) => t,
        other => panic!("not a table: {other:?}"),
    }
}

#[tokio::test]
async fn table_round_trips_and_updates_one_setting_at_a_time() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "dynamodb");
    let mut table = fx.spec(ResourceKind::Table, "transactions");
    fx.create(&key).await;
    assert_eq!(fx.observe(&table).await, None);

    let outputs = fx.create(&table).await;
    let observed = fx.assert_converged(&table).await;
    assert_eq!(observed.outputs, outputs);
    assert_eq!(observed.fields["deletion_protection"], json!(true));
    assert_eq!(
        observed.fields["point_in_time_recovery"]["enabled"],
        json!(true)
    );
    assert_eq!(observed.fields["sse"]["sse_type"], json!("KMS"));

    table_spec(&mut table).pitr_recovery_period_days = 7;
    let calls = fx.update(&table, &["point_in_time_recovery"]).await;
    assert_eq!(
        calls.mutating_operations(),
        ["DynamoDB:UpdateContinuousBackups"]
    );
    fx.assert_converged(&table).await;

    table_spec(&mut table).ttl_attribute = "purge_at".to_owned();
    let calls = fx.update(&table, &["ttl"]).await;
    assert_eq!(calls.mutating_operations(), ["DynamoDB:UpdateTimeToLive"]);
    fx.assert_converged(&table).await;

    // Protected: moto enforces deletion protection, so this shows delete turns it off first.
    let current = fx.observe(&table).await.unwrap();
    fx.update_table_bodies();
    fx.cloud
        .delete(&table.id, &current, &fx.ctx())
        .await
        .unwrap();
    assert_eq!(
        fx.update_table_bodies(),
        [json!({"TableName": table.physical_name, "DeletionProtectionEnabled": false})]
    );
    assert_eq!(fx.observe(&table).await, None);
}

/// EMULATOR.md section 2: moto accepts two index creations in one `UpdateTable` and a
/// switch to provisioned without index throughput; AWS rejects both, so the requests are
/// checked here.
#[tokio::test]
async fn moto_gap_indexes_are_added_one_per_update_table_then_the_switch_sizes_every_index() {
    let endpoint = moto_or_skip!();
    let mut fx = Fixture::new(&endpoint).await;
    let key = fx.spec(ResourceKind::KmsKey, "dynamodb");
    fx.create(&key).await;
    let mut table = fx.spec(ResourceKind::Table, "transactions");
    let desired_indexes = {
        let mut indexes = table_spec(&mut table).global_secondary_indexes.clone();
        indexes.push(GsiSpec {
            name: "status-index".to_owned(),
            partition_key: KeyAttribute::string("status"),
            sort_key: None,
            projection_type: "KEYS_ONLY".to_owned(),
            initial_capacity: None,
        });
        indexes
    };
    assert_eq!(table_spec(&mut table).billing_mode, BillingMode::OnDemand);
    table_spec(&mut table).global_secondary_indexes.clear();
    fx.create(&table).await;
    fx.assert_converged(&table).await;

    table_spec(&mut table).global_secondary_indexes = desired_indexes;
    fx.update_table_bodies();
    let calls = fx.update(&table, &["global_secondary_indexes"]).await;
    assert_eq!(calls.mutating_operations(), ["DynamoDB:UpdateTable"]);
    let bodies = fx.update_table_bodies();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    for body in &bodies {
        let updates = body["GlobalSecondaryIndexUpdates"].as_array().unwrap();
        assert_eq!(updates.len(), 1, "one index per UpdateTable: {body}");
        assert!(updates[0]["Create"].is_object(), "{body}");
        assert!(updates[0]["Create"].get("ProvisionedThroughput").is_none());
    }
    fx.assert_converged(&table).await;

    // To provisioned, with capacity derived from consumption: moto has no datapoints, so
    // every capacity starts at the floor.
    let capacity = InitialCapacity {
        read_units: None,
        write_units: Some(9),
        min_units: 4,
        max_units: 50,
    };
    {
        let t = table_spec(&mut table);
        t.billing_mode = BillingMode::Provisioned;
        t.initial_capacity = Some(capacity);
        for gsi in &mut t.global_secondary_indexes {
            gsi.initial_capacity = Some(capacity);
        }
    }
    let calls = fx.update(&table, &["billing_mode"]).await;
    assert_eq!(calls.mutating_operations(), ["DynamoDB:UpdateTable"]);
    // Reads derived from the last 7 days, in two halves (1,440 datapoints per call).
    let metric_reads = calls
        .by_operation()
        .into_iter()
        .filter(|((_, op), _)| op == "GetMetricStatistics")
        .map(|(_, n)| n)
        .sum::<u64>();
    assert_eq!(metric_reads, 3 * 2, "table read, then each index's read");
    let bodies = fx.update_table_bodies();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let body = &bodies[0];
    assert_eq!(body["BillingMode"], json!("PROVISIONED"));
    let units = json!({"ReadCapacityUnits": 4, "WriteCapacityUnits": 9});
    assert_eq!(body["ProvisionedThroughput"], units);
    let updates = body["GlobalSecondaryIndexUpdates"].as_array().unwrap();
    assert_eq!(updates.len(), 2, "every index gets a capacity: {body}");
    for update in updates {
        assert_eq!(update["Update"]["ProvisionedThroughput"], units);
    }
    fx.assert_converged(&table).await;
    let current = fx.observe(&table).await.unwrap();
    fx.cloud
        .delete(&table.id, &current, &fx.ctx())
        .await
        .unwrap();
}
