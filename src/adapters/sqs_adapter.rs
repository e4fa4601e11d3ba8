//! SQS queues: KMS encryption, visibility timeout, retention and redrive policy as queue
//! attributes, plus tags. Found by name with GetQueueUrl.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, TaggedResource, Tags, desired_tags, observed_tags, tags_json};
use super::{parse_document, resolved_field, unknown_field};
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "sqs";

/// The queue named `name`, or `None` when it does not exist.
pub async fn observe(clients: &AwsClients, name: &str) -> Result<Option<Observed>, CloudError> {
    let url = clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .classified(SERVICE, "GetQueueUrl")
        .found(&[])?
        .and_then(|out| out.queue_url);
    match url {
        Some(url) => read_queue(clients, name, &url).await,
        None => Ok(None),
    }
}

/// A queue found by `discover`, read in full (it is a cheap read once the URL is known).
pub async fn discovered(
    clients: &AwsClients,
    resource: &TaggedResource,
) -> Result<Option<Observed>, CloudError> {
    let name = resource.arn.rsplit(':').next().unwrap_or_default();
    observe(clients, name).await
}

async fn read_queue(
    clients: &AwsClients,
    name: &str,
    url: &str,
) -> Result<Option<Observed>, CloudError> {
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .classified(SERVICE, "GetQueueAttributes")
        .found(&[])?;
    // Deleted between the two calls.
    let Some(attributes) = attributes else {
        return Ok(None);
    };
    let attributes = attributes.attributes.unwrap_or_default();
    let tags: Tags = clients
        .sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .classified(SERVICE, "ListQueueTags")?
        .tags
        .unwrap_or_default()
        .into_iter()
        .collect();

    let attr = |name: QueueAttributeName| attributes.get(&name).map(String::as_str);
    let arn = attr(QueueAttributeName::QueueArn)
        .unwrap_or_default()
        .to_owned();
    Ok(Some(Observed {
        physical_id: url.to_owned(),
        outputs: Outputs::from([
            (OutputKey::Url, url.to_owned()),
            (OutputKey::Arn, arn),
            (OutputKey::Name, name.to_owned()),
        ]),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (
                field::KMS_MASTER_KEY_ID,
                attr(QueueAttributeName::KmsMasterKeyId).map_or(Json::Null, Json::from),
            ),
            (
                field::VISIBILITY_TIMEOUT,
                number(attr(QueueAttributeName::VisibilityTimeout)),
            ),
            (
                field::MESSAGE_RETENTION,
                number(attr(QueueAttributeName::MessageRetentionPeriod)),
            ),
            (
                field::REDRIVE_POLICY,
                redrive_json(attr(QueueAttributeName::RedrivePolicy)),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// SQS attributes are strings; the spec's numbers are JSON numbers.
fn number(text: Option<&str>) -> Json {
    match text {
        Some(t) => t
            .parse::<i64>()
            .map_or_else(|_| Json::String(t.to_owned()), Json::from),
        None => Json::Null,
    }
}

/// The redrive policy as JSON, with `maxReceiveCount` as a number (AWS echoes it as it was
/// sent, which may be a string). An empty attribute means no policy.
fn redrive_json(text: Option<&str>) -> Json {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Json::Null;
    };
    let mut policy = parse_document(text);
    if let Some(count) = policy.get_mut("maxReceiveCount")
        && let Some(n) = count.as_str().and_then(|s| s.parse::<i64>().ok())
    {
        *count = Json::from(n);
    }
    policy
}

/// The attribute string for a resolved field value: strings as they are, numbers in
/// decimal, documents serialized, and null as the empty string that removes an attribute.
fn attribute_text(value: Json) -> String {
    match value {
        Json::String(s) => s,
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn attribute_of(field_name: &str) -> Option<QueueAttributeName> {
    Some(match field_name {
        field::KMS_MASTER_KEY_ID => QueueAttributeName::KmsMasterKeyId,
        field::VISIBILITY_TIMEOUT => QueueAttributeName::VisibilityTimeout,
        field::MESSAGE_RETENTION => QueueAttributeName::MessageRetentionPeriod,
        field::REDRIVE_POLICY => QueueAttributeName::RedrivePolicy,
        _ => return None,
    })
}

/// CreateQueue with every attribute and tag in one call.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateQueue";
    let mut attributes = HashMap::new();
    for name in [
        field::KMS_MASTER_KEY_ID,
        field::VISIBILITY_TIMEOUT,
        field::MESSAGE_RETENTION,
        field::REDRIVE_POLICY,
    ] {
        let value = resolved_field(spec, name, ctx, SERVICE, op)?;
        // A queue without a redrive policy is created without the attribute.
        if let (Some(attribute), false) = (attribute_of(name), value.is_null()) {
            attributes.insert(attribute, attribute_text(value));
        }
    }
    let created = clients
        .sqs
        .create_queue()
        .queue_name(&spec.physical_name)
        .set_attributes(Some(attributes))
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .classified(SERVICE, op)?;
    let url = created
        .queue_url
        .ok_or_else(|| CloudError::fatal(SERVICE, op, "the response has no `QueueUrl`"))?;
    let env = &ctx.env;
    Ok(Outputs::from([
        (OutputKey::Url, url),
        (
            OutputKey::Arn,
            format!(
                "arn:{}:sqs:{}:{}:{}",
                env.partition, env.region, env.account_id, spec.physical_name
            ),
        ),
        (OutputKey::Name, spec.physical_name.clone()),
    ]))
}

/// One SetQueueAttributes for every changed attribute, then tag calls if tags changed.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let url = current.physical_id.as_str();
    let mut attributes = HashMap::new();
    let mut tags_changed = false;
    for name in changed {
        if name == field::TAGS {
            tags_changed = true;
        } else if let Some(attribute) = attribute_of(name) {
            let value = resolved_field(spec, name, ctx, SERVICE, "SetQueueAttributes")?;
            attributes.insert(attribute, attribute_text(value));
        } else {
            return Err(unknown_field(spec, name));
        }
    }
    if !attributes.is_empty() {
        clients
            .sqs
            .set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(attributes))
            .send()
            .await
            .classified(SERVICE, "SetQueueAttributes")?;
    }
    if tags_changed {
        let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
        if !diff.set.is_empty() {
            clients
                .sqs
                .tag_queue()
                .queue_url(url)
                .set_tags(Some(diff.set.into_iter().collect()))
                .send()
                .await
                .classified(SERVICE, "TagQueue")?;
        }
        if !diff.remove.is_empty() {
            clients
                .sqs
                .untag_queue()
                .queue_url(url)
                .set_tag_keys(Some(diff.remove))
                .send()
                .await
                .classified(SERVICE, "UntagQueue")?;
        }
    }
    Ok(current.outputs.clone())
}

/// DeleteQueue; a queue that is already gone is not an error.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .sqs
        .delete_queue()
        .queue_url(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteQueue")
        .found(&[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_strings_become_the_spec_shapes() {
        assert_eq!(number(Some("180")), Json::from(180));
        assert_eq!(number(None), Json::Null);
        assert_eq!(
            redrive_json(Some(
                r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":"3"}"#
            )),
            serde_json::json!({"deadLetterTargetArn": "arn:x", "maxReceiveCount": 3})
        );
        assert_eq!(redrive_json(Some("")), Json::Null);
    }
}
