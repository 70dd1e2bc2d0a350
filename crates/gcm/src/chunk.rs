//! The stateless chunk primitive: seal or open chunk `i` of one sealed part.
//!
//! A [`PartSealer`] or [`PartOpener`] holds the part's subkey and header; sealing chunk `i`
//! depends on its arguments only (index, final flag, bytes), so chunks may be sealed on any
//! thread in any order. [`ChunkSealer`] / [`ChunkOpener`] name that contract, so that the buffer
//! and streaming APIs also drive other codecs built from sealed streams (the two layers of
//! `s3seal-dsse`). The wire layout is in `format.rs`; the subkey derivation in `kdf.rs`.
//!
//! # Layers
//! A part whose header carries the layer flag is a *layer* over another codec: each of its
//! chunks authenticates, after the header, extra AAD the caller supplies per chunk
//! ([`PartSealer::new_layer`], [`PartSealer::seal_layer_chunk_once_in_place`],
//! [`PartOpener::open_layer_chunk_to`]). What the extra AAD is, and how the layers are stacked,
//! is the business of the crate that stacks them (`s3seal-dsse`); this module only keeps
//! layer and plain parts apart ([`FormatError::LayerMismatch`]).

use subtle::ConstantTimeEq;

use crate::aead::Aes256Gcm;
use crate::error::{Error, FormatError};
use crate::format::{ChunkSize, HEADER_LEN, Header, PartNumber, SALT_LEN, TAG_LEN, chunk_nonce};
use crate::kdf::derive_part_key;
use crate::key::{DataKey, fill_random};
use crate::layout::Geometry;

/// Most bytes of extra AAD a layer chunk may bind (after the 76 header bytes).
pub const MAX_LAYER_AAD: usize = 64;

/// The stateless chunk primitive on the sealing side: seal chunk `index` of one part from its
/// arguments only, on any thread in any order. [`PartSealer`] implements it for one sealed
/// stream; `s3seal-dsse` for two layers. The buffer and streaming APIs drive it.
///
/// # Security
/// The chunk nonce is derived from (`index`, `last`) under the sealer's subkey: a sealer must
/// seal each index **once**. Sealing different bytes at one index with one sealer reuses a
/// nonce, which breaks GCM. Hence the `_once` in the method name; the whole-part functions that
/// take a sealer by value ([`crate::seal_with`], [`crate::Encryptor::with_sealer`]) enforce it.
pub trait ChunkSealer: Sync {
    /// The bytes written before the first chunk.
    fn header_bytes(&self) -> &[u8];
    /// Header length, chunk size and per-chunk overhead.
    fn geometry(&self) -> Geometry;
    /// Seals chunk `index` from `input` into `output` (`input.len()` + overhead bytes). Call it
    /// at most once per `index` on one sealer (see the trait's Security section).
    ///
    /// # Errors
    /// [`FormatError::BadChunkLength`] if `input` does not fit the position;
    /// [`Error::LengthMismatch`] for a wrong `output` size.
    fn seal_chunk_once_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error>;
}

/// The opening side of [`ChunkSealer`], for a part whose header has already been checked.
pub trait ChunkOpener: Sync {
    /// Header length, chunk size and per-chunk overhead.
    fn geometry(&self) -> Geometry;
    /// Opens chunk `index` from `input` into `output` (`input.len()` − overhead bytes).
    ///
    /// # Errors
    /// [`Error::Authentication`] (output zeroed); [`FormatError::BadChunkLength`] if the length
    /// cannot be a chunk at this position; [`Error::LengthMismatch`] for a wrong `output` size.
    fn open_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error>;
}

/// Checks that a chunk of `len` plaintext bytes fits position (`index`, `last`) when full chunks
/// hold `chunk` bytes: non-final chunks are full, the final one holds 1..=`chunk` bytes, or 0
/// only as the sole chunk of an empty part.
///
/// # Errors
/// [`FormatError::BadChunkLength`].
fn check_chunk_len(chunk: u64, index: u32, last: bool, len: usize) -> Result<(), Error> {
    let len = len as u64;
    let ok = if last {
        len <= chunk && (len > 0 || index == 0)
    } else {
        len == chunk
    };
    if ok {
        Ok(())
    } else {
        Err(FormatError::BadChunkLength.into())
    }
}

/// AAD of a layer chunk: the header, then the caller's extra AAD of that chunk.
struct LayerAad {
    buf: [u8; HEADER_LEN + MAX_LAYER_AAD],
    len: usize,
}

