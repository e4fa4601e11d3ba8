//! `MetricSpec`: one series of the dashboard (Lambda, API, DynamoDB, queues, DLQs), named by
//! the physical names derived from config, the same widgets as the CloudWatch dashboard.

use std::fmt::Write as _;

use crate::config::Config;
use crate::stack::WORK_QUEUES;

/// The four functions of the stack (`{prefix}-{env}-{name}`), in dashboard order.
pub const FUNCTIONS: [&str; 4] = [
    "transaction-validator",
    "notification-handler",
    "analytics-processor",
    "reporting-processor",
];
/// Logical name of the REST API (`ApiName` dimension `{prefix}-{env}-api`).
pub const API: &str = "api";
/// Logical name of the transactions table.
pub const TABLE: &str = "transactions";
/// The on-failure destination queue of the notification handler (a DLQ in all but name).
pub const NOTIFICATION_FAILURES: &str = "notification-failures";

/// A block of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Lambda,
    Api,
    DynamoDb,
    Queues,
    DeadLetters,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Lambda,
        Section::Api,
        Section::DynamoDb,
        Section::Queues,
        Section::DeadLetters,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Lambda => "Lambda",
            Section::Api => "API Gateway",
            Section::DynamoDb => "DynamoDB",
            Section::Queues => "SQS queues",
            Section::DeadLetters => "Dead-letter queues",
        }
    }
}

/// How a value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
    Percent,
    /// Capacity units per second.
    CapacityPerSecond,
}

impl Unit {
    /// `12`, `3.4 ms`, `1.2 %`, ... in at most 9 characters.
    pub fn format(self, value: f64) -> String {
        let number = if value.abs() >= 1_000_000.0 {
            format!("{:.1}M", value / 1_000_000.0)
        } else if value.abs() >= 10_000.0 {
            format!("{:.1}k", value / 1000.0)
        } else if value.fract().abs() < f64::EPSILON || value.abs() >= 100.0 {
            format!("{value:.0}")
        } else {
            format!("{value:.1}")
        };
        match self {
            Unit::Count => number,
            Unit::Milliseconds => format!("{number} ms"),
            Unit::Seconds => format!("{number} s"),
            Unit::Percent => format!("{number} %"),
            Unit::CapacityPerSecond => format!("{number}/s"),
        }
    }
}

/// The CloudWatch statistic of a metric query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Sum,
    Average,
    Maximum,
    P50,
    P99,
}

impl Stat {
    /// The name GetMetricData expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Sum => "Sum",
            Stat::Average => "Average",
            Stat::Maximum => "Maximum",
            Stat::P50 => "p50",
            Stat::P99 => "p99",
        }
    }
}

/// Where a series' values come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A metric with a statistic.
    Metric {
        namespace: &'static str,
        name: &'static str,
        dimensions: Vec<(&'static str, String)>,
        stat: Stat,
    },
    /// Metric math over other series of the same group (by their ids).
    Expression(String),
}

/// One series of the dashboard.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    /// The GetMetricData query id: `m<n>`, unique within the list.
    pub id: String,
    pub section: Section,
    /// Series of one group share a widget and are never split across GetMetricData calls
    /// (an expression must travel with the series it reads).
    pub group: String,
    /// Short label, e.g. `invocations`; the group names the resource.
    pub label: String,
    pub unit: Unit,
    pub source: Source,
    /// `Sum` per period shown per second (DynamoDB consumed capacity, compared with the
    /// provisioned capacity, which is per second).
    pub per_second: bool,
}

impl MetricSpec {
    /// `transaction-validator · invocations`.
    pub fn title(&self) -> String {
        format!("{} · {}", self.group, self.label)
    }

    /// Where the series comes from, for the details pane:
    /// `AWS/Lambda Errors (Sum) FunctionName=tx-dev-transaction-validator`.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Metric {
                namespace,
                name,
                dimensions,
                stat,
            } => {
                let mut text = format!("{namespace} {name} ({})", stat.as_str());
                for (key, value) in dimensions {
                    let _ = write!(text, " {key}={value}");
                }
                if self.per_second {
                    text.push_str(", per second");
                }
                text
            }
            Source::Expression(expression) => format!("metric math: {expression}"),
        }
    }
}

/// Builds the list with sequential ids.
struct Specs {
    list: Vec<MetricSpec>,
}

