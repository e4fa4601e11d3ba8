//! `FakeCloud`: an in-memory `Cloud` for every resource kind, with scripted faults, a
//! latency model, a crash switch and call counters, so the executor's retries, ordering and
//! crash recovery can be tested deterministically and benchmarked.
//!
//! It behaves like the AWS APIs where that matters to the engine: a KMS key has a random
//! id and is found again only by its `txdeploy:logical` tag (so a blind retry of a create
//! makes a duplicate, exactly as in AWS); a bucket is created by one call per sub-setting
//! (a failure in between leaves a half-configured bucket); names of aliases, buckets,
//! queues and topics are unique; a transient error may arrive after the change was made; a
//! Lambda alias stores its version and `routing` (a canary apply splits it, like AWS).

pub mod fault_plan;
pub mod hooked_cloud;
pub mod latency_model;
pub mod sample_specs;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use fault_plan::{ANY_OPERATION, Clear, FaultPlan, Odds};
pub use hooked_cloud::{CloudHooks, HookedCloud, Mutation};
pub use latency_model::{Cost, LatencyModel};

use crate::adapters::lambda_alias_adapter::AliasRouting;
use crate::cloud::{Cloud, CloudError, Discovered, Observed, StepContext};
use crate::spec::{
    Environment, OutputKey, Outputs, ResourceId, ResourceKind, ResourceSpec, Value, field,
};
use crate::stack::{LOGICAL_TAG, STACK_TAG};

/// One fake AWS operation: its name (as in the AWS API), cost and whether it changes
/// anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub cost: Cost,
    pub mutates: bool,
}

const fn mutation(name: &'static str, cost: Cost) -> Operation {
    Operation {
        name,
        cost,
        mutates: true,
    }
}

const fn read(name: &'static str) -> Operation {
    Operation {
        name,
        cost: Cost::Read,
        mutates: false,
    }
}

/// The operations the fake serves, named as in AWS so fault plans read naturally.
pub mod ops {
    use super::{Cost, Operation, mutation, read};

    pub const GET_CALLER_IDENTITY: Operation = read("sts:GetCallerIdentity");
    pub const GET_RESOURCES: Operation = read("tagging:GetResources");
    pub const DESCRIBE_KEY: Operation = read("kms:DescribeKey");
    pub const LIST_ALIASES: Operation = read("kms:ListAliases");
    pub const HEAD_BUCKET: Operation = read("s3:HeadBucket");
    pub const GET_QUEUE_ATTRIBUTES: Operation = read("sqs:GetQueueAttributes");
    pub const GET_TOPIC_ATTRIBUTES: Operation = read("sns:GetTopicAttributes");
    pub const GET_FUNCTION_ALIAS: Operation = read("lambda:GetAlias");