impl LayerAad {
    fn new(header: &[u8; HEADER_LEN], extra: &[u8]) -> Result<Self, Error> {
        if extra.len() > MAX_LAYER_AAD {
            return Err(Error::TooLong);
        }
        let mut buf = [0u8; HEADER_LEN + MAX_LAYER_AAD];
        buf[..HEADER_LEN].copy_from_slice(header);
        buf[HEADER_LEN..HEADER_LEN + extra.len()].copy_from_slice(extra);
        Ok(LayerAad {
            buf,
            len: HEADER_LEN + extra.len(),
        })
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Seals the chunks of one part. Create one per part (and per re-upload of a part): each gets a
/// fresh random salt, hence a fresh subkey, so no (key, nonce) pair can repeat as long as each
/// chunk index is sealed once.
pub struct PartSealer {
    aead: Aes256Gcm,
    header: [u8; HEADER_LEN],
    fields: Header,
}

impl core::fmt::Debug for PartSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartSealer")
            .field("part", &self.fields.part)
            .field("chunk", &self.fields.chunk_size)
            .field("layer", &self.fields.layer)
            .finish_non_exhaustive()
    }
}

impl PartSealer {
    /// A sealer for `part` under `key`, bound to `binding` (the object's identity), with a new
    /// random salt.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS random generator fails.
    pub fn new(
        key: &DataKey,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Self, Error> {
        Self::with_random_salt(key, binding, part, chunk, false)
    }

    /// A sealer for a layer part (header flag `layer` set): each chunk binds extra AAD given
    /// per chunk. Use [`Self::seal_layer_chunk_once_in_place`]; the [`ChunkSealer`] methods and
    /// [`Self::seal_chunk_once_in_place`] refuse a layer sealer.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS random generator fails.
    pub fn new_layer(
        key: &DataKey,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Self, Error> {
        Self::with_random_salt(key, binding, part, chunk, true)
    }

    fn with_random_salt(
        key: &DataKey,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        layer: bool,
    ) -> Result<Self, Error> {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        Ok(Self::with_salt(key, binding, part, chunk, layer, salt))
    }

    /// As [`Self::new`] with a given salt: for golden vectors only, where the salt is fixed.
    pub(crate) fn with_salt(
        key: &DataKey,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        layer: bool,
        salt: [u8; SALT_LEN],
    ) -> Self {
        let mut fields = Header {
            chunk_size: chunk,
            layer,
            part,
            salt,
            commitment: [0; crate::format::COMMITMENT_LEN],
        };
        let unsigned = fields.write();
        let (aead, commitment) = derive_part_key(key, &salt, &unsigned[4..12], binding);
        fields.commitment = commitment;
        PartSealer {
            aead,
            header: fields.write(),
            fields,
        }
    }

    /// The header to write before the chunks.
    #[must_use]
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// The plaintext chunk size named in the header.
    #[must_use]
    pub fn chunk_size(&self) -> ChunkSize {
        self.fields.chunk_size
    }

    /// The part number.
    #[must_use]
    pub fn part(&self) -> PartNumber {
        self.fields.part
    }

    /// Seals chunk `index` in place: `buf` holds the plaintext followed by 16 bytes of room that
    /// receive the tag. Call it at most once per `index` on one sealer: sealing different bytes
    /// at one index reuses a nonce.
    ///
    /// # Errors
    /// [`FormatError::LayerMismatch`] on a layer sealer; [`FormatError::BadChunkLength`] if the
    /// plaintext does not fit the position.
    pub fn seal_chunk_once_in_place(
        &self,
        index: u32,
        last: bool,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        if self.fields.layer {
            return Err(FormatError::LayerMismatch.into());
        }
        let len = buf
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(FormatError::BadChunkLength)?;
        check_chunk_len(self.geometry().chunk, index, last, len)?;
        let (pt, tag_out) = buf.split_at_mut(len);
        let nonce = chunk_nonce(self.fields.part, index, last);
        let tag = self
            .aead
            .seal_in_place_separate_tag(&nonce, &self.header, pt)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Layer part: seals chunk `index` in place with AAD = this header ‖ `extra_aad` (at most
    /// [`MAX_LAYER_AAD`] bytes), and returns the tag. Call it at most once per `index` on one
    /// sealer: sealing different bytes at one index reuses a nonce.
    ///
    /// # Errors
    /// [`FormatError::LayerMismatch`] on a plain sealer; [`FormatError::BadChunkLength`];
    /// [`Error::TooLong`] for more than [`MAX_LAYER_AAD`] bytes of extra AAD.
    pub fn seal_layer_chunk_once_in_place(
        &self,
        index: u32,
        last: bool,
        buf: &mut [u8],
        extra_aad: &[u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        if !self.fields.layer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, buf.len())?;
        let aad = LayerAad::new(&self.header, extra_aad)?;
        let nonce = chunk_nonce(self.fields.part, index, last);
        self.aead
            .seal_in_place_separate_tag(&nonce, aad.as_slice(), buf)
    }
}

impl ChunkSealer for PartSealer {
    fn header_bytes(&self) -> &[u8] {
        &self.header
    }

    fn geometry(&self) -> Geometry {
        Geometry::single(self.fields.chunk_size)
    }

    fn seal_chunk_once_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error> {
        if self.fields.layer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, input.len())?;
        if output.len() != input.len() + TAG_LEN {
            return Err(Error::LengthMismatch);
        }
        let (ct, tag_out) = output.split_at_mut(input.len());
        let nonce = chunk_nonce(self.fields.part, index, last);
        let tag = self.aead.seal_to(&nonce, &self.header, input, ct)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }
}

/// Opens the chunks of one part, after its header's commitment has been checked.
pub struct PartOpener {
    aead: Aes256Gcm,
    header: [u8; HEADER_LEN],
    fields: Header,
}

impl core::fmt::Debug for PartOpener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartOpener")
            .field("part", &self.fields.part)
            .field("chunk", &self.fields.chunk_size)
            .field("layer", &self.fields.layer)
            .finish_non_exhaustive()
    }
}

impl PartOpener {
    /// Parses `header` (the first 76 bytes of a sealed part), checks that it is a plain (not
    /// layer) part numbered `expected_part`, derives the subkey and checks the key commitment
    /// in constant time.
    ///
    /// # Errors
    /// Any [`FormatError`] of [`Header::read`]; [`FormatError::PartNumberMismatch`];
    /// [`FormatError::LayerMismatch`]; [`FormatError::CommitmentMismatch`] for a wrong key or
    /// wrong binding — before any chunk is opened.
    pub fn new(
        key: &DataKey,
        binding: &[u8],
        expected_part: PartNumber,
        header: &[u8],
    ) -> Result<Self, Error> {
        Self::open(key, binding, expected_part, false, header)
    }

