//! `Observed`: what an adapter read back from AWS for one resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::spec::{Outputs, ResourceId};

/// The current state of one object, in the same field names its spec uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The service's identifier (key id, queue URL, bucket name, topic ARN).
    pub physical_id: String,
    pub outputs: Outputs,
    pub fields: BTreeMap<String, Json>,
}

/// An object found by its stack tag (or name prefix) during discovery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discovered {
    pub id: ResourceId,
    pub observed: Observed,
}
