//! The pure request router of the API function: an API Gateway proxy request in, a validated
//! `Route` or a finished 4xx `ApiResponse` out. No I/O, so no input can make it fail with
//! anything but a well-formed client error.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::api_response::ApiResponse;
use crate::pagination::{PageKey, PaginationKey, QueryScope};
use crate::transaction::{MerchantId, NewTransaction, TransactionDate, TransactionId};
use crate::validator::validate_new_transaction;

/// Default and largest page size of the merchant listing.
pub const DEFAULT_LIMIT: u16 = 25;
pub const MAX_LIMIT: u16 = 100;

/// A request the handler can act on.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// POST /transactions
    CreateTransaction(NewTransaction),
    /// GET /transactions/{id}
    GetTransaction(TransactionId),
    /// GET /merchants/{merchant_id}/transactions
    ListMerchantTransactions(MerchantQuery),
}

impl Route {
    /// A stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Route::CreateTransaction(_) => "create_transaction",
            Route::GetTransaction(_) => "get_transaction",
            Route::ListMerchantTransactions(_) => "list_merchant_transactions",
        }
    }
}

/// A validated merchant listing query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantQuery {
    pub merchant_id: MerchantId,
    pub from: Option<TransactionDate>,
    pub to: Option<TransactionDate>,
    pub limit: u16,
    /// The verified `ExclusiveStartKey` from the `next` token.
    pub start_key: Option<PageKey>,
    from_text: String,
    to_text: String,
}

impl MerchantQuery {
    /// What tokens for this query are bound to.
    pub fn scope(&self) -> QueryScope<'_> {
        QueryScope {
            merchant_id: self.merchant_id.as_str(),
            from: &self.from_text,
            to: &self.to_text,
        }
    }
}

/// Routes and validates one request.
pub fn route(request: &ApiGatewayProxyRequest, key: &PaginationKey) -> Result<Route, ApiResponse> {
    let path = request
        .path
        .as_deref()
        .or(request.resource.as_deref())
        .unwrap_or("/");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = &request.http_method;
    match segments.as_slice() {
        ["transactions"] => {
            if method != Method::POST {
                return Err(ApiResponse::method_not_allowed("POST"));
            }
            let body = request_body(request)?;
            validate_new_transaction(&body)
                .map(Route::CreateTransaction)
                .map_err(|r| r.to_response())
        }
        ["transactions", id] => {
            if method != Method::GET {
                return Err(ApiResponse::method_not_allowed("GET"));
            }
            let id = percent_decode(id)
                .ok_or_else(|| invalid("transaction_id", "is not valid URL encoding"))?;
            TransactionId::parse(&id)
                .map(Route::GetTransaction)
                .map_err(|e| invalid("transaction_id", e.describe()))
        }
        ["merchants", merchant, "transactions"] => {
            if method != Method::GET {
                return Err(ApiResponse::method_not_allowed("GET"));
            }
            let merchant = percent_decode(merchant)
                .ok_or_else(|| invalid("merchant_id", "is not valid URL encoding"))?;
            let merchant_id =
                MerchantId::parse(&merchant).map_err(|e| invalid("merchant_id", e.describe()))?;
            merchant_query(request, merchant_id, key).map(Route::ListMerchantTransactions)
        }
        _ => Err(ApiResponse::not_found()),
    }
}

fn invalid(field: &'static str, reason: &str) -> ApiResponse {
    ApiResponse {
        status: 400,
        body: json!({ "error": format!("Invalid {field}: {reason}"), "field": field }),
        allow: None,
    }
}

fn request_body(request: &ApiGatewayProxyRequest) -> Result<String, ApiResponse> {
    let body = request.body.clone().unwrap_or_default();
    if !request.is_base64_encoded {
        return Ok(body);
    }
    let bytes = STANDARD
        .decode(body.trim())
        .map_err(|_| ApiResponse::error(400, "Request body is not valid base64"))?;
    String::from_utf8(bytes).map_err(|_| ApiResponse::error(400, "Request body must be UTF-8 JSON"))
}

fn merchant_query(
    request: &ApiGatewayProxyRequest,
    merchant_id: MerchantId,
    key: &PaginationKey,
) -> Result<MerchantQuery, ApiResponse> {
    let params = &request.query_string_parameters;
    let limit = match params.first("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit", "must be an integer from 1 to 100"))?,
    };
    let bound = |name: &'static str, end_of_day: bool| match params.first(name) {
        None => Ok(None),
        Some(text) => TransactionDate::parse_bound(text, end_of_day)
            .map(Some)
            .ok_or_else(|| invalid(name, "must be an RFC 3339 date-time or a YYYY-MM-DD date")),
    };
    let from = bound("from", false)?;
    let to = bound("to", true)?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(invalid("from", "must not be after `to`"));
    }
    let mut query = MerchantQuery {
        merchant_id,
        from,
        to,
        limit,
        start_key: None,
        from_text: from.map(|d| d.to_stored()).unwrap_or_default(),
        to_text: to.map(|d| d.to_stored()).unwrap_or_default(),
    };
    if let Some(token) = params.first("next") {
        let start = key
            .decode(query.scope(), token)
            .map_err(|_| invalid("next", "is not a pagination token from this listing"))?;
        query.start_key = Some(start);
    }
    Ok(query)
}

