//! The object envelope: what a backend stores beside each object's sealed bytes.
//!
//! ```text
//!  0      4    5     6     7     8               24
//!  +------+----+-----+-----+-----+---------------+
//!  |"S3EV"|ver |mode |flags|clog | object id (16)|     ver = 1
//!  +------+----+-----+-----+-----+---------------+
//!  then, each string or blob as a u16 BE length and its bytes:
//!  +--------+-----+---------+---------------------------+--------------+--------------+---------+
//!  | bucket | key | key ARN | context: u16 count, then  | key material | manifest key | salt    |
//!  | (utf8) |(utf8)| (utf8) | (u16 len, k, u16 len, v)… | (blob)       | (blob)       | (32)    |
//!  +--------+-----+---------+---------------------------+--------------+--------------+---------+
//!  +-----------------+--------------------------------------------+------+--------+
//!  | plaintext u64   | parts: u16 count (0 = single-part), then   | etag | mac    |
//!  |                 | (part u16, size u64, header digest (16))…  |(str) | (32)   |
//!  +-----------------+--------------------------------------------+------+--------+
//! ```
//!
//! * `mode`: 1 SSE-S3, 2 SSE-KMS, 3 DSSE-KMS, 4 SSE-C, 5 FSx (stored as the file system keeps it;
//!   no MAC, believed only on an FSx access point).
//! * key ARN: the customer's key for SSE-KMS / DSSE-KMS; for SSE-S3 and SSE-C multipart objects
//!   this store's SSE-S3 root key, which readers resolve themselves and assert; empty for SSE-C
//!   objects written whole and for FSx.
//! * context: the KMS encryption context of the wrapped keys, at most 64 pairs, keys in
//!   strictly ascending byte order (a reader refuses any other order or a repeated key).
//! * `flags`: bit 0 = S3 Bucket Key (key material is the bucket key's blob and `salt` derives the
//!   object key); bit 1 = an upload in progress (CreateMultipartUpload's envelope: never readable
//!   as an object); other bits 0.
//! * key material: SSE-S3 / SSE-KMS — the KMS blob of the data key (or of the bucket key);
//!   DSSE-KMS — the layer record of `s3seal-dsse`; SSE-C — the 64-byte key verifier (salt ‖
//!   HMAC-SHA256), never the key; FSx — empty. `salt`: the bucket-key derivation salt, or the
//!   SSE-C per-object key derivation salt; zero otherwise.
//! * manifest key: SSE-C multipart uploads and the objects they complete only — the KMS blob of
//!   a server-managed key (under the SSE-S3 root key) that keys the MAC, because
//!   CompleteMultipartUpload carries no customer key; empty otherwise. An SSE-C object written
//!   whole (PUT, copy) has none: its MAC is keyed by its data key, so it needs no KMS to read.
//! * `mac` = HMAC-SHA256 over every byte before it, as read, under
//!   `HKDF-SHA256(ikm = K, salt = object id, info = "s3seal/v1/envelope")`, where K is the
//!   object's data key (DSSE: the inner layer's; SSE-C: the key derived from the customer key),
//!   or for an SSE-C envelope with a manifest key, the manifest key.
//!   It authenticates the mode, identity, context, key material and the multipart manifest (part
//!   count, numbers, sizes, and the first 16 bytes of SHA-256 of each part's sealed header, which
//!   holds that upload of the part's random salt), so a dropped, duplicated, spliced or stale
//!   re-uploaded part, or a moved object, fails. FSx envelopes (no data key) carry a zero MAC and are not authenticated.
//! * The only plaintext-derived value in clear is the ETag of single-PUT SSE-S3 objects, which
//!   S3 itself exposes (the MD5 of the data); other ETags are opaque.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use s3seal_gcm::{ChunkSize, DataKey, PartNumber};
use s3seal_kms::EncryptionContext;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::EnvelopeError;

const MAGIC: [u8; 4] = *b"S3EV";
const VERSION: u8 = 1;
const FLAG_BUCKET_KEY: u8 = 0x01;
const FLAG_UPLOAD: u8 = 0x02;
/// Length of a part's header digest in the manifest.
pub const PART_DIGEST_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// Longest string or blob field.
const MAX_FIELD: usize = 32 << 10;
/// Most context entries.
const MAX_CONTEXT: usize = 64;

