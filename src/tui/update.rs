//! `update`: the only place `AppState` changes. Pure: no I/O, no clock reads; anything that
//! needs the outside world is returned as an `Effect` for the loop.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::app_event::{AppEvent, ApplyUpdate, Loaded};
use super::app_state::{
    AlarmCounts, AppState, CanaryAlarmRow, CanaryEnd, CanaryView, DeployPhase, DeployState, Dialog,
    Level, Load, NodeRow, NodeState, PlanDigest, Screen,
};
use super::effect::Effect;
use super::keymap::{Action, Context, action_for};
use super::view::tab_at;
use crate::canary::{CanaryCommand, CanaryEvent};
use crate::engine::{ApplyOutcome, ExecEvent};
use crate::monitor::{MonitorEvent, PollSource, alarm_poller::sort_worst_first};
use crate::spec::ResourceId;

/// Rows a page key moves.
const PAGE: usize = 10;

/// Applies one event to the state and returns what the loop should do, if anything.
pub fn update(state: &mut AppState, event: AppEvent) -> Option<Effect> {
    match event {
        AppEvent::Key(key) => {
            // Terminals that report releases and repeats would act twice.
            if key.kind != KeyEventKind::Press {
                return None;
            }
            on_key(state, key)
        }
        AppEvent::Mouse(mouse) => on_mouse(state, mouse),
        AppEvent::Resize { .. } => {
            state.dirty = true;
            None
        }
        AppEvent::Tick { now_ms } => {
            state.clock_ms = state.clock_ms.max(now_ms);
            if state.animating() {
                state.dirty = true;
            }
            None
        }
        AppEvent::Loaded(loaded) => {
            state.dirty = true;
            on_loaded(state, loaded);
            None
        }
        AppEvent::Exec { at_ms, event } => {
            state.clock_ms = state.clock_ms.max(at_ms);
            state.dirty = true;
            on_exec(state, at_ms, event);
            None
        }
        AppEvent::Monitor(event) => {
            state.dirty = true;
            on_monitor(state, event);
            None
        }
        AppEvent::Apply(update) => {
            state.dirty = true;
            on_apply(state, update)
        }
        AppEvent::Canary { at_ms, event } => {
            state.clock_ms = state.clock_ms.max(at_ms);
            state.dirty = true;
            on_canary(state, at_ms, event);
            None
        }
    }
}

/// The canary window's events: its start, alarm states, its end.
fn on_canary(state: &mut AppState, at_ms: u64, event: CanaryEvent) {
    let Some(deploy) = state.deploy.as_mut() else {
        return;
    };
    match event {
        CanaryEvent::CanaryStarted {
            weight_percent,
            window_ms,
            aliases,
            alarms,
        } => {
            deploy.canary = Some(CanaryView {
                weight_percent,
                window_ms,
                started_ms: at_ms,
                aliases,
                alarms: alarms
                    .into_iter()
                    .map(|name| CanaryAlarmRow {
                        name,
                        state: None,
                        reason: String::new(),
                    })
                    .collect(),
                requested: None,
                ended: None,
            });
            state.notify(
                Level::Info,
                format!(
                    "canary: {weight_percent}% of the traffic on the new version; p promotes \
                     now, a rolls back"
                ),
            );
        }
        CanaryEvent::CanaryAlarm {
            alarm,
            state: alarm_state,
            reason,
            ..
        } => {
            if let Some(row) = deploy
                .canary
                .as_mut()
                .and_then(|c| c.alarms.iter_mut().find(|r| r.name == alarm))
            {
                row.state = Some(alarm_state);
                row.reason = reason;
            }
        }
        CanaryEvent::CanaryPollFailed { error, .. } => {
            state.notify(
                Level::Warn,
                format!("canary: reading the alarms failed, trying again: {error}"),
            );
        }
        CanaryEvent::CanaryPromoted { trigger, .. } => {
            if let Some(canary) = deploy.canary.as_mut() {
                canary.ended = Some(CanaryEnd::Promoted(trigger));
                canary.requested = None;
            }
            state.notify(
                Level::Info,
                "canary promoted: the aliases run the new version",
            );
        }
        CanaryEvent::CanaryRolledBack { cause, .. } => {
            let text = format!(
                "canary rolled back ({}); the aliases run the old version",
                cause.describe()
            );
            if let Some(canary) = deploy.canary.as_mut() {
                canary.ended = Some(CanaryEnd::RolledBack(cause));
                canary.requested = None;
            }
            state.notify(Level::Error, text);
        }
    }
}

/// `p` / `a` (and Ctrl-C) during a canary window: asks the runner once.
fn canary_command(state: &mut AppState, command: CanaryCommand) -> Option<Effect> {
    let Some(canary) = state
        .deploy
        .as_mut()
        .and_then(|d| d.canary.as_mut())
        .filter(|c| c.is_active())
    else {
        state.notify(Level::Warn, "no canary is running");
        return None;
    };
    if canary.requested.is_some() {
        state.notify(
            Level::Info,
            "already asked; waiting for the aliases to move",
        );
        return None;
    }
    canary.requested = Some(command);
    let text = match command {
        CanaryCommand::PromoteNow => "promoting the canary now",
        CanaryCommand::Abort | CanaryCommand::Interrupt => "rolling the canary back now",
    };
    state.notify(Level::Info, text);
    Some(Effect::Canary(command))
}

fn context(state: &AppState) -> Context {
    if state.dialog.is_some() {
        Context::Dialog
    } else if state.help {
        Context::Help
    } else {
        Context::Screen(state.screen)
    }
}

