//! The CloudWatch adapter against moto: alarms (metric math, p99) and the dashboard read back
//! exactly as their specs resolve, one changed setting costs exactly one Put call, the alarm
//! state never plans a change, and deletes leave nothing behind. Skipped with a notice when
//! `TXDEPLOY_TEST_ENDPOINT` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{Value as Json, json};
use txdeploy::adapters::CallCounts;
use txdeploy::cloud::{Cloud, ErrorClass};
use txdeploy::spec::{
    AlarmMetric, AlarmSpec, OutputKey, ResourceKind, ResourceSpec, SpecBody, Value,
};

use crate::harness::{AdapterFixture, moto_or_skip};

fn alarm_spec(spec: &mut ResourceSpec) -> &mut AlarmSpec {
    match &mut spec.body {
        SpecBody::Alarm(alarm) => alarm,
        other => panic!("not an alarm: {other:?}"),
    }
}

/// Calls to one `CloudWatch` operation.
fn count(calls: &CallCounts, operation: &str) -> u64 {
    calls
        .by_operation()
        .get(&("CloudWatch".to_owned(), operation.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn metric_math_alarm_round_trips_and_a_threshold_change_is_one_put_metric_alarm() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = fx.spec(ResourceKind::Alarm, "api-5xx-rate");
    assert!(matches!(alarm_spec(&mut spec).metric, AlarmMetric::Math(_)));
    assert_eq!(fx.observe(&spec).await, None);

    let outputs = fx.create(&spec).await;
    assert_eq!(outputs[&OutputKey::Name], spec.physical_name);
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs, outputs);
    assert!(
        outputs[&OutputKey::Arn].ends_with(&format!(":alarm:{}", spec.physical_name)),
        "{outputs:?}"
    );
    // Metric math reads back as a list of queries, exactly one returning data.
    let queries = observed.fields["metric"]["metrics"].as_array().unwrap();
    assert!(queries.len() >= 2, "{queries:?}");
    assert_eq!(
        queries
            .iter()
            .filter(|q| q["return_data"] == json!(true))
            .count(),
        1
    );

    alarm_spec(&mut spec).threshold += 2.5;
    let calls = fx.update(&spec, &["threshold"]).await;
    assert_eq!(calls.mutating_operations(), ["CloudWatch:PutMetricAlarm"]);
    assert_eq!(count(&calls, "PutMetricAlarm"), 1);
    fx.assert_converged(&spec).await;

    // Several settings at once are still one PutMetricAlarm.
    alarm_spec(&mut spec).description = "5XX rate, retuned".to_owned();
    alarm_spec(&mut spec).evaluation_periods += 2;
    let calls = fx
        .update(&spec, &["alarm_description", "evaluation_periods"])
        .await;
    assert_eq!(calls.mutations(), 1);
    assert_eq!(count(&calls, "PutMetricAlarm"), 1);
    fx.assert_converged(&spec).await;

    spec.tags.insert("team".to_owned(), "payments".to_owned());
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["CloudWatch:TagResource"]);
    fx.assert_converged(&spec).await;
    spec.tags.remove("team");
    let calls = fx.update(&spec, &["tags"]).await;
    assert_eq!(calls.mutating_operations(), ["CloudWatch:UntagResource"]);
    fx.assert_converged(&spec).await;

    fx.delete_twice(&spec).await;
}

#[tokio::test]
async fn p99_alarm_round_trips_and_its_state_never_plans_a_change() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let spec = fx.spec(ResourceKind::Alarm, "api-p99-latency");
    fx.create(&spec).await;
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(
        observed.fields["metric"]["extended_statistic"],
        json!("p99")
    );
    assert_eq!(observed.fields["metric"]["statistic"], Json::Null);

    fx.cloud
        .clients()
        .cloudwatch
        .set_alarm_state()
        .alarm_name(&spec.physical_name)
        .state_value(StateValue::Alarm)
        .state_reason("test: latency incident")
        .send()
        .await
        .unwrap();
    let described = fx
        .cloud
        .clients()
        .cloudwatch
        .describe_alarms()
        .alarm_names(&spec.physical_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.metric_alarms()[0].state_value(),
        Some(&StateValue::Alarm)
    );
    let observed = fx.assert_converged(&spec).await;
    assert!(fx.changed(&spec, &observed).is_empty());

    fx.delete_twice(&spec).await;
}

