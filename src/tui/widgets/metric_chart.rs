//! The dashboard: every series as a sparkline row grouped by section, and a chart of the
//! selected series (with its pair, for consumed vs provisioned). Missing data reads "no
//! data", never zero.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use super::{fit, scroll_offset, sparkline, truncate};
use crate::monitor::metric_poller::{SeriesStatus, short_duration};
use crate::monitor::metric_spec::Section;
use crate::monitor::transition_log::format_clock;
use crate::monitor::{MetricFrame, MetricSpec, Series};
use crate::tui::app_state::{AppState, DashboardState};
use crate::tui::theme;

/// A row of the list: a section heading or a series (index into `specs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    Section(Section),
    Series(usize),
}

/// Headings before the first series of each section, in spec order.
pub fn rows(specs: &[MetricSpec]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(specs.len() + Section::ALL.len());
    let mut last = None;
    for (i, spec) in specs.iter().enumerate() {
        if last != Some(spec.section) {
            rows.push(Row::Section(spec.section));
            last = Some(spec.section);
        }
        rows.push(Row::Series(i));
    }
    rows
}

fn series<'a>(frame: Option<&'a MetricFrame>, spec: &MetricSpec) -> Option<&'a Series> {
    frame?.series.get(&spec.id)
}

/// The value column: the latest value, "no data", or why there is none.
fn value(frame: Option<&MetricFrame>, spec: &MetricSpec) -> (String, ratatui::style::Style) {
    if frame.is_none() {
        return ("…".to_owned(), theme::DIM);
    }
    match series(frame, spec) {
        // The reason is in the chart pane; the column only says it is not a value.
        Some(Series {
            status: SeriesStatus::Failed(_),
            ..
        }) => ("error".to_owned(), theme::BAD),
        Some(s) => match s.latest() {
            Some(v) => {
                let partial = if s.status == SeriesStatus::Partial {
                    "*"
                } else {
                    ""
                };
                (format!("{}{partial}", spec.unit.format(v)), theme::TITLE)
            }
            None => ("no data".to_owned(), theme::DIM),
        },
        None => ("no data".to_owned(), theme::DIM),
    }
}

fn headline(state: &AppState) -> Line<'static> {
    let d = &state.dashboard;
    let mut spans = vec![
        Span::styled(format!(" {} ", state.info.stack), theme::TITLE),
        Span::raw(format!("· {} ", d.window.normalized().label())),
    ];
    if d.fetching {
        spans.push(Span::styled(
            format!("{} fetching ", theme::spinner(state.clock_ms)),
            theme::INFO,
        ));
    }
    match &d.frame {
        Some(frame) => spans.push(Span::styled(
            format!(
                "· refreshed {} (every {}) · {} call{}, {} series",
                format_clock(frame.at_ms),
                short_duration(u32::try_from(state.info.metric_interval_s).unwrap_or(u32::MAX)),
                frame.calls,
                if frame.calls == 1 { "" } else { "s" },
                frame.queries
            ),
            theme::DIM,
        )),
        None if !d.started => spans.push(Span::styled("· not started", theme::DIM)),
        None => {}
    }
    if let Some((at, error)) = &d.error {
        spans.push(Span::styled(
            format!(" · refresh failed at {}: {error}", format_clock(*at)),
            theme::BAD,
        ));
    }
    Line::from(spans)
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let d = &state.dashboard;
    let chart_height = if area.height >= 18 {
        (area.height / 3).clamp(7, 14)
    } else {
        0
    };
    let [head, list, chart] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(chart_height),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(headline(state)), head);
    render_list(d, frame, list);
    if chart_height > 0 {
        render_chart(d, frame, chart);
    }
}

