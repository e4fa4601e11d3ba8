//! `CallCounter`: an SDK interceptor that counts AWS calls per service and operation.
//!
//! Every client in `AwsClients` carries the same counter, so tests and benchmarks can assert
//! how many reads and mutations an apply made (a no-op apply must make zero mutations).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Operation-name prefixes that only read; every other operation counts as a mutation.
const READ_PREFIXES: [&str; 4] = ["Get", "List", "Describe", "Head"];

/// Whether `operation` (an SDK operation name such as `GetQueueUrl`) only reads.
pub fn is_read(operation: &str) -> bool {
    READ_PREFIXES.iter().any(|p| operation.starts_with(p))
}

/// Counts calls per `(service, operation)`, shared by every client it is attached to.
///
/// A call is counted once per execution, not once per retry attempt: the count says what
/// txdeploy asked AWS to do, independent of throttling. It is counted when the request is
/// about to be serialized, so a call that fails on the wire still counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CallCounts {
        // A poisoned lock only means another thread panicked mid-increment; the map is
        // still a valid count, so read it anyway.
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        CallCounts {
            by_operation: counts.clone(),
        }
    }

    fn record(&self, service: &str, operation: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts
            .entry((service.to_owned(), operation.to_owned()))
            .or_insert(0) += 1;
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "txdeploy::CallCounter"
    }

    // `read_before_execution` runs for client-level interceptors before the operation's
    // config (and so its `Metadata`) is in the bag; this hook runs once per execution after.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            self.record(metadata.service(), metadata.name());
        }
        Ok(())
    }
}

/// A snapshot of a `CallCounter`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    by_operation: BTreeMap<(String, String), u64>,
}

impl CallCounts {
    /// Calls to read-only operations (`Get*`, `List*`, `Describe*`, `Head*`).
    pub fn reads(&self) -> u64 {
        self.by_operation
            .iter()
            .filter(|((_, op), _)| is_read(op))
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls to every other operation.
    pub fn mutations(&self) -> u64 {
        self.by_operation
            .iter()
            .filter(|((_, op), _)| !is_read(op))
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls per `(service, operation)`, with the SDK's service names (`KMS`, `S3`, `SQS`).
    pub fn by_operation(&self) -> BTreeMap<(String, String), u64> {
        self.by_operation.clone()
    }

    /// Every mutating operation called at least once, as `Service:Operation`, sorted.
    pub fn mutating_operations(&self) -> Vec<String> {
        self.by_operation
            .keys()
            .filter(|(_, op)| !is_read(op))
            .map(|(service, op)| format!("{service}:{op}"))
            .collect()
    }

    /// The calls made after `earlier` was taken (counts that did not grow are left out).
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        let by_operation = self
            .by_operation
            .iter()
            .filter_map(|(key, n)| {
                let before = earlier.by_operation.get(key).copied().unwrap_or(0);
                (*n > before).then(|| (key.clone(), n - before))
            })
            .collect();
        CallCounts { by_operation }
    }
}

impl Serialize for CallCounts {
    /// `{"reads": n, "mutations": n, "operations": {"KMS:CreateKey": n, ...}}`: JSON objects
    /// cannot have tuple keys, so each key is written as `Service:Operation`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let operations: BTreeMap<String, u64> = self
            .by_operation
            .iter()
            .map(|((service, op), n)| (format!("{service}:{op}"), *n))
            .collect();
        let mut state = serializer.serialize_struct("CallCounts", 3)?;
        state.serialize_field("reads", &self.reads())?;
        state.serialize_field("mutations", &self.mutations())?;
        state.serialize_field("operations", &operations)?;
        state.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_split_into_reads_and_mutations_by_name() {
        let counter = CallCounter::new();
        for (service, op) in [
            ("KMS", "DescribeKey"),
            ("KMS", "DescribeKey"),
            ("KMS", "CreateKey"),
            ("S3", "HeadBucket"),
            ("SQS", "GetQueueUrl"),
            ("SQS", "ListQueueTags"),
            ("SNS", "Subscribe"),
        ] {
            counter.record(service, op);
        }
        let counts = counter.snapshot();
        assert_eq!(counts.reads(), 5);
        assert_eq!(counts.mutations(), 2);
        assert_eq!(
            counts.mutating_operations(),
            vec!["KMS:CreateKey", "SNS:Subscribe"]
        );
        assert_eq!(
            counts.by_operation()[&("KMS".to_owned(), "DescribeKey".to_owned())],
            2
        );
    }

    #[test]
    fn since_keeps_only_the_calls_made_after_the_earlier_snapshot() {
        let counter = CallCounter::new();
        counter.record("KMS", "DescribeKey");
        let before = counter.snapshot();
        counter.record("KMS", "DescribeKey");
        counter.record("KMS", "PutKeyPolicy");
        let delta = counter.snapshot().since(&before);
        assert_eq!(delta.reads(), 1);
        assert_eq!(delta.mutating_operations(), vec!["KMS:PutKeyPolicy"]);
    }

    #[test]
    fn serializes_with_string_keys() {
        let counter = CallCounter::new();
        counter.record("SQS", "CreateQueue");
        let json = serde_json::to_value(counter.snapshot()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reads": 0, "mutations": 1, "operations": {"SQS:CreateQueue": 1}})
        );
    }
}
