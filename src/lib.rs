//! txdeploy: deploys, watches and rolls back a serverless transaction stack on AWS.
//!
//! ```text
//! txdeploy.toml ─► config ─► stack::build ─► spec::ResourceGraph (typed, checked) ─┐
//! AWS ─► cloud::Cloud::observe (parallel) ─► plan::ObservedState ──────────────────┤
//!                                  plan::plan(desired, observed)  ◄─────────────────┘  pure
//! engine: walk the plan's DAG, bounded parallelism, classified retries, waits
//!    ├─► state::journal (append-only, fsync, written before each event)
//!    └─► engine::ExecEvent ─► report: plain lines | NDJSON  |  tui
//! monitor (alarm + metric pollers) ─► monitor::MonitorEvent ─► tui dashboard / alarms | lines
//! ```
//!
//! Modules, in the order data flows through them:
//! - [`config`]: defaults < file < env < flags, validated with every error at once.
//! - [`stack`]: the desired graph as plain functions of the config.
//! - [`spec`]: typed resource specs, values with typed references, the checked graph.
//! - [`cloud`]: the boundary to AWS: observe / create / update / delete, error classes.
//! - [`adapters`]: the AWS SDK implementation of that boundary, one file per service.
//! - [`fake_cloud`]: an in-memory cloud with scripted faults and a latency model.
//! - [`plan`]: the pure diff of desired against observed.
//! - [`engine`]: the executor and its events.
//! - [`state`]: journal, state cache and the per-stack lock under `.txdeploy/<stack>/`.
//! - [`release`]: release records stored in AWS, and rollback to one of them.
//! - [`report`]: reporters that turn events into lines or NDJSON.
//! - [`monitor`]: alarm and metric pollers, the alarm transition log, `txdeploy monitor`.
//! - [`tui`]: the full-screen interface: launch, plan, live deploy, dashboard, alarms.
//! - [`cli`]: the commands and their arguments.
//! - [`canary`]: `apply --canary`: alias weights, the alarm-watched window, promote or roll back.
//! - [`app`]: one run of a command: config, clients, observe, plan, execute, report.
//! - [`audit`]: `txdeploy audit`, every line of STACK.md checked on the deployed stack.

pub mod adapters;
pub mod app;
pub mod audit;
pub mod bundle;
pub mod canary;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod engine;
pub mod fake_cloud;
pub mod monitor;
pub mod plan;
pub mod release;
pub mod report;
pub mod spec;
pub mod stack;
pub mod state;
pub mod tui;
