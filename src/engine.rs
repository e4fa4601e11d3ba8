//! The engine: walks a plan's dependency graph against a `Cloud`, with bounded parallelism,
//! classified retries, a journal written before every event, and cancellation.

pub mod exec_event;

pub use exec_event::{ApplyOutcome, EventSink, ExecEvent, SkipReason};
