//! Canary releases against moto: the whole stack deployed, then a new build applied with a
//! canary of a few seconds. Promoted when no watched alarm fires; rolled back when one is
//! flipped to ALARM with SetAlarmState during the window. The aliases are read back with the
//! SDK after each phase. A split left on an alias (an interrupted canary, or weights set by
//! hand) shows in `plan` and `audit`, and `apply` clears it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use tokio::sync::mpsc;
use txdeploy::adapters::call_counter::is_read;
use txdeploy::adapters::{AwsAccess, AwsClients, AwsCloud};
use txdeploy::app::commands::canary_result;
use txdeploy::app::session::Session;
use txdeploy::audit::Status;
use txdeploy::canary::{
    CanaryEvent, CanaryOutcome, PromoteTrigger, RollbackCause, canary_for_apply, watched_alarms,
};
use txdeploy::config::Config;
use txdeploy::plan::{Action, Desired, Plan, PlanOptions, WarningKind};
use txdeploy::report::plan_report::render_text;
use txdeploy::stack::{BundleInfo, Handler, StackInputs};

use crate::audit_tests::run_audit;
use crate::harness::moto_session::{apply, moto_access};
use crate::harness::{moto_or_skip, unique_stack};
use crate::stack_tests::{changed_ids, moto_gap_ids};

async fn connect(endpoint: &str) -> AwsCloud {
    let access = AwsAccess {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    };
    AwsCloud::connect(&access).await.0
}

/// Where an alias routes: its version and its additional version weights.
async fn alias_routing(clients: &AwsClients, physical: &str) -> (String, Vec<(String, f64)>) {
    let (function, alias) = physical.rsplit_once(':').unwrap();
    let got = clients
        .lambda
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
        .unwrap();
    let weights = got
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    (got.function_version().unwrap().to_owned(), weights)
}

/// A deployed stack, then the same stack with a new build applied as a canary of
/// `canary` (aliases now route part of the traffic to the new versions).
struct CanaryStack {
    session: Session,
    plan: Plan,
    clients: AwsClients,
    /// `function:live` of every handler, with its version before the canary apply.
    aliases: Vec<(String, String)>,
}

async fn deploy_then_canary_apply(endpoint: &str, canary: &str) -> CanaryStack {
    let mut config = Config::defaults().unwrap();
    config.stack.prefix = unique_stack();
    config.deploy.canary_poll_seconds = 1;
    let first = Session::open(config.clone(), Arc::new(connect(endpoint).await))
        .await
        .unwrap();
    apply(&first, PlanOptions::apply()).await;
    let aliases: Vec<String> = Handler::ALL
        .iter()
        .map(|h| {
            first
                .graph
                .get(&h.alias_id())
                .unwrap()
                .physical_name
                .clone()
        })
        .collect();
    let cloud = connect(endpoint).await;
    let clients = cloud.clients().clone();
    let mut before = Vec::new();
    for alias in &aliases {
        let (version, weights) = alias_routing(&clients, alias).await;
        assert!(weights.is_empty(), "{alias}: {weights:?}");
        before.push((alias.clone(), version));
    }
    // A new build: the desired CodeSha256 differs, so every function gets new code and a
    // new version, and every alias moves.
    config.deploy.canary = canary.to_owned();
    let inputs = StackInputs {
        bundle: BundleInfo {
            code_sha256: "a-new-build-of-the-handlers".to_owned(),
            ..BundleInfo::embedded()
        },
        account_concurrency_limit: None,
    };
    let session = Session::open_with(config, Arc::new(cloud), &inputs)
        .await
        .unwrap();
    let plan = apply(&session, PlanOptions::apply()).await;
    assert_eq!(txdeploy::canary::moved_aliases(&plan).len(), 4);
    CanaryStack {
        session,
        plan,
        clients,
        aliases: before,
    }
}

