//! The TUI and `txdeploy monitor` against moto: the real binary driven in tmux (launch, plan,
//! confirm, watch the apply, open alarms, see a `SetAlarmState` flip within one refresh,
//! quit, terminal restored), `monitor --once` and the line stream, and the pollers' calls
//! per refresh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricDatum, StateValue, Statistic,
};
use aws_smithy_types::DateTime;
use txdeploy::adapters::{AwsAccess, AwsClients, CallCounter, load_sdk_config};
use txdeploy::config::Config;
use txdeploy::monitor::alarm_poller::fetch_alarms;
use txdeploy::monitor::metric_poller::{self, MetricWindow};
use txdeploy::monitor::{AlarmState, dashboard_metrics};

use crate::harness::{BIN, moto_or_skip, unique_stack};

/// The alarm refresh interval the TUI uses by default (`monitor::ALARM_INTERVAL`).
const ALARM_REFRESH: Duration = txdeploy::monitor::ALARM_INTERVAL;

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Moto clients with static test credentials and a call counter.
async fn clients(endpoint: &str) -> (AwsClients, CallCounter) {
    let access = AwsAccess {
        region: Some("us-east-1".to_owned()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    };
    let config = load_sdk_config(&access)
        .await
        .to_builder()
        .credentials_provider(aws_sdk_cloudwatch::config::SharedCredentialsProvider::new(
            aws_sdk_cloudwatch::config::Credentials::new("testing", "testing", None, None, "moto"),
        ))
        .build();
    let counter = CallCounter::new();
    (AwsClients::new(&config, &counter), counter)
}

async fn put_alarm(cloudwatch: &aws_sdk_cloudwatch::Client, name: &str, function: &str) {
    cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value(function)
                .build(),
        )
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
}

async fn set_state(cloudwatch: &aws_sdk_cloudwatch::Client, name: &str, state: StateValue) {
    cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("flipped by the tui test")
        .send()
        .await
        .unwrap();
}

/// The environment the binary runs with: moto, test credentials, no `CI` (it would turn
/// the TUI off), nothing inherited.
fn binary_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("TERM", "screen".to_owned()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

fn write_config(dir: &Path, prefix: &str) {
    std::fs::write(
        dir.join("txdeploy.toml"),
        format!("[stack]\nprefix = \"{prefix}\"\n"),
    )
    .unwrap();
}

/// A tmux server of its own (`-L`), killed on drop, running the binary in one 100x30 pane.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(dir: &Path, endpoint: &str) -> Self {
        let socket = format!("txdeploy-{}", unique_stack());
        let env: Vec<String> = binary_env(endpoint)
            .into_iter()
            .map(|(k, v)| format!("{k}='{v}'"))
            .collect();
        // After txdeploy exits, the shell prints its status and the terminal modes, so the
        // test can check the terminal was given back (raw mode off: `icanon` and `echo`).
        let script = format!(
            "env -i {} '{BIN}'; echo \"txdeploy exited $?\"; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 600",
            env.join(" ")
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
                "-c",
            ])
            .arg(dir)
            .args(["sh", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J"])
    }

    fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", keys]);
    }

    /// Polls the screen until `done` holds, or fails with the last screen after `timeout`.
    #[track_caller]
    fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The pid of the program in the pane's shell (txdeploy while it runs).
    fn child_pid(&self) -> Option<String> {
        let shell = self.tmux(&["display-message", "-p", "#{pane_pid}"]);
        let out = Command::new("pgrep")
            .args(["-P", shell.trim(), "txdeploy"])
            .output()
            .ok()?;
        let pid = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .to_owned();
        (!pid.is_empty()).then_some(pid)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // tmux 3.3 leaves the socket file behind when its server is killed.
        let path = self.tmux(&["display-message", "-p", "#{socket_path}"]);
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        if !path.trim().is_empty() {
            let _ = std::fs::remove_file(path.trim());
        }
    }
}

