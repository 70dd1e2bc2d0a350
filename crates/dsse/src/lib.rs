#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod keys;
mod layers;
mod record;

use std::io::{Read, Write};

use bytes::{Bytes, BytesMut};
use s3seal_gcm::{
    ChunkRange, ChunkSize, Decryptor, Encryptor, MultipartLayout, PartNumber,
    open_object_range_with, open_range_with, open_with, seal_with,
};

pub use error::{DsseError, RecordError};
pub use keys::DsseKeys;
pub use layers::{DUAL_HEADER_LEN, DualOpener, DualSealer, geometry, part_header};
pub use record::{LayerKey, LayerRecord};

/// Seals `plaintext` as part `part` of the object identified by `binding`: each chunk through
/// both layers in one pass, chunks in parallel on the current rayon pool.
///
/// # Errors
/// [`DsseError::Seal`] (random generator, too many chunks).
pub fn seal_part(
    keys: &DsseKeys,
    binding: &[u8],
    part: PartNumber,
    chunk: ChunkSize,
    plaintext: &[u8],
) -> Result<Bytes, DsseError> {
    Ok(seal_with(keys.sealer(binding, part, chunk)?, plaintext)?)
}

/// Opens a whole dual-layer part. Releases nothing unless every chunk passes both layers.
///
/// # Errors
/// [`DsseError::Seal`] with a [`s3seal_gcm::FormatError`] (header, layer, commitment,
/// truncation, trailing data) or an opaque authentication failure.
pub fn open_part(
    keys: &DsseKeys,
    binding: &[u8],
    expected_part: PartNumber,
    sealed: &[u8],
) -> Result<BytesMut, DsseError> {
    let opener = keys.opener(binding, expected_part, sealed)?;
    Ok(open_with(&opener, &sealed[DUAL_HEADER_LEN..])?)
}

/// Opens the range planned by `plan` (from [`geometry`]`(chunk).plan_range`) of one part:
/// `header` is its 152 header bytes and `sealed` the bytes at `plan.sealed`.
///
/// # Errors
/// As [`open_part`].
pub fn open_range(
    keys: &DsseKeys,
    binding: &[u8],
    expected_part: PartNumber,
    header: &[u8],
    plan: &ChunkRange,
    sealed: &[u8],
) -> Result<BytesMut, DsseError> {
    let opener = keys.opener(binding, expected_part, header)?;
    Ok(open_range_with(&opener, plan, sealed)?)
}

/// Opens plaintext `range` of a dual-layer multipart object held in memory.
///
/// # Errors
/// As [`open_part`]; out-of-bounds ranges.
pub fn open_object_range(
    keys: &DsseKeys,
    binding: &[u8],
    layout: &MultipartLayout,
    range: core::ops::Range<u64>,
    sealed: &[u8],
) -> Result<BytesMut, DsseError> {
    Ok(open_object_range_with(
        layout,
        range,
        sealed,
        |_, part, header| {
            keys.opener(binding, part, header).map_err(|e| match e {
                DsseError::Seal(e) => e,
                _ => s3seal_gcm::Error::Authentication,
            })
        },
    )?)
}

/// A streaming encryptor of one dual-layer part.
///
/// # Errors
/// As [`DsseKeys::sealer`].
pub fn encryptor<W: Write>(
    inner: W,
    keys: &DsseKeys,
    binding: &[u8],
    part: PartNumber,
    chunk: ChunkSize,
) -> Result<Encryptor<W, DualSealer>, DsseError> {
    Ok(Encryptor::with_sealer(
        inner,
        keys.sealer(binding, part, chunk)?,
    ))
}

/// A streaming decryptor of one dual-layer part: reads and checks the 152-byte header first.
///
/// # Errors
/// As [`DsseKeys::opener`]; I/O errors.
pub fn decryptor<R: Read>(
    mut inner: R,
    keys: &DsseKeys,
    binding: &[u8],
    expected_part: PartNumber,
) -> Result<Decryptor<R, DualOpener>, DsseError> {
    let mut header = [0u8; DUAL_HEADER_LEN];
    // `read_exact` retries interrupted reads; a short header is a truncated part.
    inner.read_exact(&mut header).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            s3seal_gcm::Error::Format(s3seal_gcm::FormatError::Truncated)
        }
        _ => s3seal_gcm::Error::from(e),
    })?;
    Ok(Decryptor::with_opener(
        inner,
        keys.opener(binding, expected_part, &header)?,
    ))
}
