//! `AppState`: the TUI's whole model (screen, launch checklist, plan, live deploy, dashboard,
//! alarms, overlays) and the pure derivations the views and `update` share.

use std::collections::BTreeMap;

use crate::canary::{CanaryAlias, CanaryCommand, PromoteTrigger, RollbackCause};
use crate::cloud::{CloudError, ErrorClass};
use crate::engine::{ApplyOutcome, SkipReason};
use crate::monitor::{AlarmInfo, AlarmState, MetricFrame, MetricSpec, MetricWindow, TransitionLog};
use crate::plan::{Action, Plan, PlannedChange};
use crate::release::CurrentRelease;
use crate::spec::{Environment, ResourceId, Service};

/// The screens, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Screen {
    Launch,
    Plan,
    Deploy,
    Dashboard,
    Alarms,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Launch,
        Screen::Plan,
        Screen::Deploy,
        Screen::Dashboard,
        Screen::Alarms,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Launch => "Launch",
            Screen::Plan => "Plan",
            Screen::Deploy => "Deploy",
            Screen::Dashboard => "Dashboard",
            Screen::Alarms => "Alarms",
        }
    }

    /// The digit that opens it.
    pub fn key(self) -> char {
        match self {
            Screen::Launch => '1',
            Screen::Plan => '2',
            Screen::Deploy => '3',
            Screen::Dashboard => '4',
            Screen::Alarms => '5',
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    pub fn previous(self) -> Self {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// Facts about the stack known before any AWS call (from config and flags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackInfo {
    pub stack: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    /// The embedded Lambda bundle's sha256, when this build embeds one.
    pub bundle_sha256: Option<String>,
    pub state_dir: String,
    /// Where logs go while the TUI owns the screen.
    pub log_file: Option<String>,
    pub alarm_interval_s: u64,
    pub metric_interval_s: u64,
}

/// Something loading in the background.
#[derive(Clone, Debug, PartialEq)]
pub enum Load<T> {
    /// Not asked for (yet).
    Idle,
    Pending {
        since_ms: u64,
    },
    Ready {
        value: T,
        took_ms: u64,
    },
    Failed {
        error: String,
        took_ms: u64,
    },
}

impl<T> Load<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Load::Ready { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn is_pending(&self) -> bool {
        matches!(self, Load::Pending { .. })
    }

    /// Sets the result of a pending load, timing it from when it started.
    pub fn finish(&mut self, result: Result<T, String>, now_ms: u64) {
        let since = match self {
            Load::Pending { since_ms } => *since_ms,
            _ => now_ms,
        };
        let took_ms = now_ms.saturating_sub(since);
        *self = match result {
            Ok(value) => Load::Ready { value, took_ms },
            Err(error) => Load::Failed { error, took_ms },
        };
    }
}

/// How the deployed stack compares with the desired one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanDigest {
    pub desired: usize,
    pub in_sync: usize,
    pub missing: usize,
    pub drifted: usize,
    pub orphaned: usize,
    pub warnings: usize,
    pub refusals: usize,
}

impl PlanDigest {
    pub fn of(plan: &Plan) -> Self {
        let mut d = Self {
            refusals: plan.refusals.len(),
            ..Self::default()
        };
        for change in &plan.changes {
            d.warnings += change.warnings.len();
            match change.action {
                Action::NoOp => d.in_sync += 1,
                Action::Create => d.missing += 1,
                Action::Update | Action::Replace { .. } => d.drifted += 1,
                Action::Delete => d.orphaned += 1,
            }
        }
        d.desired = d.in_sync + d.missing + d.drifted;
        d
    }

    /// Desired resources that exist in AWS.
    pub fn deployed(&self) -> usize {
        self.in_sync + self.drifted
    }
}

/// What the state directory says about past applies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalState {
    /// The latest apply id and how it ended (`None`: it did not finish).
    pub last_apply: Option<(String, Option<ApplyOutcome>)>,
    pub unfinished_steps: usize,
    /// Who holds the stack lock, if anyone.
    pub lock_holder: Option<String>,
}

