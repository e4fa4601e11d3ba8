//! `StateCache`: `<state root>/<stack>/state.json`, the outputs of the last apply per
//! resource.
//!
//! It is a cache, never the truth: AWS (found by derived names and tags) is. `status` and
//! reporters read it to show ARNs and URLs without calling AWS; deleting it loses nothing
//! that the next observation does not rebuild.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{journal::now_rfc3339, state_dir, sync_dir};
use crate::engine::ApplyOutcome;
use crate::spec::{Outputs, ResourceId};

/// What the last apply left behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateCache {
    pub stack: String,
    pub apply_id: String,
    pub outcome: ApplyOutcome,
    /// RFC 3339, UTC.
    pub written_at: String,
    pub outputs: BTreeMap<ResourceId, Outputs>,
}

impl StateCache {
    /// A cache entry for an apply that just ended.
    pub fn new(
        stack: &str,
        apply_id: &str,
        outcome: ApplyOutcome,
        outputs: BTreeMap<ResourceId, Outputs>,
    ) -> Self {
        Self {
            stack: stack.to_owned(),
            apply_id: apply_id.to_owned(),
            outcome,
            written_at: now_rfc3339(),
            outputs,
        }
    }

    /// `<state root>/<stack>/state.json`.
    pub fn path(state_root: &Path, stack: &str) -> PathBuf {
        state_dir(state_root, stack).join("state.json")
    }

    /// Writes the cache atomically: a temporary file is synced, then renamed over the old
    /// one, so a crash leaves either the old cache or the new one, never half of one.
    pub fn write(&self, state_root: &Path) -> io::Result<()> {
        let path = Self::path(state_root, &self.stack);
        let dir = state_dir(state_root, &self.stack);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!("state.json.{}.tmp", std::process::id()));
        let body = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&body)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        sync_dir(&dir)
    }

    /// The cache of `stack`, `None` when there is none or it cannot be parsed (it is only
    /// a cache: the caller observes instead).
    pub fn read(state_root: &Path, stack: &str) -> io::Result<Option<Self>> {
        match std::fs::read(Self::path(state_root, stack)) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::{OutputKey, ResourceKind};

    #[test]
    fn the_cache_round_trips_and_a_rewrite_replaces_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StateCache::read(dir.path(), "tx-dev").unwrap(), None);
        let queue = ResourceId::new(ResourceKind::Queue, "analytics");
        let outputs = BTreeMap::from([(
            queue.clone(),
            Outputs::from([(OutputKey::Url, "http://q".to_owned())]),
        )]);
        let first = StateCache::new("tx-dev", "a1", ApplyOutcome::Succeeded, outputs);
        first.write(dir.path()).unwrap();
        assert_eq!(StateCache::read(dir.path(), "tx-dev").unwrap(), Some(first));

        let second = StateCache::new("tx-dev", "a2", ApplyOutcome::Failed, BTreeMap::new());
        second.write(dir.path()).unwrap();
        assert_eq!(
            StateCache::read(dir.path(), "tx-dev").unwrap(),
            Some(second)
        );
        let files: Vec<_> = std::fs::read_dir(state_dir(dir.path(), "tx-dev"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn an_unparsable_cache_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let path = StateCache::path(dir.path(), "tx-dev");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(StateCache::read(dir.path(), "tx-dev").unwrap(), None);
    }
}
