//! The stateless chunk primitive: seal or open chunk `i` of one sealed part.
//!
//! A [`PartSealer`] or [`PartOpener`] holds the part's subkey and header; sealing chunk `i`
//! depends on its arguments only (index, final flag, bytes), so chunks may be sealed on any
//! thread in any order. [`ChunkSealer`] / [`ChunkOpener`] name that contract, so that the buffer
//! and streaming APIs also drive other codecs built from sealed streams (the two layers of
//! `s3seal-dsse`). The wire layout is in [`crate::format`].

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::aead::Aes256Gcm;
use crate::error::{Error, FormatError};
use crate::format::{
    COMMITMENT_LEN, ChunkSize, HEADER_LEN, Header, PartNumber, SALT_LEN, TAG_LEN, chunk_nonce,
};
use crate::key::{DataKey, fill_random};
use crate::layout::Geometry;

/// Label that opens the HKDF info string of format v1.
const INFO_LABEL: &[u8] = b"s3seal/v1/aes-256-gcm";

/// The stateless chunk primitive on the sealing side: seal chunk `index` of one part from its
/// arguments only, on any thread in any order. [`PartSealer`] implements it for one sealed
/// stream; `s3seal-dsse` for two layers. The buffer and streaming APIs drive it.
pub trait ChunkSealer: Sync {
    /// The bytes written before the first chunk.
    fn header_bytes(&self) -> &[u8];
    /// Header length, chunk size and per-chunk overhead.
    fn geometry(&self) -> Geometry;
    /// Seals chunk `index` from `input` into `output` (`input.len()` + overhead bytes).
    ///
    /// # Errors
    /// [`FormatError::BadChunkLength`] if `input` does not fit the position;
    /// [`Error::LengthMismatch`] for a wrong `output` size.
    fn seal_chunk_to(
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
pub fn check_chunk_len(chunk: u64, index: u32, last: bool, len: usize) -> Result<(), Error> {
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

/// Derives the part subkey and the commitment from the data key, the salt, the header fields
/// that precede the salt, and the caller's context.
fn derive(
    key: &DataKey,
    salt: &[u8; SALT_LEN],
    header_fields: &[u8],
    context: &[u8],
) -> (Aes256Gcm, [u8; COMMITMENT_LEN]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), key.as_bytes());
    let mut okm = Zeroizing::new([0u8; 64]);
    // 64 bytes is far below HKDF-SHA256's 255 × 32 output limit, so expansion cannot fail;
    // should it ever, the all-zero okm gives a commitment no honest header carries.
    let _ = hk.expand_multi_info(&[INFO_LABEL, header_fields, context], okm.as_mut_slice());
    let mut subkey = Zeroizing::new([0u8; 32]);
    subkey.copy_from_slice(&okm[..32]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    commitment.copy_from_slice(&okm[32..]);
    (Aes256Gcm::new(&subkey), commitment)
}

/// AAD of an outer-layer chunk: the outer header, then the inner layer's tag of the same chunk.
fn outer_aad(header: &[u8; HEADER_LEN], inner_tag: &[u8; TAG_LEN]) -> [u8; HEADER_LEN + TAG_LEN] {
    let mut aad = [0u8; HEADER_LEN + TAG_LEN];
    aad[..HEADER_LEN].copy_from_slice(header);
    aad[HEADER_LEN..].copy_from_slice(inner_tag);
    aad
}

/// Seals the chunks of one part. Create one per part (and per re-upload of a part): each gets a
/// fresh random salt, hence a fresh subkey, so no (key, nonce) pair can repeat.
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
            .field("outer", &self.fields.outer)
            .finish_non_exhaustive()
    }
}

