//! Unit tests of the undo planner: journal entries to undo steps and their order.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::spec::{ResourceGraph, ResourceKind};

fn started(
    kind: ResourceKind,
    logical: &str,
    action: &str,
    before: Option<Observed>,
) -> JournalEntry {
    JournalEntry::StepStarted {
        id: ResourceId::new(kind, logical),
        action: action.to_owned(),
        before,
    }
}

#[test]
fn each_action_gets_its_undo_and_data_is_never_deleted() {
    let before = Observed {
        physical_id: "q".into(),
        ..Observed::default()
    };
    let entries = vec![
        started(ResourceKind::Topic, "t", "create", None),
        started(ResourceKind::Queue, "q", "create", None),
        started(ResourceKind::Queue, "u", "update", Some(before.clone())),
        started(ResourceKind::Topic, "r", "replace", None),
        started(ResourceKind::Topic, "d", "delete", None),
        started(ResourceKind::Topic, "n", "update", None),
    ];
    let plan = plan_undo(&entries);
    let steps: Vec<(String, &str)> = plan
        .steps
        .iter()
        .map(|s| (s.id.to_string(), s.action.label()))
        .collect();
    assert_eq!(
        steps,
        [
            ("topic/t".to_owned(), "delete"),
            ("queue/q".to_owned(), "keep"),
            ("queue/u".to_owned(), "restore"),
        ]
    );
    assert_eq!(plan.steps[2].action, UndoAction::Restore(before));
    let kept: Vec<String> = plan.kept.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(kept, ["topic/r", "topic/d"]);
    assert!(plan.kept[0].reason.contains("cannot be restored"));
    assert_eq!(plan.impossible.len(), 1);
    assert_eq!(plan.impossible[0].id.to_string(), "topic/n");
}

#[test]
fn dependents_are_undone_first_even_through_unchanged_resources() {
    use crate::spec::{KmsKeySpec, SpecBody, TopicSpec, Value};
    let key = |logical: &str| ResourceSpec {
        id: ResourceId::new(ResourceKind::KmsKey, logical),
        physical_name: logical.to_owned(),
        tags: BTreeMap::new(),
        body: SpecBody::KmsKey(KmsKeySpec {
            description: String::new(),
            rotation_period_days: 365,
            policy: Value::Null,
        }),
        depends_on: Vec::new(),
    };
    let topic = |logical: &str, after: &str| ResourceSpec {
        id: ResourceId::new(ResourceKind::Topic, logical),
        physical_name: logical.to_owned(),
        tags: BTreeMap::new(),
        body: SpecBody::Topic(TopicSpec {
            kms_key: crate::spec::OutputRef::arn(&ResourceId::new(ResourceKind::KmsKey, "k")),
            email_subscription: None,
        }),
        depends_on: vec![ResourceId::new(ResourceKind::Topic, after)],
    };
    let mut graph = ResourceGraph::new();
    let mut first = topic("a", "a");
    first.depends_on.clear();
    graph.add(key("k"));
    graph.add(first);
    graph.add(topic("b", "a"));
    graph.add(topic("c", "b"));
    let graph = graph.check().unwrap();
    // `b` did not change; `c` (which waits for `b`) still goes before `a` and `k`.
    let steps: Vec<UndoStep> = [
        ResourceId::new(ResourceKind::KmsKey, "k"),
        ResourceId::new(ResourceKind::Topic, "a"),
        ResourceId::new(ResourceKind::Topic, "c"),
    ]
    .into_iter()
    .map(|id| UndoStep {
        id,
        action: UndoAction::Delete,
    })
    .collect();
    let waits = undo_dependencies(&steps, &graph);
    assert_eq!(waits, vec![vec![1, 2], vec![2], vec![]]);
}
