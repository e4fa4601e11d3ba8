//! `FaultPlan`: the failures a `FakeCloud` injects, scripted and seeded so every run of a
//! test sees the same ones.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::spec::ResourceId;

/// The chance that one call fails, per failure class.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Odds {
    /// `ThrottlingException`, returned before the call has any effect.
    pub throttled: f64,
    /// An HTTP 500. For mutating calls, half of them happen after the change was made
    /// (the response was lost), which is what makes a blind retry of a create unsafe.
    pub transient: f64,
}

/// When an eventual-consistency fault on a resource clears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clear {
    /// The first `n` mutating calls on the resource fail.
    AfterCalls(u32),
    /// Mutating calls fail for this long after the first one.
    After(Duration),
}

/// Every injected fault of a `FakeCloud`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Seeds the random draws (fault rolls, generated key ids).
    pub seed: u64,
    /// Odds by operation name (`kms:CreateKey`); the entry `*` applies to every operation
    /// without its own.
    pub odds: BTreeMap<String, Odds>,
    /// Resources whose mutating calls fail as "not visible yet" until the fault clears,
    /// like a Lambda function whose new IAM role cannot be assumed yet.
    pub eventually_consistent: Vec<(ResourceId, Clear)>,
    /// `(resource, operation)` pairs that always fail fatally; operation `*` means any
    /// mutating call on the resource.
    pub fatal: Vec<(ResourceId, String)>,
}

/// The operation name that matches every operation in `FaultPlan::odds` and `fatal`.
pub const ANY_OPERATION: &str = "*";

impl FaultPlan {
    /// No faults, with draws seeded by `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// Throttles calls of `operation` (or `*`) with probability `p`.
    pub fn throttle(mut self, operation: &str, p: f64) -> Self {
        self.odds.entry(operation.to_owned()).or_default().throttled = p;
        self
    }

    /// Fails calls of `operation` (or `*`) with a 500 with probability `p`.
    pub fn transient(mut self, operation: &str, p: f64) -> Self {
        self.odds.entry(operation.to_owned()).or_default().transient = p;
        self
    }

    /// Makes mutating calls on `id` fail as eventually consistent until `clear`.
    pub fn eventually_consistent(mut self, id: ResourceId, clear: Clear) -> Self {
        self.eventually_consistent.push((id, clear));
        self
    }

    /// Makes `operation` (or `*`) on `id` fail fatally, every time.
    pub fn fail(mut self, id: ResourceId, operation: &str) -> Self {
        self.fatal.push((id, operation.to_owned()));
        self
    }

    /// The odds that apply to `operation`.
    pub fn odds_for(&self, operation: &str) -> Odds {
        self.odds
            .get(operation)
            .or_else(|| self.odds.get(ANY_OPERATION))
            .copied()
            .unwrap_or_default()
    }

    /// Whether `operation` on `id` is scripted to fail fatally.
    pub fn is_fatal(&self, id: &ResourceId, operation: &str) -> bool {
        self.fatal
            .iter()
            .any(|(f, op)| f == id && (op == operation || op == ANY_OPERATION))
    }
}
