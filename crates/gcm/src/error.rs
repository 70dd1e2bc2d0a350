//! Errors: one opaque authentication failure, and a `#[non_exhaustive]` enum for the rest.

use std::sync::Arc;

/// Why sealing or opening failed.
///
/// Authentication failures are deliberately opaque: a wrong key, a wrong object binding, a flipped bit,
/// a reordered or duplicated chunk all look the same. Structural problems that can be told apart
/// without a key (a short header, an unknown version) are [`FormatError`]s.
///
/// `Error` is `Clone` and `PartialEq` (a failed [`crate::Decryptor`] hands out its error again on
/// every read), so an I/O error is kept whole behind an [`Arc`]; two I/O errors compare equal
/// when their kind and message are equal.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data did not authenticate. No plaintext was released.
    #[error("authentication failed")]
    Authentication,
    /// The sealed data is malformed; see [`FormatError`].
    #[error("malformed sealed data: {0}")]
    Format(#[from] FormatError),
    /// A single GCM invocation would exceed SP 800-38D's length limits.
    #[error("input exceeds the AES-GCM length limit")]
    TooLong,
    /// Input and output buffers of different lengths were passed to an in → out call.
    #[error("input and output buffers differ in length")]
    LengthMismatch,
    /// The stream would need more chunks than one key may seal (2³² invocations).
    #[error("stream exceeds 2^32 chunks per key")]
    TooManyChunks,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// An I/O error from the reader or writer of a streaming encryptor or decryptor, kept
    /// whole (kind, OS error code, message).
    #[error("I/O error: {0}")]
    Io(Arc<std::io::Error>),
}

impl Error {
    /// The kind of an [`Error::Io`]; `None` for the other variants.
    #[must_use]
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            Error::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Error::Authentication, Error::Authentication)
            | (Error::TooLong, Error::TooLong)
            | (Error::LengthMismatch, Error::LengthMismatch)
            | (Error::TooManyChunks, Error::TooManyChunks)
            | (Error::Random, Error::Random) => true,
            (Error::Format(a), Error::Format(b)) => a == b,
            (Error::Io(a), Error::Io(b)) => {
                Arc::ptr_eq(a, b) || (a.kind() == b.kind() && a.to_string() == b.to_string())
            }
            _ => false,
        }
    }
}

impl Eq for Error {}

/// Structural problems in sealed data, found without (or before) using the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The header does not start with the magic bytes `S3SL`.
    #[error("not an s3seal sealed stream (bad magic)")]
    BadMagic,
    /// The header names a format version this build does not read.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// The header names an algorithm this build does not know.
    #[error("unsupported algorithm id {0}")]
    UnsupportedAlgorithm(u8),
    /// The chunk size is not a power of two from 4 KiB to 4 MiB.
    #[error("invalid chunk size exponent {0} (allowed 12..=22)")]
    BadChunkSize(u8),
    /// Reserved header bits were set.
    #[error("reserved header flags set: {0:#04x}")]
    ReservedFlags(u8),
    /// The part number is not 0 (single-part object) or 1..=10000.
    #[error("invalid part number {0}")]
    BadPartNumber(u32),
    /// The header's part number is not the one the caller expected at this position.
    #[error("part number {found} where part {expected} was expected")]
    PartNumberMismatch {
        /// The part number the caller expected.
        expected: u32,
        /// The part number in the header.
        found: u32,
    },
    /// A single-layer part where an outer layer was expected, or the other way round.
    #[error("sealed layer kind does not match (single vs outer layer)")]
    LayerMismatch,
    /// The key commitment does not match what the data key, the object binding and the header's salt
    /// and fields derive: a wrong data key, a wrong object binding, or a header whose salt, version,
    /// algorithm, chunk size, flags or commitment bytes were altered (the commitment cannot tell
    /// these apart). Checked before any chunk is opened.
    #[error("key commitment mismatch (wrong key or wrong object binding)")]
    CommitmentMismatch,
    /// The data ends before the final chunk: inside the header, inside a chunk, or at a chunk
    /// boundary with no chunk flagged final.
    #[error("sealed data is truncated")]
    Truncated,
    /// A chunk's length does not fit its position: a non-final chunk that is not exactly the
    /// chunk size, or an empty final chunk after other chunks.
    #[error("chunk length does not fit its position")]
    BadChunkLength,
    /// Bytes follow the chunk flagged final.
    #[error("trailing data after the final chunk")]
    TrailingData,
    /// A requested range or part layout does not fit the object.
    #[error("range or layout out of bounds")]
    OutOfBounds,
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            // The original error when this is its only holder, else one that wraps it.
            Error::Io(e) => Arc::try_unwrap(e).unwrap_or_else(|e| std::io::Error::new(e.kind(), e)),
            Error::Authentication | Error::Format(_) => {
                std::io::Error::new(std::io::ErrorKind::InvalidData, e)
            }
            other => std::io::Error::other(other),
        }
    }
}
