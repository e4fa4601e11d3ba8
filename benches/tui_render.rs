//! TUI render benchmark: draws the dashboard of a full-stack-sized state (47 series with
//! their sparklines and the selected series' chart, 31 alarms, a 16-node plan) on ratatui's
//! `TestBackend` and prints the frame time. Target: at most 2 ms per dashboard frame.
//!
//! `cargo bench --bench tui_render` (criterion is not a dependency; this is a plain
//! `harness = false` binary that times a fixed number of frames after a warm-up).

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use txdeploy::tui::app_state::{AppState, Screen};
use txdeploy::tui::{sample, view};

const WARM_UP: usize = 50;
const FRAMES: usize = 1000;
/// The target frame time for the dashboard.
const TARGET: Duration = Duration::from_millis(2);

struct Timing {
    mean: Duration,
    p99: Duration,
}

/// Times `FRAMES` full redraws of `state` at `width` x `height`.
fn time_frames(state: &AppState, width: u16, height: u16) -> Timing {
    let Ok(mut terminal) = Terminal::new(TestBackend::new(width, height));
    for _ in 0..WARM_UP {
        let _ = terminal.draw(|frame| view::view(state, frame));
    }
    let mut samples = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        // A full redraw each time: clear forces ratatui to diff against an empty buffer,
        // as after a resize, so this is the worst case, not the incremental one.
        let _ = terminal.clear();
        let start = Instant::now();
        let _ = terminal.draw(|frame| view::view(state, frame));
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let n = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    Timing {
        mean: total / n,
        p99: samples[samples.len() * 99 / 100],
    }
}

fn main() {
    let dashboard = sample::dashboard();
    let mut alarms = sample::alarms_screen();
    alarms.screen = Screen::Alarms;
    let deploy = sample::deploying();
    let series = dashboard.dashboard.specs.len();
    let alarm_count = alarms.alarms.alarms.len();
    println!(
        "tui_render: {FRAMES} frames each after {WARM_UP} warm-up; {series} series, \
         {alarm_count} alarms"
    );
    let cases: [(&str, &AppState, u16, u16); 5] = [
        ("dashboard 80x24", &dashboard, 80, 24),
        ("dashboard 120x40", &dashboard, 120, 40),
        ("dashboard 200x60", &dashboard, 200, 60),
        ("alarms 120x40", &alarms, 120, 40),
        ("deploy 120x40", &deploy, 120, 40),
    ];
    let mut worst_dashboard = Duration::ZERO;
    for (name, state, width, height) in cases {
        let t = time_frames(state, width, height);
        if name.starts_with("dashboard") {
            worst_dashboard = worst_dashboard.max(t.mean);
        }
        println!(
            "  {name:<18} mean {:>8.3} ms   p99 {:>8.3} ms",
            t.mean.as_secs_f64() * 1000.0,
            t.p99.as_secs_f64() * 1000.0
        );
    }
    let verdict = if worst_dashboard <= TARGET {
        "within"
    } else {
        "OVER"
    };
    println!(
        "dashboard worst mean {:.3} ms: {verdict} the {} ms target",
        worst_dashboard.as_secs_f64() * 1000.0,
        TARGET.as_millis()
    );
}
