//! Recording a release after an apply: which applies make one, the record built from the
//! desired graph and what the apply left (its outputs), the catch-up that records a live
//! state whose record write failed, and writing it (record, then tags).
//!
//! Every succeeded apply ends here, a no-op included:
//! - it changed a function, alias, API deployment or stage: a new release;
//! - it changed neither: the newest record is read and compared with what is live (each
//!   alias's version, the stage's deployment); no record, or one that differs, means an
//!   earlier record write failed (S3 down, throttled, a bucket policy), and the live state
//!   is recorded now. An up-to-date record costs a list and one get.
//!
//! A canary: an alias that routes part of its traffic to another version is never
//! recorded. The apply that starts a canary records only once it is promoted (a canary
//! rolled back records nothing); an alias left split by a killed canary is seen by the
//! catch-up (it reads the routing before writing) and reported instead of recorded.

use std::collections::BTreeMap;

use base64::Engine;

use super::aws_targets::ReleaseTargets;
use super::{ApiRelease, FunctionRelease, Release, ReleaseError, ReleaseStore, next_after};
use crate::config::Config;
use crate::engine::ApplyOutcome;
use crate::engine::executor::ApplyReport;
use crate::plan::Plan;
use crate::spec::{CheckedGraph, OutputKey, Outputs, ResourceId, ResourceKind, SpecBody};
use crate::stack::Handler;
use crate::stack::api::{API, rest_api_id, stage_id};

/// The kinds whose change is a release: what callers reach (code, alias, routes, stage).
const RELEASE_KINDS: [ResourceKind; 4] = [
    ResourceKind::Function,
    ResourceKind::LambdaAlias,
    ResourceKind::ApiDeployment,
    ResourceKind::ApiStage,
];

/// Whether applying `plan` changes the functions or the API, and so makes a release.
pub fn makes_a_release(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|c| c.action.mutates() && RELEASE_KINDS.contains(&c.id.kind()))
}

/// What a succeeded apply left: the run's id and the outputs of every resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The apply (`journal/{apply_id}.jsonl`), or for a plan with no changes, which writes
    /// no journal, a fresh id naming this run.
    pub apply_id: String,
    pub outputs: BTreeMap<ResourceId, Outputs>,
}

impl Applied {
    /// What `report`'s apply left; only a succeeded apply leaves something to record.
    pub fn from_report(report: &ApplyReport) -> Result<Self, ReleaseError> {
        if report.outcome != ApplyOutcome::Succeeded {
            return Err(ReleaseError::Incomplete(format!(
                "apply {} did not succeed",
                report.apply_id
            )));
        }
        Ok(Self {
            apply_id: report.apply_id.clone(),
            outputs: report.outputs.clone(),
        })
    }

    /// What is live when `plan` has no changes: what its observation read.
    pub fn unchanged(plan: &Plan) -> Self {
        Self {
            apply_id: crate::state::journal::new_apply_id(),
            outputs: plan.observed_outputs(),
        }
    }
}

fn output(applied: &Applied, id: &ResourceId, key: OutputKey) -> Result<String, ReleaseError> {
    applied
        .outputs
        .get(id)
        .and_then(|o| o.get(&key))
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| ReleaseError::Incomplete(format!("`{id}` has no {key} after the apply")))
}

fn spec_name(graph: &CheckedGraph, id: &ResourceId) -> Result<String, ReleaseError> {
    graph
        .get(id)
        .map(|s| s.physical_name.clone())
        .ok_or_else(|| ReleaseError::Incomplete(format!("the stack has no `{id}`")))
}

