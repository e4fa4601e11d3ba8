//! Tags: finding stack resources through the Resource Groups Tagging API, reading ARNs, and
//! the tag maps and tag diffs every adapter shares.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use serde_json::Value as Json;

use super::aws_clients::AwsClients;
use super::sdk_error::Classified;
use crate::cloud::{CloudError, Observed, StepContext};
use crate::spec::{ResourceSpec, field};
use crate::stack::{LOGICAL_TAG, STACK_TAG};

/// Tag key to value, sorted so that observed and desired tags compare as JSON.
pub type Tags = BTreeMap<String, String>;

/// The `tags` field value: a JSON object of strings.
pub fn tags_json(tags: &Tags) -> Json {
    Json::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect(),
    )
}

/// The tags an earlier observation saw (empty when it saw none).
pub fn observed_tags(current: &Observed) -> Tags {
    match current.fields.get(field::TAGS) {
        Some(Json::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect(),
        _ => Tags::new(),
    }
}

/// The tags a tag update writes: the spec's, or in an undo the `tags` field recorded before
/// the failed apply (null, a resource that had none, writes none). The one place every
/// adapter's tag update takes its tags from, so none sends the new spec's tags in an undo.
pub fn desired_tags(spec: &ResourceSpec, ctx: &StepContext) -> Result<Tags, CloudError> {
    let wrong = |got: &Json| {
        let service = spec.kind().service();
        super::wrong_shape(
            spec,
            field::TAGS,
            "an object of strings",
            got,
            service.as_str(),
            "TagResource",
        )
    };
    match ctx.restored(field::TAGS) {
        None => Ok(spec.tags.clone()),
        Some(Json::Null) => Ok(Tags::new()),
        Some(Json::Object(map)) => map
            .into_iter()
            .map(|(key, value)| match value {
                Json::String(value) => Ok((key, value)),
                other => Err(wrong(&other)),
            })
            .collect(),
        Some(other) => Err(wrong(&other)),
    }
}

/// The calls that turn `current` tags into `desired`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagDiff {
    /// Tags to add or overwrite.
    pub set: Tags,
    /// Keys to remove.
    pub remove: Vec<String>,
}

impl TagDiff {
    pub fn between(current: &Tags, desired: &Tags) -> Self {
        Self {
            set: desired
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            remove: current
                .keys()
                .filter(|k| !desired.contains_key(*k))
                .cloned()
                .collect(),
        }
    }
}

/// The `txdeploy:stack` value of a spec; observation by tag must match the stack too, since
/// logical ids repeat across stacks in one account.
pub fn stack_of(spec: &ResourceSpec) -> Result<&str, CloudError> {
    spec.tags.get(STACK_TAG).map(String::as_str).ok_or_else(|| {
        CloudError::fatal(
            "txdeploy",
            "observe",
            format!(
                "`{}` has no `{STACK_TAG}` tag; build specs with `stack::build`",
                spec.id
            ),
        )
    })
}

/// A resource the tagging API returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedResource {
    pub arn: String,
    pub tags: Tags,
}

impl TaggedResource {
    /// The `txdeploy:logical` tag, if present.
    pub fn logical(&self) -> Option<&str> {
        self.tags.get(LOGICAL_TAG).map(String::as_str)
    }
}

/// Every resource carrying all of `tags` (key = value), optionally of the given resource
/// types (`kms:key`, `sqs:queue`, ...), across all pages.
pub async fn find_by_tags(
    clients: &AwsClients,
    resource_types: &[&str],
    tags: &[(&str, &str)],
) -> Result<Vec<TaggedResource>, CloudError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = clients
            .tagging
            .get_resources()
            .set_pagination_token(token.clone());
        for t in resource_types {
            request = request.resource_type_filters(*t);
        }
        for (key, value) in tags {
            request = request.tag_filters(TagFilter::builder().key(*key).values(*value).build());
        }
        let page = request.send().await.classified("tagging", "GetResources")?;
        for mapping in page.resource_tag_mapping_list() {
            let Some(arn) = mapping.resource_arn() else {
                continue;
            };
            let tags = mapping
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            found.push(TaggedResource {
                arn: arn.to_owned(),
                tags,
            });
        }
        // The API ends with an empty token rather than none.
        match page.pagination_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(found)
}

/// The parts of an ARN: `arn:{partition}:{service}:{region}:{account}:{resource}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` when it is not one.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Self {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tag_diff_sets_changed_and_new_tags_and_removes_dropped_ones() {
        let current = tags(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let desired = tags(&[("a", "1"), ("b", "20"), ("d", "4")]);
        let diff = TagDiff::between(&current, &desired);
        assert_eq!(diff.set, tags(&[("b", "20"), ("d", "4")]));
        assert_eq!(diff.remove, vec!["c".to_owned()]);
        assert_eq!(TagDiff::between(&desired, &desired), TagDiff::default());
    }

    #[test]
    fn arns_split_into_their_parts_and_keep_colons_in_the_resource() {
        let arn = Arn::parse("arn:aws-cn:kms:cn-north-1:123456789012:key/abc").unwrap();
        assert_eq!(
            (
                arn.partition,
                arn.service,
                arn.region,
                arn.account,
                arn.resource
            ),
            ("aws-cn", "kms", "cn-north-1", "123456789012", "key/abc")
        );
        let bucket = Arn::parse("arn:aws:s3:::my-bucket").unwrap();
        assert_eq!(
            (bucket.service, bucket.region, bucket.resource),
            ("s3", "", "my-bucket")
        );
        assert_eq!(
            Arn::parse("arn:aws:logs:r:1:log-group:/x:*")
                .unwrap()
                .resource,
            "log-group:/x:*"
        );
        assert_eq!(Arn::parse("not-an-arn"), None);
    }

    #[test]
    fn desired_tags_are_the_specs_except_in_an_undo_which_writes_the_recorded_ones() {
        use crate::fake_cloud::fake_environment;
        use crate::spec::{ResourceId, ResourceKind};
        let env = fake_environment();
        let config = crate::config::Config::defaults().unwrap();
        let graph = crate::stack::foundation(&config, &env).check().unwrap();
        let spec = graph
            .get(&ResourceId::new(ResourceKind::Queue, "analytics"))
            .unwrap();
        let ctx = || StepContext::quiet(env.clone(), Default::default());
        assert_eq!(desired_tags(spec, &ctx()).unwrap(), spec.tags);

        let recorded = tags(&[("txdeploy:stack", "tx-dev"), ("team", "before")]);
        let restoring = |value: Json| ctx().restoring([(field::TAGS.to_owned(), value)].into());
        assert_eq!(
            desired_tags(spec, &restoring(tags_json(&recorded))).unwrap(),
            recorded
        );
        assert_eq!(
            desired_tags(spec, &restoring(Json::Null)).unwrap(),
            Tags::new()
        );
        let wrong = desired_tags(spec, &restoring(serde_json::json!({"team": 1}))).unwrap_err();
        assert!(
            wrong.message.contains("an object of strings"),
            "{}",
            wrong.message
        );
    }

    #[test]
    fn observed_tags_read_back_what_tags_json_wrote() {
        let t = tags(&[("txdeploy:stack", "tx-dev"), ("team", "payments")]);
        let mut observed = Observed::default();
        observed
            .fields
            .insert(field::TAGS.to_owned(), tags_json(&t));
        assert_eq!(observed_tags(&observed), t);
    }
}
