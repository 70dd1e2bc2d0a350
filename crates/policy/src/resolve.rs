//! Per-operation resolution: which encryption a write uses, what a read needs.
//!
//! * [`resolve_write`]: PutObject, CreateMultipartUpload, CopyObject (a new object), UploadPart,
//!   UploadPartCopy (a part of an upload whose encryption is already chosen),
//!   CompleteMultipartUpload (no data).
//! * [`resolve_read`]: GetObject, HeadObject.
//!
//! A successful resolution means the write may go ahead; an error means nothing is written.

use http::HeaderMap;
use s3seal_kms::KeyRef;

use crate::algorithm::{BucketKind, SseAlgorithm};
use crate::bucket::{BucketPolicy, same_key};
use crate::config::{AliasPolicy, Warning, check_alias};
use crate::context::{EncryptionContext, complete_context, directory_context, object_arn};
use crate::customer_key::{CustomerKey, KeyVerifier};
use crate::error::{DirectoryRule, PolicyError};
use crate::headers::{SseHeaders, has_managed_headers};

/// How the bytes a write produces are to be encrypted.
#[derive(Debug)]
pub enum Encryption {
    /// SSE-S3 (`AES256`): a data key wrapped by the store's own key.
    SseS3,
    /// SSE-KMS (`aws:kms`).
    SseKms {
        /// The KMS key as named; `None` = the AWS managed key `aws/s3`. The engine resolves it
        /// to a key ARN with the KMS.
        key: Option<KeyRef>,
        /// The full encryption context, `aws:s3:arn` included.
        context: EncryptionContext,
        /// Whether an S3 Bucket Key is used (the context then names the bucket).
        bucket_key: bool,
    },
    /// DSSE-KMS (`aws:kms:dsse`): two independent layers; no bucket keys.
    DsseKms {
        /// The KMS key as named; `None` = the AWS managed key `aws/s3`.
        key: Option<KeyRef>,
        /// The full encryption context, `aws:s3:arn` included.
        context: EncryptionContext,
    },
    /// SSE-C: derive the data key with [`crate::derive_object_key`]; store
    /// [`CustomerKey::verifier`].
    SseC {
        /// The customer's key.
        key: CustomerKey,
    },
    /// S3 access point for FSx: the file system encrypts; reported as `aws:fsx`.
    Fsx,
}

impl Encryption {
    /// The `x-amz-server-side-encryption` value, `None` for SSE-C.
    #[must_use]
    pub fn algorithm(&self) -> Option<SseAlgorithm> {
        match self {
            Encryption::SseS3 => Some(SseAlgorithm::Aes256),
            Encryption::SseKms { .. } => Some(SseAlgorithm::AwsKms),
            Encryption::DsseKms { .. } => Some(SseAlgorithm::AwsKmsDsse),
            Encryption::SseC { .. } => None,
            Encryption::Fsx => Some(SseAlgorithm::AwsFsx),
        }
    }

    /// What the engine stores about the object once written: `key_arn` is the full key ARN the
    /// KMS returned (needed for SSE-KMS and DSSE-KMS), `verifier_salt` fresh random bytes
    /// (used for SSE-C).
    ///
    /// # Errors
    /// [`PolicyError::Internal`] if a KMS mode has no `key_arn`, or it is not a key ARN.
    pub fn to_stored(
        &self,
        key_arn: Option<&str>,
        verifier_salt: [u8; 32],
    ) -> Result<StoredEncryption, PolicyError> {
        let arn = || -> Result<String, PolicyError> {
            match key_arn.map(KeyRef::parse) {
                Some(Ok(KeyRef::KeyArn(a))) => Ok(a.to_string()),
                _ => Err(PolicyError::Internal("KMS mode needs the key ARN")),
            }
        };
        Ok(match self {
            Encryption::SseS3 => StoredEncryption::SseS3,
            Encryption::SseKms {
                context,
                bucket_key,
                ..
            } => StoredEncryption::SseKms {
                key_arn: arn()?,
                context: context.clone(),
                bucket_key: *bucket_key,
            },
            Encryption::DsseKms { context, .. } => StoredEncryption::DsseKms {
                key_arn: arn()?,
                context: context.clone(),
            },
            Encryption::SseC { key } => StoredEncryption::SseC {
                verifier: key.verifier(verifier_salt),
            },
            Encryption::Fsx => StoredEncryption::Fsx,
        })
    }
}

