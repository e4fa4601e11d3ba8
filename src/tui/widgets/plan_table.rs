//! The plan screen: changes grouped by service in dependency order, and the selected
//! change's field diffs, replace reason and warnings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{fit, scroll_offset, truncate};
use crate::plan::{Action, FieldDiff, PlannedChange, WarningKind};
use crate::report::plan_report::PlanSummary;
use crate::tui::app_state::{AppState, PlanRow};
use crate::tui::theme;

pub fn warning_label(kind: WarningKind) -> &'static str {
    match kind {
        WarningKind::DataRisk => "data risk",
        WarningKind::Cost => "cost",
        WarningKind::Irreversible => "irreversible",
        WarningKind::AwsRule => "AWS rule",
        WarningKind::Traffic => "traffic",
    }
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(plan) = &state.plan.plan else {
        let text = match &state.launch.plan {
            crate::tui::app_state::Load::Failed { error, .. } => {
                Line::styled(format!(" the plan could not be made: {error}"), theme::BAD)
            }
            _ => Line::styled(
                format!(
                    " {} observing the stack and planning…",
                    theme::spinner(state.clock_ms)
                ),
                theme::DIM,
            ),
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
        return;
    };
    let env = &plan.environment;
    let warnings: usize = plan.changes.iter().map(|c| c.warnings.len()).sum();
    let s = PlanSummary::of(plan);
    let mut top = vec![Line::from(vec![
        Span::styled(format!(" {} ", plan.stack), theme::TITLE),
        Span::raw(format!("in {} ({}): ", env.account_id, env.region)),
        Span::styled(format!("+{} ", s.create), theme::action("create")),
        Span::styled(format!("~{} ", s.update), theme::action("update")),
        Span::styled(format!("±{} ", s.replace), theme::action("replace")),
        Span::styled(format!("-{} ", s.delete), theme::action("delete")),
        Span::styled(format!("={}", s.unchanged), theme::DIM),
    ])];
    let mut notes = Vec::new();
    if warnings > 0 {
        notes.push(Span::styled(
            format!(" ⚠ {warnings} warning(s)"),
            theme::WARN,
        ));
    }
    if !plan.refusals.is_empty() {
        notes.push(Span::styled(
            format!(" × refused: {}", plan.refusals.join("; ")),
            theme::BAD,
        ));
    }
    if !plan.kept.is_empty() {
        notes.push(Span::styled(
            format!(" = {} kept (hold data)", plan.kept.len()),
            theme::DIM,
        ));
    }
    if !plan.has_changes() {
        notes.push(Span::styled(
            " no changes: the stack matches the config",
            theme::OK,
        ));
    }
    if !notes.is_empty() {
        top.push(Line::from(notes));
    }
    let [header, body] =
        Layout::vertical([Constraint::Length(top.len() as u16), Constraint::Min(3)]).areas(area);
    frame.render_widget(Paragraph::new(top), header);

    let selected = state.plan.selected_change();
    if state.plan.details {
        render_details(selected, frame, body, true);
        return;
    }
    let (list_area, detail_area) = if body.width >= 120 {
        let [l, d] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(body);
        (l, d)
    } else {
        let detail = (body.height / 2).clamp(4, 12);
        let [l, d] = Layout::vertical([Constraint::Min(3), Constraint::Length(detail)]).areas(body);
        (l, d)
    };
    render_list(state, frame, list_area);
    render_details(selected, frame, detail_area, false);
}

