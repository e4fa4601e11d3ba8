//! The POST /transactions body validator: pure, no I/O, so it is unit-, property- and
//! bench-tested on its own.

use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::api_response::ApiResponse;
use crate::currency::Currency;
use crate::transaction::{Amount, MerchantId, NewTransaction, TransactionDate, TransactionId};

/// Why a body was refused; each becomes a 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The body is not a JSON object (or not JSON at all).
    MalformedBody(&'static str),
    /// Required fields absent or `null`, in declaration order.
    MissingFields(Vec<&'static str>),
    /// A present field with an unacceptable value; the first one in declaration order.
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
}

impl Rejection {
    /// The backward-compatible 400 body.
    pub fn to_response(&self) -> ApiResponse {
        match self {
            Rejection::MalformedBody(reason) => ApiResponse::error(400, *reason),
            Rejection::MissingFields(fields) => ApiResponse {
                status: 400,
                body: json!({ "error": "Missing required fields", "fields": fields }),
                allow: None,
            },
            Rejection::InvalidField { field, reason } => ApiResponse {
                status: 400,
                body: json!({ "error": format!("Invalid {field}: {reason}"), "field": field }),
                allow: None,
            },
        }
    }
}

/// The body with every field kept as raw JSON text, so amounts are never parsed as floats.
/// Unknown fields are ignored, as the original API did.
#[derive(Deserialize)]
struct RawBody<'a> {
    #[serde(borrow, default)]
    transaction_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    merchant_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    currency: Option<&'a RawValue>,
    #[serde(borrow, default)]
    transaction_date: Option<&'a RawValue>,
}

/// Validates a POST /transactions body.
pub fn validate_new_transaction(body: &str) -> Result<NewTransaction, Rejection> {
    // serde would also accept a JSON array as the struct's fields in order.
    if !body.trim_start().starts_with('{') {
        return Err(Rejection::MalformedBody(
            "Request body must be a JSON object",
        ));
    }
    let raw: RawBody<'_> = serde_json::from_str(body).map_err(|e| {
        Rejection::MalformedBody(if e.is_data() {
            "Request body must be a JSON object with each field at most once"
        } else {
            "Request body is not valid JSON"
        })
    })?;
    let missing: Vec<&'static str> = [
        ("transaction_id", raw.transaction_id.is_none()),
        ("merchant_id", raw.merchant_id.is_none()),
        ("amount", raw.amount.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    let (Some(transaction_id), Some(merchant_id), Some(amount)) =
        (raw.transaction_id, raw.merchant_id, raw.amount)
    else {
        return Err(Rejection::MissingFields(missing));
    };
    let invalid =
        |field: &'static str| move |reason: &'static str| Rejection::InvalidField { field, reason };

    let transaction_id = string_field(transaction_id)
        .ok_or("must be a string")
        .and_then(|s| TransactionId::parse(&s).map_err(|e| e.describe()))
        .map_err(invalid("transaction_id"))?;
    let merchant_id = string_field(merchant_id)
        .ok_or("must be a string")
        .and_then(|s| MerchantId::parse(&s).map_err(|e| e.describe()))
        .map_err(invalid("merchant_id"))?;
    let amount = parse_amount(amount).map_err(invalid("amount"))?;
    let currency = match raw.currency {
        None => Currency::USD,
        Some(value) => string_field(value)
            .and_then(|s| Currency::parse(&s))
            .ok_or("must be an ISO 4217 currency code such as USD or EUR")
            .map_err(invalid("currency"))?,
    };
    let transaction_date = match raw.transaction_date {
        None => None,
        Some(value) => Some(
            string_field(value)
                .and_then(|s| TransactionDate::parse_rfc3339(&s))
                .ok_or("must be an RFC 3339 date-time such as 2026-11-05T13:37:00Z")
                .map_err(invalid("transaction_date"))?,
        ),
    };
    Ok(NewTransaction {
        transaction_id,
        merchant_id,
        amount,
        currency,
        transaction_date,
    })
}

fn string_field(value: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(value.get()).ok()
}

