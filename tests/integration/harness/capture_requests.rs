//! `CaptureRequests`: an SDK interceptor that records the requests of one operation just
//! before transmission, so a test can check what txdeploy sent where moto ignores or cannot
//! echo it (the `moto_gap_*` tests); and `add_interceptor!` to put it on one service client.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value as Json;

/// One request as sent: HTTP method, URI and body (`null` when the body is empty or not
/// JSON, e.g. a REST call without payload).
#[derive(Clone, Debug)]
pub struct CapturedRequest {
    pub method: String,
    pub uri: String,
    pub body: Json,
}

/// Requests of the SDK operation `operation` (its model name, e.g. `UpdateTable`). Clones
/// share what was captured: keep one, give the other to the client.
#[derive(Clone, Debug)]
pub struct CaptureRequests {
    operation: &'static str,
    seen: Arc<Mutex<Vec<CapturedRequest>>>,
}

impl CaptureRequests {
    pub fn new(operation: &'static str) -> Self {
        Self {
            operation,
            seen: Arc::default(),
        }
    }

    /// Every request captured so far.
    pub fn seen(&self) -> Vec<CapturedRequest> {
        self.seen.lock().unwrap().clone()
    }

    /// The bodies of every request captured so far.
    pub fn bodies(&self) -> Vec<Json> {
        self.seen().into_iter().map(|r| r.body).collect()
    }

    /// The bodies captured since the last call, forgetting them: for a test that checks
    /// one step's requests at a time.
    pub fn take_bodies(&self) -> Vec<Json> {
        std::mem::take(&mut *self.seen.lock().unwrap())
            .into_iter()
            .map(|r| r.body)
            .collect()
    }
}

impl Intercept for CaptureRequests {
    fn name(&self) -> &'static str {
        "CaptureRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation)
        {
            let request = context.request();
            let body = request.body().bytes().unwrap_or_default();
            self.seen.lock().unwrap().push(CapturedRequest {
                method: request.method().to_owned(),
                uri: request.uri().to_owned(),
                body: serde_json::from_slice(body).unwrap_or(Json::Null),
            });
        }
        Ok(())
    }
}

/// Rebuilds one client of an `AwsClients` with `interceptor` added:
/// `add_interceptor!(clients.kms, aws_sdk_kms, capture)`. A macro because every service's
/// client and config are types of their own.
macro_rules! add_interceptor {
    ($clients:ident . $field:ident, $sdk:ident, $interceptor:expr) => {
        $clients.$field = $sdk::Client::from_conf(
            $clients
                .$field
                .config()
                .to_builder()
                .interceptor($interceptor)
                .build(),
        )
    };
}
pub(crate) use add_interceptor;
