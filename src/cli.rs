//! The command line: `txdeploy [GLOBAL FLAGS] <command>`, with clap derive. Every flag's
//! `///` doc is its `--help` text.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{FlagOverrides, OnFailure};

const AFTER_HELP: &str = "\
Configuration layers, lowest first: built-in defaults < the config file < TXDEPLOY_* \
environment variables < flags. A variable names a key as TXDEPLOY_<SECTION>__<KEY>, e.g. \
TXDEPLOY_QUEUES__MAX_RECEIVE_COUNT=5 sets queues.max_receive_count.

Exit codes: 0 ok, 1 failed (rolled back), 2 usage or config error, 3 rollback failed (needs a \
human), 4 plan has changes (with --detailed-exitcode), 130 interrupted.";

/// Deploys, watches and rolls back the serverless transaction stack on AWS.
#[derive(Clone, Debug, Parser)]
#[command(name = "txdeploy", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; without a command, `txdeploy` opens the interactive TUI on a terminal and
    /// shows the plan elsewhere.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags accepted before or after any command.
#[derive(Clone, Debug, Default, Args)]
pub struct GlobalArgs {
    /// Config file [default: ./txdeploy.toml if it exists, else only the built-in defaults]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Never prompt; print one plain line per event (implied when `CI` is set or stdout is not
    /// a terminal)
    #[arg(long, global = true)]
    pub non_interactive: bool,

    /// Print events as NDJSON on stdout, one JSON object per line (implies --non-interactive)
    #[arg(long, global = true)]
    pub json: bool,

    /// AWS region, e.g. `us-east-1` (overrides `aws.region`)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config (overrides `aws.profile`)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// One endpoint for every AWS service, e.g. a local emulator (overrides `aws.endpoint_url`)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Directory for the journal, the state cache and the lock of each stack
    #[arg(long, global = true, value_name = "DIR", default_value = ".txdeploy")]
    pub state_dir: PathBuf,

    /// Most AWS calls in flight at once, 1..=64 (overrides `deploy.parallelism`)
    #[arg(long, global = true, value_name = "N")]
    pub parallelism: Option<usize>,

    /// Whether `endpoint_url` came from `AWS_ENDPOINT_URL` rather than the flag; set by
    /// `Cli::parse_process_args` so config errors name the right source.
    #[arg(skip)]
    pub endpoint_url_from_env: bool,
}

/// The commands.
#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Show what `apply` would change, without changing anything
    Plan(PlanArgs),
    /// Create or update the stack so that it matches the config
    Apply(ApplyArgs),
    /// Delete the stack; keys, buckets and queues are kept unless `--delete-data`
    Destroy(DestroyArgs),
    /// Show what exists in AWS and whether it matches the config
    Status,
    /// Check the config (file, environment and flags) without calling AWS
    Validate,
    /// Check the deployed stack against every line of STACK.md: pass, fail or
    /// not-checkable-here per check, with the F/R numbers it guards; exit 1 on any failure
    Audit,
    /// Watch the stack's alarms and metrics: the dashboard and alarms TUI on a terminal,
    /// alarm transitions as lines (or NDJSON with --json) elsewhere, until Ctrl-C
    Monitor(MonitorArgs),
    /// List the releases recorded in AWS (newest last) and which one is live
    Releases,
    /// Move the `live` aliases (and the stage, when its routes differ) back to a release:
    /// by default the one before the live release
    Rollback(RollbackArgs),
}

/// `txdeploy rollback`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct RollbackArgs {
    /// The release to return to (see `txdeploy releases`) [default: the one before the
    /// live release]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub to: Option<u64>,

    /// Also apply the settings an alias move cannot undo (alarm thresholds, reserved
    /// concurrency, queue settings, ...) from the release's config snapshot; without it
    /// that plan is only shown
    #[arg(long)]
    pub apply_config: bool,

    /// Apply that config plan without asking for confirmation (required when
    /// non-interactive)
    #[arg(long, short = 'y', requires = "apply_config")]
    pub yes: bool,
}

/// `txdeploy monitor`.
#[derive(Clone, Debug, PartialEq, Eq, Args)]
pub struct MonitorArgs {
    /// Print every alarm once and exit: 1 if any alarm is in ALARM, else 0
    #[arg(long)]
    pub once: bool,

    /// Seconds between alarm polls; metrics refresh every 60 s, or at this interval when
    /// it is longer
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
}

impl Default for MonitorArgs {
    fn default() -> Self {
        Self {
            once: false,
            interval: 10,
        }
    }
}

/// `txdeploy plan`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct PlanArgs {
    /// Exit with 4 when the plan has changes, 0 when it has none
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `txdeploy apply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct ApplyArgs {
    /// Apply without asking for confirmation (required when non-interactive)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// What a failed step does: undo this apply's changes, or stop and keep a resumable
    /// journal [default: `deploy.on_failure`, which defaults to rollback]
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_failure: Option<OnFailure>,

    /// Release as a canary: route WEIGHT% of each moved alias to the new version for
    /// WINDOW, watching the error-rate and API 5XX alarms, then promote, or roll back on
    /// ALARM; `off` for a plain release [default: `deploy.canary`, which defaults to off]
    #[arg(long, value_name = "WEIGHT%:WINDOW")]
    pub canary: Option<String>,
}

/// `txdeploy destroy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct DestroyArgs {
    /// Also delete data-bearing resources (KMS keys, buckets, queues); their data is lost
    #[arg(long)]
    pub delete_data: bool,

    /// Destroy without asking for confirmation (required when non-interactive)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl Command {
    /// The command's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Destroy(_) => "destroy",
            Command::Status => "status",
            Command::Validate => "validate",
            Command::Audit => "audit",
            Command::Monitor(_) => "monitor",
            Command::Releases => "releases",
            Command::Rollback(_) => "rollback",
        }
    }
}

