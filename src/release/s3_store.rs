//! `S3ReleaseStore`: release records as JSON objects in the stack's log-archive bucket, under
//! `releases/{stack}/{number:06}.json`.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;

use super::{Release, ReleaseError, ReleaseStore, key_prefix, number_of_key, object_key};
use crate::adapters::sdk_error::{Classified, Found};
use crate::cloud::CloudError;

const SERVICE: &str = "s3";

/// The release history of one stack in one bucket.
#[derive(Clone, Debug)]
pub struct S3ReleaseStore {
    s3: aws_sdk_s3::Client,
    bucket: String,
    stack: String,
}

impl S3ReleaseStore {
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        stack: impl Into<String>,
    ) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
            stack: stack.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://bucket/key` of release `number`, for messages.
    pub fn location(&self, number: u64) -> String {
        format!("s3://{}/{}", self.bucket, object_key(&self.stack, number))
    }
}

#[async_trait]
impl ReleaseStore for S3ReleaseStore {
    async fn list(&self) -> Result<Vec<u64>, ReleaseError> {
        let mut numbers = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let Some(page) = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(key_prefix(&self.stack))
                .set_continuation_token(token.clone())
                .send()
                .await
                .classified(SERVICE, "ListObjectsV2")
                .found(&["NoSuchBucket"])?
            else {
                // No bucket yet: the stack was never applied, so it has no release.
                return Ok(numbers);
            };
            numbers.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| number_of_key(&self.stack, o.key()?)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    async fn get(&self, number: u64) -> Result<Option<Release>, ReleaseError> {
        let key = object_key(&self.stack, number);
        let Some(object) = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .classified(SERVICE, "GetObject")
            .found(&["NoSuchKey", "NoSuchBucket"])?
        else {
            return Ok(None);
        };
        let bytes = object.body.collect().await.map_err(|e| {
            CloudError::from_parts(
                SERVICE,
                "GetObject",
                None,
                None,
                format!("reading `{key}` was cut off ({e}); run the command again"),
            )
        })?;
        Release::from_json(&bytes.into_bytes(), &format!("s3://{}/{key}", self.bucket)).map(Some)
    }

    /// PutObject with `If-None-Match: *`: two applies that picked the same number cannot
    /// overwrite each other's record (S3 answers 412 to the second).
    async fn put(&self, release: &Release) -> Result<(), ReleaseError> {
        let body = release.to_json()?;
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(object_key(&self.stack, release.number))
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await
            .classified(SERVICE, "PutObject");
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.status == Some(412) || e.code.as_deref() == Some("PreconditionFailed") => {
                Err(ReleaseError::Exists {
                    number: release.number,
                })
            }
            Err(e) if e.status == Some(403) => Err(ReleaseError::Cloud(CloudError {
                message: format!(
                    "{}; the release record could not be written to `{}`: check that \
                         these credentials may s3:PutObject there over HTTPS",
                    e.message, self.bucket
                ),
                ..e
            })),
            Err(e) => Err(e.into()),
        }
    }
}
