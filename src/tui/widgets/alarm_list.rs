//! The alarms screen: every stack alarm worst first with symbol, state, threshold and last
//! change; a recent transition is highlighted; the selection's reason, actions and the
//! transitions seen by polling (and where that history comes from).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{fit, scroll_offset, truncate};
use crate::monitor::transition_log::{format_age, format_clock, format_time};
use crate::monitor::{AlarmInfo, AlarmState};
use crate::tui::app_state::{AlarmsState, AppState};
use crate::tui::theme;

fn headline(state: &AppState) -> Line<'static> {
    let a = &state.alarms;
    let counts = a.counts();
    let mut spans = vec![
        Span::styled(format!(" {}-* ", state.info.stack), theme::TITLE),
        Span::styled(
            format!("✖ {}", counts.alarm),
            if counts.alarm > 0 {
                theme::BAD
            } else {
                theme::DIM
            },
        ),
        Span::styled(format!("  ? {}", counts.insufficient), theme::WARN),
        Span::styled(format!("  ✔ {}", counts.ok), theme::OK),
    ];
    match a.polled_ms {
        Some(at) => spans.push(Span::styled(
            format!(
                " · polled {} every {} s",
                format_clock(at),
                state.info.alarm_interval_s
            ),
            theme::DIM,
        )),
        None => spans.push(Span::styled(
            format!(" · {} first poll…", theme::spinner(state.clock_ms)),
            theme::INFO,
        )),
    }
    if let Some((at, error)) = &a.error {
        spans.push(Span::styled(
            format!(" · poll failed at {}: {error}", format_clock(*at)),
            theme::BAD,
        ));
    }
    Line::from(spans)
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let a = &state.alarms;
    if a.details {
        let [head, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        frame.render_widget(Paragraph::new(headline(state)), head);
        render_details(a, frame, body, true);
        return;
    }
    let details_height = if area.height >= 16 {
        (area.height / 3).clamp(6, 10)
    } else {
        0
    };
    let [head, list, details] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(details_height),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(headline(state)), head);
    render_list(a, state.info.stack.len() + 1, frame, list);
    if details_height > 0 {
        render_details(a, frame, details, false);
    }
}

fn render_list(a: &AlarmsState, prefix_len: usize, frame: &mut Frame, area: Rect) {
    if a.alarms.is_empty() {
        let text = if a.polled_ms.is_some() {
            " no alarms with the stack's name prefix yet; `txdeploy apply` creates them"
        } else {
            " reading the alarms…"
        };
        frame.render_widget(Paragraph::new(Line::styled(text, theme::DIM)), area);
        return;
    }
    let width = area.width as usize;
    let name_width = (width * 2 / 5).clamp(18, 48);
    let changed_width = 14;
    // Fixed columns: marker 3, state 11, three separating spaces.
    let fixed = 17;
    let threshold_width = if width >= 120 {
        34
    } else {
        width
            .saturating_sub(name_width + changed_width + fixed)
            .max(10)
    };
    let reason_width =
        width.saturating_sub(name_width + changed_width + threshold_width + fixed + 1);
    let header = Line::styled(
        format!(
            "   {:<11} {} {} {}{}",
            "STATE",
            fit("ALARM", name_width),
            fit("THRESHOLD", threshold_width),
            fit("CHANGED", changed_width),
            if reason_width > 8 { " REASON" } else { "" }
        ),
        theme::DIM,
    );
    let height = area.height.saturating_sub(1) as usize;
    let offset = scroll_offset(a.selected, a.alarms.len(), height);
    let now = a.polled_ms.unwrap_or(0);
    let mut lines = vec![header];
    lines.extend(
        a.alarms
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, alarm)| {
                let changed = a.is_highlighted(alarm);
                let marker = if changed { "◆" } else { " " };
                // The stack prefix is in the headline; the rest of the name is what differs.
                let name = alarm
                    .name
                    .get(prefix_len..)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&alarm.name);
                let when = alarm
                    .updated_ms
                    .map(|t| format!("{} ({})", format_clock(t), format_age(t, now)))
                    .unwrap_or_else(|| "-".to_owned());
                let mut spans = vec![
                    Span::raw(format!(" {marker} ")),
                    Span::styled(
                        format!("{} {:<9}", alarm.state.symbol(), alarm.state.short()),
                        theme::alarm(alarm.state),
                    ),
                    Span::raw(" "),
                    Span::raw(fit(name, name_width)),
                    Span::raw(" "),
                    Span::styled(fit(&alarm.threshold, threshold_width), theme::DIM),
                    Span::raw(" "),
                    Span::raw(fit(&when, changed_width)),
                ];
                if reason_width > 8 {
                    spans.push(Span::styled(
                        format!(" {}", truncate(&alarm.reason, reason_width)),
                        theme::DIM,
                    ));
                }
                let line = Line::from(spans);
                if i == a.selected {
                    line.style(theme::SELECTED)
                } else if changed {
                    line.style(theme::CHANGED)
                } else {
                    line
                }
            }),
    );
    frame.render_widget(Paragraph::new(lines), area);
}