/// Resident memory of `pid` in KiB, from /proc.
fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn tui_plans_applies_watches_an_alarm_flip_and_restores_the_terminal() {
    let endpoint = moto_or_skip!();
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (aws, _) = runtime.block_on(clients(&endpoint));
    let prefix = unique_stack();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &prefix);
    let tui = Tmux::start(dir.path(), &endpoint);
    let long = Duration::from_secs(60);

    // Launch: the five loads finish and the launch screen says what is missing, and that
    // no release exists yet.
    tui.wait_for("the launch screen to load", long, |s| {
        s.contains("Loading in parallel 5/5")
            && s.contains(" missing,")
            && s.contains("Release    none yet")
    });

    // Plan, then confirm: nothing changes before `y`.
    tui.keys("2");
    tui.wait_for("the plan", long, |s| s.contains("+ create  kms_key/s3"));
    tui.keys("a");
    tui.wait_for("the confirm dialog", long, |s| {
        s.contains("Apply ") && s.contains(" change(s)")
    });
    tui.keys("y");
    let applied = tui.wait_for("the apply to finish", long, |s| {
        s.contains("Apply succeeded")
    });
    assert!(applied.contains(" done, 0 failed"), "{applied}");
    // The apply's end re-reads the stack: the launch screen then finds every resource (a
    // few read as drifted on moto only: see `stack_tests::moto_gap_ids`).
    tui.keys("1");
    tui.wait_for("the stack to read as deployed", long, |s| {
        s.contains(" desired exist; 0 missing")
    });

    // An alarm of the stack appears in the alarms view.
    let alarm = format!("{prefix}-dev-tui-test-errors");
    let function = format!("{prefix}-dev-transaction-validator");
    runtime.block_on(put_alarm(&aws.cloudwatch, &alarm, &function));
    tui.keys("5");
    tui.wait_for("the alarm in the list", ALARM_REFRESH * 3, |s| {
        s.contains("tui-test-errors") && s.contains("✔ OK")
    });

    let pid = tui.child_pid();
    // Flip it: the row shows ALARM within one refresh. The margin is for the poll itself,
    // which on a loaded 2-core CI machine can take seconds while other tests hit moto.
    runtime.block_on(set_state(&aws.cloudwatch, &alarm, StateValue::Alarm));
    let flipped_at = Instant::now();
    let margin = Duration::from_secs(10);
    let screen = tui.wait_for("the flip to ALARM", ALARM_REFRESH + margin, |s| {
        s.contains("✖ ALARM") && s.contains("tui-test-errors")
    });
    let seen_after = flipped_at.elapsed();
    assert!(seen_after <= ALARM_REFRESH + margin, "{seen_after:?}");
    assert!(
        screen.contains("◆ ✖ ALARM"),
        "the transition is highlighted:\n{screen}"
    );
    // The selection follows the alarm it was on (a stack alarm, when a poll ran before the
    // test's alarm existed); the flipped alarm now sorts first: select it, read its history.
    tui.keys("g");
    let screen = tui.wait_for("the flipped alarm's details", long, |s| {
        s.contains("OK → ALARM")
    });
    assert!(screen.contains("history: this session's polls"), "{screen}");
    eprintln!("alarm flip seen after {seen_after:?} (refresh every {ALARM_REFRESH:?})");
    if let Some(kib) = pid.as_deref().and_then(rss_kib) {
        eprintln!("txdeploy RSS while monitoring: {} MiB", kib / 1024);
        assert!(kib < 512 * 1024, "RSS {kib} KiB");
    }

    // Quit: the shell gets the terminal back in cooked mode, off the alternate screen.
    tui.keys("q");
    let after = tui.wait_for("txdeploy to exit", long, |s| {
        s.contains("txdeploy exited") && s.contains("icanon")
    });
    assert!(after.contains("txdeploy exited 0"), "{after}");
    assert!(
        after.contains(" icanon") || after.starts_with("icanon") || after.contains("\nicanon"),
        "raw mode still on: {after}"
    );
    assert!(
        !after.contains("-icanon") && !after.contains("-echo "),
        "raw mode still on: {after}"
    );
    assert_eq!(
        tui.tmux(&["display-message", "-p", "#{alternate_on}"])
            .trim(),
        "0"
    );
    assert_eq!(
        tui.tmux(&["display-message", "-p", "#{cursor_flag}"])
            .trim(),
        "1"
    );
    // Logs went to the file, not over the screen.
    let log = dir
        .path()
        .join(".txdeploy")
        .join(format!("{prefix}-dev"))
        .join("tui.log");
    assert!(log.is_file(), "no log file at {}", log.display());
}

