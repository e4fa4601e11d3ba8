//! CloudWatch metric alarms (plain, percentile and metric math) and the dashboard. Both are
//! found by name; an alarm's tags are read through its ARN.

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat,
    Statistic, Tag,
};
use serde_json::{Map, Value as Json};

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, TaggedResource, Tags, desired_tags, observed_tags, tags_json};
use super::{
    parse_document, resolved_f64, resolved_field, resolved_i32, resolved_text, unknown_field,
};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{OutputKey, Outputs, ResourceSpec, field};
use crate::stack::dashboard::validate_dashboard_body;

const SERVICE: &str = "cloudwatch";
/// The code CloudWatch answers with for a dashboard or alarm that does not exist.
const NOT_FOUND: &str = "ResourceNotFound";

fn outputs(arn: &str, name: &str) -> Outputs {
    Outputs::from([
        (OutputKey::Arn, arn.to_owned()),
        (OutputKey::Name, name.to_owned()),
    ])
}

fn fatal(operation: &str, message: impl Into<String>) -> CloudError {
    CloudError::fatal(SERVICE, operation, message)
}

// ---------------------------------------------------------------------------------------
// Alarms
// ---------------------------------------------------------------------------------------

/// Reads the metric alarm named `name` and its tags; `None` when it does not exist.
///
/// The alarm's state (OK, ALARM, …) is not reported: it is not something the spec desires,
/// so `SetAlarmState` or a real incident never plans a change.
pub async fn observe_alarm(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<Observed>, CloudError> {
    let Some(alarm) = describe_alarm(clients, name).await? else {
        return Ok(None);
    };
    let arn = alarm
        .alarm_arn()
        .ok_or_else(|| fatal("DescribeAlarms", "the alarm has no `AlarmArn`"))?
        .to_owned();
    let tags = list_tags(clients, &arn).await?;
    let mut fields = alarm_fields(&alarm);
    fields.insert(field::TAGS.to_owned(), tags_json(&tags));
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: outputs(&arn, name),
        fields: fields.into_iter().collect(),
    }))
}

async fn describe_alarm(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<MetricAlarm>, CloudError> {
    let described = clients
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .classified(SERVICE, "DescribeAlarms")?;
    // `AlarmNames` matches exactly; the filter guards against an emulator that prefixes.
    Ok(described
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(name))
        .cloned())
}

/// Every field of an alarm except `tags`, in the shapes `AlarmSpec::add_fields` documents.
fn alarm_fields(alarm: &MetricAlarm) -> Map<String, Json> {
    let string = |s: Option<&str>| s.map_or(Json::Null, Json::from);
    let int = |i: Option<i32>| i.map_or(Json::Null, Json::from);
    let list = |items: &[String]| Json::from(items.to_vec());
    let threshold = alarm
        .threshold()
        .and_then(serde_json::Number::from_f64)
        .map_or(Json::Null, Json::Number);
    let mut fields = Map::new();
    fields.insert(
        field::ALARM_DESCRIPTION.to_owned(),
        string(alarm.alarm_description()),
    );
    fields.insert(field::METRIC.to_owned(), metric_json(alarm));
    fields.insert(
        field::COMPARISON_OPERATOR.to_owned(),
        string(alarm.comparison_operator().map(ComparisonOperator::as_str)),
    );
    fields.insert(field::THRESHOLD.to_owned(), threshold);
    fields.insert(
        field::EVALUATION_PERIODS.to_owned(),
        int(alarm.evaluation_periods()),
    );
    fields.insert(
        field::DATAPOINTS_TO_ALARM.to_owned(),
        int(alarm.datapoints_to_alarm()),
    );
    fields.insert(
        field::TREAT_MISSING_DATA.to_owned(),
        string(alarm.treat_missing_data()),
    );
    fields.insert(field::ALARM_ACTIONS.to_owned(), list(alarm.alarm_actions()));
    fields.insert(field::OK_ACTIONS.to_owned(), list(alarm.ok_actions()));
    fields
}

fn dimensions_json(dimensions: &[Dimension]) -> Json {
    Json::Object(
        dimensions
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().map_or(Json::Null, Json::from),
                )
            })
            .collect(),
    )
}

