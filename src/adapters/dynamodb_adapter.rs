//! DynamoDB tables: create, observe, delete, and the migration workflow of `update` (one
//! index per `UpdateTable` with its backfill awaited, then the billing-mode switch with
//! capacity derived from observed consumption), plus the table's preflight rules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode as SdkBillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeySchemaElement, KeyType, PointInTimeRecoverySpecification, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, SseSpecification, SseType,
    TableDescription, TableStatus, Tag, TimeToLiveSpecification, TimeToLiveStatus,
    UpdateGlobalSecondaryIndexAction,
};
use aws_smithy_types::DateTime;
use serde_json::{Value as Json, json};

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, TaggedResource, Tags, desired_tags, observed_tags, tags_json};
use super::{resolved_field, unknown_field};
use crate::cloud::waiter::{Poll, WaitPolicy, wait_until};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{
    BillingMode, GsiSpec, InitialCapacity, KeyAttribute, OutputKey, Outputs, ResourceSpec,
    TableSpec, field,
};

const SERVICE: &str = "dynamodb";

/// AWS allows one billing-mode switch per this window.
pub const BILLING_SWITCH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Target utilization the initial provisioned capacity is sized for (auto scaling then
/// keeps the table at the configured target).
pub const INITIAL_TARGET_UTILIZATION: f64 = 0.7;

/// How far back consumption is read to size the initial provisioned capacity.
pub const CONSUMPTION_LOOKBACK: Duration = Duration::from_secs(7 * 24 * 3600);

/// The CloudWatch period of the consumption sums.
const CONSUMPTION_PERIOD_SECONDS: i32 = 300;

/// What the migration workflow needs beyond the compared fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrationState {
    /// `BillingModeSummary.LastUpdateToPayPerRequestDateTime` (moto never reports it).
    pub last_switch_to_pay_per_request: Option<SystemTime>,
    /// Indexes not yet `ACTIVE` or still backfilling.
    pub indexes_in_progress: Vec<String>,
}

/// Capacity units for a peak consumption (units per second), sized so that the peak sits at
/// `target_utilization` (0..1) and clamped into `min_units..=max_units`. No data (a new or
/// idle table) gives `min_units`.
pub fn derived_capacity(
    peak_per_second: Option<f64>,
    target_utilization: f64,
    min_units: u32,
    max_units: u32,
) -> u32 {
    let Some(peak) = peak_per_second.filter(|p| p.is_finite() && *p > 0.0) else {
        return min_units;
    };
    // Rounded to a millionth first: 21 / 0.7 is 30.000000000000004 in floating point.
    let exact = peak / target_utilization.clamp(0.01, 1.0);
    let wanted = ((exact * 1e6).round() / 1e6).ceil();
    let clamped = wanted.clamp(f64::from(min_units), f64::from(max_units.max(min_units)));
    // In range by the clamp above, so the conversion is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let units = clamped as u32;
    units
}

/// The peak per-second consumption of 5-minute `Sum` datapoints: max sum / 300.
pub fn peak_per_second(five_minute_sums: &[f64]) -> Option<f64> {
    five_minute_sums
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(None, |peak: Option<f64>, v| {
            Some(peak.map_or(v, |p| p.max(v)))
        })
        .map(|max| max / f64::from(CONSUMPTION_PERIOD_SECONDS))
}

/// Reads the peak per-second consumption of `metric` (`ConsumedReadCapacityUnits` or
/// `ConsumedWriteCapacityUnits`) of the table, or of one of its indexes, over the last 7 days.
///
/// 7 days of 5-minute points exceed the 1,440 datapoints one `GetMetricStatistics` returns,
/// so the window is read in two halves.
pub async fn observed_peak(
    clients: &AwsClients,
    table: &str,
    index: Option<&str>,
    metric: &str,
    now: SystemTime,
) -> Result<Option<f64>, CloudError> {
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let half = CONSUMPTION_LOOKBACK / 2;
    let mut sums = Vec::new();
    for (start, end) in [(now - CONSUMPTION_LOOKBACK, now - half), (now - half, now)] {
        let mut request = clients
            .cloudwatch
            .get_metric_statistics()
            .namespace("AWS/DynamoDB")
            .metric_name(metric)
            .dimensions(Dimension::builder().name("TableName").value(table).build())
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(end))
            .period(CONSUMPTION_PERIOD_SECONDS)
            .statistics(Statistic::Sum);
        if let Some(index) = index {
            request = request.dimensions(
                Dimension::builder()
                    .name("GlobalSecondaryIndexName")
                    .value(index)
                    .build(),
            );
        }
        let out = request
            .send()
            .await
            .classified("cloudwatch", "GetMetricStatistics")?;
        sums.extend(out.datapoints().iter().filter_map(|d| d.sum()));
    }
    Ok(peak_per_second(&sums))
}

/// Where an initial capacity comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum CapacitySource {
    /// `dynamodb.read_capacity` / `write_capacity`.
    Configured,
    /// From the 7-day peak of consumed capacity (`None`: no data, so the minimum).
    Derived { peak_per_second: Option<f64> },
}

/// The initial capacity of one side (reads or writes) of the table or of an index, and
/// why: what the plan shows and the apply reports as progress, worded the same.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityChoice {
    /// `table `name`` or `index `name``.
    pub owner: String,
    /// `read` or `write`.
    pub side: &'static str,
    pub units: u32,
    pub source: CapacitySource,
}