/// How an object is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// SSE-S3 (`AES256`).
    SseS3,
    /// SSE-KMS (`aws:kms`).
    SseKms,
    /// DSSE-KMS (`aws:kms:dsse`).
    DsseKms,
    /// SSE-C (customer-provided key).
    SseC,
    /// FSx access point: stored as given, encrypted by the file system.
    Fsx,
}

impl Mode {
    fn code(self) -> u8 {
        match self {
            Mode::SseS3 => 1,
            Mode::SseKms => 2,
            Mode::DsseKms => 3,
            Mode::SseC => 4,
            Mode::Fsx => 5,
        }
    }

    fn from_code(c: u8) -> Result<Self, EnvelopeError> {
        Ok(match c {
            1 => Mode::SseS3,
            2 => Mode::SseKms,
            3 => Mode::DsseKms,
            4 => Mode::SseC,
            5 => Mode::Fsx,
            other => return Err(EnvelopeError::BadMode(other)),
        })
    }

    /// The `x-amz-server-side-encryption` value, `None` for SSE-C.
    #[must_use]
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Mode::SseS3 => Some("AES256"),
            Mode::SseKms => Some("aws:kms"),
            Mode::DsseKms => Some("aws:kms:dsse"),
            Mode::SseC => None,
            Mode::Fsx => Some("aws:fsx"),
        }
    }
}

/// One part of a multipart manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestPart {
    /// The part number.
    pub number: PartNumber,
    /// Its plaintext size.
    pub size: u64,
    /// The first 16 bytes of SHA-256 of the part's sealed header: names which upload of the
    /// part the object consists of.
    pub digest: [u8; PART_DIGEST_LEN],
}

/// The versioned record stored beside an object. Build it with the engine; read it back with
/// [`ObjectEnvelope::from_bytes`], which checks structure only — the engine checks the MAC once
/// it has the data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectEnvelope {
    /// Encryption mode.
    pub mode: Mode,
    /// Whether the data key is derived from an S3 Bucket Key.
    pub bucket_key: bool,
    /// Whether this is the envelope of an upload in progress (not an object).
    pub upload: bool,
    /// Plaintext chunk size of every part.
    pub chunk: ChunkSize,
    /// Random id of this object version; binds its sealed parts and its MAC.
    pub object_id: [u8; 16],
    /// The bucket the object was written to.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// Full ARN of the KMS key: the customer's for SSE-KMS and DSSE-KMS (DSSE: the inner
    /// layer's); this store's SSE-S3 root key for SSE-S3 and for SSE-C with a manifest key (it
    /// wraps the manifest key, not the data key); empty for FSx and for SSE-C objects written
    /// whole.
    pub key_arn: String,
    /// The KMS encryption context the wrapped keys are bound to; empty for SSE-C and FSx.
    pub context: EncryptionContext,
    /// Wrapped key material (see the module doc).
    pub key_material: Vec<u8>,
    /// SSE-C multipart: the KMS blob of the server-managed key that keys the MAC; empty
    /// otherwise (an SSE-C object written whole keys its MAC with its data key).
    pub manifest_key: Vec<u8>,
    /// Bucket-key or SSE-C derivation salt.
    pub salt: [u8; 32],
    /// Total plaintext length.
    pub plaintext_len: u64,
    /// Multipart manifest: part numbers, plaintext sizes and header digests, in order; empty for
    /// a single PUT.
    pub parts: Vec<ManifestPart>,
    /// The ETag S3 would report.
    pub etag: String,
    /// HMAC-SHA256 of the serialized fields before it.
    pub mac: [u8; MAC_LEN],
}

/// The envelope MAC of `bytes`: HMAC-SHA256 under
/// `HKDF-SHA256(ikm = data key, salt = object id, info = "s3seal/v1/envelope")`.
fn compute_mac(data_key: &DataKey, object_id: &[u8; 16], bytes: &[u8]) -> [u8; MAC_LEN] {
    keyed_mac(data_key, object_id, b"s3seal/v1/envelope", bytes)
}

