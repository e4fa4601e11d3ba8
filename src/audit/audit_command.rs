//! `txdeploy audit`: observe the stack, make the few reads a check needs beyond that, run
//! the check table and print one line (or NDJSON object) per check; exit 1 on any failure.

use super::{AuditInput, CHECKS, ExtraReads, Read, Target};
use crate::adapters::lambda_adapter::AccountConcurrency;
use crate::adapters::sdk_error::Classified;
use crate::adapters::{AwsClients, event_invoke_adapter};
use crate::app::commands::{open_aws_session, print_calls};
use crate::app::session::Session;
use crate::app::{AppContext, Outcome, OutputMode, RunError};
use crate::spec::ResourceKind;
use crate::stack::{Handler, LIVE_ALIAS};

/// Runs the audit for `ctx`'s stack.
pub async fn run(ctx: &AppContext) -> Result<Outcome, RunError> {
    let (session, cloud, counter) = open_aws_session(ctx).await?;
    let clients = cloud.clients();
    let observed = session.observe().await?;
    let target = Target::of(&ctx.config);
    let extra = read_extras(clients, &session, target).await;
    let input = AuditInput::new(
        &session.config,
        &session.env,
        &session.graph,
        &observed,
        target,
        &extra,
    );
    let report = super::run(CHECKS, &input);
    match ctx.output {
        OutputMode::Json => print!("{}", report.render_json()),
        _ => {
            print!("{}", report.render_text());
            print_calls(ctx, &counter);
        }
    }
    Ok(if report.passed() {
        Outcome::Done
    } else {
        Outcome::ChecksFailed
    })
}

/// The reads beyond `Session::observe`. The event-invoke configs of the API function are
/// read everywhere; the account settings and the archive's contents only against AWS (an
/// emulator lacks the first and never fills the second, and those checks say so).
pub async fn read_extras(clients: &AwsClients, session: &Session, target: Target) -> ExtraReads {
    let validator = session
        .config
        .physical_name(Handler::TransactionValidator.logical());
    let mut extra = ExtraReads {
        api_function_invoke_configs: Some(invoke_config_qualifiers(clients, &validator).await),
        ..ExtraReads::default()
    };
    if target == Target::Aws {
        extra.account_concurrency = Some(account_concurrency(clients).await);
        let bucket = session
            .graph
            .in_order()
            .find(|s| s.kind() == ResourceKind::Bucket)
            .map(|s| s.physical_name.clone());
        if let Some(bucket) = bucket {
            extra.archived_log_objects = Some(archived_objects(clients, &bucket).await);
        }
    }
    extra
}

/// The qualifiers the API function is invoked through (`live`, and `$LATEST`) that carry an
/// event-invoke config. Read one by one with the adapter's own read rather than listed: moto
/// answers ListFunctionEventInvokeConfigs with `LastModified` as an ISO date where AWS sends
/// epoch seconds, which the SDK cannot parse (a moto gap).
async fn invoke_config_qualifiers(clients: &AwsClients, function: &str) -> Read<Vec<String>> {
    let mut found = Vec::new();
    for qualifier in [LIVE_ALIAS, "$LATEST"] {
        let config = event_invoke_adapter::observe(clients, &format!("{function}:{qualifier}"))
            .await
            .map_err(|e| e.to_string())?;
        if config.is_some() {
            found.push(qualifier.to_owned());
        }
    }
    Ok(found)
}

async fn account_concurrency(clients: &AwsClients) -> Read<AccountConcurrency> {
    let out = clients
        .lambda
        .get_account_settings()
        .send()
        .await
        .classified("lambda", "GetAccountSettings")
        .map_err(|e| e.to_string())?;
    let limit = out
        .account_limit()
        .ok_or("the answer has no `AccountLimit`")?;
    Ok(AccountConcurrency {
        limit: u32::try_from(limit.concurrent_executions()).unwrap_or(0),
        unreserved: limit
            .unreserved_concurrent_executions()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    })
}

/// How many objects are under `logs/` (at most one is asked for).
async fn archived_objects(clients: &AwsClients, bucket: &str) -> Read<usize> {
    let out = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("logs/")
        .max_keys(1)
        .send()
        .await
        .classified("s3", "ListObjectsV2")
        .map_err(|e| e.to_string())?;
    Ok(out.contents().len())
}
