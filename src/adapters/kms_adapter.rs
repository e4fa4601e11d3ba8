//! KMS keys (found by their `txdeploy:*` tags) and aliases (found by name).

use std::collections::BTreeSet;

use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::Classified;
use super::tagging::{
    self, TagDiff, TaggedResource, Tags, desired_tags, observed_tags, stack_of, tags_json,
};
use super::{
    parse_document, resolve, resolved_bool, resolved_document, resolved_i32, resolved_text,
    unknown_field,
};
use crate::cloud::{CloudError, Discovered, Observed, StepContext};
use crate::spec::{
    KmsAliasSpec, KmsKeySpec, OutputKey, Outputs, ResourceId, ResourceKind, ResourceSpec, field,
};
use crate::stack::{LOGICAL_TAG, STACK_TAG};

const SERVICE: &str = "kms";
/// The only key policy name KMS supports.
const POLICY_NAME: &str = "default";
/// The shortest waiting period AWS allows: the key stays recoverable for a week.
const DELETION_WINDOW_DAYS: i32 = 7;

/// Finds the key tagged with the spec's stack and id, ignoring keys pending deletion.
///
/// With several live matches (a create that succeeded but whose response was lost, then
/// retried), the oldest wins; the others are left for `discover` to report.
pub async fn observe_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
    key: &KmsKeySpec,
) -> Result<Option<Observed>, CloudError> {
    let logical = spec.id.to_string();
    let tagged = tagging::find_by_tags(
        clients,
        &["kms:key"],
        &[(STACK_TAG, stack_of(spec)?), (LOGICAL_TAG, &logical)],
    )
    .await?;
    let mut live = Vec::new();
    for resource in &tagged {
        if let Some(meta) = describe_live(clients, &resource.arn).await? {
            live.push(meta);
        }
    }
    live.sort_by_key(|m| m.creation_date().map(|d| (d.secs(), d.subsec_nanos())));
    match live.first() {
        Some(meta) => Ok(Some(
            read_key(clients, meta, Some(key.rotation_period_days)).await?,
        )),
        None => Ok(None),
    }
}

/// A key found by `discover`; `None` when it is pending deletion (already deleted, for us).
pub async fn discovered_key(
    clients: &AwsClients,
    resource: &TaggedResource,
) -> Result<Option<Observed>, CloudError> {
    match describe_live(clients, &resource.arn).await? {
        Some(meta) => Ok(Some(read_key(clients, &meta, None).await?)),
        None => Ok(None),
    }
}