/// HMAC-SHA256 of `bytes` under `HKDF-SHA256(ikm = key, salt = object id, info)`: the MACs an
/// object's records carry (the envelope, the multipart upload state), each with its own label.
#[expect(
    clippy::expect_used,
    reason = "fixed sizes: a 32-byte HKDF-SHA256 output (limit 8160) and an HMAC key of any length cannot fail"
)]
pub(crate) fn keyed_mac(
    key: &DataKey,
    object_id: &[u8; 16],
    info: &[u8],
    bytes: &[u8],
) -> [u8; MAC_LEN] {
    let mut k = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(object_id), key.as_bytes())
        .expand(info, k.as_mut_slice())
        .expect("32 bytes is within HKDF-SHA256's output limit");
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(k.as_slice())
        .expect("HMAC-SHA256 takes a key of any length");
    m.update(bytes);
    m.finalize().into_bytes().into()
}

impl ObjectEnvelope {
    /// Whether this is a multipart object.
    #[must_use]
    pub fn is_multipart(&self) -> bool {
        !self.parts.is_empty()
    }

    /// The part numbers and sizes to open: the manifest, or part 0 for a single PUT.
    #[must_use]
    pub fn layout_parts(&self) -> Vec<(PartNumber, u64)> {
        if self.parts.is_empty() {
            vec![(PartNumber::SINGLE, self.plaintext_len)]
        } else {
            self.parts.iter().map(|p| (p.number, p.size)).collect()
        }
    }

