//! Closed-form sizes and offsets: plaintext length ↔ sealed length, and a plaintext byte range →
//! the sealed bytes and chunks to read, for one part and for a multipart object.
//!
//! For a part of `p` plaintext bytes with chunk size `C`: `n = max(1, ⌈p / C⌉)` chunks and
//! `76 + p + 16·n` sealed bytes. Plaintext byte `x` lives in chunk `⌊x / C⌋`, whose sealed bytes
//! start at `76 + ⌊x / C⌋·(C + 16)`.

use core::ops::Range;

use crate::error::FormatError;
use crate::format::{ChunkSize, HEADER_LEN, PartNumber, TAG_LEN};

/// Most chunks one part may have: one subkey seals at most 2³² chunks (SP 800-38D §8.3 bounds
/// the invocations of one key; our nonces leave 32 bits for the index).
pub const MAX_CHUNKS: u64 = 1 << 32;

/// The shape of a sealed part: header length, plaintext bytes per full chunk, and bytes added
/// to each chunk. A single sealed stream is `(76, C, 16)` ([`Geometry::single`]); a codec that
/// stacks layers defines its own (`s3seal-dsse` does for its two layers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Bytes before the first chunk.
    pub header: u64,
    /// Plaintext bytes in every chunk but the last.
    pub chunk: u64,
    /// Sealed bytes added to every chunk (tags).
    pub overhead: u64,
}

impl Geometry {
    /// One sealed stream (format v1) with chunk size `chunk`.
    #[must_use]
    pub fn single(chunk: ChunkSize) -> Self {
        Geometry {
            header: HEADER_LEN as u64,
            chunk: chunk.bytes() as u64,
            overhead: TAG_LEN as u64,
        }
    }

    /// The header bytes at the start of the sealed part `sealed` (its first [`Self::header`]
    /// bytes), for callers that record or compare a part's header; `None` if `sealed` is
    /// shorter than a header.
    #[must_use]
    pub fn header_of<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        sealed.get(..usize::try_from(self.header).ok()?)
    }

    /// Sealed bytes of a full chunk.
    #[must_use]
    pub fn sealed_chunk(&self) -> u64 {
        self.chunk.saturating_add(self.overhead)
    }

    /// Number of chunks of a part of `plaintext_len` bytes.
    #[must_use]
    pub fn chunk_count(&self, plaintext_len: u64) -> u64 {
        plaintext_len.div_ceil(self.chunk.max(1)).max(1)
    }

    /// Sealed length of a part of `plaintext_len` bytes; `None` on overflow or above
    /// [`MAX_CHUNKS`].
    #[must_use]
    pub fn sealed_len(&self, plaintext_len: u64) -> Option<u64> {
        let n = self.chunk_count(plaintext_len);
        if n > MAX_CHUNKS {
            return None;
        }
        self.header
            .checked_add(plaintext_len)?
            .checked_add(self.overhead * n)
    }

    /// Plaintext length of a sealed part of `sealed_len` bytes (header included).
    ///
    /// # Errors
    /// [`FormatError::Truncated`] if no valid part has this length (it ends inside the header
    /// or leaves a chunk shorter than its overhead); [`FormatError::BadChunkLength`] if it would
    /// end in an empty chunk after full ones; [`FormatError::OutOfBounds`] above [`MAX_CHUNKS`].
    pub fn plaintext_len(&self, sealed_len: u64) -> Result<u64, FormatError> {
        let body = sealed_len
            .checked_sub(self.header)
            .ok_or(FormatError::Truncated)?;
        let (c, t) = (self.chunk, self.overhead);
        // A geometry built by hand with no bytes per chunk describes nothing.
        let sc = self.sealed_chunk();
        if sc == 0 {
            return Err(FormatError::BadChunkLength);
        }
        let (full, rem) = (body / sc, body % sc);
        let p = match rem {
            0 if full > 0 => full * c,
            r if r < t => return Err(FormatError::Truncated),
            r if r == t && full > 0 => return Err(FormatError::BadChunkLength),
            r => full * c + (r - t),
        };
        if self.chunk_count(p) > MAX_CHUNKS {
            return Err(FormatError::OutOfBounds);
        }
        Ok(p)
    }

    /// Plans the read of `range` from a part of `plaintext_len` bytes.
    ///
    /// # Errors
    /// [`FormatError::OutOfBounds`] if the range is reversed or ends past the part.
    pub fn plan_range(
        &self,
        plaintext_len: u64,
        range: Range<u64>,
    ) -> Result<ChunkRange, FormatError> {
        if range.start > range.end || range.end > plaintext_len {
            return Err(FormatError::OutOfBounds);
        }
        let (h, c, sc) = (self.header, self.chunk, self.sealed_chunk());
        let n = self.chunk_count(plaintext_len);
        let final_index = u32::try_from(n - 1).map_err(|_| FormatError::OutOfBounds)?;
        if range.is_empty() {
            return Ok(ChunkRange {
                first: 0,
                last: 0,
                final_index,
                sealed: h..h,
                skip: 0,
                len: 0,
            });
        }
        let first = range.start / c;
        let last = (range.end - 1) / c;
        let end = (h + (last + 1) * sc).min(h + plaintext_len + self.overhead * n);
        Ok(ChunkRange {
            first: u32::try_from(first).map_err(|_| FormatError::OutOfBounds)?,
            last: u32::try_from(last).map_err(|_| FormatError::OutOfBounds)?,
            final_index,
            sealed: h + first * sc..end,
            skip: range.start - first * c,
            len: range.end - range.start,
        })
    }
}

