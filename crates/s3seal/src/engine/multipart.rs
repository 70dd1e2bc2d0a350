//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload. The engine owns the upload's state (see `upload.rs`): every call
//! takes the state the previous one returned, and the backend keeps it between calls
//! (serializing the calls of one upload: each returns the state to keep next).

use std::io::{Read, Write};
use std::ops::Range;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal_gcm::PartNumber;
use s3seal_policy::{
    CustomerKey, Encryption, StoredEncryption, WriteOp, WritePlan, response_headers,
};

use super::keys::{ObjectKeys, object_binding, parse_envelope};
use super::object::{CountingReader, part_digest};
use super::upload::{PartRecord, UploadState};
use super::{
    Committed, CompletedPart, Engine, ListedPart, Request, SealedPart, StoredObject, Upload,
    opaque_etag, stored_encryption,
};
use crate::envelope::{ManifestPart, Mode, ObjectEnvelope};
use crate::error::EngineError;

/// Largest part S3 accepts: 5 GiB.
const MAX_PART_SIZE: u64 = 5 << 30;

fn customer_of(plan: &WritePlan) -> Option<&CustomerKey> {
    match &plan.target {
        Some(Encryption::SseC { key }) => Some(key),
        _ => None,
    }
}

fn with_etag(mut headers: HeaderMap, etag: &str) -> HeaderMap {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(http::header::ETAG, v);
    }
    headers
}

/// A part number UploadPart accepts: 1..=10000.
fn upload_part_number(n: u32) -> Result<PartNumber, EngineError> {
    match PartNumber::new(n) {
        Ok(p) if p != PartNumber::SINGLE => Ok(p),
        _ => Err(EngineError::InvalidPart),
    }
}

/// Records a sealed part (its plaintext size, sealed header and, for SSE-S3, MD5) as the
/// latest upload of its number and returns it with the new state.
fn finish_part(
    mut up: Opened,
    part: PartNumber,
    size: u64,
    header: Bytes,
    md5: Option<[u8; 16]>,
    sealed: Bytes,
) -> Result<SealedPart, EngineError> {
    let record = PartRecord {
        number: part,
        size,
        digest: part_digest(&header),
        md5,
    };
    up.state.record(record)?;
    let etag = record.etag();
    Ok(SealedPart {
        part_number: part.get(),
        sealed,
        header,
        upload_tag: hex::encode(record.digest),
        plaintext_len: size,
        headers: with_etag(
            response_headers(&stored_encryption(&up.env)?, customer_of(&up.plan))?,
            &etag,
        ),
        etag,
        state: up.state.to_bytes(up.keys.mac.as_ref(), &up.env.object_id)?,
    })
}

/// Writes through to `inner`, keeping the first `want` bytes (a sealed part's header).
struct HeaderTap<W> {
    inner: W,
    want: usize,
    header: Vec<u8>,
}