/// The release a succeeded apply of `graph` (built from `config`) made live, numbered
/// `number`. After a successful apply what is live is what the graph describes, with the
/// versions and ids the apply left.
pub fn release_of(
    config: &Config,
    graph: &CheckedGraph,
    applied: &Applied,
    number: u64,
    created_at: String,
) -> Result<Release, ReleaseError> {
    let mut functions = Vec::new();
    let mut bundle_code_sha = String::new();
    for handler in Handler::ALL {
        let id = handler.function_id();
        let Some(SpecBody::Function(function)) = graph.get(&id).map(|s| &s.body) else {
            return Err(ReleaseError::Incomplete(format!("the stack has no `{id}`")));
        };
        let version = output(applied, &id, OutputKey::Version)?;
        let alias_name = spec_name(graph, &handler.alias_id())?;
        bundle_code_sha.clone_from(&function.code_sha256);
        functions.push(FunctionRelease {
            logical: handler.logical().to_owned(),
            name: spec_name(graph, &id)?,
            alias_version: version.clone(),
            version,
            code_sha256: function.code_sha256.clone(),
            alias: alias_name
                .rsplit_once(':')
                .map_or(crate::stack::LIVE_ALIAS, |(_, a)| a)
                .to_owned(),
        });
    }
    let deployment = ResourceId::new(ResourceKind::ApiDeployment, API);
    let Some(SpecBody::ApiDeployment(api_deployment)) = graph.get(&deployment).map(|s| &s.body)
    else {
        return Err(ReleaseError::Incomplete(format!(
            "the stack has no `{deployment}`"
        )));
    };
    let config_toml = toml::to_string(config).map_err(|e| ReleaseError::Corrupt {
        what: "the config snapshot".into(),
        reason: e.to_string(),
    })?;
    Ok(Release {
        number,
        created_at,
        stack: config.stack_name(),
        apply_id: applied.apply_id.clone(),
        bundle_sha256: hex_of_base64(&bundle_code_sha),
        functions,
        api: ApiRelease {
            rest_api_id: output(applied, &rest_api_id(), OutputKey::Id)?,
            deployment_id: output(applied, &deployment, OutputKey::Id)?,
            definition_sha256: api_deployment.definition_sha256.clone(),
            stage: spec_name(graph, &stage_id())?,
        },
        config_toml,
    })
}

/// Lambda's base64 `CodeSha256` as lower-case hex (the form `sha256sum` prints).
fn hex_of_base64(code_sha256: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_else(|_| code_sha256.to_owned())
}

/// Why the live state is recorded although the apply changed neither functions nor API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// The stack has no release record at all.
    NoRecord,
    /// The newest record, release `newest`, is not what is live.
    Differs { newest: u64 },
}

/// Whether `live` (what a succeeded apply left) needs a record although the apply made no
/// release: `Ok(n)` when `newest`, the newest record (release `n`), is exactly what is
/// live (the alias versions and the stage's deployment, what `Release::is_live` compares),
/// else why it must be recorded.
pub fn catch_up(newest: Option<&Release>, live: &Release) -> Result<u64, CatchUp> {
    match newest {
        None => Err(CatchUp::NoRecord),
        Some(newest) if newest.is_live(&live.live_state()) => Ok(newest.number),
        Some(newest) => Err(CatchUp::Differs {
            newest: newest.number,
        }),
    }
}

/// An alias that routes part of its traffic to a version besides its own.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitAlias {
    pub function: String,
    pub alias: String,
    /// The version that takes the rest of the traffic.
    pub primary: String,
    /// The other version and its weight (0.0..1.0).
    pub version: String,
    pub weight: f64,
}

/// What recording after an apply did.
#[derive(Clone, Debug, PartialEq)]
pub enum Recorded {
    /// The apply changed the functions or the API: a new release.
    Released(Release),
    /// The apply changed neither, but what is live had no record: recorded now.
    CaughtUp { release: Release, why: CatchUp },
    /// The newest record, release `number`, is what is live: nothing written.
    UpToDate { number: u64 },
    /// What is live is not recorded and an alias is split (a canary that did not finish):
    /// a split is not a release, so nothing was written.
    Split(SplitAlias),
}

impl Recorded {
    /// The release written, if any.
    pub fn written(&self) -> Option<&Release> {
        match self {
            Self::Released(release) | Self::CaughtUp { release, .. } => Some(release),
            Self::UpToDate { .. } | Self::Split(_) => None,
        }
    }
}

/// The first alias of `live` that routes traffic to a second version, if any (GetAlias on
/// each: the observation does not read routing).
async fn split_alias(
    targets: &dyn ReleaseTargets,
    live: &Release,
) -> Result<Option<SplitAlias>, ReleaseError> {
    for function in &live.functions {
        let weights = targets.alias_split(&function.name, &function.alias).await?;
        if let Some((version, weight)) = weights.into_iter().next() {
            return Ok(Some(SplitAlias {
                function: function.name.clone(),
                alias: function.alias.clone(),
                primary: function.alias_version.clone(),
                version,
                weight,
            }));
        }
    }
    Ok(None)
}