    pub const CREATE_KEY: Operation = mutation("kms:CreateKey", Cost::KmsCreate);
    pub const ENABLE_KEY_ROTATION: Operation = mutation("kms:EnableKeyRotation", Cost::KmsSetting);
    pub const UPDATE_KEY_DESCRIPTION: Operation =
        mutation("kms:UpdateKeyDescription", Cost::KmsSetting);
    pub const PUT_KEY_POLICY: Operation = mutation("kms:PutKeyPolicy", Cost::KmsSetting);
    pub const TAG_KEY: Operation = mutation("kms:TagResource", Cost::KmsSetting);
    pub const SCHEDULE_KEY_DELETION: Operation =
        mutation("kms:ScheduleKeyDeletion", Cost::KmsSetting);
    pub const CREATE_ALIAS: Operation = mutation("kms:CreateAlias", Cost::KmsAlias);
    pub const UPDATE_ALIAS: Operation = mutation("kms:UpdateAlias", Cost::KmsAlias);
    pub const DELETE_ALIAS: Operation = mutation("kms:DeleteAlias", Cost::KmsAlias);
    pub const CREATE_BUCKET: Operation = mutation("s3:CreateBucket", Cost::S3Setting);
    pub const PUT_BUCKET_TAGGING: Operation = mutation("s3:PutBucketTagging", Cost::S3Setting);
    pub const PUT_BUCKET_VERSIONING: Operation =
        mutation("s3:PutBucketVersioning", Cost::S3Setting);
    pub const PUT_BUCKET_ENCRYPTION: Operation =
        mutation("s3:PutBucketEncryption", Cost::S3Setting);
    pub const PUT_PUBLIC_ACCESS_BLOCK: Operation =
        mutation("s3:PutPublicAccessBlock", Cost::S3Setting);
    pub const PUT_BUCKET_POLICY: Operation = mutation("s3:PutBucketPolicy", Cost::S3Setting);
    pub const PUT_BUCKET_LIFECYCLE: Operation =
        mutation("s3:PutBucketLifecycleConfiguration", Cost::S3Setting);
    pub const DELETE_BUCKET: Operation = mutation("s3:DeleteBucket", Cost::S3Setting);
    pub const CREATE_QUEUE: Operation = mutation("sqs:CreateQueue", Cost::Sqs);
    pub const SET_QUEUE_ATTRIBUTES: Operation = mutation("sqs:SetQueueAttributes", Cost::Sqs);
    pub const TAG_QUEUE: Operation = mutation("sqs:TagQueue", Cost::Sqs);
    pub const DELETE_QUEUE: Operation = mutation("sqs:DeleteQueue", Cost::Sqs);
    pub const CREATE_TOPIC: Operation = mutation("sns:CreateTopic", Cost::Sns);
    pub const SET_TOPIC_ATTRIBUTES: Operation = mutation("sns:SetTopicAttributes", Cost::Sns);
    pub const SUBSCRIBE: Operation = mutation("sns:Subscribe", Cost::Sns);
    pub const TAG_TOPIC: Operation = mutation("sns:TagResource", Cost::Sns);
    pub const DELETE_TOPIC: Operation = mutation("sns:DeleteTopic", Cost::Sns);
    pub const CREATE_FUNCTION_ALIAS: Operation = mutation("lambda:CreateAlias", Cost::LambdaAlias);
    /// Sets the version and the routing together, like the alias adapter's one call.
    pub const UPDATE_FUNCTION_ALIAS: Operation = mutation("lambda:UpdateAlias", Cost::LambdaAlias);
    pub const PUT_PROVISIONED_CONCURRENCY: Operation =
        mutation("lambda:PutProvisionedConcurrencyConfig", Cost::LambdaAlias);
    pub const DELETE_FUNCTION_ALIAS: Operation = mutation("lambda:DeleteAlias", Cost::LambdaAlias);
}

/// One object stored by the fake cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeResource {
    /// The spec id it was created for (its `txdeploy:logical` tag, when tagged).
    pub id: ResourceId,
    /// The physical name it was created with (a KMS key has none in AWS: kept for reading).
    pub name: String,
    /// The service identifier: key id, alias name, bucket name, queue URL, topic ARN.
    pub physical_id: String,
    pub outputs: Outputs,
    /// Resolved settings, in the field names of `ResourceSpec::fields()`.
    pub fields: BTreeMap<String, Json>,
    /// Creation order, across all kinds.
    pub created: u64,
}

impl FakeResource {
    /// The value of one tag, if the resource is tagged with it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.fields.get(field::TAGS)?.get(key)?.as_str()
    }

    fn observed(&self) -> Observed {
        Observed {
            physical_id: self.physical_id.clone(),
            outputs: self.outputs.clone(),
            fields: self.fields.clone(),
        }
    }
}

/// Where an eventual-consistency fault on one resource stands.
#[derive(Clone, Copy, Debug)]
struct EcProgress {
    calls: u32,
    first: Instant,
}

#[derive(Debug)]
struct FakeState {
    resources: Vec<FakeResource>,
    faults: FaultPlan,
    rng: fastrand::Rng,
    calls: BTreeMap<&'static str, u64>,
    mutations: u64,
    crash_at: Option<u64>,
    crashed: bool,
    ec: BTreeMap<ResourceId, EcProgress>,
    next_seq: u64,
}

/// An in-memory AWS account holding one region.
#[derive(Debug)]
pub struct FakeCloud {
    env: Environment,
    latency: LatencyModel,
    state: Mutex<FakeState>,
    crash_signal: Mutex<CancellationToken>,
}

/// The environment the fake cloud reports (moto's default account).
pub fn fake_environment() -> Environment {
    Environment {
        account_id: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        partition: "aws".to_owned(),
    }
}

impl FakeCloud {
    /// An empty account with instant calls and no faults.
    pub fn new() -> Self {
        Self::with(LatencyModel::instant(), FaultPlan::default())
    }

    /// An empty account with the given latency model and faults.
    pub fn with(latency: LatencyModel, faults: FaultPlan) -> Self {
        Self {
            env: fake_environment(),
            latency,
            state: Mutex::new(FakeState {
                resources: Vec::new(),
                rng: fastrand::Rng::with_seed(faults.seed),
                faults,
                calls: BTreeMap::new(),
                mutations: 0,
                crash_at: None,
                crashed: false,
                ec: BTreeMap::new(),
                next_seq: 0,
            }),
            crash_signal: Mutex::new(CancellationToken::new()),
        }
    }

