//! CPU time of the pure request side per request: body validation alone, and the full
//! router (path, method, body) on a parsed API Gateway event. Prints ns/request.
//!
//! Run: `cargo bench --bench validator_bench` (release profile, no I/O involved).

use std::hint::black_box;
use std::time::Instant;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::http::Method;
use txhandlers::api_router::route;
use txhandlers::pagination::PaginationKey;
use txhandlers::validator::validate_new_transaction;

const BODIES: [&str; 4] = [
    r#"{"transaction_id":"tx-0001","merchant_id":"merchant-42","amount":"129.99","currency":"EUR","transaction_date":"2026-11-05T13:37:00+01:00"}"#,
    r#"{"transaction_id":"tx-0002","merchant_id":"merchant-42","amount":15}"#,
    r#"{"transaction_id":"tx 0003","merchant_id":"merchant-42","amount":15}"#,
    r#"{"merchant_id":"merchant-42"}"#,
];

fn measure(name: &str, iterations: u32, mut work: impl FnMut(usize)) {
    // Warm up caches and the branch predictor before timing.
    for i in 0..iterations / 10 {
        work(i as usize);
    }
    let started = Instant::now();
    for i in 0..iterations {
        work(i as usize);
    }
    let per_request = started.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!(
        "{name}: {per_request:.0} ns/request ({iterations} iterations, 4 bodies: 2 valid, 2 invalid)"
    );
}

fn main() {
    let iterations = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400_000);
    measure("validate_new_transaction", iterations, |i| {
        let _ = black_box(validate_new_transaction(black_box(
            BODIES[i % BODIES.len()],
        )));
    });

    let key = PaginationKey::new(b"bench-pagination-key-0123456789")
        .unwrap_or_else(|_| std::process::exit(2));
    let requests: Vec<ApiGatewayProxyRequest> = BODIES
        .iter()
        .map(|body| {
            let mut request = ApiGatewayProxyRequest::default();
            request.http_method = Method::POST;
            request.path = Some("/transactions".to_owned());
            request.body = Some((*body).to_owned());
            request
        })
        .collect();
    measure("route (POST /transactions)", iterations, |i| {
        let _ = black_box(route(black_box(&requests[i % requests.len()]), &key));
    });
}
