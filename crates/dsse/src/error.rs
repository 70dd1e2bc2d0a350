//! Errors of the dual-layer codec.

use s3seal_kms::KmsError;

/// Why a dual-layer operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsseError {
    /// Sealing or opening a layer failed; authentication failures stay opaque.
    #[error(transparent)]
    Seal(#[from] s3seal_gcm::Error),
    /// The KMS refused or failed to make or unwrap a data key.
    #[error("KMS: {0}")]
    Kms(#[from] KmsError),
    /// Both layers would use the same data key, which would make them one layer.
    #[error("the two DSSE layers must use different data keys")]
    SameKeys,
    /// The layer record is malformed.
    #[error("malformed DSSE layer record: {0}")]
    Record(#[from] RecordError),
}

/// Structural problems in a layer record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record does not start with `S3DL`.
    #[error("bad magic")]
    BadMagic,
    /// A version this build does not read.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// Not exactly two layers, or not inner then outer.
    #[error("layers missing, repeated or out of order")]
    BadLayers,
    /// A field runs past the end of the record.
    #[error("truncated")]
    Truncated,
    /// Bytes follow the last layer.
    #[error("trailing bytes")]
    TrailingData,
    /// A key ARN that is empty, too long or not UTF-8, or a wrapped key that is empty or too long.
    #[error("bad field length or encoding")]
    BadField,
}
