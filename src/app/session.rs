//! `Session`: one connection to a cloud for one stack: environment, desired graph, observe,
//! plan and execute. The CLI commands and the end-to-end tests drive the same code.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cloud::{Cloud, CloudError, PreflightFinding, Severity};
use crate::config::Config;
use crate::engine::EventSink;
use crate::engine::executor::{ApplyReport, ExecOptions, Executor};
use crate::engine::observer::observe_all;
use crate::plan::{ObservedState, Plan, PlanOptions, Warning, plan};
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

    /// The diff of the desired graph against `observed`, then the cloud's preflight: every
    /// plan that `plan`, `apply` and the TUI show or execute has been checked against the
    /// rules AWS enforces before any mutating call. Refusals stop the apply; warnings are
    /// shown on their change. A preflight that cannot run refuses the plan: changing the
    /// stack unchecked is worse than asking to run it again.
    pub async fn plan(&self, observed: &ObservedState, options: PlanOptions) -> Plan {
        let mut plan = plan(
            &self.stack_name(),
            &self.env,
            &self.graph,
            observed,
            options,
        );
        if !plan.has_changes() {
            return plan;
        }
        match self.cloud.preflight(&plan, &self.graph, observed).await {
            Ok(findings) => add_findings(&mut plan, findings),
            Err(error) => plan.refusals.push(format!(
                "the preflight checks could not run ({error}); nothing was changed: run the \
                 command again, or fix the access error it names"
            )),
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
            // A valid config always parses; `validate` reported any bad value already.
            canary: self.config.canary_policy().ok().flatten(),
            on_failure: self.config.deploy.on_failure,
            ..ExecOptions::default()
        };
        Executor::new(self.cloud.clone(), journal, events, options, cancel)
            .run(plan, &self.graph)
            .await
    }
}

/// Refusals go to the plan's refusals, naming the resource; warnings to their change.
fn add_findings(plan: &mut Plan, findings: Vec<PreflightFinding>) {
    for finding in findings {
        match finding.severity {
            Severity::Refuse => plan
                .refusals
                .push(format!("`{}`: {}", finding.id, finding.message)),
            Severity::Warn(kind) => {
                let warning = Warning {
                    kind,
                    message: finding.message,
                };
                // Findings name changes of the plan (`Cloud::preflight`'s contract).
                if let Some(change) = plan.changes.iter_mut().find(|c| c.id == finding.id) {
                    change.warnings.push(warning);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::fake_cloud::{CloudHooks, FakeCloud, HookedCloud};
    use crate::plan::WarningKind;
    use crate::spec::{ResourceId, ResourceKind};
    use crate::stack;

    /// A scripted preflight answer, counting how often it is asked.
    struct ScriptedPreflight {
        answer: Result<Vec<PreflightFinding>, CloudError>,
        asked: Mutex<usize>,
    }

    impl CloudHooks for ScriptedPreflight {
        fn preflight(&self) -> Option<Result<Vec<PreflightFinding>, CloudError>> {
            *self.asked.lock().unwrap() += 1;
            Some(self.answer.clone())
        }
    }

    /// A session over the foundation (keys, bucket, queues, topics: what the fake cloud
    /// models) whose cloud answers the preflight with `answer`.
    fn session_with(
        answer: Result<Vec<PreflightFinding>, CloudError>,
    ) -> (Session, Arc<HookedCloud<ScriptedPreflight>>, Arc<FakeCloud>) {
        let config = Config::defaults().unwrap();
        let scripted = ScriptedPreflight {
            answer,
            asked: Mutex::new(0),
        };
        let fake = Arc::new(FakeCloud::new());
        let cloud = Arc::new(HookedCloud::new(fake.clone(), scripted));
        let env = crate::fake_cloud::fake_environment();
        let graph = stack::foundation(&config, &env).check().unwrap();
        let session = Session {
            config,
            cloud: cloud.clone(),
            env,
            graph,
        };
        (session, cloud, fake)
    }

    fn key() -> ResourceId {
        ResourceId::new(ResourceKind::KmsKey, "dynamodb")
    }

    #[tokio::test]
    async fn preflight_refusals_join_the_plan_and_warnings_go_on_their_change() {
        let (session, cloud, fake) = session_with(Ok(vec![
            PreflightFinding::refuse(&key(), "`some.setting`: lower it"),
            PreflightFinding::warn(&key(), WarningKind::Cost, "read capacity 12 derived"),
        ]));
        let observed = session.observe().await.unwrap();
        let plan = session.plan(&observed, PlanOptions::apply()).await;
        assert_eq!(
            plan.refusals,
            ["`kms_key/dynamodb`: `some.setting`: lower it"]
        );
        let change = plan.get(&key()).unwrap();
        assert_eq!(change.warnings.len(), 1);
        assert_eq!(change.warnings[0].kind, WarningKind::Cost);
        assert_eq!(*cloud.hooks().asked.lock().unwrap(), 1);
        assert_eq!(fake.mutations(), 0, "planning changes nothing");
    }

    #[tokio::test]
    async fn a_preflight_that_cannot_run_refuses_the_plan() {
        let error = CloudError::from_parts(
            "lambda",
            "GetAccountSettings",
            Some("AccessDeniedException"),
            Some(403),
            "not allowed",
        );
        let (session, _, _) = session_with(Err(error));
        let observed = session.observe().await.unwrap();
        let plan = session.plan(&observed, PlanOptions::apply()).await;
        assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
        assert!(
            plan.refusals[0].contains("preflight checks could not run")
                && plan.refusals[0].contains("GetAccountSettings"),
            "{:?}",
            plan.refusals
        );
    }

    #[tokio::test]
    async fn a_plan_without_changes_is_not_preflighted() {
        let (session, cloud, _) = session_with(Ok(Vec::new()));
        let observed = session.observe().await.unwrap();
        let plan = session.plan(&observed, PlanOptions::apply()).await;
        let report = session
            .execute(
                &plan,
                Arc::new(crate::state::journal::InMemoryJournal::new()),
                EventSink::discard(),
                CancellationToken::new(),
            )
            .await;
        assert!(report.first_error.is_none(), "{:?}", report.first_error);
        let observed = session.observe().await.unwrap();
        let asked = *cloud.hooks().asked.lock().unwrap();
        let noop = session.plan(&observed, PlanOptions::apply()).await;
        assert!(!noop.has_changes());
        assert_eq!(
            *cloud.hooks().asked.lock().unwrap(),
            asked,
            "no change, no preflight"
        );
    }
}
