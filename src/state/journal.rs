//! The apply journal: an append-only log, one JSON object per line, written (and synced)
//! before the matching event is emitted, so it is the truth of what an apply did.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{state_dir, sync_dir};
use crate::cloud::{CloudError, Observed};
use crate::engine::{ApplyOutcome, UndoOutcome};
use crate::spec::{Outputs, ResourceId};

/// One line of the journal.
///
/// Entries of one step go `StepStarted` then `StepSucceeded` or `StepFailed`; a
/// `StepStarted` without either means the process died during the step, and `before` is the
/// state an undo restores. When a failed apply is undone (`--on-failure rollback`), the undo
/// is journaled too, between the last step and `ApplyFinished`: `UndoStarted`, then per
/// resource `UndoStepStarted` and `UndoStepSucceeded` or `UndoStepFailed`, then
/// `UndoFinished`; an undo cut short by a crash therefore shows which resources it had not
/// finished, and `ApplyFinished` is missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum JournalEntry {
    ApplyStarted {
        apply_id: String,
        stack: String,
        /// RFC 3339, UTC.
        at: String,
        /// Every node that will call AWS, with its action label (`create`, `update`, ...).
        changes: Vec<(ResourceId, String)>,
    },
    StepStarted {
        id: ResourceId,
        action: String,
        before: Option<Observed>,
    },
    StepSucceeded {
        id: ResourceId,
        outputs: Outputs,
    },
    StepFailed {
        id: ResourceId,
        error: CloudError,
    },
    /// The apply failed; what it did is undone: `steps` with their undo action (`delete`,
    /// `restore`, `keep`), `kept` with the reason each one is left as it is.
    UndoStarted {
        steps: Vec<(ResourceId, String)>,
        kept: Vec<(ResourceId, String)>,
    },
    UndoStepStarted {
        id: ResourceId,
        action: String,
    },
    UndoStepSucceeded {
        id: ResourceId,
    },
    UndoStepFailed {
        id: ResourceId,
        error: CloudError,
    },
    UndoFinished {
        outcome: UndoOutcome,
    },
    ApplyFinished {
        outcome: ApplyOutcome,
    },
}

/// Where the executor writes its journal.
pub trait JournalStore: Send + Sync {
    /// Appends one entry; when this returns `Ok` the entry is durable.
    fn append(&self, entry: &JournalEntry) -> io::Result<()>;

    /// Every entry written so far, in order.
    fn entries(&self) -> io::Result<Vec<JournalEntry>>;

    /// The apply id this journal was created for, if the store names one (a file journal is
    /// named after it); the executor makes one up otherwise.
    fn apply_id(&self) -> Option<&str> {
        None
    }
}

/// A new apply id: the UTC time to the millisecond plus a random suffix, so ids sort in the
/// order applies started and two machines never collide.
pub fn new_apply_id() -> String {
    let format = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second][subsecond digits:3]Z"
    );
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{stamp}-{:06x}", fastrand::u32(..0x0100_0000))
}

/// The current time as RFC 3339 (for `ApplyStarted.at` and lock files).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// The journal of one apply in `<state root>/<stack>/journal/<apply_id>.jsonl`.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    apply_id: String,
    file: Mutex<File>,
}

