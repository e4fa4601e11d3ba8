//! Releases: the record of what one successful apply made live (the published version of
//! each function, the `live` alias targets, the API deployment, the bundle and the config),
//! stored in AWS itself so `txdeploy rollback` works from a machine with no local state.
//!
//! Where a release lives:
//! - the record, as JSON in the stack's log-archive bucket under
//!   `releases/{stack}/{number:06}.json` (the bucket is versioned, SSE-KMS, kept on
//!   destroy, and its lifecycle only touches `logs/`);
//! - its number, in each function's `txdeploy:release` tag (the newest release that
//!   function took part in).
//!
//! Published versions are not renamed after the fact: a version is published by the
//! executor mid-apply, before anyone knows whether the apply will succeed and become a
//! release, and a version's description cannot be changed once published. The description
//! names the bundle sha256 instead (`lambda_adapter::publish`), which the record repeats.

pub mod aws_targets;
pub mod memory_store;
pub mod record;
pub mod rollback;
pub mod s3_store;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use memory_store::InMemoryReleaseStore;
pub use s3_store::S3ReleaseStore;

use crate::cloud::CloudError;

/// The function tag that carries the number of the newest release the function is part of.
/// It belongs to releases, not to the spec: observation leaves it out of the `tags` field,
/// so recording a release never shows up as drift.
pub const RELEASE_TAG: &str = "txdeploy:release";

/// The key prefix of a stack's release records in the log-archive bucket.
pub fn key_prefix(stack: &str) -> String {
    format!("releases/{stack}/")
}

/// The object key of release `number`: zero-padded so keys sort in release order.
pub fn object_key(stack: &str, number: u64) -> String {
    format!("{}{number:06}.json", key_prefix(stack))
}

/// The release number an object key names, `None` for anything else under the prefix.
pub fn number_of_key(stack: &str, key: &str) -> Option<u64> {
    let rest = key.strip_prefix(&key_prefix(stack))?;
    let digits = rest.strip_suffix(".json")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// One function as a release left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRelease {
    /// The logical name (`transaction-validator`, ...).
    pub logical: String,
    /// The function's physical name.
    pub name: String,
    /// The published version the release made live.
    pub version: String,
    /// Lambda's `CodeSha256` of that version (base64).
    pub code_sha256: String,
    /// The alias every caller goes through (`live`).
    pub alias: String,
    /// The version `alias` pointed at when the release was recorded.
    pub alias_version: String,
}

/// The REST API as a release left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRelease {
    pub rest_api_id: String,
    /// The deployment the stage served.
    pub deployment_id: String,
    /// The hash of the API definition that deployment was made from.
    pub definition_sha256: String,
    /// The stage's name.
    pub stage: String,
}

/// One release: what a successful apply that changed the functions or the API made live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// 1, 2, ... per stack.
    pub number: u64,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub stack: String,
    /// The apply that made it (its journal is `journal/{apply_id}.jsonl` on the machine
    /// that ran it).
    pub apply_id: String,
    /// sha256 of the deployment package, lower-case hex.
    pub bundle_sha256: String,
    /// The four functions, in `stack::Handler::ALL` order.
    pub functions: Vec<FunctionRelease>,
    pub api: ApiRelease,
    /// The effective config the apply ran with, as TOML (`[aws]` included: it says where
    /// the release was deployed from, and is ignored when comparing configs).
    pub config_toml: String,
}

impl Release {
    /// The record as stored: pretty JSON, so a human reading the bucket can follow it.
    pub fn to_json(&self) -> Result<Vec<u8>, ReleaseError> {
        serde_json::to_vec_pretty(self).map_err(|e| ReleaseError::Corrupt {
            what: format!("release {}", self.number),
            reason: e.to_string(),
        })
    }