impl std::fmt::Display for CapacityChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            owner,
            side,
            units,
            source,
        } = self;
        match source {
            CapacitySource::Configured => write!(
                f,
                "{owner}: {side} capacity {units} (configured `dynamodb.{side}_capacity`)"
            ),
            CapacitySource::Derived {
                peak_per_second: Some(peak),
            } => write!(
                f,
                "{owner}: {side} capacity {units} derived from peak consumed {peak:.1}/s at \
                 {:.0}% (CloudWatch, last 7 days; kept within `dynamodb.min_capacity`..\
                 `max_capacity`; set `dynamodb.{side}_capacity` to choose it)",
                INITIAL_TARGET_UTILIZATION * 100.0
            ),
            CapacitySource::Derived {
                peak_per_second: None,
            } => write!(
                f,
                "{owner}: {side} capacity {units} (`dynamodb.min_capacity`): no consumed \
                 capacity recorded in the last 7 days; set `dynamodb.{side}_capacity` to \
                 choose it"
            ),
        }
    }
}

/// Initial read and write capacity of the table (`index` `None`) or of an index:
/// configured values win, otherwise derived from the consumption of the last 7 days.
pub async fn initial_capacity(
    clients: &AwsClients,
    table: &str,
    index: Option<&str>,
    capacity: &InitialCapacity,
    now: SystemTime,
) -> Result<[CapacityChoice; 2], CloudError> {
    let owner = index.map_or_else(|| format!("table `{table}`"), |i| format!("index `{i}`"));
    let choose = |side: &'static str, configured: Option<u32>, metric: &'static str| {
        let owner = owner.clone();
        async move {
            let (units, source) = match configured {
                Some(u) => (u, CapacitySource::Configured),
                None => {
                    let peak = observed_peak(clients, table, index, metric, now).await?;
                    let units = derived_capacity(
                        peak,
                        INITIAL_TARGET_UTILIZATION,
                        capacity.min_units,
                        capacity.max_units,
                    );
                    let source = CapacitySource::Derived {
                        peak_per_second: peak,
                    };
                    (units, source)
                }
            };
            Ok::<_, CloudError>(CapacityChoice {
                owner,
                side,
                units,
                source,
            })
        }
    };
    let read = choose("read", capacity.read_units, "ConsumedReadCapacityUnits").await?;
    let write = choose("write", capacity.write_units, "ConsumedWriteCapacityUnits").await?;
    Ok([read, write])
}

/// [`initial_capacity`] as (read, write) units, reporting each choice as progress.
async fn initial_units(
    clients: &AwsClients,
    table: &str,
    index: Option<&str>,
    capacity: &InitialCapacity,
    ctx: &StepContext,
) -> Result<(u32, u32), CloudError> {
    let [read, write] =
        initial_capacity(clients, table, index, capacity, SystemTime::now()).await?;
    ctx.progress(read.to_string());
    ctx.progress(write.to_string());
    Ok((read.units, write.units))
}

/// The AWS rules a billing-mode switch follows, stated in the plan before it is tried.
pub fn switch_rules(to: BillingMode) -> String {
    let mut rules = String::from(
        "AWS rules for this switch: one billing-mode switch per table per 24 hours (a \
         refused switch leaves the table as it is); indexes are added one per UpdateTable, \
         each backfill awaited",
    );
    match to {
        BillingMode::Provisioned => rules.push_str(
            ", before the switch; the switch to provisioned gives the table and every index \
             a read and write capacity in the same UpdateTable, and auto scaling then keeps \
             them at the target utilization",
        ),
        BillingMode::OnDemand => rules.push_str(
            ", after the switch; provisioned capacity and its auto scaling stop applying",
        ),
    }
    rules
}

