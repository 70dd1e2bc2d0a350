//! Single-part objects: PutObject, GetObject, HeadObject, CopyObject — from buffers and from
//! streams — and the `Range` header.

use std::io::{Read, Write};
use std::ops::Range;

use bytes::BytesMut;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal_gcm::{MultipartLayout, PartNumber};
use s3seal_policy::{CustomerKey, Encryption, ReadOp, ReadRequest, WriteOp, resolve_read};
use sha2::Sha256;

use super::codec::geometry;
use super::keys::{ObjectKeys, object_binding, parse_envelope};
use super::{
    Committed, Engine, Opened, Request, StoredObject, Written, opaque_etag, stored_encryption,
    to_usize,
};
use crate::envelope::{Mode, ObjectEnvelope, PART_DIGEST_LEN};
use crate::error::{EngineError, EnvelopeError};

/// The first 16 bytes of SHA-256 of a part's sealed header: what the manifest records.
pub(crate) fn part_digest(header: &[u8]) -> [u8; PART_DIGEST_LEN] {
    let mut d = [0u8; PART_DIGEST_LEN];
    d.copy_from_slice(&Sha256::digest(header)[..PART_DIGEST_LEN]);
    d
}

/// The layout of a stored object's parts, from its envelope.
pub(crate) fn layout(env: &ObjectEnvelope) -> Result<MultipartLayout, EngineError> {
    Ok(
        MultipartLayout::with_geometry(geometry(env.mode, env.chunk), env.layout_parts())
            .map_err(|_| EnvelopeError::BadParts)?,
    )
}

/// Whether a part's header is the one the manifest names (not a stale re-upload); a single
/// PUT has no manifest entry.
pub(crate) fn header_matches(env: &ObjectEnvelope, position: usize, header: &[u8]) -> bool {
    env.parts
        .get(position)
        .is_none_or(|p| p.digest == part_digest(header))
}

/// The customer key of an SSE-C target, for the response headers.
fn customer_of(target: &Encryption) -> Option<&CustomerKey> {
    match target {
        Encryption::SseC { key } => Some(key),
        _ => None,
    }
}

/// Whether the ETag of an object written in `mode` is the MD5 of its plaintext (S3: single-PUT
/// SSE-S3 objects; FSx stores data as given). Other ETags are opaque.
pub(crate) fn md5_etag(mode: Mode) -> bool {
    matches!(mode, Mode::SseS3 | Mode::Fsx)
}

impl Engine {
    /// Opens plaintext `range` of a stored object whose sealed bytes are `sealed`.
    pub(crate) fn open(
        &self,
        env: &ObjectEnvelope,
        keys: &ObjectKeys,
        range: Range<u64>,
        sealed: &[u8],
    ) -> Result<BytesMut, EngineError> {
        let layout = layout(env)?;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        self.run(sealed.len(), || {
            keys.codec
                .open_range(&binding, env.chunk, &layout, range, sealed, |i, header| {
                    if header_matches(env, i, header) {
                        Ok(())
                    } else {
                        Err(EngineError::Integrity)
                    }
                })
        })
    }

    /// Encrypts `data` as a new single-part object under `target`.
    fn write_object(
        &self,
        req: &Request<'_>,
        target: &Encryption,
        data: &[u8],
    ) -> Result<Written, EngineError> {
        let (keys, mut env) = self.new_keys(req, target, data.len() as u64, false)?;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let seal = || {
            self.run(data.len(), || {
                keys.codec
                    .seal(&binding, PartNumber::SINGLE, env.chunk, data)
            })
        };
        // S3's ETag of a single-PUT SSE-S3 object is the MD5 of its data: hash it on one thread
        // while the pool seals. Other modes need no second task (and no hop to a pool).
        let (etag, sealed) = if md5_etag(env.mode) {
            rayon::join(|| Ok(hex::encode(Md5::digest(data))), seal)
        } else {
            (opaque_etag(), seal())
        };
        env.plaintext_len = data.len() as u64;
        env.etag = etag?;
        env.seal_mac(keys.mac.as_ref())?;
        Ok(Written {
            sealed: sealed?,
            headers: self.headers(&env, customer_of(target))?,
            envelope_bytes: env.to_bytes()?,
            envelope: env,
        })
    }

