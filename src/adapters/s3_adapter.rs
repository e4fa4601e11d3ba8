//! The S3 log-archive bucket: tags, versioning, SSE-KMS, public-access block, bucket policy
//! and lifecycle, each read and written on its own.

use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningError;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, Transition, TransitionStorageClass,
    VersioningConfiguration,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Value as Json, json};

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found, classify};
use super::tagging::{TaggedResource, Tags, desired_tags, tags_json};
use super::{
    Members, document_text, parse_document, resolve, resolved_document, resolved_field,
    resolved_text, unknown_field,
};
use crate::cloud::waiter::{Poll, WaitPolicy, wait_until};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{BucketSpec, Environment, OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "s3";
/// The id of the one lifecycle rule txdeploy manages.
const LIFECYCLE_RULE_ID: &str = "txdeploy-archive";
/// The region whose CreateBucket must not name a location constraint.
const DEFAULT_REGION: &str = "us-east-1";

fn outputs(name: &str, partition: &str) -> Outputs {
    Outputs::from([
        (OutputKey::Name, name.to_owned()),
        (OutputKey::Arn, format!("arn:{partition}:s3:::{name}")),
    ])
}

/// Reads the bucket and every managed setting; `None` when the bucket does not exist.
pub async fn observe(
    clients: &AwsClients,
    name: &str,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let s3 = &clients.s3;
    match s3
        .head_bucket()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "HeadBucket")
    {
        Ok(_) => {}
        // A HEAD response has no body, so a missing bucket may come back as a bare 404.
        Err(e) if e.is_not_found() || e.status == Some(404) => return Ok(None),
        Err(e) if e.status == Some(403) => {
            return Err(CloudError {
                message: format!(
                    "bucket `{name}` exists but these credentials may not read it: the name \
                     may belong to another account (bucket names are global); change \
                     `stack.prefix` or grant `s3:ListBucket` on it"
                ),
                ..e
            });
        }
        Err(e) => return Err(e),
    }

    let tags: Tags = s3
        .get_bucket_tagging()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "GetBucketTagging")
        .found(&["NoSuchTagSet"])?
        .map(|out| {
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect()
        })
        .unwrap_or_default();

    let versioning = versioning_status(clients, name).await?;

    let encryption = s3
        .get_bucket_encryption()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "GetBucketEncryption")
        .found(&[])?;
    let encryption = encryption
        .as_ref()
        .and_then(|out| out.server_side_encryption_configuration())
        .and_then(|config| config.rules().first())
        .map_or(Json::Null, |rule| {
            let default = rule.apply_server_side_encryption_by_default();
            json!({
                "sse_algorithm": default.map(|d| d.sse_algorithm().as_str()),
                "kms_key": default.and_then(|d| d.kms_master_key_id()),
                "bucket_key": rule.bucket_key_enabled().unwrap_or(false),
            })
        });

    let block = s3
        .get_public_access_block()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "GetPublicAccessBlock")
        .found(&[])?;
    let block = block
        .as_ref()
        .and_then(|out| out.public_access_block_configuration());
    let flag = |get: fn(&PublicAccessBlockConfiguration) -> Option<bool>| {
        block.and_then(get).unwrap_or(false)
    };
    let public_access_block = json!({
        "block_public_acls": flag(PublicAccessBlockConfiguration::block_public_acls),
        "block_public_policy": flag(PublicAccessBlockConfiguration::block_public_policy),
        "ignore_public_acls": flag(PublicAccessBlockConfiguration::ignore_public_acls),
        "restrict_public_buckets": flag(PublicAccessBlockConfiguration::restrict_public_buckets),
    });

    let policy = s3
        .get_bucket_policy()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "GetBucketPolicy")
        .found(&[])?;
    let policy = policy
        .as_ref()
        .and_then(|out| out.policy())
        .map_or(Json::Null, parse_document);

    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "GetBucketLifecycleConfiguration")
        .found(&[])?;
    let lifecycle = lifecycle.map_or(Json::Null, |out| lifecycle_json(out.rules()));

    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: outputs(name, &env.partition),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (field::VERSIONING, Json::String(versioning.to_owned())),
            (field::ENCRYPTION, encryption),
            (field::PUBLIC_ACCESS_BLOCK, public_access_block),
            (field::BUCKET_POLICY, policy),
            (field::LIFECYCLE, lifecycle),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// `Enabled` or `Suspended`. A bucket that never had versioning reports no status; for the
