//! The transaction model shared by every handler: validated ids, exact amounts, dates, and the
//! message the API handler sends to the queues and the notification handler.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::currency::Currency;

/// Longest accepted transaction or merchant id.
pub const MAX_ID_LEN: usize = 64;

/// Largest accepted amount in minor units (999,999,999,999.99).
///
/// Fourteen significant digits: every accepted amount survives a round trip through an `f64`,
/// which is what JSON clients parse the GET responses into.
pub const MAX_AMOUNT_CENTS: u64 = 99_999_999_999_999;

/// Why an id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    Empty,
    TooLong,
    BadCharacter,
}

impl IdError {
    pub fn describe(self) -> &'static str {
        match self {
            IdError::Empty => "must not be empty",
            IdError::TooLong => "must be at most 64 characters",
            IdError::BadCharacter => "may contain only letters, digits, `_` and `-`",
        }
    }
}

fn check_id(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        Err(IdError::Empty)
    } else if raw.len() > MAX_ID_LEN {
        Err(IdError::TooLong)
    } else if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Err(IdError::BadCharacter)
    } else {
        Ok(())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Accepts 1..=64 characters of `[A-Za-z0-9_-]`.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                check_id(raw).map(|()| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = &'static str;

            fn try_from(raw: String) -> Result<Self, Self::Error> {
                check_id(&raw).map_err(IdError::describe)?;
                Ok(Self(raw))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The client-chosen transaction id, the table's partition key.
    TransactionId
);
id_type!(
    /// The merchant id, the partition key of `merchant-date-index`.
    MerchantId
);

/// Why an amount was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountError {
    NotADecimal,
    NotPositive,
    TooManyDecimals,
    TooLarge,
}

impl AmountError {
    pub fn describe(self) -> &'static str {
        match self {
            AmountError::NotADecimal => "must be a decimal number, as a JSON number or string",
            AmountError::NotPositive => "must be greater than 0",
            AmountError::TooManyDecimals => "must have at most two decimal places",
            AmountError::TooLarge => "must be at most 999999999999.99",
        }
    }
}

/// A positive amount with at most two decimals, held exactly in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    cents: u64,
}

