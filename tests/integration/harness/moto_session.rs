//! The whole-pipeline tests' shared steps against moto (`stack_tests`, `slice_tests`): where
//! moto is, a config under a given prefix, and one apply that must succeed.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use txdeploy::adapters::AwsAccess;
use txdeploy::app::session::Session;
use txdeploy::config::Config;
use txdeploy::engine::executor::ApplyReport;
use txdeploy::engine::{ApplyOutcome, EventSink};
use txdeploy::plan::{Plan, PlanOptions};
use txdeploy::state::journal::InMemoryJournal;

/// How to reach moto: its endpoint in `us-east-1`, credentials from the environment.
pub fn moto_access(endpoint: &str) -> AwsAccess {
    AwsAccess {
        region: Some("us-east-1".to_owned()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    }
}

/// The default config under the stack prefix `prefix`.
pub fn config_for(prefix: &str) -> Config {
    let mut config = Config::defaults().unwrap();
    config.stack.prefix = prefix.to_owned();
    config
}

/// Observes, plans with `options` (asserting nothing is refused), executes with an
/// in-memory journal, asserts the apply succeeded and returns the plan it ran.
pub async fn apply(session: &Session, options: PlanOptions) -> Plan {
    apply_report(session, options).await.0
}

/// Executes `plan` with an in-memory journal and no event consumer, whatever its outcome.
pub async fn execute(session: &Session, plan: &Plan) -> ApplyReport {
    session
        .execute(
            plan,
            Arc::new(InMemoryJournal::new()),
            EventSink::discard(),
            CancellationToken::new(),
        )
        .await
}

/// As `apply`, also returning the executor's report (outputs, apply id) for tests that
/// record what the apply did.
pub async fn apply_report(session: &Session, options: PlanOptions) -> (Plan, ApplyReport) {
    let observed = session.observe().await.unwrap();
    let plan = session.plan(&observed, options).await;
    assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
    let report = execute(session, &plan).await;
    assert_eq!(
        report.outcome,
        ApplyOutcome::Succeeded,
        "{:?}",
        report.first_error
    );
    (plan, report)
}
