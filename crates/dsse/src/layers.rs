//! The dual-layer chunk codec: every chunk sealed by the inner layer, then by the outer layer,
//! while it is hot in cache; opened in the reverse order.
//!
//! A dual-layer part is two sealed-stream v1 headers and then the chunks:
//!
//! ```text
//!  0               76              152
//!  +---------------+---------------+-------------------------------------------------+
//!  | outer header  | inner header  | chunk 0 | chunk 1 | … | chunk n−1               |
//!  | flg = 1       | flg = 0       |                                                 |
//!  +---------------+---------------+-------------------------------------------------+
//!  chunk i:
//!  +------------------------------------------+--------------+--------------+
//!  | c2: outer ciphertext (C bytes; last 0..=C)| t1: inner tag| t2: outer tag|
//!  +------------------------------------------+--------------+--------------+
//! ```
//!
//! * inner layer: a sealed stream v1 under the inner data key and the caller's binding:
//!   `(c1, t1) = GCM(k_inner_i, nonce_i, AAD = inner header, plaintext_i)`;
//! * outer layer: a sealed stream v1 (header flag `outer`) under the outer data key and the
//!   binding `"s3seal/dsse/v1" ‖ inner header ‖ caller's binding`, so it binds the inner header:
//!   `(c2, t2) = GCM(k_outer_i, nonce_i, AAD = outer header ‖ t1, c1)`.
//!
//! Each layer has its own data key, salt, subkey and key commitment; both commitments are
//! checked before any chunk is opened. The inner tag is bound into the outer AAD, so neither
//! tag can be changed without failing the outer layer.
//!
//! `s3seal-gcm` knows only a generic *layer part* (header flag bit 0, extra AAD per chunk);
//! everything DSSE — the geometry, the header length, the outer binding and the outer AAD — is
//! defined here, once.

use s3seal_gcm::{
    ChunkOpener, ChunkSealer, ChunkSize, DataKey, Error, FormatError, Geometry, HEADER_LEN,
    PartNumber, PartOpener, PartSealer, TAG_LEN,
};
use subtle::ConstantTimeEq;

use crate::error::DsseError;

/// Length of a dual-layer part's header: the outer then the inner sealed-stream header.
pub const DUAL_HEADER_LEN: usize = 2 * HEADER_LEN;
/// Bytes added to each chunk: the inner tag, then the outer tag.
const OVERHEAD: usize = 2 * TAG_LEN;
const OUTER_LABEL: &[u8] = b"s3seal/dsse/v1";

/// The outer layer's binding: label ‖ inner header ‖ caller's binding.
fn outer_binding(inner_header: &[u8], binding: &[u8]) -> Vec<u8> {
    [OUTER_LABEL, inner_header, binding].concat()
}

/// The extra AAD of outer chunk `i` (after the outer header, which the layer part binds
/// itself): the inner layer's tag of chunk `i`.
fn outer_extra_aad(inner_tag: &[u8; TAG_LEN]) -> &[u8] {
    inner_tag
}

/// The geometry of a dual-layer part with chunk size `chunk`: [`DUAL_HEADER_LEN`] (152) header
/// bytes, 32 bytes of tags per chunk. Use it with [`Geometry::sealed_len`],
/// [`Geometry::plan_range`], [`Geometry::header_of`] and [`s3seal_gcm::MultipartLayout::with_geometry`].
#[must_use]
pub fn geometry(chunk: ChunkSize) -> Geometry {
    Geometry {
        header: DUAL_HEADER_LEN as u64,
        chunk: chunk.bytes() as u64,
        overhead: OVERHEAD as u64,
    }
}

/// The header of the dual-layer part `sealed` (its first [`DUAL_HEADER_LEN`] bytes: outer then
/// inner header), for callers that record or compare a part's header; `None` if `sealed` is
/// shorter.
#[must_use]
pub fn part_header(sealed: &[u8]) -> Option<&[u8]> {
    sealed.get(..DUAL_HEADER_LEN)
}

/// Two layers under one key would be one layer: refuse.
fn check_distinct(inner: &DataKey, outer: &DataKey) -> Result<(), DsseError> {
    if bool::from(inner.as_bytes().ct_eq(outer.as_bytes())) {
        return Err(DsseError::SameKeys);
    }
    Ok(())
}

/// Seals the chunks of one dual-layer part.
#[derive(Debug)]
pub struct DualSealer {
    inner: PartSealer,
    outer: PartSealer,
    header: [u8; DUAL_HEADER_LEN],
}

