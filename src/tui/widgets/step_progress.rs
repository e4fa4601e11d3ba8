//! The live deploy view: an overall gauge with the ETA from the critical path, the running
//! set, every node with its state and elapsed time, and the selected node's error and next
//! step.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph, Wrap};

use super::{canary_panel, duration, fit, scroll_offset, truncate};
use crate::engine::{ApplyOutcome, SkipReason};
use crate::report::next_step;
use crate::tui::app_state::{AppState, DeployPhase, DeployState, NodeRow, NodeState};
use crate::tui::theme;

/// `40%` in a wait message, for a small gauge (a backfill reports its percentage).
pub fn percent_in(message: &str) -> Option<u16> {
    let end = message.find('%')?;
    let digits: String = message[..end]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse::<u16>().ok().filter(|p| *p <= 100)
}

/// `[████░░░░] 40%`.
fn mini_gauge(percent: u16, width: usize) -> String {
    let filled = width * usize::from(percent) / 100;
    format!(
        "[{}{}] {percent}%",
        "█".repeat(filled),
        "░".repeat(width.saturating_sub(filled))
    )
}

/// What the note column says about a node.
fn note(node: &NodeRow) -> (String, ratatui::style::Style) {
    match &node.state {
        NodeState::Retrying {
            attempt,
            class,
            error,
            delay_ms,
        } => (
            format!(
                "attempt {attempt}, {class}: {error} (next in {})",
                duration(*delay_ms)
            ),
            theme::WARN,
        ),
        NodeState::Failed(error) => (error.to_string(), theme::BAD),
        NodeState::UndoFailed(error) => (format!("undo failed: {error}"), theme::BAD),
        NodeState::RollingBack => ("undoing this apply's change".to_owned(), theme::WARN),
        NodeState::RolledBack(how) => (format!("undone: {how}"), theme::INFO),
        NodeState::Kept(reason) => (reason.clone(), theme::DIM),
        NodeState::Skipped(reason) => (
            match reason {
                SkipReason::NoOp => "unchanged".to_owned(),
                SkipReason::DependencyFailed { dependency } => {
                    format!("not run: `{dependency}` failed or was skipped")
                }
                SkipReason::Stopped => "not run: the apply stopped first".to_owned(),
            },
            theme::DIM,
        ),
        NodeState::Running | NodeState::Waiting | NodeState::Done => match &node.progress {
            Some(message) if node.state == NodeState::Running => {
                let gauge = percent_in(message)
                    .map(|p| format!("{} ", mini_gauge(p, 10)))
                    .unwrap_or_default();
                (format!("{gauge}{message}"), theme::INFO)
            }
            _ => (String::new(), theme::DIM),
        },
    }
}

