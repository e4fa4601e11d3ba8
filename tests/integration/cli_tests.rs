//! The command line through the real binary: help, layering precedence, config discovery,
//! `--json`, and usage errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::{Sentinel, Txdeploy};

#[test]
fn the_sentinel_counts_connections() {
    // Guards the zero-AWS-calls assertions: they mean nothing if a connection went unseen.
    let sentinel = Sentinel::start();
    let addr = sentinel.url().trim_start_matches("http://");
    drop(std::net::TcpStream::connect(addr).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(sentinel.connections(), 1);
    assert_eq!(sentinel.connections(), 0);
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let run = Txdeploy::new().arg("--help").run();
    run.code(0);
    for command in ["plan", "apply", "destroy", "status", "validate"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "--help does not list `{command}`:\n{}",
            run.stdout
        );
    }
    run.stdout_has("--non-interactive")
        .stdout_has("--endpoint-url <URL>")
        .stdout_has("[env: AWS_ENDPOINT_URL")
        .stdout_has("TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT")
        .stdout_has("4 plan has changes");
}

#[test]
fn command_help_documents_each_flag() {
    Txdeploy::new()
        .args(["apply", "--help"])
        .run()
        .code(0)
        .stdout_has("--yes")
        .stdout_has("--on-failure <MODE>")
        .stdout_has("rollback")
        .stdout_has("stop");
    Txdeploy::new()
        .args(["destroy", "--help"])
        .run()
        .code(0)
        .stdout_has("--delete-data");
    Txdeploy::new()
        .args(["plan", "--help"])
        .run()
        .code(0)
        .stdout_has("--detailed-exitcode");
}

#[test]
fn an_env_override_wins_over_the_file() {
    Txdeploy::new()
        .args(["validate", "--config"])
        .arg(crate::harness::fixtures_dir().join("valid/full.toml"))
        .env("TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT", "7")
        .run()
        .code(0)
        .stdout_has("queues.max_receive_count = 7")
        .stdout_has("from env `TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT`")
        // Keys the environment does not touch still come from the file.
        .stdout_has("queues.visibility_timeout_seconds = 900")
        .stdout_has("full.toml:");
}

#[test]
fn a_flag_wins_over_the_env() {
    let run = Txdeploy::new()
        .args(["--json", "validate", "--parallelism", "3", "--config"])
        .arg(crate::harness::fixtures_dir().join("valid/full.toml"))
        .env("TXDEPLOY_DEPLOY__PARALLELISM", "20")
        .run();
    run.code(0).no_aws_calls();
    let doc = run.stdout_json();
    assert_eq!(doc["config"]["deploy"]["parallelism"], 3);
    let source = doc["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == "deploy.parallelism")
        .unwrap()["source"]
        .clone();
    assert_eq!(
        source,
        serde_json::json!({"kind": "flag", "flag": "--parallelism"})
    );
}

#[test]
fn a_range_is_checked_on_the_value_that_wins() {
    // The flag wins, so the config is valid; the environment's value never counts.
    Txdeploy::new()
        .args(["validate", "--parallelism", "4"])
        .env("TXDEPLOY_DEPLOY__PARALLELISM", "0")
        .run()
        .code(0)
        .stdout_has("deploy.parallelism = 4");
}

#[test]
fn txdeploy_toml_in_the_working_directory_is_read() {
    Txdeploy::new()
        .file("txdeploy.toml", "[queues]\nmax_receive_count = 0\n")
        .args(["--non-interactive", "plan"])
        .run()
        .code(2)
        .no_aws_calls()
        .stderr_has("invalid config: 1 problem in txdeploy.toml")
        .stderr_has("× `queues.max_receive_count` = 0 at txdeploy.toml:2:21");
}

#[test]
fn without_any_file_the_defaults_are_valid() {
    Txdeploy::new()
        .arg("validate")
        .run()
        .code(0)
        .stdout_has("config ok: built-in defaults only (no txdeploy.toml) (stack `tx-dev`)");
}

#[test]
fn no_command_checks_the_config_like_plan() {
    let fixture = crate::harness::fixtures_dir().join("invalid/max_receive_count.toml");
    let bare = Txdeploy::new()
        .arg("--non-interactive")
        .arg("--config")
        .arg(&fixture)
        .run();
    let plan = Txdeploy::new()
        .args(["--non-interactive", "plan", "--config"])
        .arg(&fixture)
        .run();
    bare.code(2).no_aws_calls();
    assert_eq!(bare.stderr, plan.stderr);
}

#[test]
fn config_errors_are_json_on_stdout_with_json() {
    let run = Txdeploy::new()
        .args(["--json", "plan"])
        .fixture("invalid/message_retention.toml")
        .run();
    run.code(2)
        .no_aws_calls()
        .stderr_has("invalid config: 2 problems");
    let doc = run.stdout_json();
    assert_eq!(doc["event"], "error");
    assert_eq!(doc["exit_code"], 2);
    let errors = doc["config_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["key"], "queues.message_retention_seconds");
    assert_eq!(errors[0]["value"], "30");
    assert_eq!(errors[0]["source"]["kind"], "file");
    assert_eq!(errors[0]["source"]["line"], 7);
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    Txdeploy::new()
        .args(["plan", "--config", "nope.toml"])
        .run()
        .code(2)
        .no_aws_calls()
        .stderr_has("× cannot read the config file at nope.toml")
        .stderr_has("rule: the file does not exist");
}

#[test]
fn malformed_flags_are_usage_errors_before_anything_runs() {
    Txdeploy::new()
        .args(["plan", "--parallelism", "many"])
        .run()
        .code(2)
        .no_aws_calls()
        .stderr_has("invalid value 'many' for '--parallelism <N>'");
    Txdeploy::new()
        .args(["apply", "--on-failure", "retry"])
        .run()
        .code(2)
        .stderr_has("[possible values: rollback, stop]");
}
