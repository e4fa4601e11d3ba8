//! `load`: merges the configuration layers and remembers where every value came from.
//!
//! Layers, lowest first, merged at the TOML table level (a later layer replaces single keys;
//! `stack.tags` merges tag by tag):
//!
//! 1. the embedded defaults, `assets/default_config.toml`;
//! 2. the file: `--config PATH`, else `./txdeploy.toml` when it exists;
//! 3. environment variables `TXDEPLOY_<SECTION>__<KEY>`: the prefix is removed, the rest is
//!    split on `__` and lowercased, so `TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT=5` sets
//!    `queues.max_receive_count` and `TXDEPLOY_STACK__TAGS__TEAM=payments` sets the tag
//!    `team`. The value is read as a TOML value (`5`, `true`, `{ team = "x" }`), falling back
//!    to the raw text when it is not valid TOML or when the key expects a string. Variables
//!    without `__` (such as `TXDEPLOY_LOG`) are not configuration;
//! 4. flags: `--region`, `--profile`, `--endpoint-url` (or `AWS_ENDPOINT_URL`),
//!    `--parallelism` and `apply --on-failure`.
//!
//! Each layer is checked against `config_schema` as it is merged (unknown keys, wrong types);
//! the merged result is then validated (`config_validation`). Every problem is collected,
//! and `load` fails with all of them at once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::config_error::{ConfigError, ConfigErrorKind, ConfigErrors, Source};
use super::config_schema::{self, Kind};
use super::config_validation;
use super::{Config, DEFAULT_CONFIG, OnFailure};

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "txdeploy.toml";
/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "TXDEPLOY_";

/// What `load` reads besides the embedded defaults.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--config`: a file that must exist. `None` reads `./txdeploy.toml` if it exists.
    pub config_path: Option<PathBuf>,
    /// `TXDEPLOY_*` variables as `(name, value)`; a snapshot so tests can pass their own.
    pub env: Vec<(String, String)>,
    /// Values given on the command line.
    pub flags: FlagOverrides,
}

impl LoadOptions {
    /// Options that read this process's `TXDEPLOY_*` variables (non-UTF-8 ones are skipped:
    /// no key or value in the schema can contain them).
    pub fn from_process_env(config_path: Option<PathBuf>, flags: FlagOverrides) -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        Self {
            config_path,
            env,
            flags,
        }
    }
}

/// Command-line values that override every other layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagOverrides {
    /// `--region` -> `aws.region`.
    pub region: Option<String>,
    /// `--profile` -> `aws.profile`.
    pub profile: Option<String>,
    /// `--endpoint-url` -> `aws.endpoint_url`.
    pub endpoint_url: Option<String>,
    /// Whether `endpoint_url` came from `AWS_ENDPOINT_URL` rather than the flag (errors
    /// then name the variable).
    pub endpoint_url_from_env: bool,
    /// `--parallelism` -> `deploy.parallelism`.
    pub parallelism: Option<usize>,
    /// `apply --on-failure` -> `deploy.on_failure`.
    pub on_failure: Option<OnFailure>,
    /// `apply --canary` -> `deploy.canary`.
    pub canary: Option<String>,
}

/// A valid configuration and where each of its values came from.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedConfig {
    pub config: Config,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// The source of every key (dotted, tags as `stack.tags.<key>`); keys absent here are unset.
    pub sources: BTreeMap<String, Source>,
}

impl LoadedConfig {
    /// Where `key` (dotted) got its value; `Source::Default` for keys never set.
    pub fn source(&self, key: &str) -> &Source {
        self.sources.get(key).unwrap_or(&Source::Default)
    }

