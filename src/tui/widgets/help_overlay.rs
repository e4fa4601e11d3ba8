//! The help overlay (`?`): every key of the current screen and the global ones, from the
//! same keymap that handles them, plus where logs and alarm history come from.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::centered;
use crate::tui::app_state::AppState;
use crate::tui::keymap::{Context, bindings};
use crate::tui::theme;

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::styled(
        format!(" {} screen", state.screen.title()),
        theme::TITLE,
    )];
    for binding in bindings(Context::Screen(state.screen)).filter(|b| !b.help.is_empty()) {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<8}", binding.label), theme::KEY),
            Span::raw(binding.help),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Mouse: the wheel scrolls lists, a click on a tab opens it.",
        theme::DIM,
    ));
    lines.push(Line::styled(
        format!(
            " Alarms poll every {} s, metrics every {} s; alarm history is what this session \
             saw (DescribeAlarmHistory is not read).",
            state.info.alarm_interval_s, state.info.metric_interval_s
        ),
        theme::DIM,
    ));
    if let Some(log) = &state.info.log_file {
        lines.push(Line::styled(format!(" Logs: {log}"), theme::DIM));
    }
    let width = area.width.saturating_sub(4).min(90);
    let height = u16::try_from(lines.len() + 4).unwrap_or(u16::MAX);
    let box_area = centered(area, width, height);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme::INFO)
                .title(Span::styled(" Help · ?/esc closes ", theme::TITLE)),
        ),
        box_area,
    );
}
