//! The `txdeploy` binary: parse the command line, send logs to stderr, start the runtime and
//! hand over to `txdeploy::app::run`; everything else lives in the library.

use std::process::ExitCode;

use txdeploy::app;
use txdeploy::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse_process_args();
    // stderr keeps stdout clean for plans and NDJSON (a file while the TUI owns the screen);
    // `TXDEPLOY_LOG` sets the filter. aws_config's own warnings (an IMDS probe for a region on
    // a laptop) are noise: a missing region or credential is reported by txdeploy with the fix.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TXDEPLOY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,aws_config=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(txdeploy::tui::log_writer::writer)
        .init();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(app::run(cli)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}; check the process limits");
            ExitCode::from(app::exit_code::FAILED)
        }
    }
}