/// spec's on/off switch that is the same as suspended (no call is needed to keep it off).
async fn versioning_status(clients: &AwsClients, name: &str) -> Result<&'static str, CloudError> {
    let label = |status: Option<&BucketVersioningStatus>| match status {
        Some(BucketVersioningStatus::Enabled) => "Enabled",
        _ => "Suspended",
    };
    match clients.s3.get_bucket_versioning().bucket(name).send().await {
        Ok(out) => Ok(label(out.status())),
        Err(err) => match misnamed_versioning_status(&err) {
            Some(enabled) => Ok(label(enabled.then_some(&BucketVersioningStatus::Enabled))),
            None => Err(classify(SERVICE, "GetBucketVersioning", err)),
        },
    }
}

/// moto 5.2.5 answers GetBucketVersioning with the root element `GetBucketVersioningResponse`
/// instead of `VersioningConfiguration`; boto3 ignores the root, aws-sdk-rust rejects the
/// response. Its content is right, so the status is read from the raw body: whether it is
/// `Enabled`. `None` for any other failure.
fn misnamed_versioning_status(
    err: &SdkError<GetBucketVersioningError, HttpResponse>,
) -> Option<bool> {
    let raw = err.raw_response()?;
    if raw.status().as_u16() != 200 {
        return None;
    }
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    body.contains("<GetBucketVersioningResponse")
        .then(|| body.contains("<Status>Enabled</Status>"))
}

/// The lifecycle field: the managed rule in the spec's shape. Anything the spec cannot
/// express (other rules, a disabled rule) is added under extra keys, so it differs from
/// the spec and an update replaces the configuration.
fn lifecycle_json(rules: &[LifecycleRule]) -> Json {
    let Some(rule) = rules
        .iter()
        .find(|r| r.id() == Some(LIFECYCLE_RULE_ID))
        .or(rules.first())
    else {
        return Json::Null;
    };
    #[allow(deprecated)] // `Prefix` outside `Filter` is deprecated but still returned.
    let prefix = rule
        .filter()
        .and_then(LifecycleRuleFilter::prefix)
        .or(rule.prefix());
    let glacier = rule
        .transitions()
        .iter()
        .find(|t| t.storage_class() == Some(&TransitionStorageClass::Glacier))
        .and_then(Transition::days);
    let mut value = json!({
        "prefix": prefix,
        "glacier_after_days": glacier,
        "expire_after_days": rule.expiration().and_then(LifecycleExpiration::days),
        "noncurrent_expire_after_days":
            rule.noncurrent_version_expiration().and_then(NoncurrentVersionExpiration::noncurrent_days),
    });
    if rule.status() != &ExpirationStatus::Enabled {
        value["enabled"] = Json::Bool(false);
    }
    let others: Vec<&str> = rules
        .iter()
        .filter(|r| !std::ptr::eq(*r, rule))
        .map(|r| r.id().unwrap_or(""))
        .collect();
    if !others.is_empty() {
        value["other_rules"] = json!(others);
    }
    value
}

/// A bucket found by `discover`: name, outputs and tags (settings are read by `observe`).
pub fn discovered(resource: &TaggedResource, env: &Environment) -> Observed {
    let name = resource
        .arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    Observed {
        outputs: outputs(&name, &env.partition),
        physical_id: name,
        fields: [(field::TAGS.to_owned(), tags_json(&resource.tags))].into(),
    }
}

