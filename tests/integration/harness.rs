//! Shared test helpers: where the moto emulator is, and names that never collide.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The moto endpoint from `TXDEPLOY_TEST_ENDPOINT`; `None` when emulator tests should skip.
pub fn moto_endpoint() -> Option<String> {
    std::env::var("TXDEPLOY_TEST_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())
}

/// A short stack prefix unique to this process and call (lowercase letters and digits), so
/// tests can share one moto server in parallel. Short, because bucket names append the
/// account and region and must stay within 63 characters.
pub fn unique_stack() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("t{:x}{:x}{n}", std::process::id() % 0xffff, nanos % 0xfffff)
}