/// Number of chunks of a single-layer part of `plaintext_len` bytes.
#[must_use]
pub fn chunk_count(plaintext_len: u64, chunk: ChunkSize) -> u64 {
    Geometry::single(chunk).chunk_count(plaintext_len)
}

/// Sealed length of a single-layer part; see [`Geometry::sealed_len`].
#[must_use]
pub fn sealed_len(plaintext_len: u64, chunk: ChunkSize) -> Option<u64> {
    Geometry::single(chunk).sealed_len(plaintext_len)
}

/// Plaintext length of a single-layer sealed part; see [`Geometry::plaintext_len`].
///
/// # Errors
/// As [`Geometry::plaintext_len`].
pub fn plaintext_len(sealed_len: u64, chunk: ChunkSize) -> Result<u64, FormatError> {
    Geometry::single(chunk).plaintext_len(sealed_len)
}

/// Plans a range read of a single-layer part; see [`Geometry::plan_range`].
///
/// # Errors
/// As [`Geometry::plan_range`].
pub fn plan_range(
    plaintext_len: u64,
    chunk: ChunkSize,
    range: Range<u64>,
) -> Result<ChunkRange, FormatError> {
    Geometry::single(chunk).plan_range(plaintext_len, range)
}

/// What to read and open for a plaintext range of one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkRange {
    /// First chunk to open.
    pub first: u32,
    /// Last chunk to open (inclusive). Meaningless when `len == 0`.
    pub last: u32,
    /// Index of the part's final chunk (opened with the final flag).
    pub final_index: u32,
    /// The sealed bytes of chunks `first..=last`, as offsets into the sealed part (the header
    /// is needed too). Empty when `len == 0`.
    pub sealed: Range<u64>,
    /// Plaintext bytes to drop from the start of chunk `first`.
    pub skip: u64,
    /// Plaintext bytes to return.
    pub len: u64,
}

/// The part layout of a multipart object: part numbers in ascending order with their plaintext
/// sizes, all sealed with one geometry. Parts are stored one after another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartLayout {
    geometry: Geometry,
    parts: Vec<PartNumber>,
    /// Plaintext offset of each part, plus the total at the end.
    plain: Vec<u64>,
    /// Sealed offset of each part, plus the total at the end.
    sealed: Vec<u64>,
}

/// One part's share of a multipart range read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartRange {
    /// Position of the part in the layout (0-based).
    pub position: usize,
    /// Its part number.
    pub part: PartNumber,
    /// Its header bytes, as offsets into the sealed object.
    pub header: Range<u64>,
    /// The chunks to open, with `sealed` as offsets into the sealed object.
    pub chunks: ChunkRange,
}

