//! The automatic undo of a failed apply against the fake cloud: a failure injected at
//! every step of a realistic apply leaves the stack exactly as before; data created by the
//! failed apply is kept and reported; an undo that itself fails ends with the exact
//! leftovers (exit 3) and `txdeploy apply` converges forward from there; `OnFailure::Stop`
//! keeps the partial state; a function's new code is undone through its alias, never by an
//! upload.

use std::path::Path;

use super::*;
use crate::app::commands::apply_error;
use crate::app::exit_code;
use crate::cloud::Discovered;
use crate::config::OnFailure;
use crate::engine::{UndoOutcome, UndoReport};
use crate::fake_cloud::ANY_OPERATION;
use crate::fake_cloud::sample_specs::spec;
use crate::spec::{OutputKey, SpecBody, Value};

/// The stack as deployed before the apply under test: older settings (key rotation, queue
/// timeouts and retention, bucket lifecycle) and no aliases or topics yet.
fn deployed_graph() -> CheckedGraph {
    let mut config = Config::defaults().unwrap();
    config.kms.rotation_period_days = 180;
    config.queues.visibility_timeout_seconds = 200;
    config.queues.message_retention_seconds = 400_000;
    config.queues.max_receive_count = 5;
    config.logs.glacier_after_days = 10;
    let mut graph = crate::stack::foundation(&config, &env());
    graph.retain(|s| !matches!(s.kind(), ResourceKind::KmsAlias | ResourceKind::Topic));
    graph.check().unwrap()
}

/// The resources of the fake account, as the comparison sees them: every id, physical id,
/// output and field.
fn state(cloud: &FakeCloud) -> Vec<FakeResource> {
    let mut resources = cloud.snapshot();
    resources.sort_by(|a, b| (&a.id, &a.physical_id).cmp(&(&b.id, &b.physical_id)));
    resources
}

async fn apply_on_failure(
    cloud: Arc<dyn Cloud>,
    graph: &CheckedGraph,
    on_failure: OnFailure,
) -> Applied {
    let plan = plan_for(cloud.as_ref(), graph).await;
    let options = ExecOptions {
        on_failure,
        ..ExecOptions::default()
    };
    apply_with(cloud, graph, &plan, options, CancellationToken::new()).await
}

fn undo_of(applied: &Applied) -> &UndoReport {
    applied
        .report
        .undo
        .as_ref()
        .expect("the failed apply was undone")
}

