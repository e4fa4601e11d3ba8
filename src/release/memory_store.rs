//! `InMemoryReleaseStore`: the release history in memory, for the fake cloud and unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Release, ReleaseError, ReleaseStore};

/// Releases by number, behind a mutex; `put` refuses a taken number like the S3 store.
#[derive(Debug, Default)]
pub struct InMemoryReleaseStore {
    releases: Mutex<BTreeMap<u64, Release>>,
}

impl InMemoryReleaseStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn releases(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Release>> {
        // A panic while holding the lock cannot leave a map half-written: every write is
        // one insert.
        self.releases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ReleaseStore for InMemoryReleaseStore {
    async fn list(&self) -> Result<Vec<u64>, ReleaseError> {
        Ok(self.releases().keys().copied().collect())
    }

    async fn get(&self, number: u64) -> Result<Option<Release>, ReleaseError> {
        Ok(self.releases().get(&number).cloned())
    }

    async fn put(&self, release: &Release) -> Result<(), ReleaseError> {
        let mut releases = self.releases();
        if releases.contains_key(&release.number) {
            return Err(ReleaseError::Exists {
                number: release.number,
            });
        }
        releases.insert(release.number, release.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::release::tests::sample;
    use crate::release::{load_all, next_after};

    #[tokio::test]
    async fn numbers_count_up_from_one_and_a_taken_number_is_refused() {
        let store = InMemoryReleaseStore::new();
        assert_eq!(next_after(&store.list().await.unwrap()), 1);
        store.put(&sample(1)).await.unwrap();
        store.put(&sample(2)).await.unwrap();
        assert_eq!(next_after(&store.list().await.unwrap()), 3);
        let err = store.put(&sample(2)).await.unwrap_err();
        assert!(matches!(err, ReleaseError::Exists { number: 2 }), "{err}");
        assert_eq!(store.get(2).await.unwrap(), Some(sample(2)));
        assert_eq!(store.get(9).await.unwrap(), None);
        let all = load_all(&store).await.unwrap();
        assert_eq!(all.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2]);
    }
}