    /// The target encryption of a PutObject.
    fn put_target(&self, req: &Request<'_>) -> Result<Encryption, EngineError> {
        self.write_plan(req, WriteOp::PutObject)?
            .target
            .ok_or(EngineError::NotSupported("PutObject without a target"))
    }

    /// PutObject: resolves the encryption (request headers over the bucket default, SSE-S3 by
    /// default), seals `body`, and returns what to store.
    ///
    /// # Errors
    /// [`EngineError::Policy`] for a request S3 would refuse (nothing is written);
    /// [`EngineError::Kms`] for KMS refusals; [`EngineError::Random`].
    pub fn put_object(&self, req: &Request<'_>, body: &[u8]) -> Result<Written, EngineError> {
        self.write_object(req, &self.put_target(req)?, body)
    }

    /// PutObject from a reader to a writer, memory bounded by chunk size × threads. Returns the
    /// envelope and response headers; on error, whatever was written to `out` must be discarded.
    ///
    /// # Errors
    /// As [`Self::put_object`]; [`EngineError::IncompleteBody`] if reading `body` fails,
    /// [`EngineError::Io`] if writing `out` fails.
    pub fn put_object_stream(
        &self,
        req: &Request<'_>,
        body: impl Read + Send,
        out: impl Write + Send,
    ) -> Result<Committed, EngineError> {
        let target = self.put_target(req)?;
        let (keys, mut env) = self.new_keys(req, &target, u64::MAX, false)?;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let mut reader = CountingReader {
            inner: body,
            md5: md5_etag(env.mode).then(Md5::new),
            count: 0,
            body_failed: false,
        };
        let enc = keys
            .codec
            .encryptor(out, &binding, PartNumber::SINGLE, env.chunk)?;
        self.pump(&mut reader, enc)?;
        env.plaintext_len = reader.count;
        env.etag = match reader.md5.take() {
            Some(h) => hex::encode(h.finalize()),
            None => opaque_etag()?,
        };
        env.seal_mac(keys.mac.as_ref())?;
        Ok(Committed {
            headers: self.headers(&env, customer_of(&target))?,
            envelope_bytes: env.to_bytes()?,
            envelope: env,
        })
    }

    /// Checks a GET/HEAD against the stored object (parsing its envelope once) and unwraps its
    /// keys.
    pub(crate) fn prepare_read(
        &self,
        req: &Request<'_>,
        raw: &[u8],
        op: ReadOp,
    ) -> Result<(ObjectEnvelope, ObjectKeys, Option<CustomerKey>), EngineError> {
        let env = parse_envelope(raw, req.bucket, req.key)?;
        let plan = resolve_read(&ReadRequest {
            op,
            stored: &stored_encryption(&env)?,
            headers: req.headers,
            secure_transport: self.secure(req),
        })?;
        let keys = self.open_envelope(&env, raw, req.bucket, false, plan.customer_key.as_ref())?;
        Ok((env, keys, plan.customer_key))
    }