impl Specs {
    #[allow(clippy::too_many_arguments)]
    fn metric(
        &mut self,
        section: Section,
        group: &str,
        label: &str,
        unit: Unit,
        namespace: &'static str,
        name: &'static str,
        dimensions: Vec<(&'static str, String)>,
        stat: Stat,
    ) -> String {
        self.push(
            section,
            group,
            label,
            unit,
            Source::Metric {
                namespace,
                name,
                dimensions,
                stat,
            },
        )
    }

    fn push(
        &mut self,
        section: Section,
        group: &str,
        label: &str,
        unit: Unit,
        source: Source,
    ) -> String {
        let id = format!("m{}", self.list.len());
        self.list.push(MetricSpec {
            id: id.clone(),
            section,
            group: group.to_owned(),
            label: label.to_owned(),
            unit,
            source,
            per_second: false,
        });
        id
    }
}

/// Every series of the dashboard for `config`'s stack: per function invocations, errors,
/// error rate, throttles, duration p50/p99 and concurrency; the account's concurrency; API
/// count, 4XX, 5XX, latency and cache hits/misses; table consumed vs provisioned capacity;
/// queue depth and age; dead-letter queue depth.
pub fn dashboard_metrics(config: &Config) -> Vec<MetricSpec> {
    let mut s = Specs { list: Vec::new() };
    for function in FUNCTIONS {
        let name = config.physical_name(function);
        let dims = || vec![("FunctionName", name.clone())];
        let l = "AWS/Lambda";
        let sec = Section::Lambda;
        let invocations = s.metric(
            sec,
            function,
            "invocations",
            Unit::Count,
            l,
            "Invocations",
            dims(),
            Stat::Sum,
        );
        let errors = s.metric(
            sec,
            function,
            "errors",
            Unit::Count,
            l,
            "Errors",
            dims(),
            Stat::Sum,
        );
        s.push(
            sec,
            function,
            "error rate",
            Unit::Percent,
            Source::Expression(format!("100 * {errors} / {invocations}")),
        );
        s.metric(
            sec,
            function,
            "throttles",
            Unit::Count,
            l,
            "Throttles",
            dims(),
            Stat::Sum,
        );
        s.metric(
            sec,
            function,
            "duration p50",
            Unit::Milliseconds,
            l,
            "Duration",
            dims(),
            Stat::P50,
        );
        s.metric(
            sec,
            function,
            "duration p99",
            Unit::Milliseconds,
            l,
            "Duration",
            dims(),
            Stat::P99,
        );
        s.metric(
            sec,
            function,
            "concurrency",
            Unit::Count,
            l,
            "ConcurrentExecutions",
            dims(),
            Stat::Maximum,
        );
    }
    s.metric(
        Section::Lambda,
        "account",
        "concurrency",
        Unit::Count,
        "AWS/Lambda",
        "ConcurrentExecutions",
        Vec::new(),
        Stat::Maximum,
    );

    let api = config.physical_name(API);
    let api_metrics: [(&str, &'static str, Stat, Unit); 7] = [
        ("requests", "Count", Stat::Sum, Unit::Count),
        ("4XX", "4XXError", Stat::Sum, Unit::Count),
        ("5XX", "5XXError", Stat::Sum, Unit::Count),
        ("latency avg", "Latency", Stat::Average, Unit::Milliseconds),
        ("latency p99", "Latency", Stat::P99, Unit::Milliseconds),
        ("cache hits", "CacheHitCount", Stat::Sum, Unit::Count),
        ("cache misses", "CacheMissCount", Stat::Sum, Unit::Count),
    ];
    for (label, name, stat, unit) in api_metrics {
        s.metric(
            Section::Api,
            "api",
            label,
            unit,
            "AWS/ApiGateway",
            name,
            vec![("ApiName", api.clone())],
            stat,
        );
    }

    let table = config.physical_name(TABLE);
    let table_metrics: [(&str, &'static str, Stat, bool); 4] = [
        (
            "read consumed",
            "ConsumedReadCapacityUnits",
            Stat::Sum,
            true,
        ),
        (
            "read provisioned",
            "ProvisionedReadCapacityUnits",
            Stat::Average,
            false,
        ),
        (
            "write consumed",
            "ConsumedWriteCapacityUnits",
            Stat::Sum,
            true,
        ),
        (
            "write provisioned",
            "ProvisionedWriteCapacityUnits",
            Stat::Average,
            false,
        ),
    ];
    for (label, name, stat, per_second) in table_metrics {
        s.metric(
            Section::DynamoDb,
            TABLE,
            label,
            Unit::CapacityPerSecond,
            "AWS/DynamoDB",
            name,
            vec![("TableName", table.clone())],
            stat,
        );
        if let Some(last) = s.list.last_mut() {
            last.per_second = per_second;
        }
    }

    for queue in WORK_QUEUES {
        let dims = || vec![("QueueName", config.physical_name(queue))];
        s.metric(
            Section::Queues,
            queue,
            "depth",
            Unit::Count,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            dims(),
            Stat::Maximum,
        );
        s.metric(
            Section::Queues,
            queue,
            "oldest age",
            Unit::Seconds,
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            dims(),
            Stat::Maximum,
        );
    }
    let dead_letters = WORK_QUEUES
        .iter()
        .map(|q| format!("{q}-dlq"))
        .chain([NOTIFICATION_FAILURES.to_owned()]);
    for queue in dead_letters {
        s.metric(
            Section::DeadLetters,
            &queue,
            "depth",
            Unit::Count,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            vec![("QueueName", config.physical_name(&queue))],
            Stat::Maximum,
        );
    }
    s.list
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn config() -> Config {
        let mut config = Config::defaults().unwrap();
        config.stack.prefix = "shop".into();
        config.stack.env = "prod".into();
        config
    }

    #[test]
    fn every_series_names_a_physical_name_derived_from_config() {
        let specs = dashboard_metrics(&config());
        let dimension_values: BTreeSet<String> = specs
            .iter()
            .filter_map(|s| match &s.source {
                Source::Metric { dimensions, .. } => Some(dimensions.clone()),
                Source::Expression(_) => None,
            })
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let expected: BTreeSet<String> = [
            "FunctionName=shop-prod-transaction-validator",
            "FunctionName=shop-prod-notification-handler",
            "FunctionName=shop-prod-analytics-processor",
            "FunctionName=shop-prod-reporting-processor",
            "ApiName=shop-prod-api",
            "TableName=shop-prod-transactions",
            "QueueName=shop-prod-analytics",
            "QueueName=shop-prod-reporting",
            "QueueName=shop-prod-analytics-dlq",
            "QueueName=shop-prod-reporting-dlq",
            "QueueName=shop-prod-notification-failures",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(dimension_values, expected);
    }

    #[test]
    fn ids_are_unique_valid_query_ids_and_expressions_read_their_own_group() {
        let specs = dashboard_metrics(&config());
        let ids: BTreeSet<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.len(), specs.len());
        for spec in &specs {
            let mut chars = spec.id.chars();
            assert!(chars.next().unwrap().is_ascii_lowercase(), "{}", spec.id);
            assert!(chars.all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if let Source::Expression(expression) = &spec.source {
                for word in expression.split(|c: char| !c.is_ascii_alphanumeric()) {
                    if let Some(target) = specs.iter().find(|s| s.id == word) {
                        assert_eq!(target.group, spec.group, "{expression}");
                    } else {
                        assert!(word.is_empty() || word.parse::<f64>().is_ok(), "{word}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_dashboard_covers_every_widget_of_the_issue() {
        let specs = dashboard_metrics(&config());
        let titles: Vec<String> = specs.iter().map(MetricSpec::title).collect();
        for wanted in [
            "transaction-validator · invocations",
            "transaction-validator · errors",
            "transaction-validator · throttles",
            "transaction-validator · duration p50",
            "transaction-validator · duration p99",
            "transaction-validator · concurrency",
            "api · requests",
            "api · 4XX",
            "api · 5XX",
            "api · latency p99",
            "api · cache hits",
            "api · cache misses",
            "transactions · read consumed",
            "transactions · read provisioned",
            "analytics · depth",
            "analytics · oldest age",
            "analytics-dlq · depth",
            "notification-failures · depth",
        ] {
            assert!(titles.iter().any(|t| t == wanted), "missing {wanted}");
        }
        assert_eq!(specs.len(), 47);
    }

    #[test]
    fn units_format_compactly() {
        assert_eq!(Unit::Count.format(12.0), "12");
        assert_eq!(Unit::Milliseconds.format(3.42), "3.4 ms");
        assert_eq!(Unit::Percent.format(0.0), "0 %");
        assert_eq!(Unit::Count.format(25_400.0), "25.4k");
        assert_eq!(Unit::CapacityPerSecond.format(150.25), "150/s");
    }
}
