//! The metric poller: the dashboard's series fetched with one batched GetMetricData call per
//! refresh (split only past 500 queries or 100,800 datapoints per call), turned into series
//! in which a missing value stays missing: "no data" never reads as zero.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::metric_spec::{MetricSpec, Source};
use super::{MonitorEvent, PollSource, now_ms};
use crate::adapters::sdk_error::Classified;
use crate::cloud::{CloudError, ErrorClass};

/// GetMetricData accepts at most this many queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// GetMetricData returns at most this many datapoints per call before it paginates.
pub const MAX_DATAPOINTS_PER_CALL: usize = 100_800;
/// Points per series the window allows; a finer period is coarsened to stay under it, so
/// the whole dashboard fits one call.
pub const MAX_POINTS_PER_SERIES: u32 = 1440;

/// Selectable periods, in seconds.
pub const PERIODS: [u32; 4] = [60, 300, 900, 3600];
/// Selectable ranges, in seconds.
pub const RANGES: [u32; 5] = [3600, 3 * 3600, 12 * 3600, 86_400, 7 * 86_400];

/// The period (resolution) and range (how far back) of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricWindow {
    pub period_s: u32,
    pub range_s: u32,
}

impl Default for MetricWindow {
    /// One-minute points over the last three hours.
    fn default() -> Self {
        Self {
            period_s: 60,
            range_s: 3 * 3600,
        }
    }
}

impl MetricWindow {
    /// Points each series has in this window.
    pub fn points(self) -> u32 {
        self.range_s / self.period_s.max(1)
    }

    /// The same window with the period coarsened until it has at most
    /// `MAX_POINTS_PER_SERIES` points.
    pub fn normalized(mut self) -> Self {
        for period in PERIODS {
            if self.points() <= MAX_POINTS_PER_SERIES {
                break;
            }
            self.period_s = self.period_s.max(period);
        }
        self
    }

    /// The next coarser period (stays at the coarsest).
    pub fn coarser(self) -> Self {
        let period_s = PERIODS
            .into_iter()
            .find(|p| *p > self.period_s)
            .unwrap_or(self.period_s);
        Self { period_s, ..self }
    }

    /// The next finer period, unless it would exceed the points limit.
    pub fn finer(self) -> Self {
        let Some(period_s) = PERIODS.into_iter().rev().find(|p| *p < self.period_s) else {
            return self;
        };
        let finer = Self { period_s, ..self };
        if finer.points() > MAX_POINTS_PER_SERIES {
            self
        } else {
            finer
        }
    }

    /// The next longer range (the period coarsens if needed).
    pub fn wider(self) -> Self {
        let range_s = RANGES
            .into_iter()
            .find(|r| *r > self.range_s)
            .unwrap_or(self.range_s);
        Self { range_s, ..self }.normalized()
    }

    /// The next shorter range.
    pub fn narrower(self) -> Self {
        let range_s = RANGES
            .into_iter()
            .rev()
            .find(|r| *r < self.range_s)
            .unwrap_or(self.range_s);
        Self { range_s, ..self }
    }

    /// `1 min × 3 h`.
    pub fn label(self) -> String {
        format!(
            "{} × {}",
            short_duration(self.period_s),
            short_duration(self.range_s)
        )
    }
}

/// `60` -> `1 min`, `10800` -> `3 h`, `604800` -> `7 d`.
pub fn short_duration(seconds: u32) -> String {
    if seconds.is_multiple_of(86_400) {
        format!("{} d", seconds / 86_400)
    } else if seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// Whether CloudWatch returned everything for a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeriesStatus {
    Complete,
    /// More points exist than were returned.
    Partial,
    /// CloudWatch could not compute it (`InternalError`, `Forbidden`) and said why.
    Failed(String),
}

/// One series' points, oldest first. No points means "no data", not zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// (Unix seconds, value).
    pub points: Vec<(i64, f64)>,
    pub status: SeriesStatus,
}

impl Series {
    pub fn latest(&self) -> Option<f64> {
        self.points.last().map(|(_, v)| *v)
    }

    pub fn max(&self) -> Option<f64> {
        self.points.iter().map(|(_, v)| *v).reduce(f64::max)
    }
}

/// One refresh of the dashboard.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFrame {
    /// When it was fetched (Unix milliseconds).
    pub at_ms: i64,
    pub window: MetricWindow,
    /// The time range asked for (Unix seconds), aligned to the period.
    pub start_s: i64,
    pub end_s: i64,
    /// By query id; a series CloudWatch did not return is absent.
    pub series: BTreeMap<String, Series>,
    /// GetMetricData calls this refresh made (pages included).
    pub calls: u32,
    pub queries: usize,
}