    /// As [`Self::new`] for a layer part (header flag `layer` set); open its chunks with
    /// [`Self::open_layer_chunk_to`].
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn new_layer(
        key: &DataKey,
        binding: &[u8],
        expected_part: PartNumber,
        header: &[u8],
    ) -> Result<Self, Error> {
        Self::open(key, binding, expected_part, true, header)
    }

    fn open(
        key: &DataKey,
        binding: &[u8],
        expected_part: PartNumber,
        layer: bool,
        header: &[u8],
    ) -> Result<Self, Error> {
        let fields = Header::read(header)?;
        if fields.part != expected_part {
            return Err(FormatError::PartNumberMismatch {
                expected: expected_part.get(),
                found: fields.part.get(),
            }
            .into());
        }
        if fields.layer != layer {
            return Err(FormatError::LayerMismatch.into());
        }
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(&header[..HEADER_LEN]);
        let (aead, commitment) = derive_part_key(key, &fields.salt, &bytes[4..12], binding);
        if !bool::from(commitment.ct_eq(&fields.commitment)) {
            return Err(FormatError::CommitmentMismatch.into());
        }
        Ok(PartOpener {
            aead,
            header: bytes,
            fields,
        })
    }

    /// The parsed header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.fields
    }

    /// The plaintext chunk size named in the header.
    #[must_use]
    pub fn chunk_size(&self) -> ChunkSize {
        self.fields.chunk_size
    }