/// The alarm counts the launch screen shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlarmCounts {
    pub alarm: usize,
    pub insufficient: usize,
    pub ok: usize,
}

impl AlarmCounts {
    pub fn of(alarms: &[AlarmInfo]) -> Self {
        let mut c = Self::default();
        for a in alarms {
            match a.state {
                AlarmState::Alarm => c.alarm += 1,
                AlarmState::InsufficientData => c.insufficient += 1,
                AlarmState::Ok => c.ok += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.alarm + self.insufficient + self.ok
    }
}

/// The launch screen's checklist, loaded in parallel.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchState {
    pub account: Load<Environment>,
    pub plan: Load<PlanDigest>,
    pub local: Load<LocalState>,
    pub alarms: Load<AlarmCounts>,
    /// The current release, read from AWS (`None`: none recorded yet).
    pub release: Load<Option<CurrentRelease>>,
}

impl LaunchState {
    pub fn pending(now_ms: u64) -> Self {
        Self {
            account: Load::Pending { since_ms: now_ms },
            plan: Load::Pending { since_ms: now_ms },
            local: Load::Pending { since_ms: now_ms },
            alarms: Load::Pending { since_ms: now_ms },
            release: Load::Pending { since_ms: now_ms },
        }
    }

    pub fn is_loading(&self) -> bool {
        self.account.is_pending()
            || self.plan.is_pending()
            || self.local.is_pending()
            || self.alarms.is_pending()
            || self.release.is_pending()
    }
}

/// A row of the plan list: a service heading or a change (index into `plan.changes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanRow {
    Service(Service, usize),
    Change(usize),
}

/// The plan screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanView {
    pub plan: Option<Plan>,
    /// Position among the visible changes.
    pub selected: usize,
    pub show_unchanged: bool,
    /// The selected change's details fill the screen.
    pub details: bool,
}

impl PlanView {
    /// The rows shown: changes grouped by service in order of first appearance (the plan is
    /// in dependency order, so each group is too), no-ops only when asked for.
    pub fn rows(&self) -> Vec<PlanRow> {
        let Some(plan) = &self.plan else {
            return Vec::new();
        };
        let mut services: Vec<Service> = Vec::new();
        let mut by_service: BTreeMap<Service, Vec<usize>> = BTreeMap::new();
        for (i, change) in plan.changes.iter().enumerate() {
            if !self.show_unchanged && change.action == Action::NoOp {
                continue;
            }
            let service = change.id.kind().service();
            if !services.contains(&service) {
                services.push(service);
            }
            by_service.entry(service).or_default().push(i);
        }
        let mut rows = Vec::new();
        for service in services {
            let changes = by_service.remove(&service).unwrap_or_default();
            rows.push(PlanRow::Service(service, changes.len()));
            rows.extend(changes.into_iter().map(PlanRow::Change));
        }
        rows
    }

    /// Indices (into `plan.changes`) of the visible changes, in row order.
    pub fn visible_changes(&self) -> Vec<usize> {
        self.rows()
            .into_iter()
            .filter_map(|r| match r {
                PlanRow::Change(i) => Some(i),
                PlanRow::Service(..) => None,
            })
            .collect()
    }

    pub fn selected_change(&self) -> Option<&PlannedChange> {
        let index = *self.visible_changes().get(self.selected)?;
        self.plan.as_ref()?.changes.get(index)
    }

    pub fn hidden_unchanged(&self) -> usize {
        match &self.plan {
            Some(plan) if !self.show_unchanged => plan
                .changes
                .iter()
                .filter(|c| c.action == Action::NoOp)
                .count(),
            _ => 0,
        }
    }
}