fn render_list(d: &DashboardState, frame: &mut Frame, area: Rect) {
    let rows = rows(&d.specs);
    let selected_row = rows
        .iter()
        .position(|r| *r == Row::Series(d.selected))
        .unwrap_or(0);
    let height = area.height as usize;
    let offset = scroll_offset(selected_row, rows.len(), height);
    let width = area.width as usize;
    let name_width = (width / 2).saturating_sub(2).clamp(20, 44);
    let value_width = 11;
    let spark_width = width.saturating_sub(name_width + value_width + 5);
    let data = d.frame.as_ref();
    let lines: Vec<Line> = rows
        .iter()
        .skip(offset)
        .take(height)
        .map(|row| match row {
            Row::Section(section) => Line::styled(format!(" {}", section.title()), theme::TITLE),
            Row::Series(i) => {
                let spec = &d.specs[*i];
                let (text, style) = value(data, spec);
                let spark = match (data, series(data, spec)) {
                    (Some(f), Some(s)) if !s.points.is_empty() => {
                        sparkline::render(&s.points, f.start_s, f.end_s, spark_width)
                    }
                    _ => " ".repeat(spark_width),
                };
                let line = Line::from(vec![
                    Span::raw("   "),
                    Span::raw(fit(&spec.title(), name_width)),
                    Span::raw(" "),
                    Span::styled(spark, theme::SPARK),
                    Span::raw(" "),
                    Span::styled(
                        format!("{:>value_width$}", truncate(&text, value_width)),
                        style,
                    ),
                ]);
                if *i == d.selected {
                    line.style(theme::SELECTED)
                } else {
                    line
                }
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// The selected series and, for a DynamoDB capacity series, its pair (consumed and
/// provisioned share a chart).
fn charted(d: &DashboardState) -> Vec<&MetricSpec> {
    let Some(spec) = d.specs.get(d.selected) else {
        return Vec::new();
    };
    if spec.section != Section::DynamoDb {
        return vec![spec];
    }
    let first_word = |s: &MetricSpec| s.label.split(' ').next().map(str::to_owned);
    d.specs
        .iter()
        .filter(|s| s.group == spec.group && first_word(s) == first_word(spec))
        .collect()
}

fn render_chart(d: &DashboardState, frame: &mut Frame, area: Rect) {
    let specs = charted(d);
    let Some(first) = specs.first() else { return };
    let title = if specs.len() > 1 {
        format!(
            " {} vs {} ",
            first.title(),
            specs[1..]
                .iter()
                .map(|s| s.label.clone())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(" {} ", first.title())
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme::TITLE))
        .title_bottom(Line::styled(
            format!(
                " {} ",
                truncate(&first.describe(), area.width.saturating_sub(4) as usize)
            ),
            theme::DIM,
        ));
    let Some(data) = &d.frame else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "   waiting for the first refresh…",
                theme::DIM,
            ))
            .block(block),
            area,
        );
        return;
    };
    if let Some(Series {
        status: SeriesStatus::Failed(why),
        ..
    }) = series(Some(data), first)
    {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!("   CloudWatch returned no values for this series: {why}"),
                theme::BAD,
            ))
            .block(block),
            area,
        );
        return;
    }
    let points: Vec<Vec<(f64, f64)>> = specs
        .iter()
        .map(|s| {
            series(Some(data), s)
                .map(|series| {
                    series
                        .points
                        .iter()
                        .map(|(t, v)| ((t - data.start_s) as f64, *v))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    if points.iter().all(Vec::is_empty) {
        let window = data.window.normalized();
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    "   no data in the last {} (CloudWatch has no datapoints; this is not zero)",
                    short_duration(window.range_s)
                ),
                theme::DIM,
            ))
            .block(block),
            area,
        );
        return;
    }
    let high = points
        .iter()
        .flatten()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max);
    let top = if high > 0.0 { high * 1.1 } else { 1.0 };
    let colors = [Color::Cyan, Color::Magenta, Color::Yellow];
    let datasets: Vec<Dataset> = specs
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (spec, data))| {
            Dataset::default()
                .name(spec.label.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(ratatui::style::Style::new().fg(colors[i % colors.len()]))
                .data(data)
        })
        .collect();
    let span = (data.end_s - data.start_s) as f64;
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(Axis::default().bounds([0.0, span]).labels([
            Span::styled(format_clock(data.start_s * 1000), theme::DIM),
            Span::styled(format_clock(data.end_s * 1000), theme::DIM),
        ]))
        .y_axis(Axis::default().bounds([0.0, top]).labels([
            Span::styled("0", theme::DIM),
            Span::styled(first.unit.format(high), theme::DIM),
        ]));
    frame.render_widget(chart, area);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::monitor::dashboard_metrics;

    #[test]
    fn every_section_gets_one_heading_before_its_series() {
        let specs = dashboard_metrics(&Config::defaults().unwrap());
        let rows = rows(&specs);
        let headings: Vec<Section> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Section(s) => Some(*s),
                Row::Series(_) => None,
            })
            .collect();
        assert_eq!(headings, Section::ALL);
        assert_eq!(rows.len(), specs.len() + Section::ALL.len());
    }

    #[test]
    fn capacity_series_are_charted_with_their_pair() {
        let mut d = DashboardState::new(dashboard_metrics(&Config::defaults().unwrap()));
        d.selected = d
            .specs
            .iter()
            .position(|s| s.label == "read provisioned")
            .unwrap();
        let labels: Vec<&str> = charted(&d).iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["read consumed", "read provisioned"]);
        d.selected = 0;
        assert_eq!(charted(&d).len(), 1);
    }
}
