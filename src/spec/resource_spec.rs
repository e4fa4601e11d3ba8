//! `ResourceSpec`: the typed desired state of one AWS object, and its uniform field view.
//!
//! Each kind has its own struct with typed settings; `fields()` turns it into the named,
//! comparable fields the planner diffs against what the adapters observe. Adapters read the
//! typed struct; the planner and reporters read the fields.

use std::collections::BTreeMap;

use serde::Serialize;

use super::resource_id::{ResourceId, ResourceKind};
use super::value::{OutputRef, Value};

/// What changing a field costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// Updated in place.
    Update,
    /// AWS cannot change it in place: the resource is replaced, for the reason given.
    Replace(&'static str),
}

/// One named desired setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub value: Value,
    pub on_change: OnChange,
}

/// The comparable view of a spec, by field name.
pub type Fields = BTreeMap<&'static str, Field>;

fn update(value: impl Into<Value>) -> Field {
    Field {
        value: value.into(),
        on_change: OnChange::Update,
    }
}

/// A customer-managed KMS key with rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsKeySpec {
    pub description: String,
    pub rotation_period_days: u32,
    /// The key policy; must grant only the service principals that need the key.
    pub policy: Value,
}

/// `alias/{name}` pointing at a key.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsAliasSpec {
    /// The key id of the target key.
    pub target_key: OutputRef,
}

/// S3 lifecycle: archive under a prefix, then expire.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleSpec {
    pub prefix: String,
    pub glacier_after_days: u32,
    pub expire_after_days: u32,
    pub noncurrent_expire_after_days: u32,
}

/// The log-archive bucket with every setting STACK.md names.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketSpec {
    pub versioning: bool,
    /// ARN of the KMS key for SSE-KMS.
    pub kms_key: OutputRef,
    pub bucket_key: bool,
    /// All four public-access blocks.
    pub block_public_access: bool,
    /// The bucket policy (TLS-only Deny).
    pub policy: Value,
    pub lifecycle: LifecycleSpec,
}

/// A queue's dead-letter target.
#[derive(Clone, Debug, PartialEq)]
pub struct RedriveSpec {
    /// ARN of the dead-letter queue.
    pub dead_letter_queue: OutputRef,
    pub max_receive_count: u32,
}

/// An SQS queue, KMS-encrypted, optionally with a redrive policy.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSpec {
    /// ARN of the KMS key.
    pub kms_key: OutputRef,
    pub visibility_timeout_seconds: u32,
    pub message_retention_seconds: u32,
    pub redrive: Option<RedriveSpec>,
}

/// An SNS topic, KMS-encrypted.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicSpec {
    /// ARN of the KMS key.
    pub kms_key: OutputRef,
    /// Optional e-mail subscription endpoint.
    pub email_subscription: Option<String>,
}

/// The kind-specific part of a spec.
#[derive(Clone, Debug, PartialEq)]
pub enum SpecBody {
    KmsKey(KmsKeySpec),
    KmsAlias(KmsAliasSpec),
    Bucket(BucketSpec),
    Queue(QueueSpec),
    Topic(TopicSpec),
}

impl SpecBody {
    pub fn kind(&self) -> ResourceKind {
        match self {
            SpecBody::KmsKey(_) => ResourceKind::KmsKey,
            SpecBody::KmsAlias(_) => ResourceKind::KmsAlias,
            SpecBody::Bucket(_) => ResourceKind::Bucket,
            SpecBody::Queue(_) => ResourceKind::Queue,
            SpecBody::Topic(_) => ResourceKind::Topic,
        }
    }
}

/// The desired state of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSpec {
    pub id: ResourceId,
    /// The name in AWS, `{prefix}-{env}-{logical}` (or `alias/...` for aliases).
    pub physical_name: String,
    /// `txdeploy:stack`, `txdeploy:logical` and the user's tags.
    pub tags: BTreeMap<String, String>,
    pub body: SpecBody,
    /// Ordering edges AWS needs beyond the references in the body.
    pub depends_on: Vec<ResourceId>,
}

/// Field names shared by specs and adapters' observations.
pub mod field {
    pub const TAGS: &str = "tags";
    pub const DESCRIPTION: &str = "description";
    pub const ROTATION_ENABLED: &str = "rotation_enabled";
    pub const ROTATION_PERIOD_DAYS: &str = "rotation_period_days";
    pub const KEY_POLICY: &str = "key_policy";
    pub const TARGET_KEY_ID: &str = "target_key_id";
    pub const VERSIONING: &str = "versioning";
    pub const ENCRYPTION: &str = "encryption";
    pub const PUBLIC_ACCESS_BLOCK: &str = "public_access_block";
    pub const BUCKET_POLICY: &str = "bucket_policy";
    pub const LIFECYCLE: &str = "lifecycle";
    pub const KMS_MASTER_KEY_ID: &str = "kms_master_key_id";
    pub const VISIBILITY_TIMEOUT: &str = "visibility_timeout_seconds";
    pub const MESSAGE_RETENTION: &str = "message_retention_seconds";
    pub const REDRIVE_POLICY: &str = "redrive_policy";
    pub const EMAIL_SUBSCRIPTION: &str = "email_subscription";
}