impl Amount {
    /// Parses decimal text exactly, as JSON writes numbers (`12.5`, `1250e-2`, `0.10`).
    ///
    /// The value decides, not the spelling: `12.500` is 12.50 and accepted, `12.505` has
    /// three significant decimals and is refused. No float is involved at any point.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        let bytes = text.as_bytes();
        let mut pos = 0;
        let digits_from = |pos: &mut usize| {
            let start = *pos;
            while *pos < bytes.len() && bytes[*pos].is_ascii_digit() {
                *pos += 1;
            }
            &text[start..*pos]
        };
        if let Some(rest) = text.strip_prefix('-') {
            // A well-formed negative number is a range error, not a syntax error.
            if rest.starts_with(['-', '+']) {
                return Err(AmountError::NotADecimal);
            }
            return match Amount::parse(rest) {
                Err(AmountError::NotADecimal) => Err(AmountError::NotADecimal),
                _ => Err(AmountError::NotPositive),
            };
        }
        let int_part = digits_from(&mut pos);
        let mut frac_part = "";
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            frac_part = digits_from(&mut pos);
            if frac_part.is_empty() {
                return Err(AmountError::NotADecimal);
            }
        }
        if int_part.is_empty() {
            return Err(AmountError::NotADecimal);
        }
        let mut exponent: i64 = 0;
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            let negative = match bytes.get(pos) {
                Some(b'-') => {
                    pos += 1;
                    true
                }
                Some(b'+') => {
                    pos += 1;
                    false
                }
                _ => false,
            };
            let exp_digits = digits_from(&mut pos);
            // Bounded so the arithmetic below cannot overflow; larger exponents are absurd.
            if exp_digits.is_empty() || exp_digits.len() > 4 {
                return Err(AmountError::NotADecimal);
            }
            let magnitude: i64 = exp_digits.parse().map_err(|_| AmountError::NotADecimal)?;
            exponent = if negative { -magnitude } else { magnitude };
        }
        if pos != bytes.len() {
            return Err(AmountError::NotADecimal);
        }
        // value = significant * 10^scale, with significant free of leading/trailing zeros.
        let all_digits: String = format!("{int_part}{frac_part}");
        let trimmed = all_digits.trim_start_matches('0');
        let significant = trimmed.trim_end_matches('0');
        if significant.is_empty() {
            return Err(AmountError::NotPositive);
        }
        let trailing_zeros = (trimmed.len() - significant.len()) as i64;
        let scale = exponent - frac_part.len() as i64 + trailing_zeros;
        let cents_exponent = scale + 2;
        if cents_exponent < 0 {
            return Err(AmountError::TooManyDecimals);
        }
        if significant.len() as i64 + cents_exponent > 17 {
            return Err(AmountError::TooLarge);
        }
        let mut cents: u64 = significant.parse().map_err(|_| AmountError::TooLarge)?;
        for _ in 0..cents_exponent {
            cents = cents.checked_mul(10).ok_or(AmountError::TooLarge)?;
        }
        if cents > MAX_AMOUNT_CENTS {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount { cents })
    }

    /// Builds an amount from minor units, if it is in range.
    pub fn from_cents(cents: u64) -> Option<Amount> {
        (1..=MAX_AMOUNT_CENTS)
            .contains(&cents)
            .then_some(Amount { cents })
    }

    pub fn cents(self) -> u64 {
        self.cents
    }

    /// The amount as a JSON number: exact, because every accepted amount has at most 16
    /// significant digits and round-trips through the shortest `f64` representation.
    pub fn to_json_number(self) -> serde_json::Value {
        serde_json::Number::from_f64(self.cents as f64 / 100.0)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

impl fmt::Display for Amount {
    /// Always two decimals: `12.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Amount::parse(&text).map_err(|e| serde::de::Error::custom(e.describe()))
    }
}

/// An instant, normalised to UTC with millisecond precision.
///
/// The fixed-width form (`2026-11-05T13:37:00.000Z`) sorts lexicographically in time order,
/// which is what the `merchant-date-index` range condition on a string key relies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionDate(OffsetDateTime);

const STORED_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const DATE_ONLY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

impl TransactionDate {
    /// Parses RFC 3339 (any offset); sub-millisecond digits are dropped.
    pub fn parse_rfc3339(text: &str) -> Option<TransactionDate> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        TransactionDate::from_instant(parsed)
    }

    /// Parses a query bound: RFC 3339, or a bare `YYYY-MM-DD` meaning the start of that UTC
    /// day (or its last millisecond when `end_of_day` is set, so `to=2026-11-05` includes it).
    pub fn parse_bound(text: &str, end_of_day: bool) -> Option<TransactionDate> {
        if let Some(date) = TransactionDate::parse_rfc3339(text) {
            return Some(date);
        }
        let day = time::Date::parse(text, DATE_ONLY).ok()?;
        let moment = if end_of_day {
            day.with_hms_milli(23, 59, 59, 999).ok()?
        } else {
            day.midnight()
        };
        TransactionDate::from_instant(moment.assume_utc())
    }

    /// The current time, at request time (never a constant).
    pub fn now() -> TransactionDate {
        TransactionDate::from_instant(OffsetDateTime::now_utc())
            .unwrap_or(TransactionDate(OffsetDateTime::UNIX_EPOCH))
    }

    /// Normalises to UTC milliseconds; refuses years the stored format cannot write.
    pub fn from_instant(instant: OffsetDateTime) -> Option<TransactionDate> {
        let utc = instant.to_offset(time::UtcOffset::UTC);
        let utc = utc.replace_millisecond(utc.millisecond()).ok()?;
        (0..=9999)
            .contains(&utc.year())
            .then_some(TransactionDate(utc))
    }

    /// The stored, sortable form.
    pub fn to_stored(self) -> String {
        // Cannot fail: the year range is checked on construction.
        self.0.format(STORED_FORMAT).unwrap_or_default()
    }
}