/// A JSON number is parsed from its literal text; a JSON string from its contents.
fn parse_amount(value: &RawValue) -> Result<Amount, &'static str> {
    let text = value.get();
    let decimal = if text.starts_with('"') {
        string_field(value).ok_or("must be a decimal number, as a JSON number or string")?
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        text.to_owned()
    } else {
        return Err("must be a decimal number, as a JSON number or string");
    };
    Amount::parse(&decimal).map_err(|e| e.describe())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn invalid_field(body: &str) -> &'static str {
        match validate_new_transaction(body) {
            Err(Rejection::InvalidField { field, .. }) => field,
            other => panic!("expected an invalid field for {body}, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_body_validates_with_every_field() {
        let tx = validate_new_transaction(
            r#"{"transaction_id":"t-1","merchant_id":"m_1","amount":"19.99","currency":"EUR",
                "transaction_date":"2026-11-05T13:37:00+01:00","extra":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(tx.transaction_id.as_str(), "t-1");
        assert_eq!(tx.merchant_id.as_str(), "m_1");
        assert_eq!(tx.amount.cents(), 1999);
        assert_eq!(tx.currency.as_str(), "EUR");
        assert_eq!(
            tx.transaction_date.unwrap().to_stored(),
            "2026-11-05T12:37:00.000Z"
        );
    }

    #[test]
    fn defaults_apply_to_optional_fields() {
        let tx = validate_new_transaction(r#"{"transaction_id":"t","merchant_id":"m","amount":5}"#)
            .unwrap();
        assert_eq!(tx.currency, Currency::USD);
        assert_eq!(tx.transaction_date, None);
        assert_eq!(tx.amount.cents(), 500);
    }

    #[test]
    fn json_numbers_are_read_from_their_text_not_as_floats() {
        let tx =
            validate_new_transaction(r#"{"transaction_id":"t","merchant_id":"m","amount":0.29}"#)
                .unwrap();
        // 0.29 as an f64 times 100 is 28.999999999999996.
        assert_eq!(tx.amount.cents(), 29);
        assert_eq!(
            invalid_field(r#"{"transaction_id":"t","merchant_id":"m","amount":0.291}"#),
            "amount"
        );
    }

    #[test]
    fn missing_and_null_fields_are_listed_together() {
        assert_eq!(
            validate_new_transaction("{}"),
            Err(Rejection::MissingFields(vec![
                "transaction_id",
                "merchant_id",
                "amount"
            ]))
        );
        assert_eq!(
            validate_new_transaction(r#"{"transaction_id":"t","merchant_id":null}"#),
            Err(Rejection::MissingFields(vec!["merchant_id", "amount"]))
        );
        let response = validate_new_transaction("{}").unwrap_err().to_response();
        assert_eq!(response.status, 400);
        assert_eq!(response.body["error"], "Missing required fields");
        assert_eq!(
            response.body["fields"],
            json!(["transaction_id", "merchant_id", "amount"])
        );
    }

    /// The validation matrix: each row breaks exactly one field.
    #[test]
    fn each_invalid_value_is_named() {
        let base = |field: &str, value: &str| {
            let mut fields = vec![
                ("transaction_id", r#""t1""#.to_owned()),
                ("merchant_id", r#""m1""#.to_owned()),
                ("amount", "10".to_owned()),
            ];
            match fields.iter_mut().find(|(name, _)| *name == field) {
                Some(slot) => slot.1 = value.to_owned(),
                None => fields.push((
                    if field == "currency" {
                        "currency"
                    } else {
                        "transaction_date"
                    },
                    value.to_owned(),
                )),
            }
            let inner: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", inner.join(","))
        };
        let rows = [
            ("transaction_id", r#""""#),
            ("transaction_id", r#""has space""#),
            ("transaction_id", &format!("\"{}\"", "x".repeat(65))),
            ("transaction_id", "42"),
            ("transaction_id", "true"),
            ("merchant_id", r#""m/1""#),
            ("merchant_id", "[]"),
            ("amount", "0"),
            ("amount", "-1"),
            ("amount", r#""-1.00""#),
            ("amount", "1.001"),
            ("amount", r#""abc""#),
            ("amount", r#""""#),
            ("amount", "true"),
            ("amount", "{}"),
            ("amount", "1e40"),
            ("currency", r#""usd""#),
            ("currency", r#""XYZ""#),
            ("currency", "840"),
            ("transaction_date", r#""2026-02-30T00:00:00Z""#),
            ("transaction_date", r#""2026-11-05 13:37""#),
            ("transaction_date", "1700000000"),
        ];
        for (field, value) in rows {
            let body = base(field, value);
            assert_eq!(invalid_field(&body), field, "{body}");
            let response = validate_new_transaction(&body).unwrap_err().to_response();
            assert_eq!(response.status, 400);
            assert_eq!(response.body["field"], field);
            assert!(response.body["error"].as_str().unwrap().contains(field));
        }
    }

    #[test]
    fn non_objects_and_broken_json_are_refused() {
        for body in [
            "",
            "[]",
            "null",
            "\"s\"",
            "12",
            "{",
            "{\"amount\":}",
            "not json",
        ] {
            assert!(
                matches!(
                    validate_new_transaction(body),
                    Err(Rejection::MalformedBody(_))
                ),
                "{body:?}"
            );
        }
        assert!(matches!(
            validate_new_transaction(r#"{"transaction_id":"a","transaction_id":"b"}"#),
            Err(Rejection::MalformedBody(_))
        ));
    }
}