impl PartSealer {
    /// A sealer for `part` under `key`, bound to `context` (the object's identity), with a new
    /// random salt.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS random generator fails.
    pub fn new(
        key: &DataKey,
        context: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Self, Error> {
        Self::with_random_salt(key, context, part, chunk, false)
    }

    /// A sealer for the outer layer of a two-layer part (header flag `outer`): chunk `i` seals
    /// the inner layer's ciphertext of chunk `i`, with the inner tag bound into its AAD. Use
    /// [`Self::seal_outer_chunk_in_place`]; the [`ChunkSealer`] methods refuse an outer sealer.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS random generator fails.
    pub fn new_outer(
        key: &DataKey,
        context: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Self, Error> {
        Self::with_random_salt(key, context, part, chunk, true)
    }

    fn with_random_salt(
        key: &DataKey,
        context: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        outer: bool,
    ) -> Result<Self, Error> {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        Ok(Self::with_salt(key, context, part, chunk, outer, salt))
    }

    /// As [`Self::new`] with a given salt: for golden vectors only, where the salt is fixed.
    pub(crate) fn with_salt(
        key: &DataKey,
        context: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
        outer: bool,
        salt: [u8; SALT_LEN],
    ) -> Self {
        let mut fields = Header {
            chunk_size: chunk,
            outer,
            part,
            salt,
            commitment: [0; COMMITMENT_LEN],
        };
        let unsigned = fields.write();
        let (aead, commitment) = derive(key, &salt, &unsigned[4..12], context);
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
    /// receive the tag.
    ///
    /// # Errors
    /// [`FormatError::BadChunkLength`] if the plaintext does not fit the position.
    pub fn seal_chunk_in_place(&self, index: u32, last: bool, buf: &mut [u8]) -> Result<(), Error> {
        if self.fields.outer {
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

    /// Outer layer: seals chunk `index` of the inner layer's ciphertext in place, with AAD =
    /// this header ‖ `inner_tag`, and returns the outer tag.
    ///
    /// # Errors
    /// [`FormatError::LayerMismatch`] on a single-layer sealer; [`FormatError::BadChunkLength`].
    pub fn seal_outer_chunk_in_place(
        &self,
        index: u32,
        last: bool,
        buf: &mut [u8],
        inner_tag: &[u8; TAG_LEN],
    ) -> Result<[u8; TAG_LEN], Error> {
        if !self.fields.outer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, buf.len())?;
        let nonce = chunk_nonce(self.fields.part, index, last);
        self.aead
            .seal_in_place_separate_tag(&nonce, &outer_aad(&self.header, inner_tag), buf)
    }
}

impl ChunkSealer for PartSealer {
    fn header_bytes(&self) -> &[u8] {
        &self.header
    }

    fn geometry(&self) -> Geometry {
        Geometry::single(self.fields.chunk_size)
    }

    fn seal_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), Error> {
        if self.fields.outer {
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
            .field("outer", &self.fields.outer)
            .finish_non_exhaustive()
    }
}

impl PartOpener {
    /// Parses `header` (the first 76 bytes of a sealed part), checks that it is a single-layer
    /// part numbered `expected_part`, derives the subkey and checks the key commitment in
    /// constant time.
    ///
    /// # Errors
    /// Any [`FormatError`] of [`Header::read`]; [`FormatError::PartNumberMismatch`];
    /// [`FormatError::LayerMismatch`]; [`FormatError::CommitmentMismatch`] for a wrong key or
    /// wrong context — before any chunk is opened.
    pub fn new(
        key: &DataKey,
        context: &[u8],
        expected_part: PartNumber,
        header: &[u8],
    ) -> Result<Self, Error> {
        Self::open(key, context, expected_part, false, header)
    }

    /// As [`Self::new`] for the outer layer of a two-layer part.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn new_outer(
        key: &DataKey,
        context: &[u8],
        expected_part: PartNumber,
        header: &[u8],
    ) -> Result<Self, Error> {
        Self::open(key, context, expected_part, true, header)
    }

    fn open(
        key: &DataKey,
        context: &[u8],
        expected_part: PartNumber,
        outer: bool,
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
        if fields.outer != outer {
            return Err(FormatError::LayerMismatch.into());
        }
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(&header[..HEADER_LEN]);
        let (aead, commitment) = derive(key, &fields.salt, &bytes[4..12], context);
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
        if self.fields.outer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, buf.len())?;
        let nonce = chunk_nonce(self.fields.part, index, last);
        self.aead.open_in_place(&nonce, &self.header, buf, tag)
    }

    /// Outer layer: verifies `outer_tag` over `input` (the outer ciphertext of chunk `index`)
    /// with AAD = this header ‖ `inner_tag`, and decrypts it into `output`: the inner layer's
    /// ciphertext of that chunk.
    ///
    /// # Errors
    /// [`FormatError::LayerMismatch`] on a single-layer opener; [`FormatError::BadChunkLength`];
    /// [`Error::Authentication`] (output zeroed).
    pub fn open_outer_chunk_to(
        &self,
        index: u32,
        last: bool,
        input: &[u8],
        output: &mut [u8],
        inner_tag: &[u8; TAG_LEN],
        outer_tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        if !self.fields.outer {
            return Err(FormatError::LayerMismatch.into());
        }
        check_chunk_len(self.geometry().chunk, index, last, input.len())?;
        let nonce = chunk_nonce(self.fields.part, index, last);
        let aad = outer_aad(&self.header, inner_tag);
        self.aead.open_to(&nonce, &aad, input, output, outer_tag)
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
        if self.fields.outer {
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
/// measured here), more than a few 64 KiB chunks take.
pub const PARALLEL_MIN_BYTES: usize = 512 << 10;

/// Whether `chunks` chunks totalling `bytes` are worth spreading over the rayon pool: never on
/// a pool of one thread (the current one, or the global one when called from outside a pool).
pub(crate) fn worth_parallel(bytes: usize, chunks: usize) -> bool {
    chunks > 1
        && rayon::current_num_threads() > 1
        && (rayon::current_thread_index().is_some() || bytes >= PARALLEL_MIN_BYTES)
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
    let (body_failed, tail_ok) = if worth_parallel(sealed.len(), n_body + 1) {
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
