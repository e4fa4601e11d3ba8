//! `ApiResponse`: a status and a JSON body, and its API Gateway proxy form.

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};

/// What every route answers: always a JSON object body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
    /// Set on 405 answers: the methods the path does accept.
    pub allow: Option<&'static str>,
}

impl ApiResponse {
    pub fn ok(body: Value) -> ApiResponse {
        ApiResponse {
            status: 200,
            body,
            allow: None,
        }
    }

    /// A client error with the backward-compatible `{"error": ...}` shape.
    pub fn error(status: u16, message: impl Into<String>) -> ApiResponse {
        ApiResponse {
            status,
            body: json!({ "error": message.into() }),
            allow: None,
        }
    }

    /// A 500 that names only the request id, so nothing internal leaks to the caller.
    pub fn internal(request_id: &str) -> ApiResponse {
        ApiResponse {
            status: 500,
            body: json!({ "error": "Internal error", "request_id": request_id }),
            allow: None,
        }
    }

    pub fn not_found() -> ApiResponse {
        ApiResponse::error(404, "Not found")
    }

    pub fn method_not_allowed(allow: &'static str) -> ApiResponse {
        ApiResponse {
            allow: Some(allow),
            ..ApiResponse::error(405, "Method not allowed")
        }
    }

    /// The proxy integration's response document.
    pub fn into_proxy_response(self) -> ApiGatewayProxyResponse {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        let mut response = ApiGatewayProxyResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = headers;
        response.body = Some(Body::Text(self.body.to_string()));
        response.is_base64_encoded = false;
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn proxy_response_carries_status_json_and_content_type() {
        let response = ApiResponse::method_not_allowed("GET").into_proxy_response();
        assert_eq!(response.status_code, 405);
        assert_eq!(response.headers["content-type"], "application/json");
        assert_eq!(response.headers["allow"], "GET");
        let Some(Body::Text(text)) = response.body else {
            panic!("expected a text body")
        };
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"error": "Method not allowed"})
        );
    }

    #[test]
    fn internal_errors_name_only_the_request_id() {
        let response = ApiResponse::internal("req-1");
        assert_eq!(response.status, 500);
        assert_eq!(
            response.body,
            json!({"error": "Internal error", "request_id": "req-1"})
        );
    }
}
