//! The dashboard body: a `Value` tree of references (function, API, stage, table and queue
//! names, alarm ARNs) that becomes JSON only when every one of them is known (the seed
//! review's F20), and `validate_dashboard_body`, which the adapter runs before `PutDashboard`.

use serde_json::Value as Json;

use super::api::{rest_api_id, stage_id};
use super::data::table_id;
use super::messaging::dead_letter_queues;
use super::{Handler, METRICS_NAMESPACE, WORK_QUEUES, id};
use crate::spec::{EnvFact, OutputRef, ResourceId, ResourceKind, Value};

/// The dashboard grid is 24 units wide.
const GRID_WIDTH: i64 = 24;
/// The largest dashboard body CloudWatch accepts, in bytes.
const MAX_BODY_BYTES: usize = 1_000_000;
/// A graph's period, in seconds.
const PERIOD_SECONDS: u32 = 60;

/// One metric line: `[namespace, metric, dim, value, …, {options}]`.
fn line(
    namespace: &str,
    metric: &str,
    dims: Vec<(&str, Value)>,
    options: Vec<(&str, Value)>,
) -> Value {
    let mut items = vec![Value::str(namespace), Value::str(metric)];
    for (name, value) in dims {
        items.push(Value::str(name));
        items.push(value);
    }
    if !options.is_empty() {
        items.push(Value::map(options));
    }
    Value::List(items)
}

fn name_of(resource: &ResourceId) -> Value {
    OutputRef::name(resource).into()
}

fn function_line(handler: Handler, metric: &str, options: Vec<(&str, Value)>) -> Value {
    line(
        "AWS/Lambda",
        metric,
        vec![("FunctionName", name_of(&handler.function_id()))],
        options,
    )
}

fn api_line(metric: &str, options: Vec<(&str, Value)>) -> Value {
    line(
        "AWS/ApiGateway",
        metric,
        vec![
            ("ApiName", name_of(&rest_api_id())),
            ("Stage", name_of(&stage_id())),
        ],
        options,
    )
}

fn label(text: &str) -> (&'static str, Value) {
    ("label", Value::str(text))
}

/// A metric widget at `(x, y)`, `w` x 6 units.
fn metric_widget(x: i64, y: i64, w: i64, title: &str, stat: &str, metrics: Vec<Value>) -> Value {
    Value::map([
        ("type", Value::str("metric")),
        ("x", Value::Int(x)),
        ("y", Value::Int(y)),
        ("width", Value::Int(w)),
        ("height", Value::Int(6)),
        (
            "properties",
            Value::map([
                ("title", Value::str(title)),
                ("view", Value::str("timeSeries")),
                ("stacked", Value::Bool(false)),
                ("region", Value::Env(EnvFact::Region)),
                ("period", PERIOD_SECONDS.into()),
                ("stat", Value::str(stat)),
                ("metrics", Value::List(metrics)),
            ]),
        ),
    ])
}

/// Consumed (per second) against provisioned capacity of the table, for `io` = `Read` or
/// `Write`.
fn capacity_lines(io: &str) -> Vec<Value> {
    let table = vec![("TableName", name_of(&table_id()))];
    let hidden = format!("consumed_{}", io.to_ascii_lowercase());
    vec![
        line(
            "AWS/DynamoDB",
            &format!("Consumed{io}CapacityUnits"),
            table.clone(),
            vec![
                ("id", Value::str(hidden.clone())),
                ("stat", Value::str("Sum")),
                ("visible", Value::Bool(false)),
            ],
        ),
        // Consumed units are summed per period; divided by the period they compare with
        // the provisioned units per second.
        Value::list([Value::map([
            (
                "expression",
                Value::str(format!("{hidden} / PERIOD({hidden})")),
            ),
            ("label", Value::str(format!("consumed {io} units / s"))),
            ("id", Value::str(format!("{hidden}_per_second"))),
        ])]),
        line(
            "AWS/DynamoDB",
            &format!("Provisioned{io}CapacityUnits"),
            table,
            vec![
                label(&format!("provisioned {io} units")),
                ("stat", Value::str("Average")),
            ],
        ),
    ]
}

/// The custom metrics the handlers write in Embedded Metric Format (dimension `Handler`).
fn custom_lines() -> Vec<Value> {
    let metrics = [
        (Handler::TransactionValidator, "TransactionsValidated"),
        (Handler::TransactionValidator, "ValidationFailures"),
        (Handler::TransactionValidator, "IdempotencyConflicts"),
        (Handler::TransactionValidator, "InternalErrors"),
        (Handler::NotificationHandler, "NotificationsPublished"),
        (Handler::NotificationHandler, "NotificationFailures"),
        (Handler::AnalyticsProcessor, "MessagesProcessed"),
        (Handler::ReportingProcessor, "MessagesProcessed"),
    ];
    metrics
        .into_iter()
        .map(|(handler, metric)| {
            line(
                METRICS_NAMESPACE,
                metric,
                vec![("Handler", Value::str(handler.logical()))],
                vec![label(&format!("{} {metric}", handler.logical()))],
            )
        })
        .collect()
}

