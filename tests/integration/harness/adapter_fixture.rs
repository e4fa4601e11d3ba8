//! `AdapterFixture`: one test's stack on moto for driving adapters one resource at a time
//! (create, observe, update, delete through the `Cloud` trait, with the call counter), and
//! `moto_or_skip!`, which ends a test with a notice when no moto server is configured.

use std::collections::BTreeMap;

use aws_sdk_kms::config::{Credentials, SharedCredentialsProvider};
use aws_types::SdkConfig;
use serde_json::Value as Json;
use txdeploy::adapters::{AwsClients, AwsCloud, CallCounter, CallCounts, load_sdk_config};
use txdeploy::cloud::{Cloud, Observed, StepContext};
use txdeploy::config::Config;
use txdeploy::spec::{
    CheckedGraph, Environment, OutputTable, Outputs, ResourceId, ResourceKind, ResourceSpec,
};

/// Returns the moto endpoint, or ends the test with a printed notice.
macro_rules! moto_or_skip {
    () => {
        match $crate::harness::moto_endpoint() {
            Some(endpoint) => endpoint,
            None => {
                eprintln!("skipped: set TXDEPLOY_TEST_ENDPOINT to a moto server to run this test");
                return;
            }
        }
    };
}
pub(crate) use moto_or_skip;

/// The SDK config for moto with static test credentials (moto does not check signatures;
/// production code never invents credentials, so the test supplies them).
pub async fn moto_sdk_config(endpoint: &str) -> SdkConfig {
    load_sdk_config(&super::moto_session::moto_access(endpoint))
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "moto",
        )))
        .build()
}

/// One test's view of moto: a cloud with its counter, a stack of its own (the whole graph of
/// the default config under a unique prefix, with the embedded function bundle), and the
/// outputs of what exists so far: created by adapters, created directly by the test, or
/// made up for dependencies other adapters own.
pub struct AdapterFixture {
    pub cloud: AwsCloud,
    pub counter: CallCounter,
    pub env: Environment,
    pub config: Config,
    pub graph: CheckedGraph,
    pub outputs: BTreeMap<ResourceId, Outputs>,
    /// For SDK clients a test uses directly, beside the adapters.
    pub sdk_config: SdkConfig,
}

type ConfigTweak = Box<dyn FnOnce(&mut Config)>;
type ClientsTweak = Box<dyn FnOnce(&mut AwsClients)>;

/// The variations a test needs before the stack is built: config settings, and clients with
/// interceptors (see `add_interceptor!`).
pub struct AdapterFixtureBuilder {
    endpoint: String,
    config: Vec<ConfigTweak>,
    clients: Vec<ClientsTweak>,
}

impl AdapterFixtureBuilder {
    /// Changes the config before the graph is built (after the unique prefix is set, so a
    /// test may derive its own prefix).
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + 'static) -> Self {
        self.config.push(Box::new(tweak));
        self
    }

    /// Changes the adapters' SDK clients before the cloud is made.
    pub fn clients(mut self, tweak: impl FnOnce(&mut AwsClients) + 'static) -> Self {
        self.clients.push(Box::new(tweak));
        self
    }

    pub async fn build(self) -> AdapterFixture {
        let sdk_config = moto_sdk_config(&self.endpoint).await;
        let counter = CallCounter::new();
        let mut clients = AwsClients::new(&sdk_config, &counter);
        for tweak in self.clients {
            tweak(&mut clients);
        }
        let cloud = AwsCloud::new(clients, &sdk_config);
        let env = cloud.environment().await.unwrap();
        let mut config = Config::defaults().unwrap();
        config.stack.prefix = super::unique_stack();
        for tweak in self.config {
            tweak(&mut config);
        }
        let inputs = txdeploy::stack::StackInputs {
            bundle: txdeploy::stack::BundleInfo::embedded(),
            account_concurrency_limit: None,
        };
        let graph = txdeploy::stack::build(&config, &env, &inputs)
            .check()
            .unwrap();
        AdapterFixture {
            cloud,
            counter,
            env,
            config,
            graph,
            outputs: BTreeMap::new(),
            sdk_config,
        }
    }
}

impl AdapterFixture {
    /// The fixture with the default config and clients.
    pub async fn new(endpoint: &str) -> Self {
        Self::builder(endpoint).build().await
    }

    pub fn builder(endpoint: &str) -> AdapterFixtureBuilder {
        AdapterFixtureBuilder {
            endpoint: endpoint.to_owned(),
            config: Vec::new(),
            clients: Vec::new(),
        }
    }