/// DescribeKey, or `None` when the key is gone or scheduled for deletion.
async fn describe_live(
    clients: &AwsClients,
    key_id: &str,
) -> Result<Option<KeyMetadata>, CloudError> {
    let described = clients.kms.describe_key().key_id(key_id).send().await;
    let meta = match described.classified(SERVICE, "DescribeKey") {
        Ok(out) => out.key_metadata,
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    Ok(meta.filter(|m| {
        !matches!(
            m.key_state(),
            Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
        )
    }))
}

/// Reads every managed field of a key.
///
/// `expected_period` stands in for the rotation period when rotation is on and KMS does not
/// report one: moto (5.2.5) accepts `RotationPeriodInDays` but never returns it, while AWS
/// always does. Without this, every plan against moto would show a rotation change.
async fn read_key(
    clients: &AwsClients,
    meta: &KeyMetadata,
    expected_period: Option<u32>,
) -> Result<Observed, CloudError> {
    let key_id = meta.key_id();
    let policy = clients
        .kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name(POLICY_NAME)
        .send()
        .await
        .classified(SERVICE, "GetKeyPolicy")?;
    let rotation = clients
        .kms
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .classified(SERVICE, "GetKeyRotationStatus")?;
    let tags: Vec<Tag> = clients
        .kms
        .list_resource_tags()
        .key_id(key_id)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .classified(SERVICE, "ListResourceTags")?;
    let tags: Tags = tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect();

    let enabled = rotation.key_rotation_enabled();
    let period = match (rotation.rotation_period_in_days(), expected_period) {
        (Some(days), _) => Json::from(days),
        (None, Some(expected)) if enabled => Json::from(expected),
        (None, _) => Json::Null,
    };
    let arn = meta.arn().unwrap_or_default().to_owned();
    Ok(Observed {
        physical_id: key_id.to_owned(),
        outputs: Outputs::from([(OutputKey::Id, key_id.to_owned()), (OutputKey::Arn, arn)]),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (
                field::DESCRIPTION,
                Json::String(meta.description().unwrap_or_default().to_owned()),
            ),
            (field::ROTATION_ENABLED, Json::Bool(enabled)),
            (field::ROTATION_PERIOD_DAYS, period),
            (
                field::KEY_POLICY,
                policy.policy().map_or(Json::Null, parse_document),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    })
}

/// CreateKey with description, policy and tags, then EnableKeyRotation with the period.
pub async fn create_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
    key: &KmsKeySpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let policy = resolve(&key.policy, ctx, SERVICE, "CreateKey")?.to_string();
    let created = clients
        .kms
        .create_key()
        .description(&key.description)
        .policy(policy)
        .set_tags(Some(kms_tags(&spec.tags)))
        .send()
        .await
        .classified(SERVICE, "CreateKey")?;
    let meta = created.key_metadata.ok_or_else(|| {
        CloudError::fatal(SERVICE, "CreateKey", "the response has no `KeyMetadata`")
    })?;
    let days = i32::try_from(key.rotation_period_days).map_err(|_| {
        CloudError::fatal(
            SERVICE,
            "EnableKeyRotation",
            format!(
                "rotation period {} is out of range",
                key.rotation_period_days
            ),
        )
    })?;
    enable_rotation(clients, meta.key_id(), Some(days)).await?;
    Ok(Outputs::from([
        (OutputKey::Id, meta.key_id().to_owned()),
        (OutputKey::Arn, meta.arn().unwrap_or_default().to_owned()),
    ]))
}

/// EnableKeyRotation; without a period KMS keeps the key's current one (its default, 365
/// days, on a key that never had one).
async fn enable_rotation(
    clients: &AwsClients,
    key_id: &str,
    days: Option<i32>,
) -> Result<(), CloudError> {
    clients
        .kms
        .enable_key_rotation()
        .key_id(key_id)
        .set_rotation_period_in_days(days)
        .send()
        .await
        .classified(SERVICE, "EnableKeyRotation")?;
    Ok(())
}

/// Changes only the named fields: one call per field (rotation fields share one call).
///
/// Every value is read through `resolved_field`, so an undo writes back the recorded
/// description, rotation and policy instead of the spec's.
pub async fn update_key(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let key_id = current.physical_id.as_str();
    let mut rotation_done = false;
    for name in changed {
        match name.as_str() {
            field::DESCRIPTION => {
                let op = "UpdateKeyDescription";
                // Observation reports a key without description as "", so null is the same.
                let description = resolved_text(spec, field::DESCRIPTION, ctx, SERVICE, op)?;
                clients
                    .kms
                    .update_key_description()
                    .key_id(key_id)
                    .description(description.unwrap_or_default())
                    .send()
                    .await
                    .classified(SERVICE, op)?;
            }
            field::ROTATION_ENABLED | field::ROTATION_PERIOD_DAYS => {
                if !rotation_done {
                    update_rotation(clients, spec, key_id, ctx).await?;
                    rotation_done = true;
                }
            }
            field::KEY_POLICY => {
                let op = "PutKeyPolicy";
                let policy = resolved_document(spec, field::KEY_POLICY, ctx, SERVICE, op)?
                    .ok_or_else(|| {
                        CloudError::fatal(
                            SERVICE,
                            op,
                            format!(
                                "`{}` has no key policy to send; a key always has one, so \
                                 this is a txdeploy bug",
                                spec.id
                            ),
                        )
                    })?;
                clients
                    .kms
                    .put_key_policy()
                    .key_id(key_id)
                    .policy_name(POLICY_NAME)
                    .policy(policy)
                    .send()
                    .await
                    .classified(SERVICE, op)?;
            }
            field::TAGS => {
                update_tags(clients, key_id, current, &desired_tags(spec, ctx)?).await?;
            }
            other => return Err(unknown_field(spec, other)),
        }
    }
    Ok(current.outputs.clone())
}

/// EnableKeyRotation with the period, or DisableKeyRotation when the value to write is
/// "off" (only an undo of a key whose rotation was off before; specs always enable it).
async fn update_rotation(
    clients: &AwsClients,
    spec: &ResourceSpec,
    key_id: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "EnableKeyRotation";
    let enabled = resolved_bool(spec, field::ROTATION_ENABLED, ctx, SERVICE, op)?;
    if enabled == Some(false) {
        clients
            .kms
            .disable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .classified(SERVICE, "DisableKeyRotation")?;
        return Ok(());
    }
    let days = resolved_i32(spec, field::ROTATION_PERIOD_DAYS, ctx, SERVICE, op)?;
    enable_rotation(clients, key_id, days).await
}

async fn update_tags(
    clients: &AwsClients,
    key_id: &str,
    current: &Observed,
    desired: &Tags,
) -> Result<(), CloudError> {
    let diff = TagDiff::between(&observed_tags(current), desired);
    if !diff.set.is_empty() {
        clients
            .kms
            .tag_resource()
            .key_id(key_id)
            .set_tags(Some(kms_tags(&diff.set)))
            .send()
            .await
            .classified(SERVICE, "TagResource")?;
    }
    if !diff.remove.is_empty() {
        clients
            .kms
            .untag_resource()
            .key_id(key_id)
            .set_tag_keys(Some(diff.remove))
            .send()
            .await
            .classified(SERVICE, "UntagResource")?;
    }
    Ok(())
}

fn kms_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect()
}

