//! The one place AWS errors are classified; retries are decided by the class alone.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How an error should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Rate limited: retry with backoff.
    Throttled,
    /// A 5xx, a timeout or a dropped connection: retry with backoff.
    Transient,
    /// Something just created is not visible everywhere yet (a new IAM role not yet
    /// assumable, a queue name deleted a moment ago): retry until the deadline.
    EventuallyConsistent,
    /// Another operation on the same resource is in progress: retry with backoff.
    Conflict,
    /// The resource does not exist.
    NotFound,
    /// Anything else: not retried.
    Fatal,
}

impl ErrorClass {
    /// Whether the executor may try again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttled
                | ErrorClass::Transient
                | ErrorClass::EventuallyConsistent
                | ErrorClass::Conflict
        )
    }

    /// Classifies an AWS error from its code, HTTP status and message.
    pub fn classify(code: Option<&str>, status: Option<u16>, message: &str) -> Self {
        let msg = message.to_ascii_lowercase();
        if let Some(code) = code {
            if THROTTLED.contains(&code) {
                return ErrorClass::Throttled;
            }
            if is_eventually_consistent(code, &msg) {
                return ErrorClass::EventuallyConsistent;
            }
            if CONFLICT.contains(&code) {
                return ErrorClass::Conflict;
            }
            if NOT_FOUND.contains(&code) || code.ends_with("NotFound") {
                return ErrorClass::NotFound;
            }
            if TRANSIENT.contains(&code) {
                return ErrorClass::Transient;
            }
        }
        match status {
            Some(429) => ErrorClass::Throttled,
            Some(s) if s >= 500 => ErrorClass::Transient,
            _ => ErrorClass::Fatal,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::Transient => "transient",
            ErrorClass::EventuallyConsistent => "eventually consistent",
            ErrorClass::Conflict => "conflict",
            ErrorClass::NotFound => "not found",
            ErrorClass::Fatal => "fatal",
        })
    }
}

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
];

const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "RequestTimeout",
    "RequestTimeoutException",
    "KMSInternalException",
    "KMSInternal",
];

const CONFLICT: &[&str] = &[
    "ResourceConflictException",
    "ConflictException",
    "ConcurrentModificationException",
    "OperationAbortedException",
    "ResourceInUseException",
    "ConcurrentUpdateException",
];

const NOT_FOUND: &[&str] = &[
    "NoSuchEntity",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "NoSuchPublicAccessBlockConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "ResourceNotFoundException",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "ResourceNotFound",
];

fn is_eventually_consistent(code: &str, msg: &str) -> bool {
    match code {
        // Lambda: "The role defined for the function cannot be assumed by Lambda."
        "InvalidParameterValueException" => {
            msg.contains("cannot be assumed") || msg.contains("role") && msg.contains("assume")
        }
        // IAM: a principal (a role created a moment ago) is not valid yet.
        "MalformedPolicyDocument" | "MalformedPolicyDocumentException" => {
            msg.contains("invalid principal")
        }
        // SQS: a queue name is blocked for 60 s after its deletion.
        "AWS.SimpleQueueService.QueueDeletedRecently" | "QueueDeletedRecently" => true,
        // KMS / SNS / S3 reject a key or role they cannot see yet.
        "AccessDeniedException" | "KMSAccessDeniedException" | "KMSAccessDenied" => {
            msg.contains("not authorized to perform") && msg.contains("role")
        }
        _ => false,
    }
}

/// A classified failure of one AWS call, with what a user needs to act on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{service}:{operation} failed ({class}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
pub struct CloudError {
    pub class: ErrorClass,
    pub service: String,
    pub operation: String,
    pub code: Option<String>,
    pub status: Option<u16>,
    pub message: String,
}

impl CloudError {
    /// Builds a classified error from the pieces of an AWS error.
    pub fn from_parts(
        service: &str,
        operation: &str,
        code: Option<&str>,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self {
            class: ErrorClass::classify(code, status, &message),
            service: service.to_owned(),
            operation: operation.to_owned(),
            code: code.map(str::to_owned),
            status,
            message,
        }
    }

    /// A non-retryable error raised by txdeploy itself (bad document, unexpected response).
    pub fn fatal(service: &str, operation: &str, message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Fatal,
            service: service.to_owned(),
            operation: operation.to_owned(),
            code: None,
            status: None,
            message: message.into(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_error_families_aws_returns() {
        let cases = [
            (
                Some("ThrottlingException"),
                Some(400),
                "Rate exceeded",
                ErrorClass::Throttled,
            ),
            (Some("SlowDown"), Some(503), "", ErrorClass::Throttled),
            (None, Some(429), "", ErrorClass::Throttled),
            (Some("InternalError"), Some(500), "", ErrorClass::Transient),
            (None, Some(502), "bad gateway", ErrorClass::Transient),
            (
                Some("InvalidParameterValueException"),
                Some(400),
                "The role defined for the function cannot be assumed by Lambda.",
                ErrorClass::EventuallyConsistent,
            ),
            (
                Some("AWS.SimpleQueueService.QueueDeletedRecently"),
                Some(400),
                "You must wait 60 seconds",
                ErrorClass::EventuallyConsistent,
            ),
            (
                Some("ResourceConflictException"),
                Some(409),
                "",
                ErrorClass::Conflict,
            ),
            (
                Some("ResourceInUseException"),
                Some(400),
                "",
                ErrorClass::Conflict,
            ),
            (Some("NoSuchBucket"), Some(404), "", ErrorClass::NotFound),
            (
                Some("AWS.SimpleQueueService.NonExistentQueue"),
                Some(400),
                "",
                ErrorClass::NotFound,
            ),
            (
                Some("NotFoundException"),
                Some(404),
                "",
                ErrorClass::NotFound,
            ),
            (
                Some("InvalidParameterValueException"),
                Some(400),
                "MemorySize",
                ErrorClass::Fatal,
            ),
            (
                Some("ValidationException"),
                Some(400),
                "",
                ErrorClass::Fatal,
            ),
            // moto answers an unimplemented REST route with a bare 404 and no code.
            (None, Some(404), "<html>", ErrorClass::Fatal),
        ];
        for (code, status, msg, want) in cases {
            assert_eq!(
                ErrorClass::classify(code, status, msg),
                want,
                "{code:?} {status:?} {msg}"
            );
        }
    }

    #[test]
    fn only_the_documented_classes_are_retried() {
        assert!(ErrorClass::Throttled.is_retryable());
        assert!(ErrorClass::EventuallyConsistent.is_retryable());
        assert!(!ErrorClass::NotFound.is_retryable());
        assert!(!ErrorClass::Fatal.is_retryable());
    }
}
