//! Engine errors, and their mapping to S3's error code, HTTP status and message — in one place,
//! [`EngineError::s3`].

use std::sync::Arc;

use http::StatusCode;
use s3seal_keycache::CacheError;
use s3seal_kms::KmsError;
use s3seal_policy::{PolicyError, S3Error};

/// Structural problems in a stored [`crate::ObjectEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// It does not start with `S3EV`.
    #[error("bad magic")]
    BadMagic,
    /// A version this build does not read.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u8),
    /// An unknown encryption mode.
    #[error("unknown mode {0}")]
    BadMode(u8),
    /// Reserved flag bits set.
    #[error("reserved flags set: {0:#04x}")]
    BadFlags(u8),
    /// A chunk size the sealed format does not allow.
    #[error("bad chunk size")]
    BadChunkSize,
    /// A field runs past the end.
    #[error("truncated")]
    Truncated,
    /// Bytes follow the MAC.
    #[error("trailing bytes")]
    TrailingData,
    /// A field longer than the format allows.
    #[error("field too long")]
    FieldTooLong,
    /// A string that is not UTF-8.
    #[error("field is not UTF-8")]
    BadUtf8,
    /// The part manifest is not strictly ascending parts 1..=10000 summing to the length.
    #[error("bad part manifest")]
    BadParts,
    /// The MAC does not match: the envelope or its manifest was changed.
    #[error("envelope authentication failed")]
    MacMismatch,
    /// Encryption-context pairs out of order or repeated.
    #[error("encryption context not in canonical order")]
    BadContext,
}

/// Why an engine operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The request breaks an S3 rule; carries the S3 error.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The KMS refused or failed.
    #[error("KMS: {0}")]
    Kms(#[from] KmsError),
    /// The stored data did not open: tampered, truncated, or under another key. Opaque.
    #[error("stored object failed authentication")]
    Integrity,
    /// The stored envelope is malformed or its MAC does not match.
    #[error("stored envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The envelope belongs to another bucket or key: the bytes were moved or copied raw.
    #[error("envelope belongs to another object")]
    ObjectMoved,
    /// The sealed bytes do not have the length the envelope's layout gives.
    #[error("sealed object length does not match its envelope")]
    LengthMismatch,
    /// A byte range that does not overlap the object.
    #[error("requested range not satisfiable")]
    InvalidRange,
    /// A `partNumber` the object does not have.
    #[error("part number not satisfiable")]
    InvalidPartNumber,
    /// The upload state is not an upload of this object (another object's, a completed one, or
    /// not a state at all).
    #[error("no such upload")]
    NoSuchUpload,
    /// CompleteMultipartUpload listed parts out of ascending order.
    #[error("parts not in ascending order")]
    InvalidPartOrder,
    /// CompleteMultipartUpload named no parts, parts out of order, or parts not uploaded.
    #[error("invalid part list")]
    InvalidPart,
    /// A part but the last is smaller than the minimum part size (S3: 5 MiB).
    #[error("part smaller than the minimum part size")]
    EntityTooSmall,
    /// A part above 5 GiB, or parts adding up past what a length can hold.
    #[error("part too large")]
    EntityTooLarge,
    /// The data of an SSE-C object or upload was to be read or written without its customer
    /// key. The policy layer refuses such requests first; the engine's data paths refuse them
    /// too.
    #[error("SSE-C data without its customer key")]
    CustomerKeyRequired,
    /// The operation does not apply to this object's encryption (e.g. rewrapping SSE-C).
    #[error("operation not supported for this encryption: {0}")]
    NotSupported(&'static str),
    /// The bucket's owner account (set by the backend in its `BucketPolicy`) is not a 12-digit
    /// account id.
    #[error("bucket owner account is malformed: {0}")]
    InvalidBucketOwner(String),
    /// The key cache failed in a way not listed above.
    #[error("key cache: {0}")]
    Cache(CacheError),
    /// The system random number generator failed.
    #[error("random generator failed")]
    Random,
    /// The engine's thread pool could not start.
    #[error("thread pool failed to start: {0}")]
    ThreadPool(String),
    /// Reading the request body failed before its end (the client's side).
    #[error("reading the request body failed: {0}")]
    IncompleteBody(Arc<std::io::Error>),
    /// Reading stored bytes or writing the output failed (the server's side).
    #[error("I/O error: {0}")]
    Io(Arc<std::io::Error>),
}

/// Equal variants with equal fields; I/O errors compare by kind.
impl PartialEq for EngineError {
    fn eq(&self, other: &Self) -> bool {
        use EngineError as E;
        match (self, other) {
            (E::Policy(a), E::Policy(b)) => a == b,
            (E::Kms(a), E::Kms(b)) => a == b,
            (E::Envelope(a), E::Envelope(b)) => a == b,
            (E::Cache(a), E::Cache(b)) => a == b,
            (E::NotSupported(a), E::NotSupported(b)) => a == b,
            (E::InvalidBucketOwner(a), E::InvalidBucketOwner(b))
            | (E::ThreadPool(a), E::ThreadPool(b)) => a == b,
            (E::IncompleteBody(a), E::IncompleteBody(b)) | (E::Io(a), E::Io(b)) => {
                a.kind() == b.kind()
            }
            _ => core::mem::discriminant(self) == core::mem::discriminant(other),
        }
    }
}

impl From<CacheError> for EngineError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Kms(k) => EngineError::Kms(k),
            CacheError::BucketKeyWithDsse => EngineError::Policy(PolicyError::BucketKeyWithDsse),
            CacheError::Random => EngineError::Random,
            other => EngineError::Cache(other),
        }
    }
}

