//! Executor benchmark: applies a realistic ~60-node graph on the fake cloud with its latency
//! model (real time, scaled) and compares the wall time with the critical path (the
//! longest chain of node latencies, a lower bound no scheduler can beat) and with a
//! sequential apply.
//!
//! The graph is the stack graph plus what the full stack adds around four functions (role,
//! policy, log group, function, version, alias, permissions, invoke config or event source
//! mapping, API routes, deployment, stage, alarms, dashboard). Those kinds are not modelled
//! yet, so each is stood in for by an existing kind of similar latency, and the real
//! dependencies are drawn with `depends_on`: a key for a role (~460 ms), an alias for a
//! policy, a queue for a log group, a bucket for a function (one call per setting, like
//! CreateFunction then the waits and configuration calls), topics and queues for the
//! quick calls.
//!
//! Run with `cargo bench --bench executor_bench`. Per-service limits are raised to the
//! global limit (16) so that they are not the bottleneck: the bench measures scheduling,
//! not throttling policy. Figures are plain `name: value` lines.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use txdeploy::config::Config;
use txdeploy::engine::{ApplyOutcome, EventSink, ExecOptions, Executor, RetryPolicy, observe_all};
use txdeploy::fake_cloud::sample_specs::{
    SAMPLE_STACK, bucket, kms_alias as alias, kms_key, queue, topic,
};
use txdeploy::fake_cloud::{FakeCloud, FaultPlan, LatencyModel, fake_environment};
use txdeploy::plan::{PlanOptions, plan};
use txdeploy::spec::{
    CheckedGraph, ResourceGraph, ResourceId, ResourceKind, ResourceSpec, Service,
};
use txdeploy::state::FileJournal;
use txdeploy::state::journal::new_apply_id;