/// Where one node of a live apply stands.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeState {
    Waiting,
    Running,
    Retrying {
        attempt: u32,
        class: ErrorClass,
        error: String,
        delay_ms: u64,
    },
    Done,
    Failed(CloudError),
    Skipped(SkipReason),
    /// The apply failed and this node's change is being undone.
    RollingBack,
    /// Put back as it was before the apply; the word says how (`deleted`, `restored`,
    /// `already absent`, `unchanged`).
    RolledBack(&'static str),
    /// Left as the apply made it on purpose (data, a replacement, a deletion), and why.
    Kept(String),
    /// Its undo failed: the stack is partly changed here.
    UndoFailed(CloudError),
}

impl NodeState {
    pub fn word(&self) -> &'static str {
        match self {
            NodeState::Waiting => "waiting",
            NodeState::Running => "running",
            NodeState::Retrying { .. } => "retrying",
            NodeState::Done => "done",
            NodeState::Failed(_) => "failed",
            NodeState::Skipped(_) => "skipped",
            NodeState::RollingBack => "rolling back",
            NodeState::RolledBack(_) => "rolled back",
            NodeState::Kept(_) => "kept",
            NodeState::UndoFailed(_) => "undo failed",
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(
            self,
            NodeState::Running | NodeState::Retrying { .. } | NodeState::RollingBack
        )
    }

    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            NodeState::Done
                | NodeState::Failed(_)
                | NodeState::Skipped(_)
                | NodeState::RolledBack(_)
                | NodeState::Kept(_)
                | NodeState::UndoFailed(_)
        )
    }
}

/// One node of a live apply.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRow {
    pub id: ResourceId,
    pub action: String,
    pub state: NodeState,
    pub started_ms: Option<u64>,
    /// The executor's own measurement once the node finished.
    pub elapsed_ms: Option<u64>,
    /// The latest wait message (an AWS state transition, a backfill).
    pub progress: Option<String>,
}

impl NodeRow {
    /// How long the node has run, as of `now_ms`.
    pub fn elapsed(&self, now_ms: u64) -> Option<u64> {
        self.elapsed_ms
            .or_else(|| self.started_ms.map(|s| now_ms.saturating_sub(s)))
    }
}

/// Which nodes the deploy list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NodeFilter {
    #[default]
    All,
    /// Waiting, running or retrying.
    Pending,
    /// Failed, retrying or skipped.
    Problems,
    Done,
}

impl NodeFilter {
    pub fn next(self) -> Self {
        match self {
            NodeFilter::All => NodeFilter::Pending,
            NodeFilter::Pending => NodeFilter::Problems,
            NodeFilter::Problems => NodeFilter::Done,
            NodeFilter::Done => NodeFilter::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NodeFilter::All => "all",
            NodeFilter::Pending => "pending",
            NodeFilter::Problems => "problems",
            NodeFilter::Done => "done",
        }
    }

    pub fn admits(self, state: &NodeState) -> bool {
        match self {
            NodeFilter::All => true,
            NodeFilter::Pending => !state.is_finished(),
            NodeFilter::Problems => matches!(
                state,
                NodeState::Failed(_)
                    | NodeState::Retrying { .. }
                    | NodeState::Skipped(_)
                    | NodeState::UndoFailed(_)
            ),
            NodeFilter::Done => matches!(state, NodeState::Done),
        }
    }
}

/// How far a live apply is.
#[derive(Clone, Debug, PartialEq)]
pub enum DeployPhase {
    /// Taking the lock and re-reading the stack before anything changes.
    Preparing,
    Running,
    /// Ctrl-C confirmed: no new step starts; in-flight calls finish.
    Stopping,
    /// The apply failed; what it changed is being undone, dependents first.
    Undoing,
    Finished {
        outcome: ApplyOutcome,
        elapsed_ms: u64,
        /// Why the run ended badly, with the next step.
        error: Option<String>,
    },
}