/// Schedules the key for deletion after the 7-day waiting period and reports the date.
///
/// A key already pending deletion counts as deleted, so a retried delete succeeds.
pub async fn delete_key(
    clients: &AwsClients,
    current: &Observed,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let key_id = current.physical_id.as_str();
    let scheduled = clients
        .kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(DELETION_WINDOW_DAYS)
        .send()
        .await
        .classified(SERVICE, "ScheduleKeyDeletion");
    match scheduled {
        Ok(out) => {
            let when = out.deletion_date().map_or_else(
                || format!("in {DELETION_WINDOW_DAYS} days"),
                |d| format!("on {d}"),
            );
            ctx.progress(format!(
                "key `{key_id}` is scheduled for deletion {when}; until then \
                 `aws kms cancel-key-deletion --key-id {key_id}` restores it"
            ));
            Ok(())
        }
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) if e.code.as_deref() == Some("KMSInvalidStateException") => {
            match describe_live(clients, key_id).await? {
                None => Ok(()),
                Some(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The alias with this exact name (`alias/...`), from ListAliases.
pub async fn observe_alias(
    clients: &AwsClients,
    alias_name: &str,
) -> Result<Option<Observed>, CloudError> {
    let aliases = list_aliases(clients).await?;
    Ok(aliases
        .into_iter()
        .find(|a| a.alias_name() == Some(alias_name))
        .map(|a| alias_observed(&a)))
}

/// Every alias named `alias/{stack}-*` that points at one of the stack's keys, with the
/// logical name after the prefix.
///
/// The target check matters: names alone cannot tell stack `tx-dev` from `tx-dev-eu`
/// (`alias/tx-dev-eu-s3` starts with `alias/tx-dev-`), and an alias reported here may be
/// deleted as an orphan.
pub async fn discover_aliases(
    clients: &AwsClients,
    stack: &str,
    stack_key_ids: &BTreeSet<String>,
) -> Result<Vec<Discovered>, CloudError> {
    let prefix = format!("alias/{stack}-");
    let mut found = Vec::new();
    for alias in list_aliases(clients).await? {
        let Some(logical) = alias.alias_name().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if !alias
            .target_key_id()
            .is_some_and(|k| stack_key_ids.contains(k))
        {
            continue;
        }
        let id = format!("{}/{logical}", ResourceKind::KmsAlias);
        if let Ok(id) = id.parse::<ResourceId>() {
            found.push(Discovered {
                id,
                observed: alias_observed(&alias),
            });
        }
    }
    Ok(found)
}

/// The key id in a key ARN (`arn:aws:kms:{region}:{account}:key/{id}`).
pub fn key_id_of(arn: &str) -> Option<&str> {
    let parsed = tagging::Arn::parse(arn)?;
    (parsed.service == "kms").then_some(())?;
    parsed.resource.strip_prefix("key/")
}

async fn list_aliases(
    clients: &AwsClients,
) -> Result<Vec<aws_sdk_kms::types::AliasListEntry>, CloudError> {
    clients
        .kms
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .classified(SERVICE, "ListAliases")
}

fn alias_observed(alias: &aws_sdk_kms::types::AliasListEntry) -> Observed {
    let name = alias.alias_name().unwrap_or_default().to_owned();
    Observed {
        physical_id: name.clone(),
        outputs: Outputs::from([
            (OutputKey::Name, name),
            (
                OutputKey::Arn,
                alias.alias_arn().unwrap_or_default().to_owned(),
            ),
        ]),
        fields: [(
            field::TARGET_KEY_ID.to_owned(),
            alias
                .target_key_id()
                .map_or(Json::Null, |k| Json::String(k.to_owned())),
        )]
        .into(),
    }
}

/// CreateAlias; the ARN is derived, as CreateAlias returns nothing.
pub async fn create_alias(
    clients: &AwsClients,
    spec: &ResourceSpec,
    alias: &KmsAliasSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let target = ctx.require(&alias.target_key)?;
    clients
        .kms
        .create_alias()
        .alias_name(&spec.physical_name)
        .target_key_id(target)
        .send()
        .await
        .classified(SERVICE, "CreateAlias")?;
    let env = &ctx.env;
    Ok(Outputs::from([
        (OutputKey::Name, spec.physical_name.clone()),
        (
            OutputKey::Arn,
            format!(
                "arn:{}:kms:{}:{}:{}",
                env.partition, env.region, env.account_id, spec.physical_name
            ),
        ),
    ]))
}

/// UpdateAlias to point at the desired key (in an undo, the recorded one).
pub async fn update_alias(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    for name in changed {
        match name.as_str() {
            field::TARGET_KEY_ID => {
                let op = "UpdateAlias";
                let target = resolved_text(spec, field::TARGET_KEY_ID, ctx, SERVICE, op)?
                    .ok_or_else(|| {
                        CloudError::fatal(
                            SERVICE,
                            op,
                            format!(
                                "`{}` has no target key to point at; an alias always has \
                                 one, so this is a txdeploy bug",
                                spec.id
                            ),
                        )
                    })?;
                clients
                    .kms
                    .update_alias()
                    .alias_name(&spec.physical_name)
                    .target_key_id(target)
                    .send()
                    .await
                    .classified(SERVICE, op)?;
            }
            other => return Err(unknown_field(spec, other)),
        }
    }
    Ok(current.outputs.clone())
}

/// DeleteAlias; an alias that is already gone is not an error.
pub async fn delete_alias(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let deleted = clients
        .kms
        .delete_alias()
        .alias_name(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteAlias");
    match deleted {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}
