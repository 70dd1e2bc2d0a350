//! Errors: one opaque authentication failure, and a `#[non_exhaustive]` enum for the rest.

/// Why sealing or opening failed.
///
/// Authentication failures are deliberately opaque: a wrong key, a wrong context, a flipped bit,
/// a reordered or duplicated chunk all look the same. Structural problems that can be told apart
/// without a key (a short header, an unknown version) are [`FormatError`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// An I/O error from the reader or writer of a streaming encryptor or decryptor.
    #[error("I/O error: {0}")]
    Io(std::io::ErrorKind),
}

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
    /// The key commitment does not match: wrong data key or wrong context. Checked before any
    /// chunk is opened.
    #[error("key commitment mismatch (wrong key or wrong context)")]
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
        Error::Io(e.kind())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(kind) => std::io::Error::new(kind, "I/O error in sealed stream"),
            Error::Authentication | Error::Format(_) => {
                std::io::Error::new(std::io::ErrorKind::InvalidData, e)
            }
            other => std::io::Error::other(other),
        }
    }
}