/// What the engine stores about an object (or a multipart upload) and hands back on reads and
/// on later parts. SSE-C objects keep only a [`KeyVerifier`]: not the key, and not its MD5
/// (the MD5 echoed in responses comes from the request's own header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredEncryption {
    /// SSE-S3.
    SseS3,
    /// SSE-KMS.
    SseKms {
        /// Full key ARN.
        key_arn: String,
        /// The encryption context the data key was generated under.
        context: EncryptionContext,
        /// Whether a bucket key was used.
        bucket_key: bool,
    },
    /// DSSE-KMS.
    DsseKms {
        /// Full key ARN.
        key_arn: String,
        /// The encryption context.
        context: EncryptionContext,
    },
    /// SSE-C.
    SseC {
        /// Salted HMAC of the customer key.
        verifier: KeyVerifier,
    },
    /// FSx access point.
    Fsx,
}

impl StoredEncryption {
    /// The `x-amz-server-side-encryption` value, `None` for SSE-C.
    #[must_use]
    pub fn algorithm(&self) -> Option<SseAlgorithm> {
        match self {
            StoredEncryption::SseS3 => Some(SseAlgorithm::Aes256),
            StoredEncryption::SseKms { .. } => Some(SseAlgorithm::AwsKms),
            StoredEncryption::DsseKms { .. } => Some(SseAlgorithm::AwsKmsDsse),
            StoredEncryption::SseC { .. } => None,
            StoredEncryption::Fsx => Some(SseAlgorithm::AwsFsx),
        }
    }
}

/// A write operation, with the stored state it depends on.
#[derive(Debug, Clone, Copy)]
pub enum WriteOp<'a> {
    /// PutObject.
    PutObject,
    /// CreateMultipartUpload: chooses the upload's encryption.
    CreateMultipartUpload,
    /// UploadPart of an upload whose encryption is `upload`.
    UploadPart {
        /// The upload's stored encryption.
        upload: &'a StoredEncryption,
    },
    /// UploadPartCopy into an upload, from an object whose encryption is `source`.
    UploadPartCopy {
        /// The upload's stored encryption.
        upload: &'a StoredEncryption,
        /// The copy source's stored encryption.
        source: &'a StoredEncryption,
    },
    /// CompleteMultipartUpload.
    CompleteMultipartUpload {
        /// The upload's stored encryption.
        upload: &'a StoredEncryption,
    },
    /// CopyObject from an object whose encryption is `source`.
    CopyObject {
        /// The copy source's stored encryption.
        source: &'a StoredEncryption,
    },
}

/// A write request as the resolver sees it.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    /// The operation.
    pub op: WriteOp<'a>,
    /// The destination bucket.
    pub bucket: &'a BucketPolicy,
    /// The destination object key.
    pub object_key: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// Whether the request came over TLS.
    pub secure_transport: bool,
    /// What to do with a KMS alias in the request.
    pub alias_policy: AliasPolicy,
}

/// The outcome of [`resolve_write`]: the write may proceed.
#[derive(Debug)]
pub struct WritePlan {
    /// How to encrypt the data written; `None` for CompleteMultipartUpload, which writes no
    /// new data (the parts were sealed under the upload's encryption).
    pub target: Option<Encryption>,
    /// The verified SSE-C key of the copy source, if it is an SSE-C object.
    pub source_key: Option<CustomerKey>,
    /// CompleteMultipartUpload of an SSE-C upload: the verified key, if the request sent it
    /// (its MD5 is echoed in the response).
    pub upload_key: Option<CustomerKey>,
    /// Accepted but discouraged choices (aliases, bare key ids).
    pub warnings: Vec<Warning>,
}

