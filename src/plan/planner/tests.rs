//! Snapshot tests of the pure planner on the real stack graph, and of the graph checks.
//!
//! Plans are rendered as compact text (one line per change, one per field diff) so a
//! reviewer can read a snapshot diff the way a user reads `txdeploy plan`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as Json;

use super::{PlanMode, PlanOptions, plan};
use crate::cloud::{Discovered, Observed};
use crate::config::Config;
use crate::plan::{Action, ObservedState, Plan, WarningKind};
use crate::spec::{
    CheckedGraph, Environment, GraphError, KmsKeySpec, OutputKey, OutputRef, OutputTable, Outputs,
    QueueSpec, RedriveSpec, ResourceGraph, ResourceId, ResourceKind, ResourceSpec, SpecBody, Value,
};
use crate::stack;

fn env() -> Environment {
    Environment {
        account_id: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        partition: "aws".to_owned(),
    }
}

fn checked(config: &Config) -> CheckedGraph {
    stack::build(config, &env(), &stack::test_inputs())
        .check()
        .unwrap()
}

fn default_graph() -> CheckedGraph {
    checked(&Config::defaults().unwrap())
}

fn plan_apply(graph: &CheckedGraph, observed: &ObservedState) -> Plan {
    plan("tx-dev", &env(), graph, observed, PlanOptions::apply())
}

/// Outputs AWS would report for `spec`, made up but shaped like the real ones.
fn made_up_outputs(spec: &ResourceSpec) -> Outputs {
    stack::made_up_outputs(spec, &env())
}

/// What observation would report if every resource of `graph` existed exactly as desired:
/// each field is the spec's own field resolved against made-up outputs.
fn in_sync(graph: &CheckedGraph) -> ObservedState {
    let env = env();
    let outputs: BTreeMap<ResourceId, Outputs> = graph
        .in_order()
        .map(|s| (s.id.clone(), made_up_outputs(s)))
        .collect();
    let table = OutputTable {
        env: &env,
        outputs: &outputs,
    };
    let resources = graph
        .in_order()
        .map(|spec| {
            let fields = spec
                .fields()
                .into_iter()
                .map(|(name, field)| (name.to_owned(), field.value.resolve(&table).unwrap()))
                .collect();
            let observed = Observed {
                physical_id: spec.physical_name.clone(),
                outputs: outputs[&spec.id].clone(),
                fields,
            };
            (spec.id.clone(), observed)
        })
        .collect();
    ObservedState {
        resources,
        orphans: Vec::new(),
    }
}

fn orphan(kind: ResourceKind, logical: &str) -> Discovered {
    let name = format!("tx-dev-{logical}");
    Discovered {
        id: ResourceId::new(kind, logical),
        observed: Observed {
            physical_id: name.clone(),
            outputs: Outputs::from([(OutputKey::Name, name)]),
            fields: BTreeMap::new(),
        },
    }
}

fn kind_label(kind: WarningKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap()
}

/// The plan as compact text: one line per change, indented lines for diffs and warnings.
fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let env = &plan.environment;
    let _ = writeln!(
        out,
        "stack {} in account {} region {} partition {}",
        plan.stack, env.account_id, env.region, env.partition
    );
    for change in &plan.changes {
        let _ = write!(
            out,
            "{} {} ({})",
            change.action.label(),
            change.id,
            change.physical_name
        );
        if let Action::Replace { reason } = &change.action {
            let _ = write!(out, " because {reason}");
        }
        out.push('\n');
        for diff in &change.diffs {
            match (&change.action, &diff.before) {
                (Action::Create, _) => {
                    let _ = write!(out, "    + {} = {}", diff.field, diff.after);
                }
                (_, Some(before)) => {
                    let _ = write!(out, "    ~ {}: {before} -> {}", diff.field, diff.after);
                }
                (_, None) => {
                    let _ = write!(out, "    ~ {}: (absent) -> {}", diff.field, diff.after);
                }
            }
            if let Some(reason) = diff.forces_replace {
                let _ = write!(out, " (forces replacement: {reason})");
            }
            out.push('\n');
        }
        for warning in &change.warnings {
            let _ = writeln!(
                out,
                "    ! {}: {}",
                kind_label(warning.kind),
                warning.message
            );
        }
    }
    for kept in &plan.kept {
        let _ = writeln!(
            out,
            "keep {} ({}): {}",
            kept.id, kept.physical_name, kept.reason
        );
    }
    for refusal in &plan.refusals {
        let _ = writeln!(out, "refuse: {refusal}");
    }
    let summary: Vec<String> = plan
        .summary()
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    let _ = write!(out, "summary: {}", summary.join(" "));
    out
}

fn mutating(plan: &Plan) -> Vec<&crate::plan::PlannedChange> {
    plan.changes.iter().filter(|c| c.action.mutates()).collect()
}

