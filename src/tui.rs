//! The TUI: `txdeploy` with no command on a terminal, and `txdeploy monitor`. This file owns
//! the terminal lifecycle only: `run` -> `run_app` (raw mode, alternate screen, panic hook,
//! logs to a file) -> `run_app_inner` (the event loop), so no `?` can skip the cleanup.
//!
//! The loop is The Elm Architecture as free functions:
//!
//! ```text
//! keys, mouse, resize ─┐
//! executor events ─────┤                         ┌─► Effect ─► effect_runner (I/O tasks)
//! monitor polls ───────┼─► update(&mut AppState, AppEvent) ──┘         │
//! background loads ────┤        (no I/O)                               └─► AppEvent ─► …
//! clock (only while    ┘
//! something animates)      view(&AppState, &mut Frame) only draws, only when dirty
//! ```
//!
//! - [`app_state`]: the model; [`app_event`]: the inputs; [`effect`]: the outputs.
//! - [`update`]: the only place the model changes; [`view`]: the only place that draws.
//! - [`keymap`]: keys to actions, the footer and help from the same table; [`theme`].
//! - [`widgets`]: one module per screen or overlay.
//! - [`effect_runner`]: loads, the apply job and the pollers, as tasks.
//! - [`log_writer`]: logs go to a file while the TUI owns the screen.
//! - [`sample`]: deterministic states for the view snapshots and the render benchmark.

pub mod app_event;
pub mod app_state;
pub mod effect;
pub mod effect_runner;
pub mod keymap;
pub mod log_writer;
pub mod sample;
pub mod theme;
pub mod update;
pub mod view;
pub mod widgets;

use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};

use app_event::AppEvent;
use app_state::{AppState, Screen, StackInfo};
use effect_runner::EffectRunner;

use crate::app::{AppContext, Outcome, RunError};
use crate::monitor::{ALARM_INTERVAL, dashboard_metrics, monitor_command::metric_interval};

/// How often the clock ticks while something animates (spinners, running timers).
const TICK: Duration = Duration::from_millis(100);
/// How long quitting waits for a stopping apply's in-flight calls.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Set while the TUI owns the terminal: the panic hook restores it only then.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set by the panic hook: the loop stops drawing on a terminal that was just restored.
static PANICKED: AtomicBool = AtomicBool::new(false);
/// Wakes the loop when a background task panicked, so it ends without waiting for a key.
static PANIC_WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// How a TUI session starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TuiOptions {
    pub start: Screen,
    pub alarm_interval: Duration,
    pub metric_interval: Duration,
}

impl TuiOptions {
    /// `txdeploy` with no command: the launch screen.
    pub fn launch() -> Self {
        Self {
            start: Screen::Launch,
            alarm_interval: ALARM_INTERVAL,
            metric_interval: metric_interval(ALARM_INTERVAL),
        }
    }

    /// `txdeploy monitor`: the dashboard, alarms polled every `alarm_interval`.
    pub fn monitor(alarm_interval: Duration) -> Self {
        Self {
            start: Screen::Dashboard,
            alarm_interval,
            metric_interval: metric_interval(alarm_interval),
        }
    }
}

/// Runs the TUI until the user quits; the exit code says how the latest apply ended.
pub async fn run(ctx: &AppContext, options: TuiOptions) -> Result<Outcome, RunError> {
    let log_path = ctx.stack_dir().join("tui.log");
    let log_file = match log_writer::to_file(&log_path) {
        Ok(()) => Some(log_path.display().to_string()),
        // Without a log file, log lines would tear the screen: drop them instead.
        Err(_) => None,
    };
    let info = StackInfo {
        stack: ctx.config.stack_name(),
        region: ctx.config.aws.region.clone(),
        endpoint: ctx.config.aws.endpoint_url.clone(),
        bundle_sha256: Some(crate::bundle::embedded().sha256_hex.to_owned()),
        state_dir: ctx.global.state_dir.display().to_string(),
        log_file,
        alarm_interval_s: options.alarm_interval.as_secs(),
        metric_interval_s: options.metric_interval.as_secs(),
    };
    let result = run_app(ctx, options, info).await;
    log_writer::to_stderr();
    result
}

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Takes the terminal, runs the loop, and gives the terminal back on every path.
async fn run_app(
    ctx: &AppContext,
    options: TuiOptions,
    info: StackInfo,
) -> Result<Outcome, RunError> {
    install_panic_hook();
    let mut terminal = match start_terminal() {
        Ok(terminal) => terminal,
        Err(source) => {
            restore_terminal();
            return Err(RunError::Io {
                context: "taking over the terminal".into(),
                source,
            });
        }
    };
    // A `LocalSet`, because the loads and the apply job run as local tasks (see
    // `effect_runner`); they still make progress while the loop waits for input.
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let start = Instant::now();
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<AppEvent>();
            let runner = EffectRunner::start(
                ctx,
                options.alarm_interval,
                options.metric_interval,
                tx,
                start,
            )
            .await;
            let mut tasks = Tasks { runner, rx, start };
            let result = run_app_inner(&mut terminal, &mut tasks, ctx, options, info).await;
            restore_terminal();
            let _ = terminal.show_cursor();
            // The terminal is the user's again before any wait for a stopping apply.
            let apply_error = tasks.runner.shutdown(STOP_GRACE).await;
            match (result, apply_error) {
                (Err(error), _) | (Ok(_), Some(error)) => Err(error),
                (Ok(outcome), None) => Ok(outcome),
            }
        })
        .await
}

