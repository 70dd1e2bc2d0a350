//! The 12-byte header of a sealed file (`docs/FORMAT.md` §10): what `s3seal decrypt` checks
//! before it hands the envelope and the sealed bytes to the engine.
//!
//! ```text
//!  0      4     5        8                 12             12 + n
//!  +------+-----+--------+-----------------+--------------+---------------------------+
//!  |"S3SF"| ver | 0 0 0  | envelope len n  | envelope (n) | sealed bytes, to the end  |
//!  |      | =1  |reserved| u32 big-endian  | (S3EV …)     |                           |
//!  +------+-----+--------+-----------------+--------------+---------------------------+
//! ```
//!
//! The header carries no secret and is checked for its exact values; everything after it is
//! authenticated by the engine.

use std::io::Read;

/// The magic at the start of a sealed file.
pub const MAGIC: [u8; 4] = *b"S3SF";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Bytes before the envelope.
pub const HEADER_LEN: usize = 12;
/// Largest envelope accepted.
pub const MAX_ENVELOPE: u32 = 256 * 1024;
/// The pseudo bucket sealed files are written to (a general purpose bucket).
pub const FILE_BUCKET: &str = "s3seal-file";
/// The pseudo key sealed files are written to.
pub const FILE_KEY: &str = "file";

/// Why a sealed file's header is refused. `Display` is the message `s3seal decrypt` prints.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Fewer than 4 bytes, or not `S3SF`.
    #[error("not an s3seal sealed file (bad magic)")]
    BadMagic,
    /// Fewer than 12 bytes.
    #[error("sealed file truncated (header)")]
    TruncatedHeader,
    /// Another format version.
    #[error("unsupported sealed file version {0}")]
    UnsupportedVersion(u8),
    /// Reserved bytes not zero.
    #[error("sealed file: reserved header bytes are not zero")]
    Reserved,
    /// An envelope length above [`MAX_ENVELOPE`].
    #[error("sealed file: envelope too large")]
    EnvelopeTooLarge,
    /// Fewer envelope bytes than the header says.
    #[error("sealed file truncated (envelope)")]
    TruncatedEnvelope,
    /// Reading failed.
    #[error("read input: {0}")]
    Io(#[from] std::io::Error),
}

/// The header of a sealed file whose envelope is `envelope_len` bytes.
///
/// # Errors
/// [`HeaderError::EnvelopeTooLarge`] above [`MAX_ENVELOPE`].
pub fn header(envelope_len: usize) -> Result<[u8; HEADER_LEN], HeaderError> {
    let n = u32::try_from(envelope_len)
        .ok()
        .filter(|&n| n <= MAX_ENVELOPE)
        .ok_or(HeaderError::EnvelopeTooLarge)?;
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[8..].copy_from_slice(&n.to_be_bytes());
    Ok(h)
}

/// Reads the header and envelope of a sealed file; the reader is left at the sealed bytes.
///
/// # Errors
/// A [`HeaderError`] for a file that is not a sealed file, another version, or truncated.
pub fn read_header(r: &mut dyn Read) -> Result<Vec<u8>, HeaderError> {
    let mut h = [0u8; HEADER_LEN];
    let got = read_full(r, &mut h)?;
    if got < 4 || h[..4] != MAGIC {
        return Err(HeaderError::BadMagic);
    }
    if got < HEADER_LEN {
        return Err(HeaderError::TruncatedHeader);
    }
    if h[4] != VERSION {
        return Err(HeaderError::UnsupportedVersion(h[4]));
    }
    if h[5..8] != [0, 0, 0] {
        return Err(HeaderError::Reserved);
    }
    let n = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    if n > MAX_ENVELOPE {
        return Err(HeaderError::EnvelopeTooLarge);
    }
    let mut env = vec![0u8; n as usize];
    if read_full(r, &mut env)? < env.len() {
        return Err(HeaderError::TruncatedEnvelope);
    }
    Ok(env)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