#[test]
fn fresh_stack_creates_everything_with_references_known_after_apply() {
    let graph = default_graph();
    let plan = plan_apply(&graph, &ObservedState::default());

    assert_eq!(plan.changes.len(), graph.len());
    assert!(plan.changes.iter().all(|c| c.action == Action::Create));
    // A queue's key ARN cannot be known before the key exists.
    let analytics = plan
        .get(&ResourceId::new(ResourceKind::Queue, "analytics"))
        .unwrap();
    let kms = analytics
        .diffs
        .iter()
        .find(|d| d.field == "kms_master_key_id")
        .unwrap();
    assert_eq!(
        kms.after.to_string(),
        "(known after apply: kms_key/sqs.arn)"
    );
    assert!(plan.refusals.is_empty() && plan.kept.is_empty());
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn stack_in_sync_plans_only_no_ops() {
    let graph = default_graph();
    let plan = plan_apply(&graph, &in_sync(&graph));

    assert!(
        !plan.has_changes(),
        "unexpected changes:\n{}",
        render(&plan)
    );
    assert_eq!(plan.summary().get("no-op"), Some(&graph.len()));
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn one_changed_setting_is_one_update_with_one_field_diff() {
    let deployed = default_graph();
    let observed = in_sync(&deployed);
    let mut config = Config::defaults().unwrap();
    config.logs.glacier_after_days = 30;
    let plan = plan_apply(&checked(&config), &observed);

    let changes = mutating(&plan);
    assert_eq!(changes.len(), 1, "{}", render(&plan));
    let change = changes[0];
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.id, ResourceId::new(ResourceKind::Bucket, "logs"));
    assert_eq!(change.diffs.len(), 1);
    let diff = &change.diffs[0];
    assert_eq!(diff.field, "lifecycle");
    assert_eq!(
        diff.before.as_ref().unwrap()["glacier_after_days"],
        Json::from(7)
    );
    assert!(diff.after.to_string().contains("\"glacier_after_days\":30"));
    insta::assert_snapshot!(render(&plan));
    insta::assert_json_snapshot!("one_changed_setting_json", plan);
}

#[test]
fn a_split_alias_is_one_routing_update_that_says_why() {
    let graph = default_graph();
    let mut observed = in_sync(&graph);
    let alias_id = stack::Handler::TransactionValidator.alias_id();
    let alias = observed.resources.get_mut(&alias_id).unwrap();
    // Routed by hand: the configured version 7 stays primary, 10% goes back to version 6.
    alias
        .fields
        .insert("routing".to_owned(), serde_json::json!({"6": 0.1}));
    let plan = plan_apply(&graph, &observed);

    let changes = mutating(&plan);
    assert_eq!(changes.len(), 1, "{}", render(&plan));
    let change = changes[0];
    assert_eq!((&change.id, &change.action), (&alias_id, &Action::Update));
    assert_eq!(
        change.diffs.len(),
        1,
        "the version stays: {:?}",
        change.diffs
    );
    let diff = &change.diffs[0];
    assert_eq!(diff.field, "routing");
    assert_eq!(diff.before, Some(serde_json::json!({"6": 0.1})));
    assert_eq!(diff.after, crate::plan::Desired::Known(Json::Null));
    assert_eq!(diff.forces_replace, None);
    assert_eq!(change.warnings.len(), 1);
    assert_eq!(change.warnings[0].kind, WarningKind::Traffic);
    let why = &change.warnings[0].message;
    assert!(why.contains("routes 10% to version 6"), "{why}");
    assert!(why.contains("a canary was interrupted"), "{why}");
    assert!(why.contains("routed traffic by hand"), "{why}");
    assert!(why.ends_with("sends all of it to version 7"), "{why}");
    let text = crate::report::plan_report::render_text(&plan, false);
    assert!(
        text.contains(r#"routing: {"6":0.1} -> null"#),
        "the diff line reads as the split going away:\n{text}"
    );
    assert!(text.contains("traffic: `"), "{text}");

    // A canary from 6 to 7 interrupted (6 primary, 10% to 7), now released fully: one
    // update with both diffs, still one warning, naming the version all traffic goes to.
    let alias = observed.resources.get_mut(&alias_id).unwrap();
    alias
        .fields
        .insert("function_version".to_owned(), Json::from("6"));
    alias
        .fields
        .insert("routing".to_owned(), serde_json::json!({"7": 0.1}));
    let plan = plan_apply(&graph, &observed);
    let change = plan.get(&alias_id).unwrap();
    let fields: Vec<&str> = change.diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["function_version", "routing"]);
    assert_eq!(change.warnings.len(), 1);
    let why = &change.warnings[0].message;
    assert!(why.contains("routes 10% to version 7"), "{why}");
    assert!(
        why.ends_with("sends all of it to version 7"),
        "the version it moves to, not the old primary 6: {why}"
    );
}

#[test]
fn orphans_are_deleted_unless_they_hold_data() {
    let graph = default_graph();
    let mut observed = in_sync(&graph);
    observed.orphans = vec![
        orphan(ResourceKind::Queue, "old-jobs"),
        orphan(ResourceKind::Topic, "legacy"),
    ];
    let plan = plan_apply(&graph, &observed);

    let changes = mutating(&plan);
    assert_eq!(changes.len(), 1, "{}", render(&plan));
    assert_eq!(
        changes[0].id,
        ResourceId::new(ResourceKind::Topic, "legacy")
    );
    assert_eq!(changes[0].action, Action::Delete);
    assert_eq!(plan.kept.len(), 1);
    assert_eq!(
        plan.kept[0].id,
        ResourceId::new(ResourceKind::Queue, "old-jobs")
    );
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn data_bearing_orphan_is_deleted_with_a_warning_only_with_delete_data() {
    let graph = default_graph();
    let mut observed = in_sync(&graph);
    observed.orphans = vec![orphan(ResourceKind::Queue, "old-jobs")];
    let options = PlanOptions {
        mode: PlanMode::Apply,
        delete_data: true,
    };
    let plan = plan("tx-dev", &env(), &graph, &observed, options);

    assert!(plan.kept.is_empty());
    let changes = mutating(&plan);
    assert_eq!(changes.len(), 1, "{}", render(&plan));
    assert_eq!(changes[0].action, Action::Delete);
    assert_eq!(changes[0].warnings.len(), 1);
    assert_eq!(changes[0].warnings[0].kind, WarningKind::DataRisk);
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn destroy_keeps_data_bearing_resources_without_delete_data() {
    let graph = default_graph();
    let plan = plan(
        "tx-dev",
        &env(),
        &graph,
        &in_sync(&graph),
        PlanOptions::destroy(false),
    );

    assert!(plan.changes.iter().all(|c| c.action == Action::Delete));
    for change in &plan.changes {
        assert!(
            !change.id.kind().is_data_bearing(),
            "{} would be deleted",
            change.id
        );
    }
    let kept: Vec<String> = plan.kept.iter().map(|k| k.id.to_string()).collect();
    for id in [
        "kms_key/sqs",
        "bucket/logs",
        "queue/analytics",
        "queue/analytics-dlq",
    ] {
        assert!(kept.contains(&id.to_owned()), "{id} not kept: {kept:?}");
    }
    assert_eq!(plan.changes.len() + plan.kept.len(), graph.len());
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn destroy_with_delete_data_deletes_everything_dependents_first() {
    let graph = default_graph();
    let plan = plan(
        "tx-dev",
        &env(),
        &graph,
        &in_sync(&graph),
        PlanOptions::destroy(true),
    );

    assert!(plan.kept.is_empty());
    assert_eq!(plan.changes.len(), graph.len());
    // Every resource is deleted after everything that depends on it.
    let position: BTreeMap<&ResourceId, usize> = plan
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.id, i))
        .collect();
    for change in &plan.changes {
        for dependency in graph.dependencies(&change.id) {
            assert!(
                position[&change.id] < position[dependency],
                "{} before {dependency}",
                change.id
            );
        }
    }
    let key = plan
        .get(&ResourceId::new(ResourceKind::KmsKey, "s3"))
        .unwrap();
    let kinds: Vec<WarningKind> = key.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds,
        vec![WarningKind::DataRisk, WarningKind::Irreversible]
    );
    insta::assert_snapshot!(render(&plan));
}

#[test]
fn destroy_of_a_stack_that_does_not_exist_is_empty() {
    let graph = default_graph();
    let plan = plan(
        "tx-dev",
        &env(),
        &graph,
        &ObservedState::default(),
        PlanOptions::destroy(true),
    );

    assert!(
        plan.changes.is_empty() && plan.kept.is_empty(),
        "{}",
        render(&plan)
    );
    assert!(!plan.has_changes());
}

#[test]
fn replacing_the_table_is_refused_without_delete_data() {
    let graph = default_graph();
    let mut observed = in_sync(&graph);
    let table = ResourceId::new(ResourceKind::Table, "transactions");
    // A table created with another key: the desired key schema cannot be reached in place.
    observed.resources.get_mut(&table).unwrap().fields.insert(
        "key_schema".to_owned(),
        serde_json::json!({"partition_key": {"name": "id", "type": "S"}, "sort_key": null}),
    );
    let plan = plan_apply(&graph, &observed);

    let change = plan.get(&table).unwrap();
    assert!(
        matches!(&change.action, Action::Replace { reason } if reason.contains("key schema")),
        "{}",
        render(&plan)
    );
    assert_eq!(change.warnings[0].kind, WarningKind::DataRisk);
    assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
    assert!(plan.refusals[0].contains("`table/transactions`"));
}

#[test]
fn a_changed_api_definition_is_a_new_deployment_the_stage_then_serves() {
    let deployed = default_graph();
    let observed = in_sync(&deployed);
    let mut config = Config::defaults().unwrap();
    config.api.api_key_required = true;
    let plan = plan_apply(&checked(&config), &observed);

    let changes: Vec<(String, &str)> = mutating(&plan)
        .iter()
        .map(|c| (c.id.to_string(), c.action.label()))
        .collect();
    assert_eq!(
        changes,
        [
            ("rest_api/api".to_owned(), "update"),
            ("api_deployment/api".to_owned(), "replace"),
            ("api_stage/api".to_owned(), "update"),
        ],
        "{}",
        render(&plan)
    );
    let deployment = plan
        .get(&ResourceId::new(ResourceKind::ApiDeployment, "api"))
        .unwrap();
    assert_eq!(
        deployment.action,
        Action::Replace {
            reason: "the API definition changed".to_owned()
        }
    );
    // The stage moves to the deployment that does not exist yet.
    let stage = plan
        .get(&ResourceId::new(ResourceKind::ApiStage, "api"))
        .unwrap();
    assert_eq!(stage.diffs.len(), 1);
    assert_eq!(stage.diffs[0].field, "deployment_id");
    assert!(plan.refusals.is_empty());
}

#[test]
fn stack_graph_renders_as_stable_dot() {
    insta::assert_snapshot!(default_graph().to_dot());
}

fn key(logical: &str) -> ResourceSpec {
    ResourceSpec {
        id: ResourceId::new(ResourceKind::KmsKey, logical),
        physical_name: format!("tx-dev-{logical}"),
        tags: BTreeMap::new(),
        body: SpecBody::KmsKey(KmsKeySpec {
            description: format!("{logical} key"),
            rotation_period_days: 365,
            policy: Value::Null,
        }),
        depends_on: Vec::new(),
    }
}

fn queue(logical: &str, key: &ResourceId, dlq: Option<&ResourceId>) -> ResourceSpec {
    ResourceSpec {
        id: ResourceId::new(ResourceKind::Queue, logical),
        physical_name: format!("tx-dev-{logical}"),
        tags: BTreeMap::new(),
        body: SpecBody::Queue(QueueSpec {
            kms_key: OutputRef::arn(key),
            visibility_timeout_seconds: 30,
            message_retention_seconds: 345_600,
            redrive: dlq.map(|d| RedriveSpec {
                dead_letter_queue: OutputRef::arn(d),
                max_receive_count: 3,
            }),
        }),
        depends_on: Vec::new(),
    }
}

fn messages(errors: &[GraphError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn dangling_reference_is_reported_with_both_ends() {
    let mut graph = ResourceGraph::new();
    graph.add(queue(
        "jobs",
        &ResourceId::new(ResourceKind::KmsKey, "missing"),
        None,
    ));
    let errors = graph.check().unwrap_err();

    assert_eq!(
        messages(&errors),
        vec![
            "`queue/jobs` references `kms_key/missing`, which is not in the stack; add it or \
             remove the reference"
        ]
    );
}

#[test]
fn cycle_is_reported_with_its_members_in_order() {
    let mut graph = ResourceGraph::new();
    let key = graph.add(key("sqs"));
    let a = ResourceId::new(ResourceKind::Queue, "a");
    let b = ResourceId::new(ResourceKind::Queue, "b");
    graph.add(queue("a", &key, Some(&b)));
    graph.add(queue("b", &key, Some(&a)));
    let errors = graph.check().unwrap_err();

    assert_eq!(
        messages(&errors),
        vec![
            "dependency cycle: `queue/a` -> `queue/b` -> `queue/a`; break it by removing one of \
             these references"
        ]
    );
}

#[test]
fn duplicate_id_is_reported() {
    let mut graph = ResourceGraph::new();
    graph.add(key("sqs"));
    graph.add(key("sqs"));
    let errors = graph.check().unwrap_err();

    assert_eq!(
        messages(&errors),
        vec!["`kms_key/sqs` is declared twice; every logical id must be unique in the stack"]
    );
}

#[test]
fn every_graph_problem_is_reported_at_once() {
    let mut graph = ResourceGraph::new();
    graph.add(key("sqs"));
    graph.add(key("sqs"));
    graph.add(queue(
        "jobs",
        &ResourceId::new(ResourceKind::KmsKey, "missing"),
        None,
    ));
    let errors = graph.check().unwrap_err();

    assert_eq!(errors.len(), 2, "{:?}", messages(&errors));
    assert!(matches!(errors[0], GraphError::Duplicate(_)));
    assert!(matches!(errors[1], GraphError::Dangling { .. }));
}
