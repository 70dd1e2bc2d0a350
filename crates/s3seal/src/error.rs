//! Engine errors, and their mapping to S3's error code, HTTP status and message — in one place,
//! [`EngineError::s3`].

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
}

/// Why an engine operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The request breaks an S3 rule; carries the S3 error.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The KMS refused or failed.
    #[error("KMS: {0}")]
    Kms(#[from] KmsError),
    /// S3 Bucket Keys were asked for with DSSE-KMS.
    #[error("S3 Bucket Keys are not supported with DSSE-KMS")]
    BucketKeyWithDsse,
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
    /// CompleteMultipartUpload named no parts, parts out of order, or parts not uploaded.
    #[error("invalid part list")]
    InvalidPart,
    /// A part is larger or smaller than S3 allows.
    #[error("part too small or too large")]
    EntityTooSmall,
    /// A part above 5 GiB, or parts adding up past what a length can hold.
    #[error("part too large")]
    EntityTooLarge,
    /// The operation does not apply to this object's encryption (e.g. rewrapping SSE-C).
    #[error("operation not supported for this encryption: {0}")]
    NotSupported(&'static str),
    /// The system random number generator failed.
    #[error("random generator failed")]
    Random,
    /// Reading the body or writing the output failed.
    #[error("I/O error: {0:?}")]
    Io(std::io::ErrorKind),
}

impl From<CacheError> for EngineError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Kms(k) => EngineError::Kms(k),
            CacheError::BucketKeyWithDsse => EngineError::BucketKeyWithDsse,
            _ => EngineError::Random,
        }
    }
}

impl From<s3seal_gcm::Error> for EngineError {
    fn from(e: s3seal_gcm::Error) -> Self {
        match e {
            s3seal_gcm::Error::Random => EngineError::Random,
            s3seal_gcm::Error::Io(kind) => EngineError::Io(kind),
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
        EngineError::Io(e.kind())
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
                _ => INTERNAL,
            },
            EngineError::BucketKeyWithDsse => err(
                "InvalidArgument",
                S::BAD_REQUEST,
                "S3 Bucket Keys are not supported with DSSE-KMS.",
            ),
            EngineError::InvalidRange => err(
                "InvalidRange",
                S::RANGE_NOT_SATISFIABLE,
                "The requested range is not satisfiable",
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
            EngineError::Io(_) => err(
                "IncompleteBody",
                S::BAD_REQUEST,
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
            EngineError::Integrity
            | EngineError::Envelope(_)
            | EngineError::ObjectMoved
            | EngineError::LengthMismatch
            | EngineError::Random => INTERNAL,
        }
    }
}
