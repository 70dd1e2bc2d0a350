//! Whole parts in memory: seal and open a part, or many parts, in parallel with rayon, and open
//! a plaintext range of a single-part or multipart object. The bytes are identical whatever the
//! thread count: each chunk is sealed by the stateless chunk primitive (`chunk.rs`).
//!
//! The `*_with` functions (and [`seal_part_once_into`]) take any [`ChunkSealer`] /
//! [`ChunkOpener`]; the others are the single-layer conveniences keyed by a [`DataKey`].

use bytes::{Bytes, BytesMut};
use rayon::prelude::*;
use zeroize::Zeroize;

use crate::chunk::{ChunkOpener, ChunkSealer, PartOpener, PartSealer};
use crate::error::{Error, FormatError};
use crate::format::{ChunkSize, PartNumber};
use crate::key::DataKey;
use crate::layout::{ChunkRange, MultipartLayout};
use crate::run::{open_run, open_run_into, spread_over_pool};

fn to_usize(v: u64) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| Error::TooManyChunks)
}

/// Seals `plaintext` into `output` (exactly `sealer.geometry().sealed_len(plaintext.len())`
/// bytes: header then chunks), chunks in parallel on the current rayon pool.
///
/// # Security
/// The sealer is borrowed, so nothing stops a second call with it: call this **once** per
/// sealer. Sealing other bytes with the same sealer reuses its nonces (the same bytes give the
/// same output, which is how tests and benches check determinism). [`seal_with`], which takes
/// the sealer by value, cannot be misused that way.
///
/// # Errors
/// [`Error::LengthMismatch`] if `output` has the wrong size; [`Error::TooManyChunks`].
pub fn seal_part_once_into<S: ChunkSealer + ?Sized>(
    sealer: &S,
    plaintext: &[u8],
    output: &mut [u8],
) -> Result<(), Error> {
    let g = sealer.geometry();
    let expected = g
        .sealed_len(plaintext.len() as u64)
        .ok_or(Error::TooManyChunks)?;
    if output.len() as u64 != expected {
        return Err(Error::LengthMismatch);
    }
    let (header, body) = output.split_at_mut(to_usize(g.header)?);
    header.copy_from_slice(sealer.header_bytes());
    if plaintext.is_empty() {
        return sealer.seal_chunk_once_to(0, true, &[], body);
    }
    let c = to_usize(g.chunk)?;
    let last = plaintext.len().div_ceil(c) - 1;
    let seal = |(i, (out, pt)): (usize, (&mut [u8], &[u8]))| {
        let idx = u32::try_from(i).map_err(|_| Error::TooManyChunks)?;
        sealer.seal_chunk_once_to(idx, i == last, pt, out)
    };
    let sc = to_usize(g.sealed_chunk())?;
    if spread_over_pool(plaintext.len(), last + 1) {
        body.par_chunks_mut(sc)
            .zip(plaintext.par_chunks(c))
            .enumerate()
            .try_for_each(seal)
    } else {
        body.chunks_mut(sc)
            .zip(plaintext.chunks(c))
            .enumerate()
            .try_for_each(seal)
    }
}

/// Seals `plaintext` with `sealer` into a new buffer. The sealer is consumed, so it seals one
/// plaintext only.
///
/// # Errors
/// [`Error::TooManyChunks`] above 2³² chunks.
pub fn seal_with<S: ChunkSealer>(sealer: S, plaintext: &[u8]) -> Result<Bytes, Error> {
    let len = sealer
        .geometry()
        .sealed_len(plaintext.len() as u64)
        .ok_or(Error::TooManyChunks)?;
    let mut out = BytesMut::zeroed(to_usize(len)?);
    seal_part_once_into(&sealer, plaintext, &mut out)?;
    Ok(out.freeze())
}

/// Seals `plaintext` as part `part` of the object identified by `binding`, under `key`, with a
/// fresh random salt. Chunks are sealed in parallel on the current rayon pool.
///
/// # Errors
/// [`Error::Random`] if the OS generator fails; [`Error::TooManyChunks`] above 2³² chunks.
pub fn seal_part(
    key: &DataKey,
    binding: &[u8],
    part: PartNumber,
    chunk: ChunkSize,
    plaintext: &[u8],
) -> Result<Bytes, Error> {
    seal_with(PartSealer::new(key, binding, part, chunk)?, plaintext)
}

/// Seals several parts of one object in parallel (across parts, and across the chunks of each).
///
/// # Errors
/// As [`seal_part`].
pub fn seal_parts(
    key: &DataKey,
    binding: &[u8],
    chunk: ChunkSize,
    parts: &[(PartNumber, &[u8])],
) -> Result<Vec<Bytes>, Error> {
    parts
        .par_iter()
        .map(|&(part, pt)| seal_part(key, binding, part, chunk, pt))
        .collect()
}