/// The canary apply moved no alias fully: the old version stays primary and the new one
/// gets the weight.
async fn assert_split(stack: &CanaryStack, weight: f64) -> Vec<String> {
    let mut new_versions = Vec::new();
    for (alias, old) in &stack.aliases {
        let (version, weights) = alias_routing(&stack.clients, alias).await;
        assert_eq!(&version, old, "{alias}: the primary version moved");
        assert_eq!(weights.len(), 1, "{alias}: {weights:?}");
        assert_ne!(&weights[0].0, old, "{alias}");
        assert!((weights[0].1 - weight).abs() < 1e-9, "{alias}: {weights:?}");
        new_versions.push(weights[0].0.clone());
    }
    new_versions
}

fn collect(mut rx: mpsc::UnboundedReceiver<CanaryEvent>) -> Vec<CanaryEvent> {
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_promoted_when_no_watched_alarm_fires() {
    let endpoint = moto_or_skip!();
    let stack = deploy_then_canary_apply(&endpoint, "20%:3s").await;
    let new_versions = assert_split(&stack, 0.2).await;
    // Clients of their own, so the counter holds the canary phase's calls alone.
    let access = AwsAccess {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.clone()),
    };
    let (own, counter) = AwsCloud::connect(&access).await;
    let canary = canary_for_apply(own.clients().clone(), &stack.session, &stack.plan)
        .await
        .unwrap()
        .expect("the apply left the aliases in a canary");
    assert_eq!(canary.aliases().len(), 4);
    let (events, receiver) = mpsc::unbounded_channel();
    let (_commands, mut commands) = mpsc::unbounded_channel();
    let started = Instant::now();
    let outcome = canary.run(&events, &mut commands).await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        outcome,
        CanaryOutcome::Promoted(PromoteTrigger::WindowPassed)
    );
    assert!(
        took >= Duration::from_secs(3),
        "promoted before the window ended: {took:?}"
    );
    for ((alias, _), new) in stack.aliases.iter().zip(&new_versions) {
        let (version, weights) = alias_routing(&stack.clients, alias).await;
        assert_eq!(&version, new, "{alias}: not on the new version");
        assert!(weights.is_empty(), "{alias}: routing left: {weights:?}");
    }
    drop(events);
    let events = collect(receiver);
    let watched = watched_alarms(&stack.session.graph);
    assert_eq!(watched.len(), 5, "4 error rates and the API 5XX rate");
    match &events[0] {
        CanaryEvent::CanaryStarted {
            weight_percent,
            window_ms,
            aliases,
            alarms,
        } => {
            assert_eq!((*weight_percent, *window_ms), (20, 3000));
            assert_eq!(aliases.len(), 4);
            assert_eq!(alarms.len(), 5);
        }
        other => panic!("first event: {other:?}"),
    }
    // Each watched alarm is reported once (its first state), not on every poll.
    let alarm_events = events
        .iter()
        .filter(|e| matches!(e, CanaryEvent::CanaryAlarm { .. }))
        .count();
    assert_eq!(alarm_events, 5, "{events:#?}");
    assert!(matches!(
        events.last(),
        Some(CanaryEvent::CanaryPromoted {
            trigger: PromoteTrigger::WindowPassed,
            ..
        })
    ));
    let calls = counter.snapshot();
    // 4 GetAlias, one DescribeAlarms per poll (about 4 in 3 s at 1 s), 4 UpdateAlias.
    assert_eq!(calls.mutations(), 4, "{:?}", calls.mutating_operations());
    eprintln!(
        "canary promoted: window 3 s, took {took:?}, {} reads, {} mutations",
        calls.reads(),
        calls.mutations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_rolled_back_by_an_alarm_flipped_with_set_alarm_state() {
    let endpoint = moto_or_skip!();
    let stack = deploy_then_canary_apply(&endpoint, "10%:20s").await;
    assert_split(&stack, 0.1).await;
    let alarm = stack
        .session
        .graph
        .get(&txdeploy::spec::ResourceId::new(
            txdeploy::spec::ResourceKind::Alarm,
            "transaction-validator-error-rate",
        ))
        .unwrap()
        .physical_name
        .clone();
    let canary = canary_for_apply(stack.clients.clone(), &stack.session, &stack.plan)
        .await
        .unwrap()
        .unwrap();
    let cloudwatch = stack.clients.cloudwatch.clone();
    let flipped = alarm.clone();
    let flip = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cloudwatch
            .set_alarm_state()
            .alarm_name(&flipped)
            .state_value(StateValue::Alarm)
            .state_reason("canary test: 7 errors in 20 invocations")
            .send()
            .await
            .unwrap();
    });
    let (events, receiver) = mpsc::unbounded_channel();
    let (_commands, mut commands) = mpsc::unbounded_channel();
    let started = Instant::now();
    let result = canary.run(&events, &mut commands).await;
    let took = started.elapsed();
    flip.await.unwrap();
    let expected = RollbackCause::Alarm {
        alarm: alarm.clone(),
        reason: "canary test: 7 errors in 20 invocations".to_owned(),
    };
    assert_eq!(
        result.as_ref().unwrap(),
        &CanaryOutcome::RolledBack(expected.clone())
    );
    assert!(
        took < Duration::from_secs(10),
        "the rollback waited for the window: {took:?}"
    );
    for (alias, old) in &stack.aliases {
        let (version, weights) = alias_routing(&stack.clients, alias).await;
        assert_eq!(&version, old, "{alias}: not back on the old version");
        assert!(weights.is_empty(), "{alias}: routing left: {weights:?}");
    }
    drop(events);
    let events = collect(receiver);
    assert!(events.iter().any(|e| matches!(
        e,
        CanaryEvent::CanaryAlarm { alarm: a, state: txdeploy::monitor::AlarmState::Alarm, .. } if *a == alarm
    )));
    assert!(matches!(
        events.last(),
        Some(CanaryEvent::CanaryRolledBack { cause, .. }) if *cause == expected
    ));
    // The run ends with exit 1 and a message naming the alarm and its reason.
    let error = canary_result(result).unwrap_err();
    assert_eq!(error.exit_code(), 1);
    let message = error.to_string();
    assert!(message.contains("rolled back"), "{message}");
    assert!(message.contains(&format!("`{alarm}`")), "{message}");
    assert!(message.contains("7 errors in 20 invocations"), "{message}");
    eprintln!("canary rolled back by `{alarm}` after {took:?}");
}