impl MultipartLayout {
    /// A single-layer layout from `(part number, plaintext size)` pairs.
    ///
    /// # Errors
    /// [`FormatError::OutOfBounds`] if there are no parts, the numbers are not strictly
    /// ascending, part 0 (a single-part object) is not alone, or sizes overflow.
    pub fn new(
        chunk: ChunkSize,
        parts: impl IntoIterator<Item = (PartNumber, u64)>,
    ) -> Result<Self, FormatError> {
        Self::with_geometry(Geometry::single(chunk), parts)
    }

    /// As [`Self::new`] for any geometry (e.g. dual-layer parts).
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn with_geometry(
        geometry: Geometry,
        parts: impl IntoIterator<Item = (PartNumber, u64)>,
    ) -> Result<Self, FormatError> {
        let mut layout = MultipartLayout {
            geometry,
            parts: Vec::new(),
            plain: vec![0],
            sealed: vec![0],
        };
        for (part, size) in parts {
            // Strictly ascending; part 0 (a single-part object) only alone.
            if layout
                .parts
                .last()
                .is_some_and(|p| part <= *p || p.get() == 0)
            {
                return Err(FormatError::OutOfBounds);
            }
            let sealed = geometry.sealed_len(size).ok_or(FormatError::OutOfBounds)?;
            let (p0, s0) = (layout.plaintext_len(), layout.sealed_len());
            layout
                .plain
                .push(p0.checked_add(size).ok_or(FormatError::OutOfBounds)?);
            layout
                .sealed
                .push(s0.checked_add(sealed).ok_or(FormatError::OutOfBounds)?);
            layout.parts.push(part);
        }
        if layout.parts.is_empty() {
            return Err(FormatError::OutOfBounds);
        }
        Ok(layout)
    }

    /// The geometry of every part.
    #[must_use]
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The parts, in order.
    #[must_use]
    pub fn parts(&self) -> &[PartNumber] {
        &self.parts
    }

    /// Total plaintext length.
    #[must_use]
    pub fn plaintext_len(&self) -> u64 {
        self.plain.last().copied().unwrap_or(0)
    }

    /// Total sealed length.
    #[must_use]
    pub fn sealed_len(&self) -> u64 {
        self.sealed.last().copied().unwrap_or(0)
    }

    /// Plaintext size of the part at `position`.
    #[must_use]
    pub fn part_plaintext_len(&self, position: usize) -> Option<u64> {
        Some(self.plain.get(position.checked_add(1)?)? - self.plain.get(position)?)
    }

    /// Sealed byte range of the part at `position` within the object.
    #[must_use]
    pub fn part_sealed_range(&self, position: usize) -> Option<Range<u64>> {
        Some(*self.sealed.get(position)?..*self.sealed.get(position.checked_add(1)?)?)
    }

