//! The DynamoDB table adapter against moto: the table reads back exactly as its spec
//! resolves, one changed setting makes only its call, indexes are added one per
//! `UpdateTable` (checked on the captured requests: moto would accept two), the switch to
//! provisioned gives the table and every index a capacity, and delete turns deletion
//! protection off first. Skipped with a notice when `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use txdeploy::cloud::Cloud;
use txdeploy::spec::{
    BillingMode, GsiSpec, InitialCapacity, KeyAttribute, ResourceKind, ResourceSpec, SpecBody,
    TableSpec,
};

use crate::harness::{AdapterFixture, CaptureRequests, add_interceptor, moto_or_skip};

/// A fixture whose `UpdateTable` requests are captured: moto accepts requests AWS refuses
/// (two index creations in one call), so the tests check what was sent.
async fn fixture(endpoint: &str) -> (AdapterFixture, CaptureRequests) {
    let update_table = CaptureRequests::new("UpdateTable");
    let interceptor = update_table.clone();
    let fx = AdapterFixture::builder(endpoint)
        .clients(move |clients| add_interceptor!(clients.dynamodb, aws_sdk_dynamodb, interceptor))
        .build()
        .await;
    (fx, update_table)
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
    let (mut fx, update_table) = fixture(&endpoint).await;
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
    update_table.take_bodies();
    fx.cloud
        .delete(&table.id, &current, &fx.ctx())
        .await
        .unwrap();
    assert_eq!(
        update_table.take_bodies(),
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
    let (mut fx, update_table) = fixture(&endpoint).await;
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
    update_table.take_bodies();
    let calls = fx.update(&table, &["global_secondary_indexes"]).await;
    assert_eq!(calls.mutating_operations(), ["DynamoDB:UpdateTable"]);
    let bodies = update_table.take_bodies();
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
    let bodies = update_table.take_bodies();
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