/// The `metric` field: the single metric, or the metric-math queries in the order sent.
fn metric_json(alarm: &MetricAlarm) -> Json {
    let string = |s: Option<&str>| s.map_or(Json::Null, Json::from);
    if alarm.metrics().is_empty() {
        return serde_json::json!({
            "namespace": string(alarm.namespace()),
            "metric_name": string(alarm.metric_name()),
            "dimensions": dimensions_json(alarm.dimensions()),
            "period": alarm.period().map_or(Json::Null, Json::from),
            "statistic": string(alarm.statistic().map(Statistic::as_str)),
            "extended_statistic": string(alarm.extended_statistic()),
        });
    }
    let queries = alarm.metrics().iter().map(|q| {
        let metric = q.metric_stat().map_or(Json::Null, |stat| {
            let metric = stat.metric();
            serde_json::json!({
                "namespace": string(metric.and_then(Metric::namespace)),
                "metric_name": string(metric.and_then(Metric::metric_name)),
                "dimensions": dimensions_json(metric.map(Metric::dimensions).unwrap_or_default()),
                "period": stat.period().map_or(Json::Null, Json::from),
                "stat": string(stat.stat()),
            })
        });
        serde_json::json!({
            "id": string(q.id()),
            "metric": metric,
            "expression": string(q.expression()),
            "label": string(q.label()),
            // Absent means true, as in GetMetricData.
            "return_data": q.return_data().unwrap_or(true),
        })
    });
    serde_json::json!({ "metrics": queries.collect::<Vec<_>>() })
}

async fn list_tags(clients: &AwsClients, arn: &str) -> Result<Tags, CloudError> {
    let listed = clients
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .classified(SERVICE, "ListTagsForResource")?;
    Ok(listed
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect())
}

/// An alarm found by `discover`: ARN, name and tags (settings are read by `observe`).
pub fn discovered_alarm(resource: &TaggedResource) -> Option<Observed> {
    let name = resource.arn.split_once(":alarm:")?.1;
    Some(Observed {
        physical_id: name.to_owned(),
        outputs: outputs(&resource.arn, name),
        fields: [(field::TAGS.to_owned(), tags_json(&resource.tags))].into(),
    })
}

/// PutMetricAlarm with every setting and the tags, then reads the ARN back.
///
/// PutMetricAlarm creates or replaces, so a retried create converges on the same alarm.
pub async fn create_alarm(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    put_alarm(clients, spec, Some(&spec.tags), ctx).await?;
    alarm_outputs(clients, &spec.physical_name).await
}

/// Changes only what differs: one PutMetricAlarm for any set of settings (it replaces the
/// whole alarm), TagResource/UntagResource for tags (PutMetricAlarm ignores tags on an
/// existing alarm).
pub async fn update_alarm(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let mut settings_changed = false;
    let mut tags_changed = false;
    for name in changed {
        match name.as_str() {
            field::TAGS => tags_changed = true,
            field::ALARM_DESCRIPTION
            | field::METRIC
            | field::COMPARISON_OPERATOR
            | field::THRESHOLD
            | field::EVALUATION_PERIODS
            | field::DATAPOINTS_TO_ALARM
            | field::TREAT_MISSING_DATA
            | field::ALARM_ACTIONS
            | field::OK_ACTIONS => settings_changed = true,
            other => return Err(unknown_field(spec, other)),
        }
    }
    if settings_changed {
        put_alarm(clients, spec, None, ctx).await?;
    }
    if tags_changed {
        let arn = current.outputs.get(&OutputKey::Arn).ok_or_else(|| {
            fatal(
                "TagResource",
                format!("the observed alarm `{}` has no ARN", current.physical_id),
            )
        })?;
        let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
        if !diff.set.is_empty() {
            clients
                .cloudwatch
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(cloudwatch_tags(&diff.set)))
                .send()
                .await
                .classified(SERVICE, "TagResource")?;
        }
        if !diff.remove.is_empty() {
            clients
                .cloudwatch
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(diff.remove))
                .send()
                .await
                .classified(SERVICE, "UntagResource")?;
        }
    }
    Ok(current.outputs.clone())
}

async fn alarm_outputs(clients: &AwsClients, name: &str) -> Result<Outputs, CloudError> {
    let alarm = describe_alarm(clients, name).await?.ok_or_else(|| {
        fatal(
            "DescribeAlarms",
            format!("alarm `{name}` is missing right after PutMetricAlarm; run the apply again"),
        )
    })?;
    let arn = alarm
        .alarm_arn()
        .ok_or_else(|| fatal("DescribeAlarms", "the alarm has no `AlarmArn`"))?;
    Ok(outputs(arn, name))
}

