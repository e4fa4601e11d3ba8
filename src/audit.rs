//! `txdeploy audit`: every line of STACK.md as a check on the deployed stack, each ending
//! `pass`, `fail` (observed against expected, and the fix) or `not-checkable-here` (why).
//!
//! The checks are data ([`checks::CHECKS`]): an id, the STACK.md section and wording, the
//! seed review's failures (F1..F20) and requirements (R1..R11) it guards, and a pure function
//! of [`AuditInput`]. Expected values come from the desired graph (`stack::build` of the
//! config), resolved against the outputs of what exists, never from constants repeated here:
//! the audit and `plan` cannot disagree about what the stack should be.
//!
//! - [`checks`]: the table and the check functions.
//! - [`audit_command`]: the CLI command: observe, the few extra reads, print, exit code.

pub mod audit_command;
pub mod checks;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::adapters::lambda_adapter::AccountConcurrency;
use crate::cloud::Observed;
use crate::config::Config;
use crate::plan::planner::field_diffs;
use crate::plan::{Desired, ObservedState};
use crate::spec::{CheckedGraph, Environment, OutputTable, Outputs, ResourceId, ResourceSpec};

pub use checks::{CHECKS, CheckDef};

/// Where the stack runs: a local emulator cannot show some settings (EMULATOR.md
/// section 1), so those checks say `not-checkable-here` there and run against AWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An `endpoint_url` is set: moto or another emulator.
    Emulator,
    Aws,
}

impl Target {
    /// An emulator when the config names an endpoint, else AWS.
    pub fn of(config: &Config) -> Self {
        if config.aws.endpoint_url.is_some() {
            Target::Emulator
        } else {
            Target::Aws
        }
    }
}

/// Maps a field's value (by field name) before it is compared, to leave out a part the
/// target cannot show.
pub type Projection<'a> = dyn Fn(&str, &Json) -> Json + 'a;

/// A fact outside the observed fields: the value read, or why it could not be read.
pub type Read<T> = Result<T, String>;

/// What a few checks need beyond `Session::observe` (read by `audit_command` only where
/// the check runs, so an audit against an emulator makes no call it cannot answer).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExtraReads {
    /// Lambda `GetAccountSettings`: the account's concurrency limit and unreserved part.
    pub account_concurrency: Option<Read<AccountConcurrency>>,
    /// Objects under `logs/` in the archive bucket (at most one is listed).
    pub archived_log_objects: Option<Read<usize>>,
    /// Qualifiers of the event-invoke configs on the synchronous API function (there must be
    /// none: an on-failure destination never fires for a synchronous call).
    pub api_function_invoke_configs: Option<Read<Vec<String>>>,
}

/// Everything a check may look at.
pub struct AuditInput<'a> {
    pub config: &'a Config,
    pub env: &'a Environment,
    pub graph: &'a CheckedGraph,
    pub observed: &'a ObservedState,
    pub target: Target,
    pub extra: &'a ExtraReads,
    /// The outputs of every observed resource, to resolve the desired values with.
    outputs: BTreeMap<ResourceId, Outputs>,
}

impl<'a> AuditInput<'a> {
    pub fn new(
        config: &'a Config,
        env: &'a Environment,
        graph: &'a CheckedGraph,
        observed: &'a ObservedState,
        target: Target,
        extra: &'a ExtraReads,
    ) -> Self {
        let outputs = observed
            .resources
            .iter()
            .map(|(id, o)| (id.clone(), o.outputs.clone()))
            .collect();
        Self {
            config,
            env,
            graph,
            observed,
            target,
            extra,
            outputs,
        }
    }

    /// The desired specs of `kind`, in dependency order.
    pub fn specs(
        &self,
        kind: crate::spec::ResourceKind,
    ) -> impl Iterator<Item = &'a ResourceSpec> + use<'a> {
        self.graph.in_order().filter(move |s| s.kind() == kind)
    }