/// What the loop works with besides the terminal.
struct Tasks {
    runner: EffectRunner,
    rx: tokio::sync::mpsc::UnboundedReceiver<AppEvent>,
    /// The loop's clock starts here.
    start: Instant,
}

fn start_terminal() -> io::Result<Term> {
    ACTIVE.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    Ok(terminal)
}

/// Leaves raw mode, the alternate screen and mouse capture; shows the cursor. Safe to call
/// twice (the panic hook and the normal path may both run).
fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = execute!(
            io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
    }
}

/// Restores the terminal before the previous hook prints the panic, so the message lands
/// on a usable screen (gitui's `set_panic_handler`).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            PANIC_WAKE.notify_one();
            restore_terminal();
            log_writer::to_stderr();
            previous(info);
        }));
    });
}

/// The event loop. Errors return through `run_app`, which restores the terminal.
async fn run_app_inner(
    terminal: &mut Term,
    tasks: &mut Tasks,
    ctx: &AppContext,
    options: TuiOptions,
    info: StackInfo,
) -> Result<Outcome, RunError> {
    let io_error = |context: &str| {
        let context = context.to_owned();
        move |source| RunError::Io { context, source }
    };
    let Tasks { runner, rx, start } = tasks;
    let start = *start;
    let mut state = AppState::new(info, dashboard_metrics(&ctx.config), Screen::Launch);
    if let Some(effect) = update::update(&mut state, AppEvent::Key(goto_key(options.start))) {
        runner.run(effect);
    }
    let mut input = EventStream::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate =
        signal(SignalKind::terminate()).map_err(io_error("listening for SIGTERM"))?;
    let mut hangup = signal(SignalKind::hangup()).map_err(io_error("listening for SIGHUP"))?;
    let clock = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);

    terminal
        .draw(|frame| view::view(&state, frame))
        .map_err(io_error("drawing"))?;
    state.dirty = false;
    let mut quit = false;
    while !quit && !PANICKED.load(Ordering::SeqCst) {
        let event = tokio::select! {
            input = input.next() => match input {
                Some(Ok(Event::Key(key))) => AppEvent::Key(key),
                Some(Ok(Event::Mouse(mouse))) => AppEvent::Mouse(mouse),
                Some(Ok(Event::Resize(width, height))) => AppEvent::Resize { width, height },
                Some(Ok(_)) => continue,
                Some(Err(source)) => return Err(RunError::Io { context: "reading the terminal".into(), source }),
                None => break,
            },
            Some(event) = rx.recv() => event,
            _ = ticker.tick(), if state.animating() => AppEvent::Tick { now_ms: clock() },
            () = PANIC_WAKE.notified() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        };
        // Every event is timed by the loop's clock (load durations, node start times).
        update::update(&mut state, AppEvent::Tick { now_ms: clock() });
        let mut next = Some(event);
        // Everything already queued is applied before drawing: a burst of executor events
        // costs one frame, not one each.
        while let Some(event) = next {
            if let Some(effect) = update::update(&mut state, event)
                && !runner.run(effect)
            {
                quit = true;
            }
            next = rx.try_recv().ok();
        }
        if state.dirty && !quit {
            terminal
                .draw(|frame| view::view(&state, frame))
                .map_err(io_error("drawing"))?;
            state.dirty = false;
        }
    }
    Ok(Outcome::Done)
}

/// The key that opens `screen`, so the start screen goes through `update` like a keypress
/// (the dashboard then starts its poller the same way).
fn goto_key(screen: Screen) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(screen.key()),
        crossterm::event::KeyModifiers::NONE,
    )
}
