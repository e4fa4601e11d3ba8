//! `StackLock`: at most one command changes a stack at a time, from this state root.
//!
//! The lock is the file `<state root>/<stack>/lock` holding who took it. It is published
//! atomically and removed on drop; a lock left by a process that died is reported as stale
//! with the exact command that clears it, never removed silently (the holder might be a
//! live process on a machine sharing the folder).

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{journal::now_rfc3339, state_dir, sync_dir};

/// Who holds a lock: what the lock file contains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    /// RFC 3339, UTC.
    pub started_at: String,
}

impl LockHolder {
    /// This process, running `command`.
    pub fn current(command: &str) -> Self {
        Self {
            pid: std::process::id(),
            host: hostname(),
            command: command.to_owned(),
            started_at: now_rfc3339(),
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on host `{}` running `txdeploy {}` since {}",
            self.pid, self.host, self.command, self.started_at
        )
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the stack is locked by {holder}; wait for that command to finish, then run this one again"
    )]
    Held { holder: LockHolder },
    #[error(
        "the stack is locked by {holder}, but that process is no longer running (stale lock); \
         if no other txdeploy command is working on this stack, clear it with `rm {}` and run \
         this command again",
        path.display()
    )]
    Stale { holder: LockHolder, path: PathBuf },
    #[error(
        "the lock file `{}` exists but cannot be read ({reason}); if no other txdeploy command \
         is working on this stack, remove it with `rm {}` and run this command again",
        path.display(),
        path.display()
    )]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "cannot create the lock file `{}`: {source}; check that the state directory exists and \
         is writable (`--state-dir`)",
        path.display()
    )]
    Io { path: PathBuf, source: io::Error },
}

/// A held stack lock; released (the file removed) when dropped.
#[derive(Debug)]
pub struct StackLock {
    path: PathBuf,
    holder: LockHolder,
}