impl FileJournal {
    /// Creates the journal file of a new apply; fails if it already exists.
    pub fn create(state_root: &Path, stack: &str, apply_id: &str) -> io::Result<Self> {
        let dir = journal_dir(state_root, stack);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{apply_id}.jsonl"));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        sync_dir(&dir)?;
        Ok(Self {
            path,
            apply_id: apply_id.to_owned(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl JournalStore for FileJournal {
    fn append(&self, entry: &JournalEntry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        // One `write_all` per line under the lock: concurrent steps never interleave lines.
        let mut file = self
            .file
            .lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?;
        file.write_all(&line)?;
        file.sync_data()
    }

    fn entries(&self) -> io::Result<Vec<JournalEntry>> {
        read_entries(&self.path)
    }

    fn apply_id(&self) -> Option<&str> {
        Some(&self.apply_id)
    }
}

/// A journal kept in memory (tests, benchmarks, `plan`).
#[derive(Debug, Default)]
pub struct InMemoryJournal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl InMemoryJournal {
    pub fn new() -> Self {
        Self::default()
    }
}

impl JournalStore for InMemoryJournal {
    fn append(&self, entry: &JournalEntry) -> io::Result<()> {
        self.entries
            .lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?
            .push(entry.clone());
        Ok(())
    }

    fn entries(&self) -> io::Result<Vec<JournalEntry>> {
        Ok(self
            .entries
            .lock()
            .map_err(|_| io::Error::other("journal lock poisoned"))?
            .clone())
    }
}

/// `<state root>/<stack>/journal`.
pub fn journal_dir(state_root: &Path, stack: &str) -> PathBuf {
    state_dir(state_root, stack).join("journal")
}

/// Reads a journal file, tolerating a torn last line.
pub fn read_entries(path: &Path) -> io::Result<Vec<JournalEntry>> {
    let text = std::fs::read_to_string(path)?;
    parse_entries(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Parses journal text. The last line may be torn (the process died mid-write) and is then
/// dropped: its entry was never durable, so its event was never emitted either. A bad line
/// anywhere else is corruption and an error.
pub fn parse_entries(text: &str) -> Result<Vec<JournalEntry>, String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut entries = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if i + 1 == lines.len() => {}
            Err(e) => {
                return Err(format!(
                    "journal line {} is not a valid entry ({e}); the file is corrupt: \
                     move it aside and run `txdeploy plan` to see the real state",
                    i + 1
                ));
            }
        }
    }
    Ok(entries)
}

/// The entries of the most recent apply of `stack`, `None` when it has never been applied
/// from this state root.
pub fn latest_apply(state_root: &Path, stack: &str) -> io::Result<Option<Vec<JournalEntry>>> {
    let dir = journal_dir(state_root, stack);
    let listing = match std::fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut latest: Option<PathBuf> = None;
    for entry in listing {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "jsonl")
            && latest
                .as_ref()
                .is_none_or(|l| path.file_name() > l.file_name())
        {
            latest = Some(path);
        }
    }
    latest.map(|p| read_entries(&p)).transpose()
}

/// How the apply ended, `None` if the journal has no `ApplyFinished` (the process died).
pub fn apply_outcome(entries: &[JournalEntry]) -> Option<ApplyOutcome> {
    entries.iter().rev().find_map(|e| match e {
        JournalEntry::ApplyFinished { outcome } => Some(*outcome),
        _ => None,
    })
}

/// How the undo of a failed apply ended, `None` when the apply was not undone (it
/// succeeded, ran with `--on-failure stop`, or the process died before the undo finished).
pub fn undo_outcome(entries: &[JournalEntry]) -> Option<UndoOutcome> {
    entries.iter().rev().find_map(|e| match e {
        JournalEntry::UndoFinished { outcome } => Some(*outcome),
        _ => None,
    })
}

/// Steps that started but have no recorded result: the process died during them, so what
/// they did in AWS is only known by observing.
pub fn unfinished_steps(entries: &[JournalEntry]) -> Vec<ResourceId> {
    let mut open = BTreeSet::new();
    for entry in entries {
        match entry {
            JournalEntry::StepStarted { id, .. } => {
                open.insert(id.clone());
            }
            JournalEntry::StepSucceeded { id, .. } | JournalEntry::StepFailed { id, .. } => {
                open.remove(id);
            }
            JournalEntry::ApplyStarted { .. }
            | JournalEntry::ApplyFinished { .. }
            | JournalEntry::UndoStarted { .. }
            | JournalEntry::UndoStepStarted { .. }
            | JournalEntry::UndoStepSucceeded { .. }
            | JournalEntry::UndoStepFailed { .. }
            | JournalEntry::UndoFinished { .. } => {}
        }
    }
    open.into_iter().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::{OutputKey, ResourceKind};

    fn queue() -> ResourceId {
        ResourceId::new(ResourceKind::Queue, "analytics")
    }

    fn sample() -> Vec<JournalEntry> {
        vec![
            JournalEntry::ApplyStarted {
                apply_id: "a1".into(),
                stack: "tx-dev".into(),
                at: "2026-11-05T13:37:00Z".into(),
                changes: vec![(queue(), "create".into())],
            },
            JournalEntry::StepStarted {
                id: queue(),
                action: "create".into(),
                before: None,
            },
            JournalEntry::StepSucceeded {
                id: queue(),
                outputs: Outputs::from([(OutputKey::Arn, "arn:aws:sqs:x".to_owned())]),
            },
            JournalEntry::ApplyFinished {
                outcome: ApplyOutcome::Succeeded,
            },
        ]
    }

    #[test]
    fn file_journal_round_trips_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::create(dir.path(), "tx-dev", "a1").unwrap();
        for entry in sample() {
            journal.append(&entry).unwrap();
        }
        assert_eq!(journal.entries().unwrap(), sample());
        assert_eq!(journal.path(), dir.path().join("tx-dev/journal/a1.jsonl"));
        let text = std::fs::read_to_string(journal.path()).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with(r#"{"entry":"step_started","id":"queue/analytics""#)
        );
        assert!(
            FileJournal::create(dir.path(), "tx-dev", "a1").is_err(),
            "apply ids are unique"
        );
    }

    #[test]
    fn a_torn_last_line_is_dropped_but_corruption_elsewhere_is_an_error() {
        let full: String = sample()
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        let torn = &full[..full.len() - 12];
        let entries = parse_entries(torn).unwrap();
        assert_eq!(entries, sample()[..3].to_vec());

        let mut lines: Vec<&str> = full.lines().collect();
        lines[1] = "{\"entry\":\"step_sta";
        let err = parse_entries(&lines.join("\n")).unwrap_err();
        assert!(err.contains("journal line 2"), "{err}");
    }

    #[test]
    fn latest_apply_reads_the_newest_journal_of_the_stack() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(latest_apply(dir.path(), "tx-dev").unwrap(), None);
        let older =
            FileJournal::create(dir.path(), "tx-dev", "20261101T000000000Z-aaaaaa").unwrap();
        older.append(&sample()[0]).unwrap();
        let newer =
            FileJournal::create(dir.path(), "tx-dev", "20261102T000000000Z-000000").unwrap();
        for entry in &sample()[..2] {
            newer.append(entry).unwrap();
        }
        let latest = latest_apply(dir.path(), "tx-dev").unwrap().unwrap();
        assert_eq!(latest, sample()[..2].to_vec());
        assert_eq!(
            apply_outcome(&latest),
            None,
            "no ApplyFinished: the apply died"
        );
        assert_eq!(unfinished_steps(&latest), vec![queue()]);
        assert_eq!(apply_outcome(&sample()), Some(ApplyOutcome::Succeeded));
        assert!(unfinished_steps(&sample()).is_empty());
    }

    #[test]
    fn apply_ids_sort_by_start_time() {
        let first = new_apply_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let second = new_apply_id();
        assert!(first < second, "{first} !< {second}");
        assert_eq!(first.len(), "20261105T133700123Z-abcdef".len());
    }
}
