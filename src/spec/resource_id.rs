//! `ResourceId` and `ResourceKind`: the names the engine uses for every node of the graph.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The AWS service a resource belongs to; the executor limits concurrency per service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Kms,
    S3,
    Sqs,
    Sns,
}

impl Service {
    /// Every service, in display order.
    pub const ALL: [Service; 4] = [Service::Kms, Service::S3, Service::Sqs, Service::Sns];

    /// The lowercase service name used in messages and per-service limits.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::S3 => "s3",
            Service::Sqs => "sqs",
            Service::Sns => "sns",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of AWS object a node manages. One adapter per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    KmsKey,
    KmsAlias,
    Bucket,
    Queue,
    Topic,
}

impl ResourceKind {
    /// Every kind, in the order used to sort deletions of orphans (dependents first).
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::Topic,
        ResourceKind::Queue,
        ResourceKind::Bucket,
        ResourceKind::KmsAlias,
        ResourceKind::KmsKey,
    ];

    /// The stable short name used in ids, journals and tags.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::KmsKey => "kms_key",
            ResourceKind::KmsAlias => "kms_alias",
            ResourceKind::Bucket => "bucket",
            ResourceKind::Queue => "queue",
            ResourceKind::Topic => "topic",
        }
    }

    /// The service whose API manages this kind.
    pub fn service(self) -> Service {
        match self {
            ResourceKind::KmsKey | ResourceKind::KmsAlias => Service::Kms,
            ResourceKind::Bucket => Service::S3,
            ResourceKind::Queue => Service::Sqs,
            ResourceKind::Topic => Service::Sns,
        }
    }

    /// Whether deleting or replacing this kind can lose data (keys, buckets, queues, tables).
    ///
    /// Such resources are kept by `destroy` and never replaced without an explicit flag.
    pub fn is_data_bearing(self) -> bool {
        matches!(
            self,
            ResourceKind::KmsKey | ResourceKind::Bucket | ResourceKind::Queue
        )
    }

    /// Outputs an in-place update can change (a Lambda function publishes a new version).
    ///
    /// The planner treats them as known only after apply, so a dependent that reads one
    /// (the `live` alias reads the version) is updated in the same apply instead of the next.
    pub fn outputs_changed_by_update(self) -> &'static [crate::spec::OutputKey] {
        match self {
            ResourceKind::KmsKey
            | ResourceKind::KmsAlias
            | ResourceKind::Bucket
            | ResourceKind::Queue
            | ResourceKind::Topic => &[],
        }
    }

    /// Position in which orphans of this kind are deleted (lower first).
    pub fn delete_rank(self) -> usize {
        Self::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown resource kind `{s}`"))
    }
}

/// A node's identity: its kind and its logical name within the stack, shown as `kind/logical`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    kind: ResourceKind,
    logical: String,
}

impl ResourceId {
    /// Builds an id; the logical name is lowercase letters, digits and `-`.
    pub fn new(kind: ResourceKind, logical: impl Into<String>) -> Self {
        Self {
            kind,
            logical: logical.into(),
        }
    }

    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    pub fn logical(&self) -> &str {
        &self.logical
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.logical)
    }
}

impl FromStr for ResourceId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, logical) = s
            .split_once('/')
            .ok_or_else(|| format!("resource id `{s}` is not of the form `kind/logical`"))?;
        if logical.is_empty()
            || !logical
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "resource id `{s}`: the logical name must be lowercase letters, digits and `-`"
            ));
        }
        Ok(Self::new(kind.parse()?, logical))
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips_through_its_display_form() {
        let id = ResourceId::new(ResourceKind::Queue, "analytics-dlq");
        assert_eq!(id.to_string(), "queue/analytics-dlq");
        assert_eq!("queue/analytics-dlq".parse::<ResourceId>(), Ok(id));
    }

    #[test]
    fn malformed_ids_are_rejected_with_the_reason() {
        assert!(
            "queue"
                .parse::<ResourceId>()
                .unwrap_err()
                .contains("kind/logical")
        );
        assert!(
            "lambda/x"
                .parse::<ResourceId>()
                .unwrap_err()
                .contains("unknown resource kind")
        );
        assert!(
            "queue/Bad_Name"
                .parse::<ResourceId>()
                .unwrap_err()
                .contains("lowercase")
        );
    }
}
