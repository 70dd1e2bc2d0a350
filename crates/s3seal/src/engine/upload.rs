//! The state of a multipart upload, which the engine owns and a backend keeps (persisted as
//! bytes, so an upload survives a restart): the upload's envelope and, for each part number,
//! the latest upload of that part.
//!
//! ```text
//!  0      4    5                 9            9+n        11+n
//!  +------+----+-----------------+------------+----------+--------------------------+-------+
//!  |"S3UP"| 1  | envelope len n  | upload     | count    | per part, ascending:     | mac   |
//!  |      |ver | u32 BE          | envelope   | u16 BE   | number u16, size u64,    | (32)  |
//!  |      |    |                 | (n bytes)  |          | header digest (16),      |       |
//!  |      |    |                 |            |          | md5 flag u8 (0/1), md5(16)|      |
//!  +------+----+-----------------+------------+----------+--------------------------+-------+
//! ```
//!
//! `mac` = HMAC-SHA256 over every byte before it, under
//! `HKDF-SHA256(ikm = the upload's MAC key, salt = object id, info = "s3seal/v1/upload-state")`
//! (the key of the envelope's own MAC; zero for FSx, which is not authenticated). So a backend
//! (or whoever can write its storage) cannot swap in an older upload of a part, drop or add one.
//! The md5 is present for SSE-S3 (and FSx) parts, whose ETag is the MD5 of the part's data.

use s3seal_gcm::{DataKey, PartNumber};
use subtle::ConstantTimeEq;

use crate::envelope::PART_DIGEST_LEN;
use crate::error::EngineError;

const MAGIC: &[u8; 4] = b"S3UP";
const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// Longest envelope an upload state holds.
const MAX_ENVELOPE: usize = 1 << 20;
/// Most parts of an upload (S3: 10,000).
pub(crate) const MAX_PARTS: usize = 10_000;

/// The latest upload of one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartRecord {
    /// The part number (1..=10000).
    pub number: PartNumber,
    /// Its plaintext length.
    pub size: u64,
    /// The first 16 bytes of SHA-256 of its sealed header (as in the manifest).
    pub digest: [u8; PART_DIGEST_LEN],
    /// The MD5 of its plaintext (SSE-S3 and FSx uploads: their part ETag), else `None`.
    pub md5: Option<[u8; 16]>,
}

impl PartRecord {
    /// The part's ETag (unquoted): the MD5 of its data where S3 uses that, else the digest of
    /// its sealed header (different for every upload of the part).
    pub(crate) fn etag(&self) -> String {
        hex::encode(self.md5.unwrap_or(self.digest))
    }
}

/// An upload's state (`docs/FORMAT.md` §8), parsed (not yet authenticated: the engine checks
/// its MAC once it has the upload's keys). Public so that its decoder can be fuzzed and
/// inspected; backends keep the bytes and never need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadState {
    /// The upload's envelope, as stored (its own MAC covers it).
    pub envelope: Vec<u8>,
    /// The latest upload of each part, ascending by number.
    pub parts: Vec<PartRecord>,
}

fn mac(key: Option<&DataKey>, object_id: &[u8; 16], body: &[u8]) -> [u8; MAC_LEN] {
    match key {
        Some(k) => crate::envelope::keyed_mac(k, object_id, b"s3seal/v1/upload-state", body),
        // FSx uploads, like their envelopes, are not authenticated.
        None => [0; MAC_LEN],
    }
}

impl UploadState {
    /// Records an upload of a part: it replaces an earlier upload of the same number.
    pub(crate) fn record(&mut self, rec: PartRecord) -> Result<(), EngineError> {
        match self.parts.binary_search_by_key(&rec.number, |p| p.number) {
            Ok(i) => self.parts[i] = rec,
            Err(_) if self.parts.len() >= MAX_PARTS => return Err(EngineError::InvalidPart),
            Err(i) => self.parts.insert(i, rec),
        }
        Ok(())
    }

    /// The latest upload of part `number`.
    pub(crate) fn part(&self, number: PartNumber) -> Option<&PartRecord> {
        self.parts
            .binary_search_by_key(&number, |p| p.number)
            .ok()
            .map(|i| &self.parts[i])
    }