fn on_key(state: &mut AppState, key: KeyEvent) -> Option<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if !ctrl
        && context(state) == Context::Screen(Screen::Deploy)
        && let Some(deploy) = state.deploy.as_mut().filter(|d| d.editing_filter)
    {
        // The name filter takes typed text; only Ctrl-C keeps its meaning.
        match key.code {
            KeyCode::Char(c) => deploy.text_filter.push(c),
            KeyCode::Backspace => {
                deploy.text_filter.pop();
            }
            KeyCode::Enter => deploy.editing_filter = false,
            KeyCode::Esc => {
                deploy.text_filter.clear();
                deploy.editing_filter = false;
            }
            _ => return None,
        }
        deploy.selected = 0;
        state.dirty = true;
        return None;
    }
    let context = context(state);
    let action = action_for(context, key)?;
    state.dirty = true;
    state.notice = None;
    match context {
        Context::Dialog => on_dialog(state, action),
        Context::Help => match action {
            Action::Interrupt => {
                state.help = false;
                interrupt(state)
            }
            _ => {
                state.help = false;
                None
            }
        },
        Context::Screen(_) => on_action(state, action),
    }
}

fn on_mouse(state: &mut AppState, mouse: MouseEvent) -> Option<Effect> {
    if !matches!(context(state), Context::Screen(_)) {
        return None;
    }
    let action = match mouse.kind {
        MouseEventKind::ScrollDown => Action::Down,
        MouseEventKind::ScrollUp => Action::Up,
        MouseEventKind::Down(MouseButton::Left) if mouse.row == 0 => {
            Action::Goto(tab_at(mouse.column)?)
        }
        _ => return None,
    };
    state.dirty = true;
    on_action(state, action)
}

fn on_action(state: &mut AppState, action: Action) -> Option<Effect> {
    match action {
        Action::Quit => quit(state),
        Action::Interrupt => interrupt(state),
        Action::Help => {
            state.help = true;
            None
        }
        Action::NextScreen => goto(state, state.screen.next()),
        Action::PreviousScreen => goto(state, state.screen.previous()),
        Action::Goto(screen) => goto(state, screen),
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            move_selection(state, action);
            None
        }
        Action::Details => {
            match state.screen {
                Screen::Plan => state.plan.details = !state.plan.details,
                Screen::Alarms => state.alarms.details = !state.alarms.details,
                _ => {}
            }
            None
        }
        Action::Back => {
            match state.screen {
                Screen::Plan => state.plan.details = false,
                Screen::Alarms => state.alarms.details = false,
                Screen::Deploy => {
                    if let Some(deploy) = &mut state.deploy {
                        deploy.text_filter.clear();
                        deploy.filter = Default::default();
                        deploy.selected = 0;
                    }
                }
                _ => {}
            }
            None
        }
        Action::Refresh => refresh(state),
        Action::Apply => {
            request_apply(state);
            None
        }
        Action::ToggleUnchanged => {
            state.plan.show_unchanged = !state.plan.show_unchanged;
            state.plan.selected = 0;
            None
        }
        Action::CycleFilter => {
            if let Some(deploy) = &mut state.deploy {
                deploy.filter = deploy.filter.next();
                deploy.selected = 0;
            }
            None
        }
        Action::EditFilter => {
            if let Some(deploy) = &mut state.deploy {
                deploy.editing_filter = true;
            }
            None
        }
        Action::FinerPeriod => set_window(state, |w| w.finer()),
        Action::CoarserPeriod => set_window(state, |w| w.coarser()),
        Action::NarrowerRange => set_window(state, |w| w.narrower()),
        Action::WiderRange => set_window(state, |w| w.wider()),
        Action::PromoteCanary => canary_command(state, CanaryCommand::PromoteNow),
        Action::AbortCanary => canary_command(state, CanaryCommand::Abort),
        Action::Confirm | Action::Cancel => None,
    }
}

fn goto(state: &mut AppState, screen: Screen) -> Option<Effect> {
    state.screen = screen;
    if screen == Screen::Dashboard && !state.dashboard.started {
        state.dashboard.started = true;
        state.dashboard.fetching = true;
        return Some(Effect::StartMetrics);
    }
    None
}

fn quit(state: &mut AppState) -> Option<Effect> {
    match state.deploy.as_ref().map(|d| &d.phase) {
        Some(DeployPhase::Preparing | DeployPhase::Running | DeployPhase::Undoing) => {
            state.dialog = Some(Dialog::ConfirmQuit);
            None
        }
        Some(DeployPhase::Stopping) => {
            state.quit_after_apply = true;
            state.notify(
                Level::Warn,
                "quitting once the in-flight calls finish; Ctrl-C quits now",
            );
            None
        }
        _ => {
            state.quitting = true;
            Some(Effect::Quit)
        }
    }
}

fn interrupt(state: &mut AppState) -> Option<Effect> {
    // Ctrl-C in a canary window rolls it back (the safe default), as on the command line.
    if state.canary_active() {
        return canary_command(state, CanaryCommand::Interrupt);
    }
    match state.deploy.as_ref().map(|d| &d.phase) {
        Some(DeployPhase::Preparing | DeployPhase::Running | DeployPhase::Undoing) => {
            state.dialog = Some(Dialog::ConfirmStop);
            None
        }
        // A second Ctrl-C while stopping quits at once; the journal shows what was running.
        _ => {
            state.quitting = true;
            Some(Effect::Quit)
        }
    }
}

