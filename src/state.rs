//! Local state under the state root (`--state-dir`, default `.txdeploy`): one folder per
//! stack holding the apply journals, the state cache and the lock.
//!
//! ```text
//! .txdeploy/<stack>/
//!   journal/<apply_id>.jsonl   append-only, fsync per entry: the truth of each apply
//!   state.json                 outputs of the last apply: a cache, rebuildable by observation
//!   lock                       held while a command changes the stack
//! ```
//!
//! Nothing here is needed to find what exists in AWS (names and tags are), so losing the
//! folder costs history, not correctness.

pub mod journal;
pub mod lock;
pub mod state_cache;

use std::path::{Path, PathBuf};

pub use journal::{FileJournal, InMemoryJournal, JournalEntry, JournalStore, latest_apply};
pub use lock::{LockError, LockHolder, StackLock};
pub use state_cache::StateCache;

/// The folder of one stack: `<root>/<stack>`, where `root` is the state root
/// (`--state-dir`, default `.txdeploy`).
pub fn state_dir(root: &Path, stack: &str) -> PathBuf {
    root.join(stack)
}

/// Makes a just-created or renamed directory entry durable (a crash right after a rename or
/// create could otherwise lose the entry even though the file's data was synced).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
