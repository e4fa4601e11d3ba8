//! The canary panel of the deploy screen: weight and versions, the time left as a gauge,
//! and every watched alarm with its state; how the window ended once it has.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph};

use super::{duration, fit, truncate};
use crate::canary::{CanaryCommand, PromoteTrigger};
use crate::tui::app_state::{CanaryEnd, CanaryView};
use crate::tui::theme;

/// Rows the panel takes: a title rule, the headline, the gauge and one row per alarm.
pub fn height(canary: &CanaryView) -> u16 {
    u16::try_from(3 + canary.alarms.len()).unwrap_or(u16::MAX)
}

/// `transaction-validator 3→4`, for each alias (function names without the stack prefix
/// would be ambiguous across stacks, so they stay whole).
fn versions(canary: &CanaryView) -> String {
    canary
        .aliases
        .iter()
        .map(|a| format!("{} {}→{}", a.function, a.stable_version, a.canary_version))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn headline(canary: &CanaryView, now_ms: u64) -> Line<'static> {
    match (&canary.ended, canary.requested) {
        (Some(CanaryEnd::Promoted(trigger)), _) => {
            let why = match trigger {
                PromoteTrigger::WindowPassed => "no watched alarm fired during the window",
                PromoteTrigger::Manual => "promoted by hand",
            };
            Line::from(vec![
                Span::styled(" ✔ promoted", theme::OK),
                Span::raw(format!(": {why}; the aliases run the new version")),
            ])
        }
        (Some(CanaryEnd::RolledBack(cause)), _) => Line::from(vec![
            Span::styled(" ✖ rolled back", theme::BAD),
            Span::raw(format!(
                ": {}; the aliases run the old version",
                cause.describe()
            )),
        ]),
        (None, Some(command)) => {
            let doing = match command {
                CanaryCommand::PromoteNow => "promoting now",
                CanaryCommand::Abort | CanaryCommand::Interrupt => "rolling back now",
            };
            Line::from(vec![
                Span::styled(format!(" {} ", theme::spinner(now_ms)), theme::INFO),
                Span::raw(format!("{doing}…")),
            ])
        }
        (None, None) => Line::from(vec![
            Span::styled(format!(" {}% ", canary.weight_percent), theme::INFO),
            Span::raw(format!(
                "of the traffic on the new version: {}",
                versions(canary)
            )),
        ]),
    }
}

pub fn render(canary: &CanaryView, now_ms: u64, frame: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::TOP).title(Span::styled(
        format!(" Canary {}% ", canary.weight_percent),
        theme::TITLE,
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [head, gauge, alarms] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(truncate_line(headline(canary, now_ms), head.width)),
        head,
    );
    let (ratio, label, style) = match &canary.ended {
        None => (
            canary.passed(now_ms),
            format!(
                " {} left of {} ",
                duration(canary.remaining_ms(now_ms)),
                duration(canary.window_ms)
            ),
            theme::INFO,
        ),
        Some(CanaryEnd::Promoted(_)) => (1.0, " window over ".to_owned(), theme::OK),
        Some(CanaryEnd::RolledBack(_)) => {
            (canary.passed(now_ms), " stopped ".to_owned(), theme::BAD)
        }
    };
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio)
            .filled_style(style)
            .label(label),
        gauge,
    );
    let width = usize::from(alarms.width);
    let lines: Vec<Line> = canary
        .alarms
        .iter()
        .map(|row| {
            let (symbol, word, style) = match row.state {
                Some(state) => (state.symbol(), state.short(), theme::alarm(state)),
                None => ("·", "waiting", theme::DIM),
            };
            let name_width = (width / 2).clamp(20, 48);
            let rest = width.saturating_sub(name_width + 12);
            Line::from(vec![
                Span::styled(format!(" {symbol} {} ", fit(word, 7)), style),
                Span::raw(fit(&row.name, name_width)),
                Span::styled(format!(" {}", truncate(&row.reason, rest)), theme::DIM),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), alarms);
}

/// A line cut to `width` columns (spans kept, the last one shortened).
fn truncate_line(line: Line<'static>, width: u16) -> Line<'static> {
    let mut left = usize::from(width);
    let spans = line
        .spans
        .into_iter()
        .filter_map(|span| {
            if left == 0 {
                return None;
            }
            let text = truncate(&span.content, left);
            left = left.saturating_sub(text.chars().count());
            Some(Span::styled(text, span.style))
        })
        .collect::<Vec<_>>();
    Line::from(spans)
}