impl ResourceSpec {
    pub fn kind(&self) -> ResourceKind {
        self.id.kind()
    }

    /// The comparable fields of this spec; adapters observe the same names.
    pub fn fields(&self) -> Fields {
        let mut fields = Fields::new();
        if self.kind() != ResourceKind::KmsAlias {
            fields.insert(
                field::TAGS,
                update(Value::map(
                    self.tags
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::str(v.clone()))),
                )),
            );
        }
        match &self.body {
            SpecBody::KmsKey(key) => {
                fields.insert(field::DESCRIPTION, update(key.description.as_str()));
                fields.insert(field::ROTATION_ENABLED, update(true));
                fields.insert(
                    field::ROTATION_PERIOD_DAYS,
                    update(key.rotation_period_days),
                );
                fields.insert(field::KEY_POLICY, update(key.policy.clone()));
            }
            SpecBody::KmsAlias(alias) => {
                fields.insert(field::TARGET_KEY_ID, update(alias.target_key.clone()));
            }
            SpecBody::Bucket(bucket) => {
                fields.insert(
                    field::VERSIONING,
                    update(if bucket.versioning {
                        "Enabled"
                    } else {
                        "Suspended"
                    }),
                );
                fields.insert(
                    field::ENCRYPTION,
                    update(Value::map([
                        ("sse_algorithm", Value::str("aws:kms")),
                        ("kms_key", bucket.kms_key.clone().into()),
                        ("bucket_key", bucket.bucket_key.into()),
                    ])),
                );
                let block = Value::Bool(bucket.block_public_access);
                fields.insert(
                    field::PUBLIC_ACCESS_BLOCK,
                    update(Value::map([
                        ("block_public_acls", block.clone()),
                        ("block_public_policy", block.clone()),
                        ("ignore_public_acls", block.clone()),
                        ("restrict_public_buckets", block),
                    ])),
                );
                fields.insert(field::BUCKET_POLICY, update(bucket.policy.clone()));
                let lc = &bucket.lifecycle;
                fields.insert(
                    field::LIFECYCLE,
                    update(Value::map([
                        ("prefix", Value::str(lc.prefix.clone())),
                        ("glacier_after_days", lc.glacier_after_days.into()),
                        ("expire_after_days", lc.expire_after_days.into()),
                        (
                            "noncurrent_expire_after_days",
                            lc.noncurrent_expire_after_days.into(),
                        ),
                    ])),
                );
            }
            SpecBody::Queue(queue) => {
                fields.insert(field::KMS_MASTER_KEY_ID, update(queue.kms_key.clone()));
                fields.insert(
                    field::VISIBILITY_TIMEOUT,
                    update(queue.visibility_timeout_seconds),
                );
                fields.insert(
                    field::MESSAGE_RETENTION,
                    update(queue.message_retention_seconds),
                );
                let redrive = match &queue.redrive {
                    Some(r) => Value::JsonText(Box::new(Value::map([
                        ("deadLetterTargetArn", r.dead_letter_queue.clone().into()),
                        ("maxReceiveCount", r.max_receive_count.into()),
                    ]))),
                    None => Value::Null,
                };
                fields.insert(field::REDRIVE_POLICY, update(redrive));
            }
            SpecBody::Topic(topic) => {
                fields.insert(field::KMS_MASTER_KEY_ID, update(topic.kms_key.clone()));
                fields.insert(
                    field::EMAIL_SUBSCRIPTION,
                    update(
                        topic
                            .email_subscription
                            .clone()
                            .map_or(Value::Null, Value::Str),
                    ),
                );
            }
        }
        fields
    }

    /// Every resource this spec must wait for: its references plus explicit edges.
    pub fn dependencies(&self) -> Vec<ResourceId> {
        let mut refs = Vec::new();
        for field in self.fields().values() {
            field.value.references(&mut refs);
        }
        let mut deps: Vec<ResourceId> = refs.into_iter().map(|r| r.resource).collect();
        deps.extend(self.depends_on.iter().cloned());
        deps.sort();
        deps.dedup();
        deps
    }
}
