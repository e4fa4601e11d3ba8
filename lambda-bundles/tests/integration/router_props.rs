//! Property tests: arbitrary methods, paths, query strings, headers and bodies never panic
//! the router and always produce a well-formed 2xx route or a 4xx JSON error.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use serde_json::{Value, json};
use txhandlers::api_router::{MAX_LIMIT, Route, route};
use txhandlers::pagination::PaginationKey;

fn key() -> PaginationKey {
    PaginationKey::new(b"property-test-pagination-key").unwrap()
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::DELETE),
        Just(Method::OPTIONS),
        "[A-Z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("transactions".to_owned()),
        Just("merchants".to_owned()),
        "[A-Za-z0-9_-]{0,70}",
        "(%[0-9A-Fa-f]{2}|%.?|[^/]){0,12}",
        any::<String>(),
    ];
    prop_oneof![
        Just("/transactions".to_owned()),
        "[A-Za-z0-9_%-]{0,80}".prop_map(|id| format!("/transactions/{id}")),
        "[A-Za-z0-9_%-]{0,80}".prop_map(|id| format!("/merchants/{id}/transactions")),
        prop::collection::vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/"))),
        any::<String>(),
    ]
}

/// A JSON value for a field: the right type, the wrong type, or nonsense.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,70}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "-?[0-9]{0,20}(\\.[0-9]{0,5})?([eE][+-]?[0-9]{1,5})?".prop_map(Value::from),
        "[A-Z]{3}".prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
            .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({"nested": {"deep": [1, 2, 3]}})),
    ]
}

fn body() -> impl Strategy<Value = Option<String>> {
    let names = prop::sample::select(vec![
        "transaction_id",
        "merchant_id",
        "amount",
        "currency",
        "transaction_date",
        "other",
    ]);
    let object = prop::collection::vec((names, field_value()), 0..7).prop_map(|fields| {
        let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{:?}:{v}", k)).collect();
        format!("{{{}}}", inner.join(","))
    });
    prop_oneof![
        Just(None),
        object.prop_map(Some),
        any::<String>().prop_map(Some),
        "[\\[\\]{}\",:0-9a-z ]{0,40}".prop_map(Some),
    ]
}

fn request() -> impl Strategy<Value = ApiGatewayProxyRequest> {
    let query_key = prop_oneof![
        Just("limit".to_owned()),
        Just("from".to_owned()),
        Just("to".to_owned()),
        Just("next".to_owned()),
        "[a-z]{1,8}",
    ];
    let query_value = prop_oneof![
        "[0-9]{1,4}".prop_map(String::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(String::from),
        "[A-Za-z0-9_.-]{0,300}".prop_map(String::from),
        any::<String>(),
    ];
    let header = ("[a-z][a-z0-9-]{0,20}", "[ -~]{0,40}");
    (
        method(),
        path(),
        prop::collection::hash_map(query_key, query_value, 0..5),
        prop::collection::vec(header, 0..5),
        body(),
        any::<bool>(),
    )
        .prop_map(|(method, path, query, headers, body, base64)| {
            let mut request = ApiGatewayProxyRequest::default();
            request.http_method = method;
            request.path = Some(path);
            request.query_string_parameters = query.into_iter().collect::<HashMap<_, _>>().into();
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) =
                    (HeaderName::try_from(name), HeaderValue::try_from(value))
                {
                    map.insert(name, value);
                }
            }
            request.headers = map;
            request.is_base64_encoded = base64 && body.is_some();
            request.body = body;
            request
        })
}

fn assert_well_formed(request: &ApiGatewayProxyRequest) -> Result<(), TestCaseError> {
    match route(request, &key()) {
        Ok(Route::CreateTransaction(tx)) => {
            prop_assert_eq!(&request.http_method, &Method::POST);
            prop_assert!(tx.amount.cents() > 0);
            prop_assert!((1..=64).contains(&tx.transaction_id.as_str().len()));
        }
        Ok(Route::GetTransaction(id)) => prop_assert!((1..=64).contains(&id.as_str().len())),
        Ok(Route::ListMerchantTransactions(query)) => {
            prop_assert!((1..=MAX_LIMIT).contains(&query.limit));
            if let (Some(from), Some(to)) = (query.from, query.to) {
                prop_assert!(from <= to);
            }
        }
        Err(response) => {
            prop_assert!(
                (400..500).contains(&response.status),
                "status {}",
                response.status
            );
            prop_assert!(response.body["error"].is_string(), "body {}", response.body);
            let proxy = response.into_proxy_response();
            prop_assert_eq!(
                proxy.headers["content-type"].to_str().unwrap(),
                "application/json"
            );
            let Some(Body::Text(text)) = proxy.body else {
                return Err(TestCaseError::fail("proxy response without a text body"));
            };
            let parsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert!(parsed.is_object());
            // The whole proxy document must serialize for the runtime to send it.
            prop_assert!(serde_json::to_string(&text).is_ok());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn no_request_crashes_the_router(request in request()) {
        assert_well_formed(&request)?;
    }

    #[test]
    fn post_bodies_validate_or_are_refused_with_a_400(body in body()) {
        let mut request = ApiGatewayProxyRequest::default();
        request.http_method = Method::POST;
        request.path = Some("/transactions".to_owned());
        request.body = body;
        assert_well_formed(&request)?;
    }

    #[test]
    fn realistic_bodies_mostly_validate(
        id in "[A-Za-z0-9_-]{1,64}",
        merchant in "[A-Za-z0-9_-]{1,64}",
        cents in 1u64..=99_999_999_999_999,
        as_string in any::<bool>(),
    ) {
        let amount = format!("{}.{:02}", cents / 100, cents % 100);
        let amount_json = if as_string { format!("{amount:?}") } else { amount.clone() };
        let mut request = ApiGatewayProxyRequest::default();
        request.http_method = Method::POST;
        request.path = Some("/transactions".to_owned());
        request.body = Some(format!(
            r#"{{"transaction_id":"{id}","merchant_id":"{merchant}","amount":{amount_json}}}"#
        ));
        match route(&request, &key()) {
            Ok(Route::CreateTransaction(tx)) => prop_assert_eq!(tx.amount.cents(), cents),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }
}