/// The live apply.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployState {
    pub stack: String,
    pub phase: DeployPhase,
    pub apply_id: Option<String>,
    pub nodes: Vec<NodeRow>,
    /// For each node, the nodes it waits for.
    pub deps: Vec<Vec<usize>>,
    /// Unchanged resources (not listed).
    pub unchanged: usize,
    pub started_ms: u64,
    /// Position among the filtered nodes.
    pub selected: usize,
    pub filter: NodeFilter,
    pub text_filter: String,
    pub editing_filter: bool,
    /// The canary window after a canary apply, from its first event on.
    pub canary: Option<CanaryView>,
}

/// A watched alarm as the canary last saw it (`None` before the first poll).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryAlarmRow {
    pub name: String,
    pub state: Option<AlarmState>,
    pub reason: String,
}

/// How a canary window ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CanaryEnd {
    Promoted(PromoteTrigger),
    RolledBack(RollbackCause),
}

/// The canary window: weight, time left, watched alarms, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryView {
    pub weight_percent: u8,
    pub window_ms: u64,
    /// The TUI clock when the window started.
    pub started_ms: u64,
    pub aliases: Vec<CanaryAlias>,
    pub alarms: Vec<CanaryAlarmRow>,
    /// `p` or `a` was pressed; the runner has not answered yet.
    pub requested: Option<CanaryCommand>,
    pub ended: Option<CanaryEnd>,
}

impl CanaryView {
    /// Whether the window still runs (keys `p` and `a` work).
    pub fn is_active(&self) -> bool {
        self.ended.is_none()
    }

    /// Milliseconds left in the window at `now_ms`.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        (self.started_ms + self.window_ms).saturating_sub(now_ms)
    }

    /// How much of the window has passed, 0.0..=1.0.
    pub fn passed(&self, now_ms: u64) -> f64 {
        if self.window_ms == 0 {
            return 1.0;
        }
        let passed = self.window_ms - self.remaining_ms(now_ms);
        (passed as f64 / self.window_ms as f64).clamp(0.0, 1.0)
    }
}

/// Estimated duration of a node nothing is known about yet.
pub const DEFAULT_NODE_ESTIMATE_MS: u64 = 1500;

impl DeployState {
    /// The rows of `plan`'s changes (no-ops left out), waiting; `deps` (by plan index, as
    /// `engine::plan_dependencies` returns them) when known.
    pub fn new(plan: &Plan, deps: Option<&[Vec<usize>]>, now_ms: u64) -> Self {
        let mut node_of = BTreeMap::new();
        let mut nodes = Vec::new();
        for (i, change) in plan.changes.iter().enumerate() {
            if change.action.mutates() {
                node_of.insert(i, nodes.len());
                nodes.push(NodeRow {
                    id: change.id.clone(),
                    action: change.action.label().to_owned(),
                    state: NodeState::Waiting,
                    started_ms: None,
                    elapsed_ms: None,
                    progress: None,
                });
            }
        }
        let mut state = Self {
            stack: plan.stack.clone(),
            phase: DeployPhase::Preparing,
            apply_id: None,
            unchanged: plan.changes.len() - nodes.len(),
            nodes,
            deps: Vec::new(),
            started_ms: now_ms,
            selected: 0,
            filter: NodeFilter::All,
            text_filter: String::new(),
            editing_filter: false,
            canary: None,
        };
        if let Some(deps) = deps {
            state.set_deps(deps, &node_of);
        } else {
            state.deps = vec![Vec::new(); state.nodes.len()];
        }
        state
    }

    fn set_deps(&mut self, deps: &[Vec<usize>], node_of: &BTreeMap<usize, usize>) {
        self.deps = vec![Vec::new(); self.nodes.len()];
        for (change, node) in node_of {
            if let Some(list) = deps.get(*change) {
                self.deps[*node] = list
                    .iter()
                    .filter_map(|d| node_of.get(d).copied())
                    .collect();
            }
        }
    }

