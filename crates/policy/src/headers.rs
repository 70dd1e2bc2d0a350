//! The server-side encryption request headers, parsed and cross-checked.
//!
//! Checks run in this order, each a 400 that writes nothing:
//! 1. any SSE-C header (own or copy-source) over plain HTTP → [`PolicyError::SseCInsecureTransport`];
//! 2. each header at most once, visible ASCII → [`PolicyError::InvalidHeaderValue`];
//! 3. `x-amz-server-side-encryption` recognized → [`PolicyError::UnsupportedAlgorithm`];
//! 4. SSE-C with a managed header → [`PolicyError::SseCIncompatible`];
//! 5. KMS key id or context without `aws:kms`/`aws:kms:dsse` → [`PolicyError::KmsHeaderWithoutKms`];
//! 6. the SSE-C triples ([`CustomerKey::from_headers`]); the KMS key id
//!    ([`PolicyError::KmsKeyNotFound`]); the context; the bucket-key flag.

use http::HeaderMap;
use s3seal_kms::KeyRef;

use crate::algorithm::SseAlgorithm;
use crate::context::{EncryptionContext, parse_context_header};
use crate::customer_key::CustomerKey;
use crate::error::PolicyError;

/// Header names (lowercase, as `http` stores them).
pub mod names {
    /// `x-amz-server-side-encryption`
    pub const SSE: &str = "x-amz-server-side-encryption";
    /// `x-amz-server-side-encryption-aws-kms-key-id`
    pub const KMS_KEY_ID: &str = "x-amz-server-side-encryption-aws-kms-key-id";
    /// `x-amz-server-side-encryption-context`
    pub const CONTEXT: &str = "x-amz-server-side-encryption-context";
    /// `x-amz-server-side-encryption-bucket-key-enabled`
    pub const BUCKET_KEY: &str = "x-amz-server-side-encryption-bucket-key-enabled";
    /// `x-amz-server-side-encryption-customer-algorithm`
    pub const SSE_C_ALGORITHM: &str = "x-amz-server-side-encryption-customer-algorithm";
    /// `x-amz-server-side-encryption-customer-key`
    pub const SSE_C_KEY: &str = "x-amz-server-side-encryption-customer-key";
    /// `x-amz-server-side-encryption-customer-key-MD5`
    pub const SSE_C_KEY_MD5: &str = "x-amz-server-side-encryption-customer-key-md5";
    /// `x-amz-copy-source-server-side-encryption-customer-algorithm`
    pub const COPY_SSE_C_ALGORITHM: &str =
        "x-amz-copy-source-server-side-encryption-customer-algorithm";
    /// `x-amz-copy-source-server-side-encryption-customer-key`
    pub const COPY_SSE_C_KEY: &str = "x-amz-copy-source-server-side-encryption-customer-key";
    /// `x-amz-copy-source-server-side-encryption-customer-key-MD5`
    pub const COPY_SSE_C_KEY_MD5: &str =
        "x-amz-copy-source-server-side-encryption-customer-key-md5";

    /// The managed-encryption headers (everything but SSE-C).
    pub const MANAGED: [&str; 4] = [SSE, KMS_KEY_ID, CONTEXT, BUCKET_KEY];
    /// The SSE-C triple for the object written or read.
    pub const SSE_C: [&str; 3] = [SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5];
    /// The SSE-C triple of a copy source.
    pub const COPY_SSE_C: [&str; 3] = [COPY_SSE_C_ALGORITHM, COPY_SSE_C_KEY, COPY_SSE_C_KEY_MD5];
    /// Every server-side encryption header this crate reads.
    pub const ALL: [&str; 10] = [
        SSE,
        KMS_KEY_ID,
        CONTEXT,
        BUCKET_KEY,
        SSE_C_ALGORITHM,
        SSE_C_KEY,
        SSE_C_KEY_MD5,
        COPY_SSE_C_ALGORITHM,
        COPY_SSE_C_KEY,
        COPY_SSE_C_KEY_MD5,
    ];
}