    /// Plans the read of plaintext `range` of the whole object: one entry per part it touches,
    /// in order. An empty range touches no part.
    ///
    /// # Errors
    /// [`FormatError::OutOfBounds`] if the range is reversed or ends past the object.
    pub fn plan_range(&self, range: Range<u64>) -> Result<Vec<PartRange>, FormatError> {
        if range.start > range.end || range.end > self.plaintext_len() {
            return Err(FormatError::OutOfBounds);
        }
        let mut out = Vec::new();
        for (i, &part) in self.parts.iter().enumerate() {
            let (lo, hi) = (self.plain[i], self.plain[i + 1]);
            let (s, e) = (range.start.max(lo), range.end.min(hi));
            if s >= e {
                continue;
            }
            let mut chunks = self.geometry.plan_range(hi - lo, s - lo..e - lo)?;
            let base = self.sealed[i];
            chunks.sealed = base + chunks.sealed.start..base + chunks.sealed.end;
            let header = base..base + self.geometry.header;
            out.push(PartRange {
                position: i,
                part,
                header,
                chunks,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ChunkSize = ChunkSize::MIN; // 4096

    #[test]
    fn lengths_round_trip_for_every_size_near_chunk_boundaries() {
        for p in (0..3 * 4096 + 40).chain([1 << 20, (1 << 20) + 1, 5 << 30]) {
            let s = sealed_len(p, C).unwrap();
            assert_eq!(plaintext_len(s, C), Ok(p), "p={p}");
        }
        assert_eq!(sealed_len(0, C), Some(76 + 16));
        assert_eq!(sealed_len(4096, C), Some(76 + 4096 + 16));
        assert_eq!(sealed_len(4097, C), Some(76 + 4097 + 32));
    }

    #[test]
    fn impossible_sealed_lengths_are_refused() {
        for s in 0..76 + 16 {
            assert_eq!(plaintext_len(s, C), Err(FormatError::Truncated), "s={s}");
        }
        // A full chunk followed by 1..15 bytes: a chunk shorter than its tag.
        for extra in 1..16 {
            assert_eq!(
                plaintext_len(76 + 4112 + extra, C),
                Err(FormatError::Truncated)
            );
        }
        // A full chunk followed by an empty chunk: never written by the sealer.
        assert_eq!(
            plaintext_len(76 + 4112 + 16, C),
            Err(FormatError::BadChunkLength)
        );
        assert_eq!(plaintext_len(u64::MAX, C), Err(FormatError::OutOfBounds));
    }

    #[test]
    fn ranges_cover_exactly_the_chunks_needed() {
        let r = plan_range(10_000, C, 4095..4097).unwrap();
        assert_eq!(
            (r.first, r.last, r.final_index, r.skip, r.len),
            (0, 1, 2, 4095, 2)
        );
        assert_eq!(r.sealed, 76..76 + 2 * 4112);
        let r = plan_range(10_000, C, 9_999..10_000).unwrap();
        assert_eq!((r.first, r.last), (2, 2));
        assert_eq!(r.sealed.end, sealed_len(10_000, C).unwrap());
        assert_eq!(plan_range(10, C, 5..11), Err(FormatError::OutOfBounds));
        let reversed = core::ops::Range { start: 6, end: 5 };
        assert_eq!(plan_range(10, C, reversed), Err(FormatError::OutOfBounds));
        assert_eq!(plan_range(0, C, 0..0).unwrap().len, 0);
    }

    #[test]
    fn multipart_ranges_split_across_parts() {
        let p = |n| PartNumber::new(n).unwrap();
        let l = MultipartLayout::new(C, [(p(1), 5000), (p(2), 0), (p(5), 3000)]).unwrap();
        assert_eq!(l.plaintext_len(), 8000);
        let s1 = sealed_len(5000, C).unwrap();
        let s2 = sealed_len(0, C).unwrap();
        assert_eq!(l.sealed_len(), s1 + s2 + sealed_len(3000, C).unwrap());
        let plan = l.plan_range(4999..5001).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(
            (plan[0].part, plan[0].chunks.first, plan[0].chunks.len),
            (p(1), 1, 1)
        );
        assert_eq!(
            (plan[1].part, plan[1].position, plan[1].chunks.skip),
            (p(5), 2, 0)
        );
        assert_eq!(plan[1].header, s1 + s2..s1 + s2 + 76);
        assert!(MultipartLayout::new(C, [(p(2), 1), (p(2), 1)]).is_err());
        assert!(MultipartLayout::new(C, []).is_err());
        let single = MultipartLayout::new(C, [(PartNumber::SINGLE, 10)]).unwrap();
        assert_eq!(single.plan_range(3..4).unwrap()[0].part, PartNumber::SINGLE);
        assert!(MultipartLayout::new(C, [(PartNumber::SINGLE, 1), (p(1), 1)]).is_err());
    }

    #[test]
    fn hand_built_geometries_and_positions_never_panic() {
        let zero = Geometry {
            header: 0,
            chunk: 0,
            overhead: 0,
        };
        assert_eq!(zero.chunk_count(10), 10);
        assert!(zero.plaintext_len(10).is_err());
        let max = Geometry {
            header: u64::MAX,
            chunk: u64::MAX,
            overhead: u64::MAX,
        };
        assert!(max.sealed_len(u64::MAX).is_none());
        assert!(max.plaintext_len(u64::MAX).is_err());
        let l = MultipartLayout::new(C, [(PartNumber::SINGLE, 10)]).unwrap();
        for pos in [1, 2, usize::MAX] {
            assert_eq!(l.part_sealed_range(pos), None);
            assert_eq!(l.part_plaintext_len(pos), None);
        }
    }
}
