//! `observe_all`: reads what exists for every desired resource, in parallel (bounded), plus
//! everything tagged with the stack, so the planner can diff and find orphans.

use std::collections::BTreeSet;
use std::future::Future;

use futures::StreamExt as _;
use tokio::time::Instant;

use super::retry_policy::RetryPolicy;
use crate::cloud::{Cloud, CloudError};
use crate::plan::ObservedState;
use crate::spec::{CheckedGraph, Environment, ResourceId};

/// Observes every spec of `graph` with at most `parallelism` calls in flight, and discovers
/// what is tagged with `stack`; retryable errors are retried with the default policy.
pub async fn observe_all(
    cloud: &dyn Cloud,
    graph: &CheckedGraph,
    env: &Environment,
    stack: &str,
    parallelism: usize,
) -> Result<ObservedState, CloudError> {
    observe_all_with(
        cloud,
        graph,
        env,
        stack,
        parallelism,
        &RetryPolicy::default(),
    )
    .await
}

/// `observe_all` with an explicit retry policy.
pub async fn observe_all_with(
    cloud: &dyn Cloud,
    graph: &CheckedGraph,
    env: &Environment,
    stack: &str,
    parallelism: usize,
    policy: &RetryPolicy,
) -> Result<ObservedState, CloudError> {
    let observations = futures::stream::iter(graph.in_order())
        .map(|spec| async move {
            let found = with_retry(policy, || cloud.observe(spec, env)).await?;
            Ok::<_, CloudError>((spec.id.clone(), found))
        })
        .buffer_unordered(parallelism.max(1))
        .collect::<Vec<_>>();
    let discovery = with_retry(policy, || cloud.discover(stack, env));
    let (observations, discovered) = futures::join!(observations, discovery);

    let mut state = ObservedState::default();
    let mut desired = BTreeSet::new();
    for observation in observations {
        let (id, found) = observation?;
        desired.insert(id.clone());
        if let Some(observed) = found {
            state.resources.insert(id, observed);
        }
    }
    state.orphans = discovered?
        .into_iter()
        .filter(|d| !desired.contains(&d.id))
        .collect();
    state
        .orphans
        .sort_by(|a, b| (&a.id, &a.observed.physical_id).cmp(&(&b.id, &b.observed.physical_id)));
    Ok(state)
}

/// Runs `call` until it succeeds or `policy` gives up on its error.
pub async fn with_retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                attempt += 1;
                let elapsed = started.elapsed();
                match policy.next_delay(error.class, attempt, elapsed) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(policy.exhausted(error, attempt, elapsed)),
                }
            }
        }
    }
}

/// Ids of `state`'s orphans (for messages and tests).
pub fn orphan_ids(state: &ObservedState) -> Vec<ResourceId> {
    state.orphans.iter().map(|o| o.id.clone()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cloud::{ErrorClass, StepContext};
    use crate::config::Config;
    use crate::fake_cloud::{FakeCloud, FakeResource, FaultPlan, LatencyModel, fake_environment};
    use crate::spec::{ResourceKind, Value};
    use crate::stack::{LOGICAL_TAG, STACK_TAG};

    fn graph() -> CheckedGraph {
        crate::stack::foundation(&Config::defaults().unwrap(), &fake_environment())
            .check()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn finds_existing_resources_and_orphans_despite_throttling() {
        let env = fake_environment();
        let graph = graph();
        let cloud = FakeCloud::with(LatencyModel::aws_like(), FaultPlan::seeded(1));
        let ctx = StepContext::quiet(env.clone(), BTreeMap::new());
        // Two keys exist; a key of a removed logical id is still tagged with the stack.
        let s3 = graph
            .get(&ResourceId::new(ResourceKind::KmsKey, "s3"))
            .unwrap();
        let logs = graph
            .get(&ResourceId::new(ResourceKind::KmsKey, "logs"))
            .unwrap();
        cloud.create(s3, &ctx).await.unwrap();
        cloud.create(logs, &ctx).await.unwrap();
        let stale = ResourceId::new(ResourceKind::KmsKey, "old");
        cloud.insert(FakeResource {
            id: stale.clone(),
            name: "tx-dev-old".into(),
            physical_id: "k-old".into(),
            outputs: BTreeMap::new(),
            fields: BTreeMap::from([(
                "tags".to_owned(),
                Value::map([
                    (STACK_TAG, Value::str("tx-dev")),
                    (LOGICAL_TAG, Value::str(stale.to_string())),
                ])
                .resolve(&ctx)
                .unwrap(),
            )]),
            created: 100,
        });
        cloud.set_faults(FaultPlan::seeded(11).throttle("*", 0.3));
        cloud.reset_counters();

        let started = Instant::now();
        let state = observe_all(&cloud, &graph, &env, "tx-dev", 4)
            .await
            .unwrap();
        let ids: Vec<_> = state.resources.keys().map(ToString::to_string).collect();
        assert_eq!(ids, ["kms_key/logs", "kms_key/s3"]);
        assert_eq!(orphan_ids(&state), vec![stale]);
        let calls = cloud.calls();
        let reads: u64 = calls.values().sum();
        assert!(reads > 17, "throttled reads were retried: {calls:?}");
        // 16 observations of 20 ms, 4 at a time, plus backoff: far below 16 sequential reads
        // with their retries.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_read_error_is_returned_not_retried() {
        let env = fake_environment();
        let graph = graph();
        let cloud = FakeCloud::new();
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let result: Result<(), CloudError> = with_retry(&policy, || {
            calls += 1;
            std::future::ready(Err(CloudError::fatal("kms", "DescribeKey", "denied")))
        })
        .await;
        assert_eq!(result.unwrap_err().class, ErrorClass::Fatal);
        assert_eq!(calls, 1);

        let mut calls = 0;
        let result: Result<(), CloudError> = with_retry(&policy, || {
            calls += 1;
            std::future::ready(Err(CloudError::from_parts(
                "kms",
                "DescribeKey",
                Some("ThrottlingException"),
                Some(400),
                "slow down",
            )))
        })
        .await;
        let err = result.unwrap_err();
        assert_eq!(calls, 3);
        assert!(err.message.contains("after 3 attempts"), "{err}");
        // Sanity: the real cloud path works with the same policy.
        assert!(
            observe_all_with(&cloud, &graph, &env, "tx-dev", 2, &policy)
                .await
                .is_ok()
        );
    }
}
