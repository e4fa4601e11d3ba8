//! `RunError` and `Outcome`: how a run ends, and the documented exit code of each ending.

use serde_json::json;

use crate::cloud::CloudError;
use crate::config::ConfigErrors;

/// The documented exit codes (DESIGN.md, `txdeploy --help`).
pub mod exit_code {
    /// Done; nothing failed.
    pub const OK: u8 = 0;
    /// Failed; what this run changed was rolled back (or nothing was changed).
    pub const FAILED: u8 = 1;
    /// A usage or configuration error; no AWS call was made.
    pub const USAGE: u8 = 2;
    /// The rollback failed: the stack is partly changed and needs a human.
    pub const NEEDS_HUMAN: u8 = 3;
    /// `plan --detailed-exitcode` found changes.
    pub const CHANGES: u8 = 4;
    /// Interrupted (Ctrl-C), after in-flight calls finished and the journal was written.
    pub const INTERRUPTED: u8 = 130;
}

/// How a successful run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Finished (exit 0).
    Done,
    /// `plan --detailed-exitcode` found changes (exit 4); commands return it only then.
    ChangesPending,
    /// `monitor --once` found an alarm in ALARM (exit 1); the table already says which.
    AlarmsFiring,
    /// `audit` found a check that failed (exit 1); its lines already say which and the fix.
    ChecksFailed,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done => exit_code::OK,
            Outcome::ChangesPending => exit_code::CHANGES,
            Outcome::AlarmsFiring | Outcome::ChecksFailed => exit_code::FAILED,
        }
    }
}

/// Why a run failed. Every message is lowercase and says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A flag combination or a command that cannot run as asked (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The configuration is invalid; every problem is listed (exit 2).
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// An AWS call failed outside an apply (observe, account lookup): nothing was changed
    /// (exit 1).
    #[error("{error}\n  next: {}", crate::report::next_step(.error))]
    Cloud {
        #[from]
        error: CloudError,
    },
    /// The apply failed and what it changed was rolled back, or it stopped cleanly with a
    /// resumable journal (`--on-failure stop`) (exit 1).
    #[error("apply failed: {message}\n  next: {next}")]
    Failed { message: String, next: String },
    /// The rollback itself failed; the stack is partly changed (exit 3).
    #[error("rollback failed, the stack needs a human: {message}\n  next: {next}")]
    NeedsHuman { message: String, next: String },
    /// Reading or writing releases, or a `txdeploy rollback`, failed; the message says what
    /// changed and what to do next (exit 1).
    #[error("{0}")]
    Release(String),
    /// Ctrl-C (exit 130).
    #[error("interrupted; run `txdeploy status` to see where the stack stands")]
    Interrupted,
    /// Local I/O (state directory, journal, lock) failed (exit 1).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// The documented exit code of this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) | RunError::Config(_) => exit_code::USAGE,
            RunError::Cloud { .. }
            | RunError::Failed { .. }
            | RunError::Release(_)
            | RunError::Io { .. } => exit_code::FAILED,
            RunError::NeedsHuman { .. } => exit_code::NEEDS_HUMAN,
            RunError::Interrupted => exit_code::INTERRUPTED,
        }
    }

    /// The error as one JSON object, printed on stdout with `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut doc = json!({
            "event": "error",
            "exit_code": self.exit_code(),
            "message": self.to_string(),
        });
        if let RunError::Config(errors) = self {
            doc["config_errors"] = serde_json::to_value(&errors.errors).unwrap_or_default();
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design() {
        let config = ConfigErrors {
            file: None,
            errors: Vec::new(),
        };
        let cases = [
            (RunError::Usage("x".into()), 2),
            (RunError::Config(config), 2),
            (
                RunError::Cloud {
                    error: CloudError::fatal("sts", "GetCallerIdentity", "x"),
                },
                1,
            ),
            (
                RunError::Failed {
                    message: "x".into(),
                    next: "y".into(),
                },
                1,
            ),
            (
                RunError::NeedsHuman {
                    message: "x".into(),
                    next: "y".into(),
                },
                3,
            ),
            (RunError::Release("x".into()), 1),
            (RunError::Interrupted, 130),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
            assert_eq!(error.to_json()["exit_code"], code);
        }
        assert_eq!(Outcome::Done.exit_code(), 0);
        assert_eq!(Outcome::ChangesPending.exit_code(), 4);
        assert_eq!(Outcome::AlarmsFiring.exit_code(), 1);
    }
}