    /// Replaces the dependencies once the executor's view of them is known.
    pub fn with_plan_deps(&mut self, plan: &Plan, deps: &[Vec<usize>]) {
        let node_of: BTreeMap<usize, usize> = plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.action.mutates())
            .enumerate()
            .map(|(node, (change, _))| (change, node))
            .collect();
        self.set_deps(deps, &node_of);
    }

    pub fn index_of(&self, id: &ResourceId) -> Option<usize> {
        self.nodes.iter().position(|n| &n.id == id)
    }

    pub fn is_running(&self) -> bool {
        matches!(
            self.phase,
            DeployPhase::Preparing
                | DeployPhase::Running
                | DeployPhase::Stopping
                | DeployPhase::Undoing
        )
    }

    /// Indices of the nodes the filters let through, in plan order.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.text_filter.to_lowercase();
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| self.filter.admits(&n.state))
            .filter(|(_, n)| {
                needle.is_empty()
                    || n.id.to_string().to_lowercase().contains(&needle)
                    || n.action.contains(&needle)
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub fn selected_node(&self) -> Option<&NodeRow> {
        let i = *self.visible().get(self.selected)?;
        self.nodes.get(i)
    }

    /// Nodes finished (done, failed or skipped) and the total.
    pub fn progress(&self) -> (usize, usize) {
        let finished = self.nodes.iter().filter(|n| n.state.is_finished()).count();
        (finished, self.nodes.len())
    }

    pub fn count(&self, word: &str) -> usize {
        self.nodes.iter().filter(|n| n.state.word() == word).count()
    }

    /// The nodes running now, longest-running first.
    pub fn running(&self, now_ms: u64) -> Vec<&NodeRow> {
        let mut running: Vec<&NodeRow> =
            self.nodes.iter().filter(|n| n.state.is_active()).collect();
        running.sort_by_key(|n| std::cmp::Reverse(n.elapsed(now_ms)));
        running
    }

    /// How long a node of unknown duration is expected to take: the mean of the nodes of
    /// the same kind that finished in this apply, else of all finished nodes, else a default.
    fn estimate_ms(&self, id: &ResourceId) -> u64 {
        let mean = |same_kind: bool| {
            let done: Vec<u64> = self
                .nodes
                .iter()
                .filter(|n| n.state == NodeState::Done && (!same_kind || n.id.kind() == id.kind()))
                .filter_map(|n| n.elapsed_ms)
                .collect();
            let n = u64::try_from(done.len()).ok().filter(|n| *n > 0)?;
            Some(done.iter().sum::<u64>() / n)
        };
        mean(true)
            .or_else(|| mean(false))
            .unwrap_or(DEFAULT_NODE_ESTIMATE_MS)
    }

    /// Time left along the critical path: the longest chain of remaining work through the
    /// dependency graph, where a running node has its estimate minus what it already ran.
    /// `None` when the apply is not running.
    pub fn eta_ms(&self, now_ms: u64) -> Option<u64> {
        if !matches!(self.phase, DeployPhase::Running) {
            return None;
        }
        let remaining: Vec<u64> = self
            .nodes
            .iter()
            .map(|n| match &n.state {
                NodeState::Done
                | NodeState::Failed(_)
                | NodeState::Skipped(_)
                | NodeState::RolledBack(_)
                | NodeState::Kept(_)
                | NodeState::UndoFailed(_) => 0,
                NodeState::Running | NodeState::Retrying { .. } | NodeState::RollingBack => {
                    let estimate = self.estimate_ms(&n.id);
                    let ran = n.elapsed(now_ms).unwrap_or(0);
                    // A node past its estimate is assumed to need a little longer, not zero.
                    estimate.saturating_sub(ran).max(estimate / 10)
                }
                NodeState::Waiting => self.estimate_ms(&n.id),
            })
            .collect();
        let mut finish: Vec<Option<u64>> = vec![None; self.nodes.len()];
        let mut longest = 0;
        for i in 0..self.nodes.len() {
            longest = longest.max(self.finish_time(i, &remaining, &mut finish, 0));
        }
        Some(longest)
    }

    /// When node `i` finishes from now: after its slowest dependency, plus its own work.
    fn finish_time(
        &self,
        i: usize,
        remaining: &[u64],
        memo: &mut [Option<u64>],
        depth: usize,
    ) -> u64 {
        if let Some(t) = memo[i] {
            return t;
        }
        // The plan's graph is acyclic; the depth guard keeps a malformed one finite.
        let after = if depth > self.nodes.len() {
            0
        } else {
            self.deps[i]
                .iter()
                .map(|d| self.finish_time(*d, remaining, memo, depth + 1))
                .max()
                .unwrap_or(0)
        };
        let t = after + remaining[i];
        memo[i] = Some(t);
        t
    }
}

/// The dashboard screen.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardState {
    pub specs: Vec<MetricSpec>,
    pub window: MetricWindow,
    pub frame: Option<MetricFrame>,
    /// Position in `specs`.
    pub selected: usize,
    /// Whether the metric poller runs (it starts when the dashboard is first opened).
    pub started: bool,
    /// A refresh was asked for and has not arrived.
    pub fetching: bool,
    /// The latest failure (Unix ms, message); cleared by the next frame.
    pub error: Option<(i64, String)>,
    pub refreshes: u64,
    pub calls: u64,
}