/// The problems that would make AWS refuse the table's change, one message per problem,
/// naming the config key and the fix. Runs before any mutating call.
pub fn preflight(
    observed: Option<&Observed>,
    migration: Option<&MigrationState>,
    spec: &TableSpec,
    now: SystemTime,
) -> Vec<String> {
    let mut problems = Vec::new();
    if spec.billing_mode == BillingMode::Provisioned {
        if spec.initial_capacity.is_none() {
            problems.push(
                "`dynamodb.billing_mode` is `provisioned` but the table has no initial \
                 capacity; set `dynamodb.min_capacity`/`max_capacity` (AWS rejects a \
                 provisioned table without throughput)"
                    .to_owned(),
            );
        }
        for gsi in spec
            .global_secondary_indexes
            .iter()
            .filter(|g| g.initial_capacity.is_none())
        {
            problems.push(format!(
                "index `{}` has no initial capacity while `dynamodb.billing_mode` is \
                 `provisioned`; AWS rejects a switch that does not give every index its \
                 throughput: give every index the table's capacity",
                gsi.name
            ));
        }
    }
    if !(1..=35).contains(&spec.pitr_recovery_period_days) {
        problems.push(format!(
            "`dynamodb.pitr_recovery_days` is {}; AWS allows 1 to 35 days",
            spec.pitr_recovery_period_days
        ));
    }
    let Some(observed) = observed else {
        return problems;
    };
    let switching = observed
        .fields
        .get(field::BILLING_MODE)
        .and_then(Json::as_str)
        != Some(spec.billing_mode.as_str());
    if switching
        && let Some(last) = migration.and_then(|m| m.last_switch_to_pay_per_request)
        && let Some(allowed) = switch_blocked_until(last, now)
    {
        problems.push(format!(
            "`dynamodb.billing_mode`: AWS allows one billing-mode switch per 24 hours; the \
             table switched to on-demand at {} and can switch again from {}; keep the \
             current `dynamodb.billing_mode` until then",
            DateTime::from(last),
            DateTime::from(allowed)
        ));
    }
    let adding = indexes_to_create(observed, spec);
    if let Some(busy) = migration.filter(|m| !m.indexes_in_progress.is_empty())
        && !adding.is_empty()
    {
        problems.push(format!(
            "index {} is still being created or backfilled; AWS creates one index per \
             `UpdateTable` and only after the previous one finished: run the apply again \
             once it is ACTIVE",
            busy.indexes_in_progress
                .iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    problems
}

/// When a switch is refused: the time it becomes allowed, or `None` when it is allowed now.
pub fn switch_blocked_until(last_switch: SystemTime, now: SystemTime) -> Option<SystemTime> {
    let allowed = last_switch + BILLING_SWITCH_WINDOW;
    (now < allowed).then_some(allowed)
}

/// Names of desired indexes that are missing or whose definition differs (created again).
pub fn indexes_to_create(observed: &Observed, spec: &TableSpec) -> Vec<String> {
    let current = observed_indexes(observed);
    spec.global_secondary_indexes
        .iter()
        .filter(|g| current.get(&g.name) != Some(&gsi_json(g)))
        .map(|g| g.name.clone())
        .collect()
}

fn observed_indexes(observed: &Observed) -> BTreeMap<String, Json> {
    observed
        .fields
        .get(field::GLOBAL_SECONDARY_INDEXES)
        .and_then(Json::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|g| Some((g["index_name"].as_str()?.to_owned(), g.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn key_json(key: &KeyAttribute) -> Json {
    json!({"name": key.name, "type": key.attribute_type})
}

/// The JSON shape of one index in the `global_secondary_indexes` field.
fn gsi_json(gsi: &GsiSpec) -> Json {
    json!({
        "index_name": gsi.name,
        "partition_key": key_json(&gsi.partition_key),
        "sort_key": gsi.sort_key.as_ref().map_or(Json::Null, key_json),
        "projection_type": gsi.projection_type,
    })
}

fn fatal(operation: &str, message: impl Into<String>) -> CloudError {
    CloudError::fatal(SERVICE, operation, message)
}

fn built<T>(
    operation: &str,
    result: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, CloudError> {
    result.map_err(|e| fatal(operation, format!("could not build the request: {e}")))
}

async fn describe(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<TableDescription>, CloudError> {
    Ok(clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .classified(SERVICE, "DescribeTable")
        .found(&["ResourceNotFoundException"])?
        .and_then(|out| out.table))
}

/// The migration state of the table named `name`, or `None` when it does not exist.
pub async fn read_migration_state(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<MigrationState>, CloudError> {
    Ok(describe(clients, name).await?.map(|t| migration_state(&t)))
}

fn migration_state(table: &TableDescription) -> MigrationState {
    MigrationState {
        last_switch_to_pay_per_request: table
            .billing_mode_summary()
            .and_then(|s| s.last_update_to_pay_per_request_date_time())
            .and_then(|t| SystemTime::try_from(*t).ok()),
        indexes_in_progress: table
            .global_secondary_indexes()
            .iter()
            .filter(|g| {
                g.index_status() != Some(&IndexStatus::Active) || g.backfilling() == Some(true)
            })
            .filter_map(|g| g.index_name().map(str::to_owned))
            .collect(),
    }
}

/// The table named `name`, or `None` when it does not exist (or is being deleted).
pub async fn observe(clients: &AwsClients, name: &str) -> Result<Option<Observed>, CloudError> {
    let Some(table) = describe(clients, name).await? else {
        return Ok(None);
    };
    if table.table_status() == Some(&TableStatus::Deleting) {
        return Ok(None);
    }
    let arn = table.table_arn().unwrap_or_default().to_owned();
    let backups = clients
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .classified(SERVICE, "DescribeContinuousBackups")
        .found(&["TableNotFoundException"])?;
    let Some(backups) = backups else {
        return Ok(None);
    };
    let ttl = clients
        .dynamodb
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .classified(SERVICE, "DescribeTimeToLive")
        .found(&[])?;
    let Some(ttl) = ttl else {
        return Ok(None);
    };
    let mut tags = Tags::new();
    let mut next: Option<String> = None;
    loop {
        let out = clients
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(&arn)
            .set_next_token(next.take())
            .send()
            .await
            .classified(SERVICE, "ListTagsOfResource")?;
        tags.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned())),
        );
        match out.next_token {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: Outputs::from([(OutputKey::Arn, arn), (OutputKey::Name, name.to_owned())]),
        fields: table_fields(&table, &backups, &ttl, &tags),
    }))
}

/// A table found by `discover`.
pub async fn discovered(
    clients: &AwsClients,
    resource: &TaggedResource,
) -> Result<Option<Observed>, CloudError> {
    let name = resource.arn.rsplit('/').next().unwrap_or_default();
    observe(clients, name).await
}

fn table_fields(
    table: &TableDescription,
    backups: &aws_sdk_dynamodb::operation::describe_continuous_backups::DescribeContinuousBackupsOutput,
    ttl: &aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput,
    tags: &Tags,
) -> BTreeMap<String, Json> {
    let types: BTreeMap<&str, &str> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    let keys = |schema: &[KeySchemaElement]| {
        let key = |kind: KeyType| {
            schema
                .iter()
                .find(|k| *k.key_type() == kind)
                .map_or(Json::Null, |k| {
                    json!({
                        "name": k.attribute_name(),
                        "type": types.get(k.attribute_name()).copied(),
                    })
                })
        };
        (key(KeyType::Hash), key(KeyType::Range))
    };
    let (partition, sort) = keys(table.key_schema());
    let mut indexes: Vec<Json> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let (partition, sort) = keys(g.key_schema());
            json!({
                "index_name": g.index_name(),
                "partition_key": partition,
                "sort_key": sort,
                "projection_type": g
                    .projection()
                    .and_then(|p| p.projection_type())
                    .map(ProjectionType::as_str),
            })
        })
        .collect();
    indexes.sort_by(|a, b| a["index_name"].as_str().cmp(&b["index_name"].as_str()));
    // A table created provisioned before billing modes existed has no summary.
    let billing = table
        .billing_mode_summary()
        .and_then(|s| s.billing_mode())
        .map_or("PROVISIONED", SdkBillingMode::as_str);
    let sse = table.sse_description().map_or(Json::Null, |s| {
        json!({
            "enabled": matches!(s.status().map(|st| st.as_str()), Some("ENABLED" | "ENABLING")),
            "sse_type": s.sse_type().map(SseType::as_str),
            "kms_master_key_arn": s.kms_master_key_arn(),
        })
    });
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .map_or(Json::Null, |p| {
            json!({
                "enabled": p.point_in_time_recovery_status().map(|s| s.as_str()) == Some("ENABLED"),
                "recovery_period_in_days": p.recovery_period_in_days(),
            })
        });
    let ttl = ttl
        .time_to_live_description()
        .filter(|d| {
            matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
        })
        .map_or(
            Json::Null,
            |d| json!({"attribute_name": d.attribute_name(), "enabled": true}),
        );
    [
        (field::TAGS, tags_json(tags)),
        (field::TABLE_NAME, json!(table.table_name())),
        (
            field::KEY_SCHEMA,
            json!({"partition_key": partition, "sort_key": sort}),
        ),
        (field::GLOBAL_SECONDARY_INDEXES, Json::Array(indexes)),
        (field::BILLING_MODE, json!(billing)),
        (field::SSE, sse),
        (field::POINT_IN_TIME_RECOVERY, pitr),
        (
            field::DELETION_PROTECTION,
            json!(table.deletion_protection_enabled().unwrap_or(false)),
        ),
        (field::TTL, ttl),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn attribute_type(key: &KeyAttribute) -> ScalarAttributeType {
    ScalarAttributeType::from(key.attribute_type.as_str())
}

fn key_schema(
    op: &str,
    partition: &KeyAttribute,
    sort: Option<&KeyAttribute>,
) -> Result<Vec<KeySchemaElement>, CloudError> {
    let mut schema = vec![built(
        op,
        KeySchemaElement::builder()
            .attribute_name(&partition.name)
            .key_type(KeyType::Hash)
            .build(),
    )?];
    if let Some(sort) = sort {
        schema.push(built(
            op,
            KeySchemaElement::builder()
                .attribute_name(&sort.name)
                .key_type(KeyType::Range)
                .build(),
        )?);
    }
    Ok(schema)
}

/// Attribute definitions for the table's keys and the keys of `indexes`, each once.
fn attribute_definitions<'a>(
    op: &str,
    spec: &'a TableSpec,
    indexes: impl IntoIterator<Item = &'a GsiSpec>,
) -> Result<Vec<AttributeDefinition>, CloudError> {
    let mut keys: BTreeMap<&str, &KeyAttribute> = BTreeMap::new();
    let mut add = |k: &'a KeyAttribute| {
        keys.entry(k.name.as_str()).or_insert(k);
    };
    add(&spec.partition_key);
    if let Some(sort) = &spec.sort_key {
        add(sort);
    }
    for gsi in indexes {
        add(&gsi.partition_key);
        if let Some(sort) = &gsi.sort_key {
            add(sort);
        }
    }
    keys.values()
        .map(|k| {
            built(
                op,
                AttributeDefinition::builder()
                    .attribute_name(&k.name)
                    .attribute_type(attribute_type(k))
                    .build(),
            )
        })
        .collect()
}

fn throughput(op: &str, (read, write): (u32, u32)) -> Result<ProvisionedThroughput, CloudError> {
    built(
        op,
        ProvisionedThroughput::builder()
            .read_capacity_units(i64::from(read))
            .write_capacity_units(i64::from(write))
            .build(),
    )
}

fn projection(gsi: &GsiSpec) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(gsi.projection_type.as_str()))
        .build()
}

/// The index's initial throughput when the table is provisioned, `None` on demand.
async fn index_throughput(
    clients: &AwsClients,
    table: &str,
    gsi: &GsiSpec,
    provisioned: bool,
    op: &str,
    ctx: &StepContext,
) -> Result<Option<ProvisionedThroughput>, CloudError> {
    if !provisioned {
        return Ok(None);
    }
    let capacity = gsi.initial_capacity.as_ref().ok_or_else(|| {
        fatal(
            op,
            format!(
                "index `{}` has no initial capacity on a provisioned table; preflight should \
                 have refused this",
                gsi.name
            ),
        )
    })?;
    let units = initial_units(clients, table, Some(&gsi.name), capacity, ctx).await?;
    Ok(Some(throughput(op, units)?))
}

fn sse_specification(
    spec: &ResourceSpec,
    ctx: &StepContext,
    op: &str,
) -> Result<SseSpecification, CloudError> {
    let sse = resolved_field(spec, field::SSE, ctx, SERVICE, op)?;
    Ok(SseSpecification::builder()
        .enabled(sse["enabled"].as_bool().unwrap_or(true))
        .sse_type(SseType::Kms)
        .set_kms_master_key_id(sse["kms_master_key_arn"].as_str().map(str::to_owned))
        .build())
}

fn table_spec<'a>(spec: &'a ResourceSpec, op: &str) -> Result<&'a TableSpec, CloudError> {
    match &spec.body {
        crate::spec::SpecBody::Table(t) => Ok(t),
        _ => Err(fatal(
            op,
            format!("`{}` is not a table; this is a txdeploy bug", spec.id),
        )),
    }
}