    pub fn observed(&self, id: &ResourceId) -> Option<&'a Observed> {
        self.observed.resources.get(id)
    }

    /// An observed field, `None` when absent or null.
    pub fn field(&self, id: &ResourceId, field: &str) -> Option<&'a Json> {
        self.observed(id)?
            .fields
            .get(field)
            .filter(|v| !v.is_null())
    }

    /// One output of an observed resource.
    pub fn output(&self, id: &ResourceId, key: crate::spec::OutputKey) -> Option<&str> {
        self.outputs.get(id)?.get(&key).map(String::as_str)
    }

    /// The desired value of `spec`'s `field`, resolved against what exists; `None` when the
    /// spec has no such field or it names a resource that does not exist.
    pub fn desired(&self, spec: &ResourceSpec, field: &str) -> Option<Json> {
        let table = OutputTable {
            env: self.env,
            outputs: &self.outputs,
        };
        spec.fields().get(field)?.value.resolve(&table).ok()
    }

    /// Where `spec` differs from what exists, limited to `fields`: a missing resource is one
    /// finding, each differing field another. `project` maps both sides of a field before
    /// they are compared (to leave out a part the target cannot show).
    pub fn drift(
        &self,
        spec: &ResourceSpec,
        fields: &[&str],
        project: Option<&Projection<'_>>,
    ) -> Vec<Finding> {
        let Some(current) = self.observed(&spec.id) else {
            return vec![Finding::missing(spec)];
        };
        let table = OutputTable {
            env: self.env,
            outputs: &self.outputs,
        };
        field_diffs(spec, current, &table)
            .into_iter()
            .filter(|d| fields.contains(&d.field.as_str()))
            .filter_map(|d| {
                let expected = match &d.after {
                    Desired::Known(v) => v.clone(),
                    // What exists has no such output now (a function whose configuration
                    // drifted has no published version of it): apply will make one.
                    Desired::AfterApply(r) => Json::from(format!("(known after apply: `{r}`)")),
                };
                if let (Some(project), Desired::Known(after)) = (project, &d.after) {
                    let before = d.before.clone().unwrap_or(Json::Null);
                    if project(&d.field, &before) == project(&d.field, after) {
                        return None;
                    }
                }
                Some(Finding {
                    resource: spec.id.to_string(),
                    field: d.field,
                    observed: d.before,
                    expected,
                })
            })
            .collect()
    }

    /// `drift` over every spec of `kind`.
    pub fn drift_of_kind(&self, kind: crate::spec::ResourceKind, fields: &[&str]) -> Verdict {
        Verdict::from_findings(
            self.specs(kind)
                .flat_map(|s| self.drift(s, fields, None))
                .collect(),
        )
    }
}

/// One observed value that is not what the stack says it should be.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The resource id (`function/transaction-validator`), or the account for account-wide
    /// facts.
    pub resource: String,
    pub field: String,
    /// `None` when the value (or the whole resource) is absent.
    pub observed: Option<Json>,
    pub expected: Json,
}

impl Finding {
    fn missing(spec: &ResourceSpec) -> Self {
        Finding {
            resource: spec.id.to_string(),
            field: "(exists)".to_owned(),
            observed: None,
            expected: Json::from(format!("`{}` exists", spec.physical_name)),
        }
    }

    /// A finding with the given values.
    pub fn new(
        resource: impl Into<String>,
        field: impl Into<String>,
        observed: Option<Json>,
        expected: impl Into<Json>,
    ) -> Self {
        Finding {
            resource: resource.into(),
            field: field.into(),
            observed,
            expected: expected.into(),
        }
    }
}

/// What one check concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Pass,
    Fail(Vec<Finding>),
    /// The check cannot run against this target, for the reason given.
    NotCheckable(String),
}

impl Verdict {
    /// `Pass` when there is nothing to report.
    pub fn from_findings(findings: Vec<Finding>) -> Self {
        if findings.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(findings)
        }
    }

    /// Both verdicts' findings; a not-checkable part makes the whole not checkable.
    pub fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::NotCheckable(r), _) | (_, Verdict::NotCheckable(r)) => {
                Verdict::NotCheckable(r)
            }
            (Verdict::Fail(mut a), Verdict::Fail(b)) => {
                a.extend(b);
                Verdict::Fail(a)
            }
            (Verdict::Fail(a), Verdict::Pass) | (Verdict::Pass, Verdict::Fail(a)) => {
                Verdict::Fail(a)
            }
            (Verdict::Pass, Verdict::Pass) => Verdict::Pass,
        }
    }
}

