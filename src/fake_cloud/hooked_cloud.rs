//! `HookedCloud`: any `Cloud` (the fake, or AWS on moto) with test hooks around its calls:
//! how tests inject a failure, lose a response, watch concurrency or script a preflight
//! without implementing the whole `Cloud` trait again for each.

use std::sync::Arc;

use async_trait::async_trait;

use crate::cloud::{Cloud, CloudError, Discovered, Observed, PreflightFinding, StepContext};
use crate::plan::{ObservedState, Plan};
use crate::spec::{CheckedGraph, Environment, Outputs, ResourceId, ResourceSpec};

/// A mutating call of the `Cloud` trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    Create,
    Update,
    Delete,
}

impl Mutation {
    pub fn label(self) -> &'static str {
        match self {
            Mutation::Create => "create",
            Mutation::Update => "update",
            Mutation::Delete => "delete",
        }
    }
}

/// What a test does around the inner cloud's calls; every hook defaults to doing nothing.
#[async_trait]
pub trait CloudHooks: Send + Sync {
    /// Before a mutation of `id`: an error is the call's answer, and the inner cloud is
    /// not called.
    async fn before(&self, id: &ResourceId, call: Mutation) -> Result<(), CloudError> {
        let _ = (id, call);
        Ok(())
    }

    /// After the inner cloud answered (`succeeded` or not). An error replaces a successful
    /// answer (a response lost after the change was made); an inner error is returned as
    /// it is whatever this says.
    fn after(&self, id: &ResourceId, call: Mutation, succeeded: bool) -> Result<(), CloudError> {
        let _ = (id, call, succeeded);
        Ok(())
    }

    /// The preflight's answer instead of the inner cloud's; `None` asks the inner cloud.
    fn preflight(&self) -> Option<Result<Vec<PreflightFinding>, CloudError>> {
        None
    }
}

/// `inner` with `hooks` around its calls; reads pass straight through.
pub struct HookedCloud<H> {
    inner: Arc<dyn Cloud>,
    hooks: H,
}

impl<H: CloudHooks> HookedCloud<H> {
    pub fn new(inner: Arc<dyn Cloud>, hooks: H) -> Self {
        Self { inner, hooks }
    }

    pub fn hooks(&self) -> &H {
        &self.hooks
    }

    async fn mutate<T: Send>(
        &self,
        id: &ResourceId,
        call: Mutation,
        run: impl Future<Output = Result<T, CloudError>> + Send,
    ) -> Result<T, CloudError> {
        self.hooks.before(id, call).await?;
        let answer = run.await;
        let hooked = self.hooks.after(id, call, answer.is_ok());
        let value = answer?;
        hooked.map(|()| value)
    }
}

#[async_trait]
impl<H: CloudHooks> Cloud for HookedCloud<H> {
    async fn environment(&self) -> Result<Environment, CloudError> {
        self.inner.environment().await
    }

    async fn preflight(
        &self,
        plan: &Plan,
        graph: &CheckedGraph,
        observed: &ObservedState,
    ) -> Result<Vec<PreflightFinding>, CloudError> {
        match self.hooks.preflight() {
            Some(answer) => answer,
            None => self.inner.preflight(plan, graph, observed).await,
        }
    }

    async fn observe(
        &self,
        spec: &ResourceSpec,
        env: &Environment,
    ) -> Result<Option<Observed>, CloudError> {
        self.inner.observe(spec, env).await
    }

    async fn discover(
        &self,
        stack: &str,
        env: &Environment,
    ) -> Result<Vec<Discovered>, CloudError> {
        self.inner.discover(stack, env).await
    }

    async fn create(&self, spec: &ResourceSpec, ctx: &StepContext) -> Result<Outputs, CloudError> {
        self.mutate(&spec.id, Mutation::Create, self.inner.create(spec, ctx))
            .await
    }

    async fn update(
        &self,
        spec: &ResourceSpec,
        current: &Observed,
        changed: &[String],
        ctx: &StepContext,
    ) -> Result<Outputs, CloudError> {
        let run = self.inner.update(spec, current, changed, ctx);
        self.mutate(&spec.id, Mutation::Update, run).await
    }

    async fn delete(
        &self,
        id: &ResourceId,
        current: &Observed,
        ctx: &StepContext,
    ) -> Result<(), CloudError> {
        self.mutate(id, Mutation::Delete, self.inner.delete(id, current, ctx))
            .await
    }
}
