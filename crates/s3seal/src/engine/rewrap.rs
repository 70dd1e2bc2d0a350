//! Moving an object to another KMS key without touching its data: the wrapped data key is
//! re-encrypted in the KMS and the envelope rewritten under its MAC.

use s3seal_dsse::LayerRecord;
use s3seal_kms::{KeyRef, KmsError};
use s3seal_policy::{Encryption, WriteOp};

use super::keys::parse_envelope;
use super::{Committed, Engine, Request};
use crate::envelope::Mode;
use crate::error::{EngineError, EnvelopeError};

impl Engine {
    /// UpdateObjectEncryption: moves an SSE-S3 or SSE-KMS object to another KMS key (or a
    /// DSSE-KMS object to another key) by re-encrypting its wrapped data key in the KMS. The
    /// sealed bytes, ETag and sizes do not change; the envelope is rewritten under its MAC.
    /// `req.headers` carry the new encryption (`x-amz-server-side-encryption: aws:kms`, key id).
    ///
    /// # Errors
    /// [`EngineError::NotSupported`] for SSE-C and FSx objects, for a target that is not
    /// SSE-KMS (DSSE-KMS for DSSE objects), or a change of the bucket-key setting; policy and
    /// KMS errors; [`KmsError::InconsistentDataKey`] if the re-encrypted blob does not unwrap
    /// to the object's data key (the new envelope does not open: nothing to store).
    pub fn rewrap(&self, req: &Request<'_>, envelope: &[u8]) -> Result<Committed, EngineError> {
        let mut env = parse_envelope(envelope, req.bucket, req.key)?;
        // Refused before the envelope is opened: an SSE-C envelope may need the customer key
        // to open, and rewrap never has it.
        if matches!(env.mode, Mode::SseC | Mode::Fsx) {
            return Err(EngineError::NotSupported(
                "rewrap applies to SSE-S3/SSE-KMS → SSE-KMS and DSSE-KMS → DSSE-KMS",
            ));
        }
        let keys = self.open_envelope(&env, envelope, req.bucket, false, None)?;
        let plan = self.write_plan(req, WriteOp::PutObject)?;
        let requester = self.requester(req.bucket)?;
        let default_key = || KeyRef::AliasName(s3seal_kms::AWS_S3_MANAGED_ALIAS.to_owned());
        match (env.mode, plan.target) {
            (
                Mode::SseS3 | Mode::SseKms,
                Some(Encryption::SseKms {
                    key,
                    context,
                    bucket_key,
                }),
            ) => {
                if bucket_key != env.bucket_key {
                    return Err(EngineError::NotSupported(
                        "the bucket-key setting cannot change on rewrap",
                    ));
                }
                // A bucket-key object keeps its bucket context; otherwise the new object context.
                let new_ctx = if env.bucket_key {
                    env.context.clone()
                } else {
                    context
                };
                let r = self.kms.re_encrypt(
                    &env.key_material,
                    &env.context,
                    &key.unwrap_or_else(default_key),
                    &requester,
                    &new_ctx,
                )?;
                env.mode = Mode::SseKms;
                env.key_arn = r.key_arn;
                env.key_material = r.ciphertext_blob;
                env.context = new_ctx;
            }
            (Mode::DsseKms, Some(Encryption::DsseKms { key, context })) => {
                let key = key.unwrap_or_else(default_key);
                let new_ctx = context;
                let mut record = LayerRecord::from_bytes(&env.key_material)
                    .map_err(|_| EngineError::Integrity)?;
                for layer in [&mut record.inner, &mut record.outer] {
                    let r = self.kms.re_encrypt(
                        &layer.wrapped,
                        &env.context,
                        &key,
                        &requester,
                        &new_ctx,
                    )?;
                    layer.wrapped = r.ciphertext_blob;
                    layer.key_arn = r.key_arn;
                }
                env.key_arn = record.inner.key_arn.clone();
                env.key_material = record.to_bytes().map_err(|_| EnvelopeError::FieldTooLong)?;
                env.context = new_ctx;
            }
            _ => {
                return Err(EngineError::NotSupported(
                    "rewrap applies to SSE-S3/SSE-KMS → SSE-KMS and DSSE-KMS → DSSE-KMS",
                ));
            }
        }
        env.seal_mac(keys.mac.as_ref())?;
        let envelope_bytes = env.to_bytes()?;
        // The KMS's answer is input from outside: the new envelope must open (its blobs unwrap
        // to the object's data key, which its MAC checks) before it is handed back to replace
        // the old one, or the object would be left unreadable.
        match self.open_envelope(&env, &envelope_bytes, req.bucket, false, None) {
            Ok(_) => {}
            Err(EngineError::Kms(e)) if e.is_retryable() || e.is_key_state() => {
                return Err(EngineError::Kms(e));
            }
            Err(_) => return Err(EngineError::Kms(KmsError::InconsistentDataKey)),
        }
        Ok(Committed {
            headers: self.headers(&env, None)?,
            envelope_bytes,
            envelope: env,
        })
    }
}
