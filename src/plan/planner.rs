//! `plan()`: the pure diff of desired against observed. No I/O, snapshot-tested.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::{
    Action, Desired, FieldDiff, Kept, ObservedState, Plan, PlannedChange, Warning, WarningKind,
};
use crate::cloud::Observed;
use crate::spec::{
    CheckedGraph, Environment, OnChange, OutputTable, Outputs, ResourceId, ResourceKind,
    ResourceSpec, Unresolved, field,
};

/// Apply converges the stack to the graph; destroy removes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMode {
    Apply,
    Destroy,
}

/// The user's flags that change what a plan may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    pub mode: PlanMode,
    /// Delete (or replace) data-bearing resources: keys, buckets, tables, queues.
    pub delete_data: bool,
}

impl PlanOptions {
    pub fn apply() -> Self {
        Self {
            mode: PlanMode::Apply,
            delete_data: false,
        }
    }

    pub fn destroy(delete_data: bool) -> Self {
        Self {
            mode: PlanMode::Destroy,
            delete_data,
        }
    }
}

/// Diffs `graph` against `observed`.
pub fn plan(
    stack: &str,
    env: &Environment,
    graph: &CheckedGraph,
    observed: &ObservedState,
    options: PlanOptions,
) -> Plan {
    let mut plan = Plan {
        stack: stack.to_owned(),
        environment: env.clone(),
        changes: Vec::new(),
        kept: Vec::new(),
        refusals: Vec::new(),
    };
    match options.mode {
        PlanMode::Apply => plan_apply(&mut plan, env, graph, observed),
        PlanMode::Destroy => plan_destroy(&mut plan, graph, observed, options.delete_data),
    }
    plan_orphans(&mut plan, observed, options.delete_data);
    if options.mode == PlanMode::Apply && !options.delete_data {
        for change in &plan.changes {
            if let Action::Replace { reason } = &change.action
                && change.id.kind().is_data_bearing()
            {
                plan.refusals.push(format!(
                    "`{}` ({}) would be replaced because {reason}, which loses its data; \
                     revert that setting, or pass `--delete-data` to accept the loss",
                    change.id, change.physical_name
                ));
            }
        }
    }
    plan
}

fn plan_apply(plan: &mut Plan, env: &Environment, graph: &CheckedGraph, observed: &ObservedState) {
    // Outputs known at plan time: those of resources that exist and are not replaced.
    let mut known: BTreeMap<ResourceId, Outputs> = BTreeMap::new();
    for spec in graph.in_order() {
        let before = observed.resources.get(&spec.id);
        let table = OutputTable {
            env,
            outputs: &known,
        };
        let (action, diffs) = match before {
            None => (Action::Create, creation_diffs(spec, &table)),
            Some(current) => {
                let diffs = field_diffs(spec, current, &table);
                let action = match diffs.iter().find_map(|d| d.forces_replace) {
                    Some(reason) => Action::Replace {
                        reason: reason.to_owned(),
                    },
                    None if diffs.is_empty() => Action::NoOp,
                    None => Action::Update,
                };
                (action, diffs)
            }
        };
        if let (Some(current), Action::Update | Action::NoOp) = (before, &action) {
            let mut outputs = current.outputs.clone();
            if action == Action::Update {
                for key in spec.kind().outputs_changed_by_update() {
                    outputs.remove(key);
                }
            }
            known.insert(spec.id.clone(), outputs);
        }
        let mut warnings = warnings_for(spec, &action);
        warnings.extend(split_alias_warning(spec, before, &diffs));
        plan.changes.push(PlannedChange {
            id: spec.id.clone(),
            physical_name: spec.physical_name.clone(),
            action,
            diffs,
            warnings,
            before: before.cloned(),
        });
    }
}

fn resolve(spec_value: &crate::spec::Value, table: &OutputTable<'_>) -> Desired {
    match spec_value.resolve(table) {
        Ok(json) => Desired::Known(json),
        Err(Unresolved(r)) => Desired::AfterApply(r),
    }
}

fn creation_diffs(spec: &ResourceSpec, table: &OutputTable<'_>) -> Vec<FieldDiff> {
    spec.fields()
        .into_iter()
        .map(|(name, field)| FieldDiff {
            field: name.to_owned(),
            before: None,
            after: resolve(&field.value, table),
            forces_replace: None,
        })
        .collect()
}

/// The fields of `spec` that differ from `current` (the executor converges retries with it).
pub fn field_diffs(
    spec: &ResourceSpec,
    current: &Observed,
    table: &OutputTable<'_>,
) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    for (name, field) in spec.fields() {
        let after = resolve(&field.value, table);
        let before = current.fields.get(name).filter(|v| !v.is_null()).cloned();
        let same = match (&before, &after) {
            (None, Desired::Known(Json::Null)) => true,
            (Some(b), Desired::Known(a)) => b == a,
            _ => false,
        };
        if !same {
            diffs.push(FieldDiff {
                field: name.to_owned(),
                before,
                after,
                forces_replace: match field.on_change {
                    OnChange::Update | OnChange::Upload => None,
                    OnChange::Replace(reason) => Some(reason),
                },
            });
        }
    }
    diffs
}

