//! Opening a run of consecutive chunks in parallel, and when parallel work is worth a pool.
//!
//! Every opening path — whole parts, ranges, the streaming decryptor — ends in
//! [`open_run_into`], so the tail-chunk rule and the classification of failures (truncation,
//! trailing data, opaque authentication failure) are written once.

use zeroize::{Zeroize, Zeroizing};

use crate::chunk::ChunkOpener;
use crate::error::{Error, FormatError};
use crate::layout::Geometry;

/// After chunk `index` failed to open at its claimed position, tells what the failure was: a
/// full chunk that opens as final is [`FormatError::TrailingData`] (more follows the real end),
/// a final chunk that opens as non-final is [`FormatError::Truncated`] (the real final chunk is
/// missing); anything else is [`Error::Authentication`]. Runs only on the failure path; the
/// trial plaintext is zeroed.
fn classify_failure<O: ChunkOpener + ?Sized>(
    opener: &O,
    index: u32,
    was_last: bool,
    input: &[u8],
) -> Error {
    let g = opener.geometry();
    if input.len() as u64 != g.sealed_chunk() {
        return Error::Authentication;
    }
    let Ok(len) = usize::try_from(g.chunk) else {
        return Error::Authentication;
    };
    let mut scratch = Zeroizing::new(vec![0u8; len]);
    match opener.open_chunk_to(index, !was_last, input, &mut scratch) {
        Ok(()) if was_last => FormatError::Truncated.into(),
        Ok(()) => FormatError::TrailingData.into(),
        Err(_) => Error::Authentication,
    }
}

/// Below this many bytes, a caller that is not already on a rayon pool thread seals or opens
/// sequentially: handing the work to a pool costs a thread wake-up (tens of microseconds
/// measured here), more than a few 64 KiB chunks take. See [`worth_parallel`].
pub const PARALLEL_MIN_BYTES: usize = 512 << 10;

/// Whether sealing or opening `bytes` bytes is worth handing to a thread pool (for a caller
/// deciding whether to `install` work on its own rayon pool): below [`PARALLEL_MIN_BYTES`] the
/// wake-up costs more than the chunks take, so run on the calling thread.
#[must_use]
pub fn worth_parallel(bytes: usize) -> bool {
    bytes >= PARALLEL_MIN_BYTES
}

/// Whether `chunks` chunks totalling `bytes` are worth spreading over the current rayon pool:
/// never on a pool of one thread (the current one, or the global one when called from outside
/// a pool); always when already on a pool thread; else from [`PARALLEL_MIN_BYTES`] on.
pub(crate) fn spread_over_pool(bytes: usize, chunks: usize) -> bool {
    chunks > 1
        && rayon::current_num_threads() > 1
        && (rayon::current_thread_index().is_some() || worth_parallel(bytes))
}

/// Plaintext length of a run of sealed chunks (full chunks, then a tail chunk), or `None` if
/// the tail is shorter than the per-chunk overhead.
#[must_use]
pub fn run_plaintext_len(geometry: Geometry, sealed_len: usize) -> Option<usize> {
    let sc = usize::try_from(geometry.sealed_chunk()).ok()?;
    let (c, t) = (
        usize::try_from(geometry.chunk).ok()?,
        usize::try_from(geometry.overhead).ok()?,
    );
    let n_body = sealed_len.saturating_sub(1) / sc;
    (sealed_len - n_body * sc)
        .checked_sub(t)
        .map(|tail| n_body * c + tail)
}

/// Opens a run of consecutive chunks `first..` from `sealed` (the chunks back to back: full
/// chunks, then a tail chunk that may be shorter) in parallel on the current rayon pool, into a
/// new buffer. See [`open_run_into`].
///
/// # Errors
/// As [`open_run_into`].
pub fn open_run<O: ChunkOpener + ?Sized>(
    opener: &O,
    first: u32,
    final_index: u32,
    sealed: &[u8],
) -> Result<bytes::BytesMut, Error> {
    let len = run_plaintext_len(opener.geometry(), sealed.len()).unwrap_or(0);
    let mut out = bytes::BytesMut::zeroed(len);
    open_run_into(opener, first, final_index, sealed, &mut out)?;
    Ok(out)
}