/// One PutMetricAlarm built from the spec's resolved fields, so what is sent is exactly
/// what the planner compares with the observation, and an undo (whose context resolves
/// every field to its recorded value) puts the whole previous alarm back.
async fn put_alarm(
    clients: &AwsClients,
    spec: &ResourceSpec,
    tags: Option<&Tags>,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "PutMetricAlarm";
    let metric = resolved_field(spec, field::METRIC, ctx, SERVICE, op)?;
    let actions = |name: &str| -> Result<Vec<String>, CloudError> {
        let resolved = resolved_field(spec, name, ctx, SERVICE, op)?;
        string_list(&resolved).ok_or_else(|| fatal(op, format!("`{name}` is not a list of ARNs")))
    };
    let text = |name: &str| resolved_text(spec, name, ctx, SERVICE, op);
    let int = |name: &str| resolved_i32(spec, name, ctx, SERVICE, op);
    let mut request = clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&spec.physical_name)
        .set_alarm_description(text(field::ALARM_DESCRIPTION)?)
        .set_comparison_operator(
            text(field::COMPARISON_OPERATOR)?.map(|o| ComparisonOperator::from(o.as_str())),
        )
        .set_threshold(resolved_f64(spec, field::THRESHOLD, ctx, SERVICE, op)?)
        .set_evaluation_periods(int(field::EVALUATION_PERIODS)?)
        .set_datapoints_to_alarm(int(field::DATAPOINTS_TO_ALARM)?)
        .set_treat_missing_data(text(field::TREAT_MISSING_DATA)?)
        .set_alarm_actions(Some(actions(field::ALARM_ACTIONS)?))
        .set_ok_actions(Some(actions(field::OK_ACTIONS)?));
    if let Some(tags) = tags {
        request = request.set_tags(Some(cloudwatch_tags(tags)));
    }
    request = match metric.get("metrics") {
        Some(queries) => request.set_metrics(Some(metric_queries(queries)?)),
        None => {
            let single = SingleMetric::from_json(&metric)?;
            request
                .namespace(single.namespace)
                .metric_name(single.metric_name)
                .set_dimensions(Some(single.dimensions))
                .period(single.period)
                .set_statistic(single.statistic.map(|s| Statistic::from(s.as_str())))
                .set_extended_statistic(single.extended_statistic)
        }
    };
    request.send().await.classified(SERVICE, op)?;
    Ok(())
}

fn string_list(value: &Json) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn cloudwatch_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A resolved single-metric `metric` field, ready to send.
struct SingleMetric {
    namespace: String,
    metric_name: String,
    dimensions: Vec<Dimension>,
    period: i32,
    statistic: Option<String>,
    extended_statistic: Option<String>,
}

impl SingleMetric {
    fn from_json(metric: &Json) -> Result<Self, CloudError> {
        Ok(Self {
            namespace: required_str(metric, "namespace")?,
            metric_name: required_str(metric, "metric_name")?,
            dimensions: dimensions(metric)?,
            period: period(metric)?,
            statistic: optional_str(metric, "statistic"),
            extended_statistic: optional_str(metric, "extended_statistic"),
        })
    }
}

fn required_str(value: &Json, key: &str) -> Result<String, CloudError> {
    value
        .get(key)
        .and_then(Json::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            fatal(
                "PutMetricAlarm",
                format!("the alarm metric has no string `{key}`; this is a txdeploy bug"),
            )
        })
}

fn optional_str(value: &Json, key: &str) -> Option<String> {
    value.get(key).and_then(Json::as_str).map(str::to_owned)
}

fn period(value: &Json) -> Result<i32, CloudError> {
    value
        .get("period")
        .and_then(Json::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| {
            fatal(
                "PutMetricAlarm",
                "the alarm metric has no integer `period`; this is a txdeploy bug",
            )
        })
}

fn dimensions(metric: &Json) -> Result<Vec<Dimension>, CloudError> {
    let Some(map) = metric.get("dimensions").and_then(Json::as_object) else {
        return Ok(Vec::new());
    };
    map.iter()
        .map(|(name, value)| {
            let value = value.as_str().ok_or_else(|| {
                fatal(
                    "PutMetricAlarm",
                    format!("dimension `{name}` is not a string: {value}"),
                )
            })?;
            Ok(Dimension::builder().name(name).value(value).build())
        })
        .collect()
}