/// CreateTable with keys, indexes, billing, SSE, tags and deletion protection; waits for
/// ACTIVE; then PITR and TTL, which need an existing table.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateTable";
    let table = table_spec(spec, op)?;
    let name = spec.physical_name.as_str();
    let provisioned = table.billing_mode == BillingMode::Provisioned;
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(name)
        .set_key_schema(Some(key_schema(
            op,
            &table.partition_key,
            table.sort_key.as_ref(),
        )?))
        .set_attribute_definitions(Some(attribute_definitions(
            op,
            table,
            &table.global_secondary_indexes,
        )?))
        .billing_mode(SdkBillingMode::from(table.billing_mode.as_str()))
        .sse_specification(sse_specification(spec, ctx, op)?)
        .deletion_protection_enabled(table.deletion_protection)
        .set_tags(Some(
            spec.tags
                .iter()
                .map(|(k, v)| built(op, Tag::builder().key(k).value(v).build()))
                .collect::<Result<_, _>>()?,
        ));
    if provisioned {
        let capacity = table.initial_capacity.as_ref().ok_or_else(|| {
            fatal(
                op,
                "a provisioned table needs an initial capacity; preflight should have refused this",
            )
        })?;
        let units = initial_units(clients, name, None, capacity, ctx).await?;
        request = request.provisioned_throughput(throughput(op, units)?);
    }
    for gsi in &table.global_secondary_indexes {
        let index = GlobalSecondaryIndex::builder()
            .index_name(&gsi.name)
            .set_key_schema(Some(key_schema(
                op,
                &gsi.partition_key,
                gsi.sort_key.as_ref(),
            )?))
            .projection(projection(gsi))
            .set_provisioned_throughput(
                index_throughput(clients, name, gsi, provisioned, op, ctx).await?,
            )
            .build();
        request = request.global_secondary_indexes(built(op, index)?);
    }
    let created = request.send().await.classified(SERVICE, op)?;
    let arn = created
        .table_description()
        .and_then(|t| t.table_arn())
        .map(str::to_owned)
        .ok_or_else(|| fatal(op, "the response has no `TableArn`"))?;
    wait_active(clients, name, ctx).await?;
    put_pitr(clients, spec, ctx).await?;
    put_ttl(clients, spec, None, ctx).await?;
    Ok(Outputs::from([
        (OutputKey::Arn, arn),
        (OutputKey::Name, name.to_owned()),
    ]))
}