/// Opens a run of consecutive chunks `first..` from `sealed` (the chunks back to back: full
/// chunks, then a tail chunk that may be shorter) in parallel on the current rayon pool, into
/// `out` ([`run_plaintext_len`] bytes). `final_index` is the part's final chunk, flagged final
/// when it falls in the run (pass an index past the run when it does not).
///
/// The tail chunk is always opened on its own, so a run never passes without its last chunk
/// authenticated, even when that chunk is empty. On failure `out` is zeroed and the failure is
/// classified by the lowest failing chunk, so the error does not depend on scheduling.
///
/// # Errors
/// [`FormatError::Truncated`], [`FormatError::TrailingData`], [`Error::Authentication`],
/// [`Error::TooManyChunks`], [`Error::LengthMismatch`] if `out` has the wrong length.
pub fn open_run_into<O: ChunkOpener + ?Sized>(
    opener: &O,
    first: u32,
    final_index: u32,
    sealed: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    use rayon::prelude::*;
    let g = opener.geometry();
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| Error::TooManyChunks);
    let (c, sc, t) = (
        to_usize(g.chunk)?,
        to_usize(g.sealed_chunk())?,
        to_usize(g.overhead)?,
    );
    let n_body = sealed.len().saturating_sub(1) / sc;
    let (body, tail) = sealed.split_at(n_body * sc);
    let tail_index = u32::try_from(n_body)
        .ok()
        .and_then(|n| first.checked_add(n))
        .ok_or(Error::TooManyChunks)?;
    // When the run ends in a chunk that cannot be valid: if the chunk before it opens as
    // final, the real stream ended there and the rest is trailing data.
    let trailing_or = |e: Error| match n_body.checked_sub(1) {
        Some(k) => match classify_failure(opener, tail_index - 1, false, &body[k * sc..]) {
            Error::Format(FormatError::TrailingData) => FormatError::TrailingData.into(),
            _ => e,
        },
        None => e,
    };
    if tail.len() < t {
        out.zeroize();
        return Err(trailing_or(FormatError::Truncated.into()));
    }
    if out.len() != n_body * c + tail.len() - t {
        return Err(Error::LengthMismatch);
    }
    let (out_body, out_tail) = out.split_at_mut(n_body * c);
    let open_one = |(i, (ct, pt)): (usize, (&[u8], &mut [u8]))| {
        // i < n_body, so first + i <= tail_index fits in u32.
        let idx = first + u32::try_from(i).ok()?;
        opener
            .open_chunk_to(idx, idx == final_index, ct, pt)
            .is_err()
            .then_some(i)
    };
    let mut open_tail = || {
        opener
            .open_chunk_to(tail_index, tail_index == final_index, tail, out_tail)
            .is_ok()
    };
    let (body_failed, tail_ok) = if spread_over_pool(sealed.len(), n_body + 1) {
        rayon::join(
            || {
                body.par_chunks(sc)
                    .zip(out_body.par_chunks_mut(c))
                    .enumerate()
                    .filter_map(open_one)
                    .min()
            },
            open_tail,
        )
    } else {
        let failed = body
            .chunks(sc)
            .zip(out_body.chunks_mut(c))
            .enumerate()
            .filter_map(open_one)
            .min();
        (failed, open_tail())
    };
    let Some(i) = body_failed.or((!tail_ok).then_some(n_body)) else {
        return Ok(());
    };
    out.zeroize();
    let idx = first + u32::try_from(i).map_err(|_| Error::TooManyChunks)?;
    let ct = if i == n_body {
        tail
    } else {
        &body[i * sc..(i + 1) * sc]
    };
    let err = classify_failure(opener, idx, idx == final_index, ct);
    if i == n_body && err == Error::Authentication {
        Err(trailing_or(err))
    } else {
        Err(err)
    }
}