/// Real-time latency scale: the sequential apply takes about 9 s, the parallel one 1.5 s.
const SCALE: f64 = 0.5;
/// Parallel runs measured; the median is reported.
const RUNS: usize = 3;
const PARALLELISM: usize = 16;
const STACK: &str = SAMPLE_STACK;
const FUNCTIONS: [&str; 4] = ["validator", "notifier", "analytics-fn", "reporting-fn"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<(), Box<dyn std::error::Error>> {
    let graph = realistic_graph()?;
    let latency = LatencyModel::aws_like().scaled(SCALE);
    let costs = FakeCloud::with(latency.clone(), FaultPlan::default());
    let critical = critical_path(&graph, |spec| costs.create_cost(spec));
    let total: Duration = graph.in_order().map(|s| costs.create_cost(s)).sum();

    let wide = ExecOptions {
        parallelism: PARALLELISM,
        per_service: Service::ALL.into_iter().map(|s| (s, PARALLELISM)).collect(),
        retry: RetryPolicy::default(),
        ..ExecOptions::default()
    };
    let mut walls = Vec::new();
    for _ in 0..RUNS {
        walls.push(apply_once(&graph, &latency, wide.clone()).await?);
    }
    walls.sort();
    let wall = walls[RUNS / 2];
    let sequential = ExecOptions {
        parallelism: 1,
        per_service: BTreeMap::new(),
        retry: RetryPolicy::default(),
        ..ExecOptions::default()
    };
    let sequential_wall = apply_once(&graph, &latency, sequential).await?;
    // For reference: the shipped defaults (8 in flight, 4 per service).
    let default_wall = apply_once(&graph, &latency, ExecOptions::default()).await?;

    let ratio = wall.as_secs_f64() / critical.as_secs_f64();
    let speedup = sequential_wall.as_secs_f64() / wall.as_secs_f64();
    println!("nodes: {}", graph.len());
    println!("latency_scale: {SCALE}");
    println!("parallelism: {PARALLELISM} (per-service limit {PARALLELISM} for every service)");
    println!("sum_of_node_latencies_ms: {:.1}", ms(total));
    println!("critical_path_ms: {:.1}", ms(critical));
    println!(
        "wall_ms: {:.1} (median of {RUNS}: {})",
        ms(wall),
        walls
            .iter()
            .map(|w| format!("{:.1}", ms(*w)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "wall_over_critical_path: {ratio:.3} (target <= 1.10: {})",
        verdict(ratio <= 1.10)
    );
    println!("sequential_wall_ms: {:.1}", ms(sequential_wall));
    println!(
        "speedup_over_parallelism_1: {speedup:.2}x (target >= 4x: {})",
        verdict(speedup >= 4.0)
    );
    println!(
        "default_options_wall_ms: {:.1} (parallelism 8, per-service 4; ratio {:.3})",
        ms(default_wall),
        default_wall.as_secs_f64() / critical.as_secs_f64()
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

/// One apply of the whole graph on a fresh fake cloud, with a file journal (fsync per
/// entry, as in production); returns the executor's wall time.
async fn apply_once(
    graph: &CheckedGraph,
    latency: &LatencyModel,
    options: ExecOptions,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let cloud = Arc::new(FakeCloud::with(latency.clone(), FaultPlan::default()));
    let env = fake_environment();
    let observed = observe_all(cloud.as_ref(), graph, &env, STACK, PARALLELISM).await?;
    let plan = plan(STACK, &env, graph, &observed, PlanOptions::apply());
    let dir = tempfile::tempdir()?;
    let journal = Arc::new(FileJournal::create(dir.path(), STACK, &new_apply_id())?);
    let executor = Executor::new(
        cloud,
        journal,
        EventSink::discard(),
        options,
        CancellationToken::new(),
    );
    let started = Instant::now();
    let report = executor.run(&plan, graph).await;
    let wall = started.elapsed();
    if report.outcome != ApplyOutcome::Succeeded {
        return Err(format!("the bench apply failed: {:?}", report.first_error).into());
    }
    Ok(wall)
}

/// The longest chain of node costs through the dependency graph.
fn critical_path(graph: &CheckedGraph, cost: impl Fn(&ResourceSpec) -> Duration) -> Duration {
    let mut finish: BTreeMap<ResourceId, Duration> = BTreeMap::new();
    for spec in graph.in_order() {
        let start = graph
            .dependencies(&spec.id)
            .iter()
            .filter_map(|d| finish.get(d))
            .max()
            .copied()
            .unwrap_or_default();
        finish.insert(spec.id.clone(), start + cost(spec));
    }
    finish.into_values().max().unwrap_or_default()
}

/// The stack graph plus a synthetic but realistically shaped rest of the full stack.
fn realistic_graph() -> Result<CheckedGraph, Box<dyn std::error::Error>> {
    let env = fake_environment();
    // The fake cloud simulates KMS, S3, SQS and SNS: that part of the real stack.
    let inputs = txdeploy::stack::StackInputs {
        bundle: txdeploy::stack::BundleInfo {
            code_sha256: "not deployed by the bench".to_owned(),
            architecture: "x86_64".to_owned(),
        },
        account_concurrency_limit: None,
    };
    let mut stack = txdeploy::stack::build(&Config::defaults()?, &env, &inputs);
    stack.retain(|s| {
        use txdeploy::spec::Service;
        matches!(
            s.kind().service(),
            Service::Kms | Service::S3 | Service::Sqs | Service::Sns
        )
    });
    let stack = stack.check().map_err(|e| format!("{e:?}"))?;
    let mut graph = ResourceGraph::new();
    for spec in stack.in_order() {
        graph.add(spec.clone());
    }
    let key = |name: &str| ResourceId::new(ResourceKind::KmsKey, name);
    let (sqs_key, logs_key, s3_key) = (key("sqs"), key("logs"), key("s3"));
    let work_queue = |name: &str| ResourceId::new(ResourceKind::Queue, name);

    let api = graph.add(topic("api", &sqs_key, &[]));
    let mut live_aliases = Vec::new();
    let mut routes = Vec::new();
    for (i, function) in FUNCTIONS.iter().enumerate() {
        let role = graph.add(kms_key(&format!("{function}-role"), &[]));
        let policy = graph.add(alias(&format!("{function}-policy"), &role));
        let log_group = graph.add(queue(&format!("{function}-logs"), &logs_key, &[]));
        let lambda = graph.add(bucket(
            &format!("{function}-fn"),
            &s3_key,
            &[&role, &policy, &log_group],
        ));
        let version = graph.add(topic(&format!("{function}-version"), &sqs_key, &[&lambda]));
        let live = graph.add(queue(&format!("{function}-live"), &sqs_key, &[&version]));
        // The synchronous API function gets its routes' permissions, the others an invoke
        // config or an event source mapping on their work queue.
        if i == 0 {
            for route in ["post-tx", "get-tx", "get-merchant-tx"] {
                let permission = graph.add(topic(
                    &format!("{route}-permission"),
                    &sqs_key,
                    &[&live, &api],
                ));
                routes.push(graph.add(topic(
                    &format!("{route}-route"),
                    &sqs_key,
                    &[&api, &live, &permission],
                )));
            }
        } else {
            let source = match *function {
                "analytics-fn" => work_queue("analytics"),
                "reporting-fn" => work_queue("reporting"),
                _ => work_queue("notification-failures"),
            };
            graph.add(queue(
                &format!("{function}-trigger"),
                &sqs_key,
                &[&live, &source],
            ));
        }
        graph.add(topic(
            &format!("{function}-alarms"),
            &sqs_key,
            &[&live, &ResourceId::new(ResourceKind::Topic, "alarms")],
        ));
        live_aliases.push(live);
    }
    let deployment = graph.add(queue(
        "api-deployment",
        &sqs_key,
        &routes.iter().collect::<Vec<_>>(),
    ));
    let stage = graph.add(topic("api-stage", &sqs_key, &[&deployment]));
    let mut fan_in: Vec<&ResourceId> = live_aliases.iter().collect();
    fan_in.push(&stage);
    graph.add(topic("dashboard", &sqs_key, &fan_in));
    Ok(graph.check().map_err(|e| format!("{e:?}"))?)
}