fn on_dialog(state: &mut AppState, action: Action) -> Option<Effect> {
    let dialog = state.dialog.take()?;
    let yes = match action {
        Action::Confirm => true,
        // Ctrl-C on "stop the apply?" is a second Ctrl-C: yes.
        Action::Interrupt => dialog == Dialog::ConfirmStop,
        _ => false,
    };
    if !yes {
        return None;
    }
    match dialog {
        Dialog::ConfirmApply => {
            let plan = state.plan.plan.clone()?;
            state.deploy = Some(DeployState::new(&plan, None, state.clock_ms));
            state.screen = Screen::Deploy;
            Some(Effect::Apply(Box::new(plan)))
        }
        Dialog::ConfirmStop | Dialog::ConfirmQuit => {
            state.quit_after_apply |= dialog == Dialog::ConfirmQuit;
            let deploy = state.deploy.as_mut()?;
            deploy.phase = DeployPhase::Stopping;
            Some(Effect::StopApply)
        }
    }
}

fn request_apply(state: &mut AppState) {
    if state.apply_running() {
        state.notify(Level::Warn, "an apply is already running (3 shows it)");
        return;
    }
    let Some(plan) = &state.plan.plan else {
        state.notify(Level::Warn, "the plan is still loading");
        return;
    };
    if !plan.refusals.is_empty() {
        let text = format!("apply refused: {}", plan.refusals.join("; "));
        state.notify(Level::Error, text);
        return;
    }
    if !plan.has_changes() {
        state.notify(
            Level::Info,
            "nothing to apply: the stack matches the config",
        );
        return;
    }
    state.dialog = Some(Dialog::ConfirmApply);
}

fn refresh(state: &mut AppState) -> Option<Effect> {
    match state.screen {
        Screen::Launch | Screen::Plan => {
            if state.apply_running() {
                state.notify(
                    Level::Warn,
                    "wait for the apply to finish before reading again",
                );
                return None;
            }
            start_reload(state);
            Some(Effect::Reload)
        }
        Screen::Dashboard => {
            state.dashboard.fetching = true;
            if state.dashboard.started {
                Some(Effect::RefreshMetrics)
            } else {
                state.dashboard.started = true;
                Some(Effect::StartMetrics)
            }
        }
        Screen::Alarms => Some(Effect::RefreshAlarms),
        Screen::Deploy => None,
    }
}

fn start_reload(state: &mut AppState) {
    let since_ms = state.clock_ms;
    state.launch.account = Load::Pending { since_ms };
    state.launch.plan = Load::Pending { since_ms };
    state.launch.local = Load::Pending { since_ms };
    state.launch.release = Load::Pending { since_ms };
}

fn set_window(
    state: &mut AppState,
    change: impl Fn(crate::monitor::MetricWindow) -> crate::monitor::MetricWindow,
) -> Option<Effect> {
    let window = change(state.dashboard.window);
    if window == state.dashboard.window {
        return None;
    }
    state.dashboard.window = window;
    if !state.dashboard.started {
        return None;
    }
    state.dashboard.fetching = true;
    Some(Effect::SetMetricWindow(window))
}

fn list_len(state: &AppState) -> usize {
    match state.screen {
        Screen::Launch => 0,
        Screen::Plan => state.plan.visible_changes().len(),
        Screen::Deploy => state.deploy.as_ref().map_or(0, |d| d.visible().len()),
        Screen::Dashboard => state.dashboard.specs.len(),
        Screen::Alarms => state.alarms.alarms.len(),
    }
}

fn move_selection(state: &mut AppState, action: Action) {
    let len = list_len(state);
    let selected = match state.screen {
        Screen::Launch => return,
        Screen::Plan => &mut state.plan.selected,
        Screen::Deploy => match &mut state.deploy {
            Some(deploy) => &mut deploy.selected,
            None => return,
        },
        Screen::Dashboard => &mut state.dashboard.selected,
        Screen::Alarms => &mut state.alarms.selected,
    };
    let last = len.saturating_sub(1);
    *selected = match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => (*selected + 1).min(last),
        Action::PageUp => selected.saturating_sub(PAGE),
        Action::PageDown => (*selected + PAGE).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => *selected,
    };
}

fn on_loaded(state: &mut AppState, loaded: Loaded) {
    let now = state.clock_ms;
    match loaded {
        Loaded::Account(result) => state.launch.account.finish(result, now),
        Loaded::Local(result) => state.launch.local.finish(result, now),
        Loaded::Release(result) => state.launch.release.finish(result, now),
        Loaded::Plan(result) => match result {
            Ok(plan) => {
                state.launch.plan.finish(Ok(PlanDigest::of(&plan)), now);
                state.plan.plan = Some(*plan);
                let len = state.plan.visible_changes().len();
                state.plan.selected = state.plan.selected.min(len.saturating_sub(1));
            }
            Err(error) => state.launch.plan.finish(Err(error), now),
        },
    }
}

