//! `plan_report`: a `Plan` as text for humans (grouped by service, in plan order) and as one
//! JSON document for machines.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;
use serde_json::Value as Json;

use crate::plan::{Action, Desired, FieldDiff, Plan, PlannedChange, WarningKind};
use crate::spec::Service;

/// Values longer than this are shown leaf by leaf (documents) or shortened.
const INLINE_WIDTH: usize = 60;
/// Changed leaves shown per document before "… and N more".
const MAX_LEAVES: usize = 12;

/// How many resources each action touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl PlanSummary {
    pub fn of(plan: &Plan) -> Self {
        let mut s = Self::default();
        for change in &plan.changes {
            match change.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace { .. } => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::NoOp => s.unchanged += 1,
            }
        }
        s
    }
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
            self.create, self.update, self.replace, self.delete, self.unchanged
        )
    }
}

/// The plan as one JSON document: the plan itself plus its summary and whether it changes
/// anything.
pub fn render_json(plan: &Plan) -> Json {
    #[derive(Serialize)]
    struct Document<'a> {
        #[serde(flatten)]
        plan: &'a Plan,
        summary: PlanSummary,
        has_changes: bool,
    }
    serde_json::to_value(Document {
        plan,
        summary: PlanSummary::of(plan),
        has_changes: plan.has_changes(),
    })
    .unwrap_or_else(|e| serde_json::json!({ "error": format!("cannot serialize the plan: {e}") }))
}

/// The plan as text: one block per service (in the order services first appear in the
/// plan), then kept resources, refusals and the summary line.
pub fn render_text(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let env = &plan.environment;
    let _ = writeln!(
        out,
        "Plan for `{}` in account {} ({}, {}):",
        plan.stack, env.account_id, env.region, env.partition
    );

    let mut services: Vec<Service> = Vec::new();
    let mut by_service: BTreeMap<Service, Vec<&PlannedChange>> = BTreeMap::new();
    for change in plan.changes.iter().filter(|c| c.action.mutates()) {
        let service = change.id.kind().service();
        if !services.contains(&service) {
            services.push(service);
        }
        by_service.entry(service).or_default().push(change);
    }
    for service in services {
        let _ = write!(out, "\n{service}\n");
        for change in by_service.get(&service).into_iter().flatten() {
            render_change(&mut out, change, color);
        }
    }

    if !plan.kept.is_empty() {
        out.push_str("\nKept (not deleted):\n");
        for kept in &plan.kept {
            let _ = writeln!(
                out,
                "    = {}  {}: {}",
                kept.id, kept.physical_name, kept.reason
            );
        }
    }
    if !plan.refusals.is_empty() {
        out.push_str("\nRefused (apply will not start until these are resolved):\n");
        for refusal in &plan.refusals {
            let _ = writeln!(out, "    {} {refusal}", paint("×", RED, color));
        }
    }
    out.push('\n');
    if !plan.has_changes() {
        out.push_str("No changes: the stack matches the configuration.\n");
    }
    let _ = writeln!(out, "{}", PlanSummary::of(plan));
    out
}

const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "31";
const MAGENTA: &str = "35";

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn render_change(out: &mut String, change: &PlannedChange, color: bool) {
    let (symbol, code) = match change.action {
        Action::Create => ("+", GREEN),
        Action::Update => ("~", YELLOW),
        Action::Replace { .. } => ("-/+", MAGENTA),
        Action::Delete => ("-", RED),
        Action::NoOp => ("", ""),
    };
    let head = format!("{symbol:>3} {:<7}", change.action.label());
    let _ = write!(
        out,
        "  {} {}  {}",
        paint(&head, code, color),
        change.id,
        change.physical_name
    );
    if let Action::Replace { reason } = &change.action {
        let _ = write!(out, "  ({reason})");
    }
    out.push('\n');
    for diff in &change.diffs {
        if change.action == Action::Create {
            let _ = writeln!(
                out,
                "        {} = {}",
                diff.field,
                short(&desired(&diff.after))
            );
        } else {
            render_diff(out, diff);
        }
    }
    for warning in &change.warnings {
        let kind = match warning.kind {
            WarningKind::DataRisk => "data risk",
            WarningKind::Cost => "cost",
            WarningKind::Irreversible => "irreversible",
            WarningKind::AwsRule => "aws rule",
            WarningKind::Traffic => "traffic",
        };
        let _ = writeln!(
            out,
            "        {} {kind}: {}",
            paint("!", YELLOW, color),
            warning.message
        );
    }
}