fn render_list(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(plan) = &state.plan.plan else { return };
    let rows = state.plan.rows();
    let visible = state.plan.visible_changes();
    let selected_index = visible.get(state.plan.selected).copied();
    let hidden = state.plan.hidden_unchanged();
    let height = area.height.saturating_sub(u16::from(hidden > 0)) as usize;
    let selected_row = rows
        .iter()
        .position(|r| matches!(r, PlanRow::Change(i) if Some(*i) == selected_index))
        .unwrap_or(0);
    let offset = scroll_offset(selected_row, rows.len(), height);
    let width = area.width as usize;
    let id_width = (width * 2 / 5).clamp(16, 40);
    let mut lines: Vec<Line> = rows
        .iter()
        .skip(offset)
        .take(height)
        .map(|row| match row {
            PlanRow::Service(service, n) => Line::from(vec![
                Span::styled(format!(" {service}"), theme::TITLE),
                Span::styled(format!(" ({n})"), theme::DIM),
            ]),
            PlanRow::Change(i) => {
                let change = &plan.changes[*i];
                let label = change.action.label();
                let warn = if change.warnings.is_empty() {
                    String::new()
                } else {
                    format!(" ⚠{}", change.warnings.len())
                };
                let rest = width.saturating_sub(id_width + 14 + warn.chars().count());
                let line = Line::from(vec![
                    Span::raw("   "),
                    Span::styled(
                        format!("{} {:<8}", theme::action_symbol(label), label),
                        theme::action(label),
                    ),
                    Span::raw(fit(&change.id.to_string(), id_width)),
                    Span::styled(
                        format!(" {}", truncate(&change.physical_name, rest)),
                        theme::DIM,
                    ),
                    Span::styled(warn, theme::WARN),
                ]);
                if Some(*i) == selected_index {
                    line.style(theme::SELECTED)
                } else {
                    line
                }
            }
        })
        .collect();
    if hidden > 0 {
        lines.push(Line::styled(
            format!("   ({hidden} unchanged hidden; u shows them)"),
            theme::DIM,
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn value_text(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |v| v.to_string())
}

/// A diff as lines; values are cut to `width` unless `full` (then they wrap).
fn diff_lines(diff: &FieldDiff, full: bool, width: usize) -> Vec<Line<'static>> {
    let cut = |s: String| {
        if full {
            s
        } else {
            truncate(&s, width.saturating_sub(9).max(8))
        }
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("   ~ {}", diff.field), theme::WARN),
        Span::styled(
            if diff.forces_replace.is_some() {
                "  (forces replacement)"
            } else {
                ""
            },
            theme::BAD,
        ),
    ])];
    lines.push(Line::from(vec![
        Span::styled("       - ", theme::BAD),
        Span::raw(cut(value_text(diff.before.as_ref()))),
    ]));
    lines.push(Line::from(vec![
        Span::styled("       + ", theme::OK),
        Span::raw(cut(diff.after.to_string())),
    ]));
    if let Some(why) = diff.forces_replace {
        lines.push(Line::styled(format!("       {why}"), theme::DIM));
    }
    lines
}

fn render_details(change: Option<&PlannedChange>, frame: &mut Frame, area: Rect, full: bool) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(" Details ", theme::TITLE));
    let Some(change) = change else {
        frame.render_widget(
            Paragraph::new(Line::styled(" nothing selected", theme::DIM)).block(block),
            area,
        );
        return;
    };
    let label = change.action.label();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(" {} {label} ", theme::action_symbol(label)),
            theme::action(label),
        ),
        Span::styled(change.id.to_string(), theme::TITLE),
        Span::styled(format!("  {}", change.physical_name), theme::DIM),
    ])];
    if let Action::Replace { reason } = &change.action {
        lines.push(Line::styled(
            format!("   replaced because {reason}"),
            theme::BAD,
        ));
    }
    for warning in &change.warnings {
        lines.push(Line::styled(
            format!("   ⚠ {}: {}", warning_label(warning.kind), warning.message),
            theme::WARN,
        ));
    }
    match &change.action {
        Action::Create => lines.push(Line::styled(
            "   created with every field of its spec; references resolve when their \
             resources exist",
            theme::DIM,
        )),
        Action::Delete => lines.push(Line::styled("   deleted from AWS", theme::DIM)),
        Action::NoOp => lines.push(Line::styled(
            "   matches the config; not touched",
            theme::DIM,
        )),
        Action::Update | Action::Replace { .. } => {}
    }
    for diff in &change.diffs {
        lines.extend(diff_lines(diff, full, area.width as usize));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