/// How a check ended, as printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "fail")]
    Fail,
    #[serde(rename = "not-checkable-here")]
    NotCheckableHere,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotCheckableHere => "not-checkable-here",
        }
    }
}

/// One check's result, with its definition's description.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub section: &'static str,
    pub stack_md: &'static str,
    pub refs: &'static [&'static str],
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Why the check could not run here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What restores it, on a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'static str>,
}

/// Every check's result, in table order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditReport {
    pub target: Target,
    pub results: Vec<CheckResult>,
}

impl AuditReport {
    /// The ids of the checks that ended with `status`.
    pub fn ids(&self, status: Status) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.id)
            .collect()
    }

    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    /// The NDJSON lines: one per check, then the summary.
    pub fn render_json(&self) -> String {
        let mut out = String::new();
        for result in &self.results {
            let mut doc = serde_json::to_value(result).unwrap_or(Json::Null);
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("event".to_owned(), Json::from("audit_check"));
            }
            let _ = writeln!(out, "{doc}");
        }
        let _ = writeln!(out, "{}", self.summary_json());
        out
    }

    fn summary_json(&self) -> Json {
        json!({
            "event": "audit_summary",
            "target": self.target,
            "checks": self.results.len(),
            "pass": self.count(Status::Pass),
            "fail": self.count(Status::Fail),
            "not_checkable_here": self.count(Status::NotCheckableHere),
            "failed": self.ids(Status::Fail),
        })
    }

    /// Plain lines: one per check, findings and fix under a failure, then the summary.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let refs = if r.refs.is_empty() {
                "-".to_owned()
            } else {
                r.refs.join(" ")
            };
            let _ = writeln!(
                out,
                "{:<18} {:<40} [{refs}] {}: {}",
                r.status.label(),
                r.id,
                r.section,
                r.stack_md
            );
            for f in &r.findings {
                let observed = f
                    .observed
                    .as_ref()
                    .map_or_else(|| "absent".to_owned(), Json::to_string);
                let _ = writeln!(
                    out,
                    "    {} `{}`: observed {observed}, expected {}",
                    f.resource, f.field, f.expected
                );
            }
            if let Some(fix) = r.fix {
                let _ = writeln!(out, "    fix: {fix}");
            }
            if let Some(reason) = &r.reason {
                let _ = writeln!(out, "    why: {reason}");
            }
        }
        let _ = writeln!(
            out,
            "audit ({}): {} checks, {} pass, {} fail, {} not checkable here",
            match self.target {
                Target::Emulator => "emulator",
                Target::Aws => "AWS",
            },
            self.results.len(),
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::NotCheckableHere)
        );
        out
    }
}

/// Runs every check of `table` on `input`.
pub fn run(table: &[CheckDef], input: &AuditInput<'_>) -> AuditReport {
    let results = table
        .iter()
        .map(|def| {
            let verdict = match (input.target, def.emulator_gap) {
                (Target::Emulator, Some(gap)) => Verdict::NotCheckable(gap.to_owned()),
                _ => (def.eval)(input),
            };
            let (status, findings, reason) = match verdict {
                Verdict::Pass => (Status::Pass, Vec::new(), None),
                Verdict::Fail(findings) => (Status::Fail, findings, None),
                Verdict::NotCheckable(reason) => {
                    (Status::NotCheckableHere, Vec::new(), Some(reason))
                }
            };
            CheckResult {
                id: def.id,
                section: def.section,
                stack_md: def.stack_md,
                refs: def.refs,
                fix: (status == Status::Fail).then_some(def.fix),
                status,
                findings,
                reason,
            }
        })
        .collect();
    AuditReport {
        target: input.target,
        results,
    }
}
