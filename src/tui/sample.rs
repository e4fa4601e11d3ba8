//! Deterministic sample states of every screen, built from the real stack definition: the
//! view snapshots and the render benchmark draw these.

use crate::cloud::{CloudError, ErrorClass};
use crate::config::Config;
use crate::engine::{ApplyOutcome, SkipReason, plan_dependencies};
use crate::fake_cloud::fake_environment;
use crate::monitor::metric_poller::{MetricFrame, MetricWindow, Series, SeriesStatus, time_range};
use crate::monitor::metric_spec::Source;
use crate::monitor::{AlarmInfo, AlarmKind, AlarmState, MetricSpec, dashboard_metrics};
use crate::plan::{
    Action, Desired, FieldDiff, ObservedState, Plan, PlanOptions, Warning, WarningKind,
};
use crate::spec::{CheckedGraph, ResourceId, ResourceKind, Service};
use crate::stack;

use super::app_event::{AppEvent, ApplyUpdate, Loaded};
use super::app_state::{AppState, LocalState, NodeState, Screen, StackInfo};
use super::update::update;

/// A fixed wall-clock instant (Unix ms) the samples are drawn at.
pub const T0: i64 = 1_764_338_958_000;

/// # Panics
///
/// Only if the embedded default config does not parse, which `config` tests rule out.
fn config() -> Config {
    Config::defaults().unwrap_or_else(|e| panic!("the embedded defaults do not parse: {e}"))
}

/// # Panics
///
/// Only if the stack built from the defaults is inconsistent, which `stack` tests rule out.
fn graph() -> CheckedGraph {
    let inputs = stack::StackInputs {
        bundle: stack::BundleInfo::embedded(),
        account_concurrency_limit: None,
    };
    let mut graph = stack::build(&config(), &fake_environment(), &inputs);
    // The KMS, S3, SQS and SNS part: small enough for an 80x24 snapshot to show whole, and
    // what the fake cloud simulates.
    graph.retain(|s| {
        matches!(
            s.kind().service(),
            Service::Kms | Service::S3 | Service::Sqs | Service::Sns
        )
    });
    graph
        .check()
        .unwrap_or_else(|e| panic!("the stack graph does not check: {e:?}"))
}

/// What the launch screen shows before any AWS call.
pub fn info() -> StackInfo {
    StackInfo {
        stack: "tx-dev".to_owned(),
        region: Some("us-east-1".to_owned()),
        endpoint: Some("http://127.0.0.1:5000".to_owned()),
        bundle_sha256: None,
        state_dir: ".txdeploy".to_owned(),
        log_file: Some(".txdeploy/tx-dev/tui.log".to_owned()),
        alarm_interval_s: 10,
        metric_interval_s: 60,
    }
}

/// A fresh state on `screen`, everything loading.
pub fn state(screen: Screen) -> AppState {
    AppState::new(info(), dashboard_metrics(&config()), screen)
}

/// The plan of a fresh stack: every resource created, in dependency order.
pub fn plan() -> Plan {
    let env = fake_environment();
    crate::plan::plan(
        "tx-dev",
        &env,
        &graph(),
        &ObservedState::default(),
        PlanOptions::apply(),
    )
}

/// The executor's dependencies of `plan` (by plan index).
pub fn plan_deps(plan: &Plan) -> Vec<Vec<usize>> {
    plan_dependencies(plan, &graph())
}

/// A plan with every kind of change: some unchanged, an update with a field diff and a
/// warning, a replacement, creates.
pub fn mixed_plan() -> Plan {
    let mut plan = plan();
    for change in &mut plan.changes {
        match change.id.to_string().as_str() {
            "kms_key/s3" | "kms_alias/s3" | "kms_key/dynamodb" | "kms_alias/dynamodb" => {
                change.action = Action::NoOp;
                change.diffs.clear();
            }
            "queue/analytics" => {
                change.action = Action::Update;
                change.diffs = vec![FieldDiff {
                    field: "visibility_timeout_seconds".to_owned(),
                    before: Some(serde_json::json!(30)),
                    after: Desired::Known(serde_json::json!(180)),
                    forces_replace: None,
                }];
                change.warnings = vec![Warning {
                    kind: WarningKind::AwsRule,
                    message: "the visibility timeout must stay at least 6x the consumer's \
                              timeout"
                        .to_owned(),
                }];
            }
            "topic/notifications" => {
                change.action = Action::Replace {
                    reason: "`kms_key` cannot change in place".to_owned(),
                };
                change.diffs = vec![FieldDiff {
                    field: "kms_key".to_owned(),
                    before: Some(serde_json::json!(
                        "arn:aws:kms:us-east-1:123456789012:key/0b7c1f0e-old"
                    )),
                    after: Desired::Known(serde_json::json!(
                        "arn:aws:kms:us-east-1:123456789012:key/9d2a55e1-new"
                    )),
                    forces_replace: Some("SNS cannot change a topic's key in place"),
                }];
                change.warnings = vec![Warning {
                    kind: WarningKind::DataRisk,
                    message: "subscriptions are recreated; messages in flight are lost".into(),
                }];
            }
            _ => {}
        }
    }
    plan
}

