//! Colours and symbols. Every state has a symbol and a word as well as a colour, so nothing
//! is told by colour alone.

use ratatui::style::{Color, Modifier, Style};

use super::app_state::{Level, NodeState};
use crate::monitor::AlarmState;

pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const OK: Style = Style::new().fg(Color::Green);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const BAD: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const INFO: Style = Style::new().fg(Color::Cyan);
pub const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
/// A row whose alarm just changed state.
pub const CHANGED: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);
pub const HEADER: Style = Style::new().fg(Color::White).bg(Color::Blue);
pub const TAB_ACTIVE: Style = Style::new()
    .fg(Color::Blue)
    .bg(Color::White)
    .add_modifier(Modifier::BOLD);
pub const SPARK: Style = Style::new().fg(Color::Cyan);

/// Braille spinner frames, one per 100 ms.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(clock_ms: u64) -> &'static str {
    SPINNER[usize::try_from(clock_ms / 100).unwrap_or(0) % SPINNER.len()]
}

pub fn alarm(state: AlarmState) -> Style {
    match state {
        AlarmState::Alarm => BAD,
        AlarmState::InsufficientData => WARN,
        AlarmState::Ok => OK,
    }
}

pub fn level(level: Level) -> Style {
    match level {
        Level::Info => INFO,
        Level::Warn => WARN,
        Level::Error => BAD,
    }
}

/// `+ create`, `~ update`, `± replace`, `- delete`, `= no-op`.
pub fn action_symbol(label: &str) -> &'static str {
    match label {
        "create" => "+",
        "update" => "~",
        "replace" => "±",
        "delete" => "-",
        _ => "=",
    }
}

pub fn action(label: &str) -> Style {
    match label {
        "create" => OK,
        "update" => WARN,
        "replace" => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        "delete" => BAD,
        _ => DIM,
    }
}

/// The symbol of a node state (`spinner` for running nodes).
pub fn node_symbol(state: &NodeState, clock_ms: u64) -> &'static str {
    match state {
        NodeState::Waiting => "○",
        NodeState::Running => spinner(clock_ms),
        NodeState::Retrying { .. } => "↻",
        NodeState::Done => "✔",
        NodeState::Failed(_) => "✖",
        NodeState::Skipped(_) => "⊘",
        NodeState::RollingBack => "↶",
        NodeState::RolledBack(_) => "↺",
        NodeState::Kept(_) => "■",
        NodeState::UndoFailed(_) => "✖",
    }
}

pub fn node(state: &NodeState) -> Style {
    match state {
        NodeState::Waiting | NodeState::Skipped(_) | NodeState::Kept(_) => DIM,
        NodeState::Running | NodeState::RolledBack(_) => INFO,
        NodeState::Retrying { .. } | NodeState::RollingBack => WARN,
        NodeState::Done => OK,
        NodeState::Failed(_) | NodeState::UndoFailed(_) => BAD,
    }
}
