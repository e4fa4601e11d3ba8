//! AWS access: one `SdkConfig` (profile, region, endpoint, retries, timeouts) and the clients
//! built from it, each carrying the shared `CallCounter`.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use super::call_counter::CallCounter;
use crate::config::AwsConfig;

/// Attempts per call, the first included. Kept low: the executor retries classified errors
/// itself, with a deadline, and moto answers unimplemented calls with a retryable 500.
const MAX_ATTEMPTS: u32 = 3;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Where and as whom to call AWS; unset fields fall back to the usual AWS chain
/// (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, `~/.aws/config`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsAccess {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// A local emulator such as moto, for example `http://127.0.0.1:5000`.
    pub endpoint_url: Option<String>,
}

impl From<&AwsConfig> for AwsAccess {
    fn from(config: &AwsConfig) -> Self {
        Self {
            region: config.region.clone(),
            profile: config.profile.clone(),
            endpoint_url: config.endpoint_url.clone(),
        }
    }
}

/// Loads the one `SdkConfig` every client is built from.
///
/// Credentials always come from the standard chain, also with an endpoint: an emulator
/// needs them set in the environment (any value), and none are invented here, so a typo in
/// an endpoint can never send unsigned calls to a real account.
pub async fn load_sdk_config(access: &AwsAccess) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(profile) = &access.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &access.region {
        loader = loader.region(Region::new(region.clone()));
    }
    // Without a flag, `aws-config` itself reads `AWS_ENDPOINT_URL` (and the profile's
    // `endpoint_url`), so both ways of naming an emulator end up in `SdkConfig::endpoint_url`.
    if let Some(endpoint) = &access.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// One client per service txdeploy calls, all from the same `SdkConfig` and counter.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub sts: aws_sdk_sts::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
}

impl AwsClients {
    /// Builds every client with `counter` attached.
    ///
    /// S3 uses path-style addressing when an endpoint is set: virtual-hosted names such as
    /// `bucket.localhost` do not resolve for a local emulator.
    pub fn new(config: &SdkConfig, counter: &CallCounter) -> Self {
        let custom_endpoint = config.endpoint_url().is_some();
        Self {
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    .force_path_style(custom_endpoint)
                    .interceptor(counter.clone())
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            sns: aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            tagging: aws_sdk_resourcegroupstagging::Client::from_conf(
                aws_sdk_resourcegroupstagging::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(
                aws_sdk_applicationautoscaling::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            firehose: aws_sdk_firehose::Client::from_conf(
                aws_sdk_firehose::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            apigateway: aws_sdk_apigateway::Client::from_conf(
                aws_sdk_apigateway::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .interceptor(counter.clone())
                    .build(),
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_flags_reach_the_sdk_config_with_retries_and_timeouts() {
        let access = AwsAccess {
            region: Some("eu-west-1".into()),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:1".into()),
        };
        let config = load_sdk_config(&access).await;
        assert_eq!(config.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        let retry = config.retry_config().unwrap();
        assert_eq!(retry.mode(), aws_config::retry::RetryMode::Adaptive);
        assert_eq!(retry.max_attempts(), 3);
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
    }

    /// Records the URI of each request and then stops it before it reaches the network.
    #[derive(Debug, Default, Clone)]
    struct StopAndRecordUri(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl aws_smithy_runtime_api::client::interceptors::Intercept for StopAndRecordUri {
        fn name(&self) -> &'static str {
            "StopAndRecordUri"
        }

        fn read_before_transmit(
            &self,
            context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
            _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
            _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            self.0
                .lock()
                .unwrap()
                .push(context.request().uri().to_owned());
            Err("stopped by the test".into())
        }
    }

    #[tokio::test]
    async fn s3_uses_path_style_with_a_custom_endpoint() {
        // `localhost`, not an IP: with an IP the S3 endpoint rules pick path style by
        // themselves, with a host name they would ask for `bucket.localhost`.
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://localhost:1")
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"),
            ))
            .build();
        let clients = AwsClients::new(&config, &CallCounter::new());
        let uris = StopAndRecordUri::default();
        let s3 = aws_sdk_s3::Client::from_conf(
            clients
                .s3
                .config()
                .to_builder()
                .interceptor(uris.clone())
                .build(),
        );
        let _ = s3.head_bucket().bucket("some-bucket").send().await;
        assert_eq!(
            uris.0.lock().unwrap().as_slice(),
            ["http://localhost:1/some-bucket/"]
        );
    }
}