/// Runs the binary in `dir` with `args` and returns (exit code, stdout).
fn run_binary(dir: &Path, endpoint: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(binary_env(endpoint))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn monitor_once_exits_1_only_while_an_alarm_fires_and_the_stream_prints_transitions() {
    let endpoint = moto_or_skip!();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (aws, _) = runtime.block_on(clients(&endpoint));
    let prefix = unique_stack();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &prefix);
    let alarm = format!("{prefix}-dev-once-errors");
    runtime.block_on(put_alarm(&aws.cloudwatch, &alarm, "f"));

    let (code, out) = run_binary(dir.path(), &endpoint, &["monitor", "--once"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&alarm) && out.contains("✔ OK"), "{out}");

    runtime.block_on(set_state(&aws.cloudwatch, &alarm, StateValue::Alarm));
    let (code, out) = run_binary(dir.path(), &endpoint, &["--json", "monitor", "--once"]);
    assert_eq!(code, Some(1), "{out}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["counts"]["ALARM"], 1);
    assert_eq!(doc["alarms"][0]["name"], alarm.as_str());

    // The stream: every state once, then the transition, until SIGINT (exit 0).
    let mut child = Command::new(BIN)
        .args(["--non-interactive", "monitor", "--interval", "1"])
        .current_dir(dir.path())
        .env_clear()
        .envs(binary_env(&endpoint))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next_matching = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with {needle:?} within 30 s"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    let first = next_matching(&alarm);
    assert!(first.contains("✖ ALARM"), "{first}");
    runtime.block_on(set_state(&aws.cloudwatch, &alarm, StateValue::Ok));
    let transition = next_matching("ALARM → OK");
    assert!(transition.contains(&alarm), "{transition}");
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn one_refresh_is_one_describe_alarms_and_one_get_metric_data_and_no_data_is_not_zero() {
    let endpoint = moto_or_skip!();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (aws, counter) = clients(&endpoint).await;
        let mut config = Config::defaults().unwrap();
        config.stack.prefix = unique_stack();
        let function = config.physical_name("transaction-validator");
        // Ten minutes of invocations for one function; everything else has no data.
        let now = txdeploy::monitor::now_ms() / 1000;
        let data: Vec<MetricDatum> = (0..10)
            .map(|i| {
                MetricDatum::builder()
                    .metric_name("Invocations")
                    .dimensions(
                        Dimension::builder()
                            .name("FunctionName")
                            .value(&function)
                            .build(),
                    )
                    .timestamp(DateTime::from_secs(now - i * 60))
                    .value(5.0)
                    .build()
            })
            .collect();
        aws.cloudwatch
            .put_metric_data()
            .namespace("AWS/Lambda")
            .set_metric_data(Some(data))
            .send()
            .await
            .unwrap();
        let specs = dashboard_metrics(&config);
        let before = counter.snapshot();
        let frame = metric_poller::fetch(
            &aws.cloudwatch,
            &specs,
            MetricWindow::default(),
            txdeploy::monitor::now_ms(),
        )
        .await
        .unwrap();
        let alarms = fetch_alarms(&aws.cloudwatch, &format!("{}-", config.stack_name()))
            .await
            .unwrap();
        assert!(alarms.iter().all(|a| a.state != AlarmState::Alarm));
        let ops: Vec<String> = counter
            .snapshot()
            .since(&before)
            .by_operation()
            .into_iter()
            .map(|((_, op), n)| format!("{op}={n}"))
            .collect();
        assert_eq!(
            ops,
            ["DescribeAlarms=1", "GetMetricData=1"],
            "calls per refresh"
        );
        assert_eq!(frame.calls, 1);
        eprintln!(
            "one refresh: {} series in {} GetMetricData call + 1 DescribeAlarms",
            frame.queries, frame.calls
        );

        let invocations = specs
            .iter()
            .find(|s| s.title() == "transaction-validator · invocations")
            .unwrap();
        let series = &frame.series[&invocations.id];
        assert_eq!(series.points.len(), 10);
        assert_eq!(series.latest(), Some(5.0));
        // A metric nobody wrote: no points, never a zero.
        let errors = specs
            .iter()
            .find(|s| s.title() == "transaction-validator · errors")
            .unwrap();
        assert!(
            frame
                .series
                .get(&errors.id)
                .is_none_or(|s| s.points.is_empty())
        );
        // Metric math comes back empty from moto: also "no data", not zero.
        let rate = specs
            .iter()
            .find(|s| s.title() == "transaction-validator · error rate")
            .unwrap();
        assert!(
            frame
                .series
                .get(&rate.id)
                .is_none_or(|s| s.latest().is_none())
        );
    });
}

