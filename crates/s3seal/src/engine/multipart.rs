//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload. The upload's state is its envelope (flag `upload`), which every
//! later call takes back.

use std::ops::Range;

use http::HeaderMap;
use s3seal_gcm::PartNumber;
use s3seal_policy::{
    CustomerKey, Encryption, StoredEncryption, WriteOp, WritePlan, response_headers,
};

use super::keys::{ObjectKeys, object_binding, parse_envelope};
use super::object::part_digest;
use super::{
    CompletedPart, Engine, Request, SealedPart, StoredObject, Upload, opaque_etag,
    stored_encryption,
};
use crate::envelope::{ManifestPart, ObjectEnvelope, PART_DIGEST_LEN};
use crate::error::EngineError;

/// Largest part S3 accepts: 5 GiB.
const MAX_PART_SIZE: u64 = 5 << 30;

/// Most parts of one upload.
const MAX_PARTS: usize = 10_000;

fn customer_of(plan: &WritePlan) -> Option<&CustomerKey> {
    match &plan.target {
        Some(Encryption::SseC { key }) => Some(key),
        _ => None,
    }
}

impl Engine {
    /// CreateMultipartUpload: chooses the upload's encryption and makes its data key.
    ///
    /// # Errors
    /// As [`Self::put_object`].
    pub fn create_multipart_upload(&self, req: &Request<'_>) -> Result<Upload, EngineError> {
        let plan = self.write_plan(req, WriteOp::CreateMultipartUpload)?;
        let target = plan.target.as_ref().ok_or(EngineError::NotSupported(
            "CreateMultipartUpload without a target",
        ))?;
        let (keys, mut env) = self.new_keys(req, target, u64::MAX)?;
        env.upload = true;
        env.seal_mac(keys.mac.as_ref())?;
        let headers = response_headers(&stored_encryption(&env)?, customer_of(&plan))?;
        Ok(Upload {
            envelope_bytes: env.to_bytes()?,
            envelope: env,
            headers,
        })
    }

    /// Parses and authenticates an upload's envelope once, with the request checked by `op`
    /// against the upload's encryption.
    fn open_upload(
        &self,
        req: &Request<'_>,
        upload: &[u8],
        op: impl FnOnce(&StoredEncryption) -> Result<WritePlan, EngineError>,
    ) -> Result<(ObjectEnvelope, ObjectKeys, WritePlan), EngineError> {
        let env = parse_envelope(upload, req.bucket, req.key)?;
        if !env.upload {
            return Err(EngineError::Integrity);
        }
        let plan = op(&stored_encryption(&env)?)?;
        let keys = self.open_envelope(&env, upload, req.bucket, true, customer_of(&plan))?;
        Ok((env, keys, plan))
    }

    pub(crate) fn seal_upload_part(
        &self,
        env: &ObjectEnvelope,
        keys: &ObjectKeys,
        part_number: u32,
        data: &[u8],
        customer: Option<&CustomerKey>,
    ) -> Result<SealedPart, EngineError> {
        let part = PartNumber::new(part_number).map_err(|_| EngineError::InvalidPart)?;
        if part == PartNumber::SINGLE {
            return Err(EngineError::InvalidPart);
        }
        let binding = object_binding(&env.bucket, &env.key, &env.object_id);
        let sealed = self.run(data.len(), || {
            keys.codec.seal(&binding, part, env.chunk, data)
        })?;
        let digest = part_digest(
            super::codec::geometry(env.mode, env.chunk)
                .header_of(&sealed)
                .ok_or(EngineError::LengthMismatch)?,
        );
        Ok(SealedPart {
            part_number,
            sealed,
            plaintext_len: data.len() as u64,
            etag: hex::encode(digest),
            headers: response_headers(&stored_encryption(env)?, customer)?,
        })
    }