/// Records what a succeeded apply of `plan` left live (see the module doc): a new release
/// when the plan changed the functions or the API, else the catch-up of a live state with
/// no record. The record is written first (it is what rollback reads), then each
/// function's `txdeploy:release` tag.
pub async fn record(
    store: &dyn ReleaseStore,
    targets: &dyn ReleaseTargets,
    config: &Config,
    graph: &CheckedGraph,
    plan: &Plan,
    applied: &Applied,
) -> Result<Recorded, ReleaseError> {
    let numbers = store.list().await?;
    let live = release_of(
        config,
        graph,
        applied,
        next_after(&numbers),
        crate::state::journal::now_rfc3339(),
    )?;
    let recorded = if makes_a_release(plan) {
        Recorded::Released(live)
    } else {
        let newest = match numbers.last() {
            Some(number) => store.get(*number).await?,
            None => None,
        };
        match catch_up(newest.as_ref(), &live) {
            Ok(number) => return Ok(Recorded::UpToDate { number }),
            Err(why) => {
                if let Some(split) = split_alias(targets, &live).await? {
                    return Ok(Recorded::Split(split));
                }
                Recorded::CaughtUp { release: live, why }
            }
        }
    };
    let Some(release) = recorded.written() else {
        return Ok(recorded);
    };
    store.put(release).await?;
    for handler in Handler::ALL {
        let arn = output(applied, &handler.function_id(), OutputKey::Arn)?;
        targets.tag_release(&arn, release.number).await?;
    }
    Ok(recorded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use async_trait::async_trait;

    use crate::cloud::CloudError;
    use crate::plan::{Action, PlannedChange};
    use crate::release::InMemoryReleaseStore;
    use crate::spec::Environment;

    /// The in-memory store, counting calls, with a put that fails while `fail_puts` is set
    /// (what S3 down or a bucket policy does to the record write).
    #[derive(Default)]
    struct Store {
        inner: InMemoryReleaseStore,
        calls: Mutex<Vec<&'static str>>,
        fail_puts: AtomicBool,
    }

    impl Store {
        fn calls(&self) -> Vec<&'static str> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }
    }

    #[async_trait]
    impl ReleaseStore for Store {
        async fn list(&self) -> Result<Vec<u64>, ReleaseError> {
            self.calls.lock().unwrap().push("list");
            self.inner.list().await
        }
        async fn get(&self, number: u64) -> Result<Option<Release>, ReleaseError> {
            self.calls.lock().unwrap().push("get");
            self.inner.get(number).await
        }
        async fn put(&self, release: &Release) -> Result<(), ReleaseError> {
            self.calls.lock().unwrap().push("put");
            if self.fail_puts.load(Ordering::SeqCst) {
                return Err(CloudError::fatal("s3", "PutObject", "Access Denied").into());
            }
            self.inner.put(release).await
        }
    }

    /// Targets that remember the tags written and answer `alias_split` from `split`.
    #[derive(Default)]
    struct Targets {
        tags: Mutex<Vec<(String, u64)>>,
        split: Mutex<Vec<(String, f64)>>,
        routing_reads: AtomicUsize,
    }

    #[async_trait]
    impl ReleaseTargets for Targets {
        async fn version_exists(&self, _: &str, _: &str) -> Result<bool, CloudError> {
            Ok(true)
        }
        async fn deployment_exists(&self, _: &str, _: &str) -> Result<bool, CloudError> {
            Ok(true)
        }
        async fn alias_split(&self, _: &str, _: &str) -> Result<Vec<(String, f64)>, CloudError> {
            self.routing_reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.split.lock().unwrap().clone())
        }
        async fn tag_release(&self, arn: &str, number: u64) -> Result<(), CloudError> {
            self.tags.lock().unwrap().push((arn.to_owned(), number));
            Ok(())
        }
        async fn flush_stage_cache(&self, _: &str, _: &str) -> Result<bool, CloudError> {
            Ok(true)
        }
    }

    struct Fixture {
        config: Config,
        graph: CheckedGraph,
        env: Environment,
    }

    fn fixture() -> Fixture {
        let config = Config::defaults().unwrap();
        let env = Environment {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        };
        let graph = crate::stack::build(&config, &env, &crate::stack::test_inputs())
            .check()
            .unwrap();
        Fixture { config, graph, env }
    }

    impl Fixture {
        /// What an apply left live: each function at `version`, the stage on `deployment`.
        fn applied(&self, version: u32, deployment: &str) -> Applied {
            let mut outputs = BTreeMap::new();
            for handler in Handler::ALL {
                outputs.insert(
                    handler.function_id(),
                    Outputs::from([
                        (OutputKey::Arn, format!("arn:fn:{}", handler.logical())),
                        (OutputKey::Version, version.to_string()),
                    ]),
                );
            }
            outputs.insert(
                rest_api_id(),
                Outputs::from([(OutputKey::Id, "api1".into())]),
            );
            outputs.insert(
                ResourceId::new(ResourceKind::ApiDeployment, API),
                Outputs::from([(OutputKey::Id, deployment.to_owned())]),
            );
            Applied {
                apply_id: format!("apply-{version}-{deployment}"),
                outputs,
            }
        }

        /// A plan that changes `changed` (nothing: a no-op).
        fn plan(&self, changed: Option<ResourceId>) -> Plan {
            Plan {
                stack: self.config.stack_name(),
                environment: self.env.clone(),
                changes: changed
                    .into_iter()
                    .map(|id| PlannedChange {
                        physical_name: self.graph.get(&id).unwrap().physical_name.clone(),
                        id,
                        action: Action::Update,
                        diffs: Vec::new(),
                        warnings: Vec::new(),
                        before: None,
                    })
                    .collect(),
                kept: Vec::new(),
                refusals: Vec::new(),
            }
        }

        fn release(&self, applied: &Applied) -> Release {
            release_of(&self.config, &self.graph, applied, 1, "now".into()).unwrap()
        }

        async fn record(
            &self,
            store: &Store,
            targets: &Targets,
            plan: &Plan,
            applied: &Applied,
        ) -> Result<Recorded, ReleaseError> {
            record(store, targets, &self.config, &self.graph, plan, applied).await
        }
    }

    #[test]
    fn catch_up_compares_the_alias_versions_and_the_deployment_with_the_newest_record() {
        let f = fixture();
        let live = release_of(&f.config, &f.graph, &f.applied(3, "dep3"), 9, "now".into()).unwrap();
        assert_eq!(catch_up(None, &live), Err(CatchUp::NoRecord));
        // The same versions and deployment under another number, time and apply: up to date.
        let mut same =
            release_of(&f.config, &f.graph, &f.applied(3, "dep3"), 4, "then".into()).unwrap();
        same.apply_id = "another".into();
        assert_eq!(catch_up(Some(&same), &live), Ok(4));
        let older =
            release_of(&f.config, &f.graph, &f.applied(2, "dep3"), 4, "then".into()).unwrap();
        assert_eq!(
            catch_up(Some(&older), &live),
            Err(CatchUp::Differs { newest: 4 })
        );
        let other_deployment =
            release_of(&f.config, &f.graph, &f.applied(3, "dep2"), 5, "then".into()).unwrap();
        assert_eq!(
            catch_up(Some(&other_deployment), &live),
            Err(CatchUp::Differs { newest: 5 })
        );
        // One alias elsewhere is enough.
        let mut one_alias = same.clone();
        one_alias.functions[2].alias_version = "7".into();
        assert_eq!(
            catch_up(Some(&one_alias), &live),
            Err(CatchUp::Differs { newest: 4 })
        );
    }

    #[tokio::test]
    async fn a_failed_record_write_is_caught_up_by_the_next_no_op_apply() {
        let f = fixture();
        let (store, targets) = (Store::default(), Targets::default());
        let validator = Some(Handler::ALL[0].function_id());

        // Release 1, then an apply whose record write fails.
        let first = f
            .record(
                &store,
                &targets,
                &f.plan(validator.clone()),
                &f.applied(1, "dep1"),
            )
            .await
            .unwrap();
        assert!(
            matches!(&first, Recorded::Released(r) if r.number == 1),
            "{first:?}"
        );
        assert_eq!(store.calls(), ["list", "put"]);
        store.fail_puts.store(true, Ordering::SeqCst);
        let second = f.applied(2, "dep1");
        let err = f
            .record(&store, &targets, &f.plan(validator), &second)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Access Denied"), "{err}");
        store.fail_puts.store(false, Ordering::SeqCst);
        store.calls();

        // The next no-op apply sees that release 1 is not what is live and records it.
        let caught = f
            .record(&store, &targets, &f.plan(None), &second)
            .await
            .unwrap();
        let Recorded::CaughtUp { release, why } = &caught else {
            panic!("{caught:?}");
        };
        assert_eq!((release.number, *why), (2, CatchUp::Differs { newest: 1 }));
        assert_eq!(release.live_state(), f.release(&second).live_state());
        assert_eq!(store.calls(), ["list", "get", "put"]);
        assert_eq!(targets.routing_reads.load(Ordering::SeqCst), 4);
        assert_eq!(
            targets
                .tags
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, n)| *n == 2)
                .count(),
            4
        );
        assert_eq!(store.inner.get(2).await.unwrap().as_ref(), Some(release));

        // A plain no-op with an up-to-date record: the list and the newest record only.
        let routing_reads = targets.routing_reads.load(Ordering::SeqCst);
        let up_to_date = f
            .record(&store, &targets, &f.plan(None), &second)
            .await
            .unwrap();
        assert_eq!(up_to_date, Recorded::UpToDate { number: 2 });
        assert_eq!(store.calls(), ["list", "get"]);
        assert_eq!(targets.routing_reads.load(Ordering::SeqCst), routing_reads);
    }

    #[tokio::test]
    async fn a_stack_with_no_record_is_recorded_unless_an_alias_is_split() {
        let f = fixture();
        let (store, targets) = (Store::default(), Targets::default());
        let applied = f.applied(5, "dep5");
        // A canary cut short: one alias still sends 10 % to another version.
        *targets.split.lock().unwrap() = vec![("6".into(), 0.1)];
        let split = f
            .record(&store, &targets, &f.plan(None), &applied)
            .await
            .unwrap();
        let Recorded::Split(split) = split else {
            panic!("{split:?}");
        };
        assert_eq!(
            (
                split.primary.as_str(),
                split.version.as_str(),
                split.alias.as_str()
            ),
            ("5", "6", "live")
        );
        assert_eq!(store.calls(), ["list"]);
        assert!(targets.tags.lock().unwrap().is_empty());

        targets.split.lock().unwrap().clear();
        let caught = f
            .record(&store, &targets, &f.plan(None), &applied)
            .await
            .unwrap();
        assert!(
            matches!(&caught, Recorded::CaughtUp { release, why: CatchUp::NoRecord } if release.number == 1),
            "{caught:?}"
        );
        assert_eq!(store.calls(), ["list", "put"]);
    }

    #[test]
    fn a_plan_with_no_changes_leaves_what_it_observed() {
        let f = fixture();
        let mut plan = f.plan(Some(Handler::ALL[0].function_id()));
        let observed = crate::cloud::Observed {
            physical_id: "tx-dev-transaction-validator".into(),
            outputs: Outputs::from([(OutputKey::Version, "4".into())]),
            fields: BTreeMap::new(),
        };
        plan.changes[0].action = Action::NoOp;
        plan.changes[0].before = Some(observed.clone());
        let mut created = plan.changes[0].clone();
        created.id = Handler::ALL[1].function_id();
        created.action = Action::Create;
        created.before = None;
        plan.changes.push(created);
        let applied = Applied::unchanged(&plan);
        assert_eq!(
            applied.outputs,
            BTreeMap::from([(Handler::ALL[0].function_id(), observed.outputs)])
        );
        assert!(!applied.apply_id.is_empty());
    }

    #[test]
    fn the_bundle_sha_is_shown_as_hex() {
        // sha256 of the empty string.
        assert_eq!(
            hex_of_base64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
