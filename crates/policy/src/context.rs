//! The SSE-KMS / DSSE-KMS encryption context.
//!
//! > Default encryption context: `{"aws:s3:arn": "arn:aws:s3:::BUCKET/KEY"}`; with a bucket key
//! > the bucket ARN `arn:aws:s3:::BUCKET`. Directory buckets: the context must be the bucket ARN,
//! > no more. — S3 behaviour reference
//!
//! Our decision for a caller-supplied context (`x-amz-server-side-encryption-context`): its
//! pairs are kept, and `aws:s3:arn` is **added** with the resource ARN (object ARN, or bucket
//! ARN with a bucket key) when absent. If the caller sets `aws:s3:arn` it must equal that ARN,
//! and no other `aws:`-prefixed key is accepted — otherwise a caller could bind an object's
//! data key to another resource's context. Directory buckets accept only the bucket ARN.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize as _;

use crate::error::{DirectoryRule, PolicyError};

/// The context key S3 binds every KMS data key to.
pub const ARN_CONTEXT_KEY: &str = "aws:s3:arn";

/// Longest `x-amz-server-side-encryption-context` value accepted (base64), checked before it
/// is decoded: 16 KiB (a real context is a few hundred bytes). s3seal's own bound; longer is
/// [`PolicyError::InvalidContext`].
pub const MAX_CONTEXT_HEADER_LEN: usize = 16 * 1024;

pub use s3seal_kms::EncryptionContext;

/// Parses `x-amz-server-side-encryption-context`: base64 of a UTF-8 JSON object whose values are
/// strings. Duplicate keys are refused (JSON allows them; a context must be unambiguous).
///
/// # Errors
/// [`PolicyError::InvalidContext`] for bad base64, UTF-8, JSON, non-string values or duplicates.
pub fn parse_context_header(value: &str) -> Result<EncryptionContext, PolicyError> {
    if value.len() > MAX_CONTEXT_HEADER_LEN {
        return Err(PolicyError::InvalidContext);
    }
    let json = STANDARD
        .decode(value)
        .map_err(|_| PolicyError::InvalidContext)?;
    let text = core::str::from_utf8(&json).map_err(|_| PolicyError::InvalidContext)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let map = EncryptionContext::deserialize(&mut de).map_err(|_| PolicyError::InvalidContext)?;
    de.end().map_err(|_| PolicyError::InvalidContext)?;
    Ok(map)
}

/// Writes a context the way the header carries it (base64 of compact JSON).
#[must_use]
pub fn context_header_value(ctx: &EncryptionContext) -> String {
    STANDARD.encode(ctx.to_json())
}

/// `arn:aws:s3:::BUCKET/KEY`.
#[must_use]
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// `arn:aws:s3:::BUCKET`.
#[must_use]
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The context for a general purpose bucket: the caller's pairs (if any) plus
/// `aws:s3:arn` = `resource_arn`.
///
/// # Errors
/// [`PolicyError::ReservedContextKey`] if the caller set `aws:s3:arn` to anything else, or any
/// other `aws:` key.
pub fn complete_context(
    supplied: Option<EncryptionContext>,
    resource_arn: &str,
) -> Result<EncryptionContext, PolicyError> {
    let mut ctx = supplied.unwrap_or_default();
    for (k, v) in &ctx {
        let reserved = k.starts_with("aws:");
        if reserved && (k != ARN_CONTEXT_KEY || v != resource_arn) {
            return Err(PolicyError::ReservedContextKey);
        }
    }
    ctx.insert(ARN_CONTEXT_KEY.to_owned(), resource_arn.to_owned());
    Ok(ctx)
}

/// The context for a directory bucket: exactly `{"aws:s3:arn": bucket_arn}`; a supplied context
/// must be that and no more.
///
/// # Errors
/// [`PolicyError::DirectoryBucket`] with [`DirectoryRule::ContextNotBucketArn`].
pub fn directory_context(
    supplied: Option<EncryptionContext>,
    bucket_arn: &str,
) -> Result<EncryptionContext, PolicyError> {
    let want = EncryptionContext::from([(ARN_CONTEXT_KEY.to_owned(), bucket_arn.to_owned())]);
    match supplied {
        Some(s) if s != want => Err(PolicyError::DirectoryBucket(
            DirectoryRule::ContextNotBucketArn,
        )),
        _ => Ok(want),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn parses_string_maps_and_round_trips() {
        let ctx = parse_context_header(&b64(r#"{"a":"1","b":"x y"}"#)).unwrap();
        assert_eq!(ctx.len(), 2);
        assert_eq!(
            parse_context_header(&context_header_value(&ctx)).unwrap(),
            ctx
        );
        assert!(parse_context_header(&b64("{}")).unwrap().is_empty());
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            b64(r#"{"a":1}"#),
            b64(r#"["a"]"#),
            b64(r#""a""#),
            b64(r#"{"a":"1","a":"2"}"#),
            b64(r#"{"a":"1"} trailing"#),
            b64(r#"{"a":null}"#),
            b64(r#"{"a":{"b":"c"}}"#),
            "not base64!".to_owned(),
            STANDARD.encode([0xff, 0xfe, b'{', b'}']),
        ] {
            assert_eq!(
                parse_context_header(&bad),
                Err(PolicyError::InvalidContext),
                "{bad}"
            );
        }
    }

    #[test]
    fn arn_is_added_and_checked() {
        let arn = object_arn("b", "k");
        let ctx = complete_context(None, &arn).unwrap();
        assert_eq!(ctx.get(ARN_CONTEXT_KEY), Some(&arn));
        let mut mine = EncryptionContext::new();
        mine.insert("dept", "x");
        let ctx = complete_context(Some(mine.clone()), &arn).unwrap();
        assert_eq!(ctx.len(), 2);
        mine.insert(ARN_CONTEXT_KEY, arn.clone());
        assert!(complete_context(Some(mine.clone()), &arn).is_ok());
        mine.insert(ARN_CONTEXT_KEY, object_arn("b", "other"));
        assert_eq!(
            complete_context(Some(mine), &arn),
            Err(PolicyError::ReservedContextKey)
        );
        let other = EncryptionContext::from([("aws:x".to_owned(), "y".to_owned())]);
        assert_eq!(
            complete_context(Some(other), &arn),
            Err(PolicyError::ReservedContextKey)
        );
    }
}
