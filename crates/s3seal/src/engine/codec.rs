//! The codec of one object: the single value that seals and opens its bytes, chosen once from
//! its keys and used by the buffer, stream, range and part paths alike.
//!
//! | mode | codec | sealed part |
//! |---|---|---|
//! | SSE-S3, SSE-KMS, SSE-C | [`Codec::Single`] | `s3seal-gcm` sealed stream (76-byte header, 16 bytes of tag per chunk) |
//! | DSSE-KMS | [`Codec::Dual`] | `s3seal-dsse` two-layer part |
//! | FSx | [`Codec::Fsx`] | the plaintext as given (no header, no tag) |
//! | SSE-C without the customer key | [`Codec::MacOnly`] | refuses every seal and open |
//!
//! [`Codec::MacOnly`] is what an SSE-C envelope unwraps to when the request carries no customer
//! key: its MAC key is server-managed, so CompleteMultipartUpload can authenticate and update
//! the envelope, but the data can be neither read nor written. The refusal lives here, on every
//! data path, not only in the policy checks above.

use bytes::Bytes;
use s3seal_dsse::{DsseKeys, DualOpener, DualSealer};
use s3seal_gcm::{
    ChunkOpener, ChunkSealer, ChunkSize, DataKey, Geometry, MultipartLayout, PartNumber,
    PartOpener, PartSealer,
};

use crate::envelope::Mode;
use crate::error::EngineError;

/// The layout of one part of an object in `mode`: header length, chunk size, per-chunk
/// overhead. It follows from the mode alone, so a reader can plan before unwrapping keys.
pub(crate) fn geometry(mode: Mode, chunk: ChunkSize) -> Geometry {
    match mode {
        Mode::DsseKms => s3seal_dsse::geometry(chunk),
        Mode::Fsx => Geometry {
            header: 0,
            chunk: chunk.bytes() as u64,
            overhead: 0,
        },
        _ => Geometry::single(chunk),
    }
}

/// How one object's bytes are sealed and opened (see the module header).
pub(crate) enum Codec {
    /// One AES-256-GCM layer under the object's data key.
    Single(DataKey),
    /// Two independent layers (DSSE-KMS).
    Dual(DsseKeys),
    /// Stored as given: FSx access points, whose file system encrypts.
    Fsx,
    /// An SSE-C object or upload opened without its customer key: no data path.
    MacOnly,
}

/// The sealer of one part, whatever the codec.
#[expect(
    clippy::large_enum_variant,
    reason = "one per part, built in place and never copied in a loop; boxing would only add an allocation"
)]
pub(crate) enum Sealer {
    Single(PartSealer),
    Dual(DualSealer),
    Plain(Plain),
}

/// The opener of one part, whatever the codec.
#[expect(
    clippy::large_enum_variant,
    reason = "one per part, built in place and never copied in a loop; boxing would only add an allocation"
)]
pub(crate) enum Opener {
    Single(PartOpener),
    Dual(DualOpener),
    Plain(Plain),
}

/// The identity codec of FSx data: no header, no overhead, chunk bytes copied as they are.
pub(crate) struct Plain(Geometry);

impl Plain {
    fn copy(&self, input: &[u8], output: &mut [u8]) -> Result<(), s3seal_gcm::Error> {
        if input.len() as u64 > self.0.chunk || output.len() != input.len() {
            return Err(s3seal_gcm::Error::LengthMismatch);
        }
        output.copy_from_slice(input);
        Ok(())
    }
}