/// Waits until the table is ACTIVE and every index ACTIVE and done backfilling, reporting
/// each index's backfill progress (its size and item count against the table's).
pub async fn wait_active(
    clients: &AwsClients,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    wait_until(
        &format!("table `{name}`"),
        ctx,
        WaitPolicy::LONG,
        || async {
            let table = describe(clients, name)
                .await?
                .ok_or_else(|| fatal("DescribeTable", format!("table `{name}` disappeared")))?;
            Ok(readiness(&table))
        },
    )
    .await
}

/// `Ready` when the table and every index are usable; otherwise the state to report.
fn readiness(table: &TableDescription) -> Poll<()> {
    if table.table_status() != Some(&TableStatus::Active) {
        return Poll::Pending(
            table
                .table_status()
                .map_or("no status", TableStatus::as_str)
                .to_owned(),
        );
    }
    let busy: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter(|g| g.index_status() != Some(&IndexStatus::Active) || g.backfilling() == Some(true))
        .map(|g| {
            format!(
                "index `{}` {}{}: {}",
                g.index_name().unwrap_or_default(),
                g.index_status().map_or("", IndexStatus::as_str),
                if g.backfilling() == Some(true) {
                    " backfilling"
                } else {
                    ""
                },
                backfill_progress(
                    g.item_count(),
                    g.index_size_bytes(),
                    table.item_count(),
                    table.table_size_bytes(),
                )
            )
        })
        .collect();
    if busy.is_empty() {
        Poll::Ready(())
    } else {
        Poll::Pending(busy.join("; "))
    }
}

/// An index's backfill as a fraction of the table (DynamoDB refreshes these counts about
/// every six hours, so they are an estimate).
pub fn backfill_progress(
    index_items: Option<i64>,
    index_bytes: Option<i64>,
    table_items: Option<i64>,
    table_bytes: Option<i64>,
) -> String {
    let items = format!(
        "{} of {} items",
        index_items.unwrap_or(0),
        table_items.unwrap_or(0)
    );
    let bytes = index_bytes.unwrap_or(0);
    match table_bytes.filter(|t| *t > 0) {
        #[allow(clippy::cast_precision_loss)]
        Some(total) => format!(
            "{items}, {bytes} of {total} bytes ({:.0} %)",
            100.0 * (bytes as f64) / (total as f64)
        ),
        None => format!("{items}, {bytes} bytes"),
    }
}

async fn put_pitr(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "UpdateContinuousBackups";
    let pitr = resolved_field(spec, field::POINT_IN_TIME_RECOVERY, ctx, SERVICE, op)?;
    let enabled = pitr["enabled"].as_bool().unwrap_or(false);
    let mut specification =
        PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(enabled);
    if enabled && let Some(days) = pitr["recovery_period_in_days"].as_i64() {
        specification = specification.recovery_period_in_days(
            i32::try_from(days).map_err(|_| fatal(op, "recovery period out of range"))?,
        );
    }
    clients
        .dynamodb
        .update_continuous_backups()
        .table_name(&spec.physical_name)
        .point_in_time_recovery_specification(built(op, specification.build())?)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(())
}

/// Enables TTL on the desired attribute; an enabled TTL on another attribute is disabled
/// first (AWS keeps one TTL attribute per table).
async fn put_ttl(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: Option<&Json>,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "UpdateTimeToLive";
    let desired = resolved_field(spec, field::TTL, ctx, SERVICE, op)?;
    let send = |attribute: String, enabled: bool| async move {
        let specification = built(
            op,
            TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(enabled)
                .build(),
        )?;
        clients
            .dynamodb
            .update_time_to_live()
            .table_name(&spec.physical_name)
            .time_to_live_specification(specification)
            .send()
            .await
            .classified(SERVICE, op)
            .map(|_| ())
    };
    let old = current
        .and_then(|c| c["attribute_name"].as_str())
        .map(str::to_owned);
    let new = desired["attribute_name"].as_str().map(str::to_owned);
    if let Some(old) = old.filter(|o| Some(o) != new.as_ref()) {
        send(old, false).await?;
    }
    if let Some(new) = new {
        send(new, true).await?;
    }
    Ok(())
}

async fn update_table_then_wait(
    clients: &AwsClients,
    request: aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    request.send().await.classified(SERVICE, "UpdateTable")?;
    wait_active(clients, name, ctx).await
}

