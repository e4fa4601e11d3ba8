//! The confirm dialogs: apply the plan shown, stop the running apply, quit while it runs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::centered;
use super::plan_table::warning_label;
use crate::report::plan_report::PlanSummary;
use crate::tui::app_state::{AppState, Dialog};
use crate::tui::theme;

fn keys(yes: &str, no: &str) -> Line<'static> {
    Line::from(vec![
        Span::raw(" "),
        Span::styled("[y]", theme::KEY),
        Span::raw(format!(" {yes}   ")),
        Span::styled("[n]", theme::KEY),
        Span::raw(format!(" {no}")),
    ])
}

pub fn render(state: &AppState, dialog: &Dialog, frame: &mut Frame, area: Rect) {
    let (title, lines) = match dialog {
        Dialog::ConfirmApply => {
            let mut lines = Vec::new();
            if let Some(plan) = &state.plan.plan {
                let changes = plan.changes.iter().filter(|c| c.action.mutates()).count();
                lines.push(Line::from(vec![
                    Span::raw(format!(" Apply {changes} change(s) to ")),
                    Span::styled(format!("`{}`", plan.stack), theme::TITLE),
                    Span::raw(format!(
                        " in account {} ({})?",
                        plan.environment.account_id, plan.environment.region
                    )),
                ]));
                lines.push(Line::raw(format!(
                    " {}",
                    PlanSummary::of(plan)
                        .to_string()
                        .trim_start_matches("Plan: ")
                )));
                for change in &plan.changes {
                    for warning in &change.warnings {
                        lines.push(Line::styled(
                            format!(
                                " ⚠ {} ({}): {}",
                                warning_label(warning.kind),
                                change.id,
                                warning.message
                            ),
                            theme::WARN,
                        ));
                    }
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                " The stack is read again first: if it changed since this plan, nothing is \
                 applied and the new plan is shown.",
                theme::DIM,
            ));
            lines.push(keys("apply", "cancel"));
            (" Apply? ", lines)
        }
        Dialog::ConfirmStop => {
            let running = state
                .deploy
                .as_ref()
                .map_or(0, |d| d.running(state.clock_ms).len());
            (
                " Stop the apply? ",
                vec![
                    Line::raw(format!(
                        " No new step starts; the {running} call(s) in flight finish and are \
                         journaled. Nothing is undone; `txdeploy apply` continues later."
                    )),
                    Line::raw(""),
                    keys("stop", "keep going"),
                ],
            )
        }
        Dialog::ConfirmQuit => (
            " Quit? ",
            vec![
                Line::raw(
                    " An apply is running. Stop it and quit once the calls in flight finish?",
                ),
                Line::raw(""),
                keys("stop and quit", "stay"),
            ],
        ),
    };
    let width = area.width.saturating_sub(4).min(76);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    // Wrapped height: each line takes ceil(len / width) rows.
    let height: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_width).max(1))
        .sum();
    let box_area = centered(area, width, u16::try_from(height + 2).unwrap_or(u16::MAX));
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme::WARN)
                .title(Span::styled(title, theme::TITLE)),
        ),
        box_area,
    );
}