impl Cli {
    /// Parses `std::env::args`, exiting with clap's message on `--help`, `--version` (0) or
    /// a usage error (2), and records whether `--endpoint-url` came from `AWS_ENDPOINT_URL`.
    pub fn parse_process_args() -> Self {
        Self::parse_matches(<Self as CommandFactory>::command().get_matches())
    }

    /// Like `parse_process_args`, from the given arguments (tests).
    pub fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Ok(Self::parse_matches(
            <Self as CommandFactory>::command().try_get_matches_from(args)?,
        ))
    }

    fn parse_matches(matches: clap::ArgMatches) -> Self {
        let mut cli = match Self::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        cli.global.endpoint_url_from_env =
            matches.value_source("endpoint_url") == Some(ValueSource::EnvVariable);
        cli
    }

    /// Whether this run opens the interactive TUI: no command, on a terminal (`interactive`
    /// is false with `--non-interactive`, `--json`, `CI` or without a TTY).
    pub fn opens_tui(&self, interactive: bool) -> bool {
        self.command.is_none() && interactive
    }

    /// The command to run: `plan` when none was given (and no TUI opens).
    pub fn effective_command(&self) -> Command {
        self.command
            .clone()
            .unwrap_or(Command::Plan(PlanArgs::default()))
    }

    /// The flags that override configuration keys.
    pub fn flag_overrides(&self) -> FlagOverrides {
        let (on_failure, canary) = match &self.command {
            Some(Command::Apply(apply)) => (apply.on_failure, apply.canary.clone()),
            _ => (None, None),
        };
        FlagOverrides {
            region: self.global.region.clone(),
            profile: self.global.profile.clone(),
            endpoint_url: self.global.endpoint_url.clone(),
            endpoint_url_from_env: self.global.endpoint_url_from_env,
            parallelism: self.global.parallelism,
            on_failure,
            canary,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_definition_is_consistent() {
        <Cli as CommandFactory>::command().debug_assert();
    }

    #[test]
    fn no_command_means_plan() {
        let cli = Cli::try_parse_args(["txdeploy"]).unwrap();
        assert_eq!(cli.effective_command(), Command::Plan(PlanArgs::default()));
    }

    #[test]
    fn global_flags_work_after_the_command() {
        let cli = Cli::try_parse_args([
            "txdeploy",
            "apply",
            "--yes",
            "--on-failure",
            "stop",
            "--parallelism",
            "3",
            "--region",
            "eu-west-1",
        ])
        .unwrap();
        let flags = cli.flag_overrides();
        assert_eq!(flags.parallelism, Some(3));
        assert_eq!(flags.region.as_deref(), Some("eu-west-1"));
        assert_eq!(flags.on_failure, Some(OnFailure::Stop));
        assert_eq!(
            cli.effective_command(),
            Command::Apply(ApplyArgs {
                yes: true,
                on_failure: Some(OnFailure::Stop),
                canary: None,
            })
        );
    }

    #[test]
    fn canary_flag_overrides_deploy_canary_on_apply_only() {
        let cli = Cli::try_parse_args(["txdeploy", "apply", "--canary", "10%:5m"]).unwrap();
        assert_eq!(cli.flag_overrides().canary.as_deref(), Some("10%:5m"));
        assert!(Cli::try_parse_args(["txdeploy", "plan", "--canary", "10%:5m"]).is_err());
    }

    #[test]
    fn no_command_opens_the_tui_only_when_interactive() {
        let cli = Cli::try_parse_args(["txdeploy"]).unwrap();
        assert!(cli.opens_tui(true));
        assert!(!cli.opens_tui(false));
        let cli = Cli::try_parse_args(["txdeploy", "plan"]).unwrap();
        assert!(!cli.opens_tui(true));
    }

    #[test]
    fn monitor_takes_once_and_an_interval() {
        let cli = Cli::try_parse_args(["txdeploy", "--non-interactive", "monitor"]).unwrap();
        assert_eq!(cli.command, Some(Command::Monitor(MonitorArgs::default())));
        let cli =
            Cli::try_parse_args(["txdeploy", "monitor", "--once", "--interval", "3"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Monitor(MonitorArgs {
                once: true,
                interval: 3
            }))
        );
        let err = Cli::try_parse_args(["txdeploy", "monitor", "--interval", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn rollback_takes_a_release_and_config_flags() {
        let cli = Cli::try_parse_args(["txdeploy", "rollback"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Rollback(RollbackArgs::default()))
        );
        let cli =
            Cli::try_parse_args(["txdeploy", "rollback", "--to", "3", "--apply-config", "-y"])
                .unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Rollback(RollbackArgs {
                to: Some(3),
                apply_config: true,
                yes: true
            }))
        );
        for bad in [&["--to", "0"][..], &["--yes"]] {
            let err = Cli::try_parse_args(["txdeploy", "rollback"].iter().chain(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let err = Cli::try_parse_args(["txdeploy", "--parallelism", "many", "plan"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_args(["txdeploy", "apply", "--on-failure", "retry"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