/// `, 3 rolled back, 1 kept, 1 undo failed` after an undo; empty when nothing was undone.
fn undo_summary(deploy: &DeployState) -> String {
    let parts: Vec<String> = ["rolled back", "kept", "undo failed"]
        .into_iter()
        .map(|word| (word, deploy.count(word)))
        .filter(|(_, n)| *n > 0)
        .map(|(word, n)| format!("{n} {word}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(", {}", parts.join(", "))
    }
}

fn headline(deploy: &DeployState, now: u64) -> Line<'static> {
    let (finished, total) = deploy.progress();
    let elapsed = now.saturating_sub(deploy.started_ms);
    match &deploy.phase {
        DeployPhase::Preparing => Line::from(vec![
            Span::styled(format!(" {} Preparing ", theme::spinner(now)), theme::INFO),
            Span::raw(format!(
                "`{}`: taking the lock and reading the stack again; nothing has changed yet",
                deploy.stack
            )),
        ]),
        DeployPhase::Undoing => Line::from(vec![
            Span::styled(" ↶ Rolling back ", theme::WARN),
            Span::raw(format!(
                "`{}`: the apply failed; undoing what it changed, dependents first · {} rolled \
                 back, {} kept · elapsed {}",
                deploy.stack,
                deploy.count("rolled back"),
                deploy.count("kept"),
                duration(elapsed)
            )),
        ]),
        DeployPhase::Running | DeployPhase::Stopping => {
            let eta = deploy
                .eta_ms(now)
                .map(|ms| format!(" · ETA {} (critical path)", duration(ms)))
                .unwrap_or_default();
            let verb = if deploy.phase == DeployPhase::Stopping {
                Span::styled(" Stopping ", theme::WARN)
            } else {
                Span::styled(" Applying ", theme::TITLE)
            };
            Line::from(vec![
                verb,
                Span::raw(format!(
                    "`{}` · {finished}/{total} finished · elapsed {}{eta}",
                    deploy.stack,
                    duration(elapsed)
                )),
            ])
        }
        DeployPhase::Finished {
            outcome,
            elapsed_ms,
            ..
        } => {
            let (word, style) = match outcome {
                ApplyOutcome::Succeeded => ("✔ Apply succeeded", theme::OK),
                ApplyOutcome::Failed => ("✖ Apply failed", theme::BAD),
                ApplyOutcome::Interrupted => ("⊘ Apply stopped", theme::WARN),
            };
            Line::from(vec![
                Span::styled(format!(" {word}"), style),
                Span::raw(format!(
                    " in {}: {} done, {} failed, {} skipped, {} unchanged{}",
                    duration(*elapsed_ms),
                    deploy.count("done"),
                    deploy.count("failed"),
                    deploy.count("skipped"),
                    deploy.unchanged,
                    undo_summary(deploy)
                )),
            ])
        }
    }
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(deploy) = &state.deploy else {
        let lines = vec![
            Line::styled(" No apply in this session.", theme::DIM),
            Line::from(vec![
                Span::raw(" "),
                Span::styled("2", theme::KEY),
                Span::raw(" shows the plan; "),
                Span::styled("a", theme::KEY),
                Span::raw(" there applies it after you confirm."),
            ]),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let now = state.clock_ms;
    // Room for an error and its next step when there is one to show.
    let troubled = matches!(deploy.phase, DeployPhase::Finished { error: Some(_), .. })
        || deploy.selected_node().is_some_and(|n| {
            matches!(
                n.state,
                NodeState::Failed(_) | NodeState::Retrying { .. } | NodeState::UndoFailed(_)
            )
        });
    let details_height = match (troubled, area.height >= 20) {
        (true, true) => 8,
        (false, true) => 4,
        (_, false) => 3,
    };
    let canary_height = deploy.canary.as_ref().map_or(0, canary_panel::height);
    let [head, gauge, running, canary, list, details] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(canary_height),
        Constraint::Min(3),
        Constraint::Length(details_height),
    ])
    .areas(area);
    if let Some(view) = &deploy.canary {
        canary_panel::render(view, now, frame, canary);
    }
    frame.render_widget(Paragraph::new(headline(deploy, now)), head);

    let (finished, total) = deploy.progress();
    let ratio = if total == 0 {
        1.0
    } else {
        finished as f64 / total as f64
    };
    let style = match &deploy.phase {
        DeployPhase::Finished {
            outcome: ApplyOutcome::Succeeded,
            ..
        } => theme::OK,
        DeployPhase::Finished { .. } => theme::BAD,
        _ => theme::INFO,
    };
    let apply = deploy
        .apply_id
        .as_ref()
        .map(|id| format!(" · apply {id}"))
        .unwrap_or_default();
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .filled_style(style)
            .label(format!(" {finished}/{total}{apply} ")),
        gauge,
    );

    let active = deploy.running(now);
    let running_line = if active.is_empty() {
        Line::styled(" running: none", theme::DIM)
    } else {
        let mut spans = vec![Span::styled(
            format!(" running {}: ", active.len()),
            theme::INFO,
        )];
        let parts: Vec<String> = active
            .iter()
            .map(|n| {
                format!(
                    "{} {}",
                    n.id,
                    n.elapsed(now).map(duration).unwrap_or_default()
                )
            })
            .collect();
        spans.push(Span::raw(truncate(
            &parts.join(" · "),
            running.width as usize,
        )));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(running_line), running);

    render_nodes(deploy, now, frame, list);
    render_details(deploy, frame, details);
}