/// The specs split into GetMetricData calls: in order, each call within 500 queries and
/// 100,800 datapoints, and never splitting a group (expressions read their group's series).
pub fn batches(specs: &[MetricSpec], window: MetricWindow) -> Vec<Vec<&MetricSpec>> {
    let points = window.points().max(1) as usize;
    let max_queries = MAX_QUERIES_PER_CALL.min((MAX_DATAPOINTS_PER_CALL / points).max(1));
    let all: Vec<&MetricSpec> = specs.iter().collect();
    let mut out: Vec<Vec<&MetricSpec>> = Vec::new();
    for group in groups(&all) {
        match out.last_mut() {
            Some(batch) if batch.len() + group.len() <= max_queries => batch.extend(group),
            _ => out.push(group),
        }
    }
    out
}

/// The GetMetricData query for one spec.
pub fn query(spec: &MetricSpec, window: MetricWindow) -> MetricDataQuery {
    let period = i32::try_from(window.period_s).unwrap_or(i32::MAX);
    let builder = MetricDataQuery::builder()
        .id(&spec.id)
        .label(spec.title())
        .return_data(true);
    match &spec.source {
        Source::Metric {
            namespace,
            name,
            dimensions,
            stat,
        } => {
            let mut metric = Metric::builder().namespace(*namespace).metric_name(*name);
            for (key, value) in dimensions {
                metric = metric.dimensions(Dimension::builder().name(*key).value(value).build());
            }
            builder
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric.build())
                        .period(period)
                        .stat(stat.as_str())
                        .build(),
                )
                .build()
        }
        Source::Expression(expression) => builder.expression(expression).period(period).build(),
    }
}

/// The time range for a refresh at `now_ms`: ends at the end of the current period.
pub fn time_range(window: MetricWindow, now_ms: i64) -> (i64, i64) {
    let period = i64::from(window.period_s.max(1));
    let now_s = now_ms.div_euclid(1000);
    let end = now_s.div_euclid(period) * period + period;
    (end - i64::from(window.range_s), end)
}

/// Fetches every series of `specs` for `window` as of `now_ms`: one GetMetricData call per
/// batch (one for the whole dashboard).
///
/// When a batched call fails with a server error (CloudWatch, or an emulator, could not
/// compute one of the queries), that batch is fetched again group by group, and a group
/// that still fails query by query, so one bad series reads as an error instead of blanking
/// the dashboard. Only the failure path makes the extra calls.
pub async fn fetch(
    client: &aws_sdk_cloudwatch::Client,
    specs: &[MetricSpec],
    window: MetricWindow,
    now_ms: i64,
) -> Result<MetricFrame, CloudError> {
    let (start_s, end_s) = time_range(window, now_ms);
    let mut call = Call {
        client,
        window,
        start_s,
        end_s,
        raw: BTreeMap::new(),
        calls: 0,
    };
    for batch in batches(specs, window) {
        let error = match call.fetch(&batch).await {
            Ok(()) => continue,
            Err(error) if error.class == ErrorClass::Transient => error,
            Err(error) => return Err(error),
        };
        let mut fetched_any = false;
        for group in groups(&batch) {
            if call.fetch(&group).await.is_ok() {
                fetched_any = true;
                continue;
            }
            for spec in group {
                let alone = [spec];
                let result = match spec.source {
                    // An expression cannot run without the series it reads.
                    Source::Expression(_) => Err(()),
                    Source::Metric { .. } => call.fetch(&alone).await.map_err(|_| ()),
                };
                match result {
                    Ok(()) => fetched_any = true,
                    Err(()) => {
                        call.raw
                            .insert(spec.id.clone(), RawSeries::not_computed(&error));
                    }
                }
            }
        }
        if !fetched_any {
            return Err(error);
        }
    }
    let period = f64::from(window.period_s.max(1));
    let mut raw = call.raw;
    let calls = call.calls;
    let series = specs
        .iter()
        .filter_map(|spec| {
            let raw = raw.remove(&spec.id)?;
            Some((spec.id.clone(), raw.into_series(spec.per_second, period)))
        })
        .collect();
    Ok(MetricFrame {
        at_ms: now_ms,
        window,
        start_s,
        end_s,
        series,
        calls,
        queries: specs.len(),
    })
}

