//! The AWS preflight: before any mutating call, the plan's Lambda reservations and table
//! changes are checked against the account's state with the adapters' own rules
//! (`lambda_adapter::preflight`, `dynamodb_adapter::preflight`), and the table's migration
//! is explained: the AWS switch rules and the capacity each side will start with.

use std::time::SystemTime;

use super::aws_clients::AwsClients;
use super::dynamodb_adapter::{self, CapacityChoice};
use super::lambda_adapter::{self, Preflight};
use crate::cloud::{CloudError, Observed, PreflightFinding};
use crate::plan::{Action, ObservedState, Plan, PlannedChange, WarningKind};
use crate::spec::{
    BillingMode, CheckedGraph, FunctionSpec, ResourceId, ResourceSpec, SpecBody, TableSpec, field,
};

/// Every finding about the creates, updates and replacements of `plan` (deletes need no
/// check). Reads only, and only for the changes that need it: a plan without Lambda
/// reservations or table changes costs no call.
pub async fn check(
    clients: &AwsClients,
    plan: &Plan,
    graph: &CheckedGraph,
    observed: &ObservedState,
    now: SystemTime,
) -> Result<Vec<PreflightFinding>, CloudError> {
    let mut findings = Vec::new();
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action.mutates() && c.action != Action::Delete)
    {
        let Some(spec) = graph.get(&change.id) else {
            continue;
        };
        match &spec.body {
            SpecBody::Function(function) if reserves(change, function) => {
                let outcome = lambda_adapter::preflight(
                    clients,
                    &spec.physical_name,
                    function.reserved_concurrency,
                )
                .await?;
                findings.extend(concurrency_finding(&change.id, outcome));
            }
            SpecBody::Table(table) => {
                let current = observed.resources.get(&change.id);
                findings.extend(table_findings(clients, spec, table, current, now).await?);
            }
            _ => {}
        }
    }
    Ok(findings)
}

/// Whether the change sets a reservation: a new function with one, or a changed one.
fn reserves(change: &PlannedChange, function: &FunctionSpec) -> bool {
    function.reserved_concurrency.is_some()
        && (matches!(change.action, Action::Create | Action::Replace { .. })
            || change
                .diffs
                .iter()
                .any(|d| d.field == field::RESERVED_CONCURRENCY))
}

fn concurrency_finding(id: &ResourceId, outcome: Preflight) -> Option<PreflightFinding> {
    match outcome {
        Preflight::Ok => None,
        Preflight::Warning(message) => {
            Some(PreflightFinding::warn(id, WarningKind::AwsRule, message))
        }
        Preflight::Refused(message) => Some(PreflightFinding::refuse(id, message)),
    }
}

/// The table's refusals (switch window, an index still building), the AWS rules of a
/// billing-mode switch, the one-index-per-call sequence, and the initial capacities of a
/// table that becomes (or is created) provisioned.
async fn table_findings(
    clients: &AwsClients,
    spec: &ResourceSpec,
    table: &TableSpec,
    current: Option<&Observed>,
    now: SystemTime,
) -> Result<Vec<PreflightFinding>, CloudError> {
    let id = &spec.id;
    let name = spec.physical_name.as_str();
    let switching = current.is_some_and(|c| {
        c.fields.get(field::BILLING_MODE).and_then(|m| m.as_str())
            != Some(table.billing_mode.as_str())
    });
    let adding = current.map_or_else(Vec::new, |c| dynamodb_adapter::indexes_to_create(c, table));
    // Only a switch or a new index depends on what DescribeTable says beyond the fields.
    let migration = if current.is_some() && (switching || !adding.is_empty()) {
        dynamodb_adapter::read_migration_state(clients, name).await?
    } else {
        None
    };
    let mut findings: Vec<PreflightFinding> =
        dynamodb_adapter::preflight(current, migration.as_ref(), table, now)
            .into_iter()
            .map(|problem| PreflightFinding::refuse(id, problem))
            .collect();
    if switching {
        findings.push(PreflightFinding::warn(
            id,
            WarningKind::AwsRule,
            dynamodb_adapter::switch_rules(table.billing_mode),
        ));
    } else if !adding.is_empty() {
        findings.push(PreflightFinding::warn(
            id,
            WarningKind::AwsRule,
            format!(
                "AWS creates one index per UpdateTable: {} will be added one at a time, each \
                 backfill awaited (and reported) before the next",
                adding
                    .iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let sized_now = current.is_none() || switching;
    if table.billing_mode == BillingMode::Provisioned && sized_now {
        for choice in initial_capacities(clients, name, table, now).await? {
            findings.push(PreflightFinding::warn(
                id,
                WarningKind::Cost,
                choice.to_string(),
            ));
        }
    }
    Ok(findings)
}

/// The capacity the table and each index will start with, as the apply will choose it.
async fn initial_capacities(
    clients: &AwsClients,
    name: &str,
    table: &TableSpec,
    now: SystemTime,
) -> Result<Vec<CapacityChoice>, CloudError> {
    let mut choices = Vec::new();
    if let Some(capacity) = &table.initial_capacity {
        choices
            .extend(dynamodb_adapter::initial_capacity(clients, name, None, capacity, now).await?);
    }
    for gsi in &table.global_secondary_indexes {
        if let Some(capacity) = &gsi.initial_capacity {
            choices.extend(
                dynamodb_adapter::initial_capacity(clients, name, Some(&gsi.name), capacity, now)
                    .await?,
            );
        }
    }
    Ok(choices)
}
