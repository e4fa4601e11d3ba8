//! `ConfigErrors`: every problem found in the configuration, reported at once, each naming
//! the key, the bad value, the rule, the fix and where the value came from.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Where a configuration value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// The embedded defaults (`assets/default_config.toml`).
    Default,
    /// A TOML file, at a 1-based line and column (of the value, or of the key when the key
    /// itself is the problem).
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// An environment variable (`TXDEPLOY_*`, or `AWS_ENDPOINT_URL` through `--endpoint-url`).
    Env { var: String },
    /// A command-line flag such as `--parallelism`.
    Flag { flag: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("(the default)"),
            Source::File { path, line, column } => {
                write!(f, "at {}:{line}:{column}", path.display())
            }
            Source::Env { var } => write!(f, "from env `{var}`"),
            Source::Flag { flag } => write!(f, "from flag `{flag}`"),
        }
    }
}

/// What kind of problem a `ConfigError` is; decides how its first line reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigErrorKind {
    /// The file cannot be read (missing, unreadable, not UTF-8).
    Unreadable,
    /// The file is not valid TOML.
    Syntax,
    /// A `[section]` txdeploy does not know.
    UnknownSection,
    /// A key txdeploy does not know.
    UnknownKey,
    /// A value of the wrong TOML type.
    WrongType,
    /// A value of the right type that breaks a rule.
    Invalid,
}

/// One problem in the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    pub kind: ConfigErrorKind,
    /// The dotted key, for example `queues.max_receive_count` (empty for file-level errors).
    pub key: String,
    /// The offending value as TOML, for example `0` or `"abc"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What the value must be, and why.
    pub rule: String,
    /// What to do next.
    pub fix: String,
    /// Where the value came from.
    pub source: Source,
}

impl ConfigError {
    /// A value that breaks a rule.
    pub fn invalid(
        key: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
        fix: impl Into<String>,
        source: Source,
    ) -> Self {
        Self {
            kind: ConfigErrorKind::Invalid,
            key: key.into(),
            value: Some(value.into()),
            rule: rule.into(),
            fix: fix.into(),
            source,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = &self.source;
        match self.kind {
            ConfigErrorKind::Unreadable => write!(f, "× cannot read the config file {source}")?,
            ConfigErrorKind::Syntax => write!(f, "× invalid TOML {source}")?,
            ConfigErrorKind::UnknownSection => {
                write!(f, "× unknown section `[{}]` {source}", self.key)?;
            }
            ConfigErrorKind::UnknownKey => match &self.value {
                Some(value) => write!(f, "× unknown key `{}` = {value} {source}", self.key)?,
                None => write!(f, "× unknown key `{}` {source}", self.key)?,
            },
            ConfigErrorKind::WrongType | ConfigErrorKind::Invalid => match &self.value {
                Some(value) => write!(f, "× `{}` = {value} {source}", self.key)?,
                None => write!(f, "× `{}` {source}", self.key)?,
            },
        }
        write!(f, "\n  rule: {}\n  fix: {}", self.rule, self.fix)
    }
}

/// Every problem found while loading and validating the configuration.
///
/// Non-empty by construction: `load` returns it only when something is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ConfigErrors {
    /// The config file that was read, if any (named in the summary line).
    pub file: Option<PathBuf>,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether any error is about `key` (tests and callers that react to one key).
    pub fn mentions(&self, key: &str) -> bool {
        self.errors.iter().any(|e| e.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    /// Renders the block printed on stderr after `error: `, e.g.
    ///
    /// ```text
    /// invalid config: 1 problem in txdeploy.toml
    ///   × `queues.max_receive_count` = 0 at txdeploy.toml:7:21
    ///     rule: must be between 1 and 1000 (SQS maxReceiveCount)
    ///     fix: set it to 3 (the default) or any value in 1..=1000
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        match &self.file {
            Some(path) => write!(f, "invalid config: {n} {noun} in {}", path.display())?,
            None => write!(f, "invalid config: {n} {noun}")?,
        }
        for error in &self.errors {
            for line in error.to_string().lines() {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_documented_block() {
        let errors = ConfigErrors {
            file: Some(PathBuf::from("txdeploy.toml")),
            errors: vec![ConfigError::invalid(
                "queues.max_receive_count",
                "0",
                "must be between 1 and 1000 (SQS maxReceiveCount)",
                "set it to 3 (the default) or any value in 1..=1000",
                Source::File {
                    path: PathBuf::from("txdeploy.toml"),
                    line: 7,
                    column: 21,
                },
            )],
        };
        assert_eq!(
            errors.to_string(),
            "invalid config: 1 problem in txdeploy.toml\n  \
             × `queues.max_receive_count` = 0 at txdeploy.toml:7:21\n    \
             rule: must be between 1 and 1000 (SQS maxReceiveCount)\n    \
             fix: set it to 3 (the default) or any value in 1..=1000"
        );
    }

    #[test]
    fn names_env_and_flag_sources() {
        let env = Source::Env {
            var: "TXDEPLOY_DEPLOY__PARALLELISM".into(),
        };
        let flag = Source::Flag {
            flag: "--parallelism".into(),
        };
        assert_eq!(env.to_string(), "from env `TXDEPLOY_DEPLOY__PARALLELISM`");
        assert_eq!(flag.to_string(), "from flag `--parallelism`");
    }
}
