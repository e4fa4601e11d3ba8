//! The real release `bootstrap`, started as Lambda would start it, serving a POST through
//! the runtime-API emulator and writing to moto.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_lambda_events::http::Method;
use serde_json::{Value, json};

use crate::moto_handlers::api_event;
use crate::moto_harness::{TestStack, endpoint};
use crate::runtime_api_emulator::{Posted, RuntimeApi};

/// The release binary: `TXDEPLOY_BOOTSTRAP`, else where the deployer's build.rs or a plain
/// `cargo build --release --target x86_64-unknown-linux-gnu` in this crate puts it.
fn bootstrap_path() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("TXDEPLOY_BOOTSTRAP") {
        return Some(PathBuf::from(path));
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = vec![
        manifest.join("../target/lambda-bundles"),
        manifest.join("target"),
    ];
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        candidates.insert(0, PathBuf::from(&dir));
        candidates.insert(0, PathBuf::from(dir).join("lambda-bundles"));
    }
    candidates
        .into_iter()
        .map(|dir| dir.join("x86_64-unknown-linux-gnu/release/bootstrap"))
        .filter(|path| path.is_file())
        .max_by_key(|path| path.metadata().and_then(|m| m.modified()).ok())
}

#[tokio::test]
async fn release_bootstrap_serves_a_post_through_the_runtime_api() {
    let Some(endpoint) = endpoint() else { return };
    let bootstrap = bootstrap_path().expect(
        "no release `bootstrap` found: build the deployer (`cargo build`, its build.rs builds the \
         bundle) or set `TXDEPLOY_BOOTSTRAP` to the binary",
    );
    let stack = TestStack::create(&endpoint).await;
    let mut api = RuntimeApi::start().await;
    let event = api_event(
        Method::POST,
        "/transactions",
        &[],
        Some(r#"{"transaction_id":"boot-1","merchant_id":"m-boot","amount":"42.00"}"#),
    );
    api.invoke("invocation-1", &serde_json::to_string(&event).unwrap());

    let started = Instant::now();
    let mut child = tokio::process::Command::new(&bootstrap)
        .env_clear()
        .envs(stack.env())
        .env("TXDEPLOY_HANDLER", "transaction-validator")
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "tx-dev-transaction-validator")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1536")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/tx-dev-transaction-validator",
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulated")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let posted = api.next_posted(Duration::from_secs(30)).await;
    let cold = started.elapsed();
    child.start_kill().unwrap();
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(Posted::Response { request_id, body }) = posted else {
        panic!(
            "expected a response, got {posted:?}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    eprintln!("bootstrap cold start to first response: {cold:?}");
    assert_eq!(request_id, "invocation-1");
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let inner: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        inner,
        json!({"message": "Transaction validated successfully", "transaction_id": "boot-1"})
    );

    let items = stack.items().await;
    assert_eq!(items.len(), 1);
    // DynamoDB normalises numbers ("42"), moto keeps the text ("42.00"): compare values.
    let stored =
        txhandlers::transaction::Amount::parse(items[0]["amount"].as_n().unwrap()).unwrap();
    assert_eq!(stored.cents(), 4200);
    assert_eq!(stack.drain(&stack.analytics_queue_url).await.len(), 1);
    // The function logs JSON and EMF lines on stdout.
    let emf = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line.get("_aws").is_some())
        .expect("an EMF line on stdout");
    assert_eq!(emf["TransactionsValidated"], 1.0);
    assert_eq!(emf["request_id"], "invocation-1");
}