impl<W: Write> Write for HeaderTap<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let keep = (self.want - self.header.len()).min(n);
        self.header.extend_from_slice(&buf[..keep]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An upload opened for one call: its state, envelope and keys, authenticated.
pub(crate) struct Opened {
    state: UploadState,
    env: ObjectEnvelope,
    pub(crate) keys: ObjectKeys,
    plan: WritePlan,
}

impl Engine {
    /// CreateMultipartUpload: chooses the upload's encryption and makes its data key. The
    /// returned state goes to every later call of the upload.
    ///
    /// # Errors
    /// As [`Self::put_object`].
    pub fn create_multipart_upload(&self, req: &Request<'_>) -> Result<Upload, EngineError> {
        let plan = self.write_plan(req, WriteOp::CreateMultipartUpload)?;
        let target = plan.target.as_ref().ok_or(EngineError::NotSupported(
            "CreateMultipartUpload without a target",
        ))?;
        let (keys, mut env) = self.new_keys(req, target, u64::MAX, true)?;
        env.upload = true;
        env.seal_mac(keys.mac.as_ref())?;
        let state = UploadState {
            envelope: env.to_bytes()?,
            parts: Vec::new(),
        };
        Ok(Upload {
            state: state.to_bytes(keys.mac.as_ref(), &env.object_id)?,
            headers: response_headers(&stored_encryption(&env)?, customer_of(&plan))?,
        })
    }

    /// Parses and authenticates an upload's state and envelope once, with the request checked
    /// by `op` against the upload's encryption.
    pub(crate) fn open_upload(
        &self,
        req: &Request<'_>,
        raw: &[u8],
        op: impl FnOnce(&StoredEncryption) -> Result<WritePlan, EngineError>,
    ) -> Result<Opened, EngineError> {
        let state = UploadState::from_bytes(raw)?;
        // Another object's state, or a finished object's envelope: not an upload of this key.
        let env = match parse_envelope(&state.envelope, req.bucket, req.key) {
            Ok(env) if env.upload => env,
            Ok(_) | Err(EngineError::ObjectMoved) => return Err(EngineError::NoSuchUpload),
            Err(e) => return Err(e),
        };
        let plan = op(&stored_encryption(&env)?)?;
        let keys =
            self.open_envelope(&env, &state.envelope, req.bucket, true, customer_of(&plan))?;
        UploadState::verify(raw, keys.mac.as_ref(), &env.object_id)?;
        Ok(Opened {
            state,
            env,
            keys,
            plan,
        })
    }

    /// Seals a part, records it as the latest upload of its number, and returns it with the
    /// new state.
    pub(crate) fn seal_upload_part(
        &self,
        up: Opened,
        part_number: u32,
        data: &[u8],
    ) -> Result<SealedPart, EngineError> {
        let part = upload_part_number(part_number)?;
        let env = &up.env;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let seal = || {
            self.run(data.len(), || {
                up.keys.codec.seal(&binding, part, env.chunk, data)
            })
        };
        // SSE-S3 parts' ETag is the MD5 of their data, hashed beside the sealing.
        let (md5, sealed) = if self.md5_etag(env.mode) {
            let (m, s) = rayon::join(|| <[u8; 16]>::from(Md5::digest(data)), seal);
            (Some(m), s)
        } else {
            (None, seal())
        };
        let sealed = sealed?;
        let header = super::codec::geometry(env.mode, env.chunk)
            .header_of(&sealed)
            .ok_or(EngineError::LengthMismatch)?;
        let header = sealed.slice_ref(header);
        finish_part(up, part, data.len() as u64, header, md5, sealed)
    }

    /// UploadPart from a reader to a writer: as [`Self::upload_part`], with memory bounded by
    /// chunk size × threads whatever the part's size. The sealed bytes go to `out` (the
    /// returned part's `sealed` is empty); on error, whatever was written to `out` must be
    /// discarded.
    ///
    /// # Errors
    /// As [`Self::upload_part`]; [`EngineError::IncompleteBody`] if reading `body` fails,
    /// [`EngineError::Io`] if writing `out` fails.
    pub fn upload_part_stream(
        &self,
        req: &Request<'_>,
        state: &[u8],
        part_number: u32,
        body: impl Read + Send,
        out: impl Write + Send,
    ) -> Result<SealedPart, EngineError> {
        let up = self.open_upload(req, state, |u| {
            self.write_plan(req, WriteOp::UploadPart { upload: u })
        })?;
        let part = upload_part_number(part_number)?;
        let env = &up.env;
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let header_len = usize::try_from(super::codec::geometry(env.mode, env.chunk).header)
            .map_err(|_| EngineError::LengthMismatch)?;
        let mut tap = HeaderTap {
            inner: out,
            want: header_len,
            header: Vec::with_capacity(header_len),
        };
        let mut reader = CountingReader {
            inner: body,
            md5: self.md5_etag(env.mode).then(Md5::new),
            count: 0,
            body_failed: false,
        };
        let sealer = up.keys.codec.sealer(&binding, part, env.chunk)?;
        self.pump(&mut reader, &sealer, &mut tap)?;
        if tap.header.len() != header_len {
            return Err(EngineError::LengthMismatch);
        }
        let md5 = reader.md5.take().map(|h| <[u8; 16]>::from(h.finalize()));
        let header = Bytes::from(tap.header);
        finish_part(up, part, reader.count, header, md5, Bytes::new())
    }

    /// ListParts: the latest upload of each part number, ascending. No SSE-C key is needed.
    ///
    /// # Errors
    /// [`EngineError::NoSuchUpload`] for a state that is not an upload of this key.
    pub fn list_parts(
        &self,
        req: &Request<'_>,
        state: &[u8],
    ) -> Result<Vec<ListedPart>, EngineError> {
        let up = self.open_upload(req, state, |u| {
            self.write_plan(req, WriteOp::CompleteMultipartUpload { upload: u })
        })?;
        Ok(up
            .state
            .parts
            .iter()
            .map(|p| ListedPart {
                part_number: p.number.get(),
                size: p.size,
                etag: p.etag(),
                upload_tag: hex::encode(p.digest),
            })
            .collect())
    }

    /// UploadPart: seals part `part_number` (1..=10000) of the upload with fresh salts and
    /// records it in the upload's state (an earlier upload of the number is replaced). SSE-C
    /// uploads need the key triple on every part. Keep the returned state for the next call.
    ///
    /// # Errors
    /// [`EngineError::Policy`] (e.g. an SSE-C upload part without its key);
    /// [`EngineError::InvalidPart`] for a part number outside 1..=10000;
    /// [`EngineError::NoSuchUpload`] for a state that is not an upload of this key.
    pub fn upload_part(
        &self,
        req: &Request<'_>,
        state: &[u8],
        part_number: u32,
        body: &[u8],
    ) -> Result<SealedPart, EngineError> {
        let up = self.open_upload(req, state, |u| {
            self.write_plan(req, WriteOp::UploadPart { upload: u })
        })?;
        self.seal_upload_part(up, part_number, body)
    }

    /// UploadPartCopy: copies plaintext `range` (or all) of `src` into part `part_number`.
    ///
    /// # Errors
    /// As [`Self::upload_part`] and [`Self::get_object`].
    pub fn upload_part_copy(
        &self,
        req: &Request<'_>,
        state: &[u8],
        part_number: u32,
        src: &StoredObject<'_>,
        range: Option<Range<u64>>,
    ) -> Result<SealedPart, EngineError> {
        let src_env = parse_envelope(src.envelope, src.bucket, src.key)?;
        let source = stored_encryption(&src_env)?;
        let up = self.open_upload(req, state, |u| {
            self.write_plan(
                req,
                WriteOp::UploadPartCopy {
                    upload: u,
                    source: &source,
                },
            )
        })?;
        let data = self.read_source(src, &src_env, up.plan.source_key.as_ref(), range)?;
        self.seal_upload_part(up, part_number, &data)
    }

    /// Records `part` (sealed by [`Self::upload_part`] from any state of this upload) in
    /// `state`, as the latest upload of its number: for a backend that seals parts
    /// concurrently and then records them one at a time. Returns the state to keep.
    ///
    /// # Errors
    /// [`EngineError::NoSuchUpload`]; [`EngineError::InvalidPart`] for a part that is not a
    /// sealed part of an upload (no header, or a bad number).
    pub fn record_part(
        &self,
        req: &Request<'_>,
        state: &[u8],
        part: &SealedPart,
    ) -> Result<Vec<u8>, EngineError> {
        let mut up = self.open_upload(req, state, |u| {
            self.write_plan(req, WriteOp::CompleteMultipartUpload { upload: u })
        })?;
        let number = PartNumber::new(part.part_number).map_err(|_| EngineError::InvalidPart)?;
        let header_len = super::codec::geometry(up.env.mode, up.env.chunk).header;
        if part.header.len() as u64 != header_len {
            return Err(EngineError::InvalidPart);
        }
        let digest = part_digest(&part.header);
        let md5 = if self.md5_etag(up.env.mode) {
            let mut m = [0u8; 16];
            hex::decode_to_slice(&part.etag, &mut m).map_err(|_| EngineError::InvalidPart)?;
            Some(m)
        } else {
            None
        };
        up.state.record(PartRecord {
            number,
            size: part.plaintext_len,
            digest,
            md5,
        })?;
        up.state.to_bytes(up.keys.mac.as_ref(), &up.env.object_id)
    }

    /// CompleteMultipartUpload: checks the client's part list against the upload's state and
    /// records the manifest (the latest upload of each named part, in order) in the object's
    /// envelope under its MAC. The backend stores those parts' sealed bytes back to back in
    /// this order. No SSE-C key is needed; if one is sent it must match, and its MD5 is echoed.
    ///
    /// # Errors
    /// [`EngineError::InvalidPart`] for an empty list, a part not uploaded or an ETag that is
    /// not the latest upload's; [`EngineError::InvalidPartOrder`] for a list not in ascending
    /// order; [`EngineError::EntityTooSmall`] for a part but the last below the minimum size;
    /// [`EngineError::NoSuchUpload`] for a state that is not an upload of this key.
    pub fn complete_multipart_upload(
        &self,
        req: &Request<'_>,
        state: &[u8],
        parts: &[CompletedPart],
    ) -> Result<Committed, EngineError> {
        let up = self.open_upload(req, state, |u| {
            self.write_plan(req, WriteOp::CompleteMultipartUpload { upload: u })
        })?;
        if parts.is_empty() || parts.len() > super::upload::MAX_PARTS {
            return Err(EngineError::InvalidPart);
        }
        // The list's order is checked first, as S3 does, before any part's own checks.
        if parts
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
        {
            return Err(EngineError::InvalidPartOrder);
        }
        let mut manifest: Vec<ManifestPart> = Vec::with_capacity(parts.len());
        let mut md5s = Md5::new();
        let mut total = 0u64;
        for (i, p) in parts.iter().enumerate() {
            let number = PartNumber::new(p.part_number).map_err(|_| EngineError::InvalidPart)?;
            let rec = up.state.part(number).ok_or(EngineError::InvalidPart)?;
            if !p.etag.trim_matches('"').eq_ignore_ascii_case(&rec.etag()) {
                return Err(EngineError::InvalidPart);
            }
            if rec.size > MAX_PART_SIZE {
                return Err(EngineError::EntityTooLarge);
            }
            if i + 1 < parts.len() && rec.size < self.config.min_part_size {
                return Err(EngineError::EntityTooSmall);
            }
            if let Some(m) = rec.md5 {
                md5s.update(m);
            }
            total = total
                .checked_add(rec.size)
                .ok_or(EngineError::EntityTooLarge)?;
            manifest.push(ManifestPart {
                number,
                size: rec.size,
                digest: rec.digest,
            });
        }
        let mut env = up.env;
        // S3: the MD5 of the parts' MD5s for SSE-S3 uploads; an opaque value otherwise.
        let etag = if self.md5_etag(env.mode) {
            hex::encode(md5s.finalize())
        } else {
            opaque_etag()?
        };
        env.upload = false;
        env.plaintext_len = total;
        env.etag = format!("{etag}-{}", manifest.len());
        env.parts = manifest;
        env.seal_mac(up.keys.mac.as_ref())?;
        let customer = match env.mode {
            Mode::SseC => up.plan.upload_key.as_ref(),
            _ => None,
        };
        Ok(Committed {
            headers: self.headers(&env, customer)?,
            envelope_bytes: env.to_bytes()?,
            envelope: env,
        })
    }
}