impl DualSealer {
    /// A sealer for `part` of the object identified by `binding`, with a fresh random salt per
    /// layer.
    ///
    /// # Errors
    /// [`DsseError::SameKeys`] if the two keys are equal; [`Error::Random`].
    pub fn new(
        inner_key: &DataKey,
        outer_key: &DataKey,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Self, DsseError> {
        check_distinct(inner_key, outer_key)?;
        let inner = PartSealer::new(inner_key, binding, part, chunk)?;
        let outer_binding = outer_binding(inner.header(), binding);
        let outer = PartSealer::new_layer(outer_key, &outer_binding, part, chunk)?;
        let mut header = [0u8; DUAL_HEADER_LEN];
        header[..HEADER_LEN].copy_from_slice(outer.header());
        header[HEADER_LEN..].copy_from_slice(inner.header());
        Ok(DualSealer {
            inner,
            outer,
            header,
        })
    }

    /// The 152 header bytes (outer header, then inner header).
    #[must_use]
    pub fn header(&self) -> &[u8; DUAL_HEADER_LEN] {
        &self.header
    }
}

impl ChunkSealer for DualSealer {
    fn header_bytes(&self) -> &[u8] {
        &self.header
    }

    fn geometry(&self) -> Geometry {
        geometry(self.inner.chunk_size())
    }

    fn seal_chunk_once_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error> {
        let len = input.len();
        if output.len() != len + OVERHEAD {
            return Err(Error::LengthMismatch);
        }
        // Inner layer: plaintext → c1 ‖ t1, straight into the output.
        self.inner
            .seal_chunk_once_to(index, last, input, &mut output[..len + TAG_LEN])?;
        let (c, tags) = output.split_at_mut(len);
        let (t1, t2) = tags.split_at_mut(TAG_LEN);
        let mut inner_tag = [0u8; TAG_LEN];
        inner_tag.copy_from_slice(t1);
        // Outer layer: c1 → c2 in place while it is still in cache; t1 bound in the AAD.
        let outer_tag = self.outer.seal_layer_chunk_once_in_place(
            index,
            last,
            c,
            outer_extra_aad(&inner_tag),
        )?;
        t2.copy_from_slice(&outer_tag);
        Ok(())
    }
}

/// Opens the chunks of one dual-layer part, after both layers' commitments were checked.
#[derive(Debug)]
pub struct DualOpener {
    inner: PartOpener,
    outer: PartOpener,
}

impl DualOpener {
    /// Parses the 152-byte `header`, checks both layers' format, part number and key
    /// commitment (outer first, which also binds the inner header).
    ///
    /// # Errors
    /// [`DsseError::SameKeys`] if the keys are equal; [`FormatError::Truncated`] for a short
    /// header; [`FormatError::LayerMismatch`] if a layer is missing or the layers are swapped;
    /// [`FormatError::CommitmentMismatch`] for a wrong key, binding or inner header; other
    /// header [`FormatError`]s.
    pub fn new(
        inner_key: &DataKey,
        outer_key: &DataKey,
        binding: &[u8],
        expected_part: PartNumber,
        header: &[u8],
    ) -> Result<Self, DsseError> {
        check_distinct(inner_key, outer_key)?;
        let header = header
            .get(..DUAL_HEADER_LEN)
            .ok_or(Error::Format(FormatError::Truncated))?;
        let (outer_h, inner_h) = header.split_at(HEADER_LEN);
        let outer_binding = outer_binding(inner_h, binding);
        let outer = PartOpener::new_layer(outer_key, &outer_binding, expected_part, outer_h)?;
        let inner = PartOpener::new(inner_key, binding, expected_part, inner_h)?;
        if inner.chunk_size() != outer.chunk_size() {
            return Err(Error::Format(FormatError::BadChunkSize(outer.chunk_size().log2())).into());
        }
        Ok(DualOpener { inner, outer })
    }
}

impl ChunkOpener for DualOpener {
    fn geometry(&self) -> Geometry {
        geometry(self.inner.chunk_size())
    }

    fn open_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error> {
        let len = input
            .len()
            .checked_sub(OVERHEAD)
            .ok_or(FormatError::BadChunkLength)?;
        let (c2, tags) = input.split_at(len);
        let mut t1 = [0u8; TAG_LEN];
        let mut t2 = [0u8; TAG_LEN];
        t1.copy_from_slice(&tags[..TAG_LEN]);
        t2.copy_from_slice(&tags[TAG_LEN..]);
        // Outer layer: check that c2 fits the position and `output` fits c2, verify c2 under t2
        // (AAD binds t1), decrypt into output → c1.
        self.outer
            .open_layer_chunk_to(index, last, c2, output, outer_extra_aad(&t1), &t2)?;
        // Inner layer, in place while c1 is hot: verify under t1, decrypt → plaintext.
        self.inner
            .open_chunk_in_place_separate_tag(index, last, output, &t1)
    }
}
