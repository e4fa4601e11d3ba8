//! The engine: walks a plan's dependency graph against a `Cloud`, with bounded parallelism,
//! classified retries, a journal written before every event, and cancellation.
//!
//! - [`observer`]: reads what exists (parallel, retried) for the planner.
//! - [`executor`]: applies a plan; the only producer of [`ExecEvent`]s.
//! - [`retry_policy`]: backoff, jitter and deadlines per `ErrorClass`.

pub mod exec_event;
pub mod executor;
pub mod observer;
pub mod retry_policy;

pub use exec_event::{ApplyOutcome, EventSink, ExecEvent, SkipReason, UndoOutcome};
pub use executor::{ApplyReport, ExecOptions, Executor, UndoReport, plan_dependencies};
pub use observer::{observe_all, observe_all_with};
pub use retry_policy::RetryPolicy;