#[test]
fn a_query_cloudwatch_cannot_compute_reads_as_an_error_and_the_rest_still_shows() {
    let endpoint = moto_or_skip!();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (aws, _) = clients(&endpoint).await;
        let mut config = Config::defaults().unwrap();
        config.stack.prefix = unique_stack();
        let function = config.physical_name("notification-handler");
        let now = txdeploy::monitor::now_ms() / 1000;
        // Invocations and durations: moto 5.2.5 answers a p50/p99 query over real durations
        // with HTTP 500, which is what exercises the fallback here.
        let datum = |name: &str, value: f64| {
            MetricDatum::builder()
                .metric_name(name)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(&function)
                        .build(),
                )
                .timestamp(DateTime::from_secs(now - 60))
                .value(value)
                .build()
        };
        aws.cloudwatch
            .put_metric_data()
            .namespace("AWS/Lambda")
            .metric_data(datum("Invocations", 3.0))
            .metric_data(datum("Duration", 42.0))
            .send()
            .await
            .unwrap();
        let specs = dashboard_metrics(&config);
        let frame = metric_poller::fetch(
            &aws.cloudwatch,
            &specs,
            MetricWindow::default(),
            txdeploy::monitor::now_ms(),
        )
        .await
        .unwrap();
        let series = |title: &str| {
            let spec = specs.iter().find(|s| s.title() == title).unwrap();
            frame.series.get(&spec.id).cloned()
        };
        let invocations = series("notification-handler · invocations").unwrap();
        assert_eq!(invocations.latest(), Some(3.0));
        let p50 = series("notification-handler · duration p50").unwrap();
        // Either CloudWatch computed it, or it says it could not: never an empty zero.
        match &p50.status {
            metric_poller::SeriesStatus::Failed(why) => {
                assert!(p50.points.is_empty());
                assert!(frame.calls > 1, "the fallback made more calls");
                eprintln!("p50: {why}; the refresh took {} calls", frame.calls);
            }
            _ => assert_eq!(p50.latest(), Some(42.0)),
        }
    });
}

#[test]
fn sigterm_ends_the_tui_and_gives_the_terminal_back() {
    let endpoint = moto_or_skip!();
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &unique_stack());
    let tui = Tmux::start(dir.path(), &endpoint);
    tui.wait_for("the launch screen", Duration::from_secs(60), |s| {
        s.contains("Loading in parallel 5/5")
    });
    let pid = tui.child_pid().expect("txdeploy runs in the pane");
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let after = tui.wait_for("txdeploy to exit", Duration::from_secs(30), |s| {
        s.contains("txdeploy exited") && s.contains("icanon")
    });
    assert!(after.contains("txdeploy exited 0"), "{after}");
    assert!(
        !after.contains("-icanon") && !after.contains("-echo "),
        "{after}"
    );
    assert_eq!(
        tui.tmux(&["display-message", "-p", "#{alternate_on}"])
            .trim(),
        "0"
    );
}
