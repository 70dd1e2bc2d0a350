//! Feature `fuzzing`: what a storage backend needs to fuzz its own code with s3seal linked in.
//!
//! * [`deterministic_rng`] — every random value s3seal draws (data keys, salts, nonces, object
//!   and upload ids, [`LocalKms`](crate::kms::LocalKms) key material and root secret) comes from
//!   a generator seeded with a `u64`, process-wide, so a crashing input replays byte for byte.
//!   Call it before opening the KMS; [`os_rng`] goes back to the operating system's generator.
//! * `arbitrary::Arbitrary` for the request ([`FuzzRequest`]), its encryption headers
//!   ([`SseRequestHeaders`]), the engine's configuration ([`EngineConfig`]), bucket policies and
//!   configurations (`s3seal::policy`), chunk sizes and part numbers, and ranges
//!   ([`FuzzRange`]). Values are S3-shaped most of the time and arbitrary the rest.
//!
//! Never in production: after [`deterministic_rng`], keys are predictable. The `s3seal` and
//! `s3seal-gateway` binaries refuse to build with it in release.

use std::ops::Range;

use arbitrary::{Arbitrary, Result, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest, Md5};
use s3seal_gcm::ChunkSize;
use s3seal_policy::headers::names;
use s3seal_policy::{AliasPolicy, BucketPolicy};

use crate::engine::{EngineConfig, Request};

pub use arbitrary;
pub use s3seal_gcm::fuzzing::{deterministic_rng, os_rng};

/// One of `known` three times in four, else arbitrary text.
fn text(u: &mut Unstructured<'_>, known: &[&'static str]) -> Result<String> {
    if !known.is_empty() && u.ratio(3u8, 4)? {
        Ok((*u.choose(known)?).to_owned())
    } else {
        Ok(<&str>::arbitrary(u)?.to_owned())
    }
}

/// Present one time in three (a request carries few of these headers).
fn maybe(u: &mut Unstructured<'_>, known: &[&'static str]) -> Result<Option<String>> {
    if u.ratio(1u8, 3)? {
        text(u, known).map(Some)
    } else {
        Ok(None)
    }
}

/// An SSE-C key triple (algorithm, base64 key, base64 key MD5): usually well formed from 32
/// arbitrary key bytes, sometimes with a wrong digest or arbitrary text in any field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerKeyHeaders {
    /// `…-customer-algorithm`.
    pub algorithm: String,
    /// `…-customer-key`.
    pub key: String,
    /// `…-customer-key-MD5`.
    pub key_md5: String,
}

impl<'a> Arbitrary<'a> for CustomerKeyHeaders {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let raw: [u8; 32] = u.arbitrary()?;
        let mut md5 = <[u8; 16]>::from(Md5::digest(raw));
        if u.ratio(1u8, 8)? {
            md5[0] ^= 1;
        }
        let key = STANDARD.encode(raw);
        let key_md5 = STANDARD.encode(md5);
        Ok(CustomerKeyHeaders {
            algorithm: text(u, &["AES256"])?,
            key: if u.ratio(7u8, 8)? { key } else { text(u, &[])? },
            key_md5: if u.ratio(7u8, 8)? {
                key_md5
            } else {
                text(u, &[])?
            },
        })
    }
}

/// The encryption headers of one request, each present or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseRequestHeaders {
    /// `x-amz-server-side-encryption`.
    pub sse: Option<String>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`.
    pub kms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context` (base64 of JSON, usually).
    pub context: Option<String>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    pub bucket_key: Option<String>,
    /// The SSE-C headers of the object.
    pub customer: Option<CustomerKeyHeaders>,
    /// The SSE-C headers of a copy source.
    pub copy_source_customer: Option<CustomerKeyHeaders>,
}

impl<'a> Arbitrary<'a> for SseRequestHeaders {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let context = if u.ratio(1u8, 6)? {
            Some(if u.ratio(3u8, 4)? {
                let pairs: Vec<(String, String)> = u.arbitrary()?;
                let map: std::collections::BTreeMap<_, _> = pairs.into_iter().take(8).collect();
                let json = map
                    .into_iter()
                    .collect::<s3seal_kms::EncryptionContext>()
                    .to_json();
                STANDARD.encode(json)
            } else {
                text(u, &[])?
            })
        } else {
            None
        };
        Ok(SseRequestHeaders {
            sse: maybe(u, &["AES256", "aws:kms", "aws:kms:dsse", "aws:fsx"])?,
            kms_key_id: maybe(
                u,
                &[
                    "alias/aws/s3",
                    "alias/fuzz",
                    "1234abcd-12ab-34cd-56ef-1234567890ab",
                    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                ],
            )?,
            context,
            bucket_key: maybe(u, &["true", "false"])?,
            customer: if u.ratio(1u8, 4)? {
                Some(u.arbitrary()?)
            } else {
                None
            },
            copy_source_customer: if u.ratio(1u8, 8)? {
                Some(u.arbitrary()?)
            } else {
                None
            },
        })
    }
}