impl fmt::Display for TransactionDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

impl Serialize for TransactionDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TransactionDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TransactionDate::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 date"))
    }
}

/// A validated POST /transactions body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTransaction {
    pub transaction_id: TransactionId,
    pub merchant_id: MerchantId,
    pub amount: Amount,
    pub currency: Currency,
    /// As the client sent it; `None` means "now", decided when the item is written.
    pub transaction_date: Option<TransactionDate>,
}

impl NewTransaction {
    /// A hash of what the client asked for, stored with the item for idempotent replays.
    ///
    /// The defaulted date is deliberately not part of it: a retried request without a date
    /// must be recognised as the same request even though "now" has moved on.
    pub fn payload_hash(&self) -> String {
        let date = self
            .transaction_date
            .map_or_else(|| "-".to_owned(), |d| d.to_stored());
        let canonical = format!(
            "txdeploy-transaction-v1\n{}\n{}\n{}\n{}\n{}",
            self.transaction_id,
            self.merchant_id,
            self.amount.cents(),
            self.currency,
            date
        );
        hex(&Sha256::digest(canonical.as_bytes()))
    }

    /// The record as written, with the date resolved.
    pub fn record(&self, now: TransactionDate) -> TransactionMessage {
        TransactionMessage {
            transaction_id: self.transaction_id.clone(),
            merchant_id: self.merchant_id.clone(),
            amount: self.amount,
            currency: self.currency.as_str().to_owned(),
            transaction_date: self.transaction_date.unwrap_or(now),
        }
    }
}

