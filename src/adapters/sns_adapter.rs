//! SNS topics: KMS encryption, tags and the optional e-mail subscription. Found by the ARN
//! derived from the name, account and region.

use aws_sdk_sns::types::{Subscription, Tag};
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, TaggedResource, Tags, desired_tags, observed_tags, tags_json};
use super::{resolved_text, unknown_field};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{Environment, OutputKey, Outputs, ResourceSpec, TopicSpec, field};

const SERVICE: &str = "sns";
const KMS_ATTRIBUTE: &str = "KmsMasterKeyId";
const EMAIL: &str = "email";
/// What SNS lists instead of an ARN until the recipient confirms.
const PENDING: &str = "PendingConfirmation";

fn topic_arn(name: &str, env: &Environment) -> String {
    format!(
        "arn:{}:sns:{}:{}:{name}",
        env.partition, env.region, env.account_id
    )
}

fn outputs(arn: &str, name: &str) -> Outputs {
    Outputs::from([
        (OutputKey::Arn, arn.to_owned()),
        (OutputKey::Name, name.to_owned()),
    ])
}

/// Reads the topic named `name`; `None` when it does not exist.
///
/// `wanted_email` decides which e-mail subscription is reported when there are several:
/// the desired one if it exists (confirmed or pending), otherwise the first.
pub async fn observe(
    clients: &AwsClients,
    name: &str,
    wanted_email: Option<&str>,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let arn = topic_arn(name, env);
    let attributes = clients
        .sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .classified(SERVICE, "GetTopicAttributes")
        .found(&[])?;
    let Some(attributes) = attributes else {
        return Ok(None);
    };
    let kms_key = attributes
        .attributes()
        .and_then(|a| a.get(KMS_ATTRIBUTE))
        .cloned();
    let tags = list_tags(clients, &arn).await?;
    let emails = email_subscriptions(clients, &arn).await?;
    let endpoints: Vec<&str> = emails.iter().filter_map(Subscription::endpoint).collect();
    let email = wanted_email
        .filter(|wanted| endpoints.contains(wanted))
        .or(endpoints.first().copied())
        .map_or(Json::Null, Json::from);
    Ok(Some(Observed {
        physical_id: arn.clone(),
        outputs: outputs(&arn, name),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (
                field::KMS_MASTER_KEY_ID,
                kms_key.map_or(Json::Null, Json::String),
            ),
            (field::EMAIL_SUBSCRIPTION, email),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// A topic found by `discover`: ARN, name and tags (settings are read by `observe`).
pub fn discovered(resource: &TaggedResource) -> Observed {
    let name = resource.arn.rsplit(':').next().unwrap_or_default();
    Observed {
        physical_id: resource.arn.clone(),
        outputs: outputs(&resource.arn, name),
        fields: [(field::TAGS.to_owned(), tags_json(&resource.tags))].into(),
    }
}

async fn list_tags(clients: &AwsClients, arn: &str) -> Result<Tags, CloudError> {
    let listed = clients
        .sns
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .classified(SERVICE, "ListTagsForResource")?;
    Ok(listed
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

/// E-mail subscriptions of the topic, pending confirmations included.
async fn email_subscriptions(
    clients: &AwsClients,
    arn: &str,
) -> Result<Vec<Subscription>, CloudError> {
    let all: Vec<Subscription> = clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .classified(SERVICE, "ListSubscriptionsByTopic")?;
    Ok(all
        .into_iter()
        .filter(|s| s.protocol() == Some(EMAIL))
        .collect())
}

/// CreateTopic with the key and tags, then the e-mail subscription if one is wanted.
///
/// CreateTopic is idempotent for the same name and attributes, so a retried create
/// returns the same topic.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    topic: &TopicSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateTopic";
    let created = clients
        .sns
        .create_topic()
        .name(&spec.physical_name)
        .attributes(KMS_ATTRIBUTE, ctx.require(&topic.kms_key)?)
        .set_tags(Some(sns_tags(&spec.tags, op)?))
        .send()
        .await
        .classified(SERVICE, op)?;
    let arn = created
        .topic_arn
        .ok_or_else(|| CloudError::fatal(SERVICE, op, "the response has no `TopicArn`"))?;
    if let Some(email) = &topic.email_subscription {
        subscribe(clients, &arn, email).await?;
    }
    Ok(outputs(&arn, &spec.physical_name))
}

async fn subscribe(clients: &AwsClients, arn: &str, email: &str) -> Result<(), CloudError> {
    clients
        .sns
        .subscribe()
        .topic_arn(arn)
        .protocol(EMAIL)
        .endpoint(email)
        .send()
        .await
        .classified(SERVICE, "Subscribe")?;
    Ok(())
}

/// Changes only the named fields.
///
/// A new e-mail address is subscribed and confirmed subscriptions of other addresses are
/// removed. Pending confirmations cannot be removed through the API (they have no ARN yet);
/// AWS drops them after three days.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let arn = current.physical_id.as_str();
    for name in changed {
        match name.as_str() {
            field::KMS_MASTER_KEY_ID => {
                let op = "SetTopicAttributes";
                // An empty value turns encryption off: what an undo of a topic that had no
                // key writes back.
                let key = resolved_text(spec, field::KMS_MASTER_KEY_ID, ctx, SERVICE, op)?;
                clients
                    .sns
                    .set_topic_attributes()
                    .topic_arn(arn)
                    .attribute_name(KMS_ATTRIBUTE)
                    .attribute_value(key.unwrap_or_default())
                    .send()
                    .await
                    .classified(SERVICE, op)?;
            }
            field::EMAIL_SUBSCRIPTION => {
                let op = "Subscribe";
                let existing = email_subscriptions(clients, arn).await?;
                let wanted = resolved_text(spec, field::EMAIL_SUBSCRIPTION, ctx, SERVICE, op)?;
                let wanted = wanted.as_deref();
                if let Some(email) = wanted
                    && !existing.iter().any(|s| s.endpoint() == Some(email))
                {
                    subscribe(clients, arn, email).await?;
                }
                for old in existing.iter().filter(|s| s.endpoint() != wanted) {
                    let Some(sub_arn) = old.subscription_arn().filter(|a| *a != PENDING) else {
                        continue;
                    };
                    clients
                        .sns
                        .unsubscribe()
                        .subscription_arn(sub_arn)
                        .send()
                        .await
                        .classified(SERVICE, "Unsubscribe")
                        .found(&[])?;
                }
            }
            field::TAGS => {
                let op = "TagResource";
                let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
                if !diff.set.is_empty() {
                    clients
                        .sns
                        .tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(sns_tags(&diff.set, op)?))
                        .send()
                        .await
                        .classified(SERVICE, op)?;
                }
                if !diff.remove.is_empty() {
                    clients
                        .sns
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(diff.remove))
                        .send()
                        .await
                        .classified(SERVICE, "UntagResource")?;
                }
            }
            other => return Err(unknown_field(spec, other)),
        }
    }
    Ok(current.outputs.clone())
}

fn sns_tags(tags: &Tags, operation: &str) -> Result<Vec<Tag>, CloudError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| CloudError::fatal(SERVICE, operation, e.to_string()))
}

/// DeleteTopic (its subscriptions go with it); a topic already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .sns
        .delete_topic()
        .topic_arn(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteTopic")
        .found(&[])?;
    Ok(())
}
