//! One run of `txdeploy`: load and validate the config first (no AWS client exists before it
//! is valid), then hand the command to `commands` (or, with no command on a terminal, open
//! the TUI), and turn the result into an exit code.

pub mod commands;
pub mod release_commands;
pub mod run_error;
pub mod session;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

pub use run_error::{Outcome, RunError, exit_code};

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self, Config, LoadOptions, LoadedConfig, Source};
pub use crate::report::OutputMode;

/// What every command gets: the valid config, the global flags and the output mode.
#[derive(Clone, Debug)]
pub struct AppContext {
    pub config: Config,
    /// Where each config key came from (dotted key -> source).
    pub sources: BTreeMap<String, Source>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub global: GlobalArgs,
    pub output: OutputMode,
}

impl AppContext {
    /// `<state-dir>/<prefix>-<env>`: where this stack's journal, state and lock live.
    pub fn stack_dir(&self) -> PathBuf {
        self.global.state_dir.join(self.config.stack_name())
    }
}

/// Runs the command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let output = OutputMode::detect(cli.global.json, cli.global.non_interactive);
    let opens_tui = cli.opens_tui(output.is_interactive());
    let command = cli.effective_command();
    let options = LoadOptions::from_process_env(cli.global.config.clone(), cli.flag_overrides());
    let loaded = match config::load(&options) {
        Ok(loaded) => loaded,
        Err(errors) => return fail(output, &RunError::Config(errors)),
    };
    if command == Command::Validate {
        print_valid(&loaded, output);
        return ExitCode::from(exit_code::OK);
    }
    let LoadedConfig {
        config,
        file,
        sources,
    } = loaded;
    let ctx = AppContext {
        config,
        sources,
        config_file: file,
        global: cli.global,
        output,
    };
    let result = if opens_tui {
        crate::tui::run(&ctx, crate::tui::TuiOptions::launch()).await
    } else {
        commands::run_command(&ctx, &command).await
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(error) => fail(output, &error),
    }
}

/// Prints `error` on stderr (and as JSON on stdout with `--json`) and returns its exit code.
fn fail(output: OutputMode, error: &RunError) -> ExitCode {
    eprintln!("error: {error}");
    if output == OutputMode::Json {
        println!("{}", error.to_json());
    }
    ExitCode::from(error.exit_code())
}

/// `txdeploy validate` on a valid config: what was read and every value that is not a default.
fn print_valid(loaded: &LoadedConfig, output: OutputMode) {
    let overrides = loaded.overridden_values();
    if output == OutputMode::Json {
        let doc = serde_json::json!({
            "event": "config_valid",
            "file": loaded.file,
            "stack": loaded.config.stack_name(),
            "config": loaded.config,
            "overrides": overrides
                .iter()
                .map(|(key, value, source)| serde_json::json!({"key": key, "value": value, "source": source}))
                .collect::<Vec<_>>(),
        });
        println!("{doc}");
        return;
    }
    let file = match &loaded.file {
        Some(path) => format!("{}", path.display()),
        None => "built-in defaults only (no txdeploy.toml)".to_owned(),
    };
    println!("config ok: {file} (stack `{}`)", loaded.config.stack_name());
    let width = overrides
        .iter()
        .map(|(k, v, _)| k.len() + v.len())
        .max()
        .unwrap_or(0);
    for (key, value, source) in &overrides {
        let pad = width - key.len() - value.len();
        println!("  {key} = {value}{:pad$}  {source}", "");
    }
}
