//! `PreflightFinding`: what a cloud's preflight says about a plan before any mutating call.

use serde::Serialize;

use crate::plan::WarningKind;
use crate::spec::ResourceId;

/// How a finding weighs on the apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// AWS would refuse the change (or it would break the account): the plan is refused
    /// and the apply stops before any mutating call.
    Refuse,
    /// Worth reading before confirming (an AWS rule that applies, a derived value, an
    /// assumption the check had to make); shown as a warning on the change.
    Warn(WarningKind),
}

/// One problem or note about one planned change: the message names the config key and
/// the fix (refusals) or what was found or assumed (warnings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PreflightFinding {
    pub id: ResourceId,
    pub severity: Severity,
    pub message: String,
}

impl PreflightFinding {
    pub fn refuse(id: &ResourceId, message: impl Into<String>) -> Self {
        Self {
            id: id.clone(),
            severity: Severity::Refuse,
            message: message.into(),
        }
    }

    pub fn warn(id: &ResourceId, kind: WarningKind, message: impl Into<String>) -> Self {
        Self {
            id: id.clone(),
            severity: Severity::Warn(kind),
            message: message.into(),
        }
    }
}