    /// Parses a stored record; `what` names it in the error.
    pub fn from_json(bytes: &[u8], what: &str) -> Result<Self, ReleaseError> {
        serde_json::from_slice(bytes).map_err(|e| ReleaseError::Corrupt {
            what: what.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The config the release was applied with.
    pub fn config(&self) -> Result<crate::config::Config, ReleaseError> {
        toml::from_str(&self.config_toml).map_err(|e| ReleaseError::Corrupt {
            what: format!("the config snapshot of release {}", self.number),
            reason: e.to_string(),
        })
    }

    /// Function name to the version its alias pointed at.
    pub fn alias_targets(&self) -> BTreeMap<&str, &str> {
        self.functions
            .iter()
            .map(|f| (f.name.as_str(), f.alias_version.as_str()))
            .collect()
    }

    /// What this release has live: its alias targets and its deployment.
    pub fn live_state(&self) -> LiveState {
        LiveState {
            aliases: self
                .functions
                .iter()
                .map(|f| (f.name.clone(), f.alias_version.clone()))
                .collect(),
            deployment_id: Some(self.api.deployment_id.clone()),
        }
    }

    /// Whether `live` (function name to alias version, and the stage's deployment) is
    /// exactly this release.
    pub fn is_live(&self, live: &LiveState) -> bool {
        self.alias_targets()
            == live
                .aliases
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
            && live.deployment_id.as_deref() == Some(self.api.deployment_id.as_str())
    }
}

/// What is live right now: the alias targets and the stage's deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LiveState {
    /// Function name to the version its `live` alias points at.
    pub aliases: BTreeMap<String, String>,
    /// The stage's deployment, `None` when there is no stage.
    pub deployment_id: Option<String>,
}

impl LiveState {
    /// The newest release that is live, if any.
    pub fn live_release<'a>(&self, releases: &'a [Release]) -> Option<&'a Release> {
        releases.iter().rev().find(|r| r.is_live(self))
    }
}

/// The release the launch screen names: the newest live one, else the newest recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentRelease {
    pub number: u64,
    pub created_at: String,
    /// Whether what is live is exactly this release (false: a later apply or a manual change
    /// moved something, or the newest release was rolled back from).
    pub live: bool,
}

/// The current release of a stack: newest first, reading records only until one is live
/// (usually the first), so a long history costs one read.
pub async fn current_release(
    store: &dyn ReleaseStore,
    live: &LiveState,
) -> Result<Option<CurrentRelease>, ReleaseError> {
    let numbers = store.list().await?;
    let mut newest: Option<Release> = None;
    for number in numbers.iter().rev() {
        let Some(release) = store.get(*number).await? else {
            continue;
        };
        if release.is_live(live) {
            return Ok(Some(CurrentRelease {
                number: release.number,
                created_at: release.created_at,
                live: true,
            }));
        }
        newest.get_or_insert(release);
    }
    Ok(newest.map(|r| CurrentRelease {
        number: r.number,
        created_at: r.created_at,
        live: false,
    }))
}

/// Every setting whose value differs between `current` and `snapshot`, as (dotted key,
/// current value, snapshot value). `[aws]` and `[deploy]` say where and how txdeploy runs,
/// not what the stack is, so they are left out.
pub fn config_differences(
    current: &crate::config::Config,
    snapshot: &crate::config::Config,
) -> Vec<(String, String, String)> {
    fn flatten(prefix: &str, value: toml::Value, out: &mut BTreeMap<String, String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    let key = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    flatten(&key, value, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let flat = |config: &crate::config::Config| {
        let mut out = BTreeMap::new();
        if let Ok(value) = toml::Value::try_from(config) {
            flatten("", value, &mut out);
        }
        out.retain(|k, _| !k.starts_with("aws.") && !k.starts_with("deploy."));
        out
    };
    let (now, then) = (flat(current), flat(snapshot));
    let keys: std::collections::BTreeSet<&String> = now.keys().chain(then.keys()).collect();
    keys.into_iter()
        .filter(|k| now.get(*k) != then.get(*k))
        .map(|k| {
            let show = |m: &BTreeMap<String, String>| {
                m.get(k).cloned().unwrap_or_else(|| "(unset)".to_owned())
            };
            (k.clone(), show(&now), show(&then))
        })
        .collect()
}

/// Why the release history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{0}")]
    Cloud(#[from] CloudError),
    #[error(
        "{what} is not a valid release record ({reason}); it was not written by this txdeploy, or was changed by hand: restore an earlier version of the object (the bucket is versioned)"
    )]
    Corrupt { what: String, reason: String },
    #[error("the release cannot be recorded: {0}; this is a txdeploy bug, please report it")]
    Incomplete(String),
    #[error(
        "release {number} already exists; another apply recorded it at the same time: run the command again"
    )]
    Exists { number: u64 },
}

/// Where the release history of one stack is kept.
#[async_trait]
pub trait ReleaseStore: Send + Sync {
    /// Every release number, ascending.
    async fn list(&self) -> Result<Vec<u64>, ReleaseError>;

    /// Release `number`, `None` when there is no such release.
    async fn get(&self, number: u64) -> Result<Option<Release>, ReleaseError>;

    /// Stores `release` under its number; a number already taken is `ReleaseError::Exists`.
    async fn put(&self, release: &Release) -> Result<(), ReleaseError>;
}

