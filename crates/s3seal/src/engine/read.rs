//! Ranged reads from stored byte spans: a GET planned from the envelope alone, so that a backend
//! on a remote or tiered store fetches only the bytes a range needs.
//!
//! [`Engine::plan_get`] parses the envelope once, checks the request (SSE-C key, headers),
//! unwraps the keys and maps the plaintext range to stored byte spans: for each part the range
//! touches, its header and the run of sealed chunks covering the range. The backend fetches
//! those spans and hands them to [`ReadPlan::open`] (in memory) or [`ReadPlan::stream`] (a
//! reader yielding them back to back; memory bounded by chunk size × batch). A 1-byte range
//! of any object needs one header and one sealed chunk.

use std::io::{Read, Write};
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};
use s3seal_gcm::{ChunkRange, MultipartLayout, PartNumber};
use s3seal_policy::ReadOp;

use super::keys::{ObjectKeys, object_binding};
use super::object::{header_matches, layout};
use super::{Engine, Request, parse_range, to_usize};
use crate::envelope::ObjectEnvelope;
use crate::error::EngineError;

/// Chunks opened at once by [`ReadPlan::stream`].
const STREAM_BATCH: u64 = 16;

/// One part a read touches: its header and the chunks to open (offsets into the stored object).
#[derive(Debug, Clone)]
struct Piece {
    position: usize,
    part: PartNumber,
    header: Range<u64>,
    chunks: ChunkRange,
    /// The part's whole body must be opened (an empty object: its one chunk is authenticated
    /// although no byte is returned).
    whole: bool,
}

/// A GET prepared from the envelope: which stored byte spans it needs and how to open them.
/// Holds the object's unwrapped keys (zeroized on drop; never printed by `Debug`).
pub struct ReadPlan {
    env: ObjectEnvelope,
    keys: ObjectKeys,
    binding: Vec<u8>,
    layout: MultipartLayout,
    pieces: Vec<Piece>,
    range: Range<u64>,
    headers: HeaderMap,
}

impl core::fmt::Debug for ReadPlan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadPlan")
            .field("range", &self.range)
            .field("spans", &self.spans())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Plans a GET of `bucket`/`key` from its envelope alone: the whole object, or the range
    /// of an HTTP `Range: bytes=…` value. The envelope is parsed once; the request is checked
    /// and the keys unwrapped here, so opening needs nothing but the spans.
    ///
    /// # Errors
    /// As [`Engine::get_object`]; [`EngineError::InvalidRange`] for a malformed or
    /// unsatisfiable range.
    pub fn plan_get(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        range: Option<&str>,
    ) -> Result<ReadPlan, EngineError> {
        let (env, keys, customer) = self.prepare_read(req, envelope, ReadOp::GetObject)?;
        let range = match range {
            Some(r) => parse_range(r, env.plaintext_len)?,
            None => 0..env.plaintext_len,
        };
        let layout = layout(&env)?;
        let pieces = if env.plaintext_len == 0 {
            (0..layout.parts().len())
                .map(|i| whole_piece(&layout, i))
                .collect::<Result<_, _>>()?
        } else {
            pieces(&layout, range.clone()).map_err(|_| EngineError::InvalidRange)?
        };
        Ok(ReadPlan {
            binding: object_binding(&env.bucket, &env.key, &env.object_id),
            headers: self.headers(&env, customer.as_ref())?,
            env,
            keys,
            layout,
            pieces,
            range,
        })
    }
}

/// The response header S3 sends with a part read of a multipart object.
const PARTS_COUNT: &str = "x-amz-mp-parts-count";

impl Engine {
    /// Plans a GET with `partNumber`: the plaintext of that part (a multipart object's part as
    /// uploaded; part 1 of a single-PUT object is the whole object), with S3's response
    /// headers plus `x-amz-mp-parts-count` for a multipart object.
    ///
    /// # Errors
    /// As [`Engine::plan_get`]; [`EngineError::InvalidPartNumber`] for a part the object does
    /// not have.
    pub fn plan_get_part(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        part_number: u32,
    ) -> Result<ReadPlan, EngineError> {
        let mut plan = self.plan_get(req, envelope, None)?;
        let env = &plan.env;
        let (range, position) = if env.parts.is_empty() {
            if part_number != 1 {
                return Err(EngineError::InvalidPartNumber);
            }
            (0..env.plaintext_len, 0)
        } else {
            let i = env
                .parts
                .iter()
                .position(|p| p.number.get() == part_number)
                .ok_or(EngineError::InvalidPartNumber)?;
            let start: u64 = env.parts[..i].iter().map(|p| p.size).sum();
            (start..start + env.parts[i].size, i)
        };
        plan.pieces = if range.is_empty() {
            vec![whole_piece(&plan.layout, position)?]
        } else {
            pieces(&plan.layout, range.clone()).map_err(|_| EngineError::InvalidPartNumber)?
        };
        if !plan.env.parts.is_empty() {
            plan.headers
                .insert(PARTS_COUNT, HeaderValue::from(plan.env.parts.len()));
        }
        plan.range = range;
        Ok(plan)
    }