/// Consecutive specs of the same section and group.
fn groups<'a>(specs: &[&'a MetricSpec]) -> Vec<Vec<&'a MetricSpec>> {
    let mut groups: Vec<Vec<&MetricSpec>> = Vec::new();
    for spec in specs {
        match groups.last_mut() {
            Some(group) if group[0].group == spec.group && group[0].section == spec.section => {
                group.push(spec);
            }
            _ => groups.push(vec![spec]),
        }
    }
    groups
}

/// The GetMetricData calls of one refresh and what they returned.
struct Call<'a> {
    client: &'a aws_sdk_cloudwatch::Client,
    window: MetricWindow,
    start_s: i64,
    end_s: i64,
    raw: BTreeMap<String, RawSeries>,
    calls: u32,
}

impl Call<'_> {
    /// One GetMetricData for `specs`, following its pages.
    async fn fetch(&mut self, specs: &[&MetricSpec]) -> Result<(), CloudError> {
        let queries: Vec<MetricDataQuery> = specs.iter().map(|s| query(s, self.window)).collect();
        let mut next_token: Option<String> = None;
        let mut pages: BTreeMap<String, RawSeries> = BTreeMap::new();
        loop {
            self.calls += 1;
            let output = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from_secs(self.start_s))
                .end_time(DateTime::from_secs(self.end_s))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(next_token.take())
                .send()
                .await
                .classified("cloudwatch", "GetMetricData")?;
            for result in output.metric_data_results() {
                let Some(id) = result.id() else { continue };
                let entry = pages.entry(id.to_owned()).or_default();
                entry.points.extend(
                    result
                        .timestamps()
                        .iter()
                        .map(DateTime::secs)
                        .zip(result.values().iter().copied()),
                );
                entry.status = result.status_code().map(|c| c.as_str().to_owned());
                entry.messages.extend(
                    result
                        .messages()
                        .iter()
                        .filter_map(|m| m.value().map(str::to_owned)),
                );
            }
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        // Only a call that succeeded through its last page counts.
        self.raw.extend(pages);
        Ok(())
    }
}

/// What the pages of one query returned.
#[derive(Default)]
struct RawSeries {
    points: Vec<(i64, f64)>,
    status: Option<String>,
    messages: Vec<String>,
}

impl RawSeries {
    /// A series whose query failed even alone.
    fn not_computed(error: &CloudError) -> Self {
        let why = match (&error.code, error.status) {
            (Some(code), _) => code.clone(),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => error.class.to_string(),
        };
        Self {
            status: Some("InternalError".to_owned()),
            messages: vec![format!("not computed ({why})")],
            ..Self::default()
        }
    }

    fn into_series(mut self, per_second: bool, period: f64) -> Series {
        self.points.sort_by_key(|(t, _)| *t);
        if per_second {
            for (_, v) in &mut self.points {
                *v /= period;
            }
        }
        let status = match self.status.as_deref() {
            Some("PartialData") => SeriesStatus::Partial,
            Some("InternalError" | "Forbidden") => {
                SeriesStatus::Failed(if self.messages.is_empty() {
                    self.status.unwrap_or_default()
                } else {
                    self.messages.join("; ")
                })
            }
            _ => SeriesStatus::Complete,
        };
        Series {
            points: self.points,
            status,
        }
    }
}

