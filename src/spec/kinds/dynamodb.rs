//! DynamoDB: the `transactions` table, its global secondary indexes and what the billing-mode
//! migration workflow needs to know.

use crate::spec::resource_spec::{Fields, field, replace, update};
use crate::spec::value::{OutputRef, Value};

/// One key attribute: its name and DynamoDB type (`S`, `N` or `B`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub attribute_type: String,
}

impl KeyAttribute {
    /// A string (`S`) attribute.
    pub fn string(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            attribute_type: "S".to_owned(),
        }
    }

    fn to_value(&self) -> Value {
        Value::map([
            ("name", Value::str(self.name.clone())),
            ("type", Value::str(self.attribute_type.clone())),
        ])
    }
}

/// How the table is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillingMode {
    /// `PAY_PER_REQUEST`: during the GSI migration, and whenever traffic is unpredictable.
    OnDemand,
    /// `PROVISIONED`, with Application Auto Scaling on the table and every index.
    Provisioned,
}

impl BillingMode {
    /// The value of DynamoDB's `BillingMode`.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::OnDemand => "PAY_PER_REQUEST",
            BillingMode::Provisioned => "PROVISIONED",
        }
    }
}

/// The capacity a table or index starts with when it switches to (or is created in)
/// provisioned mode. Not a compared field: once provisioned, Application Auto Scaling owns
/// the live capacity between `min_units` and `max_units`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitialCapacity {
    /// Read capacity units; `None`: derive from observed consumption (the peak of
    /// `ConsumedReadCapacityUnits` per second divided by the target utilization).
    pub read_units: Option<u32>,
    /// Write capacity units; `None`: derive from observed consumption, as for reads.
    pub write_units: Option<u32>,
    /// Derived values are clamped into `min_units..=max_units`.
    pub min_units: u32,
    pub max_units: u32,
}

/// A global secondary index.
#[derive(Clone, Debug, PartialEq)]
pub struct GsiSpec {
    pub name: String,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    /// Set exactly when the table is provisioned (AWS rejects a switch to `PROVISIONED`
    /// that does not give every index its throughput).
    pub initial_capacity: Option<InitialCapacity>,
}

/// The table. The physical name is the table name.
///
/// Fields:
/// - `table_name` (replace: a table cannot be renamed).
/// - `key_schema`: `{"partition_key": {"name", "type"}, "sort_key": {…} | null}` (replace:
///   the key schema cannot change; a new table and a data migration would be needed).
/// - `global_secondary_indexes`: a list sorted by `index_name` of `{"index_name",
///   "partition_key": {"name", "type"}, "sort_key": {…} | null, "projection_type"}`. Update:
///   the adapter compares by index name; it creates each missing index with its own
///   `UpdateTable` call (AWS allows one index creation per call) and waits for its backfill
///   to finish (reporting progress) before the next; it deletes an index that is no longer
///   desired (the table keeps all its data, only queries on that index stop working, which
///   is why removing an index is an update and not a replacement); an index whose key schema
///   or projection changed is deleted, then created again. Attribute definitions are derived
///   from the key schema and the indexes.
/// - `billing_mode`: `"PAY_PER_REQUEST"` or `"PROVISIONED"`. Update, but a workflow: indexes
///   first (backfilled), then the switch, with the table's and every index's
///   `initial_capacity`; AWS allows one switch per 24 hours
///   (`LastUpdateToPayPerRequestDateTime`), so the adapter refuses, naming the time it is
///   allowed again, instead of trying.
/// - `sse`: `{"enabled": true, "sse_type": "KMS", "kms_master_key_arn"}`.
/// - `point_in_time_recovery`: `{"enabled": true, "recovery_period_in_days"}`.
/// - `deletion_protection`: boolean.
/// - `ttl`: `{"attribute_name", "enabled": true}` (`UpdateTimeToLive`).
/// - `tags`.
///
/// Outputs: `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub global_secondary_indexes: Vec<GsiSpec>,
    pub billing_mode: BillingMode,
    /// Set exactly when the billing mode is provisioned.
    pub initial_capacity: Option<InitialCapacity>,
    /// ARN of the `dynamodb` KMS key.
    pub kms_key: OutputRef,
    /// PITR is always on; this is how far back a restore can go (1..=35 days).
    pub pitr_recovery_period_days: u32,
    pub deletion_protection: bool,
    /// The attribute holding each item's expiry time (epoch seconds).
    pub ttl_attribute: String,
}

impl TableSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::KEY_SCHEMA,
            replace(
                key_schema(&self.partition_key, self.sort_key.as_ref()),
                "a table's key schema cannot change; a new table and a data migration are needed",
            ),
        );
        let mut indexes: Vec<&GsiSpec> = self.global_secondary_indexes.iter().collect();
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        fields.insert(
            field::GLOBAL_SECONDARY_INDEXES,
            update(Value::list(indexes.into_iter().map(|gsi| {
                Value::map([
                    ("index_name", Value::str(gsi.name.clone())),
                    ("partition_key", gsi.partition_key.to_value()),
                    (
                        "sort_key",
                        gsi.sort_key
                            .as_ref()
                            .map_or(Value::Null, KeyAttribute::to_value),
                    ),
                    ("projection_type", Value::str(gsi.projection_type.clone())),
                ])
            }))),
        );
        fields.insert(field::BILLING_MODE, update(self.billing_mode.as_str()));
        fields.insert(
            field::SSE,
            update(Value::map([
                ("enabled", Value::Bool(true)),
                ("sse_type", Value::str("KMS")),
                ("kms_master_key_arn", self.kms_key.clone().into()),
            ])),
        );
        fields.insert(
            field::POINT_IN_TIME_RECOVERY,
            update(Value::map([
                ("enabled", Value::Bool(true)),
                (
                    "recovery_period_in_days",
                    self.pitr_recovery_period_days.into(),
                ),
            ])),
        );
        fields.insert(field::DELETION_PROTECTION, update(self.deletion_protection));
        fields.insert(
            field::TTL,
            update(Value::map([
                ("attribute_name", Value::str(self.ttl_attribute.clone())),
                ("enabled", Value::Bool(true)),
            ])),
        );
    }
}

fn key_schema(partition: &KeyAttribute, sort: Option<&KeyAttribute>) -> Value {
    Value::map([
        ("partition_key", partition.to_value()),
        ("sort_key", sort.map_or(Value::Null, KeyAttribute::to_value)),
    ])
}