impl From<s3seal_gcm::Error> for EngineError {
    fn from(e: s3seal_gcm::Error) -> Self {
        match e {
            s3seal_gcm::Error::Random => EngineError::Random,
            s3seal_gcm::Error::Io(e) => EngineError::Io(e),
            _ => EngineError::Integrity,
        }
    }
}

impl From<s3seal_dsse::DsseError> for EngineError {
    fn from(e: s3seal_dsse::DsseError) -> Self {
        match e {
            s3seal_dsse::DsseError::Kms(k) => EngineError::Kms(k),
            s3seal_dsse::DsseError::Seal(s) => s.into(),
            _ => EngineError::Integrity,
        }
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        EngineError::Io(Arc::new(e))
    }
}

const fn err(code: &'static str, status: StatusCode, message: &'static str) -> S3Error {
    S3Error {
        code,
        status,
        message,
    }
}

const INTERNAL: S3Error = err(
    "InternalError",
    StatusCode::INTERNAL_SERVER_ERROR,
    "We encountered an internal error. Please try again.",
);

impl EngineError {
    /// The S3 error code, HTTP status and message for this error — the one place they are
    /// decided. Bad input is always a 4xx; a 500 means stored data or a dependency failed.
    #[must_use]
    pub fn s3(&self) -> S3Error {
        use StatusCode as S;
        match self {
            EngineError::Policy(p) => p.s3(),
            EngineError::Kms(k) => match k {
                KmsError::NotFound(_) | KmsError::InvalidKeyId(_) | KmsError::InvalidAlias(_) => {
                    PolicyError::KmsKeyNotFound.s3()
                }
                KmsError::Disabled(_) => PolicyError::KmsKeyDisabled.s3(),
                KmsError::PendingDeletion(_) | KmsError::InvalidState(_) => err(
                    "KMS.KMSInvalidStateException",
                    S::BAD_REQUEST,
                    "The KMS key is pending deletion or in an invalid state.",
                ),
                KmsError::AccessDenied(_) => err("AccessDenied", S::FORBIDDEN, "Access Denied"),
                KmsError::Throttled => err(
                    "SlowDown",
                    S::SERVICE_UNAVAILABLE,
                    "Please reduce your request rate.",
                ),
                KmsError::Unavailable => err(
                    "ServiceUnavailable",
                    S::SERVICE_UNAVAILABLE,
                    "The KMS service is unavailable. Please try again.",
                ),
                // The request named a key that cannot do this (KMS `InvalidKeyUsageException`,
                // e.g. an asymmetric key) or the KMS refused its arguments: the client's mistake.
                KmsError::InvalidArgument(m) => err("InvalidArgument", S::BAD_REQUEST, m),
                _ => INTERNAL,
            },
            EngineError::CustomerKeyRequired => PolicyError::SseCKeyRequired.s3(),
            EngineError::InvalidRange => err(
                "InvalidRange",
                S::RANGE_NOT_SATISFIABLE,
                "The requested range is not satisfiable",
            ),
            EngineError::InvalidPartNumber => err(
                "InvalidPartNumber",
                S::RANGE_NOT_SATISFIABLE,
                "The requested partnumber is not satisfiable",
            ),
            EngineError::NoSuchUpload => err(
                "NoSuchUpload",
                S::NOT_FOUND,
                "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed.",
            ),
            EngineError::InvalidPartOrder => err(
                "InvalidPartOrder",
                S::BAD_REQUEST,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
            ),
            EngineError::InvalidPart => err(
                "InvalidPart",
                S::BAD_REQUEST,
                "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
            ),
            EngineError::EntityTooSmall => err(
                "EntityTooSmall",
                S::BAD_REQUEST,
                "Your proposed upload is smaller than the minimum allowed object size.",
            ),
            EngineError::EntityTooLarge => err(
                "EntityTooLarge",
                S::BAD_REQUEST,
                "Your proposed upload exceeds the maximum allowed size.",
            ),
            EngineError::NotSupported(_) => err(
                "InvalidRequest",
                S::BAD_REQUEST,
                "The encryption of this object cannot be changed this way.",
            ),
            EngineError::IncompleteBody(_) => err(
                "IncompleteBody",
                S::BAD_REQUEST,
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
            EngineError::Integrity
            | EngineError::Envelope(_)
            | EngineError::ObjectMoved
            | EngineError::LengthMismatch
            | EngineError::InvalidBucketOwner(_)
            | EngineError::Cache(_)
            | EngineError::Random
            | EngineError::ThreadPool(_)
            | EngineError::Io(_) => INTERNAL,
        }
    }
}
