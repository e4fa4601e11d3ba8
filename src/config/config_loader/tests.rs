//! Tests of layering, provenance and structural errors (unknown keys, types, syntax).

use std::io::Write as _;

use super::*;

/// A config file in a temporary directory; the directory lives as long as the value.
struct TempConfig {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(text: &str) -> TempConfig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txdeploy.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    TempConfig { _dir: dir, path }
}

fn opts(file: &TempConfig) -> LoadOptions {
    LoadOptions {
        config_path: Some(file.path.clone()),
        ..LoadOptions::default()
    }
}

fn with_env(file: &TempConfig, env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..opts(file)
    }
}

#[test]
fn a_file_overrides_defaults_and_records_line_and_column() {
    let f = file("[stack]\nprefix = \"shop\"\n\n[queues]\nmax_receive_count = 5\n");
    let loaded = load(&opts(&f)).unwrap();
    assert_eq!(loaded.config.stack.prefix, "shop");
    assert_eq!(loaded.config.queues.max_receive_count, 5);
    assert_eq!(
        loaded.config.stack.env, "dev",
        "unset keys keep their default"
    );
    assert_eq!(
        loaded.source("queues.max_receive_count"),
        &Source::File {
            path: f.path.clone(),
            line: 5,
            column: 21
        }
    );
    assert_eq!(loaded.source("stack.env"), &Source::Default);
}

#[test]
fn env_beats_file_and_flags_beat_env() {
    let f = file("[deploy]\nparallelism = 4\n[queues]\nmax_receive_count = 5\n");
    let mut o = with_env(
        &f,
        &[
            ("TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT", "7"),
            ("TXDEPLOY_DEPLOY__PARALLELISM", "6"),
        ],
    );
    o.flags.parallelism = Some(2);
    let loaded = load(&o).unwrap();
    assert_eq!(loaded.config.queues.max_receive_count, 7);
    assert_eq!(loaded.config.deploy.parallelism, 2);
    assert_eq!(
        loaded.source("queues.max_receive_count"),
        &Source::Env {
            var: "TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT".into()
        }
    );
    assert_eq!(
        loaded.source("deploy.parallelism"),
        &Source::Flag {
            flag: "--parallelism".into()
        }
    );
}

#[test]
fn env_values_are_toml_but_strings_stay_strings() {
    let f = file("");
    let o = with_env(
        &f,
        &[
            ("TXDEPLOY_STACK__ENV", "2024"),
            ("TXDEPLOY_ALARMS__EMAIL", "ops@example.com"),
            ("TXDEPLOY_STACK__TAGS__TEAM", "payments"),
            ("TXDEPLOY_STACK__TAGS", "{ owner = \"ana\" }"),
            ("TXDEPLOY_LOG", "debug"),
            ("TXDEPLOY_TEST_ENDPOINT", "http://127.0.0.1:1"),
        ],
    );
    let loaded = load(&o).unwrap();
    assert_eq!(loaded.config.stack.env, "2024");
    assert_eq!(loaded.config.alarms.email, "ops@example.com");
    assert_eq!(loaded.config.stack.tags["team"], "payments");
    assert_eq!(loaded.config.stack.tags["owner"], "ana");
    assert_eq!(
        loaded.source("stack.tags.team"),
        &Source::Env {
            var: "TXDEPLOY_STACK__TAGS__TEAM".into()
        }
    );
}

#[test]
fn tags_merge_entry_by_entry_across_layers() {
    let f = file("[stack]\ntags = { team = \"core\", cost = \"42\" }\n");
    let loaded = load(&with_env(&f, &[("TXDEPLOY_STACK__TAGS__TEAM", "payments")])).unwrap();
    assert_eq!(loaded.config.stack.tags["team"], "payments");
    assert_eq!(loaded.config.stack.tags["cost"], "42");
}

#[test]
fn unknown_keys_and_sections_suggest_the_nearest_known_one() {
    let f = file(
        "[queue]\nx = 1\n\n[queues]\nmax_recieve_count = 5\n\n[logs]\nmax_receive_count = 2\n",
    );
    let err = load(&opts(&f)).unwrap_err();
    let fixes: Vec<(&str, &str, ConfigErrorKind)> = err
        .errors
        .iter()
        .map(|e| (e.key.as_str(), e.fix.as_str(), e.kind))
        .collect();
    assert_eq!(
        fixes,
        [
            (
                "queue",
                "did you mean `[queues]`?",
                ConfigErrorKind::UnknownSection
            ),
            (
                "queues.max_recieve_count",
                "did you mean `queues.max_receive_count`?",
                ConfigErrorKind::UnknownKey
            ),
            (
                "logs.max_receive_count",
                "did you mean `queues.max_receive_count`? (it belongs in `[queues]`)",
                ConfigErrorKind::UnknownKey
            ),
        ]
    );
    // Unknown keys point at the key itself.
    let typo = err
        .errors
        .iter()
        .find(|e| e.key == "queues.max_recieve_count")
        .unwrap();
    assert_eq!(
        typo.source,
        Source::File {
            path: f.path.clone(),
            line: 5,
            column: 1
        }
    );
}

#[test]
fn an_unknown_env_key_suggests_the_variable_to_use() {
    let f = file("");
    let err = load(&with_env(
        &f,
        &[("TXDEPLOY_QUEUES__MAX_RECIEVE_COUNT", "5")],
    ))
    .unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(
        err.errors[0].fix,
        "did you mean `TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT`?"
    );
    assert_eq!(
        err.errors[0].source,
        Source::Env {
            var: "TXDEPLOY_QUEUES__MAX_RECIEVE_COUNT".into()
        }
    );
}

