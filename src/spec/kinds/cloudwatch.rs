//! CloudWatch: metric alarms (plain and metric math) and the dashboard.

use std::collections::BTreeMap;

use crate::spec::resource_spec::{Fields, field, update};
use crate::spec::value::{OutputRef, Value};

/// How a metric is aggregated over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statistic {
    /// `Sum`, `Maximum`, `Average`, …
    Standard(String),
    /// A percentile such as `p99` (`ExtendedStatistic`).
    Extended(String),
}

/// One metric, aggregated.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricStat {
    pub namespace: String,
    pub metric_name: String,
    /// Dimension name to value; values reference the resources they measure.
    pub dimensions: BTreeMap<String, Value>,
    pub period_seconds: u32,
    pub statistic: Statistic,
}

impl MetricStat {
    fn dimensions_value(&self) -> Value {
        Value::map(self.dimensions.iter().map(|(k, v)| (k.clone(), v.clone())))
    }
}

/// A query of a metric-math alarm: a metric or an expression over other queries' ids.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryBody {
    Metric(MetricStat),
    Expression(String),
}

/// One entry of a metric-math alarm's `Metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    /// Lowercase letter first, then letters, digits and `_`.
    pub id: String,
    pub body: QueryBody,
    pub label: Option<String>,
    /// Exactly one query of an alarm returns data (AWS rejects two; moto does not).
    pub return_data: bool,
}

/// What an alarm watches.
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmMetric {
    Single(MetricStat),
    /// Metric math: the alarm compares the one query that returns data.
    Math(Vec<MetricQuery>),
}

impl AlarmMetric {
    fn to_value(&self) -> Value {
        match self {
            AlarmMetric::Single(stat) => {
                let (statistic, extended) = match &stat.statistic {
                    Statistic::Standard(s) => (Value::str(s.clone()), Value::Null),
                    Statistic::Extended(s) => (Value::Null, Value::str(s.clone())),
                };
                Value::map([
                    ("namespace", Value::str(stat.namespace.clone())),
                    ("metric_name", Value::str(stat.metric_name.clone())),
                    ("dimensions", stat.dimensions_value()),
                    ("period", stat.period_seconds.into()),
                    ("statistic", statistic),
                    ("extended_statistic", extended),
                ])
            }
            AlarmMetric::Math(queries) => Value::map([(
                "metrics",
                Value::list(queries.iter().map(|q| {
                    let (metric, expression) = match &q.body {
                        QueryBody::Metric(stat) => {
                            let stat_name = match &stat.statistic {
                                Statistic::Standard(s) | Statistic::Extended(s) => s.clone(),
                            };
                            (
                                Value::map([
                                    ("namespace", Value::str(stat.namespace.clone())),
                                    ("metric_name", Value::str(stat.metric_name.clone())),
                                    ("dimensions", stat.dimensions_value()),
                                    ("period", stat.period_seconds.into()),
                                    ("stat", Value::Str(stat_name)),
                                ]),
                                Value::Null,
                            )
                        }
                        QueryBody::Expression(e) => (Value::Null, Value::str(e.clone())),
                    };
                    Value::map([
                        ("id", Value::str(q.id.clone())),
                        ("metric", metric),
                        ("expression", expression),
                        ("label", q.label.clone().map_or(Value::Null, Value::Str)),
                        ("return_data", Value::Bool(q.return_data)),
                    ])
                })),
            )]),
        }
    }
}

/// A metric alarm. The physical name is the alarm name.
///
/// Fields (all update: `PutMetricAlarm` replaces the whole alarm):
/// - `alarm_description` (string).
/// - `metric`: either `{"namespace", "metric_name", "dimensions": {name: value}, "period",
///   "statistic": string | null, "extended_statistic": string | null}` or, for metric math,
///   `{"metrics": [{"id", "metric": {"namespace", "metric_name", "dimensions", "period",
///   "stat"} | null, "expression": string | null, "label": string | null, "return_data"}]}`
///   in the order sent.
/// - `comparison_operator`, `threshold` (float), `evaluation_periods`,
///   `datapoints_to_alarm`, `treat_missing_data`.
/// - `alarm_actions`, `ok_actions`: lists of topic ARNs.
/// - `tags`.
///
/// Outputs: `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmSpec {
    pub description: String,
    pub metric: AlarmMetric,
    pub comparison_operator: String,
    pub threshold: f64,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    /// `notBreaching`: no traffic is not an incident.
    pub treat_missing_data: String,
    /// Topic ARNs notified on ALARM.
    pub alarm_actions: Vec<OutputRef>,
    /// Topic ARNs notified on OK.
    pub ok_actions: Vec<OutputRef>,
}

impl AlarmSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(field::ALARM_DESCRIPTION, update(self.description.as_str()));
        fields.insert(field::METRIC, update(self.metric.to_value()));
        fields.insert(
            field::COMPARISON_OPERATOR,
            update(self.comparison_operator.as_str()),
        );
        fields.insert(field::THRESHOLD, update(Value::Float(self.threshold)));
        fields.insert(field::EVALUATION_PERIODS, update(self.evaluation_periods));
        fields.insert(field::DATAPOINTS_TO_ALARM, update(self.datapoints_to_alarm));
        fields.insert(
            field::TREAT_MISSING_DATA,
            update(self.treat_missing_data.as_str()),
        );
        let refs = |actions: &[OutputRef]| Value::list(actions.iter().cloned().map(Value::Ref));
        fields.insert(field::ALARM_ACTIONS, update(refs(&self.alarm_actions)));
        fields.insert(field::OK_ACTIONS, update(refs(&self.ok_actions)));
    }
}

/// A dashboard. The physical name is the dashboard name.
///
/// Fields: `dashboard_body`: the body document (a JSON value; sent as text after
/// `stack::dashboard::validate_dashboard_body` accepts it), update via `PutDashboard`. Not
/// taggable. Outputs: `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardSpec {
    /// The body, built from references: it is resolved only when every name is known.
    pub body: Value,
}

impl DashboardSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::DASHBOARD_BODY,
            update(Value::JsonText(Box::new(self.body.clone()))),
        );
    }
}