fn desired(after: &Desired) -> String {
    match after {
        Desired::Known(v) => v.to_string(),
        Desired::AfterApply(r) => format!("(known after apply: {r})"),
    }
}

fn before(value: Option<&Json>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Json::to_string)
}

/// Shortens a rendered value to the inline width.
fn short(text: &str) -> String {
    if text.chars().count() <= INLINE_WIDTH {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(INLINE_WIDTH - 1).collect();
        format!("{cut}…")
    }
}

fn render_diff(out: &mut String, diff: &FieldDiff) {
    let forces = diff
        .forces_replace
        .map(|r| format!("  (forces replacement: {r})"))
        .unwrap_or_default();
    let before_text = before(diff.before.as_ref());
    let after_text = desired(&diff.after);
    let documents = matches!(
        (&diff.before, &diff.after),
        (
            Some(Json::Object(_) | Json::Array(_)),
            Desired::Known(Json::Object(_) | Json::Array(_))
        )
    );
    let long = before_text.chars().count() + after_text.chars().count() > INLINE_WIDTH;
    if let (true, true, Some(b), Desired::Known(a)) = (documents, long, &diff.before, &diff.after) {
        // Show only the leaves that differ, so a one-line change in a policy reads as one line.
        let _ = writeln!(out, "        {}:{forces}", diff.field);
        let (mut old, mut new) = (BTreeMap::new(), BTreeMap::new());
        flatten("", b, &mut old);
        flatten("", a, &mut new);
        let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
        paths.sort();
        paths.dedup();
        let changed: Vec<_> = paths
            .into_iter()
            .filter(|p| old.get(*p) != new.get(*p))
            .collect();
        for path in changed.iter().take(MAX_LEAVES) {
            let _ = writeln!(
                out,
                "          {path}: {} -> {}",
                short(&before(old.get(*path))),
                short(&before(new.get(*path)))
            );
        }
        if changed.len() > MAX_LEAVES {
            let _ = writeln!(out, "          … and {} more", changed.len() - MAX_LEAVES);
        }
    } else {
        let _ = writeln!(
            out,
            "        {}: {} -> {}{forces}",
            diff.field,
            short(&before_text),
            short(&after_text)
        );
    }
}

