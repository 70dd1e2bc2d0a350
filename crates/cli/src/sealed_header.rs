//! The header of a sealed file (`docs/FORMAT.md` §10): what `s3seal decrypt` checks before it
//! hands the envelope and the sealed bytes to the engine.
//!
//! ```text
//!  0      4     5               8                 12             12 + n        12 + n + p
//!  +------+-----+---------------+-----------------+--------------+-------------+-------------------+
//!  |"S3SF"| ver | padding p     | envelope len n  | envelope (n) | p zero bytes| sealed bytes, to  |
//!  |      |1, 2 | u24 BE        | u32 BE          | (S3EV …)     | (v2 only)   | the end           |
//!  |      |     | (v1: 0 0 0)   |                 |              |             |                   |
//!  +------+-----+---------------+-----------------+--------------+-------------+-------------------+
//! ```
//!
//! Version 1 has no padding (bytes 5–7 are zero). Version 2 pads the envelope with
//! 1 ≤ `p` ≤ [`MAX_PADDING`] zero bytes so that the sealed bytes start at a fixed offset
//! ([`DATA_OFFSET`] when written by `s3seal encrypt` to a file): the command streams them to
//! their place and writes the envelope, known only at the end, in front of them.
//!
//! The header carries no secret and is checked for its exact values, the padding for zeros;
//! everything else is authenticated by the engine.

use std::io::Read;

/// The magic at the start of a sealed file.
pub const MAGIC: [u8; 4] = *b"S3SF";
/// The unpadded format version (written when the output cannot seek; read).
pub const VERSION: u8 = 1;
/// The padded format version (written to files; read).
pub const VERSION_PADDED: u8 = 2;
/// Where `s3seal encrypt` puts a file's sealed bytes (version 2).
pub const DATA_OFFSET: u64 = 4096;
/// Most padding accepted.
pub const MAX_PADDING: u32 = 64 * 1024;
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
    /// Version 2 padding above [`MAX_PADDING`].
    #[error("sealed file: padding too large")]
    PaddingTooLarge,
    /// Fewer padding bytes than the header says.
    #[error("sealed file truncated (padding)")]
    TruncatedPadding,
    /// Version 2 with no padding (that file is written as version 1).
    #[error("sealed file: version 2 without padding")]
    NoPadding,
    /// A padding byte that is not zero.
    #[error("sealed file: padding bytes are not zero")]
    Padding,
    /// Reading failed.
    #[error("read input: {0}")]
    Io(#[from] std::io::Error),
}

/// The header of an unpadded (version 1) sealed file whose envelope is `envelope_len` bytes.
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

/// Everything before the sealed bytes: the header, `envelope` and `padding` zero bytes —
/// version 1 without padding, version 2 with.
///
/// # Errors
/// [`HeaderError::EnvelopeTooLarge`]; [`HeaderError::PaddingTooLarge`].
pub fn prefix(envelope: &[u8], padding: u32) -> Result<Vec<u8>, HeaderError> {
    if padding > MAX_PADDING {
        return Err(HeaderError::PaddingTooLarge);
    }
    let mut h = header(envelope.len())?;
    if padding > 0 {
        let p = padding.to_be_bytes();
        h[4..8].copy_from_slice(&[VERSION_PADDED, p[1], p[2], p[3]]);
    }
    let mut out = Vec::with_capacity(HEADER_LEN + envelope.len() + padding as usize);
    out.extend_from_slice(&h);
    out.extend_from_slice(envelope);
    out.resize(out.len() + padding as usize, 0);
    Ok(out)
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
    let padding = u32::from_be_bytes([0, h[5], h[6], h[7]]);
    match h[4] {
        VERSION if padding != 0 => return Err(HeaderError::Reserved),
        VERSION_PADDED if padding > MAX_PADDING => return Err(HeaderError::PaddingTooLarge),
        // One encoding per file: an unpadded file is version 1.
        VERSION_PADDED if padding == 0 => return Err(HeaderError::NoPadding),
        VERSION | VERSION_PADDED => {}
        v => return Err(HeaderError::UnsupportedVersion(v)),
    }
    let n = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    if n > MAX_ENVELOPE {
        return Err(HeaderError::EnvelopeTooLarge);
    }
    let mut env = vec![0u8; n as usize];
    if read_full(r, &mut env)? < env.len() {
        return Err(HeaderError::TruncatedEnvelope);
    }
    let mut pad = vec![0u8; padding as usize];
    if read_full(r, &mut pad)? < pad.len() {
        return Err(HeaderError::TruncatedPadding);
    }
    if pad.iter().any(|&b| b != 0) {
        return Err(HeaderError::Padding);
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