/// CreateBucket, then every setting. A bucket this account already owns is reused, so a
/// create retried after a lost response continues where it stopped.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    bucket: &BucketSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let name = spec.physical_name.as_str();
    let mut request = clients.s3.create_bucket().bucket(name);
    // us-east-1 rejects an explicit constraint naming itself.
    if ctx.env.region != DEFAULT_REGION {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(ctx.env.region.as_str()))
                .build(),
        );
    }
    match request.send().await.classified(SERVICE, "CreateBucket") {
        Ok(_) => {}
        Err(e) if e.code.as_deref() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) if e.code.as_deref() == Some("BucketAlreadyExists") => {
            return Err(CloudError {
                message: format!(
                    "bucket name `{name}` is taken by another account (bucket names are \
                     global); change `stack.prefix`"
                ),
                ..e
            });
        }
        Err(e) => return Err(e),
    }
    // S3 is eventually consistent right after CreateBucket: configuring a bucket that some
    // endpoints cannot see yet fails with NoSuchBucket.
    wait_until(
        &format!("bucket `{name}` to be visible"),
        ctx,
        WaitPolicy::SHORT,
        || async {
            match clients
                .s3
                .head_bucket()
                .bucket(name)
                .send()
                .await
                .classified(SERVICE, "HeadBucket")
            {
                Ok(_) => Ok(Poll::Ready(())),
                Err(e) if e.is_not_found() || e.status == Some(404) => {
                    Ok(Poll::Pending("not visible yet".to_owned()))
                }
                Err(e) => Err(e),
            }
        },
    )
    .await?;
    put_public_access_block(
        clients,
        name,
        &PublicAccess::all(bucket.block_public_access),
    )
    .await?;
    put_encryption(clients, name, &Encryption::of_spec(bucket, ctx)?).await?;
    if bucket.versioning {
        put_versioning(clients, name, true).await?;
    }
    put_lifecycle(clients, name, &Lifecycle::of_spec(bucket)?).await?;
    let policy = resolve(&bucket.policy, ctx, SERVICE, "PutBucketPolicy")?;
    put_policy(clients, name, document_text(policy)).await?;
    put_tags(clients, name, &spec.tags).await?;
    Ok(outputs(name, &ctx.env.partition))
}

/// Changes only the named settings, one call each.
///
/// Every setting is read through `resolved_field`, in the shapes `observe` reports, so an
/// undo writes back the recorded settings instead of the spec's.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let name = current.physical_id.as_str();
    let resolved = |field: &str, op: &str| resolved_field(spec, field, ctx, SERVICE, op);
    for field_name in changed {
        match field_name.as_str() {
            field::TAGS => put_tags(clients, name, &desired_tags(spec, ctx)?).await?,
            field::VERSIONING => {
                let op = "PutBucketVersioning";
                let status = resolved_text(spec, field::VERSIONING, ctx, SERVICE, op)?;
                // A bucket that never had versioning is observed as `Suspended` too.
                put_versioning(clients, name, status.as_deref() == Some("Enabled")).await?;
            }
            field::ENCRYPTION => {
                let op = "PutBucketEncryption";
                let value = resolved(field::ENCRYPTION, op)?;
                if value.is_null() {
                    delete_encryption(clients, name).await?;
                } else {
                    let members = Members::of(spec, field::ENCRYPTION, &value, SERVICE, op);
                    put_encryption(clients, name, &Encryption::from_members(&members)?).await?;
                }
            }
            field::PUBLIC_ACCESS_BLOCK => {
                let op = "PutPublicAccessBlock";
                let value = resolved(field::PUBLIC_ACCESS_BLOCK, op)?;
                let members = Members::of(spec, field::PUBLIC_ACCESS_BLOCK, &value, SERVICE, op);
                put_public_access_block(clients, name, &PublicAccess::from_members(&members)?)
                    .await?;
            }
            field::BUCKET_POLICY => {
                let op = "PutBucketPolicy";
                let policy = resolved_document(spec, field::BUCKET_POLICY, ctx, SERVICE, op)?;
                put_policy(clients, name, policy).await?;
            }
            field::LIFECYCLE => {
                let op = "PutBucketLifecycleConfiguration";
                let value = resolved(field::LIFECYCLE, op)?;
                if value.is_null() {
                    delete_lifecycle(clients, name).await?;
                } else {
                    let members = Members::of(spec, field::LIFECYCLE, &value, SERVICE, op);
                    put_lifecycle(clients, name, &Lifecycle::from_members(&members)?).await?;
                }
            }
            other => return Err(unknown_field(spec, other)),
        }
    }
    Ok(current.outputs.clone())
}

/// The default encryption rule, as the `encryption` field describes it.
struct Encryption {
    sse_algorithm: String,
    kms_key: Option<String>,
    bucket_key: bool,
}

impl Encryption {
    fn of_spec(bucket: &BucketSpec, ctx: &StepContext) -> Result<Self, CloudError> {
        Ok(Self {
            sse_algorithm: ServerSideEncryption::AwsKms.as_str().to_owned(),
            kms_key: Some(ctx.require(&bucket.kms_key)?.to_owned()),
            bucket_key: bucket.bucket_key,
        })
    }

