//! `stack::build`: the desired resource graph of the transaction stack, as plain functions of
//! the config and the target environment. STACK.md is the spec these functions follow.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::spec::{
    BucketSpec, EnvFact, Environment, KmsAliasSpec, KmsKeySpec, LifecycleSpec, OutputRef,
    QueueSpec, RedriveSpec, ResourceGraph, ResourceId, ResourceKind, ResourceSpec, SpecBody,
    TopicSpec, Value,
};

/// Tag that names the stack on every taggable resource.
pub const STACK_TAG: &str = "txdeploy:stack";
/// Tag that names the resource's id (`kind/logical`) within the stack.
pub const LOGICAL_TAG: &str = "txdeploy:logical";

/// The logical names of the customer-managed keys (`sqs` also encrypts SNS).
pub const KEYS: [&str; 4] = ["s3", "dynamodb", "sqs", "logs"];
/// Queues that carry work off the request path, each with its own dead-letter queue.
pub const WORK_QUEUES: [&str; 2] = ["analytics", "reporting"];

/// Builds the whole desired graph.
pub fn build(config: &Config, env: &Environment) -> ResourceGraph {
    let mut graph = ResourceGraph::new();
    let builder = Builder { config, env };
    let mut keys = BTreeMap::new();
    for name in KEYS {
        let key = graph.add(builder.kms_key(name));
        graph.add(builder.kms_alias(name, &key));
        keys.insert(name, key);
    }
    graph.add(builder.log_archive_bucket(&keys["s3"]));
    for name in WORK_QUEUES {
        let dlq = graph.add(builder.dead_letter_queue(&format!("{name}-dlq"), &keys["sqs"]));
        graph.add(builder.work_queue(name, &keys["sqs"], &dlq));
    }
    // On-failure destination of the asynchronously invoked notification handler.
    graph.add(builder.dead_letter_queue("notification-failures", &keys["sqs"]));
    let email = Some(config.alarms.email.clone()).filter(|e| !e.is_empty());
    graph.add(builder.topic("alarms", &keys["sqs"], email));
    graph.add(builder.topic("notifications", &keys["sqs"], None));
    graph
}

struct Builder<'a> {
    config: &'a Config,
    env: &'a Environment,
}