#[test]
fn a_single_underscore_after_a_section_is_caught() {
    let f = file("");
    let err = load(&with_env(&f, &[("TXDEPLOY_QUEUES_MAX_RECEIVE_COUNT", "5")])).unwrap_err();
    assert_eq!(
        err.errors[0].fix,
        "rename it to `TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT`"
    );
}

#[test]
fn type_errors_are_reported_and_the_rest_still_validated() {
    let f = file(
        "[queues]\nmax_receive_count = \"5\"\nvisibility_timeout_seconds = 50000\n[stack]\nprefix = 7\n",
    );
    let err = load(&opts(&f)).unwrap_err();
    let got: Vec<(&str, Option<&str>, &str)> = err
        .errors
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_deref(), e.fix.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "queues.max_receive_count",
                Some("\"5\""),
                "remove the quotes: max_receive_count = 5"
            ),
            (
                "queues.visibility_timeout_seconds",
                Some("50000"),
                "set it to 180 (the default) or any value in 0..=43200"
            ),
            (
                "stack.prefix",
                Some("7"),
                "put the value in quotes: prefix = \"7\""
            ),
        ]
    );
}

#[test]
fn negative_integers_get_the_range_rule() {
    let f = file("[queues]\nmax_receive_count = -1\n");
    let err = load(&opts(&f)).unwrap_err();
    assert_eq!(
        err.errors[0].rule,
        "must be between 1 and 1000 (SQS maxReceiveCount)"
    );
    assert_eq!(err.errors[0].kind, ConfigErrorKind::Invalid);
}

#[test]
fn a_syntax_error_names_the_position_and_env_errors_still_show() {
    let f = file("[stack]\nprefix = \"tx\n");
    let err = load(&with_env(&f, &[("TXDEPLOY_DEPLOY__PARALLELISM", "0")])).unwrap_err();
    assert_eq!(err.errors.len(), 2, "{err}");
    assert_eq!(err.errors[0].kind, ConfigErrorKind::Syntax);
    assert!(
        matches!(err.errors[0].source, Source::File { line: 2, .. }),
        "{err}"
    );
    assert_eq!(err.errors[1].key, "deploy.parallelism");
}

#[test]
fn an_explicit_missing_file_is_an_error() {
    let f = file("");
    let missing = f.path.with_file_name("nope.toml");
    let err = load(&LoadOptions {
        config_path: Some(missing.clone()),
        ..LoadOptions::default()
    })
    .unwrap_err();
    assert_eq!(err.errors[0].kind, ConfigErrorKind::Unreadable);
    assert_eq!(err.file, Some(missing));
    assert!(err.errors[0].fix.contains("--config"));
}

#[test]
fn the_endpoint_from_aws_endpoint_url_names_the_variable() {
    let f = file("");
    let mut o = opts(&f);
    o.flags.endpoint_url = Some("localhost:4566".into());
    o.flags.endpoint_url_from_env = true;
    let err = load(&o).unwrap_err();
    assert_eq!(err.errors[0].key, "aws.endpoint_url");
    assert_eq!(
        err.errors[0].source,
        Source::Env {
            var: "AWS_ENDPOINT_URL".into()
        }
    );
}

#[test]
fn keys_inside_inline_tables_and_quoted_keys_have_spans() {
    let f = file("[stack]\ntags = { \"aws:team\" = \"x\" }\n");
    let err = load(&opts(&f)).unwrap_err();
    assert_eq!(err.errors[0].key, "stack.tags.\"aws:team\"");
    assert_eq!(
        err.errors[0].source,
        Source::File {
            path: f.path.clone(),
            line: 2,
            column: 23
        }
    );
}

#[test]
fn dotted_quotes_only_what_toml_would() {
    assert_eq!(dotted(&["stack", "tags", "team"]), "stack.tags.team");
    assert_eq!(dotted(&["stack", "tags", "aws:x"]), "stack.tags.\"aws:x\"");
}

#[test]
fn booleans_numbers_and_optional_integers_are_typed() {
    let f = file(
        "[api]\napi_key_required = \"yes\"\ncache_size = 0.5\n[alarms]\nerror_rate_percent = \"2\"\n",
    );
    let errors = load(&opts(&f)).unwrap_err().errors;
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("api.api_key_required", "must be `true` or `false`"),
            ("api.cache_size", "must be a string"),
            (
                "alarms.error_rate_percent",
                "must be a number, not a string"
            ),
        ]
    );
    assert_eq!(
        errors[1].fix,
        "put the value in quotes: cache_size = \"0.5\""
    );
    assert_eq!(errors[2].fix, "remove the quotes: error_rate_percent = 2");

    // An integer is a number; an optional integer can be set, also from the environment.
    let f = file("[alarms]\nerror_rate_percent = 2\n[dynamodb]\nread_capacity = 40\n");
    let o = with_env(
        &f,
        &[
            ("TXDEPLOY_DYNAMODB__WRITE_CAPACITY", "30"),
            ("TXDEPLOY_API__API_KEY_REQUIRED", "true"),
            ("TXDEPLOY_ALARMS__CONCURRENCY_FRACTION", "0.9"),
        ],
    );
    let config = load(&o).unwrap().config;
    assert!((config.alarms.error_rate_percent - 2.0).abs() < f64::EPSILON);
    assert_eq!(config.dynamodb.read_capacity, Some(40));
    assert_eq!(config.dynamodb.write_capacity, Some(30));
    assert!(config.api.api_key_required);
    assert!((config.alarms.concurrency_fraction - 0.9).abs() < f64::EPSILON);
    assert_eq!(
        config.dynamodb.billing_mode,
        crate::config::TableBilling::OnDemand
    );
}