/// Every alarm of a full stack (per-function error rate and throttles, concurrency, DLQs,
/// API 5XX and latency, table throttles, and the 16 autoscaling alarms), one in ALARM.
pub fn alarms(at_ms: i64) -> Vec<AlarmInfo> {
    let alarm =
        |name: String, state: AlarmState, threshold: &str, reason: &str, age_s: i64| AlarmInfo {
            name: format!("tx-dev-{name}"),
            kind: AlarmKind::Metric,
            state,
            reason: reason.to_owned(),
            threshold: threshold.to_owned(),
            updated_ms: Some(at_ms - age_s * 1000),
            description: None,
            actions: vec!["arn:aws:sns:us-east-1:123456789012:tx-dev-alarms".to_owned()],
            actions_enabled: true,
        };
    let ok = "Threshold Crossed: no datapoints were received for 1 period";
    let mut list = Vec::new();
    for (i, function) in crate::monitor::metric_spec::FUNCTIONS.iter().enumerate() {
        let age = 3600 + i64::try_from(i).unwrap_or(0) * 60;
        list.push(alarm(
            format!("{function}-error-rate"),
            AlarmState::Ok,
            "100 * errors / invocations > 1 for 1 of 1",
            ok,
            age,
        ));
        list.push(alarm(
            format!("{function}-throttles"),
            AlarmState::Ok,
            "Throttles (Sum, 60 s) > 0 for 1 of 1",
            ok,
            age,
        ));
    }
    list.push(alarm(
        "account-concurrency".into(),
        AlarmState::Ok,
        "ConcurrentExecutions (Maximum, 60 s) > 800 for 3 of 3",
        ok,
        7200,
    ));
    for queue in ["analytics-dlq", "reporting-dlq", "notification-failures"] {
        list.push(alarm(
            format!("{queue}-not-empty"),
            AlarmState::InsufficientData,
            "ApproximateNumberOfMessagesVisible (Maximum, 60 s) > 0 for 1 of 1",
            "Insufficient Data: 1 datapoint was unknown",
            5400,
        ));
    }
    list.push(alarm(
        "api-5xx-rate".into(),
        AlarmState::Ok,
        "100 * e5xx / requests > 1 for 3 of 5",
        ok,
        3000,
    ));
    list.push(alarm(
        "api-latency-p99".into(),
        AlarmState::Alarm,
        "Latency (p99, 60 s) > 1500 for 3 of 3",
        "Threshold Crossed: 3 datapoints [2210.0, 1984.5, 1760.2] were greater than the threshold (1500.0)",
        25,
    ));
    list.push(alarm(
        "transactions-throttles".into(),
        AlarmState::Ok,
        "ThrottledRequests (Sum, 60 s) > 0 for 1 of 1",
        ok,
        3000,
    ));
    for target in ["table", "merchant-date-index"] {
        for dim in ["read", "write"] {
            for side in ["high", "low"] {
                for n in 0..2 {
                    list.push(alarm(
                        format!("autoscaling-{target}-{dim}-{side}-{n}"),
                        AlarmState::Ok,
                        "Consumed (Sum, 60 s) > 70 % of provisioned for 2 of 2",
                        ok,
                        86_000,
                    ));
                }
            }
        }
    }
    list
}