/// What the API handler sends to the analytics and reporting queues and to the notification
/// handler. Amounts travel as exact decimal strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionMessage {
    pub transaction_id: TransactionId,
    pub merchant_id: MerchantId,
    pub amount: Amount,
    pub currency: String,
    pub transaction_date: TransactionDate,
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_exactly_the_documented_alphabet_and_length() {
        assert!(TransactionId::parse("tx_123-ABC").is_ok());
        assert!(TransactionId::parse(&"a".repeat(64)).is_ok());
        assert_eq!(TransactionId::parse(&"a".repeat(65)), Err(IdError::TooLong));
        assert_eq!(TransactionId::parse(""), Err(IdError::Empty));
        for bad in ["a b", "a/b", "é", "a.b", "a\n", "<script>"] {
            assert_eq!(
                MerchantId::parse(bad),
                Err(IdError::BadCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn amounts_parse_exactly_without_float_error() {
        let cents = |s: &str| Amount::parse(s).map(Amount::cents);
        assert_eq!(cents("0.1"), Ok(10));
        assert_eq!(cents("0.10"), Ok(10));
        assert_eq!(cents("12.5"), Ok(1250));
        assert_eq!(cents("12.500"), Ok(1250));
        assert_eq!(cents("1250e-2"), Ok(1250));
        assert_eq!(cents("1.5E+2"), Ok(15000));
        assert_eq!(cents("007"), Ok(700));
        assert_eq!(cents("0.01"), Ok(1));
        assert_eq!(cents("999999999999.99"), Ok(MAX_AMOUNT_CENTS));
        // 0.1 + 0.2 style inputs that floats get wrong stay exact.
        assert_eq!(cents("1234567890123.4e-1"), Ok(12_345_678_901_234));
    }

    #[test]
    fn amounts_are_refused_with_the_right_reason() {
        assert_eq!(Amount::parse("0"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse("0.00"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse("-5"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse("-0.001"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse("12.345"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("1e-3"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("1000000000000"), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse("1e9999"), Err(AmountError::TooLarge));
        for bad in [
            "", ".5", "5.", "1,5", " 5", "5 ", "+5", "0x10", "NaN", "inf", "1e", "1e99999", "--1",
        ] {
            assert_eq!(Amount::parse(bad), Err(AmountError::NotADecimal), "{bad:?}");
        }
    }

    #[test]
    fn amount_display_and_json_number_are_exact() {
        let amount = Amount::parse("12.3").unwrap();
        assert_eq!(amount.to_string(), "12.30");
        assert_eq!(amount.to_json_number().to_string(), "12.3");
        let max = Amount::from_cents(MAX_AMOUNT_CENTS).unwrap();
        assert_eq!(max.to_json_number().to_string(), "999999999999.99");
        assert_eq!(Amount::from_cents(0), None);
    }

    #[test]
    fn dates_normalise_to_sortable_utc_milliseconds() {
        let d = TransactionDate::parse_rfc3339("2026-11-05T15:37:00.123456+02:00").unwrap();
        assert_eq!(d.to_stored(), "2026-11-05T13:37:00.123Z");
        let early = TransactionDate::parse_rfc3339("2026-11-05T13:37:00Z").unwrap();
        let late = TransactionDate::parse_rfc3339("2026-11-05T13:37:00.5Z").unwrap();
        assert!(early.to_stored() < late.to_stored());
        assert_eq!(TransactionDate::parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(TransactionDate::parse_rfc3339("yesterday"), None);
        assert_eq!(
            TransactionDate::parse_bound("2026-11-05", true)
                .unwrap()
                .to_stored(),
            "2026-11-05T23:59:59.999Z"
        );
        assert_eq!(
            TransactionDate::parse_bound("2026-11-05", false)
                .unwrap()
                .to_stored(),
            "2026-11-05T00:00:00.000Z"
        );
    }

    #[test]
    fn now_is_the_current_time_not_a_constant() {
        let before = OffsetDateTime::now_utc().replace_millisecond(0).unwrap();
        let now = TransactionDate::now();
        assert!(now.0 >= before - time::Duration::seconds(1));
        assert!(now.0 <= OffsetDateTime::now_utc());
    }

    #[test]
    fn payload_hash_ignores_the_defaulted_date_but_not_a_given_one() {
        let tx = NewTransaction {
            transaction_id: TransactionId::parse("t1").unwrap(),
            merchant_id: MerchantId::parse("m1").unwrap(),
            amount: Amount::parse("10").unwrap(),
            currency: Currency::USD,
            transaction_date: None,
        };
        let same = tx.clone();
        assert_eq!(tx.payload_hash(), same.payload_hash());
        let dated = NewTransaction {
            transaction_date: TransactionDate::parse_rfc3339("2026-01-01T00:00:00Z"),
            ..tx.clone()
        };
        assert_ne!(tx.payload_hash(), dated.payload_hash());
        let other_amount = NewTransaction {
            amount: Amount::parse("10.01").unwrap(),
            ..tx.clone()
        };
        assert_ne!(tx.payload_hash(), other_amount.payload_hash());
        assert_eq!(tx.payload_hash().len(), 64);
    }

    #[test]
    fn message_round_trips_through_json() {
        let tx = NewTransaction {
            transaction_id: TransactionId::parse("t1").unwrap(),
            merchant_id: MerchantId::parse("m1").unwrap(),
            amount: Amount::parse("0.1").unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            transaction_date: None,
        };
        let message = tx.record(TransactionDate::parse_rfc3339("2026-01-01T00:00:00Z").unwrap());
        let json = serde_json::to_string(&message).unwrap();
        assert!(json.contains(r#""amount":"0.10""#), "{json}");
        let back: TransactionMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, message);
        assert!(serde_json::from_str::<TransactionMessage>(&json.replace("t1", "t 1")).is_err());
    }
}
