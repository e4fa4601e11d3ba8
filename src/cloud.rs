//! The `Cloud` boundary: what the engine needs from AWS (or from the in-memory fake cloud).
//!
//! The executor and planner only ever talk to a `Cloud`; `adapters::AwsCloud` implements it
//! over the AWS SDK, `fake_cloud::FakeCloud` in memory with scripted faults.

pub mod error_class;
pub mod observed;
pub mod preflight;
pub mod waiter;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use error_class::{CloudError, ErrorClass};
pub use observed::{Discovered, Observed};
pub use preflight::{PreflightFinding, Severity};

use crate::canary::CanaryPolicy;
use crate::plan::{ObservedState, Plan};
use crate::spec::{
    CheckedGraph, EnvFact, Environment, OutputRef, Outputs, Resolve, ResourceId, ResourceSpec,
};

/// What a step hands an adapter: resolved outputs of finished nodes and a progress sink.
pub struct StepContext {
    pub env: Environment,
    pub outputs: BTreeMap<ResourceId, Outputs>,
    /// Set on the forward steps of an apply with `--canary`: an alias that moves to a new
    /// version keeps the old one and routes this weight to the new one. `None` everywhere
    /// else (undo, rollback), where an alias always moves fully.
    pub canary: Option<CanaryPolicy>,
    progress: Box<dyn Fn(String) + Send + Sync>,
    /// Recorded previous values (by field name) that an undo writes back instead of the
    /// spec's desired ones; empty for every apply step.
    restore: BTreeMap<String, serde_json::Value>,
}

impl StepContext {
    pub fn new(
        env: Environment,
        outputs: BTreeMap<ResourceId, Outputs>,
        progress: Box<dyn Fn(String) + Send + Sync>,
    ) -> Self {
        Self {
            env,
            outputs,
            canary: None,
            progress,
            restore: BTreeMap::new(),
        }
    }

    /// The same context for a step of a canary apply.
    #[must_use]
    pub fn with_canary(mut self, canary: Option<CanaryPolicy>) -> Self {
        self.canary = canary;
        self
    }

    /// The context of an undo's update: the named fields resolve to their recorded previous
    /// values (`StepStarted.before`), so `Cloud::update` writes those back through the same
    /// calls an apply makes.
    #[must_use]
    pub fn restoring(mut self, fields: BTreeMap<String, serde_json::Value>) -> Self {
        self.restore = fields;
        self
    }

    /// The recorded value an undo restores for `field` (null when the field was absent),
    /// `None` outside an undo.
    pub fn restored(&self, field: &str) -> Option<serde_json::Value> {
        if self.restore.is_empty() {
            return None;
        }
        Some(
            self.restore
                .get(field)
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        )
    }

    /// A context that drops progress messages (tests, one-off calls).
    pub fn quiet(env: Environment, outputs: BTreeMap<ResourceId, Outputs>) -> Self {
        Self::new(env, outputs, Box::new(|_| {}))
    }

    /// Reports progress of a long wait (a backfill, an AWS state transition).
    pub fn progress(&self, message: impl Into<String>) {
        (self.progress)(message.into());
    }

    /// The value of a reference, or a fatal error naming it (the executor only starts a step
    /// once its dependencies finished, so this means an adapter bug).
    pub fn require(&self, r: &OutputRef) -> Result<String, CloudError> {
        self.output(r).ok_or_else(|| {
            CloudError::fatal("txdeploy", "resolve", format!("`{r}` has no value yet"))
        })
    }
}

impl Resolve for StepContext {
    fn output(&self, r: &OutputRef) -> Option<String> {
        self.outputs.get(&r.resource)?.get(&r.output).cloned()
    }

    fn env(&self, fact: EnvFact) -> String {
        self.env.fact(fact)
    }
}

/// Reads and changes resources. Every method is safe to call again after a failure:
/// the executor retries a failed step by observing again and continuing from what exists.
#[async_trait]
pub trait Cloud: Send + Sync {
    /// The account, region and partition this cloud deploys to.
    async fn environment(&self) -> Result<Environment, CloudError>;

    /// Checks `plan` against the rules AWS enforces on the account's current state (quotas,
    /// rate windows, one-at-a-time operations) before any mutating call, and notes what the
    /// apply will derive (capacity from observed consumption). Reads only. Each finding
    /// names a change of `plan`. A refusal stops the apply; a cloud without such rules
    /// finds nothing.
    async fn preflight(
        &self,
        plan: &Plan,
        graph: &CheckedGraph,
        observed: &ObservedState,
    ) -> Result<Vec<PreflightFinding>, CloudError> {
        let _ = (plan, graph, observed);
        Ok(Vec::new())
    }

    /// Reads the object `spec` describes, found by its physical name, alias or tags.
    /// `Ok(None)` when it does not exist.
    async fn observe(
        &self,
        spec: &ResourceSpec,
        env: &Environment,
    ) -> Result<Option<Observed>, CloudError>;

    /// Every object tagged (or named) as part of `stack`, including ones no longer desired.
    async fn discover(&self, stack: &str, env: &Environment)
    -> Result<Vec<Discovered>, CloudError>;

    /// Creates the object and returns its outputs.
    async fn create(&self, spec: &ResourceSpec, ctx: &StepContext) -> Result<Outputs, CloudError>;

    /// Changes the named fields of an existing object and returns its outputs.
    async fn update(
        &self,
        spec: &ResourceSpec,
        current: &Observed,
        changed: &[String],
        ctx: &StepContext,
    ) -> Result<Outputs, CloudError>;

    /// Deletes the object; an object that is already gone is not an error.
    async fn delete(
        &self,
        id: &ResourceId,
        current: &Observed,
        ctx: &StepContext,
    ) -> Result<(), CloudError>;
}
