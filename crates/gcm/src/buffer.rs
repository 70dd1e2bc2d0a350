//! Whole parts in memory: seal and open a part, or many parts, in parallel with rayon, and open
//! a plaintext range of a single-part or multipart object. The bytes are identical whatever the
//! thread count: each chunk is sealed by the stateless primitive of [`crate::stream`].

use bytes::{Bytes, BytesMut};
use rayon::prelude::*;
use zeroize::Zeroize;

use crate::error::{Error, FormatError};
use crate::format::{ChunkSize, HEADER_LEN, PartNumber};
use crate::key::DataKey;
use crate::layout::{self, ChunkRange, MultipartLayout};

use crate::stream::{PartOpener, PartSealer, open_run};

fn index(i: usize) -> Result<u32, Error> {
    u32::try_from(i).map_err(|_| Error::TooManyChunks)
}

/// Seals `plaintext` as one part into `output` (exactly `layout::sealed_len` bytes: header then
/// chunks), chunks in parallel on the current rayon pool.
///
/// # Errors
/// [`Error::LengthMismatch`] if `output` has the wrong size; [`Error::TooManyChunks`].
pub fn seal_part_into(sealer: &PartSealer, plaintext: &[u8], output: &mut [u8]) -> Result<(), Error> {
    let chunk = sealer.chunk_size();
    let expected = layout::sealed_len(plaintext.len() as u64, chunk).ok_or(Error::TooManyChunks)?;
    if output.len() as u64 != expected {
        return Err(Error::LengthMismatch);
    }
    let (header, body) = output.split_at_mut(HEADER_LEN);
    header.copy_from_slice(sealer.header());
    if plaintext.is_empty() {
        return sealer.seal_chunk_to(0, true, &[], body);
    }
    let last = plaintext.len().div_ceil(chunk.bytes()) - 1;
    body.par_chunks_mut(chunk.sealed_bytes())
        .zip(plaintext.par_chunks(chunk.bytes()))
        .enumerate()
        .try_for_each(|(i, (out, pt))| sealer.seal_chunk_to(index(i)?, i == last, pt, out))
}

/// Seals `plaintext` as part `part` of the object identified by `context`, under `key`, with a
/// fresh random salt. Chunks are sealed in parallel on the current rayon pool.
///
/// # Errors
/// [`Error::Random`] if the OS generator fails; [`Error::TooManyChunks`] above 2³² chunks.
pub fn seal_part(
    key: &DataKey,
    context: &[u8],
    part: PartNumber,
    chunk: ChunkSize,
    plaintext: &[u8],
) -> Result<Bytes, Error> {
    let sealer = PartSealer::new(key, context, part, chunk)?;
    let len = layout::sealed_len(plaintext.len() as u64, chunk).ok_or(Error::TooManyChunks)?;
    let mut out = BytesMut::zeroed(usize::try_from(len).map_err(|_| Error::TooManyChunks)?);
    seal_part_into(&sealer, plaintext, &mut out)?;
    Ok(out.freeze())
}

/// Seals several parts of one object in parallel (across parts, and across the chunks of each).
///
/// # Errors
/// As [`seal_part`].
pub fn seal_parts(
    key: &DataKey,
    context: &[u8],
    chunk: ChunkSize,
    parts: &[(PartNumber, &[u8])],
) -> Result<Vec<Bytes>, Error> {
    parts.par_iter().map(|&(part, pt)| seal_part(key, context, part, chunk, pt)).collect()
}

/// Opens a whole sealed part (header then chunks) that must be part `expected_part` of the
/// object identified by `context`. Releases nothing unless every chunk authenticates.
///
/// # Errors
/// [`FormatError`]s for a malformed header, wrong part number, key commitment mismatch (wrong
/// key or context), impossible length, truncation or trailing data; [`Error::Authentication`]
/// for anything else that does not authenticate.
pub fn open_part(
    key: &DataKey,
    context: &[u8],
    expected_part: PartNumber,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    let opener = PartOpener::new(key, context, expected_part, sealed)?;
    let body = &sealed[HEADER_LEN..];
    let sc = opener.chunk_size().sealed_bytes();
    let n = body.len().div_ceil(sc).max(1);
    let final_index = u32::try_from(n - 1).map_err(|_| Error::TooManyChunks)?;
    open_run(&opener, 0, final_index, body)
}

/// Opens the plaintext range planned by `plan` from one part: `header` is the part's 76 header
/// bytes and `sealed` the bytes at `plan.sealed`. Only the chunks covering the range are opened.
///
/// # Errors
/// As [`open_part`]; [`Error::LengthMismatch`] if `sealed` is not `plan.sealed` long;
/// [`FormatError::BadChunkSize`] if the header's chunk size is not `chunk`.
pub fn open_range(
    key: &DataKey,
    context: &[u8],
    expected_part: PartNumber,
    chunk: ChunkSize,
    header: &[u8],
    plan: &ChunkRange,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    let opener = PartOpener::new(key, context, expected_part, header)?;
    if opener.chunk_size() != chunk {
        return Err(FormatError::BadChunkSize(opener.chunk_size().log2()).into());
    }
    if plan.len == 0 {
        return Ok(BytesMut::new());
    }
    if sealed.len() as u64 != plan.sealed.end - plan.sealed.start {
        return Err(Error::LengthMismatch);
    }
    let mut out = open_run(&opener, plan.first, plan.final_index, sealed)?;
    let skip = usize::try_from(plan.skip).map_err(|_| FormatError::OutOfBounds)?;
    let len = usize::try_from(plan.len).map_err(|_| FormatError::OutOfBounds)?;
    if skip + len > out.len() {
        out.zeroize();
        return Err(FormatError::OutOfBounds.into());
    }
    out[..skip].zeroize();
    out[skip + len..].zeroize();
    let mut wanted = out.split_off(skip);
    wanted.truncate(len);
    Ok(wanted)
}

/// Opens plaintext `range` of a multipart object held in memory (`sealed` = all parts back to
/// back, as `layout` describes), opening only the chunks that cover it, parts in parallel.
///
/// # Errors
/// As [`open_range`]; [`FormatError::OutOfBounds`] for a range past the end or a `sealed`
/// buffer shorter than the layout.
pub fn open_object_range(
    key: &DataKey,
    context: &[u8],
    layout: &MultipartLayout,
    range: core::ops::Range<u64>,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    if sealed.len() as u64 != layout.sealed_len() {
        return Err(FormatError::OutOfBounds.into());
    }
    let slice = |r: &core::ops::Range<u64>| -> Result<&[u8], Error> {
        let s = usize::try_from(r.start).map_err(|_| FormatError::OutOfBounds)?;
        let e = usize::try_from(r.end).map_err(|_| FormatError::OutOfBounds)?;
        sealed.get(s..e).ok_or_else(|| FormatError::OutOfBounds.into())
    };
    let pieces: Vec<BytesMut> = layout
        .plan_range(range)?
        .par_iter()
        .map(|p| {
            open_range(key, context, p.part, layout.chunk_size(), slice(&p.header)?, &p.chunks, slice(&p.chunks.sealed)?)
        })
        .collect::<Result<_, Error>>()?;
    let mut out = BytesMut::with_capacity(pieces.iter().map(BytesMut::len).sum());
    for p in pieces {
        out.extend_from_slice(&p);
    }
    Ok(out)
}