/// The dashboard body: Lambda, API, DynamoDB, SQS, DLQs, custom metrics and the state of
/// every alarm in `alarms`.
pub(crate) fn dashboard_body(alarms: &[ResourceId]) -> Value {
    let per_function = |metric: &str, options: fn(Handler) -> Vec<(&'static str, Value)>| {
        Handler::ALL
            .iter()
            .map(|h| function_line(*h, metric, options(*h)))
            .collect::<Vec<_>>()
    };
    let named = |h: Handler| vec![label(h.logical())];
    let durations = Handler::ALL
        .iter()
        .flat_map(|h| {
            ["p50", "p99"].map(|p| {
                function_line(
                    *h,
                    "Duration",
                    vec![
                        label(&format!("{} {p}", h.logical())),
                        ("stat", Value::str(p)),
                    ],
                )
            })
        })
        .collect();
    let mut concurrency = per_function("ConcurrentExecutions", named);
    concurrency.push(line(
        "AWS/Lambda",
        "ConcurrentExecutions",
        vec![],
        vec![label("account")],
    ));
    let queue_lines = |queues: &[String], metric: &str| {
        queues
            .iter()
            .map(|q| {
                line(
                    "AWS/SQS",
                    metric,
                    vec![("QueueName", name_of(&id(ResourceKind::Queue, q)))],
                    vec![label(q)],
                )
            })
            .collect::<Vec<_>>()
    };
    let work: Vec<String> = WORK_QUEUES.iter().map(|q| (*q).to_owned()).collect();
    let widgets = vec![
        metric_widget(
            0,
            0,
            8,
            "Lambda invocations",
            "Sum",
            per_function("Invocations", named),
        ),
        metric_widget(
            8,
            0,
            8,
            "Lambda errors",
            "Sum",
            per_function("Errors", named),
        ),
        metric_widget(
            16,
            0,
            8,
            "Lambda throttles",
            "Sum",
            per_function("Throttles", named),
        ),
        metric_widget(0, 6, 12, "Lambda duration p50 / p99 (ms)", "p99", durations),
        metric_widget(
            12,
            6,
            12,
            "Lambda concurrent executions",
            "Maximum",
            concurrency,
        ),
        metric_widget(
            0,
            12,
            8,
            "API requests, 4XX, 5XX",
            "Sum",
            vec![
                api_line("Count", vec![label("requests")]),
                api_line("4XXError", vec![label("4XX")]),
                api_line("5XXError", vec![label("5XX")]),
            ],
        ),
        metric_widget(
            8,
            12,
            8,
            "API latency (ms)",
            "p99",
            vec![
                api_line(
                    "Latency",
                    vec![label("latency p50"), ("stat", Value::str("p50"))],
                ),
                api_line("Latency", vec![label("latency p99")]),
                api_line("IntegrationLatency", vec![label("integration p99")]),
            ],
        ),
        metric_widget(
            16,
            12,
            8,
            "API cache hits / misses",
            "Sum",
            vec![
                api_line("CacheHitCount", vec![label("hits")]),
                api_line("CacheMissCount", vec![label("misses")]),
            ],
        ),
        metric_widget(
            0,
            18,
            12,
            "DynamoDB reads: consumed vs provisioned",
            "Sum",
            capacity_lines("Read"),
        ),
        metric_widget(
            12,
            18,
            12,
            "DynamoDB writes: consumed vs provisioned",
            "Sum",
            capacity_lines("Write"),
        ),
        metric_widget(
            0,
            24,
            8,
            "SQS queue depth",
            "Maximum",
            queue_lines(&work, "ApproximateNumberOfMessagesVisible"),
        ),
        metric_widget(
            8,
            24,
            8,
            "SQS oldest message age (s)",
            "Maximum",
            queue_lines(&work, "ApproximateAgeOfOldestMessage"),
        ),
        metric_widget(
            16,
            24,
            8,
            "Dead-letter queues (each message is a failed transaction)",
            "Maximum",
            queue_lines(&dead_letter_queues(), "ApproximateNumberOfMessagesVisible"),
        ),
        metric_widget(
            0,
            30,
            12,
            "Handler metrics (TxDeploy)",
            "Sum",
            custom_lines(),
        ),
        Value::map([
            ("type", Value::str("alarm")),
            ("x", Value::Int(12)),
            ("y", Value::Int(30)),
            ("width", Value::Int(12)),
            ("height", Value::Int(6)),
            (
                "properties",
                Value::map([
                    ("title", Value::str("Alarms")),
                    (
                        "alarms",
                        Value::list(alarms.iter().map(|a| OutputRef::arn(a).into())),
                    ),
                ]),
            ),
        ]),
    ];
    Value::map([("widgets", Value::List(widgets))])
}