    /// UploadPart: seals part `part_number` (1..=10000) of the upload; each call, and each
    /// re-upload of a part, gets fresh salts. SSE-C uploads need the key triple on every part.
    ///
    /// # Errors
    /// [`EngineError::Policy`] (e.g. an SSE-C upload part without its key);
    /// [`EngineError::InvalidPart`] for a part number outside 1..=10000.
    pub fn upload_part(
        &self,
        req: &Request<'_>,
        upload: &[u8],
        part_number: u32,
        body: &[u8],
    ) -> Result<SealedPart, EngineError> {
        let (env, keys, plan) = self.open_upload(req, upload, |u| {
            self.write_plan(req, WriteOp::UploadPart { upload: u })
        })?;
        self.seal_upload_part(&env, &keys, part_number, body, customer_of(&plan))
    }

    /// UploadPartCopy: copies plaintext `range` (or all) of `src` into part `part_number`.
    ///
    /// # Errors
    /// As [`Self::upload_part`] and [`Self::get_object`].
    pub fn upload_part_copy(
        &self,
        req: &Request<'_>,
        upload: &[u8],
        part_number: u32,
        src: &StoredObject<'_>,
        range: Option<Range<u64>>,
    ) -> Result<SealedPart, EngineError> {
        let src_env = parse_envelope(src.envelope, src.bucket, src.key)?;
        let source = stored_encryption(&src_env)?;
        let (env, keys, plan) = self.open_upload(req, upload, |u| {
            self.write_plan(
                req,
                WriteOp::UploadPartCopy {
                    upload: u,
                    source: &source,
                },
            )
        })?;
        let data = self.read_source(src, &src_env, plan.source_key.as_ref(), range)?;
        self.seal_upload_part(&env, &keys, part_number, &data, customer_of(&plan))
    }

    /// CompleteMultipartUpload: records the manifest (part numbers and plaintext sizes, in
    /// order) in the object's envelope under its MAC. The backend stores the parts' sealed
    /// bytes back to back in this order. No SSE-C key is needed.
    ///
    /// # Errors
    /// [`EngineError::InvalidPart`] for an empty, unordered or out-of-range list;
    /// [`EngineError::EntityTooSmall`] for a part but the last below the minimum size;
    /// [`EngineError::EntityTooLarge`] for a part above 5 GiB.
    pub fn complete_multipart_upload(
        &self,
        req: &Request<'_>,
        upload: &[u8],
        parts: &[CompletedPart],
    ) -> Result<(ObjectEnvelope, Vec<u8>, HeaderMap), EngineError> {
        let (mut env, keys, _) = self.open_upload(req, upload, |u| {
            self.write_plan(req, WriteOp::CompleteMultipartUpload { upload: u })
        })?;
        if parts.is_empty() || parts.len() > MAX_PARTS {
            return Err(EngineError::InvalidPart);
        }
        let mut manifest: Vec<ManifestPart> = Vec::with_capacity(parts.len());
        let mut total = 0u64;
        for (i, p) in parts.iter().enumerate() {
            let number = PartNumber::new(p.part_number).map_err(|_| EngineError::InvalidPart)?;
            if p.part_number == 0 || manifest.last().is_some_and(|m| m.number >= number) {
                return Err(EngineError::InvalidPart);
            }
            if p.size > MAX_PART_SIZE {
                return Err(EngineError::EntityTooLarge);
            }
            if i + 1 < parts.len() && p.size < self.config.min_part_size {
                return Err(EngineError::EntityTooSmall);
            }
            let mut digest = [0u8; PART_DIGEST_LEN];
            hex::decode_to_slice(p.etag.trim_matches('"'), &mut digest)
                .map_err(|_| EngineError::InvalidPart)?;
            total = total
                .checked_add(p.size)
                .ok_or(EngineError::EntityTooLarge)?;
            manifest.push(ManifestPart {
                number,
                size: p.size,
                digest,
            });
        }
        env.upload = false;
        env.plaintext_len = total;
        env.etag = format!("{}-{}", opaque_etag()?, manifest.len());
        env.parts = manifest;
        env.seal_mac(keys.mac.as_ref())?;
        let headers = self.headers(&env, None)?;
        let bytes = env.to_bytes()?;
        Ok((env, bytes, headers))
    }
}