impl StackLock {
    /// Takes the lock of `stack` under the state root `state_dir`, recording `command`.
    pub fn acquire(state_dir: &Path, stack: &str, command: &str) -> Result<StackLock, LockError> {
        let dir = super::state_dir(state_dir, stack);
        let path = dir.join("lock");
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io_err)?;
        let holder = LockHolder::current(command);
        let body = serde_json::to_vec_pretty(&holder).map_err(|e| io_err(io::Error::other(e)))?;
        match publish(&dir, &path, &body) {
            Ok(()) => {
                sync_dir(&dir).map_err(io_err)?;
                Ok(StackLock { path, holder })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(refusal(&path)),
            Err(e) => Err(io_err(e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for StackLock {
    fn drop(&mut self) {
        // Remove the file only while it is still ours: after someone cleared a lock they
        // believed stale and took it, this one must not release theirs.
        let ours = read_holder(&self.path).is_ok_and(|h| h == self.holder);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes the lock so that it appears with its content or not at all: the content goes to
/// a private file first (`create_new`), which is then hard-linked to `lock`. Linking fails
/// with `AlreadyExists` when the lock is held, and no reader ever sees an empty lock file.
fn publish(dir: &Path, path: &Path, body: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(
        "lock.{}.{:08x}.tmp",
        std::process::id(),
        fastrand::u32(..)
    ));
    let result = write_new(&tmp, body).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match result {
        // Filesystems without hard links: `create_new` on the lock itself is still atomic,
        // only the content follows a moment later.
        Err(e) if links_unsupported(&e) => write_new(path, body),
        other => other,
    }
}

fn links_unsupported(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
    )
}

fn write_new(path: &Path, body: &[u8]) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(body)?;
    file.sync_all()
}

/// Explains why an existing lock refuses us.
fn refusal(path: &Path) -> LockError {
    match read_holder(path) {
        Ok(holder) if holder.host == hostname() && !process_alive(holder.pid) => LockError::Stale {
            holder,
            path: path.to_owned(),
        },
        Ok(holder) => LockError::Held { holder },
        Err(reason) => LockError::Unreadable {
            path: path.to_owned(),
            reason,
        },
    }
}

fn read_holder(path: &Path) -> Result<LockHolder, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Whether `pid` runs on this host. Without `/proc` nothing can be known, so the holder is
/// assumed alive (a held lock, never a wrongly "stale" one).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The path of the lock of `stack` (for messages and `status`).
pub fn lock_path(state_root: &Path, stack: &str) -> PathBuf {
    state_dir(state_root, stack).join("lock")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = StackLock::acquire(dir.path(), "tx-dev", "apply").unwrap();
        assert_eq!(first.path(), lock_path(dir.path(), "tx-dev"));
        let err = StackLock::acquire(dir.path(), "tx-dev", "destroy").unwrap_err();
        let LockError::Held { holder } = &err else {
            panic!("expected Held, got {err:?}")
        };
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "apply");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(
            msg.contains("`txdeploy apply`") && msg.contains("wait"),
            "{msg}"
        );
        assert!(
            msg.contains(&holder.host) && msg.contains(&holder.started_at),
            "{msg}"
        );

        // Another stack is independent.
        let _other = StackLock::acquire(dir.path(), "tx-prod", "apply").unwrap();
        drop(first);
        assert!(
            !lock_path(dir.path(), "tx-dev").exists(),
            "drop releases the lock"
        );
        let again = StackLock::acquire(dir.path(), "tx-dev", "destroy").unwrap();
        assert_eq!(again.holder().command, "destroy");
        let leftovers: Vec<_> = std::fs::read_dir(state_dir(dir.path(), "tx-dev"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            leftovers,
            vec!["lock".to_owned()],
            "no temporary files left behind"
        );
    }

    #[test]
    fn a_lock_of_a_dead_process_is_stale_and_says_how_to_clear_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("run `true`");
        let dead_pid = child.id();
        child.wait().unwrap();
        let holder = LockHolder {
            pid: dead_pid,
            ..LockHolder::current("apply")
        };
        let path = lock_path(dir.path(), "tx-dev");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_vec(&holder).unwrap()).unwrap();

        let err = StackLock::acquire(dir.path(), "tx-dev", "apply").unwrap_err();
        let LockError::Stale {
            holder: found,
            path: stale,
        } = &err
        else {
            panic!("expected Stale, got {err:?}")
        };
        assert_eq!(found, &holder);
        assert_eq!(stale, &path);
        let msg = err.to_string();
        assert!(msg.contains(&format!("`rm {}`", path.display())), "{msg}");
        assert!(msg.contains("no longer running"), "{msg}");
        assert!(
            path.exists(),
            "a stale lock is reported, never removed silently"
        );

        // A live holder on another host cannot be checked: it counts as held.
        let remote = LockHolder {
            host: "elsewhere".into(),
            ..holder
        };
        std::fs::write(&path, serde_json::to_vec(&remote).unwrap()).unwrap();
        let err = StackLock::acquire(dir.path(), "tx-dev", "apply").unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err:?}");

        std::fs::write(&path, b"{\"pid\":").unwrap();
        let err = StackLock::acquire(dir.path(), "tx-dev", "apply").unwrap_err();
        assert!(matches!(err, LockError::Unreadable { .. }), "{err:?}");
        assert!(err.to_string().contains("rm "), "{err}");
    }

    #[test]
    fn dropping_a_lock_someone_else_took_over_leaves_theirs_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mine = StackLock::acquire(dir.path(), "tx-dev", "apply").unwrap();
        let theirs = LockHolder {
            pid: 1,
            ..LockHolder::current("destroy")
        };
        std::fs::write(mine.path(), serde_json::to_vec(&theirs).unwrap()).unwrap();
        let path = mine.path().to_owned();
        drop(mine);
        assert_eq!(read_holder(&path).unwrap(), theirs);
    }
}
