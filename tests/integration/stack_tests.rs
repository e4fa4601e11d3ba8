//! The whole stack of STACK.md against moto: a fresh apply, a no-op re-apply with zero
//! mutating calls, single-setting changes that each produce exactly their update, destroy.
//! Prints wall time and call counts (the figures of the closing note).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use txdeploy::adapters::call_counter::is_read;
use txdeploy::adapters::{AwsCloud, CallCounter};
use txdeploy::app::session::Session;
use txdeploy::config::Config;
use txdeploy::plan::{Action, Plan, PlanOptions};
use txdeploy::spec::ResourceKind;

use crate::harness::moto_session::{apply, config_for, moto_access};
use crate::harness::{moto_or_skip, unique_stack};

async fn session(config: Config, endpoint: &str) -> (Session, CallCounter) {
    let (cloud, counter) = AwsCloud::connect(&moto_access(endpoint)).await;
    (
        Session::open(config, Arc::new(cloud)).await.unwrap(),
        counter,
    )
}

/// Resources a no-op apply still changes against moto, and only there:
/// - moto's GetIntegration returns `cacheKeyParameters: []` whatever was put (EMULATOR.md
///   section 1), so the two cached GET integrations are put again; the request we send is
///   checked in `apigateway_adapter_tests::moto_gap_cache_key_parameters_are_checked_on_the_request`;
/// - moto stores an event source mapping's function as the alias's version ARN, where AWS
///   keeps the alias ARN, so both mappings are pointed at the alias again (checked in
///   `lambda_wiring_adapter_tests::event_source_mapping_round_trips_moto_gap_function_arn_reads_back_as_the_version`).
pub(crate) fn moto_gap_ids() -> BTreeSet<String> {
    ids(&[
        "event_source_mapping/analytics-processor",
        "event_source_mapping/reporting-processor",
        "rest_api/api",
    ])
}

/// The mutating calls of those moto gaps, as the call counter names them.
const MOTO_GAP_CALLS: &[&str] = &[
    "API Gateway:PutIntegration",
    "Lambda:UpdateEventSourceMapping",
];

/// Mutating calls, less the shared account setting's (see `changed_ids`).
fn own_mutations(counter: &CallCounter) -> Vec<String> {
    let mut calls = counter.snapshot().mutating_operations();
    calls.retain(|op| op != "API Gateway:UpdateAccount");
    calls
}

