//! The launch screen: the stack, account, region, endpoint, bundle, release and what is
//! deployed against what is desired, with the parallel loads as a live checklist.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::duration;
use crate::tui::app_state::{AppState, Load};
use crate::tui::theme;

/// What a field shows while its load is pending or failed.
fn pending<T>(load: &Load<T>, clock_ms: u64) -> Span<'static> {
    match load {
        Load::Pending { .. } => {
            Span::styled(format!("{} loading…", theme::spinner(clock_ms)), theme::DIM)
        }
        Load::Failed { .. } => Span::styled("unavailable (see below)", theme::BAD),
        Load::Idle | Load::Ready { .. } => Span::styled("-", theme::DIM),
    }
}

fn field(name: &str, value: Vec<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::styled(format!(" {name:<10} "), theme::TITLE)];
    spans.extend(value);
    Line::from(spans)
}

/// One checklist row: symbol, what, time taken, and the error when it failed.
fn check<T>(what: &str, load: &Load<T>, clock_ms: u64) -> Vec<Line<'static>> {
    let (symbol, style, took) = match load {
        Load::Idle => ("·", theme::DIM, String::new()),
        Load::Pending { since_ms } => (
            theme::spinner(clock_ms),
            theme::INFO,
            duration(clock_ms.saturating_sub(*since_ms)),
        ),
        Load::Ready { took_ms, .. } => ("✔", theme::OK, duration(*took_ms)),
        Load::Failed { took_ms, .. } => ("✖", theme::BAD, duration(*took_ms)),
    };
    let mut lines = vec![Line::from(vec![
        Span::raw("   "),
        Span::styled(symbol, style),
        Span::raw(format!(" {what:<40} ")),
        Span::styled(took, theme::DIM),
    ])];
    if let Load::Failed { error, .. } = load {
        lines.push(Line::from(Span::styled(
            format!("     {error}"),
            theme::BAD,
        )));
    }
    lines
}

pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let info = &state.info;
    let launch = &state.launch;
    let clock = state.clock_ms;
    let mut lines = Vec::new();

    lines.push(field("Stack", vec![Span::raw(info.stack.clone())]));
    lines.push(field(
        "Account",
        match launch.account.value() {
            Some(env) => vec![Span::raw(format!("{} ({})", env.account_id, env.partition))],
            None => vec![pending(&launch.account, clock)],
        },
    ));
    let region = launch
        .account
        .value()
        .map(|e| e.region.clone())
        .or_else(|| info.region.clone())
        .unwrap_or_else(|| "from the AWS profile".to_owned());
    lines.push(field("Region", vec![Span::raw(region)]));
    lines.push(field(
        "Endpoint",
        vec![match &info.endpoint {
            Some(url) => Span::styled(format!("{url} (custom endpoint: emulator)"), theme::WARN),
            None => Span::raw("AWS (default endpoints)"),
        }],
    ));
    lines.push(field(
        "Bundle",
        vec![match &info.bundle_sha256 {
            Some(sha) => Span::raw(format!("sha256 {sha}")),
            None => Span::styled("none embedded in this build", theme::DIM),
        }],
    ));
    lines.push(field(
        "Release",
        match launch.release.value() {
            Some(Some(release)) if release.live => vec![Span::raw(format!(
                "{} (applied {})",
                release.number, release.created_at
            ))],
            Some(Some(release)) => vec![
                Span::raw(format!(
                    "{} (applied {}), ",
                    release.number, release.created_at
                )),
                Span::styled("not live: rolled back or changed since", theme::WARN),
            ],
            Some(None) => vec![Span::styled("none yet", theme::DIM)],
            None => vec![pending(&launch.release, clock)],
        },
    ));
    lines.push(field(
        "Last apply",
        match launch.local.value() {
            Some(local) => match &local.last_apply {
                Some((id, outcome)) => {
                    let (word, style) = match outcome {
                        Some(crate::engine::ApplyOutcome::Succeeded) => ("succeeded", theme::OK),
                        Some(crate::engine::ApplyOutcome::Failed) => ("failed", theme::BAD),
                        Some(crate::engine::ApplyOutcome::Interrupted) => {
                            ("interrupted", theme::WARN)
                        }
                        None => ("did not finish", theme::BAD),
                    };
                    let mut spans = vec![
                        Span::raw(format!("apply {id}: ")),
                        Span::styled(word, style),
                    ];
                    if local.unfinished_steps > 0 {
                        spans.push(Span::styled(
                            format!(", {} unfinished step(s)", local.unfinished_steps),
                            theme::BAD,
                        ));
                    }
                    spans
                }
                None => vec![Span::styled(
                    format!("no apply recorded in {}", info.state_dir),
                    theme::DIM,
                )],
            },
            None => vec![pending(&launch.local, clock)],
        },
    ));
    if let Some(holder) = launch.local.value().and_then(|l| l.lock_holder.clone()) {
        lines.push(field(
            "Lock",
            vec![Span::styled(format!("held: {holder}"), theme::WARN)],
        ));
    }
    lines.push(field(
        "Deployed",
        match launch.plan.value() {
            Some(d) => {
                let mut spans = vec![Span::raw(format!(
                    "{} of {} desired exist; ",
                    d.deployed(),
                    d.desired
                ))];
                let in_sync = d.missing == 0 && d.drifted == 0 && d.orphaned == 0;
                if in_sync {
                    spans.push(Span::styled("in sync", theme::OK));
                } else {
                    spans.push(Span::styled(
                        format!(
                            "{} missing, {} drifted, {} orphaned",
                            d.missing, d.drifted, d.orphaned
                        ),
                        theme::WARN,
                    ));
                }
                spans
            }
            None => vec![pending(&launch.plan, clock)],
        },
    ));
    lines.push(field(
        "Alarms",
        match launch.alarms.value() {
            Some(c) if c.total() == 0 => vec![Span::styled("none yet", theme::DIM)],
            Some(c) => vec![
                Span::raw(format!("{}: ", c.total())),
                Span::styled(
                    format!("✖ {} ALARM", c.alarm),
                    if c.alarm > 0 { theme::BAD } else { theme::DIM },
                ),
                Span::raw("  "),
                Span::styled(format!("? {} NO DATA", c.insufficient), theme::WARN),
                Span::raw("  "),
                Span::styled(format!("✔ {} OK", c.ok), theme::OK),
            ],
            None => vec![pending(&launch.alarms, clock)],
        },
    ));

    let loads = [
        launch.account.is_pending(),
        launch.plan.is_pending(),
        launch.local.is_pending(),
        launch.alarms.is_pending(),
        launch.release.is_pending(),
    ];
    let done = loads.iter().filter(|p| !**p).count();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" Loading in parallel ", theme::TITLE),
        Span::styled(
            format!("{done}/{}", loads.len()),
            if done == loads.len() {
                theme::OK
            } else {
                theme::INFO
            },
        ),
    ]));
    lines.extend(check(
        "account (STS GetCallerIdentity)",
        &launch.account,
        clock,
    ));
    lines.extend(check(
        "observe every resource, then plan",
        &launch.plan,
        clock,
    ));
    lines.extend(check("local state (journal, lock)", &launch.local, clock));
    lines.extend(check("alarms (DescribeAlarms)", &launch.alarms, clock));
    lines.extend(check(
        "current release (S3 record, aliases)",
        &launch.release,
        clock,
    ));

    lines.push(Line::raw(""));
    let next = match launch.plan.value() {
        Some(d) if d.refusals > 0 => Line::styled(
            " Next: 2 shows the plan; it has refusals that must be resolved first.",
            theme::BAD,
        ),
        Some(d) if d.missing + d.drifted + d.orphaned > 0 => Line::from(vec![
            Span::raw(" Next: "),
            Span::styled("2", theme::KEY),
            Span::raw(format!(
                " shows the plan ({} changes), ",
                d.missing + d.drifted + d.orphaned
            )),
            Span::styled("a", theme::KEY),
            Span::raw(" there applies it."),
        ]),
        Some(_) => Line::from(vec![
            Span::raw(" Next: "),
            Span::styled("4", theme::KEY),
            Span::raw(" dashboard, "),
            Span::styled("5", theme::KEY),
            Span::raw(" alarms."),
        ]),
        None => Line::styled(" Reading the stack…", theme::DIM),
    };
    lines.push(next);
    if let Some(log) = &info.log_file {
        lines.push(Line::styled(format!(" Logs: {log}"), theme::DIM));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(" Stack ", theme::TITLE));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