/// Fetches every `interval`, when asked to (`refresh`), or when the window changes, and
/// sends each frame (or failure) to `events` until `cancel` or until nobody listens.
pub async fn run(
    client: &aws_sdk_cloudwatch::Client,
    specs: &[MetricSpec],
    mut window: watch::Receiver<MetricWindow>,
    interval: Duration,
    refresh: &Arc<Notify>,
    events: &mpsc::UnboundedSender<MonitorEvent>,
    cancel: &CancellationToken,
) {
    loop {
        let current = window.borrow_and_update().normalized();
        let fetched = tokio::select! {
            () = cancel.cancelled() => return,
            fetched = fetch(client, specs, current, now_ms()) => fetched,
        };
        let event = match fetched {
            Ok(frame) => MonitorEvent::Metrics(frame),
            Err(error) => MonitorEvent::Failed {
                source: PollSource::Metrics,
                at_ms: now_ms(),
                error: error.to_string(),
            },
        };
        if events.send(event).is_err() {
            return;
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
            () = refresh.notified() => {}
            changed = window.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::monitor::metric_spec::{Section, Stat, Unit, dashboard_metrics};

    fn spec(i: usize, group: &str) -> MetricSpec {
        MetricSpec {
            id: format!("m{i}"),
            section: Section::Lambda,
            group: group.to_owned(),
            label: "x".into(),
            unit: Unit::Count,
            source: Source::Metric {
                namespace: "AWS/Lambda",
                name: "Invocations",
                dimensions: Vec::new(),
                stat: Stat::Sum,
            },
            per_second: false,
        }
    }

    #[test]
    fn the_whole_dashboard_is_one_call_in_every_window() {
        let specs = dashboard_metrics(&Config::defaults().unwrap());
        for period in PERIODS {
            for range in RANGES {
                let window = MetricWindow {
                    period_s: period,
                    range_s: range,
                }
                .normalized();
                assert_eq!(batches(&specs, window).len(), 1, "{window:?}");
            }
        }
    }

    #[test]
    fn batches_stay_within_500_queries_and_never_split_a_group() {
        // 1,200 series in groups of 7: 3 calls, each within the limit.
        let specs: Vec<MetricSpec> = (0..1200).map(|i| spec(i, &format!("g{}", i / 7))).collect();
        let window = MetricWindow {
            period_s: 3600,
            range_s: 3600,
        };
        let out = batches(&specs, window);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|b| b.len() <= MAX_QUERIES_PER_CALL));
        assert_eq!(out.iter().map(Vec::len).sum::<usize>(), 1200);
        for pair in out.windows(2) {
            let last = pair[0].last().unwrap();
            let first = pair[1].first().unwrap();
            assert_ne!(last.group, first.group, "a group was split");
        }
    }

    #[test]
    fn batches_also_respect_the_datapoint_limit() {
        // 1,440 points per series: at most 70 series per call.
        let specs: Vec<MetricSpec> = (0..100).map(|i| spec(i, &format!("g{i}"))).collect();
        let window = MetricWindow {
            period_s: 60,
            range_s: 86_400,
        };
        let out = batches(&specs, window);
        assert_eq!(
            out.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![70, 30],
            "{}",
            MAX_DATAPOINTS_PER_CALL / 1440
        );
    }

    #[test]
    fn windows_keep_the_point_limit_while_moving() {
        let week = MetricWindow::default().wider().wider().wider();
        assert_eq!(week.range_s, 7 * 86_400);
        assert!(week.points() <= MAX_POINTS_PER_SERIES);
        assert_eq!(week.period_s, 900);
        // A finer period that would exceed the limit is refused.
        assert_eq!(week.finer(), week);
        assert_eq!(MetricWindow::default().coarser().period_s, 300);
        assert_eq!(MetricWindow::default().finer().period_s, 60);
        assert_eq!(MetricWindow::default().narrower().range_s, 3600);
        assert_eq!(MetricWindow::default().label(), "1 min × 3 h");
    }

    #[test]
    fn the_range_ends_at_the_end_of_the_current_period() {
        let window = MetricWindow {
            period_s: 300,
            range_s: 3600,
        };
        // 1_000_123 s is 223 s into a 300 s period that started at 999_900.
        assert_eq!(time_range(window, 1_000_123_456), (996_600, 1_000_200));
    }

    #[test]
    fn no_points_stay_no_data_and_consumed_capacity_reads_per_second() {
        let empty = RawSeries::default().into_series(false, 60.0);
        assert_eq!(empty.latest(), None);
        assert_eq!(empty.status, SeriesStatus::Complete);
        let consumed = RawSeries {
            points: vec![(120, 600.0), (60, 120.0)],
            status: Some("PartialData".into()),
            messages: Vec::new(),
        }
        .into_series(true, 60.0);
        assert_eq!(consumed.points, vec![(60, 2.0), (120, 10.0)]);
        assert_eq!(consumed.status, SeriesStatus::Partial);
        let error = CloudError::from_parts("cloudwatch", "GetMetricData", None, Some(500), "x");
        let failed = RawSeries::not_computed(&error).into_series(false, 60.0);
        assert_eq!(
            failed.status,
            SeriesStatus::Failed("not computed (HTTP 500)".into())
        );
        assert_eq!(failed.latest(), None);
    }

    #[test]
    fn expressions_become_expression_queries() {
        let specs = dashboard_metrics(&Config::defaults().unwrap());
        let rate = specs.iter().find(|s| s.label == "error rate").unwrap();
        let q = query(rate, MetricWindow::default());
        assert_eq!(q.expression(), Some("100 * m1 / m0"));
        assert!(q.metric_stat().is_none());
        let p99 = specs.iter().find(|s| s.label == "duration p99").unwrap();
        let q = query(p99, MetricWindow::default());
        let stat = q.metric_stat().unwrap();
        assert_eq!(stat.stat(), Some("p99"));
        assert_eq!(stat.period(), Some(60));
        let dims = stat.metric().unwrap().dimensions();
        assert_eq!(dims[0].value(), Some("tx-dev-transaction-validator"));
    }
}
