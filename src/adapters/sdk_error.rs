//! Turns every SDK error into a classified `CloudError`; the one place adapters map errors.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::{CloudError, ErrorClass};

/// Classifies a failed call to `service:operation`.
///
/// Service errors are classified by `ErrorClass::classify` from their code, the HTTP status
/// of the raw response and the message. Timeouts and dropped connections are transient; a
/// dispatch failure caused by the user's setup (a malformed endpoint) and a request that
/// could not be built are fatal, because retrying them cannot help.
pub fn classify<E>(service: &str, operation: &str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::ServiceError(service_err) => {
            let e = service_err.err();
            let message = e
                .message()
                .map_or_else(|| DisplayErrorContext(e).to_string(), str::to_owned);
            CloudError::from_parts(service, operation, e.code(), status, message)
        }
        SdkError::TimeoutError(_) => {
            with_class(ErrorClass::Transient, service, operation, status, &err)
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => {
            with_class(ErrorClass::Fatal, service, operation, status, &err)
        }
        SdkError::DispatchFailure(_) => {
            with_class(ErrorClass::Transient, service, operation, status, &err)
        }
        // The response arrived but could not be read: judge by its status (a 5xx page from a
        // proxy is worth retrying, anything else is not).
        SdkError::ResponseError(_) => CloudError::from_parts(
            service,
            operation,
            None,
            status,
            DisplayErrorContext(&err).to_string(),
        ),
        _ => with_class(ErrorClass::Fatal, service, operation, status, &err),
    }
}

fn with_class<E>(
    class: ErrorClass,
    service: &str,
    operation: &str,
    status: Option<u16>,
    err: &SdkError<E, HttpResponse>,
) -> CloudError
where
    E: std::error::Error + Send + Sync + 'static,
{
    CloudError {
        class,
        service: service.to_owned(),
        operation: operation.to_owned(),
        code: None,
        status,
        message: DisplayErrorContext(err).to_string(),
    }
}

/// `result.classified("kms", "CreateKey")?`: `classify` as a method on SDK results.
pub trait Classified<T> {
    fn classified(self, service: &str, operation: &str) -> Result<T, CloudError>;
}

impl<T, E> Classified<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn classified(self, service: &str, operation: &str) -> Result<T, CloudError> {
        self.map_err(|err| classify(service, operation, err))
    }
}

/// Reading something that may not exist: a not-found error becomes `Ok(None)`.
pub trait Found<T> {
    /// `Ok(None)` for the `NotFound` class and for the extra `codes` (for services that
    /// report absence with a code of their own, such as S3's `NoSuchTagSet`).
    fn found(self, codes: &[&str]) -> Result<Option<T>, CloudError>;
}

impl<T> Found<T> for Result<T, CloudError> {
    fn found(self, codes: &[&str]) -> Result<Option<T>, CloudError> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) if e.code.as_deref().is_some_and(|c| codes.contains(&c)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
    use aws_sdk_sqs::types::error::QueueDoesNotExist;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    #[test]
    fn service_errors_are_classified_by_code_and_status() {
        let err = SdkError::service_error(
            GetQueueUrlError::QueueDoesNotExist(
                QueueDoesNotExist::builder()
                    .message("The specified queue does not exist.")
                    .meta(
                        ErrorMetadata::builder()
                            .code("AWS.SimpleQueueService.NonExistentQueue")
                            .message("The specified queue does not exist.")
                            .build(),
                    )
                    .build(),
            ),
            response(400),
        );
        let classified = classify("sqs", "GetQueueUrl", err);
        assert_eq!(classified.class, ErrorClass::NotFound);
        assert_eq!(classified.status, Some(400));
        assert_eq!(
            classified.code.as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
        assert_eq!(classified.message, "The specified queue does not exist.");

        let throttled = SdkError::service_error(
            GetQueueUrlError::generic(ErrorMetadata::builder().code("RequestThrottled").build()),
            response(403),
        );
        assert_eq!(
            classify("sqs", "GetQueueUrl", throttled).class,
            ErrorClass::Throttled
        );

        let codeless_5xx = SdkError::service_error(
            GetQueueUrlError::generic(ErrorMetadata::builder().build()),
            response(503),
        );
        assert_eq!(
            classify("sqs", "GetQueueUrl", codeless_5xx).class,
            ErrorClass::Transient
        );
    }

    #[test]
    fn timeouts_and_dropped_connections_are_transient_but_user_errors_are_not() {
        let timeout: SdkError<GetQueueUrlError, HttpResponse> = SdkError::timeout_error("too slow");
        assert_eq!(
            classify("sqs", "GetQueueUrl", timeout).class,
            ErrorClass::Transient
        );

        let io: SdkError<GetQueueUrlError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection reset".into()));
        assert_eq!(
            classify("sqs", "GetQueueUrl", io).class,
            ErrorClass::Transient
        );

        let user: SdkError<GetQueueUrlError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::user("bad endpoint".into()));
        let classified = classify("sqs", "GetQueueUrl", user);
        assert_eq!(classified.class, ErrorClass::Fatal);
        assert!(
            classified.message.contains("bad endpoint"),
            "{}",
            classified.message
        );

        let construction: SdkError<GetQueueUrlError, HttpResponse> =
            SdkError::construction_failure("missing queue name");
        assert_eq!(
            classify("sqs", "GetQueueUrl", construction).class,
            ErrorClass::Fatal
        );
    }
}
