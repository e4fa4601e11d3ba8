//! `view`: draws the whole screen from `AppState`: the tab bar, the current screen's body,
//! a notice line, the key footer, and the help or dialog overlay. Only draws.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app_state::{AppState, Screen};
use super::keymap::{Action, Context, bindings};
use super::theme;
use super::widgets::{
    alarm_list, confirm_dialog, help_overlay, launch_panel, metric_chart, plan_table, step_progress,
};

/// The text before the tabs.
const BRAND: &str = " txdeploy ";

fn tab_label(screen: Screen) -> String {
    format!(" {} {} ", screen.key(), screen.title())
}

/// The tab under column `x` of the top row (for mouse clicks); the same layout `view` draws.
pub fn tab_at(x: u16) -> Option<Screen> {
    let mut start = BRAND.chars().count();
    let x = usize::from(x);
    for screen in Screen::ALL {
        let end = start + tab_label(screen).chars().count();
        if (start..end).contains(&x) {
            return Some(screen);
        }
        start = end;
    }
    None
}

/// Draws everything.
pub fn view(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    let notice_height = u16::from(state.notice.is_some());
    let [header, body, notice, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(notice_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(state, frame, header);
    match state.screen {
        Screen::Launch => launch_panel::render(state, frame, body),
        Screen::Plan => plan_table::render(state, frame, body),
        Screen::Deploy => step_progress::render(state, frame, body),
        Screen::Dashboard => metric_chart::render(state, frame, body),
        Screen::Alarms => alarm_list::render(state, frame, body),
    }
    if let Some(n) = &state.notice {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {}", n.text), theme::level(n.level))),
            notice,
        );
    }
    draw_footer(state, frame, footer);
    if let Some(dialog) = &state.dialog {
        confirm_dialog::render(state, dialog, frame, body);
    } else if state.help {
        help_overlay::render(state, frame, body);
    }
}

fn draw_header(state: &AppState, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(BRAND, theme::TITLE)];
    for screen in Screen::ALL {
        let style = if screen == state.screen {
            theme::TAB_ACTIVE
        } else {
            theme::HEADER
        };
        spans.push(Span::styled(tab_label(screen), style));
    }
    let counts = state.alarms.counts();
    let mut right = vec![Span::raw(format!(" {} ", state.info.stack))];
    if state.alarms.polled_ms.is_some() {
        if counts.alarm > 0 {
            right.push(Span::styled(format!("✖{} ", counts.alarm), theme::BAD));
        }
        if counts.insufficient > 0 {
            right.push(Span::raw(format!("?{} ", counts.insufficient)));
        }
        right.push(Span::raw(format!("✔{} ", counts.ok)));
    }
    if state.apply_running() {
        right.push(Span::raw(format!(
            "{} applying ",
            theme::spinner(state.clock_ms)
        )));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let right_width: usize = right.iter().map(Span::width).sum();
    let gap = usize::from(area.width).saturating_sub(used + right_width);
    spans.push(Span::raw(" ".repeat(gap)));
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme::HEADER), area);
}

