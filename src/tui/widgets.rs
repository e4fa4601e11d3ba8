//! The pieces `view` composes: one module per screen body or overlay, plus small text and
//! sparkline helpers. Widgets read `AppState` and draw; they never change it.

pub mod alarm_list;
pub mod canary_panel;
pub mod confirm_dialog;
pub mod help_overlay;
pub mod launch_panel;
pub mod metric_chart;
pub mod plan_table;
pub mod sparkline;
pub mod step_progress;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// `text` cut to `width` characters, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `text` cut or padded with spaces to exactly `width` characters.
pub fn fit(text: &str, width: usize) -> String {
    let cut = truncate(text, width);
    let pad = width.saturating_sub(cut.chars().count());
    format!("{cut}{}", " ".repeat(pad))
}

/// A box of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// The first row to show so that `selected` stays visible in `height` rows of `len`,
/// keeping it near the middle while scrolling (stateless, so `view` needs no scroll state).
pub fn scroll_offset(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    selected.saturating_sub(height / 2).min(len - height)
}

/// `0.4 s`, `12.0 s`, `2 min 5 s`.
pub fn duration(ms: u64) -> String {
    crate::report::format_duration(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_with_an_ellipsis_and_padded() {
        assert_eq!(truncate("queue/analytics", 8), "queue/a…");
        assert_eq!(truncate("abc", 8), "abc");
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    #[test]
    fn scrolling_keeps_the_selection_in_view() {
        assert_eq!(scroll_offset(0, 100, 10), 0);
        assert_eq!(scroll_offset(50, 100, 10), 45);
        assert_eq!(scroll_offset(99, 100, 10), 90);
        assert_eq!(scroll_offset(5, 8, 10), 0);
    }
}
