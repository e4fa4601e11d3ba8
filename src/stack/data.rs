//! The `transactions` table (key `transaction_id`, GSI `merchant-date-index`, SSE with the
//! `dynamodb` key, PITR, deletion protection, TTL) and, when provisioned, Application Auto
//! Scaling at 70 % on reads and writes of the table and of every index.

use super::{Builder, MERCHANT_DATE_INDEX, TABLE, id};
use crate::config::TableBilling;
use crate::spec::{
    BillingMode, GsiSpec, InitialCapacity, KeyAttribute, OutputRef, ResourceGraph, ResourceId,
    ResourceKind, ResourceSpec, ScalingPolicySpec, ScalingTargetSpec, SpecBody, TableSpec, Value,
};

/// Seconds auto scaling waits between scaling actions in each direction.
const SCALING_COOLDOWN_SECONDS: u32 = 60;

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    let table = graph.add(table(b));
    if b.config.dynamodb.billing_mode == TableBilling::Provisioned {
        for scaled in scaled_capacities(&table) {
            let target = graph.add(scaling_target(b, &scaled));
            graph.add(scaling_policy(b, &scaled, &target));
        }
    }
}

/// The id of the table.
pub fn table_id() -> ResourceId {
    id(ResourceKind::Table, TABLE)
}

fn initial_capacity(b: &Builder<'_>) -> Option<InitialCapacity> {
    let d = &b.config.dynamodb;
    (d.billing_mode == TableBilling::Provisioned).then_some(InitialCapacity {
        read_units: d.read_capacity,
        write_units: d.write_capacity,
        min_units: d.min_capacity,
        max_units: d.max_capacity,
    })
}

fn table(b: &Builder<'_>) -> ResourceSpec {
    let d = &b.config.dynamodb;
    let billing_mode = match d.billing_mode {
        TableBilling::OnDemand => BillingMode::OnDemand,
        TableBilling::Provisioned => BillingMode::Provisioned,
    };
    b.spec(
        ResourceKind::Table,
        TABLE,
        SpecBody::Table(TableSpec {
            partition_key: KeyAttribute::string("transaction_id"),
            sort_key: None,
            global_secondary_indexes: vec![GsiSpec {
                name: MERCHANT_DATE_INDEX.to_owned(),
                partition_key: KeyAttribute::string("merchant_id"),
                sort_key: Some(KeyAttribute::string("transaction_date")),
                projection_type: "ALL".to_owned(),
                initial_capacity: initial_capacity(b),
            }],
            billing_mode,
            initial_capacity: initial_capacity(b),
            kms_key: OutputRef::arn(&id(ResourceKind::KmsKey, "dynamodb")),
            pitr_recovery_period_days: d.pitr_recovery_days,
            deletion_protection: true,
            ttl_attribute: d.ttl_attribute.clone(),
        }),
    )
}

/// One capacity auto scaling manages: reads or writes of the table or of an index.
struct Scaled {
    /// `table-read`, `merchant-date-index-write`, …
    logical: String,
    resource_id: Value,
    scalable_dimension: String,
    predefined_metric_type: String,
}

/// The logical name of the auto scaling of one side (`read`, `write`) of the table
/// (`owner` `table`) or of an index (`owner` its name): `table-read`,
/// `merchant-date-index-write`. Discovery maps registered targets back with it.
pub fn scaling_logical(owner: &str, side: &str) -> String {
    format!("{owner}-{side}")
}

/// Reads and writes of the table and of every index.
fn scaled_capacities(table: &ResourceId) -> Vec<Scaled> {
    let table_resource =
        || Value::Concat(vec![Value::str("table/"), OutputRef::name(table).into()]);
    let mut scaled = Vec::new();
    let owners = [
        ("table", "table", table_resource()),
        (
            MERCHANT_DATE_INDEX,
            "index",
            Value::Concat(vec![
                Value::str("table/"),
                OutputRef::name(table).into(),
                Value::str(format!("/index/{MERCHANT_DATE_INDEX}")),
            ]),
        ),
    ];
    for (owner, level, resource_id) in owners {
        for (io, units, metric) in [
            (
                "read",
                "ReadCapacityUnits",
                "DynamoDBReadCapacityUtilization",
            ),
            (
                "write",
                "WriteCapacityUnits",
                "DynamoDBWriteCapacityUtilization",
            ),
        ] {
            scaled.push(Scaled {
                logical: scaling_logical(owner, io),
                resource_id: resource_id.clone(),
                scalable_dimension: format!("dynamodb:{level}:{units}"),
                predefined_metric_type: metric.to_owned(),
            });
        }
    }
    scaled
}

fn scaling_target(b: &Builder<'_>, scaled: &Scaled) -> ResourceSpec {
    let d = &b.config.dynamodb;
    b.spec(
        ResourceKind::ScalingTarget,
        &scaled.logical,
        SpecBody::ScalingTarget(ScalingTargetSpec {
            service_namespace: "dynamodb".to_owned(),
            resource_id: scaled.resource_id.clone(),
            scalable_dimension: scaled.scalable_dimension.clone(),
            min_capacity: d.min_capacity,
            max_capacity: d.max_capacity,
        }),
    )
}

fn scaling_policy(b: &Builder<'_>, scaled: &Scaled, target: &ResourceId) -> ResourceSpec {
    let mut spec = b.spec(
        ResourceKind::ScalingPolicy,
        &scaled.logical,
        SpecBody::ScalingPolicy(ScalingPolicySpec {
            service_namespace: "dynamodb".to_owned(),
            resource_id: scaled.resource_id.clone(),
            scalable_dimension: scaled.scalable_dimension.clone(),
            target_value: f64::from(b.config.dynamodb.target_utilization),
            predefined_metric_type: scaled.predefined_metric_type.clone(),
            scale_in_cooldown_seconds: SCALING_COOLDOWN_SECONDS,
            scale_out_cooldown_seconds: SCALING_COOLDOWN_SECONDS,
        }),
    );
    // AWS refuses a policy on a target that is not registered yet, and the policy reads no
    // output of the target: the order must be explicit.
    spec.depends_on.push(target.clone());
    spec
}