fn draw_footer(state: &AppState, frame: &mut Frame, area: Rect) {
    let context = if state.dialog.is_some() {
        Context::Dialog
    } else if state.help {
        Context::Help
    } else {
        Context::Screen(state.screen)
    };
    let editing = state
        .deploy
        .as_ref()
        .is_some_and(|d| d.editing_filter && state.screen == Screen::Deploy);
    let mut spans = Vec::new();
    if editing {
        spans.push(Span::styled(" type a name · ", theme::DIM));
        spans.push(Span::styled("enter", theme::KEY));
        spans.push(Span::raw(" keep · "));
        spans.push(Span::styled("esc", theme::KEY));
        spans.push(Span::raw(" clear"));
    } else {
        // "C-c stop" only while there is an apply to stop, "p promote" and "a abort" only
        // while a canary window runs.
        let shown = |b: &&super::keymap::Binding| {
            !b.short.is_empty()
                && match b.action {
                    Action::Interrupt => state.apply_running(),
                    Action::PromoteCanary | Action::AbortCanary => state.canary_active(),
                    _ => true,
                }
        };
        for binding in bindings(context).filter(shown) {
            spans.push(Span::styled(format!(" {}", binding.label), theme::KEY));
            spans.push(Span::raw(format!(" {} ", binding.short)));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::app_state::Dialog;
    use crate::tui::sample;

    /// The screen as text, with what varies between runs (ARNs, account and apply ids,
    /// times) replaced, as in gitui's `apply_common_filters!`.
    fn render(state: &AppState, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| view(state, frame)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    macro_rules! assert_screen {
        ($name:expr, $text:expr) => {
            insta::with_settings!({filters => vec![
                (r"arn:aws[a-z-]*:[^\s,)]+", "[arn]"),
                (r"\b\d{12}\b", "[account]"),
                (r"\d{8}T\d{9}Z-[0-9a-f]+", "[apply-id]"),
                (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", "[time]"),
                (r"\b\d{2}:\d{2}:\d{2}\b", "[clock]"),
            ]}, {
                insta::assert_snapshot!($name, $text);
            });
        };
    }

    #[test]
    fn launch_while_loading() {
        let mut state = sample::state(Screen::Launch);
        state.clock_ms = 1200;
        assert_screen!("launch_loading", render(&state, 80, 24));
    }

    #[test]
    fn launch_ready() {
        assert_screen!("launch_ready", render(&sample::launched(), 80, 24));
    }

    #[test]
    fn plan_with_a_selected_update() {
        let mut state = sample::launched();
        state.screen = Screen::Plan;
        state.plan.selected = sample::selected_update(&state);
        assert_screen!("plan", render(&state, 80, 24));
    }

    #[test]
    fn plan_wide_with_unchanged_shown() {
        let mut state = sample::launched();
        state.screen = Screen::Plan;
        state.plan.show_unchanged = true;
        assert_screen!("plan_wide", render(&state, 140, 30));
    }

    #[test]
    fn plan_confirm_dialog() {
        let mut state = sample::launched();
        state.screen = Screen::Plan;
        state.dialog = Some(Dialog::ConfirmApply);
        assert_screen!("plan_confirm", render(&state, 80, 24));
    }

    #[test]
    fn deploy_running() {
        assert_screen!("deploy_running", render(&sample::deploying(), 80, 24));
    }

    #[test]
    fn deploy_failed_with_the_error_and_next_step() {
        assert_screen!("deploy_failed", render(&sample::deploy_failed(), 80, 24));
    }

    #[test]
    fn deploy_canary_window_with_time_left_and_alarms() {
        let state = sample::canary_window();
        let text = render(&state, 80, 24);
        assert!(text.contains(" p promote "), "{text}");
        assert!(text.contains(" a abort "), "{text}");
        assert_screen!("deploy_canary", text);
    }

    #[test]
    fn deploy_rolling_back_shows_each_node_undo_state() {
        let text = render(&sample::deploy_rolling_back(), 80, 24);
        assert!(text.contains("Rolling back"), "{text}");
        assert_screen!("deploy_rolling_back", text);
    }

    #[test]
    fn deploy_stop_dialog() {
        let mut state = sample::deploying();
        state.dialog = Some(Dialog::ConfirmStop);
        assert_screen!("deploy_stop", render(&state, 80, 24));
    }

    #[test]
    fn dashboard_80x24() {
        assert_screen!("dashboard", render(&sample::dashboard(), 80, 24));
    }

    #[test]
    fn dashboard_wide_with_the_capacity_pair() {
        let mut state = sample::dashboard();
        state.dashboard.selected = state
            .dashboard
            .specs
            .iter()
            .position(|s| s.label == "read consumed")
            .unwrap();
        assert_screen!("dashboard_wide", render(&state, 120, 40));
    }

    #[test]
    fn alarms_with_a_fresh_transition() {
        assert_screen!("alarms", render(&sample::alarms_screen(), 80, 24));
    }

    #[test]
    fn alarm_details_with_history() {
        let mut state = sample::alarms_screen();
        state.alarms.details = true;
        assert_screen!("alarm_details", render(&state, 100, 30));
    }

    #[test]
    fn help_overlay() {
        let mut state = sample::launched();
        state.screen = Screen::Dashboard;
        state.help = true;
        assert_screen!("help", render(&state, 80, 24));
    }

    #[test]
    fn every_screen_draws_at_tiny_sizes_without_panicking() {
        let states = [
            sample::state(Screen::Launch),
            sample::launched(),
            sample::deploying(),
            sample::dashboard(),
            sample::alarms_screen(),
        ];
        for mut state in states {
            for screen in Screen::ALL {
                state.screen = screen;
                for (w, h) in [(1, 1), (20, 5), (40, 10), (80, 24)] {
                    render(&state, w, h);
                }
            }
        }
    }

    #[test]
    fn tabs_are_where_the_header_draws_them() {
        let state = sample::launched();
        let text = render(&state, 100, 3);
        let top = text.lines().next().unwrap();
        for screen in Screen::ALL {
            let label = tab_label(screen);
            let at = top.find(label.trim()).unwrap();
            // `find` gives a byte offset; the header before the tabs is ASCII.
            assert_eq!(tab_at(u16::try_from(at).unwrap()), Some(screen), "{label}");
        }
        assert_eq!(tab_at(0), None);
    }
}