/// The encryption headers of one request, validated.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SseHeaders {
    /// `x-amz-server-side-encryption`.
    pub algorithm: Option<SseAlgorithm>,
    /// `x-amz-server-side-encryption-aws-kms-key-id` (only with a KMS algorithm).
    pub kms_key: Option<KeyRef>,
    /// `x-amz-server-side-encryption-context`, decoded (only with a KMS algorithm).
    pub context: Option<EncryptionContext>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    pub bucket_key: Option<bool>,
    /// The SSE-C key for the object written or read.
    pub customer: Option<CustomerKey>,
    /// The SSE-C key of the copy source (CopyObject, UploadPartCopy).
    pub copy_source_customer: Option<CustomerKey>,
}

impl SseHeaders {
    /// Parses the encryption headers of a request.
    ///
    /// # Errors
    /// See the module documentation for the order of checks; every error is a 4xx
    /// [`PolicyError`].
    pub fn parse(headers: &HeaderMap, secure_transport: bool) -> Result<Self, PolicyError> {
        // "SSE-C requires HTTPS" — checked first, before any key material is looked at.
        let any_sse_c = names::SSE_C
            .iter()
            .chain(names::COPY_SSE_C.iter())
            .any(|n| headers.contains_key(*n));
        if any_sse_c && !secure_transport {
            return Err(PolicyError::SseCInsecureTransport);
        }
        let get = |name: &'static str| single(headers, name);
        let sse = get(names::SSE)?;
        let key_id = get(names::KMS_KEY_ID)?;
        let context = get(names::CONTEXT)?;
        let bucket_key = get(names::BUCKET_KEY)?;
        let c_alg = get(names::SSE_C_ALGORITHM)?;
        let c_key = get(names::SSE_C_KEY)?;
        let c_md5 = get(names::SSE_C_KEY_MD5)?;
        let cs_alg = get(names::COPY_SSE_C_ALGORITHM)?;
        let cs_key = get(names::COPY_SSE_C_KEY)?;
        let cs_md5 = get(names::COPY_SSE_C_KEY_MD5)?;

        // "Unrecognized or unsupported values won't write a destination object and will
        // receive a 400 Bad Request response."
        let algorithm = sse.map(SseAlgorithm::parse).transpose()?;
        let bucket_key = bucket_key
            .map(|v| parse_bool(v).ok_or(PolicyError::InvalidHeaderValue(names::BUCKET_KEY)))
            .transpose()?;

        let has_sse_c = c_alg.is_some() || c_key.is_some() || c_md5.is_some();
        if has_sse_c
            && (algorithm.is_some()
                || key_id.is_some()
                || context.is_some()
                || bucket_key == Some(true))
        {
            return Err(PolicyError::SseCIncompatible);
        }
        let kms = algorithm.is_some_and(SseAlgorithm::is_kms);
        if (key_id.is_some() || context.is_some()) && !kms {
            return Err(PolicyError::KmsHeaderWithoutKms);
        }

        let customer = has_sse_c
            .then(|| CustomerKey::from_headers(c_alg, c_key, c_md5))
            .transpose()?;
        let copy_source_customer = (cs_alg.is_some() || cs_key.is_some() || cs_md5.is_some())
            .then(|| CustomerKey::from_headers(cs_alg, cs_key, cs_md5))
            .transpose()?;
        let kms_key = key_id
            .map(|s| KeyRef::parse(s).map_err(|_| PolicyError::KmsKeyNotFound))
            .transpose()?;
        let context = context.map(parse_context_header).transpose()?;
        Ok(SseHeaders {
            algorithm,
            kms_key,
            context,
            bucket_key,
            customer,
            copy_source_customer,
        })
    }
}

/// Whether any managed-encryption header (`x-amz-server-side-encryption`, KMS key id, context,
/// bucket-key-enabled) is present, whatever its value.
#[must_use]
pub fn has_managed_headers(headers: &HeaderMap) -> bool {
    names::MANAGED.iter().any(|n| headers.contains_key(*n))
}

fn single<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<Option<&'h str>, PolicyError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(PolicyError::InvalidHeaderValue(name));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| PolicyError::InvalidHeaderValue(name))
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