impl SseRequestHeaders {
    /// The headers as an HTTP header map; a value that is not a valid header value (control
    /// characters) is left out, as an HTTP stack would refuse it before any backend code.
    #[must_use]
    pub fn to_header_map(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, v: &Option<String>| {
            if let Some(v) = v
                && let Ok(v) = HeaderValue::from_str(v)
            {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put(names::SSE, &self.sse);
        put(names::KMS_KEY_ID, &self.kms_key_id);
        put(names::CONTEXT, &self.context);
        put(names::BUCKET_KEY, &self.bucket_key);
        for (c, [alg, key, md5]) in [
            (&self.customer, names::SSE_C),
            (&self.copy_source_customer, names::COPY_SSE_C),
        ] {
            if let Some(c) = c {
                put(alg, &Some(c.algorithm.clone()));
                put(key, &Some(c.key.clone()));
                put(md5, &Some(c.key_md5.clone()));
            }
        }
        h
    }
}

/// An owned [`Request`]: a bucket, an object key, encryption headers, TLS or not.
#[derive(Debug, Clone)]
pub struct FuzzRequest {
    /// The bucket and its encryption configuration.
    pub bucket: BucketPolicy,
    /// The object key.
    pub key: String,
    /// The request's headers ([`SseRequestHeaders::to_header_map`]).
    pub headers: HeaderMap,
    /// Whether the request came over TLS.
    pub secure_transport: bool,
}

impl FuzzRequest {
    /// The engine's view of it.
    #[must_use]
    pub fn request(&self) -> Request<'_> {
        Request {
            bucket: &self.bucket,
            key: &self.key,
            headers: &self.headers,
            secure_transport: self.secure_transport,
        }
    }
}

impl<'a> Arbitrary<'a> for FuzzRequest {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let bucket = u.arbitrary()?;
        let key = text(u, &["object", "dir/object.txt", ""])?;
        let headers = SseRequestHeaders::arbitrary(u)?.to_header_map();
        Ok(FuzzRequest {
            bucket,
            key,
            headers,
            secure_transport: u.ratio(7u8, 8)?,
        })
    }
}

/// A `Range` header value and the range it is resolved to against an object length, as a GET
/// would see them (`bytes=a-b`, `bytes=a-`, `bytes=-n`, or arbitrary text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzRange(pub String);

impl FuzzRange {
    /// The range of an object of `len` bytes, or the error [`crate::parse_range`] gives.
    ///
    /// # Errors
    /// As [`crate::parse_range`].
    pub fn resolve(&self, len: u64) -> core::result::Result<Range<u64>, crate::EngineError> {
        crate::parse_range(&self.0, len)
    }
}

impl<'a> Arbitrary<'a> for FuzzRange {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let (a, b): (u64, u64) = (u.arbitrary()?, u.arbitrary()?);
        Ok(FuzzRange(match u.int_in_range(0u8..=3)? {
            0 => format!("bytes={a}-{b}"),
            1 => format!("bytes={a}-"),
            2 => format!("bytes=-{b}"),
            _ => text(u, &["bytes=0-0", "bytes=0-", "bytes=-1"])?,
        }))
    }
}

impl<'a> Arbitrary<'a> for EngineConfig {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let chunk: ChunkSize = u.arbitrary()?;
        let alias_policy: AliasPolicy = u.arbitrary()?;
        let min_part_size = if u.ratio(3u8, 4)? {
            5 << 20
        } else {
            u.int_in_range(0..=5u64 << 30)?
        };
        Ok(EngineConfig {
            chunk,
            alias_policy,
            bucket_owner_keys_only: u.arbitrary()?,
            min_part_size,
            allow_insecure_sse_c: u.arbitrary()?,
            md5_etags: u.arbitrary()?,
        })
    }
}