    /// The stack's spec `kind/logical`.
    pub fn spec(&self, kind: ResourceKind, logical: &str) -> ResourceSpec {
        self.graph
            .get(&ResourceId::new(kind, logical))
            .unwrap()
            .clone()
    }

    /// Seeds made-up outputs for every dependency of `spec` that does not exist yet (owned
    /// by adapters the test does not drive; create a dependency first to use real ones).
    pub fn seed_dependencies(&mut self, spec: &ResourceSpec) {
        for dep in spec.dependencies() {
            if !self.outputs.contains_key(&dep) {
                let made_up =
                    txdeploy::stack::made_up_outputs(self.graph.get(&dep).unwrap(), &self.env);
                self.outputs.insert(dep, made_up);
            }
        }
    }

    /// What a step of the executor gets: the environment and the outputs so far.
    pub fn ctx(&self) -> StepContext {
        StepContext::quiet(self.env.clone(), self.outputs.clone())
    }

    /// Creates `spec` (its missing dependencies made up first) and records its outputs.
    pub async fn create(&mut self, spec: &ResourceSpec) -> Outputs {
        self.seed_dependencies(spec);
        let outputs = self.cloud.create(spec, &self.ctx()).await.unwrap();
        self.outputs.insert(spec.id.clone(), outputs.clone());
        outputs
    }

    pub async fn observe(&self, spec: &ResourceSpec) -> Option<Observed> {
        self.cloud.observe(spec, &self.env).await.unwrap()
    }

    /// The spec's fields resolved against what exists: what the planner compares.
    pub fn resolved(&self, spec: &ResourceSpec) -> BTreeMap<String, Json> {
        let table = OutputTable {
            env: &self.env,
            outputs: &self.outputs,
        };
        spec.fields()
            .into_iter()
            .map(|(name, f)| (name.to_owned(), f.value.resolve(&table).unwrap()))
            .collect()
    }

    /// Names of the fields whose observed value differs from the spec.
    pub fn changed(&self, spec: &ResourceSpec, observed: &Observed) -> Vec<String> {
        self.resolved(spec)
            .into_iter()
            .filter(|(name, want)| observed.fields.get(name).unwrap_or(&Json::Null) != want)
            .map(|(name, _)| name)
            .collect()
    }

    /// Observes `spec`, asserts it reads back exactly as the spec resolves (so it plans no
    /// change) and that observing made no mutating call.
    pub async fn assert_converged(&self, spec: &ResourceSpec) -> Observed {
        let before = self.counter.snapshot();
        let observed = self.observe(spec).await.expect("the resource exists");
        assert_eq!(
            observed.fields,
            self.resolved(spec),
            "observed fields of `{}`",
            spec.id
        );
        assert_eq!(
            self.counter.snapshot().since(&before).mutating_operations(),
            Vec::<String>::new()
        );
        observed
    }

    /// Computes the changed fields of `spec`, asserts they are exactly `expect_changed`,
    /// applies them, records the new outputs and returns the calls the update made.
    pub async fn update(&mut self, spec: &ResourceSpec, expect_changed: &[&str]) -> CallCounts {
        let current = self.observe(spec).await.unwrap();
        let changed = self.changed(spec, &current);
        assert_eq!(changed, expect_changed, "changed fields of `{}`", spec.id);
        let before = self.counter.snapshot();
        let outputs = self
            .cloud
            .update(spec, &current, &changed, &self.ctx())
            .await
            .unwrap();
        self.outputs.insert(spec.id.clone(), outputs);
        self.counter.snapshot().since(&before)
    }

    /// Deletes what exists of `spec` and returns the calls the delete made.
    pub async fn delete(&self, spec: &ResourceSpec) -> CallCounts {
        let current = self.observe(spec).await.unwrap();
        let before = self.counter.snapshot();
        self.cloud
            .delete(&spec.id, &current, &self.ctx())
            .await
            .unwrap();
        self.counter.snapshot().since(&before)
    }

    /// Deletes, checks it is gone, and deletes again (a retried step must succeed).
    pub async fn delete_twice(&self, spec: &ResourceSpec) {
        let current = self.observe(spec).await.unwrap();
        let ctx = self.ctx();
        self.cloud.delete(&spec.id, &current, &ctx).await.unwrap();
        assert_eq!(self.observe(spec).await, None);
        self.cloud.delete(&spec.id, &current, &ctx).await.unwrap();
    }
}