/// Every release, oldest first.
pub async fn load_all(store: &dyn ReleaseStore) -> Result<Vec<Release>, ReleaseError> {
    let mut releases = Vec::new();
    for number in store.list().await? {
        if let Some(release) = store.get(number).await? {
            releases.push(release);
        }
    }
    Ok(releases)
}

/// The number the next release gets: one after the highest of `numbers` (ascending, as
/// `ReleaseStore::list` returns them), 1 for none. Two applies may pick the same one: `ReleaseStore::put` refuses the
/// second (`If-None-Match: *` on S3).
pub fn next_after(numbers: &[u64]) -> u64 {
    numbers.last().map_or(1, |n| n + 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A release with distinct values in every field.
    pub(crate) fn sample(number: u64) -> Release {
        Release {
            number,
            created_at: "2026-11-28T16:00:00Z".into(),
            stack: "tx-dev".into(),
            apply_id: format!("20261128T160000.000Z-00000{number}"),
            bundle_sha256: "ab".repeat(32),
            functions: crate::stack::Handler::ALL
                .iter()
                .enumerate()
                .map(|(i, h)| FunctionRelease {
                    logical: h.logical().into(),
                    name: format!("tx-dev-{}", h.logical()),
                    version: format!("{}", number * 10 + i as u64),
                    code_sha256: format!("sha{i}="),
                    alias: "live".into(),
                    alias_version: format!("{}", number * 10 + i as u64),
                })
                .collect(),
            api: ApiRelease {
                rest_api_id: "api123".into(),
                deployment_id: format!("dep{number}"),
                definition_sha256: "cd".repeat(32),
                stage: "prod".into(),
            },
            config_toml: toml::to_string(&crate::config::Config::defaults().unwrap()).unwrap(),
        }
    }

    #[test]
    fn a_record_round_trips_through_json_and_its_config_through_toml() {
        let release = sample(7);
        let bytes = release.to_json().unwrap();
        assert_eq!(Release::from_json(&bytes, "x").unwrap(), release);
        assert_eq!(
            release.config().unwrap(),
            crate::config::Config::defaults().unwrap()
        );
        let err = Release::from_json(b"{\"number\": 1}", "releases/tx-dev/000001.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("releases/tx-dev/000001.json is not a valid release record"));
    }

    #[test]
    fn config_differences_name_each_changed_key_but_not_where_txdeploy_runs() {
        let current = crate::config::Config::defaults().unwrap();
        let mut snapshot = current.clone();
        assert!(config_differences(&current, &snapshot).is_empty());
        snapshot.lambda.validator_memory_mb = 2048;
        snapshot.queues.max_receive_count = 5;
        snapshot.aws.region = Some("eu-west-1".into());
        snapshot.deploy.parallelism = 3;
        let diffs = config_differences(&current, &snapshot);
        let keys: Vec<&str> = diffs.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["lambda.validator_memory_mb", "queues.max_receive_count"]
        );
        assert_eq!(diffs[0].2, "2048");
        assert_eq!(diffs[0].1, current.lambda.validator_memory_mb.to_string());
    }

    #[test]
    fn keys_sort_in_release_order_and_parse_back() {
        assert_eq!(object_key("tx-dev", 7), "releases/tx-dev/000007.json");
        assert_eq!(
            object_key("tx-dev", 1_234_567),
            "releases/tx-dev/1234567.json"
        );
        assert_eq!(
            number_of_key("tx-dev", "releases/tx-dev/000007.json"),
            Some(7)
        );
        assert_eq!(
            number_of_key("tx-dev", "releases/tx-dev/1234567.json"),
            Some(1_234_567)
        );
        for other in [
            "releases/tx-dev/000000.json",
            "releases/tx-dev/7.json",
            "releases/tx-dev/00000x.json",
            "releases/tx-prod/000007.json",
            "releases/tx-dev/000007.json.bak",
        ] {
            assert_eq!(number_of_key("tx-dev", other), None, "{other}");
        }
    }

    #[test]
    fn the_live_release_is_the_newest_whose_aliases_and_deployment_match() {
        let releases = [sample(1), sample(2), sample(3)];
        let live_of = Release::live_state;
        let live = live_of(&releases[1]);
        assert_eq!(live.live_release(&releases).map(|r| r.number), Some(2));
        let mut moved = live.clone();
        moved.deployment_id = Some("elsewhere".into());
        assert_eq!(moved.live_release(&releases), None);
        let mut one_alias = live_of(&releases[0]);
        one_alias
            .aliases
            .insert("tx-dev-transaction-validator".into(), "99".into());
        assert_eq!(one_alias.live_release(&releases), None);
    }
}
