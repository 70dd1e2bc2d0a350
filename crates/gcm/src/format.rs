//! Sealed stream format v1: the header, and the limits of its fields.
//!
//! One sealed part (a single-PUT object is part 0; a multipart object is parts 1..=10000, each
//! sealed on its own) is a 76-byte header followed by chunks:
//!
//! ```text
//!  0      4    5    6    7    8        12                      44                      76
//!  +------+----+----+----+----+--------+-----------------------+-----------------------+
//!  |"S3SL"|ver |alg |clog|flg | part   |      salt (32)        |   commitment (32)     |
//!  |      | 01 | 01 |12..|0/1 | u32 BE |  random per part      |  HKDF output 32..64   |
//!  |      |    |    | 22 |    |        |                       |                       |
//!  +------+----+----+----+----+--------+-----------------------+-----------------------+
//!  then chunk 0, chunk 1, …, chunk n−1 (n ≥ 1), each
//!  +------------------------------------------+------------+
//!  | ciphertext: 2^clog bytes (last: 0..=2^clog)| tag (16)  |
//!  +------------------------------------------+------------+
//! ```
//!
//! * `ver` = 1, `alg` = 1 (AES-256-GCM, subkey and commitment from HKDF-SHA256).
//! * `flg`: bit 0 = layer part: its chunk `i` is sealed with AAD = header ‖ extra AAD the
//!   layering codec supplies for chunk `i` (for the outer layer of a DSSE part, the inner
//!   layer's tag of chunk `i`; see `s3seal-dsse`); other bits reserved, must be 0.
//! * `clog`: the plaintext chunk size is `2^clog` bytes, 4 KiB (12) to 4 MiB (22).
//! * `part`: 0 for a single-part object, 1..=10000 for a part of a multipart upload.
//! * Subkey and commitment: `HKDF-SHA256(ikm = data key, salt = salt, info = "s3seal/v1/aes-256-gcm"
//!   ‖ header[4..12] ‖ binding)` → 64 bytes; bytes 0..32 are the AES-256-GCM subkey, bytes 32..64
//!   the commitment stored in the header and compared (constant time) before any chunk is opened.
//!   `binding` (the object binding; not a KMS encryption context) is the caller's object identity (bucket, key, version or upload id).
//! * Chunk `i` is sealed under the subkey with nonce `part u32 BE ‖ i u32 BE ‖ 00 00 00 ‖ last`
//!   (`last` = 1 on the final chunk only) and AAD = the 76 header bytes as read.
//! * Every chunk but the last holds exactly `2^clog` plaintext bytes; the last holds 1..=`2^clog`,
//!   or 0 when the whole part is empty.

use crate::error::FormatError;

/// Magic bytes that open every sealed part.
pub const MAGIC: [u8; 4] = *b"S3SL";
/// The format version this module writes and reads.
pub const VERSION: u8 = 1;
/// Algorithm id 1: AES-256-GCM, subkey and commitment from HKDF-SHA256.
pub const ALG_AES256GCM_HKDF_SHA256: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 76;
/// Per-chunk overhead: the GCM tag.
pub const TAG_LEN: usize = 16;
/// Salt length in bytes.
pub const SALT_LEN: usize = 32;
/// Commitment length in bytes.
pub const COMMITMENT_LEN: usize = 32;
/// Header flag: a layer part, whose chunks bind extra AAD after the header (the outer layer of
/// a DSSE part).
pub const FLAG_LAYER: u8 = 0x01;
/// Largest part number S3 allows in a multipart upload.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// A plaintext chunk size: a power of two from 4 KiB to 4 MiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkSize(u8);

impl ChunkSize {
    /// 64 KiB, the default.
    pub const DEFAULT: ChunkSize = ChunkSize(16);
    /// Smallest allowed: 4 KiB.
    pub const MIN: ChunkSize = ChunkSize(12);
    /// Largest allowed: 4 MiB.
    pub const MAX: ChunkSize = ChunkSize(22);