impl Builder<'_> {
    fn spec(&self, kind: ResourceKind, logical: &str, body: SpecBody) -> ResourceSpec {
        let id = ResourceId::new(kind, logical);
        let mut tags = self.config.stack.tags.clone();
        tags.insert(STACK_TAG.to_owned(), self.config.stack_name());
        tags.insert(LOGICAL_TAG.to_owned(), id.to_string());
        ResourceSpec {
            physical_name: self.config.physical_name(logical),
            id,
            tags,
            body,
            depends_on: Vec::new(),
        }
    }

    fn account_root(&self) -> Value {
        Value::Concat(vec![
            Value::str("arn:"),
            Value::Env(EnvFact::Partition),
            Value::str(":iam::"),
            Value::Env(EnvFact::AccountId),
            Value::str(":root"),
        ])
    }

    /// The key policy: the account administers the key (so IAM policies can grant use of
    /// it); service principals get only what their service needs.
    fn key_policy(&self, name: &str) -> Value {
        let mut statements = vec![Value::map([
            ("Sid", Value::str("AccountAdministers")),
            ("Effect", Value::str("Allow")),
            ("Principal", Value::map([("AWS", self.account_root())])),
            ("Action", Value::str("kms:*")),
            ("Resource", Value::str("*")),
        ])];
        match name {
            "logs" => statements.push(Value::map([
                ("Sid", Value::str("CloudWatchLogsEncrypt")),
                ("Effect", Value::str("Allow")),
                (
                    "Principal",
                    Value::map([(
                        "Service",
                        Value::Concat(vec![
                            Value::str("logs."),
                            Value::Env(EnvFact::Region),
                            Value::str(".amazonaws.com"),
                        ]),
                    )]),
                ),
                (
                    "Action",
                    Value::list([
                        Value::str("kms:Encrypt*"),
                        Value::str("kms:Decrypt*"),
                        Value::str("kms:ReEncrypt*"),
                        Value::str("kms:GenerateDataKey*"),
                        Value::str("kms:Describe*"),
                    ]),
                ),
                ("Resource", Value::str("*")),
                (
                    "Condition",
                    Value::map([(
                        "ArnLike",
                        Value::map([(
                            "kms:EncryptionContext:aws:logs:arn",
                            Value::Concat(vec![
                                Value::str("arn:"),
                                Value::Env(EnvFact::Partition),
                                Value::str(":logs:"),
                                Value::Env(EnvFact::Region),
                                Value::str(":"),
                                Value::Env(EnvFact::AccountId),
                                Value::str(":log-group:*"),
                            ]),
                        )]),
                    )]),
                ),
            ])),
            // CloudWatch alarms publish to the KMS-encrypted alarms topic.
            "sqs" => statements.push(Value::map([
                ("Sid", Value::str("CloudWatchAlarmsPublish")),
                ("Effect", Value::str("Allow")),
                (
                    "Principal",
                    Value::map([("Service", Value::str("cloudwatch.amazonaws.com"))]),
                ),
                (
                    "Action",
                    Value::list([
                        Value::str("kms:Decrypt"),
                        Value::str("kms:GenerateDataKey*"),
                    ]),
                ),
                ("Resource", Value::str("*")),
            ])),
            _ => {}
        }
        Value::JsonText(Box::new(Value::map([
            ("Version", Value::str("2012-10-17")),
            ("Statement", Value::List(statements)),
        ])))
    }

    fn kms_key(&self, name: &str) -> ResourceSpec {
        self.spec(
            ResourceKind::KmsKey,
            name,
            SpecBody::KmsKey(KmsKeySpec {
                description: format!("txdeploy {} {name} key", self.config.stack_name()),
                rotation_period_days: self.config.kms.rotation_period_days,
                policy: self.key_policy(name),
            }),
        )
    }

    fn kms_alias(&self, name: &str, key: &ResourceId) -> ResourceSpec {
        let mut spec = self.spec(
            ResourceKind::KmsAlias,
            name,
            SpecBody::KmsAlias(KmsAliasSpec {
                target_key: OutputRef::id(key),
            }),
        );
        spec.physical_name = format!("alias/{}", self.config.physical_name(name));
        spec.tags.clear();
        spec
    }

    fn log_archive_bucket(&self, key: &ResourceId) -> ResourceSpec {
        let logs = &self.config.logs;
        let mut spec = self.spec(
            ResourceKind::Bucket,
            "logs",
            SpecBody::Bucket(BucketSpec {
                versioning: true,
                kms_key: OutputRef::arn(key),
                bucket_key: true,
                block_public_access: true,
                policy: Value::Null,
                lifecycle: LifecycleSpec {
                    prefix: logs.archive_prefix.clone(),
                    glacier_after_days: logs.glacier_after_days,
                    expire_after_days: logs.expire_after_days,
                    noncurrent_expire_after_days: logs.noncurrent_expire_after_days,
                },
            }),
        );
        // Bucket names are global: the account and region make them unique.
        spec.physical_name = format!(
            "{}-{}-{}",
            self.config.physical_name("logs"),
            self.env.account_id,
            self.env.region
        );
        let bucket_arn = format!("arn:{}:s3:::{}", self.env.partition, spec.physical_name);
        if let SpecBody::Bucket(bucket) = &mut spec.body {
            bucket.policy = tls_only_policy(&bucket_arn);
        }
        spec
    }

    fn dead_letter_queue(&self, logical: &str, key: &ResourceId) -> ResourceSpec {
        self.spec(
            ResourceKind::Queue,
            logical,
            SpecBody::Queue(QueueSpec {
                kms_key: OutputRef::arn(key),
                visibility_timeout_seconds: 30,
                message_retention_seconds: self.config.queues.dlq_retention_seconds,
                redrive: None,
            }),
        )
    }

    fn work_queue(&self, logical: &str, key: &ResourceId, dlq: &ResourceId) -> ResourceSpec {
        let queues = &self.config.queues;
        self.spec(
            ResourceKind::Queue,
            logical,
            SpecBody::Queue(QueueSpec {
                kms_key: OutputRef::arn(key),
                visibility_timeout_seconds: queues.visibility_timeout_seconds,
                message_retention_seconds: queues.message_retention_seconds,
                redrive: Some(RedriveSpec {
                    dead_letter_queue: OutputRef::arn(dlq),
                    max_receive_count: queues.max_receive_count,
                }),
            }),
        )
    }

    fn topic(&self, logical: &str, key: &ResourceId, email: Option<String>) -> ResourceSpec {
        self.spec(
            ResourceKind::Topic,
            logical,
            SpecBody::Topic(TopicSpec {
                kms_key: OutputRef::arn(key),
                email_subscription: email,
            }),
        )
    }
}

/// Denies every request to the bucket that does not use TLS.
fn tls_only_policy(bucket_arn: &str) -> Value {
    Value::JsonText(Box::new(Value::map([
        ("Version", Value::str("2012-10-17")),
        (
            "Statement",
            Value::list([Value::map([
                ("Sid", Value::str("DenyInsecureTransport")),
                ("Effect", Value::str("Deny")),
                ("Principal", Value::str("*")),
                ("Action", Value::str("s3:*")),
                (
                    "Resource",
                    Value::list([
                        Value::str(bucket_arn),
                        Value::str(format!("{bucket_arn}/*")),
                    ]),
                ),
                (
                    "Condition",
                    Value::map([(
                        "Bool",
                        Value::map([("aws:SecureTransport", Value::str("false"))]),
                    )]),
                ),
            ])]),
        ),
    ])))
}