/// Changes the named fields. Indexes first (one `UpdateTable` per index, backfill awaited),
/// then the billing-mode switch (refused within 24 h of the last one), then SSE, deletion
/// protection, PITR, TTL and tags.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "UpdateTable";
    let table = table_spec(spec, op)?;
    let name = spec.physical_name.as_str();
    let changed: BTreeSet<&str> = changed.iter().map(String::as_str).collect();
    for name in &changed {
        if ![
            field::GLOBAL_SECONDARY_INDEXES,
            field::BILLING_MODE,
            field::SSE,
            field::DELETION_PROTECTION,
            field::POINT_IN_TIME_RECOVERY,
            field::TTL,
            field::TAGS,
        ]
        .contains(name)
        {
            return Err(unknown_field(spec, name));
        }
    }
    let current_billing = current
        .fields
        .get(field::BILLING_MODE)
        .and_then(Json::as_str);
    let switching = changed.contains(field::BILLING_MODE)
        && current_billing != Some(table.billing_mode.as_str());
    if switching {
        let state = read_migration_state(clients, name)
            .await?
            .ok_or_else(|| fatal(op, format!("table `{name}` disappeared")))?;
        if let Some(last) = state.last_switch_to_pay_per_request
            && let Some(allowed) = switch_blocked_until(last, SystemTime::now())
        {
            return Err(fatal(
                op,
                format!(
                    "AWS allows one billing-mode switch per 24 hours; table `{name}` switched \
                     to on-demand at {} and can switch again from {}; keep \
                     `dynamodb.billing_mode` unchanged until then",
                    DateTime::from(last),
                    DateTime::from(allowed)
                ),
            ));
        }
    }
    // Leaving provisioned mode first means new indexes need no throughput.
    if switching && table.billing_mode == BillingMode::OnDemand {
        ctx.progress(format!("table `{name}`: switching to on-demand"));
        let request = clients
            .dynamodb
            .update_table()
            .table_name(name)
            .billing_mode(SdkBillingMode::PayPerRequest);
        update_table_then_wait(clients, request, name, ctx).await?;
    }
    if changed.contains(field::GLOBAL_SECONDARY_INDEXES) {
        // Indexes are added before a switch to provisioned and after a switch to on-demand,
        // so they need throughput only on a table that stays provisioned.
        let provisioned_now = !switching && current_billing == Some("PROVISIONED");
        update_indexes(clients, spec, table, current, provisioned_now, ctx).await?;
    }
    if switching && table.billing_mode == BillingMode::Provisioned {
        switch_to_provisioned(clients, table, name, ctx).await?;
    }
    if changed.contains(field::SSE) {
        let request = clients
            .dynamodb
            .update_table()
            .table_name(name)
            .sse_specification(sse_specification(spec, ctx, op)?);
        update_table_then_wait(clients, request, name, ctx).await?;
    }
    if changed.contains(field::DELETION_PROTECTION) {
        let request = clients
            .dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(table.deletion_protection);
        update_table_then_wait(clients, request, name, ctx).await?;
    }
    if changed.contains(field::POINT_IN_TIME_RECOVERY) {
        put_pitr(clients, spec, ctx).await?;
    }
    if changed.contains(field::TTL) {
        put_ttl(clients, spec, current.fields.get(field::TTL), ctx).await?;
    }
    if changed.contains(field::TAGS) {
        let arn = current
            .outputs
            .get(&OutputKey::Arn)
            .cloned()
            .unwrap_or_default();
        let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
        if !diff.set.is_empty() {
            clients
                .dynamodb
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(
                    diff.set
                        .iter()
                        .map(|(k, v)| built("TagResource", Tag::builder().key(k).value(v).build()))
                        .collect::<Result<_, _>>()?,
                ))
                .send()
                .await
                .classified(SERVICE, "TagResource")?;
        }
        if !diff.remove.is_empty() {
            clients
                .dynamodb
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(diff.remove))
                .send()
                .await
                .classified(SERVICE, "UntagResource")?;
        }
    }
    Ok(current.outputs.clone())
}

/// Deletes indexes no longer desired (or whose definition changed), then creates each
/// missing one with its own `UpdateTable`, waiting for its backfill before the next.
async fn update_indexes(
    clients: &AwsClients,
    spec: &ResourceSpec,
    table: &TableSpec,
    current: &Observed,
    provisioned: bool,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "UpdateTable";
    let name = spec.physical_name.as_str();
    let existing = observed_indexes(current);
    let desired: BTreeMap<&str, &GsiSpec> = table
        .global_secondary_indexes
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    for (index, json) in &existing {
        let keep = desired
            .get(index.as_str())
            .is_some_and(|g| gsi_json(g) == *json);
        if !keep {
            ctx.progress(format!("table `{name}`: deleting index `{index}`"));
            let request = clients
                .dynamodb
                .update_table()
                .table_name(name)
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder()
                        .delete(built(
                            op,
                            DeleteGlobalSecondaryIndexAction::builder()
                                .index_name(index)
                                .build(),
                        )?)
                        .build(),
                );
            update_table_then_wait(clients, request, name, ctx).await?;
        }
    }
    // Every index that exists once this call is done: AWS merges the attribute definitions
    // an `UpdateTable` sends, moto replaces them, so all keys in use are sent each time.
    let mut present: Vec<&GsiSpec> = desired
        .values()
        .filter(|g| existing.get(&g.name) == Some(&gsi_json(g)))
        .copied()
        .collect();
    let to_create = indexes_to_create(current, table);
    let total = to_create.len();
    for (n, index) in to_create.iter().enumerate() {
        let Some(gsi) = desired.get(index.as_str()) else {
            continue;
        };
        ctx.progress(format!(
            "table `{name}`: creating index `{index}` ({} of {total}, one per UpdateTable)",
            n + 1
        ));
        present.push(gsi);
        let action = CreateGlobalSecondaryIndexAction::builder()
            .index_name(&gsi.name)
            .set_key_schema(Some(key_schema(
                op,
                &gsi.partition_key,
                gsi.sort_key.as_ref(),
            )?))
            .projection(projection(gsi))
            .set_provisioned_throughput(
                index_throughput(clients, name, gsi, provisioned, op, ctx).await?,
            )
            .build();
        let request = clients
            .dynamodb
            .update_table()
            .table_name(name)
            .set_attribute_definitions(Some(attribute_definitions(
                op,
                table,
                present.iter().copied(),
            )?))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .create(built(op, action)?)
                    .build(),
            );
        update_table_then_wait(clients, request, name, ctx).await?;
    }
    Ok(())
}

