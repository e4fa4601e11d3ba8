//! `txdeploy monitor`: the dashboard and alarms TUI on a terminal; otherwise alarm
//! transitions as lines (or NDJSON) until Ctrl-C, or with `--once` the alarm table and an
//! exit code that says whether any alarm is in ALARM.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use super::alarm_poller::{AlarmInfo, AlarmState, fetch_alarms};
use super::transition_log::{Transition, TransitionLog, format_rfc3339, format_time};
use super::{METRIC_INTERVAL, MonitorEvent, PollSource, PollerControl, alarm_prefix, now_ms};
use crate::adapters::{AwsAccess, AwsCloud};
use crate::app::{AppContext, Outcome, OutputMode, RunError};
use crate::cli::MonitorArgs;
use crate::tui::{self, TuiOptions};

/// Runs `txdeploy monitor` with `args`.
pub async fn run(ctx: &AppContext, args: &MonitorArgs) -> Result<Outcome, RunError> {
    let interval = Duration::from_secs(args.interval);
    if ctx.output.is_interactive() && !args.once {
        return tui::run(ctx, TuiOptions::monitor(interval)).await;
    }
    let (cloud, _calls) = AwsCloud::connect(&AwsAccess::from(&ctx.config.aws)).await;
    let client = cloud.clients().cloudwatch.clone();
    let prefix = alarm_prefix(&ctx.config);
    let json = ctx.output == OutputMode::Json;
    let mut out = std::io::stdout();
    if args.once {
        let alarms = fetch_alarms(&client, &prefix).await?;
        print_table(&mut out, &ctx.config.stack_name(), &alarms, now_ms(), json);
        let firing = alarms.iter().any(|a| a.state == AlarmState::Alarm);
        return Ok(if firing {
            Outcome::AlarmsFiring
        } else {
            Outcome::Done
        });
    }
    let control = PollerControl::new(Default::default(), Default::default());
    let (events, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let poller = control.spawn_alarms(client, prefix.clone(), interval, events);
    let mut printer = TransitionPrinter::new(json, prefix, interval);
    // One listener for the whole run, so a Ctrl-C between two polls is not missed.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            event = receiver.recv() => match event {
                Some(event) => printer.event(&mut out, &event),
                None => break,
            },
            _ = &mut ctrl_c => break,
        }
    }
    control.stop();
    let _ = poller.await;
    Ok(Outcome::Done)
}

/// `--once`: one row per alarm, worst first, then the counts (or one JSON document).
pub fn print_table(out: &mut dyn Write, stack: &str, alarms: &[AlarmInfo], at_ms: i64, json: bool) {
    let count = |state| alarms.iter().filter(|a| a.state == state).count();
    let (alarm, no_data, ok) = (
        count(AlarmState::Alarm),
        count(AlarmState::InsufficientData),
        count(AlarmState::Ok),
    );
    if json {
        let doc = json!({
            "event": "alarms",
            "stack": stack,
            "at": format_rfc3339(at_ms),
            "alarms": alarms,
            "counts": {"ALARM": alarm, "INSUFFICIENT_DATA": no_data, "OK": ok},
        });
        let _ = writeln!(out, "{doc}");
        return;
    }
    if alarms.is_empty() {
        let _ = writeln!(
            out,
            "no alarms named `{stack}-*` yet; `txdeploy apply` creates them"
        );
        return;
    }
    let name_width = alarms
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(
        out,
        "{:<19}  {:<name_width$}  {:<20}  THRESHOLD",
        "STATE", "ALARM", "LAST CHANGE"
    );
    for a in alarms {
        let state = format!("{} {}", a.state.symbol(), a.state.as_str());
        let changed = a.updated_ms.map_or_else(|| "-".to_owned(), format_time);
        let _ = writeln!(
            out,
            "{state:<19}  {:<name_width$}  {changed:<20}  {}",
            a.name, a.threshold
        );
        if !a.reason.is_empty() {
            let _ = writeln!(out, "{:21}reason: {}", "", a.reason);
        }
    }
    let _ = writeln!(
        out,
        "{} alarms: {alarm} ALARM, {no_data} INSUFFICIENT_DATA, {ok} OK",
        alarms.len()
    );
}

