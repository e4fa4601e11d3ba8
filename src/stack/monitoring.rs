//! The alarms and the dashboard: per function an error RATE (metric math) and throttles;
//! the account's concurrent executions against its real limit; every dead-letter queue; the
//! API's 5XX rate and p99 latency; DynamoDB throttled requests. Every alarm notifies the
//! `alarms` topic on ALARM and on OK.

use std::collections::BTreeMap;

use super::api::{rest_api_id, stage_id};
use super::dashboard::dashboard_body;
use super::data::table_id;
use super::messaging::{ALARMS_TOPIC, dead_letter_queues};
use super::{Builder, DEFAULT_ACCOUNT_CONCURRENCY_LIMIT, Handler, id};
use crate::spec::{
    AlarmMetric, AlarmSpec, DashboardSpec, MetricQuery, MetricStat, OutputRef, QueryBody,
    ResourceGraph, ResourceId, ResourceKind, ResourceSpec, SpecBody, Statistic, Value,
};

/// The dashboard's logical name.
pub const DASHBOARD: &str = "overview";
/// The period of every alarm's metrics.
const PERIOD_SECONDS: u32 = 60;
/// The DynamoDB operations the handlers call; `ThrottledRequests` is reported per operation.
const TABLE_OPERATIONS: [(&str, &str); 4] = [
    ("put_item", "PutItem"),
    ("get_item", "GetItem"),
    ("update_item", "UpdateItem"),
    ("query", "Query"),
];

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    let alarms: Vec<ResourceSpec> = alarms(b);
    let ids = alarms.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    for alarm in alarms {
        graph.add(alarm);
    }
    graph.add(b.spec(
        ResourceKind::Dashboard,
        DASHBOARD,
        SpecBody::Dashboard(DashboardSpec {
            body: dashboard_body(&ids),
        }),
    ));
}

/// `{name: value}` dimensions.
fn dimensions<const N: usize>(entries: [(&str, Value); N]) -> BTreeMap<String, Value> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn stat(
    namespace: &str,
    metric: &str,
    dims: BTreeMap<String, Value>,
    statistic: &str,
) -> MetricStat {
    MetricStat {
        namespace: namespace.to_owned(),
        metric_name: metric.to_owned(),
        dimensions: dims,
        period_seconds: PERIOD_SECONDS,
        statistic: Statistic::Standard(statistic.to_owned()),
    }
}

fn query(id: &str, stat: MetricStat) -> MetricQuery {
    MetricQuery {
        id: id.to_owned(),
        body: QueryBody::Metric(stat),
        label: None,
        return_data: false,
    }
}

/// The one query of a metric-math alarm that returns data.
fn expression(id: &str, expression: &str, label: &str) -> MetricQuery {
    MetricQuery {
        id: id.to_owned(),
        body: QueryBody::Expression(expression.to_owned()),
        label: Some(label.to_owned()),
        return_data: true,
    }
}

/// The logical name of a function's error-rate alarm.
fn error_rate_alarm(handler: Handler) -> String {
    format!("{}-error-rate", handler.logical())
}

/// The logical name of the API's 5XX-rate alarm.
const API_5XX_ALARM: &str = "api-5xx-rate";

/// The alarms a canary watches: each function's error rate and the API's 5XX rate, the
/// ones a bad version of the code trips first.
pub fn canary_alarm_ids() -> Vec<ResourceId> {
    Handler::ALL
        .into_iter()
        .map(error_rate_alarm)
        .chain([API_5XX_ALARM.to_owned()])
        .map(|logical| id(ResourceKind::Alarm, &logical))
        .collect()
}

/// The dimensions of a function's metrics.
pub(crate) fn function_dimensions(handler: Handler) -> BTreeMap<String, Value> {
    dimensions([(
        "FunctionName",
        OutputRef::name(&handler.function_id()).into(),
    )])
}

/// The dimensions of the stage's API metrics.
pub(crate) fn api_dimensions() -> BTreeMap<String, Value> {
    dimensions([
        ("ApiName", OutputRef::name(&rest_api_id()).into()),
        ("Stage", OutputRef::name(&stage_id()).into()),
    ])
}

/// The threshold of the concurrency alarm, and the sentence explaining the limit it uses.
pub fn concurrency_threshold(limit: Option<u32>, fraction: f64) -> (f64, String) {
    let (limit, source) = match limit {
        Some(limit) => (
            limit,
            "read from the account (GetAccountSettings)".to_owned(),
        ),
        None => (
            DEFAULT_ACCOUNT_CONCURRENCY_LIMIT,
            "ASSUMED: the account's limit could not be read (GetAccountSettings), so the \
             default of 1000 is used"
                .to_owned(),
        ),
    };
    let threshold = (fraction * f64::from(limit)).round();
    (
        threshold,
        format!(
            "Lambda concurrent executions above {:.0} % of the account limit of {limit} ({source})",
            fraction * 100.0
        ),
    )
}

struct Alarm {
    logical: String,
    description: String,
    metric: AlarmMetric,
    threshold: f64,
    evaluation_periods: u32,
    datapoints_to_alarm: u32,
}

