//! The transaction item as DynamoDB stores it, and its conversions to API JSON and tokens.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use crate::pagination::PageKey;
use crate::transaction::{Amount, TransactionDate, TransactionMessage};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Attribute names; the GSI `merchant-date-index` is (`merchant_id`, `transaction_date`).
pub mod attr {
    pub const TRANSACTION_ID: &str = "transaction_id";
    pub const MERCHANT_ID: &str = "merchant_id";
    pub const AMOUNT: &str = "amount";
    pub const CURRENCY: &str = "currency";
    pub const TRANSACTION_DATE: &str = "transaction_date";
    pub const CREATED_AT: &str = "created_at";
    pub const STATUS: &str = "status";
    /// Hash of the client's payload: tells a replay from a conflicting reuse of an id.
    pub const PAYLOAD_HASH: &str = "payload_hash";
    /// Set once the queues and the notification handler have been given the transaction.
    pub const DISPATCHED_AT: &str = "dispatched_at";
}

/// Fields the API returns, in this order; internal bookkeeping stays private.
const PUBLIC_FIELDS: [&str; 7] = [
    attr::TRANSACTION_ID,
    attr::MERCHANT_ID,
    attr::AMOUNT,
    attr::CURRENCY,
    attr::TRANSACTION_DATE,
    attr::CREATED_AT,
    attr::STATUS,
];

/// The item written by POST /transactions.
pub fn new_item(
    record: &TransactionMessage,
    payload_hash: &str,
    created_at: TransactionDate,
) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    HashMap::from([
        (
            attr::TRANSACTION_ID.to_owned(),
            s(record.transaction_id.as_str()),
        ),
        (attr::MERCHANT_ID.to_owned(), s(record.merchant_id.as_str())),
        (
            attr::AMOUNT.to_owned(),
            AttributeValue::N(record.amount.to_string()),
        ),
        (attr::CURRENCY.to_owned(), s(&record.currency)),
        (
            attr::TRANSACTION_DATE.to_owned(),
            s(&record.transaction_date.to_stored()),
        ),
        (attr::CREATED_AT.to_owned(), s(&created_at.to_stored())),
        (attr::STATUS.to_owned(), s("VALIDATED")),
        (attr::PAYLOAD_HASH.to_owned(), s(payload_hash)),
    ])
}

/// A string attribute, if present and a string.
pub fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The public JSON view of an item; amounts come back as exact JSON numbers.
pub fn item_to_json(item: &Item) -> Value {
    let mut out = Map::new();
    for name in PUBLIC_FIELDS {
        let Some(value) = item.get(name) else {
            continue;
        };
        let json = match value {
            AttributeValue::N(n) if name == attr::AMOUNT => {
                Amount::parse(n).map_or_else(|_| Value::String(n.clone()), Amount::to_json_number)
            }
            other => attribute_to_json(other),
        };
        out.insert(name.to_owned(), json);
    }
    Value::Object(out)
}

fn attribute_to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => serde_json::from_str::<serde_json::Number>(n)
            .map_or_else(|_| Value::String(n.clone()), Value::Number),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(list) => Value::Array(list.iter().map(attribute_to_json).collect()),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(set) => Value::Array(set.iter().cloned().map(Value::String).collect()),
        // Binary and number sets are never written by these handlers.
        _ => Value::Null,
    }
}

/// A `LastEvaluatedKey` as a token payload; `None` if an attribute is not a string.
pub fn page_key_from_item(key: &Item) -> Option<PageKey> {
    key.iter()
        .map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), s.clone())))
        .collect()
}

/// A verified token payload as an `ExclusiveStartKey`.
pub fn page_key_to_item(key: &PageKey) -> Item {
    key.iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::currency::Currency;
    use crate::transaction::{MerchantId, NewTransaction, TransactionId};

    #[test]
    fn the_public_view_hides_bookkeeping_and_keeps_amounts_exact() {
        let tx = NewTransaction {
            transaction_id: TransactionId::parse("t1").unwrap(),
            merchant_id: MerchantId::parse("m1").unwrap(),
            amount: Amount::parse("0.29").unwrap(),
            currency: Currency::USD,
            transaction_date: None,
        };
        let now = TransactionDate::parse_rfc3339("2026-11-05T13:37:00Z").unwrap();
        let mut item = new_item(&tx.record(now), &tx.payload_hash(), now);
        // DynamoDB normalises numbers: "0.29" stays, "12.50" would come back as "12.5".
        item.insert(
            attr::DISPATCHED_AT.to_owned(),
            AttributeValue::S("x".into()),
        );
        assert_eq!(
            item_to_json(&item),
            json!({
                "transaction_id": "t1", "merchant_id": "m1", "amount": 0.29, "currency": "USD",
                "transaction_date": "2026-11-05T13:37:00.000Z",
                "created_at": "2026-11-05T13:37:00.000Z", "status": "VALIDATED",
            })
        );
    }

    #[test]
    fn page_keys_convert_both_ways_and_refuse_non_strings() {
        let key: PageKey = [("merchant_id".to_owned(), "m".to_owned())].into();
        assert_eq!(page_key_from_item(&page_key_to_item(&key)), Some(key));
        let numeric: Item = [("n".to_owned(), AttributeValue::N("1".into()))].into();
        assert_eq!(page_key_from_item(&numeric), None);
    }
}
