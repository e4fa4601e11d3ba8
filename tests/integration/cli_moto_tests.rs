//! The real binary against moto: plan's detailed exit code, apply's NDJSON events, a no-op
//! re-run, status, and destroy saying what it kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::{Txdeploy, moto_or_skip, unique_stack};

fn txdeploy(endpoint: &str, prefix: &str, state: &std::path::Path) -> Txdeploy {
    Txdeploy::new()
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("TXDEPLOY_STACK__PREFIX", prefix)
        .arg("--non-interactive")
        .arg("--state-dir")
        .arg(state)
}

#[test]
fn plan_apply_status_destroy_through_the_binary() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let state = tempfile::tempdir().unwrap();

    // A fresh stack has changes: exit code 4 with --detailed-exitcode.
    let plan = txdeploy(&endpoint, &prefix, state.path())
        .args(["--json", "plan", "--detailed-exitcode"])
        .run();
    plan.code(4);
    let doc = plan.stdout_json();
    let summary = &doc["summary"];
    // The API Gateway account setting is the region's and exists already: an update.
    let resources = summary["create"].as_u64().unwrap() + summary["update"].as_u64().unwrap();
    assert!(resources > 60, "the whole stack is created: {doc}");

    // apply --json: one JSON event per line, every node created, journal written.
    let apply = txdeploy(&endpoint, &prefix, state.path())
        .args(["--json", "apply"])
        .run();
    apply.code(0);
    let events: Vec<serde_json::Value> = apply
        .stdout
        .lines()
        .filter(|l| l.contains("\"event\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |name: &str| events.iter().filter(|e| e["event"] == name).count();
    assert_eq!(count("apply_started"), 1);
    assert_eq!(count("node_succeeded") as u64, resources);
    assert_eq!(count("node_failed"), 0);
    let finished = events
        .iter()
        .find(|e| e["event"] == "apply_finished")
        .unwrap();
    assert_eq!(finished["outcome"], "succeeded");
    let stack_dir = state.path().join(format!("{prefix}-dev"));
    assert!(stack_dir.join("state.json").is_file());
    assert_eq!(
        std::fs::read_dir(stack_dir.join("journal"))
            .unwrap()
            .count(),
        1
    );
    assert!(
        !stack_dir.join("lock").exists(),
        "the lock is released after apply"
    );

    // Nothing left to do: exit code 0, and status says in sync.
    // Nothing left to do but what moto cannot read back (`stack_tests::moto_gap_ids`).
    let again = txdeploy(&endpoint, &prefix, state.path())
        .args(["--json", "plan"])
        .run();
    again.code(0);
    let doc = again.stdout_json();
    // The region's API Gateway account setting is shared with the other tests' stacks on
    // this moto, so it is left out.
    let mut changed: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op" && c["id"] != "api_account/account")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    changed.sort_unstable();
    assert_eq!(
        changed,
        [
            "event_source_mapping/analytics-processor",
            "event_source_mapping/reporting-processor",
            "rest_api/api",
        ],
        "{doc}"
    );
    txdeploy(&endpoint, &prefix, state.path())
        .arg("status")
        .run()
        .code(0)
        .stdout_has("last apply: succeeded");

    // destroy keeps the data-bearing resources and says so.
    txdeploy(&endpoint, &prefix, state.path())
        .args(["destroy", "--yes"])
        .run()
        .code(0)
        .stdout_has("kept")
        .stdout_has("bucket/logs");
}