/// Decides how a write is encrypted.
///
/// * "If the encryption setting in your request is different from the default encryption
///   configuration of the destination bucket, the encryption setting in your request takes
///   precedence"; with neither, SSE-S3 ("all buckets have a base level of encryption … SSE-S3").
/// * CopyObject: "if you don't specify encryption information in your copy request, the
///   encryption setting of the target object is set to the default encryption configuration of
///   the destination bucket" — the source's encryption and context are not carried over; an
///   SSE-C source needs its key in the copy-source headers.
/// * UploadPart/UploadPartCopy of an SSE-C upload need the SSE-C triple; CompleteMultipartUpload
///   does not (a key sent there is still checked).
///
/// # Errors
/// Any header error of [`SseHeaders::parse`], and [`PolicyError::UnsupportedAlgorithm`],
/// [`PolicyError::SseCBlocked`] (403), [`PolicyError::BucketKeyWithDsse`],
/// [`PolicyError::ReservedContextKey`], [`PolicyError::DirectoryBucket`],
/// [`PolicyError::AliasRefused`], [`PolicyError::HeaderNotSupported`] (managed headers on a
/// part or Complete), [`PolicyError::SseCPartKeyRequired`], [`PolicyError::SseCKeyRequired`]
/// (SSE-C copy source without its key), [`PolicyError::SseCKeyMismatch`] (403),
/// [`PolicyError::EncryptionNotApplicable`].
pub fn resolve_write(req: &WriteRequest<'_>) -> Result<WritePlan, PolicyError> {
    let mut warnings = Vec::new();
    let part_op = matches!(
        req.op,
        WriteOp::UploadPart { .. }
            | WriteOp::UploadPartCopy { .. }
            | WriteOp::CompleteMultipartUpload { .. }
    );
    // Encryption is chosen at CreateMultipartUpload; parts and Complete take only SSE-C keys.
    if part_op && has_managed_headers(req.headers) {
        return Err(PolicyError::HeaderNotSupported);
    }
    let mut h = SseHeaders::parse(req.headers, req.secure_transport)?;

    let source_key = match req.op {
        WriteOp::CopyObject { source } | WriteOp::UploadPartCopy { source, .. } => {
            open_source(source, h.copy_source_customer.take())?
        }
        _ => None,
    };
    let mut upload_key = None;
    let target = match req.op {
        WriteOp::PutObject | WriteOp::CreateMultipartUpload | WriteOp::CopyObject { .. } => {
            Some(new_object(
                req.bucket,
                req.object_key,
                &mut h,
                req.alias_policy,
                &mut warnings,
            )?)
        }
        WriteOp::UploadPart { upload } | WriteOp::UploadPartCopy { upload, .. } => {
            Some(part(req.bucket, upload, h.customer.take())?)
        }
        WriteOp::CompleteMultipartUpload { upload } => {
            upload_key = complete(upload, h.customer.take())?;
            None
        }
    };
    Ok(WritePlan {
        target,
        source_key,
        upload_key,
        warnings,
    })
}

/// The copy source: an SSE-C source needs (and verifies) its key; any other source must not be
/// sent one.
fn open_source(
    source: &StoredEncryption,
    key: Option<CustomerKey>,
) -> Result<Option<CustomerKey>, PolicyError> {
    match (source, key) {
        (StoredEncryption::SseC { verifier }, Some(k)) => {
            if verifier.verify(&k) {
                Ok(Some(k))
            } else {
                Err(PolicyError::SseCKeyMismatch)
            }
        }
        (StoredEncryption::SseC { .. }, None) => Err(PolicyError::SseCKeyRequired),
        (_, Some(_)) => Err(PolicyError::EncryptionNotApplicable),
        (_, None) => Ok(None),
    }
}