    /// HeadObject with `partNumber`: the response headers of [`Engine::plan_get_part`], with
    /// the part's `Content-Length`.
    ///
    /// # Errors
    /// As [`Engine::plan_get_part`].
    pub fn head_object_part(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        part_number: u32,
    ) -> Result<HeaderMap, EngineError> {
        let plan = self.plan_get_part(req, envelope, part_number)?;
        let mut h = plan.headers;
        h.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(plan.range.end - plan.range.start),
        );
        Ok(h)
    }
}

/// The pieces that read plaintext `range` (not empty) of an object laid out as `layout`.
fn pieces(
    layout: &MultipartLayout,
    range: Range<u64>,
) -> Result<Vec<Piece>, s3seal_gcm::FormatError> {
    Ok(layout
        .plan_range(range)?
        .into_iter()
        .map(|p| Piece {
            position: p.position,
            part: p.part,
            header: p.header,
            chunks: p.chunks,
            whole: false,
        })
        .collect())
}

/// The piece that opens all of part `i` (an empty part: its header and its one chunk).
fn whole_piece(layout: &MultipartLayout, i: usize) -> Result<Piece, EngineError> {
    let sealed = layout
        .part_sealed_range(i)
        .ok_or(EngineError::LengthMismatch)?;
    let part = *layout.parts().get(i).ok_or(EngineError::LengthMismatch)?;
    let h = sealed.start + layout.geometry().header;
    Ok(Piece {
        position: i,
        part,
        header: sealed.start..h,
        chunks: ChunkRange {
            first: 0,
            last: 0,
            final_index: 0,
            sealed: h..sealed.end,
            skip: 0,
            len: 0,
        },
        whole: true,
    })
}

impl ReadPlan {
    /// The stored byte spans to fetch, in order: for each part the read touches, its header
    /// (empty for FSx, which has none), then its chunks. Offsets are into the stored object
    /// (its parts back to back).
    #[must_use]
    pub fn spans(&self) -> Vec<Range<u64>> {
        self.pieces
            .iter()
            .flat_map(|p| [p.header.clone(), p.chunks.sealed.clone()])
            .collect()
    }

    /// How many stored bytes the spans add up to.
    #[must_use]
    pub fn stored_bytes(&self) -> u64 {
        self.spans().iter().map(|s| s.end - s.start).sum()
    }