/// The journal ends with the undo, in order, then `ApplyFinished`.
fn assert_undo_journaled(applied: &Applied, outcome: UndoOutcome) {
    let labels: Vec<&str> = applied
        .journal
        .iter()
        .map(|e| match e {
            JournalEntry::UndoStarted { .. } => "undo_started",
            JournalEntry::UndoFinished { .. } => "undo_finished",
            JournalEntry::ApplyFinished { .. } => "apply_finished",
            _ => "",
        })
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(labels, ["undo_started", "undo_finished", "apply_finished"]);
    assert_eq!(
        crate::state::journal::undo_outcome(&applied.journal),
        Some(outcome)
    );
    // Every undo step that started has its result, like apply steps.
    let started = applied
        .journal
        .iter()
        .filter(|e| matches!(e, JournalEntry::UndoStepStarted { .. }))
        .count();
    let ended = applied
        .journal
        .iter()
        .filter(|e| {
            matches!(
                e,
                JournalEntry::UndoStepSucceeded { .. } | JournalEntry::UndoStepFailed { .. }
            )
        })
        .count();
    assert_eq!(started, ended);
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_every_step_is_undone_to_exactly_the_state_before() {
    let before_graph = deployed_graph();
    let graph = stack_graph();
    // The plan under test, to learn which nodes it changes.
    let probe = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    let deployed = apply_on_failure(probe.clone(), &before_graph, OnFailure::Rollback).await;
    assert_eq!(deployed.report.outcome, ApplyOutcome::Succeeded);
    let plan = plan_for(probe.as_ref(), &graph).await;
    let summary = plan.summary();
    assert!(
        summary["create"] >= 5 && summary["update"] >= 5,
        "a realistic apply creates and updates: {summary:?}"
    );
    let changed: Vec<ResourceId> = plan
        .changes
        .iter()
        .filter(|c| c.action.mutates())
        .map(|c| c.id.clone())
        .collect();

    for failing in &changed {
        let cloud = Arc::new(FakeCloud::with(
            LatencyModel::aws_like(),
            FaultPlan::seeded(7),
        ));
        let deployed = apply_on_failure(cloud.clone(), &before_graph, OnFailure::Rollback).await;
        assert_eq!(deployed.report.outcome, ApplyOutcome::Succeeded);
        let before = state(&cloud);
        cloud.set_faults(FaultPlan::seeded(7).fail(failing.clone(), ANY_OPERATION));

        let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
        let report = &applied.report;
        assert_eq!(report.outcome, ApplyOutcome::Failed, "{failing}");
        assert_eq!(report.first_error.as_ref().unwrap().0, *failing);
        let undo = undo_of(&applied);
        assert_eq!(
            undo.outcome,
            UndoOutcome::RolledBack,
            "{failing}: {:?}",
            undo.first_error
        );
        assert!(
            undo.left.is_empty() && undo.kept.is_empty(),
            "{failing}: {undo:?}"
        );
        assert_eq!(state(&cloud), before, "undo after `{failing}` failed");
        assert_eq!(
            report.outputs, deployed.report.outputs,
            "the reported outputs are the ones from before the apply"
        );
        assert_undo_journaled(&applied, UndoOutcome::RolledBack);
        // Every step that ran was undone: created ones deleted, updated ones restored.
        for id in &report.succeeded {
            let action = plan.get(id).unwrap().action.label();
            let result = applied.events.iter().find_map(|e| match e {
                ExecEvent::UndoStepSucceeded { id: i, result, .. } if i == id => Some(*result),
                _ => None,
            });
            let want = if action == "create" {
                "deleted"
            } else {
                "restored"
            };
            assert_eq!(result, Some(want), "{id} ({action}) after `{failing}`");
        }
        assert!(matches!(
            applied.events.last(),
            Some(ExecEvent::ApplyFinished {
                outcome: ApplyOutcome::Failed,
                ..
            })
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn the_undo_deletes_dependents_before_what_they_depend_on() {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let t = rid(ResourceKind::Topic, "t");
    let u = rid(ResourceKind::Topic, "u");
    let bad = rid(ResourceKind::Topic, "bad");
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    apply_on_failure(
        cloud.clone(),
        &graph_of(vec![key("k0", &[])]),
        OnFailure::Stop,
    )
    .await;
    let before = state(&cloud);
    let graph = graph_of(vec![
        key("k0", &[]),
        topic("t", &k0, &[]),
        topic("u", &k0, &[&t]),
        topic("bad", &k0, &[&u]),
    ]);
    cloud.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    assert_eq!(undo_of(&applied).outcome, UndoOutcome::RolledBack);
    let finished = |id: &ResourceId| {
        applied.position(|e| matches!(e, ExecEvent::UndoStepSucceeded { id: i, .. } if i == id))
    };
    let started = |id: &ResourceId| {
        applied.position(|e| matches!(e, ExecEvent::UndoStepStarted { id: i, .. } if i == id))
    };
    assert!(finished(&bad) < started(&u), "bad before u");
    assert!(finished(&u) < started(&t), "u before t");
    assert_eq!(state(&cloud), before);
}

#[tokio::test(start_paused = true)]
async fn data_created_by_the_failed_apply_is_kept_and_reported() {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let q = rid(ResourceKind::Queue, "q");
    let t = rid(ResourceKind::Topic, "t");
    let bad = rid(ResourceKind::Topic, "bad");
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    apply_on_failure(
        cloud.clone(),
        &graph_of(vec![key("k0", &[])]),
        OnFailure::Stop,
    )
    .await;
    let before = state(&cloud);
    let graph = graph_of(vec![
        key("k0", &[]),
        queue("q", &k0, &[]),
        topic("t", &k0, &[&q]),
        topic("bad", &k0, &[&t]),
    ]);
    cloud.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    let undo = undo_of(&applied);
    assert_eq!(undo.outcome, UndoOutcome::RolledBack);
    assert_eq!(undo.kept.len(), 1);
    assert_eq!(undo.kept[0].id, q);
    assert!(undo.kept[0].reason.contains("holds data"), "{undo:?}");
    assert!(undo.undone.contains(&t) && !undo.undone.contains(&q));
    // Exactly one difference from before: the kept queue.
    let after = state(&cloud);
    let without_queue: Vec<FakeResource> = after.iter().filter(|r| r.id != q).cloned().collect();
    assert_eq!(without_queue, before);
    assert!(after.iter().any(|r| r.id == q));
    assert!(applied.report.outputs.contains_key(&q) && !applied.report.outputs.contains_key(&t));

    // The user is told: exit 1, the queue named as kept.
    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, dir.path()).unwrap();
    assert_eq!(error.exit_code(), exit_code::FAILED);
    let message = error.to_string();
    assert!(
        message.contains("the apply was rolled back: 2 resource(s) put back"),
        "{message}"
    );
    assert!(
        message.contains("kept `queue/q`: created by the failed apply and holds data"),
        "{message}"
    );
}

/// A stack where `t` is created, then `bad` (which waits for `t`) fails; `t` cannot be
/// deleted.
fn undo_failure_setup() -> (Arc<FakeCloud>, CheckedGraph) {
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let t = rid(ResourceKind::Topic, "t");
    let cloud = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    let graph = graph_of(vec![
        key("k0", &[]),
        topic("t", &k0, &[]),
        topic("bad", &k0, &[&t]),
    ]);
    (cloud, graph)
}

async fn deploy_key(cloud: &Arc<FakeCloud>) -> Vec<FakeResource> {
    apply_on_failure(
        cloud.clone(),
        &graph_of(vec![key("k0", &[])]),
        OnFailure::Stop,
    )
    .await;
    state(cloud)
}

#[tokio::test(start_paused = true)]
async fn an_undo_that_fails_lists_exactly_what_is_left_and_apply_converges_forward() {
    let t = rid(ResourceKind::Topic, "t");
    let bad = rid(ResourceKind::Topic, "bad");
    let (cloud, graph) = undo_failure_setup();
    let before = deploy_key(&cloud).await;
    cloud.set_faults(
        FaultPlan::default()
            .fail(bad.clone(), ANY_OPERATION)
            .fail(t.clone(), "sns:DeleteTopic"),
    );
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    let undo = undo_of(&applied);
    assert_eq!(undo.outcome, UndoOutcome::Failed);
    assert_eq!(undo.first_error.as_ref().unwrap().0, Some(t.clone()));
    assert_eq!(undo.undone, vec![bad.clone()], "`bad` had nothing to undo");
    assert_eq!(undo.left.len(), 1, "{undo:?}");
    assert_eq!(undo.left[0].id, t);
    assert!(
        undo.left[0]
            .state
            .starts_with("created by the failed apply; may still exist"),
        "{:?}",
        undo.left[0]
    );
    assert!(
        state(&cloud).iter().any(|r| r.id == t),
        "the topic is still there"
    );
    assert_undo_journaled(&applied, UndoOutcome::Failed);

    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, dir.path()).unwrap();
    assert_eq!(error.exit_code(), exit_code::NEEDS_HUMAN);
    let message = error.to_string();
    for needle in [
        "rollback failed, the stack needs a human: `topic/bad`: ",
        "then the undo failed: `topic/t`: ",
        "1 resource(s) are still as the failed apply left them:",
        "left `topic/t`: created by the failed apply; may still exist (not deleted): the undo failed",
        "run `txdeploy apply` to converge forward",
    ] {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }

    // The command the message gives really continues: once the cause is gone, apply
    // converges forward from what exists.
    cloud.set_faults(FaultPlan::default());
    let rerun = apply_on_failure(cloud.clone(), &graph, OnFailure::Rollback).await;
    assert_eq!(rerun.report.outcome, ApplyOutcome::Succeeded);
    assert!(rerun.report.undo.is_none());
    assert_converged(cloud.as_ref(), &graph).await;
    assert_eq!(state(&cloud).len(), before.len() + 2);
}

#[tokio::test(start_paused = true)]
async fn on_failure_stop_keeps_the_partial_state_and_a_resumable_journal() {
    let t = rid(ResourceKind::Topic, "t");
    let bad = rid(ResourceKind::Topic, "bad");
    let (cloud, graph) = undo_failure_setup();
    deploy_key(&cloud).await;
    cloud.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(cloud.clone(), &graph, OnFailure::Stop).await;
    assert_eq!(applied.report.outcome, ApplyOutcome::Failed);
    assert!(applied.report.undo.is_none());
    assert!(
        state(&cloud).iter().any(|r| r.id == t),
        "the partial state stays"
    );
    assert!(
        applied.journal.iter().all(|e| !matches!(
            e,
            JournalEntry::UndoStarted { .. } | JournalEntry::UndoStepStarted { .. }
        )),
        "nothing was undone"
    );
    assert!(
        applied
            .events
            .iter()
            .all(|e| !matches!(e, ExecEvent::UndoStarted { .. }))
    );
    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, Path::new(dir.path())).unwrap();
    assert_eq!(error.exit_code(), exit_code::FAILED);
    assert!(error.to_string().contains("nothing was undone"), "{error}");

    cloud.set_faults(FaultPlan::default());
    let rerun = apply_on_failure(cloud.clone(), &graph, OnFailure::Stop).await;
    assert_eq!(rerun.report.outcome, ApplyOutcome::Succeeded);
    assert_eq!(
        rerun.report.succeeded,
        vec![bad],
        "the rerun continues from what exists"
    );
}

/// The Lambda part of an account, which the fake cloud does not simulate yet: functions
/// with published versions, their aliases, and the role and log group a function names.
/// Every other kind goes to the fake cloud (its faults included). Each Lambda call is
/// recorded by its AWS name.
struct LambdaAccount {
    fake: Arc<FakeCloud>,
    objects: Mutex<BTreeMap<ResourceId, Observed>>,
    /// The fields of each published version (version n at n - 1), by function name.
    versions: Mutex<BTreeMap<String, Vec<BTreeMap<String, Json>>>>,
    calls: Mutex<Vec<&'static str>>,
}

impl LambdaAccount {
    fn new(fake: Arc<FakeCloud>) -> Self {
        Self {
            fake,
            objects: Mutex::default(),
            versions: Mutex::default(),
            calls: Mutex::default(),
        }
    }

    fn simulates(kind: ResourceKind) -> bool {
        matches!(
            kind,
            ResourceKind::Function
                | ResourceKind::LambdaAlias
                | ResourceKind::Role
                | ResourceKind::LogGroup
        )
    }

    fn call(&self, name: &'static str) {
        self.calls.lock().unwrap().push(name);
    }

    fn count(&self, name: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| **c == name)
            .count()
    }

    fn object(&self, id: &ResourceId) -> Observed {
        self.objects.lock().unwrap()[id].clone()
    }

    fn version(&self, function: &str, n: usize) -> BTreeMap<String, Json> {
        self.versions.lock().unwrap()[function][n - 1].clone()
    }

    /// PublishVersion: the function's settings now become version n, its `Version` output.
    fn publish(&self, id: &ResourceId) {
        self.call("lambda:PublishVersion");
        let mut objects = self.objects.lock().unwrap();
        let function = objects.get_mut(id).unwrap();
        let mut versions = self.versions.lock().unwrap();
        let published = versions.entry(function.physical_id.clone()).or_default();
        published.push(function.fields.clone());
        function
            .outputs
            .insert(OutputKey::Version, published.len().to_string());
    }
}

/// Every field of `spec` as the call sends it: the recorded value in an undo, else the
/// resolved desired one; nulls are not stored.
fn sent(spec: &ResourceSpec, ctx: &StepContext) -> BTreeMap<String, Json> {
    spec.fields()
        .into_iter()
        .map(|(name, f)| {
            let value = ctx
                .restored(name)
                .unwrap_or_else(|| f.value.resolve(ctx).unwrap());
            (name.to_owned(), value)
        })
        .filter(|(_, v)| !v.is_null())
        .collect()
}

#[async_trait]
impl Cloud for LambdaAccount {
    async fn environment(&self) -> Result<Environment, CloudError> {
        self.fake.environment().await
    }

    async fn observe(
        &self,
        spec: &ResourceSpec,
        env: &Environment,
    ) -> Result<Option<Observed>, CloudError> {
        if !Self::simulates(spec.kind()) {
            return self.fake.observe(spec, env).await;
        }
        Ok(self.objects.lock().unwrap().get(&spec.id).cloned())
    }

    async fn discover(
        &self,
        stack: &str,
        env: &Environment,
    ) -> Result<Vec<Discovered>, CloudError> {
        self.fake.discover(stack, env).await
    }

    async fn create(&self, spec: &ResourceSpec, ctx: &StepContext) -> Result<Outputs, CloudError> {
        let (call, arn) = match spec.kind() {
            ResourceKind::Function => ("lambda:CreateFunction", "function"),
            ResourceKind::LambdaAlias => ("lambda:CreateAlias", "function"),
            ResourceKind::Role => ("iam:CreateRole", "role"),
            ResourceKind::LogGroup => ("logs:CreateLogGroup", "log-group"),
            _ => return self.fake.create(spec, ctx).await,
        };
        self.call(call);
        let name = spec.physical_name.clone();
        let short = name.rsplit(':').next().unwrap_or(&name).to_owned();
        let object = Observed {
            physical_id: name.clone(),
            outputs: Outputs::from([
                (OutputKey::Arn, format!("arn:aws:test:{arn}:{name}")),
                (OutputKey::Name, short),
            ]),
            fields: sent(spec, ctx),
        };
        self.objects.lock().unwrap().insert(spec.id.clone(), object);
        if spec.kind() == ResourceKind::Function {
            self.publish(&spec.id);
        }
        Ok(self.object(&spec.id).outputs)
    }

    async fn update(
        &self,
        spec: &ResourceSpec,
        current: &Observed,
        changed: &[String],
        ctx: &StepContext,
    ) -> Result<Outputs, CloudError> {
        if !Self::simulates(spec.kind()) {
            return self.fake.update(spec, current, changed, ctx).await;
        }
        let is = |names: &[&str]| changed.iter().any(|c| names.contains(&c.as_str()));
        let code = is(&[field::CODE_SHA256, field::ARCHITECTURES]);
        let config = is(&[field::MEMORY_SIZE, field::TIMEOUT, field::HANDLER]);
        match spec.kind() {
            ResourceKind::Function if code => self.call("lambda:UpdateFunctionCode"),
            ResourceKind::LambdaAlias => self.call("lambda:UpdateAlias"),
            ResourceKind::Function => {}
            other => panic!("no update of `{other}` in this account"),
        }
        if spec.kind() == ResourceKind::Function && config {
            self.call("lambda:UpdateFunctionConfiguration");
        }
        let values = sent(spec, ctx);
        {
            let mut objects = self.objects.lock().unwrap();
            let object = objects.get_mut(&spec.id).unwrap();
            for name in changed {
                match values.get(name) {
                    Some(v) => object.fields.insert(name.clone(), v.clone()),
                    None => object.fields.remove(name),
                };
            }
        }
        if code || config {
            self.publish(&spec.id);
        }
        Ok(self.object(&spec.id).outputs)
    }

    async fn delete(
        &self,
        id: &ResourceId,
        current: &Observed,
        ctx: &StepContext,
    ) -> Result<(), CloudError> {
        if !Self::simulates(id.kind()) {
            return self.fake.delete(id, current, ctx).await;
        }
        self.call("lambda:Delete");
        self.objects.lock().unwrap().remove(id);
        Ok(())
    }
}

/// A function (with its role and log group) at `code` and `memory_mb`, served by its
/// `live` alias when `with_alias`; with `then_bad`, a topic that waits for the alias (or
/// the function) and is created last.
fn function_graph(code: &str, memory_mb: u32, with_alias: bool, then_bad: bool) -> CheckedGraph {
    use crate::spec::{FunctionSpec, LambdaAliasSpec, LogGroupSpec, RoleSpec};
    let k0 = rid(ResourceKind::KmsKey, "k0");
    let role = rid(ResourceKind::Role, "validator");
    let logs = rid(ResourceKind::LogGroup, "validator");
    let function = rid(ResourceKind::Function, "validator");
    let alias = rid(ResourceKind::LambdaAlias, "validator");
    let mut specs = vec![
        key("k0", &[]),
        spec(
            ResourceKind::Role,
            "validator",
            SpecBody::Role(RoleSpec {
                description: "validator".into(),
                assume_role_policy: Value::Null,
                policy_name: "validator".into(),
                policy: Value::Null,
            }),
            &[],
        ),
        spec(
            ResourceKind::LogGroup,
            "validator",
            SpecBody::LogGroup(LogGroupSpec {
                retention_days: 7,
                kms_key: OutputRef::arn(&k0),
            }),
            &[],
        ),
        spec(
            ResourceKind::Function,
            "validator",
            SpecBody::Function(FunctionSpec {
                runtime: "provided.al2023".into(),
                architecture: "x86_64".into(),
                handler: "bootstrap".into(),
                memory_mb,
                timeout_seconds: 10,
                environment: BTreeMap::new(),
                tracing_mode: "Active".into(),
                role: OutputRef::arn(&role),
                log_group: OutputRef::name(&logs),
                reserved_concurrency: None,
                code_sha256: code.into(),
            }),
            &[],
        ),
    ];
    if with_alias {
        let mut live = spec(
            ResourceKind::LambdaAlias,
            "validator",
            SpecBody::LambdaAlias(LambdaAliasSpec {
                function: OutputRef::name(&function),
                alias_name: "live".into(),
                version: OutputRef::version(&function),
                provisioned_concurrency: None,
            }),
            &[],
        );
        live.physical_name = format!("{STACK}-validator:live");
        specs.push(live);
    }
    if then_bad {
        let last = if with_alias { &alias } else { &function };
        specs.push(topic("bad", &k0, &[last]));
    }
    graph_of(specs)
}

/// A deployed function at `old` code and 512 MB, then an apply of `new` code and 1024 MB
/// whose last step fails.
async fn failed_code_change(with_alias: bool) -> (Arc<LambdaAccount>, Applied) {
    let fake = Arc::new(FakeCloud::with(
        LatencyModel::aws_like(),
        FaultPlan::default(),
    ));
    let account = Arc::new(LambdaAccount::new(fake.clone()));
    let deployed = apply_on_failure(
        account.clone(),
        &function_graph("old", 512, with_alias, false),
        OnFailure::Rollback,
    )
    .await;
    assert_eq!(deployed.report.outcome, ApplyOutcome::Succeeded);
    account.calls.lock().unwrap().clear();
    let bad = rid(ResourceKind::Topic, "bad");
    fake.set_faults(FaultPlan::default().fail(bad.clone(), ANY_OPERATION));
    let applied = apply_on_failure(
        account.clone(),
        &function_graph("new", 1024, with_alias, true),
        OnFailure::Rollback,
    )
    .await;
    assert_eq!(applied.report.outcome, ApplyOutcome::Failed);
    assert_eq!(applied.report.first_error.as_ref().unwrap().0, bad);
    (account, applied)
}

#[tokio::test(start_paused = true)]
async fn new_code_is_undone_through_the_alias_without_uploading_code() {
    let function = rid(ResourceKind::Function, "validator");
    let alias = rid(ResourceKind::LambdaAlias, "validator");
    let (account, applied) = failed_code_change(true).await;
    let undo = undo_of(&applied);
    assert_eq!(
        undo.outcome,
        UndoOutcome::RolledBack,
        "{:?}",
        undo.first_error
    );
    assert!(undo.left.is_empty(), "{undo:?}");
    assert!(undo.undone.contains(&function) && undo.undone.contains(&alias));
    assert_undo_journaled(&applied, UndoOutcome::RolledBack);

    // The alias serves version 1 again, which runs the old code; `$LATEST` keeps the new
    // code, with the memory written back.
    let name = format!("{STACK}-validator");
    assert_eq!(account.object(&alias).fields[field::FUNCTION_VERSION], "1");
    assert_eq!(account.version(&name, 1)[field::CODE_SHA256], "old");
    let latest = account.object(&function);
    assert_eq!(latest.fields[field::CODE_SHA256], "new");
    assert_eq!(latest.fields[field::MEMORY_SIZE], 512);
    // Writing the memory back published version 3 (new code, old memory); nothing in the
    // undo moved the alias to it.
    assert_eq!(account.version(&name, 3)[field::CODE_SHA256], "new");
    assert_eq!(account.version(&name, 3)[field::MEMORY_SIZE], 512);
    // One upload, the apply's: the undo uploads no code. The alias moved there and back.
    assert_eq!(account.count("lambda:UpdateFunctionCode"), 1);
    assert_eq!(account.count("lambda:UpdateAlias"), 2);
    assert_eq!(account.count("lambda:UpdateFunctionConfiguration"), 2);

    let result = |id: &ResourceId| {
        applied.events.iter().find_map(|e| match e {
            ExecEvent::UndoStepSucceeded { id: i, result, .. } if i == id => Some(*result),
            _ => None,
        })
    };
    assert_eq!(result(&alias), Some("restored"));
    assert_eq!(result(&function), Some("restored through its alias"));
    let kept = applied.position(
        |e| matches!(e, ExecEvent::UndoKept { id, reason } if *id == function && reason.contains("alias `tx-dev-validator:live` is back on version 1")),
    );
    assert!(
        kept < applied
            .position(|e| matches!(e, ExecEvent::UndoStepSucceeded { id, .. } if *id == function))
    );

    // The user is told: rolled back (exit 1), and what stays on `$LATEST`.
    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, dir.path()).unwrap();
    assert_eq!(error.exit_code(), exit_code::FAILED);
    let message = error.to_string();
    for needle in [
        "the apply was rolled back: 3 resource(s) put back",
        "kept `function/validator`: `code_sha256` on $LATEST stays as the failed apply \
         uploaded it (an undo never uploads code); alias `tx-dev-validator:live` is back on \
         version 1, which runs the code from before the apply",
    ] {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }
}

#[tokio::test(start_paused = true)]
async fn new_code_without_an_alias_to_serve_the_old_version_fails_the_undo() {
    let function = rid(ResourceKind::Function, "validator");
    let (account, applied) = failed_code_change(false).await;
    let undo = undo_of(&applied);
    assert_eq!(undo.outcome, UndoOutcome::Failed);
    let (id, error) = undo.first_error.as_ref().unwrap();
    assert_eq!(id.as_ref(), Some(&function));
    assert!(
        error
            .to_string()
            .contains("no alias serves its published versions"),
        "{error}"
    );
    assert_eq!(undo.left.len(), 1, "{undo:?}");
    assert_eq!(
        account.count("lambda:UpdateFunctionCode"),
        1,
        "the apply's only"
    );
    let dir = tempfile::tempdir().unwrap();
    let error = apply_error("apply", STACK, &applied.report, dir.path()).unwrap();
    assert_eq!(error.exit_code(), exit_code::NEEDS_HUMAN);
}