    fn from_members(members: &Members<'_>) -> Result<Self, CloudError> {
        Ok(Self {
            sse_algorithm: members.text("sse_algorithm")?.unwrap_or_default(),
            kms_key: members.text("kms_key")?,
            bucket_key: members.bool("bucket_key")?.unwrap_or(false),
        })
    }
}

/// The four public-access-block switches, as the `public_access_block` field lists them.
struct PublicAccess {
    block_public_acls: bool,
    ignore_public_acls: bool,
    block_public_policy: bool,
    restrict_public_buckets: bool,
}

impl PublicAccess {
    fn all(block: bool) -> Self {
        Self {
            block_public_acls: block,
            ignore_public_acls: block,
            block_public_policy: block,
            restrict_public_buckets: block,
        }
    }

    fn from_members(members: &Members<'_>) -> Result<Self, CloudError> {
        let flag = |key: &str| members.bool(key).map(|b| b.unwrap_or(false));
        Ok(Self {
            block_public_acls: flag("block_public_acls")?,
            ignore_public_acls: flag("ignore_public_acls")?,
            block_public_policy: flag("block_public_policy")?,
            restrict_public_buckets: flag("restrict_public_buckets")?,
        })
    }
}

/// The managed lifecycle rule, as the `lifecycle` field describes it; a day count that is
/// null leaves that action out of the rule.
struct Lifecycle {
    prefix: Option<String>,
    glacier_after_days: Option<i32>,
    expire_after_days: Option<i32>,
    noncurrent_expire_after_days: Option<i32>,
    enabled: bool,
}

impl Lifecycle {
    fn of_spec(bucket: &BucketSpec) -> Result<Self, CloudError> {
        let lc = &bucket.lifecycle;
        let days = |d: u32| {
            i32::try_from(d).map(Some).map_err(|_| {
                CloudError::fatal(
                    SERVICE,
                    "PutBucketLifecycleConfiguration",
                    format!("lifecycle day count {d} is out of range"),
                )
            })
        };
        Ok(Self {
            prefix: Some(lc.prefix.clone()),
            glacier_after_days: days(lc.glacier_after_days)?,
            expire_after_days: days(lc.expire_after_days)?,
            noncurrent_expire_after_days: days(lc.noncurrent_expire_after_days)?,
            enabled: true,
        })
    }

    /// What `lifecycle_json` reported. Its `other_rules` (rules txdeploy does not manage)
    /// cannot be written back from their ids alone, so an undo restores the managed rule
    /// only and its read-back reports the difference.
    fn from_members(members: &Members<'_>) -> Result<Self, CloudError> {
        Ok(Self {
            prefix: members.text("prefix")?,
            glacier_after_days: members.i32("glacier_after_days")?,
            expire_after_days: members.i32("expire_after_days")?,
            noncurrent_expire_after_days: members.i32("noncurrent_expire_after_days")?,
            enabled: members.bool("enabled")?.unwrap_or(true),
        })
    }
}

async fn put_tags(clients: &AwsClients, name: &str, tags: &Tags) -> Result<(), CloudError> {
    // S3 replaces the whole tag set in one call; an empty set must be deleted instead.
    if tags.is_empty() {
        clients
            .s3
            .delete_bucket_tagging()
            .bucket(name)
            .send()
            .await
            .classified(SERVICE, "DeleteBucketTagging")?;
        return Ok(());
    }
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CloudError::fatal(SERVICE, "PutBucketTagging", e.to_string()))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(tag_set))
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, "PutBucketTagging", e.to_string()))?;
    clients
        .s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(tagging)
        .send()
        .await
        .classified(SERVICE, "PutBucketTagging")?;
    Ok(())
}

async fn put_versioning(clients: &AwsClients, name: &str, enabled: bool) -> Result<(), CloudError> {
    let status = if enabled {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    clients
        .s3
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .classified(SERVICE, "PutBucketVersioning")?;
    Ok(())
}

async fn put_encryption(
    clients: &AwsClients,
    name: &str,
    encryption: &Encryption,
) -> Result<(), CloudError> {
    let op = "PutBucketEncryption";
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(
            encryption.sse_algorithm.as_str(),
        ))
        .set_kms_master_key_id(encryption.kms_key.clone())
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(encryption.bucket_key)
                .build(),
        )
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
    clients
        .s3
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(())
}