impl DashboardState {
    pub fn new(specs: Vec<MetricSpec>) -> Self {
        Self {
            specs,
            window: MetricWindow::default(),
            frame: None,
            selected: 0,
            started: false,
            fetching: false,
            error: None,
            refreshes: 0,
            calls: 0,
        }
    }
}

/// The alarms screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlarmsState {
    /// Worst first.
    pub alarms: Vec<AlarmInfo>,
    pub log: TransitionLog,
    pub selected: usize,
    pub details: bool,
    /// When the latest poll ran (Unix ms).
    pub polled_ms: Option<i64>,
    pub error: Option<(i64, String)>,
}

/// Polls a transition stays highlighted.
pub const HIGHLIGHT_POLLS: u64 = 3;

impl AlarmsState {
    pub fn selected_alarm(&self) -> Option<&AlarmInfo> {
        self.alarms.get(self.selected)
    }

    pub fn is_highlighted(&self, alarm: &AlarmInfo) -> bool {
        self.log.changed_recently(&alarm.name, HIGHLIGHT_POLLS)
    }

    pub fn counts(&self) -> AlarmCounts {
        AlarmCounts::of(&self.alarms)
    }
}

/// A question that blocks other keys until answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// Apply the plan shown?
    ConfirmApply,
    /// Stop the running apply (Ctrl-C)?
    ConfirmStop,
    /// Quit while an apply runs (stops it first)?
    ConfirmQuit,
}

/// How loud a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A one-line message above the footer, until the next key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// The whole model.
#[derive(Clone, Debug, PartialEq)]
pub struct AppState {
    pub screen: Screen,
    pub info: StackInfo,
    /// Milliseconds since the TUI started, from the loop's clock.
    pub clock_ms: u64,
    /// Something changed since the last draw.
    pub dirty: bool,
    pub help: bool,
    pub dialog: Option<Dialog>,
    pub notice: Option<Notice>,
    pub launch: LaunchState,
    pub plan: PlanView,
    pub deploy: Option<DeployState>,
    pub dashboard: DashboardState,
    pub alarms: AlarmsState,
    /// Quit as soon as the running apply has stopped.
    pub quit_after_apply: bool,
    pub quitting: bool,
}

