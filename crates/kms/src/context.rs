//! The KMS encryption context: string → string pairs bound to a blob as additional
//! authenticated data.
//!
//! > `x-amz-server-side-encryption-context`: base64 of a UTF-8 JSON object of string → string
//!
//! Canonical serialization (part of the AAD of [`crate::LocalKms`] blobs): the pairs
//! sorted by key bytes (a `BTreeMap` already is), as
//! `u32 BE count ‖ for each pair: u32 BE len(key) ‖ key ‖ u32 BE len(value) ‖ value`.
//! Length prefixes make it injective: `{"a":"bc"}` and `{"ab":"c"}` differ.
//!
//! [`EncryptionContext`] is the one type for a KMS encryption context across s3seal (header
//! parsing, policy, the engine, the KMS). It behaves as an ordered `String → String` map with
//! the methods and traits of `BTreeMap<String, String>` its callers use (`get`, `insert`,
//! `remove`, `contains_key`, `keys`, `values`, iteration by value and by reference, indexing,
//! `FromIterator`, `Extend`, `From<[(K, V); N]>`), and serializes with serde as a JSON object
//! of strings; deserializing refuses duplicate keys and non-string values.

use std::borrow::Borrow;
use std::collections::{BTreeMap, btree_map};
use std::ops::Index;

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

    /// Adds or replaces one pair; returns the value it replaced.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// The value for `key`.
    #[must_use]
    pub fn get<Q>(&self, key: &Q) -> Option<&String>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get(key)
    }

    /// Whether `key` has a value.
    #[must_use]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.contains_key(key)
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<String>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.remove(key)
    }

    /// Keeps only the pairs for which `f` returns `true`.
    pub fn retain(&mut self, mut f: impl FnMut(&String, &mut String) -> bool) {
        self.0.retain(|k, v| f(k, v));
    }

    /// The keys, sorted.
    pub fn keys(&self) -> btree_map::Keys<'_, String, String> {
        self.0.keys()
    }

    /// The values, in key order.
    pub fn values(&self) -> btree_map::Values<'_, String, String> {
        self.0.values()
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
    pub fn iter(&self) -> btree_map::Iter<'_, String, String> {
        self.0.iter()
    }

    /// The underlying map.
    #[must_use]
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The underlying map, by value.
    #[must_use]
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
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
        // Through `Value`, whose `Display` has no error case of its own: the same compact JSON
        // as `serde_json::to_string` of the map, with no impossible error to handle.
        let map: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(map).to_string()
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

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for EncryptionContext {
    fn extend<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        self.0
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for EncryptionContext {
    fn from(pairs: [(K, V); N]) -> Self {
        Self::from_pairs(pairs)
    }
}

impl From<BTreeMap<String, String>> for EncryptionContext {
    fn from(map: BTreeMap<String, String>) -> Self {
        EncryptionContext(map)
    }
}

impl From<EncryptionContext> for BTreeMap<String, String> {
    fn from(ctx: EncryptionContext) -> Self {
        ctx.0
    }
}

impl IntoIterator for EncryptionContext {
    type Item = (String, String);
    type IntoIter = btree_map::IntoIter<String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a EncryptionContext {
    type Item = (&'a String, &'a String);
    type IntoIter = btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// `ctx["key"]`, as for a map: panics if `key` is absent (use [`EncryptionContext::get`]).
impl<Q> Index<&Q> for EncryptionContext
where
    String: Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = String;
    fn index(&self, key: &Q) -> &String {
        &self.0[key]
    }
}

/// A JSON object of strings, keys sorted (what `x-amz-server-side-encryption-context` carries,
/// base64-encoded).
impl serde::Serialize for EncryptionContext {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A map of string → string; a repeated key is an error (JSON parsers disagree on which
/// duplicate wins, so a context must be unambiguous), as is any non-string value.
impl<'de> serde::Deserialize<'de> for EncryptionContext {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Strict;
        impl<'de> serde::de::Visitor<'de> for Strict {
            type Value = EncryptionContext;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a map of string to string")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Self::Value, A::Error> {
                let mut ctx = EncryptionContext::new();
                while let Some((k, v)) = access.next_entry::<String, String>()? {
                    if ctx.0.insert(k, v).is_some() {
                        return Err(serde::de::Error::custom(
                            "duplicate key in encryption context",
                        ));
                    }
                }
                Ok(ctx)
            }
        }
        d.deserialize_map(Strict)
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

    #[test]
    fn behaves_as_an_ordered_string_map() {
        let mut ctx = EncryptionContext::from([("b", "2"), ("a", "1")]);
        assert_eq!(ctx.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(ctx.values().collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(ctx.get("a").map(String::as_str), Some("1"));
        assert_eq!(ctx["b"], "2");
        assert!(ctx.contains_key("a") && !ctx.contains_key("c"));
        assert_eq!(ctx.insert("a", "one"), Some("1".to_owned()));
        assert_eq!(ctx.remove("a"), Some("one".to_owned()));
        assert_eq!(ctx.remove("a"), None);
        ctx.extend([("c".to_owned(), "3".to_owned())]);
        let by_ref: Vec<(&String, &String)> = (&ctx).into_iter().collect();
        assert_eq!(by_ref.len(), 2);
        let owned: Vec<(String, String)> = ctx.clone().into_iter().collect();
        assert_eq!(owned, [("b".into(), "2".into()), ("c".into(), "3".into())]);
        let again: EncryptionContext = owned.into_iter().collect();
        assert_eq!(again, ctx);
        let map: BTreeMap<String, String> = ctx.clone().into();
        assert_eq!(EncryptionContext::from(map), ctx);
        ctx.retain(|k, _| k != "b");
        assert_eq!(ctx.len(), 1);
    }

    #[test]
    fn serde_is_a_strict_json_object() {
        let ctx = EncryptionContext::from([("k", "v \"q\""), ("aws:s3:arn", "arn:aws:s3:::b")]);
        let json = serde_json::to_string(&ctx).unwrap();
        assert_eq!(json, ctx.to_json());
        assert_eq!(json, r#"{"aws:s3:arn":"arn:aws:s3:::b","k":"v \"q\""}"#);
        assert_eq!(
            serde_json::from_str::<EncryptionContext>(&json).unwrap(),
            ctx
        );
        for bad in [
            r#"{"a":"1","a":"2"}"#,
            r#"{"a":1}"#,
            r#"["a"]"#,
            r#"{"a":null}"#,
        ] {
            assert!(
                serde_json::from_str::<EncryptionContext>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