fn on_exec(state: &mut AppState, at_ms: u64, event: ExecEvent) {
    let Some(deploy) = &mut state.deploy else {
        return;
    };
    fn node<'a>(deploy: &'a mut DeployState, id: &ResourceId) -> Option<&'a mut NodeRow> {
        let i = deploy.index_of(id)?;
        deploy.nodes.get_mut(i)
    }
    match event {
        ExecEvent::ApplyStarted { apply_id, .. } => {
            deploy.apply_id = Some(apply_id);
            if deploy.phase == DeployPhase::Preparing {
                deploy.phase = DeployPhase::Running;
            }
            deploy.started_ms = at_ms;
        }
        ExecEvent::NodeStarted { id, .. } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::Running;
                n.started_ms = Some(at_ms);
            }
        }
        ExecEvent::NodeProgress { id, message } => {
            if let Some(n) = node(deploy, &id) {
                n.progress = Some(message);
            }
        }
        ExecEvent::NodeRetrying {
            id,
            attempt,
            class,
            error,
            delay_ms,
        } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::Retrying {
                    attempt,
                    class,
                    error,
                    delay_ms,
                };
            }
        }
        ExecEvent::NodeSucceeded { id, elapsed_ms, .. } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::Done;
                n.elapsed_ms = Some(elapsed_ms);
            }
        }
        ExecEvent::NodeFailed {
            id,
            error,
            elapsed_ms,
            ..
        } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::Failed(error);
                n.elapsed_ms = Some(elapsed_ms);
            }
        }
        ExecEvent::NodeSkipped { id, reason } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::Skipped(reason);
            }
        }
        ExecEvent::UndoStarted { .. } => deploy.phase = DeployPhase::Undoing,
        ExecEvent::UndoStepStarted { id, .. } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::RollingBack;
                n.progress = None;
            }
        }
        ExecEvent::UndoStepSucceeded { id, result, .. } => {
            if let Some(n) = node(deploy, &id) {
                n.state = if result == "kept" {
                    NodeState::Kept(
                        "created by the failed apply and holds data: an undo never deletes it"
                            .to_owned(),
                    )
                } else {
                    NodeState::RolledBack(result)
                };
            }
        }
        ExecEvent::UndoStepFailed { id, error, .. } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::UndoFailed(error);
            }
        }
        ExecEvent::UndoKept { id, reason } => {
            if let Some(n) = node(deploy, &id) {
                n.state = NodeState::Kept(reason);
            }
        }
        // `ApplyFinished` follows at once and ends the phase.
        ExecEvent::UndoFinished { .. } => {}
        ExecEvent::ApplyFinished {
            outcome,
            elapsed_ms,
            ..
        } => {
            deploy.phase = DeployPhase::Finished {
                outcome,
                elapsed_ms,
                error: None,
            };
        }
    }
}

fn on_apply(state: &mut AppState, update: ApplyUpdate) -> Option<Effect> {
    match update {
        ApplyUpdate::Started { deps } => {
            let plan = state.plan.plan.as_ref()?;
            let deploy = state.deploy.as_mut()?;
            deploy.with_plan_deps(plan, &deps);
            if deploy.phase == DeployPhase::Preparing {
                deploy.phase = DeployPhase::Running;
            }
            None
        }
        ApplyUpdate::PlanChanged(plan) => {
            state.deploy = None;
            state.screen = Screen::Plan;
            state.launch.plan = Load::Ready {
                value: PlanDigest::of(&plan),
                took_ms: 0,
            };
            state.plan.plan = Some(*plan);
            state.plan.selected = 0;
            state.notify(
                Level::Warn,
                "the stack changed since this plan was shown; nothing was applied. Review the \
                 new plan, then press a again",
            );
            after_apply(state)
        }
        ApplyUpdate::Refused(reason) => {
            state.deploy = None;
            state.screen = Screen::Plan;
            state.notify(Level::Error, format!("nothing was applied: {reason}"));
            after_apply(state)
        }
        ApplyUpdate::Finished { outcome, error } => {
            let now = state.clock_ms;
            if let Some(deploy) = &mut state.deploy {
                let elapsed_ms = match &deploy.phase {
                    DeployPhase::Finished { elapsed_ms, .. } => *elapsed_ms,
                    _ => now.saturating_sub(deploy.started_ms),
                };
                deploy.phase = DeployPhase::Finished {
                    outcome,
                    elapsed_ms,
                    error: error.clone(),
                };
            }
            let canary_ended = state
                .deploy
                .as_ref()
                .and_then(|d| d.canary.as_ref())
                .is_some_and(|c| c.ended.is_some());
            match outcome {
                // The canary's own notice says how it ended.
                _ if canary_ended => {}
                ApplyOutcome::Succeeded => state.notify(
                    Level::Info,
                    "apply succeeded; 4 opens the dashboard, 5 the alarms",
                ),
                ApplyOutcome::Failed => state.notify(
                    Level::Error,
                    "apply failed; the failed step shows the AWS error and the next step",
                ),
                ApplyOutcome::Interrupted => {
                    state.notify(Level::Warn, "apply stopped; in-flight calls finished");
                }
            }
            if state.quit_after_apply {
                state.quitting = true;
                return Some(Effect::Quit);
            }
            // What exists changed: read it again so launch and plan show the new state.
            start_reload(state);
            Some(Effect::Reload)
        }
    }
}

/// After an apply that never started: quit if that was asked for.
fn after_apply(state: &mut AppState) -> Option<Effect> {
    if std::mem::take(&mut state.quit_after_apply) {
        state.quitting = true;
        return Some(Effect::Quit);
    }
    None
}

