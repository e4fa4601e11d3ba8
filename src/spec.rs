//! Desired state: typed resource specs, the values and references inside them, and the
//! dependency graph derived from those references.

pub mod resource_graph;
pub mod resource_id;
pub mod resource_spec;
pub mod value;

pub use resource_graph::{CheckedGraph, GraphError, ResourceGraph};
pub use resource_id::{ResourceId, ResourceKind, Service};
pub use resource_spec::{
    BucketSpec, Field, Fields, KmsAliasSpec, KmsKeySpec, LifecycleSpec, OnChange, QueueSpec,
    RedriveSpec, ResourceSpec, SpecBody, TopicSpec, field,
};
pub use value::{
    EnvFact, Environment, OutputKey, OutputRef, OutputTable, Outputs, Resolve, Unresolved, Value,
};
