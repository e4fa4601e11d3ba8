//! `ReleaseTargets`: the few calls a release needs besides the `Cloud` boundary: does a
//! published version or a deployment still exist, is an alias split, tag a function with
//! its release, flush a stage's cache. `AwsCloud` implements them over the SDK.

use async_trait::async_trait;

use crate::adapters::AwsCloud;
use crate::adapters::sdk_error::{Classified, Found};
use crate::adapters::{apigateway_adapter, lambda_alias_adapter};
use crate::cloud::CloudError;

/// Calls on the objects a release points at.
#[async_trait]
pub trait ReleaseTargets: Send + Sync {
    /// Whether version `version` of function `function` still exists.
    async fn version_exists(&self, function: &str, version: &str) -> Result<bool, CloudError>;

    /// Whether deployment `deployment_id` of API `rest_api_id` still exists.
    async fn deployment_exists(
        &self,
        rest_api_id: &str,
        deployment_id: &str,
    ) -> Result<bool, CloudError>;

    /// The versions besides its own that alias `alias` of `function` routes traffic to,
    /// with their weights (0.0..1.0): empty unless a canary is running or was cut short.
    async fn alias_split(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Vec<(String, f64)>, CloudError>;

    /// Sets the function's `txdeploy:release` tag to `number`.
    async fn tag_release(&self, function_arn: &str, number: u64) -> Result<(), CloudError>;

    /// Empties the stage's cache, so cached GETs stop answering from the code rolled away
    /// from. `Ok(false)` when the endpoint has no such operation (moto: HTTP 404 with no
    /// AWS error code); AWS itself always has it.
    async fn flush_stage_cache(&self, rest_api_id: &str, stage: &str) -> Result<bool, CloudError>;
}

#[async_trait]
impl ReleaseTargets for AwsCloud {
    async fn version_exists(&self, function: &str, version: &str) -> Result<bool, CloudError> {
        Ok(self
            .clients()
            .lambda
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .classified("lambda", "GetFunctionConfiguration")
            .found(&[])?
            .is_some())
    }

    async fn deployment_exists(
        &self,
        rest_api_id: &str,
        deployment_id: &str,
    ) -> Result<bool, CloudError> {
        Ok(self
            .clients()
            .apigateway
            .get_deployment()
            .rest_api_id(rest_api_id)
            .deployment_id(deployment_id)
            .send()
            .await
            .classified("apigateway", "GetDeployment")
            .found(&[])?
            .is_some())
    }

    async fn alias_split(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Vec<(String, f64)>, CloudError> {
        Ok(
            lambda_alias_adapter::routing(self.clients(), function, alias)
                .await?
                .weights,
        )
    }

    async fn tag_release(&self, function_arn: &str, number: u64) -> Result<(), CloudError> {
        self.clients()
            .lambda
            .tag_resource()
            .resource(function_arn)
            .tags(super::RELEASE_TAG, number.to_string())
            .send()
            .await
            .classified("lambda", "TagResource")?;
        Ok(())
    }

    async fn flush_stage_cache(&self, rest_api_id: &str, stage: &str) -> Result<bool, CloudError> {
        match apigateway_adapter::flush_stage_cache(self.clients(), rest_api_id, stage).await {
            Ok(()) => Ok(true),
            Err(e) if e.status == Some(404) && e.code.is_none() => Ok(false),
            Err(e) => Err(e),
        }
    }
}
