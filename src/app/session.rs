//! `Session`: one connection to a cloud for one stack: environment, desired graph, observe,
//! plan and execute. The CLI commands and the end-to-end tests drive the same code.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cloud::{Cloud, CloudError};
use crate::config::Config;
use crate::engine::EventSink;
use crate::engine::executor::{ApplyReport, ExecOptions, Executor};
use crate::engine::observer::observe_all;
use crate::plan::{ObservedState, Plan, PlanOptions, plan};
use crate::spec::{CheckedGraph, Environment, GraphError};
use crate::stack::{self, BundleInfo, StackInputs};
use crate::state::journal::JournalStore;

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("could not read the target account: {0}")]
    Environment(#[source] CloudError),
    #[error("the stack definition is inconsistent: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Graph(Vec<GraphError>),
}

/// A cloud, the environment it deploys to, and the checked desired graph for one config.
pub struct Session {
    pub config: Config,
    pub cloud: Arc<dyn Cloud>,
    pub env: Environment,
    pub graph: CheckedGraph,
}

impl Session {
    /// Reads the environment (one STS call on AWS) and builds the desired graph with the
    /// bundle embedded in this binary.
    pub async fn open(config: Config, cloud: Arc<dyn Cloud>) -> Result<Self, SessionError> {
        let bundle = BundleInfo::embedded();
        // The account's concurrency limit is read by the Lambda adapter once it exists; until
        // then the concurrency alarm assumes 1000 and says so in its description.
        let inputs = StackInputs {
            bundle,
            account_concurrency_limit: None,
        };
        Self::open_with(config, cloud, &inputs).await
    }

    /// As `open`, with the bundle and account facts given (tests pass their own).
    pub async fn open_with(
        config: Config,
        cloud: Arc<dyn Cloud>,
        inputs: &StackInputs,
    ) -> Result<Self, SessionError> {
        let env = cloud
            .environment()
            .await
            .map_err(SessionError::Environment)?;
        let graph = stack::build(&config, &env, inputs)
            .check()
            .map_err(SessionError::Graph)?;
        Ok(Self {
            config,
            cloud,
            env,
            graph,
        })
    }

    pub fn stack_name(&self) -> String {
        self.config.stack_name()
    }

    /// Reads every desired and tagged resource, in parallel.
    pub async fn observe(&self) -> Result<ObservedState, CloudError> {
        observe_all(
            self.cloud.as_ref(),
            &self.graph,
            &self.env,
            &self.stack_name(),
            self.config.deploy.parallelism,
        )
        .await
    }

    /// The pure diff of the desired graph against `observed`.
    pub fn plan(&self, observed: &ObservedState, options: PlanOptions) -> Plan {
        let mut plan = plan(
            &self.stack_name(),
            &self.env,
            &self.graph,
            observed,
            options,
        );
        let mut unsupported: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| c.action.mutates() && !self.cloud.supports(c.id.kind()))
            .map(|c| format!("`{}`", c.id))
            .collect();
        unsupported.dedup();
        if !unsupported.is_empty() {
            plan.refusals.push(format!(
                "this build of txdeploy cannot manage {} yet; they come from the config \
                 (auto-scaling resources from `dynamodb.billing_mode = \"provisioned\"`): \
                 change that setting back, or use a txdeploy build that supports them",
                unsupported.join(", ")
            ));
        }
        plan
    }

    /// Executes `plan`, journaling every step and sending events to `events`; a failure is
    /// undone or stops as `deploy.on_failure` (or `apply --on-failure`) says.
    pub async fn execute(
        &self,
        plan: &Plan,
        journal: Arc<dyn JournalStore>,
        events: EventSink,
        cancel: CancellationToken,
    ) -> ApplyReport {
        let options = ExecOptions {
            parallelism: self.config.deploy.parallelism,
            on_failure: self.config.deploy.on_failure,
            ..ExecOptions::default()
        };
        Executor::new(self.cloud.clone(), journal, events, options, cancel)
            .run(plan, &self.graph)
            .await
    }
}
