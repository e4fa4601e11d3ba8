//! The automatic undo of a failed apply against moto: an apply on top of a deployed stack
//! (settings changed, resources missing since an out-of-band delete) with one injected
//! failure is undone, and the observed stack equals the one before, resource by resource.
//! Prints the calls and wall time of the undo (the figure of the closing note).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use txdeploy::adapters::{AwsAccess, AwsCloud, CallCounter, CallCounts};
use txdeploy::app::session::Session;
use txdeploy::cloud::{Cloud, CloudError, Discovered, Observed, StepContext};
use txdeploy::config::{Config, OnFailure};
use txdeploy::engine::{ApplyOutcome, EventSink, UndoOutcome};
use txdeploy::plan::{Action, PlanOptions};
use txdeploy::spec::{Environment, Outputs, ResourceId, ResourceKind, ResourceSpec};
use txdeploy::state::journal::{InMemoryJournal, JournalEntry, JournalStore};

use crate::harness::{moto_endpoint, unique_stack};

/// The AWS cloud, except that every change of one named resource fails (after a short
/// delay, so the steps running beside it finish their calls first).
struct FailOne {
    inner: Arc<dyn Cloud>,
    failing: ResourceId,
}

impl FailOne {
    async fn check(&self, id: &ResourceId, operation: &str) -> Result<(), CloudError> {
        if *id == self.failing {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Err(CloudError::fatal(
                "test",
                operation,
                format!("injected failure of `{id}`"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Cloud for FailOne {
    async fn environment(&self) -> Result<Environment, CloudError> {
        self.inner.environment().await
    }

    fn supports(&self, kind: ResourceKind) -> bool {
        self.inner.supports(kind)
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
        self.check(&spec.id, "create").await?;
        self.inner.create(spec, ctx).await
    }

    async fn update(
        &self,
        spec: &ResourceSpec,
        current: &Observed,
        changed: &[String],
        ctx: &StepContext,
    ) -> Result<Outputs, CloudError> {
        self.check(&spec.id, "update").await?;
        self.inner.update(spec, current, changed, ctx).await
    }

    async fn delete(
        &self,
        id: &ResourceId,
        current: &Observed,
        ctx: &StepContext,
    ) -> Result<(), CloudError> {
        self.check(id, "delete").await?;
        self.inner.delete(id, current, ctx).await
    }
}

/// An in-memory journal that snapshots the call counter when the undo starts, so the undo's
/// own calls can be told from the apply's.
struct MarkingJournal {
    inner: InMemoryJournal,
    counter: CallCounter,
    at_undo: Mutex<Option<CallCounts>>,
}

impl JournalStore for MarkingJournal {
    fn append(&self, entry: &JournalEntry) -> io::Result<()> {
        if matches!(entry, JournalEntry::UndoStarted { .. }) {
            *self.at_undo.lock().unwrap() = Some(self.counter.snapshot());
        }
        self.inner.append(entry)
    }

    fn entries(&self) -> io::Result<Vec<JournalEntry>> {
        self.inner.entries()
    }
}

async fn connect(endpoint: &str) -> (Arc<dyn Cloud>, CallCounter) {
    let access = AwsAccess {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    };
    let (cloud, counter) = AwsCloud::connect(&access).await;
    (Arc::new(cloud), counter)
}

/// What the stack looks like, resource by resource, without the region's API Gateway
/// account setting (other tests' stacks share it and change it in parallel).
async fn observed(session: &Session) -> BTreeMap<ResourceId, Observed> {
    let mut resources = session.observe().await.unwrap().resources;
    resources.retain(|id, _| id.kind() != ResourceKind::ApiAccount);
    resources
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_full_stack_apply_is_undone_to_the_observed_state_before() {
    let Some(endpoint) = moto_endpoint() else {
        eprintln!("skipped: TXDEPLOY_TEST_ENDPOINT is not set (scripts/test sets it)");
        return;
    };
    let mut config = Config::defaults().unwrap();
    config.stack.prefix = unique_stack();
    let (cloud, _) = connect(&endpoint).await;
    let deployed = Session::open(config.clone(), cloud.clone()).await.unwrap();
    let observed_state = deployed.observe().await.unwrap();
    let plan = deployed.plan(&observed_state, PlanOptions::apply());
    let report = deployed
        .execute(
            &plan,
            Arc::new(InMemoryJournal::new()),
            EventSink::discard(),
            CancellationToken::new(),
        )
        .await;
    assert_eq!(
        report.outcome,
        ApplyOutcome::Succeeded,
        "{:?}",
        report.first_error
    );

    // Drift since: two alarms deleted out of band, which the next apply creates again.
    let alarms: Vec<ResourceId> = deployed
        .graph
        .in_order()
        .filter(|s| s.kind() == ResourceKind::Alarm)
        .take(2)
        .map(|s| s.id.clone())
        .collect();
    let now = observed(&deployed).await;
    for id in &alarms {
        let ctx = StepContext::quiet(deployed.env.clone(), BTreeMap::new());
        cloud.delete(id, &now[id], &ctx).await.unwrap();
    }
    let before = observed(&deployed).await;
    assert!(alarms.iter().all(|id| !before.contains_key(id)));

    // The apply under test: new log retention and maxReceiveCount, the alarms back, and
    // the analytics queue's update fails.
    config.logs.retention_days = 14;
    config.queues.max_receive_count = 5;
    config.deploy.on_failure = OnFailure::Rollback;
    let (aws, counter) = connect(&endpoint).await;
    let failing = ResourceId::new(ResourceKind::Queue, "analytics");
    let faulty: Arc<dyn Cloud> = Arc::new(FailOne {
        inner: aws,
        failing: failing.clone(),
    });
    let session = Session::open(config.clone(), faulty).await.unwrap();
    let observed_state = session.observe().await.unwrap();
    let plan = session.plan(&observed_state, PlanOptions::apply());
    let planned = |action: Action| {
        plan.changes
            .iter()
            .filter(|c| c.action == action && c.id.kind() != ResourceKind::ApiAccount)
            .count()
    };
    assert!(
        planned(Action::Create) >= 2 && planned(Action::Update) >= 7,
        "{:?}",
        plan.summary()
    );
    let journal = Arc::new(MarkingJournal {
        inner: InMemoryJournal::new(),
        counter: counter.clone(),
        at_undo: Mutex::default(),
    });
    let started = Instant::now();
    let report = session
        .execute(
            &plan,
            journal.clone(),
            EventSink::discard(),
            CancellationToken::new(),
        )
        .await;
    let total = started.elapsed();
    let after_undo = counter.snapshot();
    assert_eq!(report.outcome, ApplyOutcome::Failed);
    assert_eq!(report.first_error.as_ref().unwrap().0, failing);
    let undo = report.undo.as_ref().expect("the failed apply was undone");
    assert_eq!(
        undo.outcome,
        UndoOutcome::RolledBack,
        "{:?}",
        undo.first_error
    );
    assert!(undo.left.is_empty() && undo.kept.is_empty(), "{undo:?}");
    assert!(
        report.succeeded.len() >= 5,
        "the undo had real work: {:?}",
        report.succeeded
    );

    let after = observed(&session).await;
    for (id, was) in &before {
        assert_eq!(
            after.get(id),
            Some(was),
            "`{id}` differs from before the apply"
        );
    }
    let extra: Vec<&ResourceId> = after.keys().filter(|id| !before.contains_key(id)).collect();
    assert!(extra.is_empty(), "created and not deleted: {extra:?}");

    let at_undo = journal.at_undo.lock().unwrap().clone().unwrap();
    let undo_calls = after_undo.since(&at_undo);
    eprintln!(
        "undo of a failed full-stack apply against moto: {} resources put back in {:?} \
         ({} reads, {} mutations; apply and undo together {:?}); by operation: {:?}",
        undo.undone.len(),
        undo.elapsed,
        undo_calls.reads(),
        undo_calls.mutations(),
        total,
        undo_calls.by_operation()
    );
    assert!(undo_calls.mutations() >= 1);
}
