//! The stack lock through the real binary: a second command on a locked stack is refused
//! with who holds it, a stale lock is reported with the command that clears it, and neither
//! makes a single AWS call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command};

use crate::harness::Txdeploy;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

/// Writes the lock of stack `tx-dev` under `state_root` as if `pid` held it.
fn write_lock(state_root: &Path, pid: u32) -> std::path::PathBuf {
    let dir = state_root.join("tx-dev");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lock");
    let holder = serde_json::json!({
        "pid": pid,
        "host": hostname(),
        "command": "apply",
        "started_at": "2026-11-28T12:00:00Z",
    });
    std::fs::write(&path, holder.to_string()).unwrap();
    path
}

struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_apply_is_refused_naming_the_holder() {
    let state = tempfile::tempdir().unwrap();
    // A live process on this host stands in for the first apply.
    let holder = Sleeper(Command::new("sleep").arg("30").spawn().unwrap());
    let lock = write_lock(state.path(), holder.0.id());
    for command in [&["apply"][..], &["destroy", "--yes"]] {
        Txdeploy::new()
            .arg("--non-interactive")
            .arg("--state-dir")
            .arg(state.path())
            .args(command)
            .run()
            .code(2)
            .stderr_has(&format!("locked by pid {} on host", holder.0.id()))
            .stderr_has("running `txdeploy apply` since 2026-11-28T12:00:00Z")
            .stderr_has("wait for that command to finish")
            .no_aws_calls();
    }
    assert!(
        lock.exists(),
        "a refused command must not touch the holder's lock"
    );
}

#[test]
fn a_stale_lock_is_reported_with_the_command_that_clears_it() {
    let state = tempfile::tempdir().unwrap();
    let mut finished = Command::new("true").spawn().unwrap();
    finished.wait().unwrap();
    let lock = write_lock(state.path(), finished.id());
    Txdeploy::new()
        .arg("--non-interactive")
        .arg("--state-dir")
        .arg(state.path())
        .arg("apply")
        .run()
        .code(2)
        .stderr_has("stale lock")
        .stderr_has(&format!("rm {}", lock.display()))
        .no_aws_calls();
    assert!(
        lock.exists(),
        "a stale lock is reported, never removed silently"
    );
}