/// Turns alarm polls into lines: every alarm's state once, then each transition.
pub struct TransitionPrinter {
    json: bool,
    prefix: String,
    interval: Duration,
    log: TransitionLog,
    /// Whether the last poll failed, so a failure streak is reported once.
    failing: bool,
}

impl TransitionPrinter {
    pub fn new(json: bool, prefix: String, interval: Duration) -> Self {
        Self {
            json,
            prefix,
            interval,
            log: TransitionLog::new(),
            failing: false,
        }
    }

    /// Prints what `event` says; failures go to stderr in plain mode.
    pub fn event(&mut self, out: &mut dyn Write, event: &MonitorEvent) {
        match event {
            MonitorEvent::Alarms { at_ms, alarms } => {
                self.failing = false;
                let first = self.log.polls() == 0;
                let transitions = self.log.observe(alarms, *at_ms);
                if first {
                    self.started(out, alarms, *at_ms);
                }
                for t in &transitions {
                    self.transition(out, t);
                }
            }
            MonitorEvent::Failed {
                source: PollSource::Alarms,
                at_ms,
                error,
            } => {
                if self.failing {
                    return;
                }
                self.failing = true;
                if self.json {
                    let doc = json!({"event": "poll_failed", "source": "alarms",
                        "at": format_rfc3339(*at_ms), "error": error});
                    let _ = writeln!(out, "{doc}");
                } else {
                    eprintln!(
                        "warning: reading the alarms failed ({error}); trying again every {} s",
                        self.interval.as_secs()
                    );
                }
            }
            MonitorEvent::Failed { .. } | MonitorEvent::Metrics(_) => {}
        }
    }

    fn started(&self, out: &mut dyn Write, alarms: &[AlarmInfo], at_ms: i64) {
        if self.json {
            let doc = json!({"event": "monitor_started", "prefix": self.prefix,
                "interval_s": self.interval.as_secs(), "at": format_rfc3339(at_ms),
                "alarms": alarms.len()});
            let _ = writeln!(out, "{doc}");
            for alarm in alarms {
                let doc =
                    json!({"event": "alarm_state", "at": format_rfc3339(at_ms), "alarm": alarm});
                let _ = writeln!(out, "{doc}");
            }
        } else {
            let _ = writeln!(
                out,
                "watching {} alarm(s) named `{}*` every {} s; Ctrl-C stops",
                alarms.len(),
                self.prefix,
                self.interval.as_secs()
            );
            for a in alarms {
                let since = a.updated_ms.map_or_else(|| "?".to_owned(), format_time);
                let _ = writeln!(
                    out,
                    "{}  {} {:<17} {}  (since {since}): {}",
                    format_time(at_ms),
                    a.state.symbol(),
                    a.state.as_str(),
                    a.name,
                    a.reason
                );
            }
        }
    }

    fn transition(&self, out: &mut dyn Write, t: &Transition) {
        if self.json {
            let doc = json!({
                "event": "alarm_transition",
                "at": format_rfc3339(t.seen_ms),
                "alarm": t.alarm,
                "from": t.from,
                "to": t.to,
                "changed_at": t.changed_ms.map(format_rfc3339),
                "reason": t.reason,
            });
            let _ = writeln!(out, "{doc}");
        } else {
            let changed = t.changed_ms.map_or_else(|| "?".to_owned(), format_time);
            let _ = writeln!(
                out,
                "{}  {} {:<17} {}  {} (changed {changed}): {}",
                format_time(t.seen_ms),
                t.to.symbol(),
                t.to.as_str(),
                t.alarm,
                t.arrow(),
                t.reason
            );
        }
    }
}