/// Decodes `%XX` escapes; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    pub(crate) fn request(
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> ApiGatewayProxyRequest {
        let mut request = ApiGatewayProxyRequest::default();
        request.http_method = method;
        request.path = Some(path.to_owned());
        request.query_string_parameters = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<String, String>>()
            .into();
        request.body = body.map(str::to_owned);
        request
    }

    fn key() -> PaginationKey {
        PaginationKey::new(b"test-pagination-key-0123").unwrap()
    }

    #[test]
    fn each_route_is_recognised() {
        let post = request(
            Method::POST,
            "/transactions",
            &[],
            Some(r#"{"transaction_id":"t","merchant_id":"m","amount":1}"#),
        );
        assert!(matches!(
            route(&post, &key()),
            Ok(Route::CreateTransaction(_))
        ));
        let get = request(Method::GET, "/transactions/t%2D1", &[], None);
        assert_eq!(
            route(&get, &key()),
            Ok(Route::GetTransaction(TransactionId::parse("t-1").unwrap()))
        );
        let list = request(
            Method::GET,
            "/merchants/m1/transactions",
            &[("limit", "10"), ("from", "2026-01-01")],
            None,
        );
        let Ok(Route::ListMerchantTransactions(query)) = route(&list, &key()) else {
            panic!()
        };
        assert_eq!(query.limit, 10);
        assert_eq!(query.from.unwrap().to_stored(), "2026-01-01T00:00:00.000Z");
        assert_eq!(query.to, None);
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let mut post = request(Method::POST, "/transactions", &[], None);
        post.body =
            Some(STANDARD.encode(r#"{"transaction_id":"t","merchant_id":"m","amount":"2.5"}"#));
        post.is_base64_encoded = true;
        let Ok(Route::CreateTransaction(tx)) = route(&post, &key()) else {
            panic!()
        };
        assert_eq!(tx.amount.cents(), 250);
        post.body = Some("%%%".to_owned());
        assert_eq!(route(&post, &key()).unwrap_err().status, 400);
    }

    #[test]
    fn unknown_paths_and_methods_are_client_errors() {
        assert_eq!(
            route(&request(Method::GET, "/nope", &[], None), &key())
                .unwrap_err()
                .status,
            404
        );
        let wrong = route(
            &request(Method::DELETE, "/transactions/t1", &[], None),
            &key(),
        )
        .unwrap_err();
        assert_eq!((wrong.status, wrong.allow), (405, Some("GET")));
        let wrong = route(&request(Method::GET, "/transactions", &[], None), &key()).unwrap_err();
        assert_eq!((wrong.status, wrong.allow), (405, Some("POST")));
    }

    #[test]
    fn bad_query_parameters_are_named() {
        let field = |query: &[(&str, &str)]| {
            let response = route(
                &request(Method::GET, "/merchants/m1/transactions", query, None),
                &key(),
            )
            .unwrap_err();
            assert_eq!(response.status, 400);
            response.body["field"].as_str().unwrap().to_owned()
        };
        assert_eq!(field(&[("limit", "0")]), "limit");
        assert_eq!(field(&[("limit", "101")]), "limit");
        assert_eq!(field(&[("limit", "ten")]), "limit");
        assert_eq!(field(&[("from", "last week")]), "from");
        assert_eq!(field(&[("to", "2026-02-30")]), "to");
        assert_eq!(
            field(&[("from", "2026-02-02"), ("to", "2026-02-01")]),
            "from"
        );
        assert_eq!(field(&[("next", "forged.token")]), "next");
        let bad_id = route(
            &request(Method::GET, "/merchants/m%ZZ/transactions", &[], None),
            &key(),
        )
        .unwrap_err();
        assert_eq!(bad_id.body["field"], "merchant_id");
        let bad_id = route(
            &request(Method::GET, "/transactions/a%20b", &[], None),
            &key(),
        )
        .unwrap_err();
        assert_eq!(bad_id.body["field"], "transaction_id");
    }

    #[test]
    fn a_token_is_accepted_only_for_the_query_that_issued_it() {
        let page_key: PageKey = [
            ("merchant_id", "m1"),
            ("transaction_date", "x"),
            ("transaction_id", "t"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let scope = QueryScope {
            merchant_id: "m1",
            from: "",
            to: "2026-01-01T23:59:59.999Z",
        };
        let token = key().encode(scope, &page_key);
        let ok = request(
            Method::GET,
            "/merchants/m1/transactions",
            &[("to", "2026-01-01"), ("next", &token)],
            None,
        );
        let Ok(Route::ListMerchantTransactions(query)) = route(&ok, &key()) else {
            panic!()
        };
        assert_eq!(query.start_key, Some(page_key));
        let other = request(
            Method::GET,
            "/merchants/m1/transactions",
            &[("next", &token)],
            None,
        );
        assert_eq!(route(&other, &key()).unwrap_err().body["field"], "next");
    }
}