/// The `Metrics` of a metric-math alarm, after `validate_metric_math` accepts them.
fn metric_queries(queries: &Json) -> Result<Vec<MetricDataQuery>, CloudError> {
    validate_metric_math(queries).map_err(|e| fatal("PutMetricAlarm", e))?;
    let queries = queries.as_array().map(Vec::as_slice).unwrap_or_default();
    queries
        .iter()
        .map(|q| {
            let metric_stat = match q.get("metric").filter(|m| !m.is_null()) {
                Some(m) => Some(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(required_str(m, "namespace")?)
                                .metric_name(required_str(m, "metric_name")?)
                                .set_dimensions(Some(dimensions(m)?))
                                .build(),
                        )
                        .period(period(m)?)
                        .stat(required_str(m, "stat")?)
                        .build(),
                ),
                None => None,
            };
            Ok(MetricDataQuery::builder()
                .id(required_str(q, "id")?)
                .set_metric_stat(metric_stat)
                .set_expression(optional_str(q, "expression"))
                .set_label(optional_str(q, "label"))
                .return_data(q.get("return_data").and_then(Json::as_bool) == Some(true))
                .build())
        })
        .collect()
}

/// Checks metric-math queries the way CloudWatch does and moto does not (EMULATOR.md
/// section 2): exactly one query returns data, ids are unique and start with a lowercase
/// letter followed by letters, digits or `_`, and each query is a metric or an expression,
/// not both.
pub fn validate_metric_math(queries: &Json) -> Result<(), String> {
    let queries = match queries.as_array() {
        Some(q) if !q.is_empty() => q,
        _ => return Err("the alarm's `metrics` must be a non-empty list".to_owned()),
    };
    let mut ids = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let id = q
            .get("id")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("query {i} has no `id`"))?;
        let mut chars = id.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "query id `{id}` must start with a lowercase letter and use only letters, \
                 digits and `_`"
            ));
        }
        if ids.contains(&id) {
            return Err(format!("query id `{id}` is used twice"));
        }
        ids.push(id);
        let has = |key: &str| q.get(key).is_some_and(|v| !v.is_null());
        if has("metric") == has("expression") {
            return Err(format!(
                "query `{id}` must have exactly one of `metric` and `expression`"
            ));
        }
    }
    let returning = queries
        .iter()
        .filter(|q| q.get("return_data").and_then(Json::as_bool) == Some(true))
        .count();
    if returning != 1 {
        return Err(format!(
            "exactly one query must set `return_data` (the value the alarm compares), \
             found {returning}"
        ));
    }
    Ok(())
}

/// DeleteAlarms; an alarm already gone is not an error.
pub async fn delete_alarm(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .cloudwatch
        .delete_alarms()
        .alarm_names(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteAlarms")
        .found(&[NOT_FOUND])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------

/// Reads the dashboard named `name`; `None` when it does not exist. The body is compared as
/// JSON, so CloudWatch's spelling of it (spacing, key order) never plans a change.
pub async fn observe_dashboard(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<Observed>, CloudError> {
    let op = "GetDashboard";
    let got = clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .classified(SERVICE, op)
        .found(&[NOT_FOUND])?;
    let Some(got) = got else {
        return Ok(None);
    };
    let arn = got
        .dashboard_arn()
        .ok_or_else(|| fatal(op, "the response has no `DashboardArn`"))?;
    let body = got.dashboard_body().map_or(Json::Null, parse_document);
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: outputs(arn, name),
        fields: [(field::DASHBOARD_BODY.to_owned(), body)].into(),
    }))
}

/// PutDashboard with the validated body; PutDashboard creates or replaces, so a retry is
/// harmless.
pub async fn create_dashboard(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    put_dashboard(clients, spec, ctx).await?;
    let observed = observe_dashboard(clients, &spec.physical_name)
        .await?
        .ok_or_else(|| {
            fatal(
                "GetDashboard",
                format!(
                    "dashboard `{}` is missing right after PutDashboard; run the apply again",
                    spec.physical_name
                ),
            )
        })?;
    Ok(observed.outputs)
}

/// The body is the dashboard's only field: one PutDashboard.
pub async fn update_dashboard(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    if let Some(other) = changed.iter().find(|n| *n != field::DASHBOARD_BODY) {
        return Err(unknown_field(spec, other));
    }
    if !changed.is_empty() {
        put_dashboard(clients, spec, ctx).await?;
    }
    Ok(current.outputs.clone())
}

