//! The typed spec of every kind, one file per AWS service. Each struct documents its fields
//! (name, JSON shape once resolved, what a change costs) and its outputs: that is the
//! contract between the stack builder, the planner and the service's adapter.

pub mod apigateway;
pub mod autoscaling;
pub mod cloudwatch;
pub mod dynamodb;
pub mod firehose;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod sns;
pub mod sqs;