/// Opens every chunk of a part's `body` (the bytes after its header) with `opener`.
/// Releases nothing unless every chunk authenticates.
///
/// # Errors
/// [`FormatError::Truncated`], [`FormatError::TrailingData`], [`Error::Authentication`].
pub fn open_with<O: ChunkOpener + ?Sized>(opener: &O, body: &[u8]) -> Result<BytesMut, Error> {
    let n = (body.len() as u64)
        .div_ceil(opener.geometry().sealed_chunk())
        .max(1);
    let final_index = u32::try_from(n - 1).map_err(|_| Error::TooManyChunks)?;
    open_run(opener, 0, final_index, body)
}

/// Opens every chunk of a part's `body` with `opener` into `out`, which must be exactly the
/// part's plaintext length ([`crate::run_plaintext_len`]); for callers that reuse
/// buffers. On failure `out` is zeroed.
///
/// # Errors
/// As [`open_with`]; [`Error::LengthMismatch`] for a wrong `out` length.
pub fn open_into<O: ChunkOpener + ?Sized>(
    opener: &O,
    body: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let n = (body.len() as u64)
        .div_ceil(opener.geometry().sealed_chunk())
        .max(1);
    let final_index = u32::try_from(n - 1).map_err(|_| Error::TooManyChunks)?;
    open_run_into(opener, 0, final_index, body, out)
}

/// Opens a whole sealed part (header then chunks) that must be part `expected_part` of the
/// object identified by `binding`. Releases nothing unless every chunk authenticates.
///
/// # Errors
/// [`FormatError`]s for a malformed header, wrong part number, key commitment mismatch (wrong
/// key or binding), truncation or trailing data; [`Error::Authentication`] for anything else
/// that does not authenticate.
pub fn open_part(
    key: &DataKey,
    binding: &[u8],
    expected_part: PartNumber,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    let opener = PartOpener::new(key, binding, expected_part, sealed)?;
    open_with(&opener, &sealed[crate::format::HEADER_LEN..])
}

/// Opens the plaintext range planned by `plan` with `opener`: `sealed` is the bytes at
/// `plan.sealed`. Only the chunks covering the range are opened.
///
/// # Errors
/// As [`open_with`]; [`Error::LengthMismatch`] if `sealed` is not `plan.sealed` long.
pub fn open_range_with<O: ChunkOpener + ?Sized>(
    opener: &O,
    plan: &ChunkRange,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    if plan.len == 0 {
        return Ok(BytesMut::new());
    }
    if Some(sealed.len() as u64) != plan.sealed.end.checked_sub(plan.sealed.start) {
        return Err(Error::LengthMismatch);
    }
    let mut out = open_run(opener, plan.first, plan.final_index, sealed)?;
    let (skip, len) = (to_usize(plan.skip)?, to_usize(plan.len)?);
    if skip.checked_add(len).is_none_or(|end| end > out.len()) {
        out.zeroize();
        return Err(FormatError::OutOfBounds.into());
    }
    out[..skip].zeroize();
    out[skip + len..].zeroize();
    let mut wanted = out.split_off(skip);
    wanted.truncate(len);
    Ok(wanted)
}

/// Opens the plaintext range planned by `plan` with `opener` into `out` (exactly `plan.len`
/// bytes): `sealed` is the bytes at `plan.sealed`. When the range starts and ends on chunk
/// boundaries (or at the part's end) the chunks open straight into `out`; otherwise the run is
/// opened into a scratch buffer, which is wiped after the wanted bytes are copied out. On
/// failure `out` is zeroed.
///
/// # Errors
/// As [`open_range_with`]; [`Error::LengthMismatch`] if `out` is not `plan.len` long.
pub fn open_range_into<O: ChunkOpener + ?Sized>(
    opener: &O,
    plan: &ChunkRange,
    sealed: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    if out.len() as u64 != plan.len {
        return Err(Error::LengthMismatch);
    }
    if plan.len == 0 {
        return Ok(());
    }
    if Some(sealed.len() as u64) != plan.sealed.end.checked_sub(plan.sealed.start) {
        return Err(Error::LengthMismatch);
    }
    let aligned = plan.skip == 0
        && crate::run::run_plaintext_len(opener.geometry(), sealed.len()) == Some(out.len());
    if aligned {
        return open_run_into(opener, plan.first, plan.final_index, sealed, out);
    }
    let mut run = open_range_with(opener, plan, sealed).inspect_err(|_| out.zeroize())?;
    out.copy_from_slice(&run);
    run.zeroize();
    Ok(())
}

/// Opens the plaintext range planned by `plan` from one single-layer part: `header` is the
/// part's 76 header bytes and `sealed` the bytes at `plan.sealed`.
///
/// # Errors
/// As [`open_part`] and [`open_range_with`]; [`FormatError::BadChunkSize`] if the header's chunk
/// size is not `chunk`.
pub fn open_range(
    key: &DataKey,
    binding: &[u8],
    expected_part: PartNumber,
    chunk: ChunkSize,
    header: &[u8],
    plan: &ChunkRange,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    let opener = PartOpener::new(key, binding, expected_part, header)?;
    if opener.chunk_size() != chunk {
        return Err(FormatError::BadChunkSize(opener.chunk_size().log2()).into());
    }
    open_range_with(&opener, plan, sealed)
}