    /// From `log2(size)`.
    ///
    /// # Errors
    /// [`FormatError::BadChunkSize`] outside 12..=22.
    pub fn from_log2(log2: u8) -> Result<Self, FormatError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&log2) {
            Ok(ChunkSize(log2))
        } else {
            Err(FormatError::BadChunkSize(log2))
        }
    }

    /// From a size in bytes.
    ///
    /// # Errors
    /// [`FormatError::BadChunkSize`] unless a power of two from 4 KiB to 4 MiB.
    pub fn from_bytes(size: usize) -> Result<Self, FormatError> {
        if size.is_power_of_two() {
            let log2 = u8::try_from(size.trailing_zeros())
                .map_err(|_| FormatError::BadChunkSize(u8::MAX))?;
            Self::from_log2(log2)
        } else {
            Err(FormatError::BadChunkSize(0))
        }
    }

    /// `log2` of the size.
    #[must_use]
    pub fn log2(self) -> u8 {
        self.0
    }

    /// Plaintext bytes per chunk.
    #[must_use]
    pub fn bytes(self) -> usize {
        1 << self.0
    }

    /// Sealed bytes per full chunk (plaintext + tag).
    #[must_use]
    pub fn sealed_bytes(self) -> usize {
        self.bytes() + TAG_LEN
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which part of an object a sealed stream is: 0 for a single-part object, 1..=10000 for a
/// multipart upload's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartNumber(u32);

impl PartNumber {
    /// The whole of a single-part (PutObject) object.
    pub const SINGLE: PartNumber = PartNumber(0);

    /// A part number as S3 numbers them (1..=10000), or 0 for a single-part object.
    ///
    /// # Errors
    /// [`FormatError::BadPartNumber`] above 10000.
    pub fn new(n: u32) -> Result<Self, FormatError> {
        if n <= MAX_PART_NUMBER {
            Ok(PartNumber(n))
        } else {
            Err(FormatError::BadPartNumber(n))
        }
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The parsed fields of a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Plaintext chunk size.
    pub chunk_size: ChunkSize,
    /// Flag bit 0 ([`FLAG_LAYER`]): a layer part, whose chunks bind extra AAD after the header
    /// (the outer layer of a DSSE part, binding the inner layer's tags).
    pub layer: bool,
    /// Part number.
    pub part: PartNumber,
    /// Per-part random salt.
    pub salt: [u8; SALT_LEN],
    /// Key commitment.
    pub commitment: [u8; COMMITMENT_LEN],
}

impl Header {
    /// Serializes the header.
    #[must_use]
    pub fn write(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC);
        h[4] = VERSION;
        h[5] = ALG_AES256GCM_HKDF_SHA256;
        h[6] = self.chunk_size.log2();
        h[7] = u8::from(self.layer);
        h[8..12].copy_from_slice(&self.part.get().to_be_bytes());
        h[12..44].copy_from_slice(&self.salt);
        h[44..76].copy_from_slice(&self.commitment);
        h
    }

    /// Parses a header from the start of `bytes`, checking every field before anything is
    /// allocated.
    ///
    /// # Errors
    /// A [`FormatError`] naming the first bad field; [`FormatError::Truncated`] if `bytes` is
    /// shorter than [`HEADER_LEN`].
    pub fn read(bytes: &[u8]) -> Result<Header, FormatError> {
        let h: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(FormatError::Truncated)?;
        if h[0..4] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        if h[4] != VERSION {
            return Err(FormatError::UnsupportedVersion(h[4]));
        }
        if h[5] != ALG_AES256GCM_HKDF_SHA256 {
            return Err(FormatError::UnsupportedAlgorithm(h[5]));
        }
        let chunk_size = ChunkSize::from_log2(h[6])?;
        if h[7] & !FLAG_LAYER != 0 {
            return Err(FormatError::ReservedFlags(h[7]));
        }
        let part = PartNumber::new(u32::from_be_bytes([h[8], h[9], h[10], h[11]]))?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&h[12..44]);
        let mut commitment = [0u8; COMMITMENT_LEN];
        commitment.copy_from_slice(&h[44..76]);
        Ok(Header {
            chunk_size,
            layer: h[7] & FLAG_LAYER != 0,
            part,
            salt,
            commitment,
        })
    }
}

/// The nonce of chunk `index` of `part`: `part u32 BE ‖ index u32 BE ‖ 00 00 00 ‖ last`.
#[must_use]
pub(crate) fn chunk_nonce(part: PartNumber, index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[0..4].copy_from_slice(&part.get().to_be_bytes());
    n[4..8].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            chunk_size: ChunkSize::DEFAULT,
            layer: false,
            part: PartNumber(7),
            salt: [1; 32],
            commitment: [2; 32],
        }
    }

    #[test]
    fn header_round_trips_and_every_field_is_checked() {
        let h = header();
        let bytes = h.write();
        assert_eq!(Header::read(&bytes), Ok(h));
        for len in 0..HEADER_LEN {
            assert_eq!(Header::read(&bytes[..len]), Err(FormatError::Truncated));
        }
        let cases: [(usize, u8, FormatError); 6] = [
            (0, b'X', FormatError::BadMagic),
            (4, 2, FormatError::UnsupportedVersion(2)),
            (5, 9, FormatError::UnsupportedAlgorithm(9)),
            (6, 11, FormatError::BadChunkSize(11)),
            (6, 23, FormatError::BadChunkSize(23)),
            (7, 2, FormatError::ReservedFlags(2)),
        ];
        for (at, v, err) in cases {
            let mut b = bytes;
            b[at] = v;
            assert_eq!(Header::read(&b), Err(err));
        }
        let mut b = bytes;
        b[8..12].copy_from_slice(&10_001u32.to_be_bytes());
        assert_eq!(Header::read(&b), Err(FormatError::BadPartNumber(10_001)));
    }

    #[test]
    fn chunk_sizes_are_powers_of_two_from_4k_to_4m() {
        assert_eq!(ChunkSize::from_bytes(4096).map(ChunkSize::log2), Ok(12));
        assert_eq!(ChunkSize::from_bytes(4 << 20).map(ChunkSize::log2), Ok(22));
        assert!(ChunkSize::from_bytes(2048).is_err());
        assert!(ChunkSize::from_bytes(8 << 20).is_err());
        assert!(ChunkSize::from_bytes(65_537).is_err());
        assert!(ChunkSize::from_bytes(0).is_err());
        assert_eq!(ChunkSize::default().bytes(), 65_536);
    }

    #[test]
    fn nonces_differ_by_part_index_and_final_flag() {
        let p1 = PartNumber(1);
        let n = chunk_nonce(p1, 5, false);
        assert_eq!(n, [0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0]);
        assert_ne!(n, chunk_nonce(p1, 5, true));
        assert_ne!(n, chunk_nonce(PartNumber(2), 5, false));
        assert_ne!(n, chunk_nonce(p1, 6, false));
    }
}