/// Every scalar leaf of a JSON value by path (`Statement[1].Principal.Service`).
fn flatten(prefix: &str, value: &Json, out: &mut BTreeMap<String, Json>) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        Json::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        leaf => {
            out.insert(
                if prefix.is_empty() {
                    "(value)".to_owned()
                } else {
                    prefix.to_owned()
                },
                leaf.clone(),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{Kept, Warning};
    use crate::spec::{Environment, OutputRef, ResourceId, ResourceKind};

    fn id(kind: ResourceKind, name: &str) -> ResourceId {
        ResourceId::new(kind, name)
    }

    fn change(id: ResourceId, action: Action, diffs: Vec<FieldDiff>) -> PlannedChange {
        PlannedChange {
            physical_name: format!("tx-dev-{}", id.logical()),
            id,
            action,
            diffs,
            warnings: Vec::new(),
            before: None,
        }
    }

    fn diff(field: &str, before: Option<Json>, after: Desired) -> FieldDiff {
        FieldDiff {
            field: field.into(),
            before,
            after,
            forces_replace: None,
        }
    }

    /// A plan touching every action and every section of the report.
    fn sample() -> Plan {
        let sqs_key = id(ResourceKind::KmsKey, "sqs");
        let policy_before = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "AccountAdministers", "Effect": "Allow", "Action": "kms:*"},
                {"Sid": "CloudWatchAlarmsPublish", "Principal": {"Service": "events.amazonaws.com"}}
            ]
        });
        let mut policy_after = policy_before.clone();
        policy_after["Statement"][1]["Principal"]["Service"] = json!("cloudwatch.amazonaws.com");
        let mut replaced = change(
            id(ResourceKind::Queue, "analytics"),
            Action::Replace {
                reason: "the queue type cannot change".into(),
            },
            vec![FieldDiff {
                field: "fifo".into(),
                before: Some(json!(false)),
                after: Desired::Known(json!(true)),
                forces_replace: Some("the queue type cannot change"),
            }],
        );
        replaced.warnings.push(Warning {
            kind: WarningKind::DataRisk,
            message: "replacing `tx-dev-analytics` (the queue type cannot change) deletes its data"
                .into(),
        });
        let mut deleted = change(
            id(ResourceKind::Topic, "old-alerts"),
            Action::Delete,
            vec![],
        );
        deleted.warnings.push(Warning {
            kind: WarningKind::Cost,
            message: "subscribers stop receiving messages".into(),
        });
        Plan {
            stack: "tx-dev".into(),
            environment: Environment {
                account_id: "123456789012".into(),
                region: "us-east-1".into(),
                partition: "aws".into(),
            },
            changes: vec![
                change(id(ResourceKind::KmsKey, "s3"), Action::NoOp, vec![]),
                change(
                    sqs_key.clone(),
                    Action::Update,
                    vec![
                        diff(
                            "rotation_period_days",
                            Some(json!(365)),
                            Desired::Known(json!(180)),
                        ),
                        diff(
                            "key_policy",
                            Some(policy_before),
                            Desired::Known(policy_after),
                        ),
                    ],
                ),
                change(
                    id(ResourceKind::Queue, "reporting-dlq"),
                    Action::Create,
                    vec![
                        diff(
                            "kms_master_key_id",
                            None,
                            Desired::AfterApply(OutputRef::arn(&sqs_key)),
                        ),
                        diff(
                            "message_retention_seconds",
                            None,
                            Desired::Known(json!(1_209_600)),
                        ),
                    ],
                ),
                replaced,
                change(
                    id(ResourceKind::KmsAlias, "sqs"),
                    Action::Update,
                    vec![diff("target_key_id", None, Desired::Known(json!("k-1")))],
                ),
                change(id(ResourceKind::Bucket, "logs"), Action::NoOp, vec![]),
                deleted,
            ],
            kept: vec![Kept {
                id: id(ResourceKind::Queue, "legacy"),
                physical_name: "tx-dev-legacy".into(),
                reason: "no longer in the stack but holds data; pass `--delete-data` to delete it"
                    .into(),
            }],
            refusals: vec![
                "`queue/analytics` (tx-dev-analytics) would be replaced because the queue type \
                 cannot change, which loses its data; revert that setting, or pass \
                 `--delete-data` to accept the loss"
                    .into(),
            ],
        }
    }

    #[test]
    fn text_groups_by_service_in_plan_order() {
        insta::assert_snapshot!(render_text(&sample(), false));
    }

    #[test]
    fn an_unchanged_plan_says_so() {
        let mut plan = sample();
        plan.changes.retain(|c| c.action == Action::NoOp);
        plan.kept.clear();
        plan.refusals.clear();
        insta::assert_snapshot!(render_text(&plan, false));
    }

    #[test]
    fn summary_counts_every_action() {
        let summary = PlanSummary::of(&sample());
        assert_eq!(
            summary.to_string(),
            "Plan: 1 to create, 2 to update, 1 to replace, 1 to delete, 2 unchanged."
        );
    }

    #[test]
    fn json_is_one_document_with_summary() {
        let doc = render_json(&sample());
        assert_eq!(doc["stack"], "tx-dev");
        assert_eq!(doc["has_changes"], true);
        assert_eq!(doc["summary"]["replace"], 1);
        assert_eq!(doc["changes"][3]["action"], "replace");
        assert_eq!(doc["changes"][3]["reason"], "the queue type cannot change");
        assert_eq!(
            doc["changes"][2]["diffs"][0]["after"]["after_apply"]["resource"],
            "kms_key/sqs"
        );
        assert_eq!(doc["refusals"].as_array().unwrap().len(), 1);
    }
}