/// Deterministic series for `specs`: smooth waves, with the metric-math series empty (as
/// moto returns them) and a few series with no data at all.
pub fn metric_frame(specs: &[MetricSpec], window: MetricWindow, at_ms: i64) -> MetricFrame {
    let window = window.normalized();
    let (start_s, end_s) = time_range(window, at_ms);
    let period = i64::from(window.period_s);
    let series = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let empty = matches!(spec.source, Source::Expression(_))
                || spec.label == "throttles"
                || spec.group == "reporting-dlq";
            let points = if empty {
                Vec::new()
            } else {
                let scale = 10.0 + (i % 7) as f64 * 25.0;
                (0..window.points())
                    .map(|p| {
                        let t = start_s + i64::from(p) * period;
                        let phase = f64::from(p) / 9.0 + i as f64;
                        (t, (scale * (1.0 + phase.sin())).round())
                    })
                    .collect()
            };
            (
                spec.id.clone(),
                Series {
                    points,
                    status: SeriesStatus::Complete,
                },
            )
        })
        .collect();
    MetricFrame {
        at_ms,
        window,
        start_s,
        end_s,
        series,
        calls: 1,
        queries: specs.len(),
    }
}

fn apply_event(state: &mut AppState, event: AppEvent) {
    let _ = update(state, event);
}

/// Launch finished: account, mixed plan, local state and alarms loaded.
pub fn launched() -> AppState {
    let mut state = state(Screen::Launch);
    state.clock_ms = 2300;
    apply_event(
        &mut state,
        AppEvent::Loaded(Loaded::Account(Ok(fake_environment()))),
    );
    apply_event(
        &mut state,
        AppEvent::Loaded(Loaded::Local(Ok(LocalState {
            last_apply: Some((
                "20261128T101500123Z-4f2a".to_owned(),
                Some(ApplyOutcome::Succeeded),
            )),
            unfinished_steps: 0,
            lock_holder: None,
        }))),
    );
    apply_event(
        &mut state,
        AppEvent::Loaded(Loaded::Release(Ok(Some(crate::release::CurrentRelease {
            number: 3,
            created_at: "2026-11-28T10:15:42Z".to_owned(),
            live: true,
        })))),
    );
    apply_event(
        &mut state,
        AppEvent::Monitor(crate::monitor::MonitorEvent::Alarms {
            at_ms: T0,
            alarms: alarms(T0),
        }),
    );
    apply_event(
        &mut state,
        AppEvent::Loaded(Loaded::Plan(Ok(Box::new(mixed_plan())))),
    );
    state.dirty = false;
    state
}

/// Position (among visible changes) of the sample's update.
pub fn selected_update(state: &AppState) -> usize {
    let visible = state.plan.visible_changes();
    state
        .plan
        .plan
        .as_ref()
        .and_then(|plan| {
            visible
                .iter()
                .position(|i| plan.changes[*i].action == Action::Update)
        })
        .unwrap_or(0)
}

/// An apply of the fresh-stack plan half way: keys done, queues running (one retrying,
/// one with a wait message), the rest waiting.
pub fn deploying() -> AppState {
    let mut state = state(Screen::Plan);
    let plan = plan();
    apply_event(
        &mut state,
        AppEvent::Loaded(Loaded::Plan(Ok(Box::new(plan.clone())))),
    );
    apply_event(&mut state, AppEvent::Key(key('a')));
    apply_event(&mut state, AppEvent::Key(key('y')));
    apply_event(
        &mut state,
        AppEvent::Apply(ApplyUpdate::Started {
            deps: plan_deps(&plan),
        }),
    );
    let exec = |state: &mut AppState, at_ms, event| {
        apply_event(state, AppEvent::Exec { at_ms, event });
    };
    use crate::engine::ExecEvent as E;
    exec(
        &mut state,
        0,
        E::ApplyStarted {
            apply_id: "20261128T141518123Z-9c1d".into(),
            stack: "tx-dev".into(),
            changes: plan.changes.len(),
        },
    );
    for change in &plan.changes {
        let id = change.id.clone();
        match id.kind() {
            ResourceKind::KmsKey | ResourceKind::KmsAlias => {
                exec(
                    &mut state,
                    10,
                    E::NodeStarted {
                        id: id.clone(),
                        action: "create",
                    },
                );
                exec(
                    &mut state,
                    450,
                    E::NodeSucceeded {
                        id,
                        action: "create",
                        elapsed_ms: 440,
                    },
                );
            }
            ResourceKind::Queue if id.to_string().ends_with("-dlq") => {
                exec(
                    &mut state,
                    500,
                    E::NodeStarted {
                        id,
                        action: "create",
                    },
                );
            }
            _ => {}
        }
    }
    let dlq = ResourceId::new(ResourceKind::Queue, "analytics-dlq");
    exec(
        &mut state,
        900,
        E::NodeRetrying {
            id: dlq,
            attempt: 2,
            class: ErrorClass::Throttled,
            error: "sqs:CreateQueue failed (throttled, RequestThrottled): Rate exceeded".into(),
            delay_ms: 1600,
        },
    );
    let bucket = ResourceId::new(ResourceKind::Bucket, "logs");
    exec(
        &mut state,
        600,
        E::NodeStarted {
            id: bucket.clone(),
            action: "create",
        },
    );
    exec(
        &mut state,
        1200,
        E::NodeProgress {
            id: bucket,
            message: "waiting for the bucket policy to apply: 40% of the checks".into(),
        },
    );
    apply_event(&mut state, AppEvent::Tick { now_ms: 2100 });
    state.dirty = false;
    state
}

