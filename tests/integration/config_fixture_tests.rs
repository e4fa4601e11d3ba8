//! Every invalid config fixture through the real binary: exit code 2, the key, value, rule
//! and fix on stderr, and not one connection to the (sentinel) AWS endpoint.
//!
//! A fixture states its expectations in its leading comments:
//! `# expect: TEXT` (a line of stderr must contain TEXT; `{FILE}` is the fixture's path),
//! `# env: NAME=VALUE`, `# unset: NAME`, `# args: FLAGS...` and `# snapshot` (also compare the
//! whole stderr with an insta snapshot).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use crate::harness::{Txdeploy, fixtures_dir};

struct Expectations {
    expect: Vec<String>,
    env: Vec<(String, String)>,
    unset: Vec<String>,
    args: Vec<String>,
    snapshot: bool,
}

fn read_expectations(path: &PathBuf) -> Expectations {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.display().to_string();
    let mut e = Expectations {
        expect: vec![],
        env: vec![],
        unset: vec![],
        args: vec![],
        snapshot: false,
    };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let line = line.trim_start_matches('#').trim();
        if let Some(s) = line.strip_prefix("expect:") {
            e.expect.push(s.trim().replace("{FILE}", &file));
        } else if let Some(s) = line.strip_prefix("env:") {
            let (k, v) = s.trim().split_once('=').unwrap();
            e.env.push((k.to_owned(), v.to_owned()));
        } else if let Some(s) = line.strip_prefix("unset:") {
            e.unset.push(s.trim().to_owned());
        } else if let Some(s) = line.strip_prefix("args:") {
            e.args.extend(s.split_whitespace().map(str::to_owned));
        } else if line == "snapshot" {
            e.snapshot = true;
        }
    }
    e
}

#[track_caller]
fn check_invalid(name: &str) {
    let path = fixtures_dir().join("invalid").join(format!("{name}.toml"));
    let e = read_expectations(&path);
    // Each fixture must name a key or position (`×`) and the fix.
    assert!(
        e.expect.iter().any(|x| x.contains('×')),
        "{name}: no `# expect: ×` line"
    );
    assert!(
        e.snapshot || e.expect.iter().any(|x| x.starts_with("fix:")),
        "{name}: no `# expect: fix:` line"
    );
    let mut cmd = Txdeploy::new()
        .arg("--non-interactive")
        .arg("plan")
        .arg("--config")
        .arg(&path);
    cmd = cmd.args(&e.args);
    for (k, v) in &e.env {
        cmd = cmd.env(k, v);
    }
    for k in &e.unset {
        cmd = cmd.unset(k);
    }
    let run = cmd.run();
    run.code(2)
        .no_aws_calls()
        .stderr_has("error: invalid config: ");
    for expected in &e.expect {
        run.stderr_has(expected);
    }
    assert!(
        run.stdout.is_empty(),
        "{name}: stdout should be empty, got {:?}",
        run.stdout
    );
    if e.snapshot {
        let stderr = run
            .stderr
            .replace(&fixtures_dir().display().to_string(), "[FIXTURES]");
        insta::assert_snapshot!(name, stderr);
    }
}

macro_rules! invalid_fixtures {
    ($($name:ident),* $(,)?) => {
        const INVALID_FIXTURES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check_invalid(stringify!($name));
            }
        )*
    };
}

invalid_fixtures! {
    unknown_key,
    unknown_key_other_section,
    unknown_section,
    section_not_table,
    wrong_type,
    quoted_number,
    prefix_characters,
    env_dash,
    name_too_long,
    reserved_tags,
    tag_value_too_long,
    tag_not_string,
    kms_rotation,
    log_retention,
    archive_prefix,
    archive_prefix_empty,
    glacier_zero,
    expire_before_glacier,
    max_receive_count,
    visibility_timeout,
    message_retention,
    dlq_shorter_than_queue,
    bad_email,
    parallelism,
    on_failure,
    canary,
    bad_region,
    bad_endpoint_in_file,
    bad_endpoint_env,
    bad_env_var,
    env_single_underscore,
    bad_flag_value,
    bad_toml_syntax,
    duplicate_key,
    several_errors,
    lambda_memory,
    lambda_timeout,
    validator_timeout_over_api_limit,
    reserved_concurrency,
    provisioned_over_reserved,
    visibility_below_consumer_timeout,
    billing_mode,
    ttl_attribute_key,
    pitr_recovery_days,
    capacity_bounds,
    initial_capacity,
    target_utilization,
    stage_name,
    cache_size,
    cache_ttl,
    throttle_rate,
    api_key_required_type,
    quota_period,
    error_rate_percent,
    concurrency_fraction,
    p99_latency,
}

#[test]
fn every_invalid_fixture_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir().join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = INVALID_FIXTURES.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_valid_fixture_validates() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures_dir().join("valid")).unwrap() {
        let path = entry.unwrap().path();
        let run = Txdeploy::new()
            .arg("validate")
            .arg("--config")
            .arg(&path)
            .run();
        run.code(0).no_aws_calls().stdout_has("config ok: ");
        assert!(run.stderr.is_empty(), "{}: {}", path.display(), run.stderr);
        count += 1;
    }
    assert!(
        count >= 3,
        "expected at least 3 valid fixtures, found {count}"
    );
}

#[test]
fn the_example_stack_validates() {
    let example = fixtures_dir().join("../../assets/example_stack.toml");
    Txdeploy::new()
        .arg("validate")
        .arg("--config")
        .arg(example)
        .run()
        .code(0)
        .stdout_has("(stack `payments-staging`)");
}
