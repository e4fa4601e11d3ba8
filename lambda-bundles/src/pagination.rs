//! Opaque, tamper-checked pagination tokens for the merchant query.
//!
//! A token is `base64url(key JSON) "." base64url(HMAC-SHA256)`. The MAC covers the
//! DynamoDB `LastEvaluatedKey` and the query it came from (merchant and date range), so a
//! token cannot be edited, forged, or replayed against another merchant's listing.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest token accepted; real ones are about 250 characters.
const MAX_TOKEN_LEN: usize = 1024;

/// The attributes of a `merchant-date-index` LastEvaluatedKey: table key plus index key.
const KEY_ATTRIBUTES: [&str; 3] = ["merchant_id", "transaction_date", "transaction_id"];

/// The secret from `PAGINATION_KEY`, as a keyed MAC ready to be cloned per token.
#[derive(Clone)]
pub struct PaginationKey(HmacSha256);

impl std::fmt::Debug for PaginationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaginationKey(..)")
    }
}

/// Why a key or token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The configured key is shorter than 16 bytes.
    WeakKey,
    /// Not a token this service issued for this query.
    Invalid,
}

/// The query a token is bound to.
#[derive(Clone, Copy, Debug)]
pub struct QueryScope<'a> {
    pub merchant_id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// A `LastEvaluatedKey` of string attributes, by name.
pub type PageKey = BTreeMap<String, String>;

impl PaginationKey {
    /// Requires at least 16 bytes, so the MAC cannot be brute-forced.
    pub fn new(secret: &[u8]) -> Result<PaginationKey, TokenError> {
        if secret.len() < 16 {
            return Err(TokenError::WeakKey);
        }
        HmacSha256::new_from_slice(secret)
            .map(PaginationKey)
            .map_err(|_| TokenError::WeakKey)
    }

    fn mac(&self, scope: QueryScope<'_>, key_json: &[u8]) -> HmacSha256 {
        // Length-free separators are safe here: ids and dates never contain NUL.
        let mut mac = self.0.clone();
        for part in ["txdeploy-page-v1", scope.merchant_id, scope.from, scope.to] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        mac.update(key_json);
        mac
    }

    /// Encodes a LastEvaluatedKey for the client.
    pub fn encode(&self, scope: QueryScope<'_>, key: &PageKey) -> String {
        let key_json = serde_json::to_vec(key).unwrap_or_default();
        let tag = self.mac(scope, &key_json).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&key_json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Verifies and decodes a client's `next` token for this query.
    pub fn decode(&self, scope: QueryScope<'_>, token: &str) -> Result<PageKey, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let (body, tag) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let key_json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Invalid)?;
        // Constant-time comparison, before the payload is even parsed.
        self.mac(scope, &key_json)
            .verify_slice(&tag)
            .map_err(|_| TokenError::Invalid)?;
        let key: PageKey = serde_json::from_slice(&key_json).map_err(|_| TokenError::Invalid)?;
        let shape_ok = key.len() == KEY_ATTRIBUTES.len()
            && KEY_ATTRIBUTES.iter().all(|name| key.contains_key(*name))
            && key.get("merchant_id").map(String::as_str) == Some(scope.merchant_id);
        if shape_ok {
            Ok(key)
        } else {
            Err(TokenError::Invalid)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SCOPE: QueryScope<'static> = QueryScope {
        merchant_id: "m1",
        from: "a",
        to: "b",
    };

    fn key() -> PageKey {
        [
            ("merchant_id", "m1"),
            ("transaction_date", "2026-11-05T13:37:00.000Z"),
            ("transaction_id", "t9"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn secret() -> PaginationKey {
        PaginationKey::new(b"0123456789abcdef0123").unwrap()
    }

    #[test]
    fn a_token_round_trips_for_the_same_query() {
        let token = secret().encode(SCOPE, &key());
        assert!(token.len() < 300);
        assert_eq!(secret().decode(SCOPE, &token), Ok(key()));
    }

    #[test]
    fn tampered_forged_or_rescoped_tokens_are_refused() {
        let token = secret().encode(SCOPE, &key());
        let (body, tag) = token.split_once('.').unwrap();
        // Flip one character of the payload, then of the tag.
        let flip = |s: &str| {
            let mut chars: Vec<char> = s.chars().collect();
            chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
            chars.into_iter().collect::<String>()
        };
        assert_eq!(
            secret().decode(SCOPE, &format!("{}.{tag}", flip(body))),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            secret().decode(SCOPE, &format!("{body}.{}", flip(tag))),
            Err(TokenError::Invalid)
        );
        // Another merchant, another range, another secret.
        let other_merchant = QueryScope {
            merchant_id: "m2",
            ..SCOPE
        };
        assert_eq!(
            secret().decode(other_merchant, &token),
            Err(TokenError::Invalid)
        );
        let other_range = QueryScope { to: "c", ..SCOPE };
        assert_eq!(
            secret().decode(other_range, &token),
            Err(TokenError::Invalid)
        );
        let other_secret = PaginationKey::new(b"another-secret-of-16+").unwrap();
        assert_eq!(other_secret.decode(SCOPE, &token), Err(TokenError::Invalid));
        for junk in ["", ".", "abc", "a.b.c", "!!!.???", &"A".repeat(2000)] {
            assert_eq!(
                secret().decode(SCOPE, junk),
                Err(TokenError::Invalid),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn a_validly_signed_key_of_the_wrong_shape_is_refused() {
        let mut extra = key();
        extra.insert("amount".to_owned(), "1".to_owned());
        let token = secret().encode(SCOPE, &extra);
        assert_eq!(secret().decode(SCOPE, &token), Err(TokenError::Invalid));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            PaginationKey::new(b"short").map(|_| ()),
            Err(TokenError::WeakKey)
        );
    }
}