fn new_object(
    bucket: &BucketPolicy,
    object_key: &str,
    h: &mut SseHeaders,
    alias_policy: AliasPolicy,
    warnings: &mut Vec<Warning>,
) -> Result<Encryption, PolicyError> {
    if let Some(key) = h.customer.take() {
        if !bucket.kind.allows_sse_c() {
            return Err(PolicyError::UnsupportedAlgorithm);
        }
        // BlockedEncryptionTypes SSE-C: "SSE-C writes to a blocking bucket → 403 AccessDenied".
        if bucket.blocks_sse_c() {
            return Err(PolicyError::SseCBlocked);
        }
        return Ok(Encryption::SseC { key });
    }
    let default = bucket.encryption.as_ref();
    let base = if bucket.kind == BucketKind::FsxAccessPoint {
        SseAlgorithm::AwsFsx
    } else {
        SseAlgorithm::Aes256
    };
    let explicit = h.algorithm;
    let alg = explicit.or(default.map(|d| d.algorithm)).unwrap_or(base);
    if !bucket.kind.allows(alg) {
        return Err(PolicyError::UnsupportedAlgorithm);
    }
    let (key, default_bucket_key) = match (explicit, default) {
        // "If you specify x-amz-server-side-encryption:aws:kms but don't provide the key id,
        // Amazon S3 uses the AWS managed key (aws/s3)" — the header, not the bucket's key.
        (Some(_), Some(d)) => (h.kms_key.take(), d.algorithm.is_kms() && d.bucket_key),
        (Some(_), None) => (h.kms_key.take(), false),
        (None, Some(d)) => (d.kms_key.clone(), d.bucket_key),
        (None, None) => (None, false),
    };
    // A bucket's BucketKeyEnabled is an SSE-KMS setting: it is inherited only by requests that
    // end up SSE-KMS (S3 Bucket Keys "aren't supported for DSSE-KMS"); asking for a bucket key
    // explicitly with DSSE is still refused below.
    let bucket_key = h
        .bucket_key
        .unwrap_or(default_bucket_key && alg == SseAlgorithm::AwsKms);
    let supplied = h.context.take();
    match alg {
        SseAlgorithm::Aes256 => Ok(Encryption::SseS3),
        SseAlgorithm::AwsFsx => Ok(Encryption::Fsx),
        // `allows` has already refused DSSE on directory buckets.
        SseAlgorithm::AwsKms if bucket.kind == BucketKind::Directory => {
            directory_kms(bucket, key, supplied)
        }
        SseAlgorithm::AwsKmsDsse => {
            if bucket_key {
                return Err(PolicyError::BucketKeyWithDsse);
            }
            if explicit.is_some()
                && let Some(k) = &key
            {
                check_alias(k, alias_policy, warnings)?;
            }
            let context = complete_context(supplied, &object_arn(&bucket.name, object_key))?;
            Ok(Encryption::DsseKms { key, context })
        }
        SseAlgorithm::AwsKms => {
            if explicit.is_some()
                && let Some(k) = &key
            {
                check_alias(k, alias_policy, warnings)?;
            }
            let arn = if bucket_key {
                bucket.arn()
            } else {
                object_arn(&bucket.name, object_key)
            };
            let context = complete_context(supplied, &arn)?;
            Ok(Encryption::SseKms {
                key,
                context,
                bucket_key,
            })
        }
    }
}

/// SSE-KMS in a directory bucket: the bucket's one customer managed key, bucket keys always on,
/// context exactly the bucket ARN. "You must ensure the encryption key is the same customer
/// managed key that you specified for the directory bucket's default encryption configuration."
fn directory_kms(
    bucket: &BucketPolicy,
    requested: Option<KeyRef>,
    supplied: Option<EncryptionContext>,
) -> Result<Encryption, PolicyError> {
    let fixed = bucket.directory_key();
    let key = match (requested, fixed) {
        (Some(k), _) if k.is_alias() => {
            return Err(PolicyError::DirectoryBucket(
                DirectoryRule::AliasNotSupported,
            ));
        }
        (Some(k), Some(f)) if same_key(&k, f) => k,
        (Some(_), _) => return Err(PolicyError::DirectoryBucket(DirectoryRule::KeyMismatch)),
        (None, Some(f)) => f.clone(),
        (None, None) => {
            return Err(PolicyError::DirectoryBucket(
                DirectoryRule::ManagedKeyNotSupported,
            ));
        }
    };
    let context = directory_context(supplied, &bucket.arn())?;
    Ok(Encryption::SseKms {
        key: Some(key),
        context,
        bucket_key: true,
    })
}