/// DeleteBucketEncryption: an undo of a bucket that had no default encryption recorded.
async fn delete_encryption(clients: &AwsClients, name: &str) -> Result<(), CloudError> {
    clients
        .s3
        .delete_bucket_encryption()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "DeleteBucketEncryption")
        .found(&[])?;
    Ok(())
}

async fn put_public_access_block(
    clients: &AwsClients,
    name: &str,
    block: &PublicAccess,
) -> Result<(), CloudError> {
    clients
        .s3
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(block.block_public_acls)
                .ignore_public_acls(block.ignore_public_acls)
                .block_public_policy(block.block_public_policy)
                .restrict_public_buckets(block.restrict_public_buckets)
                .build(),
        )
        .send()
        .await
        .classified(SERVICE, "PutPublicAccessBlock")?;
    Ok(())
}

/// PutBucketPolicy, or DeleteBucketPolicy when there is no policy to write.
async fn put_policy(
    clients: &AwsClients,
    name: &str,
    policy: Option<String>,
) -> Result<(), CloudError> {
    let Some(policy) = policy else {
        return delete_policy(clients, name).await;
    };
    clients
        .s3
        .put_bucket_policy()
        .bucket(name)
        .policy(policy)
        .send()
        .await
        .classified(SERVICE, "PutBucketPolicy")?;
    Ok(())
}

async fn delete_policy(clients: &AwsClients, name: &str) -> Result<(), CloudError> {
    clients
        .s3
        .delete_bucket_policy()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "DeleteBucketPolicy")
        .found(&[])?;
    Ok(())
}

async fn put_lifecycle(clients: &AwsClients, name: &str, lc: &Lifecycle) -> Result<(), CloudError> {
    let op = "PutBucketLifecycleConfiguration";
    let status = if lc.enabled {
        ExpirationStatus::Enabled
    } else {
        ExpirationStatus::Disabled
    };
    let mut rule = LifecycleRule::builder()
        .id(LIFECYCLE_RULE_ID)
        .filter(
            LifecycleRuleFilter::builder()
                .set_prefix(lc.prefix.clone())
                .build(),
        )
        .status(status);
    if let Some(days) = lc.glacier_after_days {
        rule = rule.transitions(
            Transition::builder()
                .days(days)
                .storage_class(TransitionStorageClass::Glacier)
                .build(),
        );
    }
    if let Some(days) = lc.expire_after_days {
        rule = rule.expiration(LifecycleExpiration::builder().days(days).build());
    }
    if let Some(days) = lc.noncurrent_expire_after_days {
        rule = rule.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        );
    }
    let rule = rule
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
    let config = BucketLifecycleConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
    clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(config)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(())
}

/// DeleteBucketLifecycle: an undo of a bucket that had no lifecycle recorded.
async fn delete_lifecycle(clients: &AwsClients, name: &str) -> Result<(), CloudError> {
    clients
        .s3
        .delete_bucket_lifecycle()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "DeleteBucketLifecycle")
        .found(&[])?;
    Ok(())
}

/// Deletes the bucket only when it holds no object versions; otherwise a fatal error says
/// so, since emptying a log archive is a decision for a human.
///
/// The policy goes first: its TLS-only Deny would block the object calls a human needs to
/// empty the bucket later, and moto applies it to DeleteObjects too (EMULATOR.md #4).
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let name = current.physical_id.as_str();
    let listed = clients
        .s3
        .list_object_versions()
        .bucket(name)
        .max_keys(1)
        .send()
        .await
        .classified(SERVICE, "ListObjectVersions")
        .found(&[])?;
    let Some(listed) = listed else { return Ok(()) };
    if !listed.versions().is_empty() || !listed.delete_markers().is_empty() {
        return Err(CloudError::fatal(
            SERVICE,
            "DeleteBucket",
            format!(
                "bucket `{name}` still holds objects (or old versions of them); empty it, \
                 every version included, then run the command again"
            ),
        ));
    }
    delete_policy(clients, name).await?;
    clients
        .s3
        .delete_bucket()
        .bucket(name)
        .send()
        .await
        .classified(SERVICE, "DeleteBucket")
        .found(&[])?;
    Ok(())
}