    /// Every value not taken from the defaults, as `(key, value as TOML, source)`, in
    /// schema order (tags one by one): what `txdeploy validate` prints.
    pub fn overridden_values(&self) -> Vec<(String, String, Source)> {
        let Ok(table) = toml::Table::try_from(&self.config) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for spec in config_schema::KEYS {
            let Some(value) = table.get(spec.section).and_then(|s| s.get(spec.key)) else {
                continue;
            };
            let entries = value.as_table().filter(|_| spec.kind == Kind::StrMap);
            let leaves: Vec<(String, &toml::Value)> = match entries {
                Some(map) => map
                    .iter()
                    .map(|(name, v)| (dotted(&[spec.section, spec.key, name.as_str()]), v))
                    .collect(),
                None => vec![(spec.dotted(), value)],
            };
            for (key, v) in leaves {
                let source = self.source(&key);
                if *source != Source::Default {
                    out.push((key.clone(), v.to_string(), source.clone()));
                }
            }
        }
        out
    }
}

/// Loads, merges and validates the configuration; fails with every problem found.
pub fn load(opts: &LoadOptions) -> Result<LoadedConfig, ConfigErrors> {
    let mut merger = Merger::default();
    match toml::from_str::<toml::Table>(DEFAULT_CONFIG) {
        Ok(defaults) => merger.merge_table(&Origin::Defaults, &defaults),
        Err(e) => merger
            .errors
            .push(internal("the embedded defaults do not parse", &e)),
    }

    let file = match &opts.config_path {
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
    };
    if let Some(path) = &file {
        merger.merge_file(path, opts.config_path.is_some());
    }

    let mut env: Vec<&(String, String)> = opts.env.iter().collect();
    env.sort();
    for (var, raw) in env {
        merger.merge_env(var, raw);
    }
    merger.merge_flags(&opts.flags);

    let Merger {
        mut table,
        sources,
        mut errors,
    } = merger;
    // A section whose keys are all optional (`[aws]`) may be absent from every layer.
    for section in config_schema::sections() {
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    let sources: BTreeMap<String, Source> = sources
        .into_iter()
        .map(|(path, s)| (dotted(&path), s))
        .collect();
    let config = match table.try_into::<Config>() {
        Ok(config) => Some(config),
        Err(e) => {
            errors.push(internal(
                "the merged configuration does not deserialize",
                &e,
            ));
            None
        }
    };
    if let Some(config) = &config {
        errors.extend(config_validation::validate(config, &sources));
    }
    // Read top to bottom: file problems in file order, then environment, flags, defaults.
    errors.sort_by_key(|e| match &e.source {
        Source::File { line, column, .. } => (0, *line, *column),
        Source::Env { .. } => (1, 0, 0),
        Source::Flag { .. } => (2, 0, 0),
        Source::Default => (3, 0, 0),
    });
    match config {
        Some(config) if errors.is_empty() => Ok(LoadedConfig {
            config,
            file,
            sources,
        }),
        _ => Err(ConfigErrors { file, errors }),
    }
}

/// An error that means txdeploy itself is broken, not the user's config.
fn internal(what: &str, e: &toml::de::Error) -> ConfigError {
    ConfigError {
        kind: ConfigErrorKind::Invalid,
        key: String::new(),
        value: None,
        rule: format!("{what}: {}", one_line(e.message())),
        fix: "this is a txdeploy bug; please report it with your txdeploy.toml".to_owned(),
        source: Source::Default,
    }
}

fn one_line(s: &str) -> String {
    s.trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders a key path as TOML would: `stack.tags."aws:team"`.
pub fn dotted<S: AsRef<str>>(path: &[S]) -> String {
    path.iter()
        .map(|segment| {
            let s = segment.as_ref();
            let bare = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bare { s.to_owned() } else { format!("{s:?}") }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Byte spans of each key and value in a file, by key path.
type SpanIndex = BTreeMap<Vec<String>, (Range<usize>, Range<usize>)>;

fn index_spans(table: &DeTable<'_>, prefix: &mut Vec<String>, out: &mut SpanIndex) {
    for (key, value) in table.iter() {
        prefix.push(key.get_ref().to_string());
        out.insert(prefix.clone(), (key.span(), value.span()));
        if let DeValue::Table(inner) = value.get_ref() {
            index_spans(inner, prefix, out);
        }
        prefix.pop();
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The layer a value comes from, which decides its `Source` and how fixes are phrased.
enum Origin<'a> {
    Defaults,
    File {
        path: &'a Path,
        text: &'a str,
        spans: &'a SpanIndex,
    },
    Env {
        var: &'a str,
    },
    Flag {
        flag: &'a str,
    },
}

impl Origin<'_> {
    /// The source of the value (or of the key, when the key is the problem) at `path`.
    fn source(&self, path: &[String], at_key: bool) -> Source {
        match self {
            Origin::Defaults => Source::Default,
            Origin::File {
                path: file,
                text,
                spans,
            } => {
                // Fall back to the parent's span (a key inside an inline table).
                let mut lookup = path.to_vec();
                let offset = loop {
                    if let Some((key, value)) = spans.get(&lookup) {
                        break if at_key { key.start } else { value.start };
                    }
                    if lookup.pop().is_none() {
                        break 0;
                    }
                };
                let (line, column) = line_col(text, offset);
                Source::File {
                    path: file.to_path_buf(),
                    line,
                    column,
                }
            }
            Origin::Env { var } => Source::Env {
                var: (*var).to_owned(),
            },
            Origin::Flag { flag } => {
                if let Some(var) = flag.strip_prefix("env:") {
                    Source::Env {
                        var: var.to_owned(),
                    }
                } else {
                    Source::Flag {
                        flag: (*flag).to_owned(),
                    }
                }
            }
        }
    }

    /// How the user should spell a suggested key in this layer.
    fn spell(&self, section: &str, key: &str) -> String {
        match self {
            Origin::Env { .. } => format!("{ENV_PREFIX}{section}__{key}").to_ascii_uppercase(),
            _ => format!("{section}.{key}"),
        }
    }
}

#[derive(Default)]
struct Merger {
    table: toml::Table,
    sources: BTreeMap<Vec<String>, Source>,
    errors: Vec<ConfigError>,
}

impl Merger {
    fn merge_file(&mut self, path: &Path, explicit: bool) {
        let unreadable = |rule: String, fix: &str| ConfigError {
            kind: ConfigErrorKind::Unreadable,
            key: String::new(),
            value: None,
            rule,
            fix: fix.to_owned(),
            source: Source::File {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
            },
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let fix = if explicit {
                    "check the path given to `--config`, or leave `--config` out to read \
                     `./txdeploy.toml` (or only the defaults when there is none)"
                } else {
                    "check that the file exists"
                };
                self.errors
                    .push(unreadable("the file does not exist".to_owned(), fix));
                return;
            }
            Err(e) => {
                self.errors.push(unreadable(
                    format!("{e}"),
                    "make the file readable UTF-8 text, or point `--config` at another file",
                ));
                return;
            }
        };
        let syntax = |e: &toml::de::Error| {
            let (line, column) = line_col(&text, e.span().map_or(0, |s| s.start));
            ConfigError {
                kind: ConfigErrorKind::Syntax,
                key: String::new(),
                value: None,
                rule: one_line(e.message()),
                fix: "fix the TOML syntax at that position (strings need quotes, sections are \
                      `[name]`, each key once); see `assets/example_stack.toml`"
                    .to_owned(),
                source: Source::File {
                    path: path.to_path_buf(),
                    line,
                    column,
                },
            }
        };
        let spans = match DeTable::parse(&text) {
            Ok(doc) => {
                let mut spans = SpanIndex::new();
                index_spans(doc.get_ref(), &mut Vec::new(), &mut spans);
                spans
            }
            Err(e) => {
                self.errors.push(syntax(&e));
                return;
            }
        };
        match toml::from_str::<toml::Table>(&text) {
            Ok(table) => {
                let origin = Origin::File {
                    path,
                    text: &text,
                    spans: &spans,
                };
                self.merge_table(&origin, &table);
            }
            Err(e) => self.errors.push(syntax(&e)),
        }
    }

    fn merge_env(&mut self, var: &str, raw: &str) {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            return;
        };
        let origin = Origin::Env { var };
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.len() < 2 {
            // Not a config key (e.g. TXDEPLOY_LOG), unless it looks like one missing a `__`.
            let lower = rest.to_ascii_lowercase();
            if let Some(section) = config_schema::sections()
                .into_iter()
                .find(|s| lower.starts_with(&format!("{s}_")))
            {
                let key = &lower[section.len() + 1..];
                self.errors.push(ConfigError {
                    kind: ConfigErrorKind::UnknownKey,
                    key: lower.clone(),
                    value: Some(format!("{raw:?}")),
                    rule: "config variables separate the section from the key with a double \
                           underscore: `TXDEPLOY_<SECTION>__<KEY>`"
                        .to_owned(),
                    fix: format!("rename it to `{}`", origin.spell(section, key)),
                    source: origin.source(&path, true),
                });
            }
            return;
        }
        let value = parse_env_value(&path, raw);
        // Rebuild the nested table the variable stands for, then merge it like a file.
        let mut nested = value;
        for segment in path.iter().skip(1).rev() {
            let mut t = toml::Table::new();
            t.insert(segment.clone(), nested);
            nested = toml::Value::Table(t);
        }
        let mut table = toml::Table::new();
        table.insert(path[0].clone(), nested);
        self.merge_table(&origin, &table);
    }

    fn merge_flags(&mut self, flags: &FlagOverrides) {
        let endpoint_flag = if flags.endpoint_url_from_env {
            "env:AWS_ENDPOINT_URL"
        } else {
            "--endpoint-url"
        };
        let strings = [
            ("region", "--region", &flags.region),
            ("profile", "--profile", &flags.profile),
            ("endpoint_url", endpoint_flag, &flags.endpoint_url),
        ];
        for (key, flag, value) in strings {
            if let Some(value) = value {
                self.merge_one(
                    &Origin::Flag { flag },
                    "aws",
                    key,
                    toml::Value::String(value.clone()),
                );
            }
        }
        if let Some(n) = flags.parallelism {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            self.merge_one(
                &Origin::Flag {
                    flag: "--parallelism",
                },
                "deploy",
                "parallelism",
                n.into(),
            );
        }
        if let Some(on_failure) = flags.on_failure {
            let s = match on_failure {
                OnFailure::Rollback => "rollback",
                OnFailure::Stop => "stop",
            };
            self.merge_one(
                &Origin::Flag {
                    flag: "--on-failure",
                },
                "deploy",
                "on_failure",
                s.into(),
            );
        }
        if let Some(canary) = &flags.canary {
            self.merge_one(
                &Origin::Flag { flag: "--canary" },
                "deploy",
                "canary",
                canary.as_str().into(),
            );
        }
    }

    fn merge_one(&mut self, origin: &Origin<'_>, section: &str, key: &str, value: toml::Value) {
        let mut inner = toml::Table::new();
        inner.insert(key.to_owned(), value);
        let mut table = toml::Table::new();
        table.insert(section.to_owned(), toml::Value::Table(inner));
        self.merge_table(origin, &table);
    }

    fn merge_table(&mut self, origin: &Origin<'_>, layer: &toml::Table) {
        let sections = config_schema::sections();
        for (section, value) in layer {
            let path = vec![section.clone()];
            if !sections.contains(&section.as_str()) {
                let fix = match config_schema::closest(section, sections.iter().copied()) {
                    Some(s) => format!("did you mean `[{s}]`?"),
                    None => format!(
                        "remove it; the sections are {}",
                        sections
                            .iter()
                            .map(|s| format!("`[{s}]`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.errors.push(ConfigError {
                    kind: ConfigErrorKind::UnknownSection,
                    key: section.clone(),
                    value: None,
                    rule: "not a txdeploy section".to_owned(),
                    fix,
                    source: origin.source(&path, true),
                });
                continue;
            }
            let Some(entries) = value.as_table() else {
                self.errors.push(ConfigError {
                    kind: ConfigErrorKind::WrongType,
                    key: section.clone(),
                    value: Some(value.to_string()),
                    rule: format!("`{section}` is a section, so it must be a table"),
                    fix: format!("write its keys under a `[{section}]` header"),
                    source: origin.source(&path, false),
                });
                continue;
            };
            for (key, value) in entries {
                self.merge_key(origin, section, key, value);
            }
        }
    }

    fn merge_key(&mut self, origin: &Origin<'_>, section: &str, key: &str, value: &toml::Value) {
        let path = vec![section.to_owned(), key.to_owned()];
        let Some(spec) = config_schema::find(section, key) else {
            self.errors
                .push(unknown_key(origin, section, key, value, &path));
            return;
        };
        if let Some(error) = check_type(origin, spec, &path, value) {
            self.errors.push(error);
            return;
        }
        let section_table = self
            .table
            .entry(section.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section_table) = section_table.as_table_mut() else {
            return;
        };
        self.sources
            .insert(path.clone(), origin.source(&path, false));
        if spec.kind == Kind::StrMap {
            // Tags merge entry by entry: a tag set in the environment adds to the file's.
            let target = section_table
                .entry(key.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let (Some(target), Some(entries)) = (target.as_table_mut(), value.as_table()) else {
                return;
            };
            for (name, v) in entries {
                let mut entry_path = path.clone();
                entry_path.push(name.clone());
                if v.is_str() {
                    target.insert(name.clone(), v.clone());
                    self.sources
                        .insert(entry_path.clone(), origin.source(&entry_path, false));
                } else {
                    self.errors.push(ConfigError {
                        kind: ConfigErrorKind::WrongType,
                        key: dotted(&entry_path),
                        value: Some(v.to_string()),
                        rule: "tag values must be strings".to_owned(),
                        fix: format!(
                            "put the value in quotes: {} = \"{}\"",
                            dotted(&[name]),
                            unquoted(v)
                        ),
                        source: origin.source(&entry_path, false),
                    });
                }
            }
        } else {
            section_table.insert(key.to_owned(), value.clone());
        }
    }
}

/// The raw text of a scalar, without TOML quoting.
fn unquoted(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads an environment value as TOML, or as the raw text when that is not valid TOML or
/// the key expects a string (so `TXDEPLOY_STACK__ENV=2024` is the string `"2024"`).
fn parse_env_value(path: &[String], raw: &str) -> toml::Value {
    let expects_string = match path {
        [section, key] => config_schema::find(section, key)
            .is_some_and(|s| matches!(s.kind, Kind::Str | Kind::OptStr | Kind::Choice(_))),
        // `stack.tags.<name>`: a tag value.
        [_, _, _] => true,
        _ => false,
    };
    if expects_string {
        return toml::Value::String(raw.to_owned());
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn unknown_key(
    origin: &Origin<'_>,
    section: &str,
    key: &str,
    value: &toml::Value,
    path: &[String],
) -> ConfigError {
    let own = config_schema::keys_of(section).map(|k| k.key);
    let fix = if let Some(near) = config_schema::closest(key, own) {
        format!("did you mean `{}`?", origin.spell(section, near))
    } else if let Some(other) = config_schema::KEYS
        .iter()
        .find(|k| k.key == key || config_schema::closest(key, [k.key]).is_some())
    {
        format!(
            "did you mean `{}`? (it belongs in `[{}]`)",
            origin.spell(other.section, other.key),
            other.section
        )
    } else {
        let keys: Vec<String> = config_schema::keys_of(section)
            .map(|k| format!("`{}`", k.key))
            .collect();
        format!(
            "remove it; the keys of `[{section}]` are {}",
            keys.join(", ")
        )
    };
    ConfigError {
        kind: ConfigErrorKind::UnknownKey,
        key: dotted(path),
        value: Some(value.to_string()),
        rule: "not a txdeploy setting".to_owned(),
        fix,
        source: origin.source(path, true),
    }
}

/// Checks a value's TOML type (and that an integer fits the field) before it is merged;
/// returns the problem, if any.
fn check_type(
    origin: &Origin<'_>,
    spec: &config_schema::KeySpec,
    path: &[String],
    value: &toml::Value,
) -> Option<ConfigError> {
    let wrong = |rule: &str, fix: String| ConfigError {
        kind: ConfigErrorKind::WrongType,
        key: spec.dotted(),
        value: Some(value.to_string()),
        rule: rule.to_owned(),
        fix,
        source: origin.source(path, false),
    };
    match spec.kind {
        Kind::Str | Kind::OptStr if !value.is_str() => Some(wrong(
            "must be a string",
            format!(
                "put the value in quotes: {} = \"{}\"",
                spec.key,
                unquoted(value)
            ),
        )),
        Kind::Choice(choices) => match value.as_str() {
            Some(s) if choices.contains(&s) => None,
            Some(s) => {
                let listed = choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>();
                let fix = match config_schema::closest(s, choices.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("use one of {}", listed.join(", ")),
                };
                Some(ConfigError {
                    kind: ConfigErrorKind::Invalid,
                    ..wrong(&format!("must be one of {}", listed.join(", ")), fix)
                })
            }
            // `cache_size = 0.5`: a number spelled like one of the choices only lacks quotes.
            None if choices.contains(&value.to_string().as_str()) => Some(wrong(
                "must be a string",
                format!("put the value in quotes: {} = \"{value}\"", spec.key),
            )),
            None => Some(wrong(
                "must be a string",
                format!(
                    "use one of {}",
                    choices
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
        Kind::Bool if !value.is_bool() => Some(wrong(
            "must be `true` or `false`",
            format!(
                "write {} = true or {} = false, without quotes",
                spec.key, spec.key
            ),
        )),
        Kind::Float { .. } => match value {
            toml::Value::Integer(_) | toml::Value::Float(_) => None,
            toml::Value::String(s) if s.trim().parse::<f64>().is_ok() => Some(wrong(
                "must be a number, not a string",
                format!("remove the quotes: {} = {}", spec.key, s.trim()),
            )),
            _ => Some(wrong(
                "must be a number",
                match default_float(spec) {
                    Some(d) => format!("write a number without quotes, e.g. {} = {d:?}", spec.key),
                    None => "write a number without quotes".to_owned(),
                },
            )),
        },
        Kind::Int { .. } | Kind::OptInt { .. } | Kind::IntIn { .. } => match value {
            toml::Value::Integer(n) => {
                if u32::try_from(*n).is_ok() {
                    return None;
                }
                // Outside what the field can hold: the range rule explains it best.
                let default = default_int(spec);
                let (rule, fix) = config_validation::int_violation(spec, *n, default)
                    .unwrap_or_else(|| {
                        (
                            "must fit in 32 bits".to_owned(),
                            "use a smaller value".to_owned(),
                        )
                    });
                Some(ConfigError {
                    kind: ConfigErrorKind::Invalid,
                    ..wrong(&rule, fix)
                })
            }
            toml::Value::String(s) if s.trim().parse::<i64>().is_ok() => Some(wrong(
                "must be an integer, not a string",
                format!("remove the quotes: {} = {}", spec.key, s.trim()),
            )),
            _ => Some(wrong(
                "must be an integer",
                match default_int(spec) {
                    Some(d) => format!(
                        "write a whole number without quotes, e.g. {} = {d}",
                        spec.key
                    ),
                    None => "write a whole number without quotes".to_owned(),
                },
            )),
        },
        Kind::StrMap if !value.is_table() => Some(wrong(
            "must be a table of strings",
            format!("write it as {} = {{ team = \"payments\" }}", spec.key),
        )),
        _ => None,
    }
}

/// The embedded default of a number key.
pub(crate) fn default_float(spec: &config_schema::KeySpec) -> Option<f64> {
    let defaults: toml::Table = toml::from_str(DEFAULT_CONFIG).ok()?;
    let value = defaults.get(spec.section)?.get(spec.key)?;
    value
        .as_float()
        .or_else(|| value.as_integer().map(|i| i as f64))
}

/// The embedded default of an integer key.
pub(crate) fn default_int(spec: &config_schema::KeySpec) -> Option<i64> {
    let defaults: toml::Table = toml::from_str(DEFAULT_CONFIG).ok()?;
    defaults.get(spec.section)?.get(spec.key)?.as_integer()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