#[tokio::test]
async fn dashboard_round_trips_and_a_body_change_is_one_put_dashboard() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = fx.spec(ResourceKind::Dashboard, "overview");
    assert_eq!(fx.observe(&spec).await, None);

    let outputs = fx.create(&spec).await;
    assert_eq!(outputs[&OutputKey::Name], spec.physical_name);
    let observed = fx.assert_converged(&spec).await;
    assert_eq!(observed.outputs, outputs);
    assert!(
        observed.fields["dashboard_body"]["widgets"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );

    // One more text widget below everything else.
    let SpecBody::Dashboard(dashboard) = &mut spec.body else {
        panic!("not a dashboard")
    };
    let Value::Map(body) = &mut dashboard.body else {
        panic!("the body is not a map")
    };
    let Some(Value::List(widgets)) = body.get_mut("widgets") else {
        panic!("the body has no widget list")
    };
    widgets.push(Value::map([
        ("type", Value::str("text")),
        ("x", Value::Int(0)),
        ("y", Value::Int(1000)),
        ("width", Value::Int(24)),
        ("height", Value::Int(2)),
        (
            "properties",
            Value::map([("markdown", Value::str("runbook: see README"))]),
        ),
    ]));
    let calls = fx.update(&spec, &["dashboard_body"]).await;
    assert_eq!(calls.mutating_operations(), ["CloudWatch:PutDashboard"]);
    assert_eq!(count(&calls, "PutDashboard"), 1);
    fx.assert_converged(&spec).await;

    fx.delete_twice(&spec).await;
}

/// moto gap (EMULATOR.md section 2): moto stores a dashboard whose `widgets` is not a list,
/// which AWS rejects. txdeploy validates the body first and sends nothing.
#[tokio::test]
async fn moto_gap_invalid_dashboard_body_is_refused_before_put_dashboard() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = fx.spec(ResourceKind::Dashboard, "overview");
    spec.body = SpecBody::Dashboard(txdeploy::spec::DashboardSpec {
        body: Value::map([("widgets", Value::map([("a", Value::Int(1))]))]),
    });
    fx.seed_dependencies(&spec);
    let before = fx.counter.snapshot();
    let err = fx.cloud.create(&spec, &fx.ctx()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("widgets"), "{}", err.message);
    assert_eq!(fx.counter.snapshot().since(&before).mutations(), 0);
    assert_eq!(fx.observe(&spec).await, None);
}

/// moto gap (EMULATOR.md section 2): moto accepts metric math with two queries returning
/// data, which AWS rejects. txdeploy refuses it before PutMetricAlarm.
#[tokio::test]
async fn moto_gap_metric_math_with_two_returned_queries_is_refused_before_put() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let mut spec = fx.spec(ResourceKind::Alarm, "api-5xx-rate");
    let AlarmMetric::Math(queries) = &mut alarm_spec(&mut spec).metric else {
        panic!("not metric math")
    };
    queries.iter_mut().for_each(|q| q.return_data = true);
    fx.seed_dependencies(&spec);
    let before = fx.counter.snapshot();
    let err = fx.cloud.create(&spec, &fx.ctx()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("return_data"), "{}", err.message);
    assert_eq!(fx.counter.snapshot().since(&before).mutations(), 0);
    assert_eq!(fx.observe(&spec).await, None);
}

#[tokio::test]
async fn discover_finds_this_stacks_alarms_by_tag() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let spec = fx.spec(ResourceKind::Alarm, "api-p99-latency");
    fx.create(&spec).await;
    let stack = spec.tags[txdeploy::stack::STACK_TAG].clone();
    let found = fx.cloud.discover(&stack, &fx.env).await.unwrap();
    let alarm = found
        .iter()
        .find(|d| d.id == spec.id)
        .expect("the alarm is discovered");
    assert_eq!(alarm.observed.physical_id, spec.physical_name);
    fx.delete_twice(&spec).await;
    let found = fx.cloud.discover(&stack, &fx.env).await.unwrap();
    assert!(found.iter().all(|d| d.id != spec.id));
}

/// Every alarm the stack defines (plain, percentile, metric math, no dimensions) reads back
/// exactly as specified, so a converged stack plans no alarm change.
#[tokio::test]
async fn every_alarm_of_the_stack_reads_back_as_specified() {
    let endpoint = moto_or_skip!();
    let mut fx = AdapterFixture::new(&endpoint).await;
    let logicals: Vec<String> = fx
        .graph
        .in_order()
        .filter(|s| s.kind() == ResourceKind::Alarm)
        .map(|s| s.id.logical().to_owned())
        .collect();
    assert!(logicals.len() > 10, "{logicals:?}");
    for logical in &logicals {
        let spec = fx.spec(ResourceKind::Alarm, logical);
        fx.create(&spec).await;
        fx.assert_converged(&spec).await;
    }
    for logical in &logicals {
        let spec = fx.spec(ResourceKind::Alarm, logical);
        fx.delete_twice(&spec).await;
    }
}