/// One `UpdateTable` to `PROVISIONED` giving the table and every index its initial capacity.
async fn switch_to_provisioned(
    clients: &AwsClients,
    table: &TableSpec,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "UpdateTable";
    let capacity = table.initial_capacity.as_ref().ok_or_else(|| {
        fatal(
            op,
            "a provisioned table needs an initial capacity; preflight should have refused this",
        )
    })?;
    let units = initial_units(clients, name, None, capacity, ctx).await?;
    let mut request = clients
        .dynamodb
        .update_table()
        .table_name(name)
        .billing_mode(SdkBillingMode::Provisioned)
        .provisioned_throughput(throughput(op, units)?);
    for gsi in &table.global_secondary_indexes {
        let Some(t) = index_throughput(clients, name, gsi, true, op, ctx).await? else {
            continue;
        };
        request = request.global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(built(
                    op,
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name(&gsi.name)
                        .provisioned_throughput(t)
                        .build(),
                )?)
                .build(),
        );
    }
    ctx.progress(format!("table `{name}`: switching to provisioned"));
    update_table_then_wait(clients, request, name, ctx).await
}

/// Turns deletion protection off if it is on (the planner only deletes a table with
/// `--delete-data`), then DeleteTable and waits until it is gone.
pub async fn delete(
    clients: &AwsClients,
    current: &Observed,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let name = current.physical_id.as_str();
    if current.fields.get(field::DELETION_PROTECTION) == Some(&Json::Bool(true)) {
        ctx.progress(format!("table `{name}`: turning deletion protection off"));
        let turned_off = clients
            .dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(false)
            .send()
            .await
            .classified(SERVICE, "UpdateTable")
            .found(&["ResourceNotFoundException"])?;
        if turned_off.is_none() {
            return Ok(());
        }
        wait_active(clients, name, ctx).await?;
    }
    clients
        .dynamodb
        .delete_table()
        .table_name(name)
        .send()
        .await
        .classified(SERVICE, "DeleteTable")
        .found(&["ResourceNotFoundException"])?;
    wait_until(
        &format!("table `{name}` deleted"),
        ctx,
        WaitPolicy::SHORT,
        || async {
            Ok(match describe(clients, name).await? {
                None => Poll::Ready(()),
                Some(t) => Poll::Pending(
                    t.table_status()
                        .map_or("DELETING", TableStatus::as_str)
                        .to_owned(),
                ),
            })
        },
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_sdk_dynamodb::types::GlobalSecondaryIndexDescription;

    use super::*;
    use crate::spec::{OutputRef, ResourceId, ResourceKind};

    const HOUR: Duration = Duration::from_secs(3600);

    fn capacity() -> InitialCapacity {
        InitialCapacity {
            read_units: None,
            write_units: None,
            min_units: 5,
            max_units: 100,
        }
    }

    fn gsi(name: &str, capacity: Option<InitialCapacity>) -> GsiSpec {
        GsiSpec {
            name: name.to_owned(),
            partition_key: KeyAttribute::string("merchant_id"),
            sort_key: Some(KeyAttribute::string("transaction_date")),
            projection_type: "ALL".to_owned(),
            initial_capacity: capacity,
        }
    }

    fn table(billing: BillingMode, indexes: Vec<GsiSpec>) -> TableSpec {
        TableSpec {
            partition_key: KeyAttribute::string("transaction_id"),
            sort_key: None,
            global_secondary_indexes: indexes,
            billing_mode: billing,
            initial_capacity: (billing == BillingMode::Provisioned).then(capacity),
            kms_key: OutputRef::arn(&ResourceId::new(ResourceKind::KmsKey, "dynamodb")),
            pitr_recovery_period_days: 35,
            deletion_protection: true,
            ttl_attribute: "expires_at".to_owned(),
        }
    }

    fn observed(billing: &str, indexes: &[&GsiSpec]) -> Observed {
        Observed {
            physical_id: "t".to_owned(),
            outputs: Outputs::new(),
            fields: [
                (field::BILLING_MODE.to_owned(), json!(billing)),
                (
                    field::GLOBAL_SECONDARY_INDEXES.to_owned(),
                    Json::Array(indexes.iter().map(|g| gsi_json(g)).collect()),
                ),
            ]
            .into(),
        }
    }

    #[test]
    fn capacity_is_the_peak_at_seventy_percent_clamped() {
        // 300 units in the busiest 5 minutes: 1 unit per second, / 0.7 -> 2, clamped up to 5.
        assert_eq!(peak_per_second(&[30.0, 300.0, 150.0]), Some(1.0));
        assert_eq!(derived_capacity(Some(1.0), 0.7, 5, 100), 5);
        // 21 per second / 0.7 = 30.
        assert_eq!(derived_capacity(Some(21.0), 0.7, 5, 100), 30);
        // 14.1 / 0.7 = 20.14 -> rounds up so the peak stays under the target.
        assert_eq!(derived_capacity(Some(14.1), 0.7, 5, 100), 21);
        assert_eq!(derived_capacity(Some(700.0), 0.7, 5, 100), 100);
        assert_eq!(derived_capacity(None, 0.7, 5, 100), 5);
        assert_eq!(peak_per_second(&[]), None);
    }

    #[test]
    fn the_plan_says_where_each_capacity_comes_from() {
        let derived = CapacityChoice {
            owner: "table `tx-dev-transactions`".into(),
            side: "read",
            units: derived_capacity(Some(8.4), INITIAL_TARGET_UTILIZATION, 5, 100),
            source: CapacitySource::Derived {
                peak_per_second: Some(8.4),
            },
        };
        let text = derived.to_string();
        assert!(
            text.starts_with(
                "table `tx-dev-transactions`: read capacity 12 derived from peak consumed \
                 8.4/s at 70%"
            ),
            "{text}"
        );
        assert!(text.contains("`dynamodb.read_capacity`"), "{text}");
        let idle = CapacityChoice {
            owner: "index `merchant-date-index`".into(),
            side: "write",
            units: 5,
            source: CapacitySource::Derived {
                peak_per_second: None,
            },
        };
        assert!(
            idle.to_string()
                .contains("write capacity 5 (`dynamodb.min_capacity`): no consumed capacity"),
            "{idle}"
        );
        let configured = CapacityChoice {
            source: CapacitySource::Configured,
            ..idle
        };
        assert!(
            configured
                .to_string()
                .ends_with("write capacity 5 (configured `dynamodb.write_capacity`)"),
            "{configured}"
        );
    }

    #[test]
    fn the_switch_rules_are_stated_for_both_directions() {
        let to_provisioned = switch_rules(BillingMode::Provisioned);
        assert!(to_provisioned.contains("one billing-mode switch per table per 24 hours"));
        assert!(to_provisioned.contains("one per UpdateTable"));
        assert!(to_provisioned.contains("every index"));
        assert!(switch_rules(BillingMode::OnDemand).contains("after the switch"));
    }

    #[test]
    fn a_billing_switch_is_refused_within_24_hours_of_the_last() {
        let last = SystemTime::UNIX_EPOCH + 1000 * HOUR;
        assert_eq!(
            switch_blocked_until(last, last + 23 * HOUR),
            Some(last + 24 * HOUR)
        );
        assert_eq!(switch_blocked_until(last, last + 24 * HOUR), None);
        assert_eq!(switch_blocked_until(last, last + 30 * HOUR), None);
    }

    #[test]
    fn preflight_names_the_switch_window_with_the_time_it_is_allowed() {
        let spec = table(
            BillingMode::Provisioned,
            vec![gsi("by-merchant", Some(capacity()))],
        );
        let current = observed("PAY_PER_REQUEST", &[&spec.global_secondary_indexes[0]]);
        let last = SystemTime::UNIX_EPOCH + 1000 * HOUR;
        let migration = MigrationState {
            last_switch_to_pay_per_request: Some(last),
            indexes_in_progress: Vec::new(),
        };
        let problems = preflight(Some(&current), Some(&migration), &spec, last + 2 * HOUR);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`dynamodb.billing_mode`"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains(&DateTime::from(last + 24 * HOUR).to_string()),
            "{}",
            problems[0]
        );
        assert!(preflight(Some(&current), Some(&migration), &spec, last + 25 * HOUR).is_empty());
        // No switch planned: the window does not matter.
        let same = observed("PROVISIONED", &[&spec.global_secondary_indexes[0]]);
        assert!(preflight(Some(&same), Some(&migration), &spec, last + 2 * HOUR).is_empty());
    }

    #[test]
    fn preflight_refuses_a_new_index_while_another_is_still_backfilling() {
        let spec = table(
            BillingMode::OnDemand,
            vec![gsi("by-merchant", None), gsi("by-date", None)],
        );
        let current = observed("PAY_PER_REQUEST", &[&spec.global_secondary_indexes[0]]);
        let busy = MigrationState {
            last_switch_to_pay_per_request: None,
            indexes_in_progress: vec!["by-merchant".to_owned()],
        };
        let problems = preflight(Some(&current), Some(&busy), &spec, SystemTime::now());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("one index per `UpdateTable`"),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains("`by-merchant`"), "{}", problems[0]);
        let idle = MigrationState::default();
        assert!(preflight(Some(&current), Some(&idle), &spec, SystemTime::now()).is_empty());
    }

    /// EMULATOR.md section 2: moto accepts a switch to provisioned without index throughput.
    #[test]
    fn moto_gap_preflight_requires_throughput_for_every_index_when_provisioned() {
        let spec = table(BillingMode::Provisioned, vec![gsi("by-merchant", None)]);
        let problems = preflight(None, None, &spec, SystemTime::now());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("index `by-merchant`"),
            "{}",
            problems[0]
        );
        let mut bad_pitr = table(BillingMode::OnDemand, Vec::new());
        bad_pitr.pitr_recovery_period_days = 36;
        assert_eq!(preflight(None, None, &bad_pitr, SystemTime::now()).len(), 1);
    }

    #[test]
    fn readiness_waits_for_backfill_and_reports_its_progress() {
        let index = |status: IndexStatus, backfilling: bool| {
            GlobalSecondaryIndexDescription::builder()
                .index_name("by-merchant")
                .index_status(status)
                .backfilling(backfilling)
                .item_count(250)
                .index_size_bytes(1000)
                .build()
        };
        let table = |status: TableStatus, gsi| {
            TableDescription::builder()
                .table_status(status)
                .item_count(1000)
                .table_size_bytes(4000)
                .global_secondary_indexes(gsi)
                .build()
        };
        assert_eq!(
            readiness(&table(
                TableStatus::Updating,
                index(IndexStatus::Active, false)
            )),
            Poll::Pending("UPDATING".to_owned())
        );
        let Poll::Pending(state) = readiness(&table(
            TableStatus::Active,
            index(IndexStatus::Creating, true),
        )) else {
            panic!("a backfilling index is not ready");
        };
        assert!(state.contains("backfilling"), "{state}");
        assert!(
            state.contains("250 of 1000 items, 1000 of 4000 bytes (25 %)"),
            "{state}"
        );
        assert_eq!(
            readiness(&table(
                TableStatus::Active,
                index(IndexStatus::Active, false)
            )),
            Poll::Ready(())
        );
    }
}