fn on_monitor(state: &mut AppState, event: MonitorEvent) {
    match event {
        MonitorEvent::Alarms { at_ms, mut alarms } => {
            sort_worst_first(&mut alarms);
            let alarms_state = &mut state.alarms;
            let selected = alarms_state.selected_alarm().map(|a| a.name.clone());
            alarms_state.log.observe(&alarms, at_ms);
            alarms_state.alarms = alarms;
            alarms_state.selected = selected
                .and_then(|name| alarms_state.alarms.iter().position(|a| a.name == name))
                .unwrap_or(0);
            alarms_state.polled_ms = Some(at_ms);
            alarms_state.error = None;
            let counts = AlarmCounts::of(&alarms_state.alarms);
            let now = state.clock_ms;
            match &mut state.launch.alarms {
                Load::Ready { value, .. } => *value = counts,
                load => load.finish(Ok(counts), now),
            }
        }
        MonitorEvent::Metrics(frame) => {
            let dashboard = &mut state.dashboard;
            dashboard.fetching = frame.window != dashboard.window.normalized();
            dashboard.refreshes += 1;
            dashboard.calls += u64::from(frame.calls);
            dashboard.error = None;
            dashboard.frame = Some(frame);
        }
        MonitorEvent::Failed {
            source,
            at_ms,
            error,
        } => match source {
            PollSource::Alarms => {
                if state.launch.alarms.is_pending() {
                    state
                        .launch
                        .alarms
                        .finish(Err(error.clone()), state.clock_ms);
                }
                state.alarms.error = Some((at_ms, error));
            }
            PollSource::Metrics => {
                state.dashboard.fetching = false;
                state.dashboard.error = Some((at_ms, error));
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cloud::{CloudError, ErrorClass};
    use crate::engine::SkipReason;
    use crate::monitor::{AlarmState, MetricWindow};
    use crate::tui::sample;

    fn key(c: char) -> AppEvent {
        AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(code: KeyCode) -> AppEvent {
        AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl_c() -> AppEvent {
        AppEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
    }

    /// A state with the sample plan loaded, on the plan screen.
    fn planned() -> AppState {
        let mut state = sample::state(Screen::Plan);
        update(
            &mut state,
            AppEvent::Loaded(Loaded::Plan(Ok(Box::new(sample::plan())))),
        );
        state
    }

    fn running() -> AppState {
        let mut state = planned();
        update(&mut state, key('a'));
        update(&mut state, key('y'));
        update(
            &mut state,
            AppEvent::Apply(ApplyUpdate::Started {
                deps: sample::plan_deps(&sample::plan()),
            }),
        );
        state
    }

    fn exec(state: &mut AppState, at_ms: u64, event: ExecEvent) {
        update(state, AppEvent::Exec { at_ms, event });
    }

    #[test]
    fn digits_and_tab_switch_screens_and_the_dashboard_starts_metrics_once() {
        let mut state = planned();
        assert_eq!(update(&mut state, key('5')), None);
        assert_eq!(state.screen, Screen::Alarms);
        assert_eq!(update(&mut state, code(KeyCode::Tab)), None);
        assert_eq!(state.screen, Screen::Launch);
        assert_eq!(update(&mut state, key('4')), Some(Effect::StartMetrics));
        assert!(state.dashboard.fetching);
        update(&mut state, key('1'));
        assert_eq!(update(&mut state, key('4')), None, "started only once");
        update(&mut state, code(KeyCode::BackTab));
        assert_eq!(state.screen, Screen::Deploy);
    }

    #[test]
    fn nothing_is_applied_before_the_user_confirms() {
        let mut state = planned();
        assert_eq!(update(&mut state, key('a')), None);
        assert_eq!(state.dialog, Some(Dialog::ConfirmApply));
        // Keys other than yes/no do nothing while the dialog is open, quit included.
        assert_eq!(update(&mut state, key('q')), None);
        assert!(!state.quitting);
        assert_eq!(update(&mut state, key('n')), None);
        assert_eq!(state.dialog, None);
        assert!(state.deploy.is_none());

        update(&mut state, key('a'));
        let effect = update(&mut state, key('y'));
        assert_eq!(effect, Some(Effect::Apply(Box::new(sample::plan()))));
        assert_eq!(state.screen, Screen::Deploy);
        let deploy = state.deploy.as_ref().unwrap();
        assert_eq!(deploy.phase, DeployPhase::Preparing);
        assert_eq!(deploy.nodes.len(), sample::plan().changes.len());
    }

    #[test]
    fn a_plan_with_refusals_or_no_changes_never_asks() {
        let mut state = planned();
        if let Some(plan) = &mut state.plan.plan {
            plan.refusals
                .push("`bucket/logs` would be replaced; pass `--replace-data`".into());
        }
        assert_eq!(update(&mut state, key('a')), None);
        assert_eq!(state.dialog, None);
        assert!(
            state
                .notice
                .as_ref()
                .unwrap()
                .text
                .starts_with("apply refused")
        );

        let mut state = sample::state(Screen::Plan);
        let mut in_sync = sample::plan();
        for change in &mut in_sync.changes {
            change.action = crate::plan::Action::NoOp;
        }
        update(
            &mut state,
            AppEvent::Loaded(Loaded::Plan(Ok(Box::new(in_sync)))),
        );
        update(&mut state, key('a'));
        assert_eq!(state.dialog, None);
        assert!(
            state
                .notice
                .as_ref()
                .unwrap()
                .text
                .contains("nothing to apply")
        );
    }

    #[test]
    fn undo_events_show_rolling_back_then_rolled_back_kept_or_undo_failed() {
        let mut state = running();
        let id = |s: &str| -> crate::spec::ResourceId { s.parse().unwrap() };
        let state_of = |s: &AppState, of: &str| {
            let d = s.deploy.as_ref().unwrap();
            d.nodes[d.index_of(&id(of)).unwrap()].state.clone()
        };
        exec(
            &mut state,
            100,
            ExecEvent::UndoStarted { steps: 3, kept: 1 },
        );
        assert_eq!(state.deploy.as_ref().unwrap().phase, DeployPhase::Undoing);
        assert!(state.deploy.as_ref().unwrap().is_running());
        exec(
            &mut state,
            110,
            ExecEvent::UndoKept {
                id: id("topic/alarms"),
                reason: "replaced".into(),
            },
        );
        assert_eq!(
            state_of(&state, "topic/alarms"),
            NodeState::Kept("replaced".into())
        );
        exec(
            &mut state,
            120,
            ExecEvent::UndoStepStarted {
                id: id("queue/analytics"),
                action: "restore",
            },
        );
        assert_eq!(state_of(&state, "queue/analytics"), NodeState::RollingBack);
        assert_eq!(state_of(&state, "queue/analytics").word(), "rolling back");
        exec(
            &mut state,
            130,
            ExecEvent::UndoStepSucceeded {
                id: id("queue/analytics"),
                action: "restore",
                result: "restored",
                elapsed_ms: 10,
            },
        );
        assert_eq!(
            state_of(&state, "queue/analytics"),
            NodeState::RolledBack("restored")
        );
        assert_eq!(state_of(&state, "queue/analytics").word(), "rolled back");
        exec(
            &mut state,
            140,
            ExecEvent::UndoStepSucceeded {
                id: id("queue/reporting"),
                action: "keep",
                result: "kept",
                elapsed_ms: 10,
            },
        );
        assert!(matches!(
            state_of(&state, "queue/reporting"),
            NodeState::Kept(_)
        ));
        let error = CloudError::fatal("sns", "DeleteTopic", "denied");
        exec(
            &mut state,
            150,
            ExecEvent::UndoStepFailed {
                id: id("kms_alias/sqs"),
                action: "delete",
                error: error.clone(),
                elapsed_ms: 10,
            },
        );
        assert_eq!(
            state_of(&state, "kms_alias/sqs"),
            NodeState::UndoFailed(error)
        );
        assert_eq!(state_of(&state, "kms_alias/sqs").word(), "undo failed");
        // Ctrl-C during the undo asks first, like during the apply.
        update(&mut state, ctrl_c());
        assert_eq!(state.dialog, Some(Dialog::ConfirmStop));
    }

    #[test]
    fn executor_events_drive_each_node_and_the_end_reloads() {
        let mut state = running();
        let queue: crate::spec::ResourceId = "queue/analytics".parse().unwrap();
        exec(
            &mut state,
            100,
            ExecEvent::ApplyStarted {
                apply_id: "a1".into(),
                stack: "tx-dev".into(),
                changes: 15,
            },
        );
        exec(
            &mut state,
            200,
            ExecEvent::NodeStarted {
                id: queue.clone(),
                action: "create",
            },
        );
        let node = |s: &AppState| {
            let d = s.deploy.as_ref().unwrap();
            d.nodes[d.index_of(&queue).unwrap()].clone()
        };
        assert_eq!(node(&state).state, NodeState::Running);
        assert_eq!(node(&state).elapsed(700), Some(500));
        exec(
            &mut state,
            300,
            ExecEvent::NodeRetrying {
                id: queue.clone(),
                attempt: 2,
                class: ErrorClass::Throttled,
                error: "Rate exceeded".into(),
                delay_ms: 800,
            },
        );
        assert!(matches!(
            node(&state).state,
            NodeState::Retrying { attempt: 2, .. }
        ));
        exec(
            &mut state,
            400,
            ExecEvent::NodeProgress {
                id: queue.clone(),
                message: "backfilling 40%".into(),
            },
        );
        assert_eq!(node(&state).progress.as_deref(), Some("backfilling 40%"));
        let error = CloudError::fatal("sqs", "CreateQueue", "bad attribute");
        exec(
            &mut state,
            900,
            ExecEvent::NodeFailed {
                id: queue.clone(),
                action: "create",
                error: error.clone(),
                elapsed_ms: 700,
            },
        );
        assert_eq!(node(&state).state, NodeState::Failed(error));
        assert_eq!(node(&state).elapsed(5000), Some(700));
        let topic: crate::spec::ResourceId = "topic/alarms".parse().unwrap();
        exec(
            &mut state,
            900,
            ExecEvent::NodeSkipped {
                id: topic,
                reason: SkipReason::Stopped,
            },
        );
        exec(
            &mut state,
            1000,
            ExecEvent::ApplyFinished {
                outcome: ApplyOutcome::Failed,
                succeeded: 0,
                failed: 1,
                skipped: 14,
                elapsed_ms: 900,
            },
        );
        let effect = update(
            &mut state,
            AppEvent::Apply(ApplyUpdate::Finished {
                outcome: ApplyOutcome::Failed,
                error: Some("apply failed: x".into()),
            }),
        );
        assert_eq!(effect, Some(Effect::Reload));
        assert!(state.launch.plan.is_pending());
        let deploy = state.deploy.as_ref().unwrap();
        assert_eq!(
            deploy.phase,
            DeployPhase::Finished {
                outcome: ApplyOutcome::Failed,
                elapsed_ms: 900,
                error: Some("apply failed: x".into())
            }
        );
        assert_eq!(deploy.count("skipped"), 1);
    }

    #[test]
    fn ctrl_c_asks_then_stops_and_a_second_ctrl_c_quits() {
        let mut state = running();
        assert_eq!(update(&mut state, ctrl_c()), None);
        assert_eq!(state.dialog, Some(Dialog::ConfirmStop));
        assert_eq!(update(&mut state, key('n')), None);
        assert_eq!(state.deploy.as_ref().unwrap().phase, DeployPhase::Running);
        update(&mut state, ctrl_c());
        assert_eq!(update(&mut state, key('y')), Some(Effect::StopApply));
        assert_eq!(state.deploy.as_ref().unwrap().phase, DeployPhase::Stopping);
        assert_eq!(update(&mut state, ctrl_c()), Some(Effect::Quit));
        assert!(state.quitting);
    }

    #[test]
    fn quitting_during_an_apply_stops_it_first_then_quits() {
        let mut state = running();
        assert_eq!(update(&mut state, key('q')), None);
        assert_eq!(state.dialog, Some(Dialog::ConfirmQuit));
        assert_eq!(update(&mut state, key('y')), Some(Effect::StopApply));
        assert!(!state.quitting);
        let effect = update(
            &mut state,
            AppEvent::Apply(ApplyUpdate::Finished {
                outcome: ApplyOutcome::Interrupted,
                error: None,
            }),
        );
        assert_eq!(effect, Some(Effect::Quit));
        // Without an apply, q quits at once.
        let mut idle = planned();
        assert_eq!(update(&mut idle, key('q')), Some(Effect::Quit));
    }

    #[test]
    fn a_changed_stack_sends_the_user_back_to_the_new_plan() {
        let mut state = running();
        let mut changed = sample::plan();
        changed.changes.truncate(3);
        update(
            &mut state,
            AppEvent::Apply(ApplyUpdate::PlanChanged(Box::new(changed.clone()))),
        );
        assert!(state.deploy.is_none());
        assert_eq!(state.screen, Screen::Plan);
        assert_eq!(state.plan.plan, Some(changed));
        assert_eq!(state.notice.as_ref().unwrap().level, Level::Warn);
    }

    #[test]
    fn an_alarm_transition_is_highlighted_and_the_selection_follows_the_alarm() {
        let mut state = sample::state(Screen::Alarms);
        let mut alarms = sample::alarms(sample::T0);
        for a in &mut alarms {
            a.state = AlarmState::Ok;
        }
        update(
            &mut state,
            AppEvent::Monitor(MonitorEvent::Alarms {
                at_ms: sample::T0,
                alarms: alarms.clone(),
            }),
        );
        assert_eq!(
            state.launch.alarms.value().map(|c| c.ok),
            Some(alarms.len())
        );
        // Select the last alarm, then flip it to ALARM: it sorts first and stays selected.
        update(&mut state, code(KeyCode::End));
        let name = state.alarms.selected_alarm().unwrap().name.clone();
        let mut flipped = alarms.clone();
        let target = flipped.iter_mut().find(|a| a.name == name).unwrap();
        target.state = AlarmState::Alarm;
        target.updated_ms = Some(sample::T0 + 5000);
        update(
            &mut state,
            AppEvent::Monitor(MonitorEvent::Alarms {
                at_ms: sample::T0 + 10_000,
                alarms: flipped,
            }),
        );
        assert_eq!(state.alarms.alarms[0].name, name);
        assert_eq!(state.alarms.selected, 0);
        assert!(state.alarms.is_highlighted(&state.alarms.alarms[0]));
        assert!(!state.alarms.is_highlighted(&state.alarms.alarms[1]));
        assert_eq!(state.alarms.log.len(), 1);
        assert_eq!(state.launch.alarms.value().map(|c| c.alarm), Some(1));
        assert_eq!(update(&mut state, key('r')), Some(Effect::RefreshAlarms));
    }

    #[test]
    fn window_keys_ask_for_a_refetch_and_the_frame_ends_the_fetch() {
        let mut state = sample::state(Screen::Launch);
        update(&mut state, key('4'));
        let effect = update(&mut state, key('+'));
        let wider = MetricWindow::default().wider();
        assert_eq!(effect, Some(Effect::SetMetricWindow(wider)));
        let frame = sample::metric_frame(&state.dashboard.specs, wider, sample::T0);
        update(&mut state, AppEvent::Monitor(MonitorEvent::Metrics(frame)));
        assert!(!state.dashboard.fetching);
        assert_eq!(state.dashboard.calls, 1);
        assert_eq!(update(&mut state, key('r')), Some(Effect::RefreshMetrics));
        // At the finest period already: nothing to ask for.
        let mut fine = sample::state(Screen::Dashboard);
        assert_eq!(update(&mut fine, key('[')), None);
    }

    #[test]
    fn the_deploy_filter_takes_typed_text_and_esc_clears_it() {
        let mut state = running();
        update(&mut state, key('/'));
        for c in "dlq".chars() {
            update(&mut state, key(c));
        }
        update(&mut state, code(KeyCode::Enter));
        let deploy = state.deploy.as_ref().unwrap();
        assert!(!deploy.editing_filter);
        // The two dead-letter queues.
        assert_eq!(deploy.visible().len(), 2);
        update(&mut state, code(KeyCode::Esc));
        assert_eq!(
            state.deploy.as_ref().unwrap().visible().len(),
            sample::plan().changes.len()
        );
        update(&mut state, key('f'));
        assert_eq!(
            state.deploy.as_ref().unwrap().filter,
            crate::tui::app_state::NodeFilter::Pending
        );
    }

    #[test]
    fn only_changes_mark_the_state_dirty() {
        let mut state = sample::launched();
        state.screen = Screen::Plan;
        state.dirty = false;
        update(&mut state, key('x'));
        assert!(!state.dirty, "an unbound key draws nothing");
        update(&mut state, AppEvent::Tick { now_ms: 5000 });
        assert!(!state.dirty, "nothing animates on an idle plan screen");
        update(&mut state, key('j'));
        assert!(state.dirty);
        assert_eq!(state.plan.selected, 1);
    }

    #[test]
    fn the_mouse_wheel_moves_and_a_click_on_a_tab_switches() {
        let mut state = planned();
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 10,
            row: 5,
            modifiers: KeyModifiers::NONE,
        };
        update(&mut state, AppEvent::Mouse(wheel));
        assert_eq!(state.plan.selected, 1);
        let x = (0..100)
            .find(|x| tab_at(*x) == Some(Screen::Alarms))
            .unwrap();
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        update(&mut state, AppEvent::Mouse(click));
        assert_eq!(state.screen, Screen::Alarms);
    }

    #[test]
    fn help_opens_and_closes_and_swallows_other_keys() {
        let mut state = planned();
        update(&mut state, key('?'));
        assert!(state.help);
        assert_eq!(
            update(&mut state, key('q')),
            None,
            "q closes help, it does not quit"
        );
        assert!(!state.help);
        assert!(!state.quitting);
    }

    fn canary_event(state: &mut AppState, at_ms: u64, event: CanaryEvent) -> Option<Effect> {
        update(state, AppEvent::Canary { at_ms, event })
    }

    #[test]
    fn the_canary_window_tracks_weight_time_left_and_alarm_states() {
        let state = sample::canary_window();
        let canary = state.deploy.as_ref().unwrap().canary.as_ref().unwrap();
        assert_eq!(canary.weight_percent, 10);
        assert_eq!(canary.remaining_ms(state.clock_ms), 170_000);
        assert!((canary.passed(state.clock_ms) - 130.0 / 300.0).abs() < 1e-9);
        let states: Vec<Option<AlarmState>> = canary.alarms.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                Some(AlarmState::Ok),
                None,
                Some(AlarmState::InsufficientData)
            ]
        );
        assert!(state.canary_active());
        assert!(state.animating(), "the gauge must keep counting down");
    }

    #[test]
    fn p_promotes_once_and_the_end_closes_the_window() {
        let mut state = sample::canary_window();
        state.screen = Screen::Deploy;
        assert_eq!(
            update(&mut state, key('p')),
            Some(Effect::Canary(CanaryCommand::PromoteNow))
        );
        // A second press does not ask again while the aliases move.
        assert_eq!(update(&mut state, key('p')), None);
        assert_eq!(update(&mut state, key('a')), None);
        canary_event(
            &mut state,
            140_000,
            CanaryEvent::CanaryPromoted {
                trigger: crate::canary::PromoteTrigger::Manual,
                elapsed_ms: 137_000,
            },
        );
        let canary = state.deploy.as_ref().unwrap().canary.as_ref().unwrap();
        assert_eq!(
            canary.ended,
            Some(CanaryEnd::Promoted(crate::canary::PromoteTrigger::Manual))
        );
        assert!(!state.canary_active());
        assert_eq!(update(&mut state, key('p')), None);
        assert!(state.notice.as_ref().unwrap().text.contains("no canary"));
    }

    #[test]
    fn a_and_ctrl_c_roll_the_canary_back_and_an_alarm_is_shown_with_its_reason() {
        let mut state = sample::canary_window();
        state.screen = Screen::Deploy;
        assert_eq!(
            update(&mut state, key('a')),
            Some(Effect::Canary(CanaryCommand::Abort))
        );
        let mut state = sample::canary_window();
        assert_eq!(
            update(&mut state, ctrl_c()),
            Some(Effect::Canary(CanaryCommand::Interrupt)),
            "Ctrl-C in a canary window rolls back without a dialog"
        );
        assert_eq!(state.dialog, None);
        let mut state = sample::canary_window();
        let alarm = "tx-dev-notification-handler-error-rate".to_owned();
        canary_event(
            &mut state,
            150_000,
            CanaryEvent::CanaryAlarm {
                alarm: alarm.clone(),
                state: AlarmState::Alarm,
                reason: "Threshold Crossed".into(),
                remaining_ms: 150_000,
            },
        );
        let cause = crate::canary::RollbackCause::Alarm {
            alarm: alarm.clone(),
            reason: "Threshold Crossed".into(),
        };
        canary_event(
            &mut state,
            151_000,
            CanaryEvent::CanaryRolledBack {
                cause: cause.clone(),
                elapsed_ms: 148_000,
            },
        );
        let canary = state.deploy.as_ref().unwrap().canary.as_ref().unwrap();
        let row = canary.alarms.iter().find(|r| r.name == alarm).unwrap();
        assert_eq!(row.state, Some(AlarmState::Alarm));
        assert_eq!(canary.ended, Some(CanaryEnd::RolledBack(cause)));
        let notice = state.notice.clone().unwrap();
        assert_eq!(notice.level, Level::Error);
        assert!(notice.text.contains(&alarm), "{}", notice.text);
        // The job's `Finished` keeps the canary's notice.
        update(
            &mut state,
            AppEvent::Apply(ApplyUpdate::Finished {
                outcome: ApplyOutcome::Failed,
                error: Some("the canary was rolled back".into()),
            }),
        );
        assert!(state.notice.unwrap().text.contains(&alarm));
    }
}