/// A part of an upload: same encryption as the upload; an SSE-C upload needs its key again.
fn part(
    bucket: &BucketPolicy,
    upload: &StoredEncryption,
    key: Option<CustomerKey>,
) -> Result<Encryption, PolicyError> {
    match (upload, key) {
        (StoredEncryption::SseC { verifier }, key) => {
            if bucket.blocks_sse_c() {
                return Err(PolicyError::SseCBlocked);
            }
            let key = key.ok_or(PolicyError::SseCPartKeyRequired)?;
            if !verifier.verify(&key) {
                return Err(PolicyError::SseCKeyMismatch);
            }
            Ok(Encryption::SseC { key })
        }
        (_, Some(_)) => Err(PolicyError::EncryptionNotApplicable),
        (StoredEncryption::SseS3, None) => Ok(Encryption::SseS3),
        (StoredEncryption::Fsx, None) => Ok(Encryption::Fsx),
        (
            StoredEncryption::SseKms {
                key_arn,
                context,
                bucket_key,
            },
            None,
        ) => Ok(Encryption::SseKms {
            key: Some(stored_key(key_arn)?),
            context: context.clone(),
            bucket_key: *bucket_key,
        }),
        (StoredEncryption::DsseKms { key_arn, context }, None) => Ok(Encryption::DsseKms {
            key: Some(stored_key(key_arn)?),
            context: context.clone(),
        }),
    }
}

fn stored_key(arn: &str) -> Result<KeyRef, PolicyError> {
    KeyRef::parse(arn).map_err(|_| PolicyError::Internal("stored key ARN does not parse"))
}

fn complete(
    upload: &StoredEncryption,
    key: Option<CustomerKey>,
) -> Result<Option<CustomerKey>, PolicyError> {
    match (upload, key) {
        (_, None) => Ok(None),
        (StoredEncryption::SseC { verifier }, Some(k)) => {
            if verifier.verify(&k) {
                Ok(Some(k))
            } else {
                Err(PolicyError::SseCKeyMismatch)
            }
        }
        (_, Some(_)) => Err(PolicyError::EncryptionNotApplicable),
    }
}

/// A read operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOp {
    /// GetObject.
    GetObject,
    /// HeadObject (errors carry no body).
    HeadObject,
}

/// A read request as the resolver sees it.
#[derive(Debug, Clone, Copy)]
pub struct ReadRequest<'a> {
    /// The operation.
    pub op: ReadOp,
    /// The object's stored encryption.
    pub stored: &'a StoredEncryption,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// Whether the request came over TLS.
    pub secure_transport: bool,
}

/// The outcome of [`resolve_read`]: the object may be decrypted.
#[derive(Debug)]
pub struct ReadPlan {
    /// The verified customer key of an SSE-C object.
    pub customer_key: Option<CustomerKey>,
}

/// Checks a GET/HEAD against the object's stored encryption.
///
/// Reads of SSE-C objects work even when the bucket now blocks SSE-C (only writes are blocked),
/// so the bucket is not consulted.
///
/// # Errors
/// [`PolicyError::HeaderNotSupported`] for managed SSE headers (SSE-S3/SSE-KMS objects are
/// decrypted without them); header errors of [`SseHeaders::parse`];
/// [`PolicyError::SseCKeyRequired`] for an SSE-C object read without its key;
/// [`PolicyError::SseCKeyMismatch`] (403) for the wrong key;
/// [`PolicyError::EncryptionNotApplicable`] for SSE-C headers on another kind of object.
pub fn resolve_read(req: &ReadRequest<'_>) -> Result<ReadPlan, PolicyError> {
    if has_managed_headers(req.headers) {
        return Err(PolicyError::HeaderNotSupported);
    }
    let h = SseHeaders::parse(req.headers, req.secure_transport)?;
    let customer_key = match (req.stored, h.customer) {
        (StoredEncryption::SseC { verifier }, Some(k)) => {
            if !verifier.verify(&k) {
                return Err(PolicyError::SseCKeyMismatch);
            }
            Some(k)
        }
        (StoredEncryption::SseC { .. }, None) => return Err(PolicyError::SseCKeyRequired),
        (_, Some(_)) => return Err(PolicyError::EncryptionNotApplicable),
        (_, None) => None,
    };
    Ok(ReadPlan { customer_key })
}