fn json_events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.contains("\"event\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The run's `aws_calls` event: it must come after the canary's `end` event, so it counts
/// the window's calls too. Returns the calls per `Service:Operation`.
fn calls_after(events: &[serde_json::Value], end: &str) -> serde_json::Value {
    let position = |name: &str| {
        events
            .iter()
            .position(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no `{name}` event in {events:#?}"))
    };
    assert!(
        position("aws_calls") > position(end),
        "the calls line is printed before the canary window ended: {events:#?}"
    );
    events[position("aws_calls")]["calls"]["operations"].clone()
}

/// `apply --canary` through the real binary: a watched alarm already in ALARM rolls the
/// canary back at the first poll (exit 1, the alarm named on stderr); once it is OK again the
/// same release is promoted (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_canary_through_the_binary_rolls_back_then_promotes() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let state = tempfile::tempdir().unwrap();
    let txdeploy = || {
        crate::harness::Txdeploy::new()
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("TXDEPLOY_STACK__PREFIX", &prefix)
            .env("TXDEPLOY_DEPLOY__CANARY_POLL_SECONDS", "1")
            .arg("--non-interactive")
            .arg("--state-dir")
            .arg(state.path())
    };
    let first = tokio::task::block_in_place(|| txdeploy().args(["--json", "apply"]).run());
    first.code(0);
    // A memory change publishes a new version of the validator and moves its alias only.
    let release = || {
        txdeploy()
            .env("TXDEPLOY_LAMBDA__VALIDATOR_MEMORY_MB", "2048")
            .args(["--json", "apply", "--canary", "25%:2s"])
    };
    let alarm = format!("{prefix}-dev-transaction-validator-error-rate");
    let alias = format!("{prefix}-dev-transaction-validator:live");
    let clients = connect(&endpoint).await.clients().clone();
    let (old, _) = alias_routing(&clients, &alias).await;
    let set_alarm = |state: StateValue, reason: &'static str| {
        let cloudwatch = clients.cloudwatch.clone();
        let alarm = alarm.clone();
        async move {
            cloudwatch
                .set_alarm_state()
                .alarm_name(alarm)
                .state_value(state)
                .state_reason(reason)
                .send()
                .await
                .unwrap();
        }
    };
    set_alarm(StateValue::Alarm, "errors above 1 % since the release").await;

    let rolled_back = tokio::task::block_in_place(|| release().run());
    rolled_back
        .code(1)
        .stderr_has("the canary was rolled back")
        .stderr_has(&format!(
            "`{alarm}` fired: errors above 1 % since the release"
        ));
    let events = json_events(&rolled_back.stdout);
    let started = events
        .iter()
        .find(|e| e["event"] == "canary_started")
        .unwrap();
    assert_eq!(started["weight_percent"], 25);
    assert_eq!(started["aliases"].as_array().unwrap().len(), 1);
    let end = events
        .iter()
        .find(|e| e["event"] == "canary_rolled_back")
        .unwrap();
    assert_eq!(end["cause"], "alarm");
    assert_eq!(end["alarm"], alarm.as_str());
    // `--json` ends a failed run with its error as the last line.
    assert_eq!(events.last().unwrap()["event"], "error");
    // The calls line counts the window: the split at apply and the rollback in the window
    // are one `UpdateAlias` each.
    let calls = calls_after(&events, "canary_rolled_back");
    assert_eq!(calls["Lambda:UpdateAlias"], 2, "{calls:#}");
    let (version, weights) = alias_routing(&clients, &alias).await;
    assert_eq!(version, old, "the alias went back to the old version");
    assert!(weights.is_empty(), "{weights:?}");

    set_alarm(StateValue::Ok, "back to normal").await;
    let promoted = tokio::task::block_in_place(|| release().run());
    promoted.code(0);
    let events = json_events(&promoted.stdout);
    // The release is recorded after the promotion; on moto that ends in a warning line
    // (the TLS-only bucket policy gap: `release_tests::moto_gap_tls_only_policy_…`).
    let promoted_event = events
        .iter()
        .find(|e| e["event"] == "canary_promoted")
        .unwrap();
    assert_eq!(promoted_event["trigger"], "window_passed");
    // The split at apply and the promotion in the window: one `UpdateAlias` each.
    let calls = calls_after(&events, "canary_promoted");
    eprintln!("`apply --canary 25%:2s` through the binary, calls: {calls:#}");
    assert_eq!(calls["Lambda:UpdateAlias"], 2, "{calls:#}");
    let (version, weights) = alias_routing(&clients, &alias).await;
    assert_ne!(version, old, "the alias moved to the new version");
    assert!(weights.is_empty(), "{weights:?}");
}

/// A split left on one alias (a canary killed in its window, or weights set by hand with
/// `UpdateAlias`): `plan` shows exactly that alias's routing change and says why, `audit`
/// fails `lambda.alias-no-split`, `apply` clears it with exactly one `UpdateAlias` and the
/// alias reads back whole on the same version. moto stores and returns `RoutingConfig`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_alias_is_planned_audited_and_cleared_by_one_update_alias() {
    let endpoint = moto_or_skip!();
    let mut config = Config::defaults().unwrap();
    config.stack.prefix = unique_stack();
    let cloud = connect(&endpoint).await;
    let clients = cloud.clients().clone();
    let first = Session::open(config.clone(), Arc::new(cloud))
        .await
        .unwrap();
    apply(&first, PlanOptions::apply()).await;
    // A memory change publishes version 2 of the validator and moves its alias there, so
    // version 1 is an older version that traffic can be routed back to.
    config.lambda.validator_memory_mb += 128;
    let (cloud, counter) = AwsCloud::connect(&moto_access(&endpoint)).await;
    let session = Session::open(config, Arc::new(cloud)).await.unwrap();
    apply(&session, PlanOptions::apply()).await;
    let alias_id = Handler::TransactionValidator.alias_id();
    let physical = session.graph.get(&alias_id).unwrap().physical_name.clone();
    let (primary, weights) = alias_routing(&clients, &physical).await;
    assert!(weights.is_empty(), "{weights:?}");
    let old = (primary.parse::<u32>().unwrap() - 1).to_string();

    // By hand: 10% back to the old version, the primary left as it is.
    let (function, alias) = physical.rsplit_once(':').unwrap();
    clients
        .lambda
        .update_alias()
        .function_name(function)
        .name(alias)
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights(&old, 0.1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        alias_routing(&clients, &physical).await,
        (primary.clone(), vec![(old.clone(), 0.1)]),
        "moto stores and returns RoutingConfig"
    );

    let observed = session.observe().await.unwrap();
    let plan = session.plan(&observed, PlanOptions::apply()).await;
    let mut expected = moto_gap_ids();
    expected.insert(alias_id.to_string());
    assert_eq!(changed_ids(&plan), expected);
    let change = plan.get(&alias_id).unwrap();
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.diffs.len(), 1, "{:?}", change.diffs);
    assert_eq!(change.diffs[0].field, "routing");
    assert_eq!(
        change.diffs[0].before,
        Some(serde_json::json!({ old.as_str(): 0.1 }))
    );
    assert_eq!(
        change.diffs[0].after,
        Desired::Known(serde_json::Value::Null)
    );
    assert_eq!(change.warnings.len(), 1);
    assert_eq!(change.warnings[0].kind, WarningKind::Traffic);
    let text = render_text(&plan, false);
    eprint!("{text}");
    assert!(
        text.contains(&format!("routing: {{\"{old}\":0.1}} -> null")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "routes 10% to version {old}: a canary was interrupted"
        )),
        "{text}"
    );

    let audit = run_audit(&session, &clients).await;
    assert_eq!(
        audit.ids(Status::Fail),
        ["lambda.alias-no-split", "stack.converged"],
        "{}",
        audit.render_text()
    );
    let split = audit
        .results
        .iter()
        .find(|r| r.id == "lambda.alias-no-split")
        .unwrap();
    assert_eq!(split.findings.len(), 1);
    assert_eq!(split.findings[0].resource, alias_id.to_string());
    assert_eq!(split.findings[0].field, "routing");

    let before = counter.snapshot();
    apply(&session, PlanOptions::apply()).await;
    let calls = counter.snapshot().since(&before).by_operation();
    let lambda_mutations: Vec<_> = calls
        .iter()
        .filter(|((service, op), _)| service == "Lambda" && !is_read(op))
        .filter(|((_, op), _)| op != "UpdateEventSourceMapping")
        .collect();
    assert_eq!(
        lambda_mutations,
        [(&("Lambda".to_owned(), "UpdateAlias".to_owned()), &1)],
        "one UpdateAlias and nothing else on Lambda but the moto gap's mappings"
    );
    assert_eq!(
        alias_routing(&clients, &physical).await,
        (primary, Vec::new()),
        "the split is gone and the primary version stayed"
    );
    let observed = session.observe().await.unwrap();
    let plan = session.plan(&observed, PlanOptions::apply()).await;
    assert_eq!(changed_ids(&plan), moto_gap_ids());
    let audit = run_audit(&session, &clients).await;
    assert_eq!(audit.ids(Status::Fail), Vec::<&str>::new());
}