async fn put_dashboard(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "PutDashboard";
    let body = resolved_field(spec, field::DASHBOARD_BODY, ctx, SERVICE, op)?;
    validate_dashboard_body(&body).map_err(|e| {
        fatal(
            op,
            format!(
                "the body of dashboard `{}` is invalid: {e}; fix the dashboard definition",
                spec.physical_name
            ),
        )
    })?;
    let put = clients
        .cloudwatch
        .put_dashboard()
        .dashboard_name(&spec.physical_name)
        .dashboard_body(body.to_string())
        .send()
        .await
        .classified(SERVICE, op)?;
    // Warnings only: CloudWatch rejects a body with errors instead of storing it.
    for message in put.dashboard_validation_messages() {
        ctx.progress(format!(
            "dashboard `{}`: CloudWatch warns at `{}`: {}",
            spec.physical_name,
            message.data_path().unwrap_or("/"),
            message.message().unwrap_or_default()
        ));
    }
    Ok(())
}

/// DeleteDashboards; a dashboard already gone is not an error.
pub async fn delete_dashboard(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .cloudwatch
        .delete_dashboards()
        .dashboard_names(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteDashboards")
        .found(&[NOT_FOUND])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(id: &str, return_data: bool) -> Json {
        json!({"id": id, "metric": null, "expression": "SUM(m)", "label": null,
               "return_data": return_data})
    }

    #[test]
    fn metric_math_needs_exactly_one_query_that_returns_data() {
        let metric = json!({"id": "m", "metric": {"namespace": "AWS/Lambda",
            "metric_name": "Errors", "dimensions": {}, "period": 60, "stat": "Sum"},
            "expression": null, "label": null, "return_data": false});
        assert_eq!(
            validate_metric_math(&json!([metric, query("e", true)])),
            Ok(())
        );
        let two = validate_metric_math(&json!([query("a", true), query("b", true)]));
        assert!(two.unwrap_err().contains("found 2"));
        let none = validate_metric_math(&json!([query("a", false)]));
        assert!(none.unwrap_err().contains("found 0"));
    }

    #[test]
    fn metric_math_ids_are_lowercase_first_and_unique() {
        for bad in ["Err", "1e", "e-rate", ""] {
            assert!(
                validate_metric_math(&json!([query(bad, true)])).is_err(),
                "`{bad}` accepted"
            );
        }
        assert!(validate_metric_math(&json!([query("e_1", true)])).is_ok());
        let twice = validate_metric_math(&json!([query("e", false), query("e", true)]));
        assert!(twice.unwrap_err().contains("used twice"));
    }

    #[test]
    fn a_query_is_a_metric_or_an_expression_and_the_list_is_not_empty() {
        let both = json!({"id": "e", "metric": {"namespace": "N"}, "expression": "m",
                          "return_data": true});
        assert!(validate_metric_math(&json!([both])).is_err());
        let neither = json!({"id": "e", "metric": null, "expression": null,
                             "return_data": true});
        assert!(validate_metric_math(&json!([neither])).is_err());
        assert!(validate_metric_math(&json!([])).is_err());
        assert!(validate_metric_math(&json!({"id": "e"})).is_err());
    }

    #[test]
    fn a_single_metric_alarm_reads_back_in_the_spec_shape() {
        let alarm = MetricAlarm::builder()
            .namespace("AWS/ApiGateway")
            .metric_name("Latency")
            .dimensions(Dimension::builder().name("ApiName").value("api").build())
            .period(300)
            .extended_statistic("p99")
            .threshold(1500.0)
            .build();
        assert_eq!(
            metric_json(&alarm),
            json!({"namespace": "AWS/ApiGateway", "metric_name": "Latency",
                   "dimensions": {"ApiName": "api"}, "period": 300, "statistic": null,
                   "extended_statistic": "p99"})
        );
        assert_eq!(alarm_fields(&alarm)[field::THRESHOLD], json!(1500.0));
        assert_eq!(alarm_fields(&alarm)[field::ALARM_ACTIONS], json!([]));
    }

    #[test]
    fn discovered_alarms_take_their_name_from_the_arn() {
        let resource = TaggedResource {
            arn: "arn:aws:cloudwatch:us-east-1:1:alarm:tx-dev-api-5xx-rate".to_owned(),
            tags: Tags::new(),
        };
        let observed = discovered_alarm(&resource).unwrap();
        assert_eq!(observed.physical_id, "tx-dev-api-5xx-rate");
        assert_eq!(observed.outputs[&OutputKey::Name], "tx-dev-api-5xx-rate");
        let not_alarm = TaggedResource {
            arn: "arn:aws:sns:us-east-1:1:topic".to_owned(),
            tags: Tags::new(),
        };
        assert_eq!(discovered_alarm(&not_alarm), None);
    }
}