fn render_nodes(deploy: &DeployState, now: u64, frame: &mut Frame, area: Rect) {
    let visible = deploy.visible();
    let filter = if deploy.editing_filter || !deploy.text_filter.is_empty() {
        let cursor = if deploy.editing_filter { "▏" } else { "" };
        format!(" · name contains \"{}{cursor}\"", deploy.text_filter)
    } else {
        String::new()
    };
    let title = format!(
        " Nodes {}/{} · filter: {}{filter} ",
        visible.len(),
        deploy.nodes.len(),
        deploy.filter.label()
    );
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme::TITLE));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let offset = scroll_offset(deploy.selected, visible.len(), height);
    let width = inner.width as usize;
    let id_width = (width / 3).clamp(16, 36);
    // The state column grows only while an undo's longer words (`rolled back`) are shown.
    let word_width = deploy
        .nodes
        .iter()
        .map(|n| n.state.word().chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(pos, i)| {
            let node = &deploy.nodes[*i];
            let (text, note_style) = note(node);
            let elapsed = node.elapsed(now).map(duration).unwrap_or_default();
            let rest = width.saturating_sub(id_width + 23 + word_width);
            let line = Line::from(vec![
                Span::styled(
                    format!(
                        " {} {:<word_width$} ",
                        theme::node_symbol(&node.state, now),
                        node.state.word()
                    ),
                    theme::node(&node.state),
                ),
                Span::styled(format!("{:<8}", node.action), theme::action(&node.action)),
                Span::raw(fit(&node.id.to_string(), id_width)),
                Span::styled(format!(" {elapsed:>9} "), theme::DIM),
                Span::styled(truncate(&text, rest), note_style),
            ]);
            if pos == deploy.selected {
                line.style(theme::SELECTED)
            } else {
                line
            }
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "   no node matches the filter (esc clears it)",
                theme::DIM,
            )),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

fn render_details(deploy: &DeployState, frame: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::TOP);
    let mut lines = Vec::new();
    if let DeployPhase::Finished {
        error: Some(error), ..
    } = &deploy.phase
    {
        lines.push(Line::styled(format!(" {error}"), theme::BAD));
    }
    match deploy.selected_node() {
        Some(node) => {
            let mut head = vec![
                Span::styled(format!(" {} ", node.id), theme::TITLE),
                Span::styled(node.state.word(), theme::node(&node.state)),
            ];
            if let Some(message) = &node.progress {
                head.push(Span::styled(format!(" · {message}"), theme::INFO));
            }
            lines.push(Line::from(head));
            match &node.state {
                NodeState::Failed(error) | NodeState::UndoFailed(error) => {
                    lines.push(Line::styled(format!(" error: {error}"), theme::BAD));
                    lines.push(Line::raw(format!(" next: {}", next_step(error))));
                }
                NodeState::Retrying { error, class, .. } => lines.push(Line::styled(
                    format!(" retrying ({class}): {error}"),
                    theme::WARN,
                )),
                _ => {}
            }
        }
        None => lines.push(Line::styled(" nothing selected", theme::DIM)),
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_in_a_wait_message_becomes_a_gauge() {
        assert_eq!(
            percent_in("backfilling merchant-date-index: 40% done"),
            Some(40)
        );
        assert_eq!(percent_in("waiting for ACTIVE"), None);
        assert_eq!(percent_in("odd 400%"), None);
        assert_eq!(mini_gauge(40, 10), "[████░░░░░░] 40%");
    }
}
