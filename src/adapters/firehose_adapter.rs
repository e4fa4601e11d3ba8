//! Firehose: the `DirectPut` delivery stream with its extended S3 destination (role, bucket,
//! prefixes, buffering, compression, KMS), waited on until ACTIVE, plus tags.

use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamDescription, DeliveryStreamStatus,
    DeliveryStreamType, EncryptionConfiguration, ExtendedS3DestinationConfiguration,
    ExtendedS3DestinationDescription, ExtendedS3DestinationUpdate, KmsEncryptionConfig,
    NoEncryptionConfig, Tag,
};
use serde_json::{Value as Json, json};

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::tagging::{TagDiff, TaggedResource, Tags, desired_tags, observed_tags, tags_json};
use super::{resolved_field, unknown_field};
use crate::cloud::waiter::{Poll, WaitPolicy, wait_until};
use crate::cloud::{CloudError, ErrorClass, Observed, StepContext};
use crate::spec::{OutputKey, Outputs, ResourceSpec, field};

const SERVICE: &str = "firehose";

/// The delivery stream named `name`, or `None` (also while it is being deleted).
pub async fn observe(clients: &AwsClients, name: &str) -> Result<Option<Observed>, CloudError> {
    let Some(stream) = describe(clients, name).await? else {
        return Ok(None);
    };
    if *stream.delivery_stream_status() == DeliveryStreamStatus::Deleting {
        return Ok(None);
    }
    let tags = list_tags(clients, name).await?;
    let destination = stream
        .destinations()
        .iter()
        .find_map(|d| d.extended_s3_destination_description());
    Ok(Some(Observed {
        physical_id: name.to_owned(),
        outputs: Outputs::from([
            (OutputKey::Arn, stream.delivery_stream_arn().to_owned()),
            (OutputKey::Name, name.to_owned()),
        ]),
        fields: [
            (field::TAGS, tags_json(&tags)),
            (
                field::STREAM_TYPE,
                Json::from(stream.delivery_stream_type().as_str()),
            ),
            (
                field::S3_DESTINATION,
                destination.map_or(Json::Null, destination_json),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    }))
}

/// A stream found by `discover`, read in full by the name its ARN ends with.
pub async fn discovered(
    clients: &AwsClients,
    resource: &TaggedResource,
) -> Result<Option<Observed>, CloudError> {
    let name = resource.arn.rsplit('/').next().unwrap_or_default();
    observe(clients, name).await
}

async fn describe(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<DeliveryStreamDescription>, CloudError> {
    Ok(clients
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
        .classified(SERVICE, "DescribeDeliveryStream")
        .found(&[])?
        .and_then(|out| out.delivery_stream_description))
}

async fn list_tags(clients: &AwsClients, name: &str) -> Result<Tags, CloudError> {
    let mut tags = Tags::new();
    let mut start = None;
    loop {
        let page = clients
            .firehose
            .list_tags_for_delivery_stream()
            .delivery_stream_name(name)
            .set_exclusive_start_tag_key(start)
            .send()
            .await
            .classified(SERVICE, "ListTagsForDeliveryStream")?;
        let last = page.tags().last().map(|t| t.key().to_owned());
        for tag in page.tags() {
            tags.insert(
                tag.key().to_owned(),
                tag.value().unwrap_or_default().to_owned(),
            );
        }
        match (page.has_more_tags(), last) {
            (true, Some(last)) => start = Some(last),
            _ => return Ok(tags),
        }
    }
}

/// The `s3_destination` field as `DeliveryStreamSpec` documents it.
fn destination_json(d: &ExtendedS3DestinationDescription) -> Json {
    let hints = d.buffering_hints();
    let kms = d
        .encryption_configuration()
        .and_then(EncryptionConfiguration::kms_encryption_config)
        .map(KmsEncryptionConfig::awskms_key_arn);
    json!({
        "role_arn": d.role_arn(),
        "bucket_arn": d.bucket_arn(),
        "prefix": d.prefix(),
        "error_output_prefix": d.error_output_prefix(),
        "buffering_hints": {
            "size_in_mbs": hints.and_then(BufferingHints::size_in_mbs),
            "interval_in_seconds": hints.and_then(BufferingHints::interval_in_seconds),
        },
        "compression_format": d.compression_format().as_str(),
        "kms_key_arn": kms,
    })
}

/// The resolved `s3_destination`, read into the pieces both the create and the update call
/// take.
struct Destination {
    role_arn: String,
    bucket_arn: String,
    prefix: Option<String>,
    error_output_prefix: Option<String>,
    buffering: BufferingHints,
    compression: CompressionFormat,
    encryption: EncryptionConfiguration,
}

impl Destination {
    fn from_spec(spec: &ResourceSpec, ctx: &StepContext, op: &str) -> Result<Self, CloudError> {
        let value = resolved_field(spec, field::S3_DESTINATION, ctx, SERVICE, op)?;
        let text = |key: &str| value.get(key).and_then(Json::as_str).map(str::to_owned);
        let required = |key: &str| {
            text(key).ok_or_else(|| {
                CloudError::fatal(
                    SERVICE,
                    op,
                    format!(
                        "`{}`: `s3_destination.{key}` must be a string; this is a txdeploy bug",
                        spec.id
                    ),
                )
            })
        };
        let hint = |key: &str| {
            value
                .pointer(&format!("/buffering_hints/{key}"))
                .and_then(Json::as_i64)
                .and_then(|n| i32::try_from(n).ok())
        };
        let encryption = match text("kms_key_arn") {
            Some(key) => EncryptionConfiguration::builder()
                .kms_encryption_config(
                    KmsEncryptionConfig::builder()
                        .awskms_key_arn(key)
                        .build()
                        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?,
                )
                .build(),
            None => EncryptionConfiguration::builder()
                .no_encryption_config(NoEncryptionConfig::NoEncryption)
                .build(),
        };
        Ok(Self {
            role_arn: required("role_arn")?,
            bucket_arn: required("bucket_arn")?,
            prefix: text("prefix"),
            error_output_prefix: text("error_output_prefix"),
            buffering: BufferingHints::builder()
                .set_size_in_mbs(hint("size_in_mbs"))
                .set_interval_in_seconds(hint("interval_in_seconds"))
                .build(),
            compression: CompressionFormat::from(
                text("compression_format")
                    .unwrap_or_else(|| "UNCOMPRESSED".to_owned())
                    .as_str(),
            ),
            encryption,
        })
    }
}

/// Firehose checks the role when a stream is created or changed; a role created a moment
/// ago is "unable to assume" until IAM has propagated it, which clears up by itself.
fn role_not_ready(mut err: CloudError) -> CloudError {
    let msg = err.message.to_ascii_lowercase();
    if err.code.as_deref() == Some("InvalidArgumentException")
        && msg.contains("role")
        && (msg.contains("assume") || msg.contains("access"))
    {
        err.class = ErrorClass::EventuallyConsistent;
    }
    err
}

/// CreateDeliveryStream (DirectPut, extended S3 destination, tags), then waits for ACTIVE.
pub async fn create(
    clients: &AwsClients,
    spec: &ResourceSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "CreateDeliveryStream";
    let d = Destination::from_spec(spec, ctx, op)?;
    let stream_type = resolved_field(spec, field::STREAM_TYPE, ctx, SERVICE, op)?;
    let configuration = ExtendedS3DestinationConfiguration::builder()
        .role_arn(d.role_arn)
        .bucket_arn(d.bucket_arn)
        .set_prefix(d.prefix)
        .set_error_output_prefix(d.error_output_prefix)
        .buffering_hints(d.buffering)
        .compression_format(d.compression)
        .encryption_configuration(d.encryption)
        .build()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
    let tags = spec
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
    let name = spec.physical_name.as_str();
    clients
        .firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(DeliveryStreamType::from(
            stream_type.as_str().unwrap_or("DirectPut"),
        ))
        .extended_s3_destination_configuration(configuration)
        .set_tags(Some(tags))
        .send()
        .await
        .classified(SERVICE, op)
        .map_err(role_not_ready)?;
    let arn = wait_active(clients, name, ctx).await?;
    Ok(Outputs::from([
        (OutputKey::Arn, arn),
        (OutputKey::Name, name.to_owned()),
    ]))
}

/// Waits until the stream is ACTIVE and returns its ARN; a failed creation is fatal with
/// AWS's reason.
async fn wait_active(
    clients: &AwsClients,
    name: &str,
    ctx: &StepContext,
) -> Result<String, CloudError> {
    let what = format!("delivery stream `{name}` to become ACTIVE");
    wait_until(&what, ctx, WaitPolicy::SHORT, || async {
        let Some(stream) = describe(clients, name).await? else {
            return Ok(Poll::Pending("not visible yet".to_owned()));
        };
        match stream.delivery_stream_status() {
            DeliveryStreamStatus::Active => {
                Ok(Poll::Ready(stream.delivery_stream_arn().to_owned()))
            }
            status @ (DeliveryStreamStatus::CreatingFailed
            | DeliveryStreamStatus::DeletingFailed) => Err(CloudError::fatal(
                SERVICE,
                "CreateDeliveryStream",
                format!(
                    "delivery stream `{name}` is {}: {}; delete it in the console and run \
                     the command again",
                    status.as_str(),
                    stream
                        .failure_description()
                        .map_or("no reason given", |f| f.details())
                ),
            )),
            status => Ok(Poll::Pending(status.as_str().to_owned())),
        }
    })
    .await
}

/// UpdateDestination for `s3_destination` (with the stream's current version and
/// destination ids), tag calls for `tags`.
pub async fn update(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let name = current.physical_id.as_str();
    for changed_field in changed {
        match changed_field.as_str() {
            field::S3_DESTINATION => update_destination(clients, spec, name, ctx).await?,
            field::TAGS => update_tags(clients, spec, current, name, ctx).await?,
            _ => return Err(unknown_field(spec, changed_field)),
        }
    }
    Ok(current.outputs.clone())
}

async fn update_destination(
    clients: &AwsClients,
    spec: &ResourceSpec,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "UpdateDestination";
    let d = Destination::from_spec(spec, ctx, op)?;
    // The version id changes with every update: read it fresh rather than from the plan.
    let stream = describe(clients, name).await?.ok_or_else(|| {
        CloudError::from_parts(
            SERVICE,
            op,
            Some("ResourceNotFoundException"),
            None,
            format!(
                "delivery stream `{name}` disappeared before its update; run the command again"
            ),
        )
    })?;
    let destination_id = stream
        .destinations()
        .first()
        .map(|d| d.destination_id().to_owned())
        .ok_or_else(|| {
            CloudError::fatal(
                SERVICE,
                op,
                format!("delivery stream `{name}` has no destination; delete it and apply again"),
            )
        })?;
    let update = ExtendedS3DestinationUpdate::builder()
        .role_arn(d.role_arn)
        .bucket_arn(d.bucket_arn)
        .set_prefix(d.prefix)
        .set_error_output_prefix(d.error_output_prefix)
        .buffering_hints(d.buffering)
        .compression_format(d.compression)
        .encryption_configuration(d.encryption)
        .build();
    clients
        .firehose
        .update_destination()
        .delivery_stream_name(name)
        .current_delivery_stream_version_id(stream.version_id())
        .destination_id(destination_id)
        .extended_s3_destination_update(update)
        .send()
        .await
        .classified(SERVICE, op)
        .map_err(role_not_ready)?;
    Ok(())
}

async fn update_tags(
    clients: &AwsClients,
    spec: &ResourceSpec,
    current: &Observed,
    name: &str,
    ctx: &StepContext,
) -> Result<(), CloudError> {
    let op = "TagDeliveryStream";
    let diff = TagDiff::between(&observed_tags(current), &desired_tags(spec, ctx)?);
    if !diff.set.is_empty() {
        let tags = diff
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CloudError::fatal(SERVICE, op, e.to_string()))?;
        clients
            .firehose
            .tag_delivery_stream()
            .delivery_stream_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .classified(SERVICE, op)?;
    }
    if !diff.remove.is_empty() {
        clients
            .firehose
            .untag_delivery_stream()
            .delivery_stream_name(name)
            .set_tag_keys(Some(diff.remove))
            .send()
            .await
            .classified(SERVICE, "UntagDeliveryStream")?;
    }
    Ok(())
}

/// DeleteDeliveryStream; a stream already gone is fine. Deletion finishes asynchronously,
/// and `observe` already reports a DELETING stream as gone.
pub async fn delete(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    clients
        .firehose
        .delete_delivery_stream()
        .delivery_stream_name(&current.physical_id)
        .send()
        .await
        .classified(SERVICE, "DeleteDeliveryStream")
        .found(&[])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_role_not_yet_assumable_is_retried() {
        let err = CloudError::from_parts(
            SERVICE,
            "CreateDeliveryStream",
            Some("InvalidArgumentException"),
            Some(400),
            "Firehose is unable to assume role arn:aws:iam::1:role/r. Please check the role \
             provided.",
        );
        assert_eq!(role_not_ready(err).class, ErrorClass::EventuallyConsistent);
        let other = CloudError::from_parts(
            SERVICE,
            "CreateDeliveryStream",
            Some("InvalidArgumentException"),
            Some(400),
            "BufferingHints.SizeInMBs must be at least 1",
        );
        assert_eq!(role_not_ready(other).class, ErrorClass::Fatal);
    }

    #[test]
    fn the_description_reads_back_in_the_spec_shape() {
        let description = ExtendedS3DestinationDescription::builder()
            .role_arn("arn:role")
            .bucket_arn("arn:bucket")
            .prefix("logs/")
            .error_output_prefix("logs/errors/")
            .buffering_hints(
                BufferingHints::builder()
                    .size_in_mbs(5)
                    .interval_in_seconds(300)
                    .build(),
            )
            .compression_format(CompressionFormat::Gzip)
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .kms_encryption_config(
                        KmsEncryptionConfig::builder()
                            .awskms_key_arn("arn:key")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
            .unwrap();
        assert_eq!(
            destination_json(&description),
            json!({
                "role_arn": "arn:role",
                "bucket_arn": "arn:bucket",
                "prefix": "logs/",
                "error_output_prefix": "logs/errors/",
                "buffering_hints": {"size_in_mbs": 5, "interval_in_seconds": 300},
                "compression_format": "GZIP",
                "kms_key_arn": "arn:key",
            })
        );
    }
}