/// The same apply after a fatal error: one failed node, its dependents skipped.
pub fn deploy_failed() -> AppState {
    let mut state = deploying();
    use crate::engine::ExecEvent as E;
    let queue = |name: &str| ResourceId::new(ResourceKind::Queue, name);
    let events = vec![
        E::NodeFailed {
            id: ResourceId::new(ResourceKind::Bucket, "logs"),
            action: "create",
            error: CloudError::from_parts(
                "s3",
                "PutBucketPolicy",
                Some("MalformedPolicy"),
                Some(400),
                "Policy has invalid resource",
            ),
            elapsed_ms: 2400,
        },
        E::NodeSucceeded {
            id: queue("analytics-dlq"),
            action: "create",
            elapsed_ms: 2500,
        },
        E::NodeSucceeded {
            id: queue("reporting-dlq"),
            action: "create",
            elapsed_ms: 610,
        },
        E::NodeSucceeded {
            id: queue("notification-failures"),
            action: "create",
            elapsed_ms: 580,
        },
    ];
    for event in events {
        apply_event(&mut state, AppEvent::Exec { at_ms: 3000, event });
    }
    let waiting: Vec<_> = state
        .deploy
        .as_ref()
        .map(|d| {
            d.nodes
                .iter()
                .filter(|n| n.state == NodeState::Waiting)
                .map(|n| n.id.clone())
                .collect()
        })
        .unwrap_or_default();
    for id in waiting {
        apply_event(
            &mut state,
            AppEvent::Exec {
                at_ms: 3000,
                event: E::NodeSkipped {
                    id,
                    reason: SkipReason::Stopped,
                },
            },
        );
    }
    apply_event(
        &mut state,
        AppEvent::Exec {
            at_ms: 3100,
            event: E::ApplyFinished {
                outcome: ApplyOutcome::Failed,
                succeeded: 11,
                failed: 1,
                skipped: 4,
                elapsed_ms: 3100,
            },
        },
    );
    // The deploy screen selects the failure.
    if let Some(deploy) = &mut state.deploy {
        deploy.selected = deploy
            .visible()
            .iter()
            .position(|i| matches!(deploy.nodes[*i].state, NodeState::Failed(_)))
            .unwrap_or(0);
    }
    state.dirty = false;
    state
}

/// The failed apply of `deploy_failed` while its undo runs: one queue put back (deleted),
/// one kept because it holds data, one being deleted, the failed bucket found absent.
pub fn deploy_rolling_back() -> AppState {
    let mut state = deploy_failed();
    use crate::engine::ExecEvent as E;
    let queue = |name: &str| ResourceId::new(ResourceKind::Queue, name);
    let events = vec![
        E::UndoStarted { steps: 4, kept: 0 },
        E::UndoStepStarted {
            id: ResourceId::new(ResourceKind::Bucket, "logs"),
            action: "keep",
        },
        E::UndoStepSucceeded {
            id: ResourceId::new(ResourceKind::Bucket, "logs"),
            action: "keep",
            result: "already absent",
            elapsed_ms: 40,
        },
        E::UndoStepStarted {
            id: queue("analytics-dlq"),
            action: "keep",
        },
        E::UndoStepSucceeded {
            id: queue("analytics-dlq"),
            action: "keep",
            result: "kept",
            elapsed_ms: 35,
        },
        E::UndoStepStarted {
            id: queue("reporting-dlq"),
            action: "keep",
        },
    ];
    for event in events {
        apply_event(&mut state, AppEvent::Exec { at_ms: 3300, event });
    }
    apply_event(&mut state, AppEvent::Tick { now_ms: 3500 });
    state.dirty = false;
    state
}