    pub fn latency(&self) -> &LatencyModel {
        &self.latency
    }

    /// Replaces the fault plan (for example, none for the re-run after a fault test); the
    /// stored resources and counters are kept.
    pub fn set_faults(&self, faults: FaultPlan) {
        let mut state = self.lock();
        state.rng = fastrand::Rng::with_seed(faults.seed);
        state.faults = faults;
        state.ec.clear();
    }

    /// Simulates the deploying process dying: once `n_mutations` more changes have been
    /// made, the call that made the last one never returns, nor does any later call, and
    /// `crashed()` resolves. The test then drops the executor future (the process is gone)
    /// and calls `recover()` before the next run.
    pub fn crash_after(&self, n_mutations: u64) {
        let mut state = self.lock();
        state.crash_at = Some(state.mutations + n_mutations);
    }

    /// Resolves once the crash point set by `crash_after` has been reached.
    pub async fn crashed(&self) {
        let token = self.crash_token();
        token.cancelled_owned().await;
    }

    pub fn is_crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Brings the account back after a crash: calls return again (what the crashed
    /// process changed stays changed).
    pub fn recover(&self) {
        let mut state = self.lock();
        state.crashed = false;
        state.crash_at = None;
        if let Ok(mut token) = self.crash_signal.lock() {
            *token = CancellationToken::new();
        }
    }

    /// Calls made so far, by operation name.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.lock().calls.clone()
    }

    /// Changes made so far (successful mutating calls).
    pub fn mutations(&self) -> u64 {
        self.lock().mutations
    }

    /// Mutating calls made so far (failed ones included).
    pub fn mutating_calls(&self) -> u64 {
        let state = self.lock();
        state
            .calls
            .iter()
            .filter(|(name, _)| is_mutating(name))
            .map(|(_, n)| n)
            .sum()
    }

    /// Forgets the call counters (not the resources).
    pub fn reset_counters(&self) {
        self.lock().calls.clear();
    }

    /// Every stored object, in creation order.
    pub fn snapshot(&self) -> Vec<FakeResource> {
        self.lock().resources.clone()
    }

    /// Stores an object directly, as if created outside txdeploy (orphans, drift).
    pub fn insert(&self, resource: FakeResource) {
        let mut state = self.lock();
        state.next_seq = state.next_seq.max(resource.created + 1);
        state.resources.push(resource);
    }

