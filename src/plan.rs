//! The plan: what apply or destroy will do to each resource and why, computed by a pure
//! function of the desired graph and the observed state.

pub mod planner;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value as Json;

pub use planner::{PlanMode, PlanOptions, plan};

use crate::cloud::{Discovered, Observed};
use crate::spec::{Environment, OutputRef, Outputs, ResourceId};

/// What the observation phase found: the environment and every desired or tagged object.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ObservedState {
    /// Desired resources that exist, by id.
    pub resources: BTreeMap<ResourceId, Observed>,
    /// Objects found by the stack tag or name that the graph does not describe.
    pub orphans: Vec<Discovered>,
}

/// A value the plan will set: known now, or only after another resource is created.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Desired {
    Known(Json),
    AfterApply(OutputRef),
}

impl fmt::Display for Desired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Desired::Known(v) => write!(f, "{v}"),
            Desired::AfterApply(r) => write!(f, "(known after apply: {r})"),
        }
    }
}

/// One field that differs between what exists and what is desired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDiff {
    pub field: String,
    /// `None` when the field is absent in AWS.
    pub before: Option<Json>,
    pub after: Desired,
    /// Set when changing this field forces a replacement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forces_replace: Option<&'static str>,
}

/// What the executor will do to one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Replace { reason: String },
    Delete,
    NoOp,
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace { .. } => "replace",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
        }
    }

    /// Whether this action calls a mutating AWS API.
    pub fn mutates(&self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

/// Why a change deserves a second look before confirming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    DataRisk,
    Cost,
    Irreversible,
    AwsRule,
    /// The change moves live traffic that something other than this config sent elsewhere
    /// (an alias split by an interrupted canary or by hand).
    Traffic,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

/// One resource's planned change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedChange {
    pub id: ResourceId,
    pub physical_name: String,
    #[serde(flatten)]
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<FieldDiff>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The state before the change; the journal records it so an undo can restore it.
    #[serde(skip)]
    pub before: Option<Observed>,
}

/// A resource that destroy or apply leaves in place on purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub id: ResourceId,
    pub physical_name: String,
    pub reason: String,
}

/// The whole plan, in execution order (creates and updates in dependency order, deletes
/// after them in reverse dependency order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub stack: String,
    pub environment: Environment,
    pub changes: Vec<PlannedChange>,
    /// Data-bearing resources that are kept (destroy without `--delete-data`, orphans).
    pub kept: Vec<Kept>,
    /// Changes that must not run without an explicit flag; apply refuses while any exist.
    pub refusals: Vec<String>,
}

impl Plan {
    /// Counts of each action label, for summaries.
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for change in &self.changes {
            *counts.entry(change.action.label()).or_insert(0) += 1;
        }
        counts
    }

    /// Whether applying this plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.mutates())
    }

    pub fn get(&self, id: &ResourceId) -> Option<&PlannedChange> {
        self.changes.iter().find(|c| &c.id == id)
    }

    /// The outputs of every resource that existed when the plan was made: what the executor
    /// starts from, and all there is to know after a plan with no changes.
    pub fn observed_outputs(&self) -> BTreeMap<ResourceId, Outputs> {
        self.changes
            .iter()
            .filter_map(|c| Some((c.id.clone(), c.before.as_ref()?.outputs.clone())))
            .collect()
    }
}