    /// HeadObject: checks the request against the object (SSE-C key, no SSE headers for
    /// SSE-S3/KMS objects) and returns the response headers, with `Content-Length`.
    ///
    /// # Errors
    /// [`EngineError::Policy`] (e.g. an SSE-C object without its key); integrity errors.
    pub fn head_object(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
    ) -> Result<HeaderMap, EngineError> {
        let (env, _, customer) = self.prepare_read(req, envelope, ReadOp::HeadObject)?;
        let mut h = self.headers(&env, customer.as_ref())?;
        h.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(env.plaintext_len),
        );
        Ok(h)
    }

    /// GetObject of the whole object or of plaintext `range`, from its sealed bytes. Only the
    /// chunks covering the range are opened; nothing is returned unless they authenticate.
    ///
    /// # Errors
    /// [`EngineError::Policy`]; [`EngineError::InvalidRange`]; [`EngineError::Integrity`] for
    /// tampered or moved data; KMS errors.
    pub fn get_object(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        sealed: &[u8],
        range: Option<Range<u64>>,
    ) -> Result<Opened, EngineError> {
        let (env, keys, customer) = self.prepare_read(req, envelope, ReadOp::GetObject)?;
        let range = range.unwrap_or(0..env.plaintext_len);
        if range.start > range.end
            || range.end > env.plaintext_len
            || (range.start == range.end && env.plaintext_len > 0)
        {
            return Err(EngineError::InvalidRange);
        }
        let body = self.open(&env, &keys, range.clone(), sealed)?.freeze();
        Ok(Opened {
            body,
            range,
            object_len: env.plaintext_len,
            headers: self.headers(&env, customer.as_ref())?,
        })
    }

    /// GetObject of the whole object from a reader of its sealed bytes to a writer, part by
    /// part, releasing only authenticated chunks; memory bounded by chunk size × threads.
    /// On error, what was written to `out` must be discarded (the caller writes to a temporary
    /// file and renames it on success).
    ///
    /// # Errors
    /// As [`Self::get_object`]; [`EngineError::Io`] if reading `sealed` or writing `out` fails.
    pub fn get_object_stream(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        mut sealed: impl Read + Send,
        mut out: impl Write + Send,
    ) -> Result<HeaderMap, EngineError> {
        let (env, keys, customer) = self.prepare_read(req, envelope, ReadOp::GetObject)?;
        let layout = layout(&env)?;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let header_len = to_usize(layout.geometry().header)?;
        self.pool.install(|| -> Result<(), EngineError> {
            for (i, &part) in layout.parts().iter().enumerate() {
                let r = layout
                    .part_sealed_range(i)
                    .ok_or(EngineError::LengthMismatch)?;
                let mut piece = (&mut sealed).take(r.end - r.start);
                // Read the part's header first: it must be the one the manifest names.
                let mut header = vec![0u8; header_len];
                piece
                    .read_exact(&mut header)
                    .map_err(|_| EngineError::LengthMismatch)?;
                if !header_matches(&env, i, &header) {
                    return Err(EngineError::Integrity);
                }
                let mut dec = keys
                    .codec
                    .decryptor(&mut piece, &binding, part, env.chunk, &header)?;
                let expected = layout
                    .part_plaintext_len(i)
                    .ok_or(EngineError::LengthMismatch)?;
                match std::io::copy(&mut dec, &mut out) {
                    Ok(n) if n == expected => {}
                    Ok(_) => return Err(EngineError::LengthMismatch),
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        return Err(EngineError::Integrity);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let mut extra = [0u8; 1];
            if sealed.read(&mut extra)? != 0 {
                return Err(EngineError::LengthMismatch);
            }
            out.flush()?;
            Ok(())
        })?;
        self.headers(&env, customer.as_ref())
    }

    /// Opens plaintext `range` (or all) of a copy source, checking its envelope and (SSE-C)
    /// its key.
    pub(crate) fn read_source(
        &self,
        src: &StoredObject<'_>,
        env: &ObjectEnvelope,
        key: Option<&CustomerKey>,
        range: Option<Range<u64>>,
    ) -> Result<BytesMut, EngineError> {
        let keys = self.open_envelope(env, src.envelope, src.bucket, false, key)?;
        let range = range.unwrap_or(0..env.plaintext_len);
        if range.start > range.end || range.end > env.plaintext_len {
            return Err(EngineError::InvalidRange);
        }
        self.open(env, &keys, range, src.sealed)
    }

    /// CopyObject: the target gets the request's encryption or the destination bucket's
    /// default — never the source's; the source's SSE-C key comes in the copy-source headers;
    /// the encryption context is not copied.
    ///
    /// # Errors
    /// As [`Self::put_object`] and [`Self::get_object`].
    pub fn copy_object(
        &self,
        dst: &Request<'_>,
        src: &StoredObject<'_>,
    ) -> Result<Written, EngineError> {
        let src_env = parse_envelope(src.envelope, src.bucket, src.key)?;
        let source = stored_encryption(&src_env)?;
        let plan = self.write_plan(dst, WriteOp::CopyObject { source: &source })?;
        let target = plan
            .target
            .ok_or(EngineError::NotSupported("CopyObject without a target"))?;
        let data = self.read_source(src, &src_env, plan.source_key.as_ref(), None)?;
        self.write_object(dst, &target, &data)
    }
}

/// Counts (and for SSE-S3, MD5-hashes) the plaintext read by a streaming PUT, and remembers
/// whether an error came from the body (the client's fault) rather than the output.
/// Plaintext read from a streamed body per hop onto the pool (see [`Engine::pump`]).
const PUMP_BYTES: usize = 1 << 20;

impl Engine {
    /// Copies `reader` into `enc` and finishes it: the body is read on the caller's thread,
    /// [`PUMP_BYTES`] at a time, and each batch is sealed (and its output written) on the
    /// pool — so no pool thread ever waits for a slow client's body.
    pub(super) fn pump<R: Read, W: Write + Send, S: s3seal_gcm::ChunkSealer + Send>(
        &self,
        reader: &mut CountingReader<R>,
        enc: s3seal_gcm::Encryptor<W, S>,
    ) -> Result<(), EngineError> {
        // Batches as wide as the engine's pool (the caller's thread is not one of its threads).
        let mut enc = enc.with_batch(self.threads());
        let mut buf = zeroize::Zeroizing::new(vec![0u8; PUMP_BYTES]);
        loop {
            let mut n = 0;
            while n < buf.len() {
                match reader.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(reader.classify(e)),
                }
            }
            if n > 0 {
                let batch = &buf[..n];
                self.pool.install(|| enc.write_all(batch))?;
            }
            if n < buf.len() {
                break;
            }
        }
        self.pool.install(|| enc.finish())?;
        Ok(())
    }
}