    /// Serializes the state, authenticated under the upload's MAC key (`None`: FSx, a zero
    /// MAC).
    ///
    /// # Errors
    /// [`EngineError::Envelope`] (`FieldTooLong`) for an envelope or part list the format
    /// cannot hold.
    pub fn to_bytes(
        &self,
        key: Option<&DataKey>,
        object_id: &[u8; 16],
    ) -> Result<Vec<u8>, EngineError> {
        let too_long = || EngineError::Envelope(crate::EnvelopeError::FieldTooLong);
        let n = u32::try_from(self.envelope.len()).map_err(|_| too_long())?;
        let count = u16::try_from(self.parts.len()).map_err(|_| too_long())?;
        let mut out = Vec::with_capacity(11 + self.envelope.len() + 43 * self.parts.len() + 32);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&self.envelope);
        out.extend_from_slice(&count.to_be_bytes());
        for p in &self.parts {
            let number = u16::try_from(p.number.get()).map_err(|_| too_long())?;
            out.extend_from_slice(&number.to_be_bytes());
            out.extend_from_slice(&p.size.to_be_bytes());
            out.extend_from_slice(&p.digest);
            out.push(u8::from(p.md5.is_some()));
            out.extend_from_slice(&p.md5.unwrap_or_default());
        }
        let tag = mac(key, object_id, &out);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Parses a serialized state (its structure only); any malformation is
    /// [`EngineError::NoSuchUpload`]: these bytes are not an upload.
    ///
    /// # Errors
    /// [`EngineError::NoSuchUpload`].
    pub fn from_bytes(raw: &[u8]) -> Result<Self, EngineError> {
        let bad = || EngineError::NoSuchUpload;
        let mut r = raw.strip_prefix(MAGIC.as_slice()).ok_or_else(bad)?;
        let mut take = |n: usize| -> Result<&[u8], EngineError> {
            let (a, b) = r.split_at_checked(n).ok_or_else(bad)?;
            r = b;
            Ok(a)
        };
        if take(1)? != [VERSION] {
            return Err(bad());
        }
        let n = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?);
        let n = usize::try_from(n).map_err(|_| bad())?;
        if n > MAX_ENVELOPE {
            return Err(bad());
        }
        let envelope = take(n)?.to_vec();
        let count = usize::from(u16::from_be_bytes(take(2)?.try_into().map_err(|_| bad())?));
        if count > MAX_PARTS {
            return Err(bad());
        }
        // Capacity from the bytes present (43 per record), never from the count alone.
        let mut parts: Vec<PartRecord> = Vec::with_capacity(count.min(raw.len() / 43));
        for _ in 0..count {
            let number = u16::from_be_bytes(take(2)?.try_into().map_err(|_| bad())?);
            let number = PartNumber::new(u32::from(number)).map_err(|_| bad())?;
            let size = u64::from_be_bytes(take(8)?.try_into().map_err(|_| bad())?);
            let digest: [u8; PART_DIGEST_LEN] =
                take(PART_DIGEST_LEN)?.try_into().map_err(|_| bad())?;
            let has_md5 = take(1)?[0];
            let md5: [u8; 16] = take(16)?.try_into().map_err(|_| bad())?;
            let md5 = match has_md5 {
                0 if md5 == [0; 16] => None,
                1 => Some(md5),
                _ => return Err(bad()),
            };
            if number.get() == 0 || parts.last().is_some_and(|p| p.number >= number) {
                return Err(bad());
            }
            parts.push(PartRecord {
                number,
                size,
                digest,
                md5,
            });
        }
        if take(MAC_LEN)?.len() != MAC_LEN || !r.is_empty() {
            return Err(bad());
        }
        Ok(UploadState { envelope, parts })
    }

    /// Checks the MAC of `raw` (the bytes this state was parsed from) in constant time.
    pub(crate) fn verify(
        raw: &[u8],
        key: Option<&DataKey>,
        object_id: &[u8; 16],
    ) -> Result<(), EngineError> {
        let split = raw
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(EngineError::NoSuchUpload)?;
        let (body, tag) = raw.split_at(split);
        if bool::from(mac(key, object_id, body).ct_eq(tag)) {
            Ok(())
        } else {
            Err(EngineError::Integrity)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_latest_upload_wins_and_tampering_is_caught() {
        let key = DataKey::from_bytes([3; 32]);
        let id = [9u8; 16];
        let rec = |n: u32, size: u64, d: u8, md5: Option<[u8; 16]>| PartRecord {
            number: PartNumber::new(n).unwrap_or(PartNumber::SINGLE),
            size,
            digest: [d; 16],
            md5,
        };
        let mut st = UploadState {
            envelope: b"envelope".to_vec(),
            parts: Vec::new(),
        };
        st.record(rec(3, 30, 1, None)).ok();
        st.record(rec(1, 10, 2, Some([5; 16]))).ok();
        st.record(rec(3, 31, 3, None)).ok();
        let raw = st.to_bytes(Some(&key), &id).unwrap_or_default();
        let back = UploadState::from_bytes(&raw).ok();
        assert_eq!(
            back.as_ref().map(|b| b.parts.clone()),
            Some(vec![rec(1, 10, 2, Some([5; 16])), rec(3, 31, 3, None)])
        );
        assert!(UploadState::verify(&raw, Some(&key), &id).is_ok());
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 1;
            let refused = UploadState::from_bytes(&bad).is_err()
                || UploadState::verify(&bad, Some(&key), &id).is_err();
            assert!(refused, "byte {i}");
        }
        for cut in 0..raw.len() {
            assert!(UploadState::from_bytes(&raw[..cut]).is_err(), "cut {cut}");
        }
    }
}