/// What a plan changes, leaving out the region's API Gateway account setting: it is shared
/// with the stacks of the tests running beside this one on the same moto.
pub(crate) fn changed_ids(plan: &Plan) -> BTreeSet<String> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp && c.id.kind() != ResourceKind::ApiAccount)
        .map(|c| c.id.to_string())
        .collect()
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Applies `change` to a fresh config and checks that exactly `expected` resources change,
/// with exactly `mutations` mutating calls, and that the next apply is a no-op.
async fn one_setting(
    endpoint: &str,
    prefix: &str,
    config: &mut Config,
    what: &str,
    change: impl FnOnce(&mut Config),
    expected: &[&str],
) {
    change(config);
    let (s, counter) = session(config.clone(), endpoint).await;
    let plan = apply(&s, PlanOptions::apply()).await;
    let mut expected = ids(expected);
    expected.extend(moto_gap_ids());
    assert_eq!(changed_ids(&plan), expected, "{what}");
    let calls = counter.snapshot();
    eprintln!("{what}: {:?}", calls.mutating_operations());
    let (again, counter) = session(config.clone(), endpoint).await;
    let plan = apply(&again, PlanOptions::apply()).await;
    assert_eq!(changed_ids(&plan), moto_gap_ids(), "{what}: not converged");
    // Less the shared account setting, which a stack applied beside this one may have
    // changed in between (`own_mutations`).
    assert_eq!(own_mutations(&counter), MOTO_GAP_CALLS, "{what}");
    let _ = prefix;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_stack_applies_converges_changes_one_setting_at_a_time_and_destroys() {
    let endpoint = moto_or_skip!();
    let prefix = unique_stack();
    let mut config = config_for(&prefix);

    let (first, counter) = session(config.clone(), &endpoint).await;
    let started = Instant::now();
    let created = apply(&first, PlanOptions::apply()).await;
    let fresh = counter.snapshot();
    eprintln!(
        "fresh apply: {} resources in {:?}, {} reads, {} mutations",
        created.changes.len(),
        started.elapsed(),
        fresh.reads(),
        fresh.mutations()
    );
    // The API Gateway account setting is shared by the region: it exists before any stack.
    let not_created: Vec<_> = created
        .changes
        .iter()
        .filter(|c| c.action != Action::Create && c.id.kind() != ResourceKind::ApiAccount)
        .map(|c| (c.id.to_string(), c.action.label()))
        .collect();
    assert!(not_created.is_empty(), "{not_created:?}");
    assert_eq!(created.changes.len(), first.graph.len());

    let (second, counter) = session(config.clone(), &endpoint).await;
    let started = Instant::now();
    let noop = apply(&second, PlanOptions::apply()).await;
    let calls = counter.snapshot();
    eprintln!(
        "no-op apply: {:?}, {} reads, {} mutations; by operation: {:?}",
        started.elapsed(),
        calls.reads(),
        calls.mutations(),
        calls.by_operation()
    );
    assert_eq!(changed_ids(&noop), moto_gap_ids(), "unexpected changes");
    assert_eq!(
        own_mutations(&counter),
        MOTO_GAP_CALLS,
        "a no-op apply makes no mutating call but the named moto gaps"
    );

    one_setting(
        &endpoint,
        &prefix,
        &mut config,
        "validator memory",
        |c| {
            c.lambda.validator_memory_mb = 2048;
        },
        &[
            "function/transaction-validator",
            "lambda_alias/transaction-validator",
        ],
    )
    .await;
    one_setting(
        &endpoint,
        &prefix,
        &mut config,
        "log retention",
        |c| {
            c.logs.retention_days = 14;
        },
        &[
            "log_group/transaction-validator",
            "log_group/notification-handler",
            "log_group/analytics-processor",
            "log_group/reporting-processor",
            "log_group/api-access",
        ],
    )
    .await;
    one_setting(
        &endpoint,
        &prefix,
        &mut config,
        "TTL attribute",
        |c| {
            c.dynamodb.ttl_attribute = "purge_at".into();
        },
        &["table/transactions"],
    )
    .await;
    one_setting(
        &endpoint,
        &prefix,
        &mut config,
        "maxReceiveCount",
        |c| {
            c.queues.max_receive_count = 5;
        },
        &["queue/analytics", "queue/reporting"],
    )
    .await;
    one_setting(
        &endpoint,
        &prefix,
        &mut config,
        "reserved concurrency",
        |c| {
            c.lambda.reserved_concurrency = 50;
        },
        &[
            "function/transaction-validator",
            "lambda_alias/transaction-validator",
        ],
    )
    .await;

    one_setting(
        &endpoint,
        &prefix,
        &mut config,
        "alarm threshold",
        |c| {
            c.alarms.p99_latency_ms = 1500;
        },
        &["alarm/api-p99-latency"],
    )
    .await;
    code_only_change_uploads_publishes_and_moves_the_aliases(&endpoint, &config).await;

    let (last, _) = session(config.clone(), &endpoint).await;
    apply(&last, PlanOptions::destroy(true)).await;
    let (after, _) = session(config, &endpoint).await;
    let observed = after.observe().await.unwrap();
    // The API Gateway account setting is the region's, not the stack's: destroy leaves it.
    let left: Vec<_> = observed
        .resources
        .keys()
        .filter(|id| id.kind() != ResourceKind::ApiAccount)
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The deploy path of a code-only change: each function's code differs from the embedded
/// bundle (changed here out of band, which is what a new bundle looks like to the deployer),
/// so the apply uploads it, publishes a version and moves the `live` alias: nothing else.
async fn code_only_change_uploads_publishes_and_moves_the_aliases(endpoint: &str, config: &Config) {
    let (s, counter) = session(config.clone(), endpoint).await;
    let functions: Vec<String> = s
        .graph
        .in_order()
        .filter(|spec| spec.id.kind() == ResourceKind::Function)
        .map(|spec| spec.physical_name.clone())
        .collect();
    assert_eq!(functions.len(), 4);
    let (aws, _) = AwsCloud::connect(&moto_access(endpoint)).await;
    let other_code = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
    for name in &functions {
        aws.clients()
            .lambda
            .update_function_code()
            .function_name(name)
            .zip_file(aws_sdk_lambda::primitives::Blob::new(other_code.clone()))
            .send()
            .await
            .unwrap();
    }
    let before = counter.snapshot();
    let plan = apply(&s, PlanOptions::apply()).await;
    let mut expected: BTreeSet<String> = functions_and_aliases();
    expected.extend(moto_gap_ids());
    assert_eq!(changed_ids(&plan), expected, "code-only change");
    let calls: BTreeMap<String, u64> = counter
        .snapshot()
        .since(&before)
        .by_operation()
        .into_iter()
        .map(|((service, op), n)| (format!("{service}:{op}"), n))
        .filter(|(op, _)| {
            !is_read(op.rsplit(':').next().unwrap_or(op))
                && op != "API Gateway:UpdateAccount"
                && !MOTO_GAP_CALLS.contains(&op.as_str())
        })
        .collect();
    eprintln!("code-only change: {calls:?}");
    let want: BTreeMap<String, u64> = [
        "Lambda:PublishVersion",
        "Lambda:UpdateAlias",
        "Lambda:UpdateFunctionCode",
    ]
    .iter()
    .map(|op| ((*op).to_owned(), 4))
    .collect();
    assert_eq!(
        calls, want,
        "UpdateFunctionCode + PublishVersion + alias move, and nothing else"
    );
}

fn functions_and_aliases() -> BTreeSet<String> {
    [
        "transaction-validator",
        "notification-handler",
        "analytics-processor",
        "reporting-processor",
    ]
    .iter()
    .flat_map(|f| [format!("function/{f}"), format!("lambda_alias/{f}")])
    .collect()
}