fn warnings_for(spec: &ResourceSpec, action: &Action) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let data = spec.kind().is_data_bearing();
    match action {
        Action::Replace { reason } if data => warnings.push(Warning {
            kind: WarningKind::DataRisk,
            message: format!(
                "replacing `{}` ({reason}) deletes its data",
                spec.physical_name
            ),
        }),
        Action::Delete if data => warnings.push(Warning {
            kind: WarningKind::DataRisk,
            message: format!("deleting `{}` loses its data", spec.physical_name),
        }),
        _ => {}
    }
    if matches!(action, Action::Delete) && spec.kind() == crate::spec::ResourceKind::KmsKey {
        warnings.push(Warning {
            kind: WarningKind::Irreversible,
            message: "the key is scheduled for deletion (7 days); data encrypted with it \
                      becomes unreadable once it is gone"
                .to_owned(),
        });
    }
    warnings
}

/// Why an alias's `routing` diff is there: the field is always desired null, so observed
/// weights mean a canary window is running (another apply holds the lock), one was
/// interrupted before its promotion or rollback, or someone routed traffic by hand. The
/// diff line alone (`{"7":0.1} -> null`) does not say that applying moves live traffic.
fn split_alias_warning(
    spec: &ResourceSpec,
    current: Option<&Observed>,
    diffs: &[FieldDiff],
) -> Option<Warning> {
    let split = diffs
        .iter()
        .find(|d| d.field == field::ROUTING && spec.kind() == ResourceKind::LambdaAlias)?;
    let Some(Json::Object(weights)) = &split.before else {
        return None;
    };
    let shares: Vec<String> = weights
        .iter()
        .map(|(version, weight)| {
            // One decimal at most: 0.07 reads as 7%, not 7.000000000000001%.
            let percent = (weight.as_f64().unwrap_or_default() * 1000.0).round() / 10.0;
            format!("{percent}% to version {version}")
        })
        .collect();
    // The version every request runs after the apply: the new one if it moves too.
    let bare = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let target = match diffs.iter().find(|d| d.field == field::FUNCTION_VERSION) {
        Some(moved) => match &moved.after {
            Desired::Known(v) => bare(v),
            after @ Desired::AfterApply(_) => after.to_string(),
        },
        None => current
            .and_then(|c| c.fields.get(field::FUNCTION_VERSION))
            .map_or_else(|| "its configured version".to_owned(), bare),
    };
    Some(Warning {
        kind: WarningKind::Traffic,
        message: format!(
            "`{}` routes {}: a canary was interrupted (or is still running under another \
             apply's lock) or someone routed traffic by hand; this apply sends all of it to \
             version {target}",
            spec.physical_name,
            shares.join(", ")
        ),
    })
}

fn plan_destroy(
    plan: &mut Plan,
    graph: &CheckedGraph,
    observed: &ObservedState,
    delete_data: bool,
) {
    // A kept resource keeps everything it depends on: it cannot work without them.
    let mut kept: BTreeSet<ResourceId> = BTreeSet::new();
    if !delete_data {
        let mut stack: Vec<ResourceId> = graph
            .in_order()
            .filter(|s| s.kind().is_data_bearing() && observed.resources.contains_key(&s.id))
            .map(|s| s.id.clone())
            .collect();
        while let Some(id) = stack.pop() {
            if kept.insert(id.clone()) {
                stack.extend(graph.dependencies(&id).iter().cloned());
            }
        }
    }
    let order: Vec<&ResourceSpec> = graph.in_order().collect();
    for spec in order.into_iter().rev() {
        let Some(current) = observed.resources.get(&spec.id) else {
            continue;
        };
        if kept.contains(&spec.id) {
            let reason = if spec.kind().is_data_bearing() {
                "holds data; pass `--delete-data` to delete it".to_owned()
            } else {
                "a kept resource depends on it".to_owned()
            };
            plan.kept.push(Kept {
                id: spec.id.clone(),
                physical_name: spec.physical_name.clone(),
                reason,
            });
            continue;
        }
        plan.changes.push(PlannedChange {
            id: spec.id.clone(),
            physical_name: spec.physical_name.clone(),
            action: Action::Delete,
            diffs: Vec::new(),
            warnings: warnings_for(spec, &Action::Delete),
            before: Some(current.clone()),
        });
    }
}

fn plan_orphans(plan: &mut Plan, observed: &ObservedState, delete_data: bool) {
    let mut orphans: Vec<_> = observed.orphans.iter().collect();
    orphans.sort_by_key(|o| (o.id.kind().delete_rank(), o.id.clone()));
    for orphan in orphans {
        if plan.get(&orphan.id).is_some() || plan.kept.iter().any(|k| k.id == orphan.id) {
            continue;
        }
        let name = orphan.observed.physical_id.clone();
        if orphan.id.kind().is_data_bearing() && !delete_data {
            plan.kept.push(Kept {
                id: orphan.id.clone(),
                physical_name: name,
                reason: "no longer in the stack but holds data; pass `--delete-data` to delete it"
                    .to_owned(),
            });
            continue;
        }
        let mut warnings = Vec::new();
        if orphan.id.kind().is_data_bearing() {
            warnings.push(Warning {
                kind: WarningKind::DataRisk,
                message: format!("deleting `{name}` loses its data"),
            });
        }
        plan.changes.push(PlannedChange {
            id: orphan.id.clone(),
            physical_name: name,
            action: Action::Delete,
            diffs: Vec::new(),
            warnings,
            before: Some(orphan.observed.clone()),
        });
    }
}

#[cfg(test)]
mod tests;