/// Opens plaintext `range` of an object held in memory (`sealed` = all parts back to back, as
/// `layout` describes), opening only the chunks that cover it, parts in parallel. `opener`
/// makes the opener of one part from its position, part number and header bytes.
///
/// # Errors
/// As [`open_range_with`]; [`FormatError::OutOfBounds`] for a range past the end or a
/// `sealed` buffer of another length than the layout's; whatever `opener` returns.
pub fn open_object_range_with<O, F>(
    layout: &MultipartLayout,
    range: core::ops::Range<u64>,
    sealed: &[u8],
    opener: F,
) -> Result<BytesMut, Error>
where
    O: ChunkOpener,
    F: Fn(usize, PartNumber, &[u8]) -> Result<O, Error> + Sync,
{
    if sealed.len() as u64 != layout.sealed_len() {
        return Err(FormatError::OutOfBounds.into());
    }
    let slice = |r: &core::ops::Range<u64>| -> Result<&[u8], Error> {
        let (s, e) = (to_usize(r.start)?, to_usize(r.end)?);
        sealed
            .get(s..e)
            .ok_or_else(|| FormatError::OutOfBounds.into())
    };
    let plan = layout.plan_range(range)?;
    let open = |p: &crate::layout::PartRange| -> Result<BytesMut, Error> {
        let o = opener(p.position, p.part, slice(&p.header)?)?;
        if o.geometry() != layout.geometry() {
            return Err(FormatError::BadChunkSize(0).into());
        }
        open_range_with(&o, &p.chunks, slice(&p.chunks.sealed)?)
    };
    if let [only] = plan.as_slice() {
        return open(only);
    }
    let mut pieces: Vec<Result<BytesMut, Error>> = plan.par_iter().map(open).collect();
    // Every piece is either copied out and wiped, or wiped when another part failed: no
    // plaintext is left in freed memory.
    let failed = pieces.iter().find_map(|p| p.as_ref().err().cloned());
    let mut out = BytesMut::with_capacity(match failed {
        None => pieces.iter().flatten().map(BytesMut::len).sum(),
        Some(_) => 0,
    });
    for piece in pieces.iter_mut().flatten() {
        if failed.is_none() {
            out.extend_from_slice(piece);
        }
        piece.zeroize();
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Opens plaintext `range` of an object held in memory into `out` (exactly the range's length),
/// as [`open_object_range_with`] but with no buffer of its own on the whole-chunk path: each
/// part's chunks open straight into their place in `out`, parts in parallel. On failure `out`
/// is zeroed.
///
/// # Errors
/// As [`open_object_range_with`]; [`Error::LengthMismatch`] if `out` has the wrong length.
pub fn open_object_range_into<O, F>(
    layout: &MultipartLayout,
    range: core::ops::Range<u64>,
    sealed: &[u8],
    opener: F,
    out: &mut [u8],
) -> Result<(), Error>
where
    O: ChunkOpener,
    F: Fn(usize, PartNumber, &[u8]) -> Result<O, Error> + Sync,
{
    if sealed.len() as u64 != layout.sealed_len() {
        return Err(FormatError::OutOfBounds.into());
    }
    if Some(out.len() as u64) != range.end.checked_sub(range.start) {
        return Err(Error::LengthMismatch);
    }
    let slice = |r: &core::ops::Range<u64>| -> Result<&[u8], Error> {
        let (s, e) = (to_usize(r.start)?, to_usize(r.end)?);
        sealed
            .get(s..e)
            .ok_or_else(|| FormatError::OutOfBounds.into())
    };
    let plan = layout.plan_range(range)?;
    // Each part's piece of `out`, in plan order.
    let mut pieces = Vec::with_capacity(plan.len());
    let mut rest = &mut *out;
    for p in &plan {
        let (piece, tail) = rest
            .split_at_mut_checked(to_usize(p.chunks.len)?)
            .ok_or(Error::LengthMismatch)?;
        pieces.push(piece);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(Error::LengthMismatch);
    }
    let open = |(p, piece): (&crate::layout::PartRange, &mut &mut [u8])| -> Result<(), Error> {
        let o = opener(p.position, p.part, slice(&p.header)?)?;
        if o.geometry() != layout.geometry() {
            return Err(FormatError::BadChunkSize(0).into());
        }
        open_range_into(&o, &p.chunks, slice(&p.chunks.sealed)?, piece)
    };
    let result = if plan.len() > 1 {
        plan.par_iter()
            .zip(pieces.par_iter_mut())
            .map(open)
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<(), Error>>()
    } else {
        plan.iter().zip(pieces.iter_mut()).try_for_each(open)
    };
    if result.is_err() {
        out.zeroize();
    }
    result
}

/// Opens plaintext `range` of a single-layer multipart object held in memory; see
/// [`open_object_range_with`].
///
/// # Errors
/// As [`open_object_range_with`].
pub fn open_object_range(
    key: &DataKey,
    binding: &[u8],
    layout: &MultipartLayout,
    range: core::ops::Range<u64>,
    sealed: &[u8],
) -> Result<BytesMut, Error> {
    open_object_range_with(layout, range, sealed, |_, part, header| {
        PartOpener::new(key, binding, part, header)
    })
}