fn alarms(b: &Builder<'_>) -> Vec<ResourceSpec> {
    let thresholds = &b.config.alarms;
    let mut all = Vec::new();
    for handler in Handler::ALL {
        let dims = function_dimensions(handler);
        let name = handler.logical();
        all.push(Alarm {
            logical: error_rate_alarm(handler),
            description: format!(
                "`{name}` error rate above {} % (errors / invocations)",
                thresholds.error_rate_percent
            ),
            metric: AlarmMetric::Math(vec![
                query("errors", stat("AWS/Lambda", "Errors", dims.clone(), "Sum")),
                query(
                    "invocations",
                    stat("AWS/Lambda", "Invocations", dims.clone(), "Sum"),
                ),
                expression(
                    "error_rate",
                    "IF(invocations > 0, 100 * errors / invocations, 0)",
                    "Error rate (%)",
                ),
            ]),
            threshold: thresholds.error_rate_percent,
            evaluation_periods: 5,
            datapoints_to_alarm: 3,
        });
        all.push(Alarm {
            logical: format!("{name}-throttles"),
            description: format!("`{name}` invocations throttled"),
            metric: AlarmMetric::Single(stat("AWS/Lambda", "Throttles", dims, "Sum")),
            threshold: 0.0,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
        });
    }
    let (threshold, description) = concurrency_threshold(
        b.inputs.account_concurrency_limit,
        thresholds.concurrency_fraction,
    );
    all.push(Alarm {
        logical: "account-concurrency".to_owned(),
        description,
        metric: AlarmMetric::Single(stat(
            "AWS/Lambda",
            "ConcurrentExecutions",
            BTreeMap::new(),
            "Maximum",
        )),
        threshold,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
    });
    for dlq in dead_letter_queues() {
        let queue = id(ResourceKind::Queue, &dlq);
        all.push(Alarm {
            logical: format!("{dlq}-messages"),
            description: format!(
                "messages in `{dlq}`: each is a transaction whose processing failed until \
                 someone looks"
            ),
            metric: AlarmMetric::Single(stat(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                dimensions([("QueueName", OutputRef::name(&queue).into())]),
                "Maximum",
            )),
            threshold: 0.0,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
        });
    }
    all.push(Alarm {
        logical: API_5XX_ALARM.to_owned(),
        description: format!(
            "API 5XX rate above {} % (5XX responses / requests)",
            thresholds.api_5xx_rate_percent
        ),
        metric: AlarmMetric::Math(vec![
            query(
                "errors",
                stat("AWS/ApiGateway", "5XXError", api_dimensions(), "Sum"),
            ),
            query(
                "requests",
                stat("AWS/ApiGateway", "Count", api_dimensions(), "Sum"),
            ),
            expression(
                "error_rate",
                "IF(requests > 0, 100 * errors / requests, 0)",
                "5XX rate (%)",
            ),
        ]),
        threshold: thresholds.api_5xx_rate_percent,
        evaluation_periods: 5,
        datapoints_to_alarm: 3,
    });
    all.push(Alarm {
        logical: "api-p99-latency".to_owned(),
        description: format!("API p99 latency above {} ms", thresholds.p99_latency_ms),
        metric: AlarmMetric::Single(MetricStat {
            statistic: Statistic::Extended("p99".to_owned()),
            ..stat("AWS/ApiGateway", "Latency", api_dimensions(), "p99")
        }),
        threshold: f64::from(thresholds.p99_latency_ms),
        evaluation_periods: 5,
        datapoints_to_alarm: 3,
    });
    let table_name: Value = OutputRef::name(&table_id()).into();
    let mut throttles: Vec<MetricQuery> = TABLE_OPERATIONS
        .iter()
        .map(|(query_id, operation)| {
            query(
                query_id,
                stat(
                    "AWS/DynamoDB",
                    "ThrottledRequests",
                    dimensions([
                        ("TableName", table_name.clone()),
                        ("Operation", Value::str(*operation)),
                    ]),
                    "Sum",
                ),
            )
        })
        .collect();
    let ids = TABLE_OPERATIONS.map(|(q, _)| q).join(", ");
    throttles.push(expression(
        "throttled",
        &format!("SUM([{ids}])"),
        "Throttled requests",
    ));
    all.push(Alarm {
        logical: "table-throttles".to_owned(),
        description: "DynamoDB requests on the transactions table throttled".to_owned(),
        metric: AlarmMetric::Math(throttles),
        threshold: 0.0,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
    });
    all.into_iter().map(|alarm| alarm_spec(b, alarm)).collect()
}

fn alarm_spec(b: &Builder<'_>, alarm: Alarm) -> ResourceSpec {
    let topic = OutputRef::arn(&id(ResourceKind::Topic, ALARMS_TOPIC));
    b.spec(
        ResourceKind::Alarm,
        &alarm.logical,
        SpecBody::Alarm(AlarmSpec {
            description: alarm.description,
            metric: alarm.metric,
            comparison_operator: "GreaterThanThreshold".to_owned(),
            threshold: alarm.threshold,
            evaluation_periods: alarm.evaluation_periods,
            datapoints_to_alarm: alarm.datapoints_to_alarm,
            treat_missing_data: "notBreaching".to_owned(),
            alarm_actions: vec![topic.clone()],
            ok_actions: vec![topic],
        }),
    )
}