fn state_line(alarm: &AlarmInfo, now: i64) -> Line<'static> {
    let since = alarm
        .updated_ms
        .map(|t| {
            format!(
                " since {} ({} before the last poll)",
                format_time(t),
                format_age(t, now)
            )
        })
        .unwrap_or_default();
    Line::from(vec![
        Span::styled(
            format!(" {} {}", alarm.state.symbol(), alarm.state.as_str()),
            theme::alarm(alarm.state),
        ),
        Span::raw(since),
    ])
}

fn render_details(a: &AlarmsState, frame: &mut Frame, area: Rect, full: bool) {
    let Some(alarm) = a.selected_alarm() else {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {}", a.log.source()), theme::DIM))
                .block(Block::default().borders(Borders::TOP))
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    };
    let since = a
        .log
        .since_ms()
        .map_or_else(|| "-".to_owned(), format_clock);
    let mut block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(format!(" {} ", alarm.name), theme::TITLE));
    if !full {
        // The pane is short: where history comes from stays visible at its bottom.
        block = block.title_bottom(Line::styled(
            format!(" history: this session's polls since {since}, not DescribeAlarmHistory "),
            theme::DIM,
        ));
    }
    let now = a.polled_ms.unwrap_or(0);
    let mut lines = vec![state_line(alarm, now)];
    if !alarm.reason.is_empty() {
        lines.push(Line::raw(format!(" reason: {}", alarm.reason)));
    }
    lines.push(Line::raw(format!(" threshold: {}", alarm.threshold)));
    if let Some(description) = &alarm.description {
        lines.push(Line::styled(format!(" {description}"), theme::DIM));
    }
    let actions = if alarm.actions.is_empty() {
        "none".to_owned()
    } else {
        alarm.actions.join(", ")
    };
    let enabled = if alarm.actions_enabled {
        ""
    } else {
        " (actions disabled)"
    };
    lines.push(Line::styled(
        format!(" notifies: {actions}{enabled}"),
        theme::DIM,
    ));
    let transitions: Vec<Line> = a
        .log
        .of_alarm(&alarm.name)
        .map(|t| {
            let style = match t.to {
                AlarmState::Alarm => theme::BAD,
                AlarmState::InsufficientData => theme::WARN,
                AlarmState::Ok => theme::OK,
            };
            Line::from(vec![
                Span::raw(format!("   {} ", format_clock(t.seen_ms))),
                Span::styled(t.arrow(), style),
                Span::styled(format!(": {}", t.reason), theme::DIM),
            ])
        })
        .collect();
    if transitions.is_empty() {
        lines.push(Line::styled(" transitions: none seen yet", theme::DIM));
    } else {
        lines.push(Line::raw(format!(" transitions ({}):", transitions.len())));
        lines.extend(transitions);
    }
    if full {
        lines.push(Line::styled(format!(" {}", a.log.source()), theme::DIM));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
