//! Single-part objects: PutObject, GetObject, HeadObject, CopyObject — from buffers and from
//! streams — and the `Range` header.

use std::io::{Read, Write};
use std::ops::Range;

use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use rayon::prelude::*;
use s3seal_gcm::{MultipartLayout, PartNumber};
use s3seal_policy::{CustomerKey, Encryption, ReadOp, ReadRequest, WriteOp, resolve_read};
use sha2::Sha256;
use zeroize::Zeroize;

use super::codec::{geometry, resize_for_overwrite};
use super::keys::{ObjectKeys, object_binding, parse_envelope};
use super::pipe::WriteBehind;
use super::{
    Committed, Engine, Opened, ReadInfo, Request, StoredObject, Written, opaque_etag,
    stored_encryption, to_usize,
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
    /// Whether an object or part written in `mode` gets S3's MD5 ETag: [`md5_etag`], unless
    /// [`super::EngineConfig::md5_etags`] is off.
    pub(crate) fn md5_etag(&self, mode: Mode) -> bool {
        self.config.md5_etags && md5_etag(mode)
    }

    /// Opens plaintext `range` of a stored object whose sealed bytes are `sealed` into `out`,
    /// which is resized to the range's length (its capacity reused). On failure `out` is
    /// wiped and emptied.
    pub(crate) fn open_into(
        &self,
        env: &ObjectEnvelope,
        keys: &ObjectKeys,
        range: Range<u64>,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EngineError> {
        let layout = layout(env)?;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        resize_for_overwrite(out, to_usize(range.end.saturating_sub(range.start))?);
        self.run(sealed.len(), || {
            keys.codec.open_range_into(
                &binding,
                env.chunk,
                &layout,
                range,
                sealed,
                |i, header| {
                    if header_matches(env, i, header) {
                        Ok(())
                    } else {
                        Err(EngineError::Integrity)
                    }
                },
                out,
            )
        })
        .inspect_err(|_| {
            out.zeroize();
            out.clear();
        })
    }

    /// Encrypts `data` as a new single-part object under `target`, into `out` (resized to the
    /// sealed length, its capacity reused).
    fn write_object_into(
        &self,
        req: &Request<'_>,
        target: &Encryption,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Committed, EngineError> {
        let (keys, mut env) = self.new_keys(req, target, data.len() as u64, false)?;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let mut seal = || {
            self.run(data.len(), || {
                keys.codec
                    .seal_into(&binding, PartNumber::SINGLE, env.chunk, data, out)
            })
        };
        // S3's ETag of a single-PUT SSE-S3 object is the MD5 of its data: hash it on one thread
        // while the pool seals. Other modes need no second task (and no hop to a pool).
        let (etag, sealed) = if self.md5_etag(env.mode) {
            rayon::join(|| Ok(hex::encode(Md5::digest(data))), seal)
        } else {
            (opaque_etag(), seal())
        };
        sealed?;
        env.plaintext_len = data.len() as u64;
        env.etag = etag?;
        env.seal_mac(keys.mac.as_ref())?;
        Ok(Committed {
            headers: self.headers(&env, customer_of(target))?,
            envelope_bytes: env.to_bytes()?,
            envelope: env,
        })
    }

    /// Encrypts `data` as a new single-part object under `target`, into a new buffer.
    fn write_object(
        &self,
        req: &Request<'_>,
        target: &Encryption,
        data: &[u8],
    ) -> Result<Written, EngineError> {
        let mut sealed = Vec::new();
        let c = self.write_object_into(req, target, data, &mut sealed)?;
        Ok(Written {
            sealed: sealed.into(),
            envelope: c.envelope,
            envelope_bytes: c.envelope_bytes,
            headers: c.headers,
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

    /// PutObject into a buffer the caller keeps: as [`Self::put_object`], but the sealed bytes
    /// go into `sealed`, which is resized to their length. Its capacity is reused, so a backend
    /// that passes the same buffer on each call pays no allocation (and no page faults) per
    /// object. On error `sealed` is emptied.
    ///
    /// # Errors
    /// As [`Self::put_object`].
    pub fn put_object_into(
        &self,
        req: &Request<'_>,
        body: &[u8],
        sealed: &mut Vec<u8>,
    ) -> Result<Committed, EngineError> {
        self.write_object_into(req, &self.put_target(req)?, body, sealed)
            .inspect_err(|_| sealed.clear())
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
            md5: self.md5_etag(env.mode).then(Md5::new),
            count: 0,
            body_failed: false,
        };
        let sealer = keys.codec.sealer(&binding, PartNumber::SINGLE, env.chunk)?;
        self.pump(&mut reader, &sealer, out)?;
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
        let mut body = Vec::new();
        let info = self.get_object_into(req, envelope, sealed, range, &mut body)?;
        Ok(Opened {
            body: body.into(),
            range: info.range,
            object_len: info.object_len,
            headers: info.headers,
        })
    }

    /// GetObject into a buffer the caller keeps: as [`Self::get_object`], but the plaintext
    /// goes into `body`, which is resized to the range's length (its capacity reused: no
    /// allocation per call for a backend that passes the same buffer). Nothing is released
    /// unless every chunk read authenticates; on error `body` is wiped and emptied.
    ///
    /// # Errors
    /// As [`Self::get_object`].
    pub fn get_object_into(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        sealed: &[u8],
        range: Option<Range<u64>>,
        body: &mut Vec<u8>,
    ) -> Result<ReadInfo, EngineError> {
        let (env, keys, customer) = self.prepare_read(req, envelope, ReadOp::GetObject)?;
        let range = range.unwrap_or(0..env.plaintext_len);
        if range.start > range.end
            || range.end > env.plaintext_len
            || (range.start == range.end && env.plaintext_len > 0)
        {
            body.clear();
            return Err(EngineError::InvalidRange);
        }
        self.open_into(&env, &keys, range.clone(), sealed, body)?;
        Ok(ReadInfo {
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
        let g = layout.geometry();
        let (header_len, c, sc) = (
            to_usize(g.header)?,
            to_usize(g.chunk)?,
            to_usize(g.sealed_chunk())?,
        );
        // Small objects get small buffers.
        let all_chunks = to_usize(layout.sealed_len().div_ceil(g.sealed_chunk()))?;
        let batch_chunks = (PUMP_BYTES / c).clamp(1, all_chunks.max(1));
        // Buffers no larger than the (authenticated) object needs.
        let sealed_cap = (batch_chunks * sc).min(to_usize(layout.sealed_len())?);
        let plain_cap = (batch_chunks * c).min(to_usize(env.plaintext_len)?);
        let mut cur = vec![0u8; sealed_cap];
        let mut next = vec![0u8; sealed_cap];
        std::thread::scope(|scope| {
            let wb = WriteBehind::start(scope, &mut out, plain_cap);
            let piped = (|| -> Result<bool, EngineError> {
                for (i, &part) in layout.parts().iter().enumerate() {
                    let r = layout
                        .part_sealed_range(i)
                        .ok_or(EngineError::LengthMismatch)?;
                    // Read the part's header first: it must be the one the manifest names.
                    let mut header = vec![0u8; header_len];
                    sealed
                        .read_exact(&mut header)
                        .map_err(|_| EngineError::LengthMismatch)?;
                    if !header_matches(&env, i, &header) {
                        return Err(EngineError::Integrity);
                    }
                    let opener = keys.codec.opener(&binding, part, env.chunk, &header)?;
                    let body = to_usize(r.end - r.start)?
                        .checked_sub(header_len)
                        .ok_or(EngineError::LengthMismatch)?;
                    let chunks = body.div_ceil(sc).max(1);
                    let final_index =
                        u32::try_from(chunks - 1).map_err(|_| EngineError::LengthMismatch)?;
                    // Batch k is opened on the pool while the caller reads batch k + 1 and the
                    // write-behind thread writes batch k − 1.
                    let mut len = body.min(sealed_cap);
                    sealed.read_exact(&mut cur[..len]).map_err(cut_short)?;
                    let mut first = 0usize;
                    loop {
                        let Some(mut plain) = wb.buffer() else {
                            return Ok(false);
                        };
                        let rest = body - (first * sc + len);
                        let next_len = rest.min(sealed_cap);
                        let plain_len = s3seal_gcm::run_plaintext_len(g, len)
                            .ok_or(EngineError::LengthMismatch)?;
                        let index =
                            u32::try_from(first).map_err(|_| EngineError::LengthMismatch)?;
                        let (mut opening, mut read) = (None, None);
                        self.pool.in_place_scope(|s| {
                            s.spawn(|_| {
                                opening = Some(s3seal_gcm::open_run_into(
                                    &opener,
                                    index,
                                    final_index,
                                    &cur[..len],
                                    &mut plain[..plain_len],
                                ));
                            });
                            read = Some(sealed.read_exact(&mut next[..next_len]));
                        });
                        opening.ok_or(EngineError::LengthMismatch)??;
                        read.ok_or(EngineError::LengthMismatch)?
                            .map_err(cut_short)?;
                        if !wb.send(plain, plain_len) {
                            return Ok(false);
                        }
                        if next_len == 0 {
                            break;
                        }
                        first += len / sc;
                        std::mem::swap(&mut cur, &mut next);
                        len = next_len;
                    }
                }
                let mut extra = [0u8; 1];
                if sealed.read(&mut extra)? != 0 {
                    return Err(EngineError::LengthMismatch);
                }
                Ok(true)
            })();
            match (piped, wb.finish()) {
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                (Ok(true), Ok(())) => Ok(()),
                (Ok(false), Ok(())) => {
                    Err(std::io::Error::other("the output writer stopped").into())
                }
            }
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
    ) -> Result<Vec<u8>, EngineError> {
        let keys = self.open_envelope(env, src.envelope, src.bucket, false, key)?;
        let range = range.unwrap_or(0..env.plaintext_len);
        if range.start > range.end || range.end > env.plaintext_len {
            return Err(EngineError::InvalidRange);
        }
        let mut out = Vec::new();
        self.open_into(env, &keys, range, src.sealed, &mut out)?;
        Ok(out)
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
    /// Seals what `reader` yields as one part with `sealer`, writing the part to `out`.
    ///
    /// A three-stage pipeline over [`PUMP_BYTES`] batches: the caller's thread reads the body
    /// (so no pool thread ever waits for a slow client); the pool seals batch k straight from
    /// the read buffer while the caller reads batch k + 1; a write-behind thread writes batch
    /// k − 1. Whether a batch's last chunk is the final one is only known once the next read
    /// returns, so that one chunk is sealed after it, on the caller (a few microseconds). A
    /// body shorter than one batch is sealed in place, with no thread.
    pub(super) fn pump<R: Read, W: Write + Send, S: s3seal_gcm::ChunkSealer + Sync>(
        &self,
        reader: &mut CountingReader<R>,
        sealer: &S,
        mut out: W,
    ) -> Result<(), EngineError> {
        let g = sealer.geometry();
        let (c, t) = (to_usize(g.chunk)?, to_usize(g.overhead)?);
        let batch = PUMP_BYTES.max(c) / c * c;
        let sealed_batch = batch / c * (c + t);
        let mut cur = zeroize::Zeroizing::new(vec![0u8; batch]);
        out.write_all(sealer.header_bytes())?;
        let n = fill(reader, &mut cur)?;
        if n < batch {
            let mut sealed = vec![0u8; sealed_batch.max(t)];
            let len = self.run(n, || seal_run(sealer, 0, &cur[..n], true, &mut sealed))?;
            out.write_all(&sealed[..len])?;
            out.flush()?;
            return Ok(());
        }
        let mut next = zeroize::Zeroizing::new(vec![0u8; batch]);
        std::thread::scope(|scope| {
            let wb = WriteBehind::start(scope, &mut out, sealed_batch);
            let piped = (|| -> Result<bool, EngineError> {
                let (mut n, mut first) = (n, 0u64);
                loop {
                    let Some(mut sealed) = wb.buffer() else {
                        return Ok(false);
                    };
                    if n < batch {
                        let len =
                            self.run(n, || seal_run(sealer, first, &cur[..n], true, &mut sealed))?;
                        return Ok(wb.send(sealed, len));
                    }
                    let (mut sealing, mut read) = (None, None);
                    self.pool.in_place_scope(|s| {
                        s.spawn(|_| {
                            sealing = Some(seal_run(
                                sealer,
                                first,
                                &cur[..batch - c],
                                false,
                                &mut sealed,
                            ));
                        });
                        read = Some(fill(reader, &mut next));
                    });
                    let len = sealing.ok_or(EngineError::LengthMismatch)??;
                    let got = read.ok_or(EngineError::LengthMismatch)??;
                    let last = u32::try_from(first + (batch / c) as u64 - 1)
                        .map_err(|_| EngineError::LengthMismatch)?;
                    sealer.seal_chunk_once_to(
                        last,
                        got == 0,
                        &cur[batch - c..],
                        &mut sealed[len..len + c + t],
                    )?;
                    if !wb.send(sealed, len + c + t) {
                        return Ok(false);
                    }
                    if got == 0 {
                        return Ok(true);
                    }
                    std::mem::swap(&mut cur, &mut next);
                    n = got;
                    first += (batch / c) as u64;
                }
            })();
            match (piped, wb.finish()) {
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                (Ok(true), Ok(())) => Ok(()),
                (Ok(false), Ok(())) => {
                    Err(std::io::Error::other("the output writer stopped").into())
                }
            }
        })
    }
}

/// Seals `data` as chunks `first..` into `out`, chunks in parallel on the current pool, the
/// last flagged final if `last_final` (an empty `data` is then one empty final chunk); returns
/// the sealed length.
fn seal_run<S: s3seal_gcm::ChunkSealer + Sync>(
    sealer: &S,
    first: u64,
    data: &[u8],
    last_final: bool,
    out: &mut [u8],
) -> Result<usize, EngineError> {
    let g = sealer.geometry();
    let (c, t) = (to_usize(g.chunk)?, to_usize(g.overhead)?);
    let chunks = data.len().div_ceil(c).max(usize::from(last_final));
    let len = data.len() + chunks * t;
    let index = |i: usize| u32::try_from(first + i as u64).map_err(|_| EngineError::LengthMismatch);
    let out = out.get_mut(..len).ok_or(EngineError::LengthMismatch)?;
    if data.is_empty() {
        if chunks == 1 {
            sealer.seal_chunk_once_to(index(0)?, true, &[], out)?;
        }
        return Ok(len);
    }
    out.par_chunks_mut(c + t)
        .zip(data.par_chunks(c))
        .enumerate()
        .try_for_each(|(i, (o, p))| {
            let last = last_final && i + 1 == chunks;
            Ok::<_, EngineError>(sealer.seal_chunk_once_to(index(i)?, last, p, o)?)
        })?;
    Ok(len)
}

/// The error of a stored part that ends before its layout says: a stream cut inside (or
/// before) its final chunk fails authentication, as a chunk-by-chunk reader would find;
/// other read errors are I/O errors.
fn cut_short(e: std::io::Error) -> EngineError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        EngineError::Integrity
    } else {
        e.into()
    }
}

/// Reads from `reader` until `buf` is full or the body ends; the bytes read.
fn fill<R: Read>(reader: &mut CountingReader<R>, buf: &mut [u8]) -> Result<usize, EngineError> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(reader.classify(e)),
        }
    }
    Ok(n)
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