    /// Opens chunk `index` in place; `buf` is ciphertext then tag. Returns the plaintext prefix.
    ///
    /// # Errors
    /// As [`ChunkOpener::open_chunk_to`]; on failure `buf` is zeroed.
    pub fn open_chunk_in_place<'a>(
        &self,
        index: u32,
        last: bool,
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let len = buf
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(FormatError::BadChunkLength)?;
        let (ct, tag) = buf.split_at_mut(len);
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag);
        self.open_chunk_in_place_separate_tag(index, last, ct, &t)?;
        Ok(ct)
    }

    /// Opens chunk `index` in place; `buf` is the ciphertext and `tag` its tag.
    ///
    /// # Errors
    /// As [`ChunkOpener::open_chunk_to`]; on failure `buf` is zeroed.
    pub fn open_chunk_in_place_separate_tag(
        &self,
        index: u32,
        last: bool,
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        if self.fields.layer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, buf.len())?;
        let nonce = chunk_nonce(self.fields.part, index, last);
        self.aead.open_in_place(&nonce, &self.header, buf, tag)
    }

    /// Layer part: verifies `tag` over `input` (the ciphertext of chunk `index`) with AAD =
    /// this header ‖ `extra_aad`, and decrypts it into `output` (`input.len()` bytes).
    ///
    /// # Errors
    /// [`FormatError::LayerMismatch`] on a plain opener; [`FormatError::BadChunkLength`];
    /// [`Error::TooLong`] for more than [`MAX_LAYER_AAD`] bytes of extra AAD;
    /// [`Error::LengthMismatch`] for a wrong `output` size; [`Error::Authentication`] (output
    /// zeroed).
    pub fn open_layer_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
        extra_aad: &[u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        if !self.fields.layer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, input.len())?;
        let aad = LayerAad::new(&self.header, extra_aad)?;
        let nonce = chunk_nonce(self.fields.part, index, last);
        self.aead
            .open_to(&nonce, aad.as_slice(), input, output, tag)
    }
}

impl ChunkOpener for PartOpener {
    fn geometry(&self) -> Geometry {
        Geometry::single(self.fields.chunk_size)
    }

    fn open_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error> {
        if self.fields.layer {
            return Err(FormatError::LayerMismatch.into());
        }
        let len = input
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(FormatError::BadChunkLength)?;
        check_chunk_len(self.geometry().chunk, index, last, len)?;
        if output.len() != len {
            return Err(Error::LengthMismatch);
        }
        let (ct, tag) = input.split_at(len);
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag);
        let nonce = chunk_nonce(self.fields.part, index, last);
        self.aead.open_to(&nonce, &self.header, ct, output, &t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes([7; 32])
    }

    /// A layer part binds the extra AAD of each chunk, refuses the plain chunk methods, and a
    /// plain part refuses the layer ones; the two kinds never open as each other.
    #[test]
    fn layer_parts_bind_their_extra_aad_and_stay_apart_from_plain_parts() {
        let (ctx, part, chunk) = (b"obj".as_slice(), PartNumber::SINGLE, ChunkSize::MIN);
        let sealer = PartSealer::new_layer(&key(), ctx, part, chunk).unwrap();
        let pt = vec![0x5a; 100];
        let mut buf = pt.clone();
        let tag = sealer
            .seal_layer_chunk_once_in_place(0, true, &mut buf, b"extra")
            .unwrap();
        let opener = PartOpener::new_layer(&key(), ctx, part, sealer.header()).unwrap();
        let mut out = vec![0u8; buf.len()];
        opener
            .open_layer_chunk_to(0, true, &buf, &mut out, b"extra", &tag)
            .unwrap();
        assert_eq!(out, pt);
        assert_eq!(
            opener.open_layer_chunk_to(0, true, &buf, &mut out, b"extrb", &tag),
            Err(Error::Authentication)
        );
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(
            opener.open_layer_chunk_to(0, true, &buf, &mut out, &[0; MAX_LAYER_AAD + 1], &tag),
            Err(Error::TooLong)
        );
        // Layer and plain parts do not mix, in either direction.
        let layer_mismatch = Err(Error::Format(FormatError::LayerMismatch));
        let mut sealed = vec![0u8; pt.len() + TAG_LEN];
        assert_eq!(
            sealer.seal_chunk_once_to(0, true, &pt, &mut sealed),
            layer_mismatch
        );
        assert_eq!(
            PartOpener::new(&key(), ctx, part, sealer.header()).map(|_| ()),
            layer_mismatch
        );
        let plain = PartSealer::new(&key(), ctx, part, chunk).unwrap();
        assert_eq!(
            plain
                .seal_layer_chunk_once_in_place(0, true, &mut buf, b"")
                .map(|_| ()),
            layer_mismatch
        );
        assert_eq!(
            PartOpener::new_layer(&key(), ctx, part, plain.header()).map(|_| ()),
            layer_mismatch
        );
    }
}