impl AppState {
    /// The state at start: everything loading, on `screen`.
    pub fn new(info: StackInfo, specs: Vec<MetricSpec>, screen: Screen) -> Self {
        Self {
            screen,
            info,
            clock_ms: 0,
            dirty: true,
            help: false,
            dialog: None,
            notice: None,
            launch: LaunchState::pending(0),
            plan: PlanView::default(),
            deploy: None,
            dashboard: DashboardState::new(specs),
            alarms: AlarmsState::default(),
            quit_after_apply: false,
            quitting: false,
        }
    }

    /// Whether the loop should send ticks (spinners and running clocks are on screen).
    pub fn animating(&self) -> bool {
        self.launch.is_loading()
            || self.deploy.as_ref().is_some_and(DeployState::is_running)
            || self.canary_active()
            || (self.screen == Screen::Dashboard && self.dashboard.fetching)
    }

    /// Whether a canary window runs (the apply's steps are done, its aliases are split).
    pub fn canary_active(&self) -> bool {
        self.deploy
            .as_ref()
            .and_then(|d| d.canary.as_ref())
            .is_some_and(CanaryView::is_active)
    }

    pub fn apply_running(&self) -> bool {
        self.deploy.as_ref().is_some_and(DeployState::is_running)
    }

    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tui::sample;

    #[test]
    fn the_critical_path_is_the_longest_remaining_chain() {
        let plan = sample::plan();
        let deps = sample::plan_deps(&plan);
        let mut deploy = DeployState::new(&plan, Some(&deps), 0);
        deploy.phase = DeployPhase::Running;
        // Nothing known: every node takes the default; the longest chain is
        // key -> dead-letter queue -> work queue (3 nodes).
        assert_eq!(deploy.eta_ms(0), Some(3 * DEFAULT_NODE_ESTIMATE_MS));
        // Finished nodes cost nothing, and measured durations replace the default.
        for node in &mut deploy.nodes {
            if node.id.kind() == crate::spec::ResourceKind::KmsKey {
                node.state = NodeState::Done;
                node.elapsed_ms = Some(400);
            }
        }
        // The rest of the chain (dlq -> queue) takes the measured mean of finished nodes.
        assert_eq!(deploy.eta_ms(0), Some(2 * 400));
        // A running node counts only what it has left: both dead-letter queues ran 300 ms
        // of their 400, then their work queues take 400.
        for node in &mut deploy.nodes {
            if node.id.to_string().ends_with("-dlq") {
                node.state = NodeState::Running;
                node.started_ms = Some(0);
            }
        }
        assert_eq!(deploy.eta_ms(300), Some(100 + 400));
    }

    #[test]
    fn filters_select_by_state_and_text() {
        let plan = sample::plan();
        let mut deploy = DeployState::new(&plan, None, 0);
        deploy.nodes[0].state = NodeState::Done;
        deploy.nodes[1].state = NodeState::Failed(CloudError::fatal("s3", "PutBucketPolicy", "x"));
        deploy.filter = NodeFilter::Problems;
        assert_eq!(deploy.visible(), vec![1]);
        deploy.filter = NodeFilter::Done;
        assert_eq!(deploy.visible(), vec![0]);
        deploy.filter = NodeFilter::All;
        deploy.text_filter = "QUEUE/".into();
        assert!(
            deploy
                .visible()
                .iter()
                .all(|i| deploy.nodes[*i].id.to_string().starts_with("queue/"))
        );
        assert!(!deploy.visible().is_empty());
    }

    #[test]
    fn plan_rows_group_by_service_in_first_appearance_order() {
        let view = PlanView {
            plan: Some(sample::plan()),
            ..PlanView::default()
        };
        let headings: Vec<Service> = view
            .rows()
            .into_iter()
            .filter_map(|r| match r {
                PlanRow::Service(s, _) => Some(s),
                PlanRow::Change(_) => None,
            })
            .collect();
        assert_eq!(
            headings,
            [Service::Kms, Service::S3, Service::Sqs, Service::Sns]
        );
    }
}