/// The dashboard with one refresh of every series.
pub fn dashboard() -> AppState {
    let mut state = launched();
    apply_event(&mut state, AppEvent::Key(key('4')));
    let frame = metric_frame(&state.dashboard.specs, state.dashboard.window, T0);
    apply_event(
        &mut state,
        AppEvent::Monitor(crate::monitor::MonitorEvent::Metrics(frame)),
    );
    state.dirty = false;
    state
}

/// The alarms screen right after a poll that saw `api-latency-p99` go to ALARM.
pub fn alarms_screen() -> AppState {
    let mut state = launched();
    apply_event(&mut state, AppEvent::Key(key('5')));
    // `launched` polled with the alarm already firing; poll once with it OK first so the
    // flip is a transition this session saw.
    let mut before = alarms(T0);
    for a in &mut before {
        if a.state == AlarmState::Alarm {
            a.state = AlarmState::Ok;
            a.updated_ms = Some(T0 - 600_000);
        }
    }
    state.alarms = Default::default();
    for (at_ms, list) in [
        (T0 - 20_000, before.clone()),
        (T0 - 10_000, before),
        (T0, alarms(T0)),
    ] {
        apply_event(
            &mut state,
            AppEvent::Monitor(crate::monitor::MonitorEvent::Alarms {
                at_ms,
                alarms: list,
            }),
        );
    }
    // The fresh ALARM sorts first; show its details.
    state.alarms.selected = 0;
    state.dirty = false;
    state
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}

/// A canary apply: every step done, then the window 2 min 10 s into 5 min with 10 % on the
/// new versions; one error-rate alarm OK, the API 5XX alarm without data, the rest waiting
/// for their first poll.
pub fn canary_window() -> AppState {
    use crate::canary::{CanaryAlias, CanaryEvent};
    use crate::engine::ExecEvent as E;
    let mut state = state(Screen::Plan);
    let plan = plan();
    apply_event(
        &mut state,
        AppEvent::Loaded(Loaded::Plan(Ok(Box::new(plan.clone())))),
    );
    apply_event(&mut state, AppEvent::Key(key('a')));
    apply_event(&mut state, AppEvent::Key(key('y')));
    apply_event(
        &mut state,
        AppEvent::Apply(ApplyUpdate::Started {
            deps: plan_deps(&plan),
        }),
    );
    let mut exec = |at_ms, event| apply_event(&mut state, AppEvent::Exec { at_ms, event });
    exec(
        0,
        E::ApplyStarted {
            apply_id: "20261128T141518123Z-9c1d".into(),
            stack: "tx-dev".into(),
            changes: plan.changes.len(),
        },
    );
    for change in plan.changes.iter().filter(|c| c.action.mutates()) {
        exec(
            100,
            E::NodeSucceeded {
                id: change.id.clone(),
                action: "create",
                elapsed_ms: 400,
            },
        );
    }
    exec(
        2000,
        E::ApplyFinished {
            outcome: ApplyOutcome::Succeeded,
            succeeded: plan.changes.len(),
            failed: 0,
            skipped: 0,
            elapsed_ms: 2000,
        },
    );
    let alarm = |logical: &str| format!("tx-dev-{logical}");
    let function = |logical: &str| format!("tx-dev-{logical}");
    let mut canary = |at_ms, event| apply_event(&mut state, AppEvent::Canary { at_ms, event });
    canary(
        3000,
        CanaryEvent::CanaryStarted {
            weight_percent: 10,
            window_ms: 300_000,
            aliases: ["transaction-validator", "notification-handler"]
                .iter()
                .map(|l| CanaryAlias {
                    function: function(l),
                    alias: "live".into(),
                    stable_version: "3".into(),
                    canary_version: "4".into(),
                })
                .collect(),
            alarms: vec![
                alarm("transaction-validator-error-rate"),
                alarm("notification-handler-error-rate"),
                alarm("api-5xx-rate"),
            ],
        },
    );
    canary(
        3100,
        CanaryEvent::CanaryAlarm {
            alarm: alarm("transaction-validator-error-rate"),
            state: AlarmState::Ok,
            reason: "Threshold Crossed: no datapoints were above 1.0".into(),
            remaining_ms: 299_900,
        },
    );
    canary(
        3100,
        CanaryEvent::CanaryAlarm {
            alarm: alarm("api-5xx-rate"),
            state: AlarmState::InsufficientData,
            reason: "Insufficient Data: 5 datapoints were unknown".into(),
            remaining_ms: 299_900,
        },
    );
    apply_event(&mut state, AppEvent::Tick { now_ms: 133_000 });
    state.notice = None;
    state.dirty = false;
    state
}