    /// What creating `spec` costs in latency: the sum of its creation calls.
    pub fn create_cost(&self, spec: &ResourceSpec) -> std::time::Duration {
        creation_calls(spec)
            .iter()
            .map(|(op, _)| self.latency.of(op.cost))
            .sum()
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A panic in a test thread must not hide every later assertion behind poisoning.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn crash_token(&self) -> CancellationToken {
        self.crash_signal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// One AWS call: latency, counting, faults, then `effect` on the stored state.
    async fn call<T>(
        &self,
        op: Operation,
        id: &ResourceId,
        effect: impl FnOnce(&mut FakeState, &Environment) -> Result<T, CloudError>,
    ) -> Result<T, CloudError> {
        let delay = self.latency.of(op.cost);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let Some((result, crash_now)) = self.apply_call(op, id, effect) else {
            // The process that would have received the answer is gone.
            return std::future::pending().await;
        };
        if crash_now {
            self.crash_token().cancel();
            return std::future::pending().await;
        }
        result
    }

    /// The synchronous part of a call: counting, faults and the effect, under the lock.
    /// `None` once crashed; otherwise the result and whether this call reached the crash
    /// point.
    fn apply_call<T>(
        &self,
        op: Operation,
        id: &ResourceId,
        effect: impl FnOnce(&mut FakeState, &Environment) -> Result<T, CloudError>,
    ) -> Option<(Result<T, CloudError>, bool)> {
        let mut state = self.lock();
        if state.crashed {
            return None;
        }
        *state.calls.entry(op.name).or_default() += 1;
        let result = match state.fault_for(op, id) {
            Some(Fault {
                error,
                after_effect: false,
            }) => Err(error),
            Some(Fault {
                error,
                after_effect: true,
            }) => effect(&mut state, &self.env).and(Err(error)),
            None => effect(&mut state, &self.env),
        };
        // The crash strikes right after the change that reaches the crash point, before
        // its response: the worst moment for the process that made it.
        let crash_now = op.mutates && state.crash_at.is_some_and(|at| state.mutations >= at);
        state.crashed |= crash_now;
        Some((result, crash_now))
    }

    /// Runs `op` once for each group of fields on the stored object `physical_id`.
    async fn set_fields(
        &self,
        spec: &ResourceSpec,
        physical_id: &str,
        op: Operation,
        names: &[&'static str],
        resolved: &BTreeMap<String, Json>,
    ) -> Result<(), CloudError> {
        let kind = spec.kind();
        self.call(op, &spec.id, |state, _| {
            let Some(res) = state.find_physical(kind, physical_id) else {
                return Err(not_found(op, physical_id));
            };
            for name in names {
                set_field(&mut res.fields, name, resolved.get(*name));
            }
            state.count_mutation();
            Ok(())
        })
        .await
    }
}

impl Default for FakeCloud {
    fn default() -> Self {
        Self::new()
    }
}

/// A fault chosen for one call.
struct Fault {
    error: CloudError,
    /// The change was made, then the response was lost.
    after_effect: bool,
}

impl FakeState {
    fn fault_for(&mut self, op: Operation, id: &ResourceId) -> Option<Fault> {
        let service = op.name.split(':').next().unwrap_or("fake");
        if op.mutates && self.faults.is_fatal(id, op.name) {
            return Some(Fault {
                error: CloudError::from_parts(
                    service,
                    op.name,
                    Some("ValidationException"),
                    Some(400),
                    format!("injected fatal failure of `{}` on `{id}`", op.name),
                ),
                after_effect: false,
            });
        }
        if op.mutates {
            let clear = self
                .faults
                .eventually_consistent
                .iter()
                .find(|(f, _)| f == id);
            if let Some(&(_, clear)) = clear {
                let now = Instant::now();
                let progress = self.ec.entry(id.clone()).or_insert(EcProgress {
                    calls: 0,
                    first: now,
                });
                progress.calls += 1;
                let still = match clear {
                    Clear::AfterCalls(n) => progress.calls <= n,
                    Clear::After(d) => now.duration_since(progress.first) < d,
                };
                if still {
                    return Some(Fault {
                        error: CloudError::from_parts(
                            service,
                            op.name,
                            Some("KMSAccessDeniedException"),
                            Some(400),
                            format!(
                                "the role used for `{id}` is not authorized to perform \
                                 kms:GenerateDataKey yet (injected propagation delay)"
                            ),
                        ),
                        after_effect: false,
                    });
                }
            }
        }
        let odds = self.faults.odds_for(op.name);
        if odds.throttled > 0.0 && self.rng.f64() < odds.throttled {
            return Some(Fault {
                error: CloudError::from_parts(
                    service,
                    op.name,
                    Some("ThrottlingException"),
                    Some(400),
                    "Rate exceeded",
                ),
                after_effect: false,
            });
        }
        if odds.transient > 0.0 && self.rng.f64() < odds.transient {
            return Some(Fault {
                error: CloudError::from_parts(
                    service,
                    op.name,
                    Some("InternalFailure"),
                    Some(500),
                    "injected internal failure",
                ),
                after_effect: op.mutates && self.rng.bool(),
            });
        }
        None
    }

    /// Records one successful change; called by every effect that changed something.
    fn count_mutation(&mut self) {
        self.mutations += 1;
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn find_physical(
        &mut self,
        kind: ResourceKind,
        physical_id: &str,
    ) -> Option<&mut FakeResource> {
        self.resources
            .iter_mut()
            .find(|r| r.id.kind() == kind && r.physical_id == physical_id)
    }

    /// How `observe` finds the object of `spec`: a key by its tags (the oldest, if a
    /// duplicate exists), everything else by its unique name.
    fn find_for_spec(&self, spec: &ResourceSpec) -> Option<&FakeResource> {
        let kind = spec.kind();
        if kind == ResourceKind::KmsKey {
            let logical = spec.id.to_string();
            let stack = spec.tags.get(STACK_TAG).map(String::as_str);
            return self
                .resources
                .iter()
                .filter(|r| r.id.kind() == kind)
                .find(|r| {
                    r.tag(LOGICAL_TAG) == Some(logical.as_str()) && r.tag(STACK_TAG) == stack
                });
        }
        self.resources
            .iter()
            .find(|r| r.id.kind() == kind && r.name == spec.physical_name)
    }
}

fn is_mutating(name: &str) -> bool {
    ![
        ops::GET_CALLER_IDENTITY,
        ops::GET_RESOURCES,
        ops::DESCRIBE_KEY,
        ops::LIST_ALIASES,
        ops::HEAD_BUCKET,
        ops::GET_QUEUE_ATTRIBUTES,
        ops::GET_TOPIC_ATTRIBUTES,
        ops::GET_FUNCTION_ALIAS,
    ]
    .iter()
    .any(|op| op.name == name)
}

fn not_found(op: Operation, what: &str) -> CloudError {
    let service = op.name.split(':').next().unwrap_or("fake");
    CloudError::from_parts(
        service,
        op.name,
        Some("ResourceNotFoundException"),
        Some(404),
        format!("`{what}` does not exist"),
    )
}

fn set_field(fields: &mut BTreeMap<String, Json>, name: &str, value: Option<&Json>) {
    match value {
        Some(v) if !v.is_null() => {
            fields.insert(name.to_owned(), v.clone());
        }
        _ => {
            fields.remove(name);
        }
    }
}

/// The calls that create `spec`, in order, each with the fields it sets. The first call
/// creates the object; a field whose desired value is null is never sent.
fn creation_calls(spec: &ResourceSpec) -> Vec<(Operation, Vec<&'static str>)> {
    let fields = spec.fields();
    let set = |name: &'static str| fields.get(name).is_some_and(|f| f.value != Value::Null);
    let only_set =
        |names: &[&'static str]| names.iter().copied().filter(|n| set(n)).collect::<Vec<_>>();
    match spec.kind() {
        ResourceKind::KmsKey => vec![
            (
                ops::CREATE_KEY,
                only_set(&[field::DESCRIPTION, field::KEY_POLICY, field::TAGS]),
            ),
            (
                ops::ENABLE_KEY_ROTATION,
                only_set(&[field::ROTATION_ENABLED, field::ROTATION_PERIOD_DAYS]),
            ),
        ],
        ResourceKind::KmsAlias => vec![(ops::CREATE_ALIAS, only_set(&[field::TARGET_KEY_ID]))],
        ResourceKind::Bucket => {
            let mut calls = vec![(ops::CREATE_BUCKET, Vec::new())];
            for (op, name) in [
                (ops::PUT_BUCKET_TAGGING, field::TAGS),
                (ops::PUT_BUCKET_VERSIONING, field::VERSIONING),
                (ops::PUT_BUCKET_ENCRYPTION, field::ENCRYPTION),
                (ops::PUT_PUBLIC_ACCESS_BLOCK, field::PUBLIC_ACCESS_BLOCK),
                (ops::PUT_BUCKET_POLICY, field::BUCKET_POLICY),
                (ops::PUT_BUCKET_LIFECYCLE, field::LIFECYCLE),
            ] {
                if set(name) {
                    calls.push((op, vec![name]));
                }
            }
            calls
        }
        ResourceKind::Queue => vec![(
            ops::CREATE_QUEUE,
            only_set(&[
                field::TAGS,
                field::KMS_MASTER_KEY_ID,
                field::VISIBILITY_TIMEOUT,
                field::MESSAGE_RETENTION,
                field::REDRIVE_POLICY,
            ]),
        )],
        ResourceKind::Topic => {
            let mut calls = vec![(
                ops::CREATE_TOPIC,
                only_set(&[field::TAGS, field::KMS_MASTER_KEY_ID]),
            )];
            if set(field::EMAIL_SUBSCRIPTION) {
                calls.push((ops::SUBSCRIBE, vec![field::EMAIL_SUBSCRIPTION]));
            }
            calls
        }
        // Created on the published version with no routing (the spec's routing is null).
        ResourceKind::LambdaAlias => {
            let mut calls = vec![(
                ops::CREATE_FUNCTION_ALIAS,
                only_set(&[field::FUNCTION_NAME, field::FUNCTION_VERSION]),
            )];
            if set(field::PROVISIONED_CONCURRENCY) {
                calls.push((
                    ops::PUT_PROVISIONED_CONCURRENCY,
                    vec![field::PROVISIONED_CONCURRENCY],
                ));
            }
            calls
        }
        // Not simulated yet: `observe` refuses these kinds, and `create` finds no call.
        _ => Vec::new(),
    }
}

/// The call that changes one field of an existing object.
fn update_call(kind: ResourceKind, name: &str) -> Option<Operation> {
    Some(match (kind, name) {
        (ResourceKind::KmsKey, field::DESCRIPTION) => ops::UPDATE_KEY_DESCRIPTION,
        (ResourceKind::KmsKey, field::KEY_POLICY) => ops::PUT_KEY_POLICY,
        (ResourceKind::KmsKey, field::ROTATION_ENABLED | field::ROTATION_PERIOD_DAYS) => {
            ops::ENABLE_KEY_ROTATION
        }
        (ResourceKind::KmsKey, field::TAGS) => ops::TAG_KEY,
        (ResourceKind::KmsAlias, field::TARGET_KEY_ID) => ops::UPDATE_ALIAS,
        (ResourceKind::Bucket, field::TAGS) => ops::PUT_BUCKET_TAGGING,
        (ResourceKind::Bucket, field::VERSIONING) => ops::PUT_BUCKET_VERSIONING,
        (ResourceKind::Bucket, field::ENCRYPTION) => ops::PUT_BUCKET_ENCRYPTION,
        (ResourceKind::Bucket, field::PUBLIC_ACCESS_BLOCK) => ops::PUT_PUBLIC_ACCESS_BLOCK,
        (ResourceKind::Bucket, field::BUCKET_POLICY) => ops::PUT_BUCKET_POLICY,
        (ResourceKind::Bucket, field::LIFECYCLE) => ops::PUT_BUCKET_LIFECYCLE,
        (ResourceKind::Queue, field::TAGS) => ops::TAG_QUEUE,
        (
            ResourceKind::Queue,
            field::KMS_MASTER_KEY_ID
            | field::VISIBILITY_TIMEOUT
            | field::MESSAGE_RETENTION
            | field::REDRIVE_POLICY,
        ) => ops::SET_QUEUE_ATTRIBUTES,
        (ResourceKind::Topic, field::TAGS) => ops::TAG_TOPIC,
        (ResourceKind::Topic, field::KMS_MASTER_KEY_ID) => ops::SET_TOPIC_ATTRIBUTES,
        (ResourceKind::Topic, field::EMAIL_SUBSCRIPTION) => ops::SUBSCRIBE,
        (ResourceKind::LambdaAlias, field::FUNCTION_VERSION | field::ROUTING) => {
            ops::UPDATE_FUNCTION_ALIAS
        }
        (ResourceKind::LambdaAlias, field::PROVISIONED_CONCURRENCY) => {
            ops::PUT_PROVISIONED_CONCURRENCY
        }
        _ => return None,
    })
}

fn observe_call(kind: ResourceKind) -> Result<Operation, CloudError> {
    Ok(match kind {
        ResourceKind::KmsKey => ops::DESCRIBE_KEY,
        ResourceKind::KmsAlias => ops::LIST_ALIASES,
        ResourceKind::Bucket => ops::HEAD_BUCKET,
        ResourceKind::Queue => ops::GET_QUEUE_ATTRIBUTES,
        ResourceKind::Topic => ops::GET_TOPIC_ATTRIBUTES,
        ResourceKind::LambdaAlias => ops::GET_FUNCTION_ALIAS,
        other => return Err(not_simulated(other, "observe")),
    })
}

fn delete_call(kind: ResourceKind) -> Result<Operation, CloudError> {
    Ok(match kind {
        ResourceKind::KmsKey => ops::SCHEDULE_KEY_DELETION,
        ResourceKind::KmsAlias => ops::DELETE_ALIAS,
        ResourceKind::Bucket => ops::DELETE_BUCKET,
        ResourceKind::Queue => ops::DELETE_QUEUE,
        ResourceKind::Topic => ops::DELETE_TOPIC,
        ResourceKind::LambdaAlias => ops::DELETE_FUNCTION_ALIAS,
        other => return Err(not_simulated(other, "delete")),
    })
}

/// The error for a kind the fake cloud does not simulate yet.
fn not_simulated(kind: ResourceKind, operation: &str) -> CloudError {
    CloudError::fatal(
        kind.service().as_str(),
        operation,
        format!("no adapter for `{kind}` yet"),
    )
}

/// Resolves every field of `spec` against the step's outputs; a missing reference is an
/// executor bug (it starts a step only after its dependencies finished).
fn resolve_fields(
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<BTreeMap<String, Json>, CloudError> {
    spec.fields()
        .into_iter()
        .map(|(name, f)| {
            // An undo writes back the value recorded before the failed apply.
            if let Some(value) = ctx.restored(name) {
                return Ok((name.to_owned(), value));
            }
            f.value
                .resolve(ctx)
                .map(|v| (name.to_owned(), v))
                .map_err(|e| {
                    CloudError::fatal("txdeploy", "resolve", format!("`{}`.{name}: {e}", spec.id))
                })
        })
        .collect()
}

/// What a canary apply sends for an alias that moves to another version, as the alias
/// adapter does: the old version stays primary and the new one gets the canary's weight (in
/// the `routing` shape the adapter observes). Any other alias update sends the resolved
/// values as they are.
fn canary_split(
    resolved: &mut BTreeMap<String, Json>,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) {
    let moves = changed.iter().any(|f| f == field::FUNCTION_VERSION);
    let stable = current.fields.get(field::FUNCTION_VERSION).cloned();
    let new = resolved.get(field::FUNCTION_VERSION).cloned();
    if let (Some(canary), true, Some(Json::String(stable)), Some(Json::String(new))) =
        (ctx.canary, moves, stable, new)
        && stable != new
    {
        let split = AliasRouting {
            primary: stable,
            weights: vec![(new, canary.weight_fraction())],
        };
        resolved.insert(field::ROUTING.to_owned(), split.weights_field());
        resolved.insert(
            field::FUNCTION_VERSION.to_owned(),
            Json::String(split.primary),
        );
    }
}

/// The outputs and service identifier a new object of `spec` gets.
fn new_identity(
    spec: &ResourceSpec,
    env: &Environment,
    rng: &mut fastrand::Rng,
) -> (String, Outputs) {
    let Environment {
        account_id: account,
        region,
        partition,
    } = env;
    let name = spec.physical_name.clone();
    match spec.kind() {
        ResourceKind::KmsKey => {
            // Random-looking, like AWS: nothing about the key id reveals which spec it is for.
            let key_id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                rng.u32(..),
                rng.u16(..),
                rng.u16(..0x1000),
                rng.u16(..),
                rng.u64(..1 << 48)
            );
            let arn = format!("arn:{partition}:kms:{region}:{account}:key/{key_id}");
            (
                key_id.clone(),
                Outputs::from([(OutputKey::Id, key_id), (OutputKey::Arn, arn)]),
            )
        }
        ResourceKind::KmsAlias => {
            let arn = format!("arn:{partition}:kms:{region}:{account}:{name}");
            (
                name.clone(),
                Outputs::from([(OutputKey::Name, name), (OutputKey::Arn, arn)]),
            )
        }
        ResourceKind::Bucket => {
            let arn = format!("arn:{partition}:s3:::{name}");
            (
                name.clone(),
                Outputs::from([(OutputKey::Name, name), (OutputKey::Arn, arn)]),
            )
        }
        ResourceKind::Queue => {
            let url = format!("https://sqs.{region}.amazonaws.com/{account}/{name}");
            let arn = format!("arn:{partition}:sqs:{region}:{account}:{name}");
            (
                url.clone(),
                Outputs::from([
                    (OutputKey::Url, url),
                    (OutputKey::Arn, arn),
                    (OutputKey::Name, name),
                ]),
            )
        }
        ResourceKind::Topic => {
            let arn = format!("arn:{partition}:sns:{region}:{account}:{name}");
            (
                arn.clone(),
                Outputs::from([(OutputKey::Arn, arn), (OutputKey::Name, name)]),
            )
        }
        ResourceKind::LambdaAlias => {
            // `{function}:{alias}`, like the adapter's physical name.
            let alias = name.rsplit_once(':').map_or(name.as_str(), |(_, a)| a);
            let arn = format!("arn:{partition}:lambda:{region}:{account}:function:{name}");
            (
                name.clone(),
                Outputs::from([(OutputKey::Arn, arn), (OutputKey::Name, alias.to_owned())]),
            )
        }
        // Never reached: `create` refuses kinds that have no creation calls.
        _ => (name.clone(), Outputs::from([(OutputKey::Name, name)])),
    }
}

#[async_trait]
impl Cloud for FakeCloud {
    async fn environment(&self) -> Result<Environment, CloudError> {
        let probe = ResourceId::new(ResourceKind::KmsKey, "environment");
        self.call(ops::GET_CALLER_IDENTITY, &probe, |_, env| Ok(env.clone()))
            .await
    }

    async fn observe(
        &self,
        spec: &ResourceSpec,
        _env: &Environment,
    ) -> Result<Option<Observed>, CloudError> {
        self.call(observe_call(spec.kind())?, &spec.id, |state, _| {
            Ok(state.find_for_spec(spec).map(FakeResource::observed))
        })
        .await
    }

    async fn discover(
        &self,
        stack: &str,
        _env: &Environment,
    ) -> Result<Vec<Discovered>, CloudError> {
        let probe = ResourceId::new(ResourceKind::KmsKey, "discover");
        let tagged = self
            .call(ops::GET_RESOURCES, &probe, |state, _| {
                Ok(state
                    .resources
                    .iter()
                    .filter(|r| r.tag(STACK_TAG) == Some(stack))
                    .filter_map(|r| {
                        let id = r.tag(LOGICAL_TAG)?.parse().ok()?;
                        Some(Discovered {
                            id,
                            observed: r.observed(),
                        })
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        // Aliases carry no tags: like the AWS adapter, find them by their name prefix.
        let prefix = format!("alias/{stack}-");
        let aliases = self
            .call(ops::LIST_ALIASES, &probe, |state, _| {
                Ok(state
                    .resources
                    .iter()
                    .filter(|r| r.id.kind() == ResourceKind::KmsAlias)
                    .filter_map(|r| {
                        let logical = r.name.strip_prefix(&prefix)?;
                        Some(Discovered {
                            id: ResourceId::new(ResourceKind::KmsAlias, logical),
                            observed: r.observed(),
                        })
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(tagged.into_iter().chain(aliases).collect())
    }

    async fn create(&self, spec: &ResourceSpec, ctx: &StepContext) -> Result<Outputs, CloudError> {
        let resolved = resolve_fields(spec, ctx)?;
        let mut calls = creation_calls(spec).into_iter();
        let Some((first, first_fields)) = calls.next() else {
            return Err(CloudError::fatal(
                "fake",
                "create",
                format!("`{}` has no create call", spec.id),
            ));
        };
        let (physical_id, outputs) = self
            .call(first, &spec.id, |state, env| {
                let mut fields = BTreeMap::new();
                for name in &first_fields {
                    set_field(&mut fields, name, resolved.get(*name));
                }
                // Keys have no name: every CreateKey makes a new key. Other names are unique.
                if spec.kind() != ResourceKind::KmsKey
                    && let Some(existing) = state.find_for_spec(spec)
                {
                    // SQS and SNS return the existing object when its settings match;
                    // aliases and buckets refuse a taken name.
                    let idempotent =
                        matches!(spec.kind(), ResourceKind::Queue | ResourceKind::Topic)
                            && existing.fields == fields;
                    return if idempotent {
                        Ok((existing.physical_id.clone(), existing.outputs.clone()))
                    } else {
                        Err(CloudError::from_parts(
                            first.name.split(':').next().unwrap_or("fake"),
                            first.name,
                            Some("AlreadyExistsException"),
                            Some(409),
                            format!("`{}` already exists", spec.physical_name),
                        ))
                    };
                }
                let (physical_id, outputs) = new_identity(spec, env, &mut state.rng);
                let created = state.next_seq();
                state.resources.push(FakeResource {
                    id: spec.id.clone(),
                    name: spec.physical_name.clone(),
                    physical_id: physical_id.clone(),
                    outputs: outputs.clone(),
                    fields,
                    created,
                });
                state.count_mutation();
                Ok((physical_id, outputs))
            })
            .await?;
        for (op, names) in calls {
            self.set_fields(spec, &physical_id, op, &names, &resolved)
                .await?;
        }
        Ok(outputs)
    }

    async fn update(
        &self,
        spec: &ResourceSpec,
        current: &Observed,
        changed: &[String],
        ctx: &StepContext,
    ) -> Result<Outputs, CloudError> {
        let mut resolved = resolve_fields(spec, ctx)?;
        if spec.kind() == ResourceKind::LambdaAlias {
            canary_split(&mut resolved, current, changed, ctx);
        }
        // One call per operation, however many of its fields changed (SetQueueAttributes
        // sets them all at once).
        let mut groups: Vec<(Operation, Vec<&'static str>)> = Vec::new();
        for name in changed {
            let Some((static_name, op)) = spec
                .fields()
                .keys()
                .find(|k| **k == name.as_str())
                .and_then(|k| Some((*k, update_call(spec.kind(), k)?)))
            else {
                return Err(CloudError::fatal(
                    "fake",
                    "update",
                    format!("`{}` has no updatable field `{name}`", spec.id),
                ));
            };
            match groups.iter_mut().find(|(o, _)| *o == op) {
                Some((_, names)) => names.push(static_name),
                None => groups.push((op, vec![static_name])),
            }
        }
        for (op, names) in &mut groups {
            // UpdateAlias always sends the version and the routing (an empty routing
            // clears the split), whichever of them changed.
            if *op == ops::UPDATE_FUNCTION_ALIAS {
                *names = vec![field::FUNCTION_VERSION, field::ROUTING];
            }
        }
        for (op, names) in groups {
            self.set_fields(spec, &current.physical_id, op, &names, &resolved)
                .await?;
        }
        let kind = spec.kind();
        let read = observe_call(kind)?;
        let outputs = self
            .lock()
            .find_physical(kind, &current.physical_id)
            .map(|r| r.outputs.clone());
        outputs.ok_or_else(|| not_found(read, &current.physical_id))
    }

    async fn delete(
        &self,
        id: &ResourceId,
        current: &Observed,
        _ctx: &StepContext,
    ) -> Result<(), CloudError> {
        let kind = id.kind();
        self.call(delete_call(kind)?, id, |state, _| {
            let before = state.resources.len();
            state
                .resources
                .retain(|r| !(r.id.kind() == kind && r.physical_id == current.physical_id));
            if state.resources.len() < before {
                state.count_mutation();
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