pub(super) struct CountingReader<R> {
    pub(super) inner: R,
    pub(super) md5: Option<Md5>,
    pub(super) count: u64,
    pub(super) body_failed: bool,
}

impl<R> CountingReader<R> {
    /// The engine error of a failed copy from this reader: the client's if reading the body
    /// failed, the server's (the output) otherwise.
    pub(super) fn classify(&self, e: std::io::Error) -> EngineError {
        if self.body_failed {
            EngineError::IncompleteBody(e.into())
        } else {
            e.into()
        }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|e| {
            self.body_failed |= e.kind() != std::io::ErrorKind::Interrupted;
        })?;
        self.count += n as u64;
        if let Some(h) = &mut self.md5 {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Parses an HTTP `Range: bytes=…` value against an object of `len` bytes: `A-B`, `A-`, `-N`.
///
/// # Errors
/// [`EngineError::InvalidRange`] for a malformed or unsatisfiable range.
pub fn parse_range(value: &str, len: u64) -> Result<Range<u64>, EngineError> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(EngineError::InvalidRange)?;
    let (a, b) = spec.split_once('-').ok_or(EngineError::InvalidRange)?;
    // RFC 9110 §14.1.1: positions are 1*DIGIT, of any length. One past u64 is past any
    // object, so it saturates: `bytes=0-99999999999999999999` is the whole object, as a
    // first position that large is unsatisfiable.
    let num = |s: &str| {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EngineError::InvalidRange);
        }
        Ok(s.parse::<u64>().unwrap_or(u64::MAX))
    };
    let range = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => len.saturating_sub(num(b)?)..len,
        (false, true) => num(a)?..len,
        (false, false) => {
            let (s, e) = (num(a)?, num(b)?);
            if e < s {
                return Err(EngineError::InvalidRange);
            }
            s..e.saturating_add(1).min(len)
        }
        (true, true) => return Err(EngineError::InvalidRange),
    };
    if range.start >= len || range.is_empty() {
        return Err(EngineError::InvalidRange);
    }
    Ok(range)
}
