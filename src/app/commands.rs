//! Runs one command against AWS; replaced when the engine and adapters are wired in.

use super::{AppContext, Outcome, RunError};
use crate::cli::Command;

/// Runs `command` with `ctx` (config already valid).
pub async fn run_command(ctx: &AppContext, command: &Command) -> Result<Outcome, RunError> {
    let _ = ctx;
    Err(RunError::Usage(format!(
        "`txdeploy {}` is not wired yet in this build; `txdeploy validate` checks the config",
        command.name()
    )))
}