    /// Serializes every field before the MAC.
    fn body(&self) -> Result<Vec<u8>, EnvelopeError> {
        let mut out = Vec::with_capacity(256 + self.key_material.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.mode.code());
        out.push(
            if self.bucket_key { FLAG_BUCKET_KEY } else { 0 }
                | if self.upload { FLAG_UPLOAD } else { 0 },
        );
        out.push(self.chunk.log2());
        out.extend_from_slice(&self.object_id);
        for s in [&self.bucket, &self.key, &self.key_arn] {
            put_field(&mut out, s.as_bytes())?;
        }
        if self.context.len() > MAX_CONTEXT {
            return Err(EnvelopeError::FieldTooLong);
        }
        let n = u16::try_from(self.context.len()).map_err(|_| EnvelopeError::FieldTooLong)?;
        out.extend_from_slice(&n.to_be_bytes());
        for (k, v) in self.context.iter() {
            put_field(&mut out, k.as_bytes())?;
            put_field(&mut out, v.as_bytes())?;
        }
        put_field(&mut out, &self.key_material)?;
        put_field(&mut out, &self.manifest_key)?;
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.plaintext_len.to_be_bytes());
        let count = u16::try_from(self.parts.len()).map_err(|_| EnvelopeError::FieldTooLong)?;
        out.extend_from_slice(&count.to_be_bytes());
        for p in &self.parts {
            let n = u16::try_from(p.number.get()).map_err(|_| EnvelopeError::FieldTooLong)?;
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&p.size.to_be_bytes());
            out.extend_from_slice(&p.digest);
        }
        put_field(&mut out, self.etag.as_bytes())?;
        Ok(out)
    }

    /// Computes and sets the MAC under `data_key` (none for FSx: pass `None`).
    ///
    /// # Errors
    /// [`EnvelopeError::FieldTooLong`] if a field does not fit the format.
    pub fn seal_mac(&mut self, data_key: Option<&DataKey>) -> Result<(), EnvelopeError> {
        let body = self.body()?;
        self.mac = match data_key {
            Some(k) => compute_mac(k, &self.object_id, &body),
            None => [0; MAC_LEN],
        };
        Ok(())
    }

    /// Serializes the envelope.
    ///
    /// # Errors
    /// [`EnvelopeError::FieldTooLong`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        let mut out = self.body()?;
        out.extend_from_slice(&self.mac);
        Ok(out)
    }

    /// Parses an envelope, checking its structure (not its MAC: see [`Self::verify_mac`]).
    ///
    /// # Errors
    /// An [`EnvelopeError`] naming what is malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(EnvelopeError::BadMagic);
        }
        let version = r.byte()?;
        if version != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(version));
        }
        let mode = Mode::from_code(r.byte()?)?;
        let flags = r.byte()?;
        if flags & !(FLAG_BUCKET_KEY | FLAG_UPLOAD) != 0 {
            return Err(EnvelopeError::BadFlags(flags));
        }
        let chunk = ChunkSize::from_log2(r.byte()?).map_err(|_| EnvelopeError::BadChunkSize)?;
        let object_id = r.array::<16>()?;
        let bucket = r.string()?;
        let key = r.string()?;
        let key_arn = r.string()?;
        let n_ctx = usize::from(r.u16()?);
        if n_ctx > MAX_CONTEXT {
            return Err(EnvelopeError::FieldTooLong);
        }
        // Pairs in strictly ascending key order, as written: one byte string per context.
        let mut context = EncryptionContext::new();
        let mut previous: Option<String> = None;
        for _ in 0..n_ctx {
            let (k, v) = (r.string()?, r.string()?);
            if previous.as_ref().is_some_and(|p| *p >= k) {
                return Err(EnvelopeError::BadContext);
            }
            previous = Some(k.clone());
            context.insert(k, v);
        }
        let key_material = r.field()?.to_vec();
        let manifest_key = r.field()?.to_vec();
        let salt = r.array::<32>()?;
        let plaintext_len = u64::from_be_bytes(r.array::<8>()?);
        let n_parts = usize::from(r.u16()?);
        // Capacity from the bytes present (26 per record), never from the count alone.
        let mut parts = Vec::with_capacity(n_parts.min(r.0.len() / 26));
        let mut sum = 0u64;
        for _ in 0..n_parts {
            let n = PartNumber::new(u32::from(r.u16()?)).map_err(|_| EnvelopeError::BadParts)?;
            let size = u64::from_be_bytes(r.array::<8>()?);
            let digest = r.array::<PART_DIGEST_LEN>()?;
            if n.get() == 0 || parts.last().is_some_and(|p: &ManifestPart| p.number >= n) {
                return Err(EnvelopeError::BadParts);
            }
            sum = sum.checked_add(size).ok_or(EnvelopeError::BadParts)?;
            parts.push(ManifestPart {
                number: n,
                size,
                digest,
            });
        }
        if n_parts > 0 && sum != plaintext_len {
            return Err(EnvelopeError::BadParts);
        }
        let etag = r.string()?;
        let mac = r.array::<MAC_LEN>()?;
        if !r.0.is_empty() {
            return Err(EnvelopeError::TrailingData);
        }
        Ok(ObjectEnvelope {
            mode,
            bucket_key: flags & FLAG_BUCKET_KEY != 0,
            upload: flags & FLAG_UPLOAD != 0,
            chunk,
            object_id,
            bucket,
            key,
            key_arn,
            context,
            key_material,
            manifest_key,
            salt,
            plaintext_len,
            parts,
            etag,
            mac,
        })
    }

    /// Checks the MAC over `bytes` (the envelope as read) under `data_key`, in constant time.
    ///
    /// # Errors
    /// [`EnvelopeError::MacMismatch`].
    pub fn verify_mac(
        bytes: &[u8],
        data_key: &DataKey,
        object_id: &[u8; 16],
    ) -> Result<(), EnvelopeError> {
        let split = bytes
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(EnvelopeError::Truncated)?;
        let (body, mac) = bytes.split_at(split);
        let expected = compute_mac(data_key, object_id, body);
        if bool::from(expected.ct_eq(mac)) {
            Ok(())
        } else {
            Err(EnvelopeError::MacMismatch)
        }
    }
}

fn put_field(out: &mut Vec<u8>, field: &[u8]) -> Result<(), EnvelopeError> {
    let len = u16::try_from(field.len()).map_err(|_| EnvelopeError::FieldTooLong)?;
    if field.len() > MAX_FIELD {
        return Err(EnvelopeError::FieldTooLong);
    }
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EnvelopeError> {
        if self.0.len() < n {
            return Err(EnvelopeError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, EnvelopeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, EnvelopeError> {
        Ok(u16::from_be_bytes(self.array::<2>()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EnvelopeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn field(&mut self) -> Result<&'a [u8], EnvelopeError> {
        let len = usize::from(self.u16()?);
        if len > MAX_FIELD {
            return Err(EnvelopeError::FieldTooLong);
        }
        self.take(len)
    }

    fn string(&mut self) -> Result<String, EnvelopeError> {
        let f = self.field()?;
        std::str::from_utf8(f)
            .map(str::to_owned)
            .map_err(|_| EnvelopeError::BadUtf8)
    }
}
