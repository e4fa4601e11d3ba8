//! `ExecEvent`: the only thing reporters and UIs ever see of an apply.

use serde::{Deserialize, Serialize};

use crate::cloud::{CloudError, ErrorClass};
use crate::spec::ResourceId;

/// Why a node did not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// Nothing to change.
    NoOp,
    /// A node it depends on failed or was skipped.
    DependencyFailed { dependency: ResourceId },
    /// The apply stopped (a failure elsewhere, or Ctrl-C) before this node started.
    Stopped,
}

/// How an apply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    Succeeded,
    Failed,
    Interrupted,
}

/// How the undo of a failed apply ended (`--on-failure rollback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UndoOutcome {
    /// Everything the apply did was undone, except what is listed as kept (exit 1).
    RolledBack,
    /// An undo step failed: the stack is partly changed and needs a human (exit 3).
    Failed,
    /// Ctrl-C during the undo: it stopped after its in-flight calls (exit 130).
    Interrupted,
}

/// One thing that happened during an apply. Serialized as one NDJSON line with `--json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExecEvent {
    ApplyStarted {
        apply_id: String,
        stack: String,
        /// Nodes that will call AWS (no-ops excluded).
        changes: usize,
    },
    NodeStarted {
        id: ResourceId,
        action: &'static str,
    },
    /// A long wait inside a step (AWS state transition, backfill).
    NodeProgress { id: ResourceId, message: String },
    NodeRetrying {
        id: ResourceId,
        attempt: u32,
        class: ErrorClass,
        error: String,
        delay_ms: u64,
    },
    NodeSucceeded {
        id: ResourceId,
        action: &'static str,
        elapsed_ms: u64,
    },
    NodeFailed {
        id: ResourceId,
        action: &'static str,
        error: CloudError,
        elapsed_ms: u64,
    },
    NodeSkipped {
        id: ResourceId,
        #[serde(flatten)]
        reason: SkipReason,
    },
    /// The apply failed and its changes are being undone, dependents first: `steps`
    /// resources to delete or restore, `kept` left as they are (one `UndoKept` each).
    UndoStarted { steps: usize, kept: usize },
    /// `action` is `delete` (created by the apply), `restore` (updated by it: its recorded
    /// previous values are written back) or `keep` (created data: checked, never deleted).
    UndoStepStarted {
        id: ResourceId,
        action: &'static str,
    },
    /// `result` says what the undo found and did (`deleted`, `restored`, `restored through
    /// its alias` (a function's code: served again by its alias, `$LATEST` keeps the new
    /// code, which an `UndoKept` of the same id says), `kept`, `already absent`, `unchanged`).
    UndoStepSucceeded {
        id: ResourceId,
        action: &'static str,
        result: &'static str,
        elapsed_ms: u64,
    },
    UndoStepFailed {
        id: ResourceId,
        action: &'static str,
        error: CloudError,
        elapsed_ms: u64,
    },
    /// A resource the undo leaves as it is, and why (data, a replacement, a deletion).
    UndoKept { id: ResourceId, reason: String },
    UndoFinished {
        outcome: UndoOutcome,
        undone: usize,
        failed: usize,
        /// Resources left changed by the apply (failed or not reached undo steps).
        left: usize,
        elapsed_ms: u64,
    },
    ApplyFinished {
        outcome: ApplyOutcome,
        succeeded: usize,
        failed: usize,
        skipped: usize,
        elapsed_ms: u64,
    },
}

/// Where the executor sends events; cheap to clone. Reporters read the other end.
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: Option<tokio::sync::mpsc::UnboundedSender<ExecEvent>>,
}

impl EventSink {
    /// A sink and the receiver a reporter drains.
    pub fn channel() -> (Self, tokio::sync::mpsc::UnboundedReceiver<ExecEvent>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Self { tx: Some(tx) }, rx)
    }

    /// A sink that drops everything (benchmarks).
    pub fn discard() -> Self {
        Self { tx: None }
    }

    pub fn emit(&self, event: ExecEvent) {
        if let Some(tx) = &self.tx {
            // A reporter that went away (TUI closed) must not fail the apply.
            let _ = tx.send(event);
        }
    }
}
