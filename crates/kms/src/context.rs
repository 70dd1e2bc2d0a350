//! The KMS encryption context: string → string pairs bound to a blob as additional
//! authenticated data.
//!
//! > `x-amz-server-side-encryption-context`: base64 of a UTF-8 JSON object of string → string
//!
//! Canonical serialization (the AAD of [`crate::LocalKms`] blobs, also the cache key): the pairs
//! sorted by key bytes (a `BTreeMap` already is), as
//! `u32 BE count ‖ for each pair: u32 BE len(key) ‖ key ‖ u32 BE len(value) ‖ value`.
//! Length prefixes make it injective: `{"a":"bc"}` and `{"ab":"c"}` differ.

use std::collections::BTreeMap;

use crate::error::KmsError;

/// An encryption context. Equality, hashing and serialization are order-independent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncryptionContext(BTreeMap<String, String>);

/// The context key S3 uses for the object or bucket ARN.
pub const S3_ARN_KEY: &str = "aws:s3:arn";

impl EncryptionContext {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// S3's default context for an object: `{"aws:s3:arn": "arn:aws:s3:::BUCKET/KEY"}`.
    #[must_use]
    pub fn for_object(bucket: &str, key: &str) -> Self {
        Self::from_pairs([(S3_ARN_KEY, format!("arn:aws:s3:::{bucket}/{key}"))])
    }

    /// S3's context for a bucket key: `{"aws:s3:arn": "arn:aws:s3:::BUCKET"}`.
    #[must_use]
    pub fn for_bucket(bucket: &str) -> Self {
        Self::from_pairs([(S3_ARN_KEY, format!("arn:aws:s3:::{bucket}"))])
    }

    /// Builds a context from pairs; a repeated key keeps the last value.
    #[must_use]
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        EncryptionContext(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Adds or replaces one pair.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// The value for `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The number of pairs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no pairs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The underlying map.
    #[must_use]
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The canonical byte serialization described in the module header.
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let len: usize = self.0.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
        let mut out = Vec::with_capacity(4 + len);
        push_len(&mut out, self.0.len());
        for (k, v) in &self.0 {
            push_len(&mut out, k.len());
            out.extend_from_slice(k.as_bytes());
            push_len(&mut out, v.len());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// The JSON object with keys sorted (the form S3 base64-encodes into
    /// `x-amz-server-side-encryption-context`).
    #[must_use]
    pub fn to_json(&self) -> String {
        // A map of strings always serializes; fall back to an empty object rather than panic.
        serde_json::to_string(&self.0).unwrap_or_else(|_| String::from("{}"))
    }

    /// Parses a JSON object of string → string.
    ///
    /// # Errors
    /// [`KmsError::InvalidArgument`] if `json` is not such an object (duplicate keys are
    /// refused: JSON parsers disagree on which one wins).
    pub fn from_json(json: &str) -> Result<Self, KmsError> {
        let pairs: Vec<(String, String)> =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
                .map_err(|_| KmsError::InvalidArgument("encryption context is not a JSON object"))?
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => Ok((k, s)),
                    _ => Err(KmsError::InvalidArgument(
                        "encryption context values must be strings",
                    )),
                })
                .collect::<Result<_, _>>()?;
        let n = pairs.len();
        let ctx = EncryptionContext(pairs.into_iter().collect());
        // serde_json's Map keeps the last duplicate; count raw keys to notice duplicates.
        if ctx.0.len() != n || count_top_level_keys(json) != Some(n) {
            return Err(KmsError::InvalidArgument(
                "encryption context has duplicate keys",
            ));
        }
        Ok(ctx)
    }
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    // Contexts are header-sized; saturate rather than truncate silently (cannot occur in practice,
    // and a saturated length still differs from any real one).
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_be_bytes());
}

/// Counts the keys of a top-level JSON object by streaming it as a sequence of raw entries.
fn count_top_level_keys(json: &str) -> Option<usize> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    struct Counter;
    impl<'de> Visitor<'de> for Counter {
        type Value = usize;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {
                n += 1;
            }
            Ok(n)
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    (&mut de).deserialize_map(Counter).ok()
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EncryptionContext {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self::from_pairs(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_order_independent_and_injective() {
        let a = EncryptionContext::from_pairs([("b", "2"), ("a", "1")]);
        let b = EncryptionContext::from_pairs([("a", "1"), ("b", "2")]);
        assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        let c = EncryptionContext::from_pairs([("a", "bc")]);
        let d = EncryptionContext::from_pairs([("ab", "c")]);
        assert_ne!(c.canonical_bytes(), d.canonical_bytes());
        assert_eq!(EncryptionContext::new().canonical_bytes(), vec![0, 0, 0, 0]);
    }

    #[test]
    fn json_round_trip_and_refusals() {
        let ctx = EncryptionContext::for_object("bkt", "k/1");
        assert_eq!(ctx.to_json(), r#"{"aws:s3:arn":"arn:aws:s3:::bkt/k/1"}"#);
        assert_eq!(EncryptionContext::from_json(&ctx.to_json()).unwrap(), ctx);
        assert!(EncryptionContext::from_json(r#"{"a":1}"#).is_err());
        assert!(EncryptionContext::from_json(r#"["a"]"#).is_err());
        assert!(EncryptionContext::from_json(r#"{"a":"1","a":"2"}"#).is_err());
    }
}