/// Checks a resolved dashboard body before `PutDashboard` (CloudWatch rejects what moto
/// accepts): `widgets` is a non-empty list; each widget has a known `type`, integer `x`,
/// `y`, `width` and `height` inside the 24-unit grid, no overlap with another widget, and
/// `properties`; metric widgets list their metrics with no empty name (an unresolved value),
/// alarm widgets list alarm ARNs.
pub fn validate_dashboard_body(body: &Json) -> Result<(), String> {
    if body.to_string().len() > MAX_BODY_BYTES {
        return Err(format!("the body is larger than {MAX_BODY_BYTES} bytes"));
    }
    let widgets = match body.get("widgets") {
        Some(Json::Array(w)) if !w.is_empty() => w,
        _ => return Err("`widgets` must be a non-empty list".to_owned()),
    };
    let mut placed: Vec<(i64, i64, i64, i64)> = Vec::new();
    for (i, widget) in widgets.iter().enumerate() {
        let at = |e: String| format!("widget {i}: {e}");
        let int = |key: &str| {
            widget
                .get(key)
                .and_then(Json::as_i64)
                .ok_or_else(|| at(format!("`{key}` must be an integer")))
        };
        let kind = widget
            .get("type")
            .and_then(Json::as_str)
            .ok_or_else(|| at("`type` is missing".to_owned()))?;
        let (x, y, w, h) = (int("x")?, int("y")?, int("width")?, int("height")?);
        if x < 0 || y < 0 || w < 1 || h < 1 || x + w > GRID_WIDTH {
            return Err(at(format!(
                "({x}, {y}) size {w}x{h} does not fit the {GRID_WIDTH}-unit grid"
            )));
        }
        if let Some(j) = placed
            .iter()
            .position(|(ox, oy, ow, oh)| x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h)
        {
            return Err(at(format!("overlaps widget {j}")));
        }
        placed.push((x, y, w, h));
        let properties = widget
            .get("properties")
            .and_then(Json::as_object)
            .ok_or_else(|| at("`properties` must be an object".to_owned()))?;
        match kind {
            "metric" => {
                let metrics = properties
                    .get("metrics")
                    .and_then(Json::as_array)
                    .filter(|m| !m.is_empty())
                    .ok_or_else(
                        || at("`properties.metrics` must be a non-empty list".to_owned()),
                    )?;
                for (k, entry) in metrics.iter().enumerate() {
                    validate_metric_line(entry).map_err(|e| at(format!("metric {k}: {e}")))?;
                }
                if properties
                    .get("region")
                    .and_then(Json::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(at("`properties.region` must be a region".to_owned()));
                }
            }
            "alarm" => {
                let alarms = properties
                    .get("alarms")
                    .and_then(Json::as_array)
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| at("`properties.alarms` must be a non-empty list".to_owned()))?;
                if let Some(bad) = alarms
                    .iter()
                    .find(|a| !a.as_str().is_some_and(|s| s.starts_with("arn:")))
                {
                    return Err(at(format!("`{bad}` is not an alarm ARN")));
                }
            }
            "text" | "log" | "explorer" => {}
            other => return Err(at(format!("unknown widget type `{other}`"))),
        }
    }
    Ok(())
}

/// A metric line: strings (namespace, metric, dimension names and values), optionally ending
/// with an options object; or a single expression object.
fn validate_metric_line(entry: &Json) -> Result<(), String> {
    let items = entry.as_array().ok_or("must be a list")?;
    if let [Json::Object(only)] = items.as_slice() {
        return match only.get("expression").and_then(Json::as_str) {
            Some(e) if !e.is_empty() => Ok(()),
            _ => Err("a lone object must hold an `expression`".to_owned()),
        };
    }
    let (strings, options) = match items.split_last() {
        Some((Json::Object(_), rest)) => (rest, true),
        _ => (items.as_slice(), false),
    };
    if strings.len() < 2 || strings.len() % 2 != 0 {
        return Err(format!(
            "needs a namespace, a metric name and name/value dimension pairs{}",
            if options { " before its options" } else { "" }
        ));
    }
    if let Some(bad) = strings
        .iter()
        .find(|s| s.as_str().is_none_or(str::is_empty))
    {
        return Err(format!(
            "`{bad}` is not a non-empty string (an unresolved name?)"
        ));
    }
    Ok(())
}