/// How often the TUI refreshes metrics for an alarm interval: at least a minute.
pub fn metric_interval(alarm_interval: Duration) -> Duration {
    alarm_interval.max(METRIC_INTERVAL)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::monitor::alarm_poller::AlarmKind;

    const T0: i64 = 1_700_000_000_000;

    fn alarm(name: &str, state: AlarmState, updated_ms: i64, reason: &str) -> AlarmInfo {
        AlarmInfo {
            name: name.to_owned(),
            kind: AlarmKind::Metric,
            state,
            reason: reason.to_owned(),
            threshold: "Errors (Sum, 60 s) > 1 for 1 of 1".to_owned(),
            updated_ms: Some(updated_ms),
            description: None,
            actions: Vec::new(),
            actions_enabled: true,
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_table_lists_worst_first_with_symbols_and_counts() {
        let alarms = [
            alarm(
                "tx-dev-validator-errors",
                AlarmState::Alarm,
                T0,
                "Threshold Crossed",
            ),
            alarm("tx-dev-dlq", AlarmState::Ok, T0 - 60_000, ""),
        ];
        let mut out = Vec::new();
        print_table(&mut out, "tx-dev", &alarms, T0, false);
        insta::assert_snapshot!(text(out), @r"
        STATE                ALARM                    LAST CHANGE           THRESHOLD
        ✖ ALARM              tx-dev-validator-errors  2023-11-14 22:13:20Z  Errors (Sum, 60 s) > 1 for 1 of 1
                             reason: Threshold Crossed
        ✔ OK                 tx-dev-dlq               2023-11-14 22:12:20Z  Errors (Sum, 60 s) > 1 for 1 of 1
        2 alarms: 1 ALARM, 0 INSUFFICIENT_DATA, 1 OK
        ");
        let mut out = Vec::new();
        print_table(&mut out, "tx-dev", &alarms, T0, true);
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["counts"]["ALARM"], 1);
        assert_eq!(doc["alarms"][0]["state"], "ALARM");
    }

    #[test]
    fn lines_show_every_state_once_then_only_transitions() {
        let mut printer = TransitionPrinter::new(false, "tx-dev-".into(), Duration::from_secs(10));
        let mut out = Vec::new();
        let ok = [alarm("tx-dev-a", AlarmState::Ok, T0, "fine")];
        printer.event(
            &mut out,
            &MonitorEvent::Alarms {
                at_ms: T0,
                alarms: ok.to_vec(),
            },
        );
        printer.event(
            &mut out,
            &MonitorEvent::Alarms {
                at_ms: T0 + 10_000,
                alarms: ok.to_vec(),
            },
        );
        let firing = [alarm("tx-dev-a", AlarmState::Alarm, T0 + 15_000, "broken")];
        printer.event(
            &mut out,
            &MonitorEvent::Alarms {
                at_ms: T0 + 20_000,
                alarms: firing.to_vec(),
            },
        );
        insta::assert_snapshot!(text(out), @r"
        watching 1 alarm(s) named `tx-dev-*` every 10 s; Ctrl-C stops
        2023-11-14 22:13:20Z  ✔ OK                tx-dev-a  (since 2023-11-14 22:13:20Z): fine
        2023-11-14 22:13:40Z  ✖ ALARM             tx-dev-a  OK → ALARM (changed 2023-11-14 22:13:35Z): broken
        ");
    }

    #[test]
    fn ndjson_has_one_object_per_line_and_reports_a_failure_streak_once() {
        let mut printer = TransitionPrinter::new(true, "tx-dev-".into(), Duration::from_secs(10));
        let mut out = Vec::new();
        printer.event(
            &mut out,
            &MonitorEvent::Alarms {
                at_ms: T0,
                alarms: vec![alarm("tx-dev-a", AlarmState::Ok, T0, "")],
            },
        );
        let failed = MonitorEvent::Failed {
            source: PollSource::Alarms,
            at_ms: T0 + 1,
            error: "cloudwatch:DescribeAlarms failed".into(),
        };
        printer.event(&mut out, &failed);
        printer.event(&mut out, &failed);
        printer.event(
            &mut out,
            &MonitorEvent::Alarms {
                at_ms: T0 + 2,
                alarms: vec![alarm("tx-dev-a", AlarmState::Alarm, T0 + 2, "x")],
            },
        );
        let events: Vec<String> = text(out)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            events,
            [
                "monitor_started",
                "alarm_state",
                "poll_failed",
                "alarm_transition"
            ]
        );
    }

    #[test]
    fn metrics_refresh_at_most_once_a_minute() {
        assert_eq!(
            metric_interval(Duration::from_secs(10)),
            Duration::from_secs(60)
        );
        assert_eq!(
            metric_interval(Duration::from_secs(300)),
            Duration::from_secs(300)
        );
    }
}