impl Codec {
    /// A sealer for a new upload of `part`, with fresh salts. Each part (and each re-upload)
    /// gets its own: a sealer is never reused across uploads.
    pub(crate) fn sealer(
        &self,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Sealer, EngineError> {
        Ok(match self {
            Codec::Single(k) => Sealer::Single(PartSealer::new(k, binding, part, chunk)?),
            Codec::Dual(d) => Sealer::Dual(d.sealer(binding, part, chunk)?),
            Codec::Fsx => Sealer::Plain(Plain(geometry(Mode::Fsx, chunk))),
            Codec::MacOnly => return Err(EngineError::CustomerKeyRequired),
        })
    }

    /// The opener of `part` from its `header` bytes (empty for FSx), after checking the key
    /// commitment. `chunk` is the envelope's chunk size (FSx has no header to name it).
    pub(crate) fn opener(
        &self,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        header: &[u8],
    ) -> Result<Opener, EngineError> {
        Ok(match self {
            Codec::Single(k) => Opener::Single(PartOpener::new(k, binding, part, header)?),
            Codec::Dual(d) => Opener::Dual(d.opener(binding, part, header)?),
            Codec::Fsx => Opener::Plain(Plain(geometry(Mode::Fsx, chunk))),
            Codec::MacOnly => return Err(EngineError::CustomerKeyRequired),
        })
    }

    /// Seals `data` as `part` into a new buffer, chunks in parallel on the current pool.
    pub(crate) fn seal(
        &self,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        data: &[u8],
    ) -> Result<Bytes, EngineError> {
        Ok(s3seal_gcm::seal_with(
            self.sealer(binding, part, chunk)?,
            data,
        )?)
    }

    /// Seals `data` as `part` into `out`, which is resized to the sealed length (its capacity
    /// is reused; bytes already there are overwritten, not zeroed first), chunks in parallel on
    /// the current pool.
    pub(crate) fn seal_into(
        &self,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EngineError> {
        let sealer = self.sealer(binding, part, chunk)?;
        let len = sealer
            .geometry()
            .sealed_len(data.len() as u64)
            .ok_or(EngineError::LengthMismatch)?;
        resize_for_overwrite(out, super::to_usize(len)?);
        s3seal_gcm::seal_part_once_into(&sealer, data, out).inspect_err(|_| out.clear())?;
        Ok(())
    }

    /// Opens plaintext `range` of an object held in memory (`sealed`: its parts back to back,
    /// as `layout` says) into `out` (exactly the range's length), opening only the chunks that
    /// cover it. `check(position, header)` vets each part's header before it is used. Empty
    /// parts inside the range or at its edges (every part of an empty object, every empty part
    /// of a whole-object read) have no byte to read, but their one chunk is still
    /// authenticated. On failure `out` may hold authenticated plaintext of other parts: the
    /// caller wipes it.
    #[expect(
        clippy::too_many_arguments,
        reason = "the object's identity, layout, range, bytes, header check and output: one call site"
    )]
    pub(crate) fn open_range_into(
        &self,
        binding: &[u8],
        chunk: ChunkSize,
        layout: &MultipartLayout,
        range: core::ops::Range<u64>,
        sealed: &[u8],
        check: impl Fn(usize, &[u8]) -> Result<(), EngineError> + Sync,
        out: &mut [u8],
    ) -> Result<(), EngineError> {
        if matches!(self, Codec::MacOnly) {
            // Refused here too: the opener errors below are reported as authentication failures.
            return Err(EngineError::CustomerKeyRequired);
        }
        if sealed.len() as u64 != layout.sealed_len() {
            return Err(EngineError::LengthMismatch);
        }
        if layout.plaintext_len() != 0 {
            s3seal_gcm::open_object_range_into(
                layout,
                range.clone(),
                sealed,
                |i, part, header| {
                    check(i, header)
                        .and_then(|()| self.opener(binding, part, chunk, header))
                        .map_err(|_| s3seal_gcm::Error::Authentication)
                },
                out,
            )?;
        }
        // An empty part holds no byte of any range, so the plan above skips it: authenticate
        // each one inside the range or at its edges too (header and its one chunk), so that a
        // whole-object read authenticates every stored byte, as the streaming read does.
        let header = super::to_usize(layout.geometry().header)?;
        let mut offset = 0u64;
        for (i, &part) in layout.parts().iter().enumerate() {
            let len = layout
                .part_plaintext_len(i)
                .ok_or(EngineError::LengthMismatch)?;
            if len == 0 && range.start <= offset && offset <= range.end {
                let r = layout
                    .part_sealed_range(i)
                    .ok_or(EngineError::LengthMismatch)?;
                let bytes = &sealed[super::to_usize(r.start)?..super::to_usize(r.end)?];
                let (head, body) = bytes.split_at(header.min(bytes.len()));
                check(i, head)?;
                s3seal_gcm::open_with(&self.opener(binding, part, chunk, head)?, body)?;
            }
            offset = offset.saturating_add(len);
        }
        Ok(())
    }
}

/// Makes `buf` exactly `len` bytes long for a writer that overwrites every byte: shrinking or
/// keeping the length touches nothing, growing zero-fills only the new tail.
pub(crate) fn resize_for_overwrite(buf: &mut Vec<u8>, len: usize) {
    buf.truncate(len);
    buf.resize(len, 0);
}

impl ChunkSealer for Sealer {
    fn header_bytes(&self) -> &[u8] {
        match self {
            Sealer::Single(s) => s.header_bytes(),
            Sealer::Dual(s) => s.header_bytes(),
            Sealer::Plain(_) => &[],
        }
    }

    fn geometry(&self) -> Geometry {
        match self {
            Sealer::Single(s) => s.geometry(),
            Sealer::Dual(s) => s.geometry(),
            Sealer::Plain(p) => p.0,
        }
    }

    fn seal_chunk_once_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), s3seal_gcm::Error> {
        match self {
            Sealer::Single(s) => s.seal_chunk_once_to(index, last, input, output),
            Sealer::Dual(s) => s.seal_chunk_once_to(index, last, input, output),
            Sealer::Plain(p) => p.copy(input, output),
        }
    }
}

impl ChunkOpener for Opener {
    fn geometry(&self) -> Geometry {
        match self {
            Opener::Single(o) => o.geometry(),
            Opener::Dual(o) => o.geometry(),
            Opener::Plain(p) => p.0,
        }
    }

    fn open_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), s3seal_gcm::Error> {
        match self {
            Opener::Single(o) => o.open_chunk_to(index, last, input, output),
            Opener::Dual(o) => o.open_chunk_to(index, last, input, output),
            Opener::Plain(p) => p.copy(input, output),
        }
    }
}