    /// How many chunks the read opens (and so decrypts).
    #[must_use]
    pub fn chunks(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| {
                if p.whole || p.chunks.len > 0 {
                    u64::from(p.chunks.last - p.chunks.first) + 1
                } else {
                    0
                }
            })
            .sum()
    }

    /// The plaintext range the read answers.
    #[must_use]
    pub fn range(&self) -> Range<u64> {
        self.range.clone()
    }

    /// The whole object's plaintext length.
    #[must_use]
    pub fn object_len(&self) -> u64 {
        self.env.plaintext_len
    }

    /// The stored object's length (all parts, sealed).
    #[must_use]
    pub fn stored_len(&self) -> u64 {
        self.layout.sealed_len()
    }

    /// Response headers: encryption headers and `ETag`.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Checks a part's header against the manifest and makes its opener.
    fn opener(&self, piece: &Piece, header: &[u8]) -> Result<super::codec::Opener, EngineError> {
        if header.len() as u64 != piece.header.end - piece.header.start
            || !header_matches(&self.env, piece.position, header)
        {
            return Err(EngineError::Integrity);
        }
        self.keys
            .codec
            .opener(&self.binding, piece.part, self.env.chunk, header)
    }

    /// Opens one piece's chunks (`sealed` = the bytes of `chunks.sealed`).
    fn open_piece(
        &self,
        opener: &super::codec::Opener,
        piece: &Piece,
        sealed: &[u8],
    ) -> Result<BytesMut, EngineError> {
        if piece.whole {
            s3seal_gcm::open_with(opener, sealed)?;
            return Ok(BytesMut::new());
        }
        Ok(s3seal_gcm::open_range_with(opener, &piece.chunks, sealed)?)
    }

    /// Opens the read from the bytes of [`Self::spans`], one slice per span in that order.
    /// Nothing is returned unless every chunk read authenticates.
    ///
    /// # Errors
    /// [`EngineError::LengthMismatch`] for a wrong number or length of spans;
    /// [`EngineError::Integrity`] for tampered, stale or moved data.
    pub fn open(&self, spans: &[&[u8]]) -> Result<Bytes, EngineError> {
        if spans.len() != self.pieces.len() * 2 {
            return Err(EngineError::LengthMismatch);
        }
        let total = to_usize(self.range.end - self.range.start)?;
        // Every piece opens into its place of one buffer: a piece that is a whole run of
        // chunks (every part but the first and last of a range) straight from the cipher, the
        // others through a buffer of their own (at most two chunks more than they return).
        let mut out = BytesMut::zeroed(total);
        let mut at = 0;
        let g = self.layout.geometry();
        for (piece, pair) in self.pieces.iter().zip(spans.chunks(2)) {
            let (header, sealed) = (pair[0], pair[1]);
            let opened = (|| {
                if sealed.len() as u64 != piece.chunks.sealed.end - piece.chunks.sealed.start {
                    return Err(EngineError::LengthMismatch);
                }
                let opener = self.opener(piece, header)?;
                let len = to_usize(piece.chunks.len)?;
                let dest = out
                    .get_mut(at..at + len)
                    .ok_or(EngineError::LengthMismatch)?;
                let whole_run = !piece.whole
                    && piece.chunks.skip == 0
                    && s3seal_gcm::run_plaintext_len(g, sealed.len()) == Some(len);
                if whole_run {
                    let c = &piece.chunks;
                    s3seal_gcm::open_run_into(&opener, c.first, c.final_index, sealed, dest)?;
                } else {
                    let mut plain = self.open_piece(&opener, piece, sealed)?;
                    dest.copy_from_slice(&plain);
                    zeroize::Zeroize::zeroize(plain.as_mut());
                }
                Ok(len)
            })();
            match opened {
                Ok(len) => at += len,
                Err(e) => {
                    zeroize::Zeroize::zeroize(out.as_mut());
                    return Err(e);
                }
            }
        }
        Ok(out.freeze())
    }

    /// Streams the read: `spans` yields the bytes of [`Self::spans`] back to back (a reader
    /// positioned at the first span of a store that serves them, for instance); the plaintext
    /// goes to `out`, only authenticated chunks, [`STREAM_BATCH`] chunks at a time. On error,
    /// what was written to `out` must be discarded.
    ///
    /// # Errors
    /// As [`Self::open`]; [`EngineError::Io`] if reading the spans or writing `out` fails.
    pub fn stream(&self, mut spans: impl Read, mut out: impl Write) -> Result<(), EngineError> {
        let g = self.layout.geometry();
        let (sc, overhead) = (g.sealed_chunk(), g.overhead);
        for piece in &self.pieces {
            let mut header = vec![0u8; to_usize(piece.header.end - piece.header.start)?];
            spans
                .read_exact(&mut header)
                .map_err(|_| EngineError::LengthMismatch)?;
            let opener = self.opener(piece, &header)?;
            let c = &piece.chunks;
            let total = c.sealed.end - c.sealed.start;
            if piece.whole || c.len == 0 {
                let mut sealed = vec![0u8; to_usize(total)?];
                spans
                    .read_exact(&mut sealed)
                    .map_err(|_| EngineError::LengthMismatch)?;
                self.open_piece(&opener, piece, &sealed)?;
                continue;
            }
            // Batches of chunks; `at` counts plaintext bytes of chunks first.. opened so far.
            let (mut index, mut read, mut at) = (c.first, 0u64, 0u64);
            let mut buf = Vec::new();
            while read < total {
                let n = ((total - read).div_ceil(sc)).min(STREAM_BATCH);
                let bytes = (n * sc).min(total - read);
                buf.resize(to_usize(bytes)?, 0);
                spans
                    .read_exact(&mut buf)
                    .map_err(|_| EngineError::LengthMismatch)?;
                let produced = bytes - overhead * n;
                let start = c.skip.max(at);
                let end = (c.skip + c.len).min(at + produced);
                let last = index + u32::try_from(n - 1).map_err(|_| EngineError::LengthMismatch)?;
                let batch = ChunkRange {
                    first: index,
                    last,
                    final_index: c.final_index,
                    sealed: 0..bytes,
                    skip: start - at,
                    len: end.saturating_sub(start),
                };
                // A batch whose bytes are all skipped is still opened: it is authenticated.
                let mut plain = if batch.len == 0 {
                    s3seal_gcm::open_run(&opener, index, c.final_index, &buf)?;
                    BytesMut::new()
                } else {
                    s3seal_gcm::open_range_with(&opener, &batch, &buf)?
                };
                let written = out.write_all(&plain);
                zeroize::Zeroize::zeroize(plain.as_mut());
                written?;
                index = last + 1;
                read += bytes;
                at += produced;
            }
        }
        out.flush()?;
        Ok(())
    }
}
