//! Per-mode key handling: minting the keys of a new object, unwrapping those of a stored one,
//! and authenticating its envelope.
//!
//! | mode | data key | envelope MAC key | KMS context of the blob |
//! |---|---|---|---|
//! | SSE-S3 | KMS data key under the store's SSE-S3 root key | the data key | object ARN + `s3seal:object-id` |
//! | SSE-KMS | KMS data key under the customer's key (or derived from a bucket key) | the data key | the request's context (bucket ARN with a bucket key) |
//! | DSSE-KMS | two KMS data keys, one per layer | the inner layer's key | the request's context |
//! | SSE-C (single PUT, copy) | HKDF of the customer key, salt and object identity | the data key | — (no KMS: decryptable anywhere with the customer key) |
//! | SSE-C (multipart) | as above | a server-managed manifest key (SSE-S3 root) | object ARN + `s3seal:object-id` |
//! | FSx | none | none (not authenticated) | — |

use s3seal_dsse::{DsseKeys, LayerRecord};
use s3seal_gcm::DataKey;
use s3seal_keycache::{DataKeyRequest, SseKind};
use s3seal_kms::{EncryptionContext, KeyRef, Requester, SSE_S3_ALIAS};
use s3seal_policy::{
    BucketKind, BucketPolicy, CustomerKey, Encryption, ObjectIdentity, derive_object_key,
};

use super::codec::Codec;
use super::{Engine, Request, random};
use crate::envelope::{Mode, ObjectEnvelope};
use crate::error::{EngineError, EnvelopeError};

/// The keys of one object: the codec of its bytes and the key of its envelope MAC (`None`
/// only for FSx, whose envelope is not authenticated).
pub(crate) struct ObjectKeys {
    pub(crate) codec: Codec,
    pub(crate) mac: Option<DataKey>,
}

/// The bytes that bind sealed parts to one object version: bucket, key and object id. The
/// sealed-stream format feeds them to HKDF (they are not a KMS encryption context).
pub(crate) fn object_binding(bucket: &str, key: &str, object_id: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + bucket.len() + key.len());
    out.extend_from_slice(b"s3seal/v1/object");
    for s in [bucket.as_bytes(), key.as_bytes()] {
        out.extend_from_slice(&(s.len() as u64).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.extend_from_slice(object_id);
    out
}

/// The KMS context of a server-managed key (SSE-S3 data key, SSE-C manifest key): the object
/// ARN and the object id, so a blob is bound to one object version.
fn server_context(bucket: &str, key: &str, object_id: &[u8; 16]) -> EncryptionContext {
    let mut ctx = EncryptionContext::for_object(bucket, key);
    ctx.insert("s3seal:object-id", hex::encode(object_id));
    ctx
}

/// The SSE-C data key of one object version.
fn customer_data_key(
    customer: &CustomerKey,
    salt: &[u8; 32],
    bucket: &str,
    key: &str,
    object_id: &[u8; 16],
) -> DataKey {
    let version = hex::encode(object_id);
    let identity = ObjectIdentity {
        bucket,
        key,
        version: &version,
    };
    derive_object_key(customer, salt, &identity)
}

fn default_kms_key(key: Option<&KeyRef>) -> KeyRef {
    key.cloned()
        .unwrap_or_else(|| KeyRef::AliasName(s3seal_kms::AWS_S3_MANAGED_ALIAS.to_owned()))
}

impl Engine {
    /// Who asks the KMS: the bucket owner's account.
    pub(crate) fn requester(&self, bucket: &BucketPolicy) -> Result<Requester, EngineError> {
        let bad_owner = |e: s3seal_kms::KeyIdError| EngineError::InvalidBucketOwner(e.to_string());
        let r = Requester::new(&bucket.owner_account).map_err(bad_owner)?;
        if self.config.bucket_owner_keys_only {
            return r
                .require_bucket_owner_key(&bucket.owner_account)
                .map_err(bad_owner);
        }
        Ok(r)
    }

    /// The ARN of this store's SSE-S3 root key for `bucket`'s owner, resolved once per account.
    fn sse_s3_arn(&self, bucket: &BucketPolicy) -> Result<String, EngineError> {
        let account = &bucket.owner_account;
        if let Some(arn) = self
            .sse_s3_arns
            .read()
            .ok()
            .and_then(|m| m.get(account).cloned())
        {
            return Ok(arn);
        }
        let arn = self.kms.sse_s3_key(&self.requester(bucket)?)?.arn;
        if let Ok(mut m) = self.sse_s3_arns.write() {
            m.insert(account.clone(), arn.clone());
        }
        Ok(arn)
    }

    /// A server-managed data key under the SSE-S3 root key, bound to one object version:
    /// `(key, blob, root key ARN, context)`.
    fn server_key(
        &self,
        requester: &Requester,
        bucket: &str,
        key: &str,
        object_id: &[u8; 16],
        size: u64,
    ) -> Result<(DataKey, Vec<u8>, String, EncryptionContext), EngineError> {
        let context = server_context(bucket, key, object_id);
        let req = DataKeyRequest::new(
            KeyRef::AliasName(SSE_S3_ALIAS.to_owned()),
            requester.clone(),
            context.clone(),
        );
        let m = self.cache.data_key(&req, size)?;
        Ok((
            m.data_key.clone(),
            m.ciphertext_blob().to_vec(),
            m.key_arn().to_owned(),
            context,
        ))
    }

    /// Mints the keys of a new object (or, with `upload`, of a multipart upload) under
    /// `target`, and its envelope with every key field set (no length, parts, ETag or MAC yet).
    /// `size` is the plaintext length if known (`u64::MAX` if not, which bypasses the encrypt
    /// cache).
    ///
    /// An SSE-C object written whole (PUT, copy) has its envelope MAC keyed by its own data key,
    /// derived from the customer key: it needs no KMS to read, so it opens in any store that is
    /// given the customer key. An SSE-C upload cannot: CompleteMultipartUpload carries no
    /// customer key (S3), so its MAC key is a server-managed manifest key under the SSE-S3 root.
    pub(crate) fn new_keys(
        &self,
        req: &Request<'_>,
        target: &Encryption,
        size: u64,
        upload: bool,
    ) -> Result<(ObjectKeys, ObjectEnvelope), EngineError> {
        let object_id = random::<16>()?;
        let requester = self.requester(req.bucket)?;
        let (bucket, key) = (req.bucket.name.as_str(), req.key);
        let mut env = ObjectEnvelope {
            mode: Mode::Fsx,
            bucket_key: false,
            upload: false,
            chunk: self.config.chunk,
            object_id,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            key_arn: String::new(),
            context: EncryptionContext::new(),
            key_material: Vec::new(),
            manifest_key: Vec::new(),
            salt: [0; 32],
            plaintext_len: 0,
            parts: Vec::new(),
            etag: String::new(),
            mac: [0; 32],
        };
        let keys = match target {
            Encryption::SseS3 => {
                let (data_key, blob, arn, context) =
                    self.server_key(&requester, bucket, key, &object_id, size)?;
                env.mode = Mode::SseS3;
                (env.key_arn, env.context, env.key_material) = (arn, context, blob);
                ObjectKeys {
                    codec: Codec::Single(data_key.clone()),
                    mac: Some(data_key),
                }
            }
            Encryption::SseKms {
                key: kms_key,
                context,
                bucket_key,
            } => {
                let key_ref = default_kms_key(kms_key.as_ref());
                env.mode = Mode::SseKms;
                // Directory buckets get one data key per object: their context is the bucket's
                // own ARN (s3express), which the key cache's bucket-key derivation does not make.
                let m = if *bucket_key && req.bucket.kind == BucketKind::GeneralPurpose {
                    let m = self.cache.bucket_data_key(
                        SseKind::SseKms,
                        &key_ref,
                        &requester,
                        bucket,
                    )?;
                    env.bucket_key = true;
                    env.context = EncryptionContext::for_bucket(bucket);
                    env.key_material = m.bucket_key_blob().to_vec();
                    env.key_arn = m.key_arn().to_owned();
                    env.salt = m.salt;
                    m.data_key.clone()
                } else {
                    env.context = context.clone();
                    let dk = DataKeyRequest::new(key_ref, requester, env.context.clone());
                    let m = self.cache.data_key(&dk, size)?;
                    env.key_material = m.ciphertext_blob().to_vec();
                    env.key_arn = m.key_arn().to_owned();
                    m.data_key.clone()
                };
                ObjectKeys {
                    codec: Codec::Single(m.clone()),
                    mac: Some(m),
                }
            }
            Encryption::DsseKms {
                key: kms_key,
                context,
            } => {
                env.mode = Mode::DsseKms;
                env.context = context.clone();
                // Straight to the KMS, twice: two independent data keys, never a cached one.
                let keys = DsseKeys::generate(
                    &*self.kms,
                    &default_kms_key(kms_key.as_ref()),
                    &requester,
                    &env.context,
                )?;
                env.key_material = keys
                    .record()
                    .to_bytes()
                    .map_err(|_| EnvelopeError::FieldTooLong)?;
                env.key_arn = keys.record().inner.key_arn.clone();
                ObjectKeys {
                    mac: Some(keys.inner_key().clone()),
                    codec: Codec::Dual(keys),
                }
            }
            Encryption::SseC { key: customer } => {
                env.mode = Mode::SseC;
                env.salt = random::<32>()?;
                env.key_material = customer.verifier(random::<32>()?).to_bytes().to_vec();
                let data_key = customer_data_key(customer, &env.salt, bucket, key, &object_id);
                let mac = if upload {
                    let (mac, blob, arn, _) =
                        self.server_key(&requester, bucket, key, &object_id, u64::MAX)?;
                    (env.key_arn, env.manifest_key) = (arn, blob);
                    mac
                } else {
                    data_key.clone()
                };
                ObjectKeys {
                    codec: Codec::Single(data_key),
                    mac: Some(mac),
                }
            }
            Encryption::Fsx => ObjectKeys {
                codec: Codec::Fsx,
                mac: None,
            },
        };
        Ok((keys, env))
    }

    /// Unwraps the keys of a stored object (or upload). `customer` is the verified SSE-C key;
    /// an SSE-C envelope without it yields [`Codec::MacOnly`] (enough to complete an upload).
    fn unwrap_keys(
        &self,
        env: &ObjectEnvelope,
        bucket: &BucketPolicy,
        customer: Option<&CustomerKey>,
    ) -> Result<ObjectKeys, EngineError> {
        // Server-managed keys must come from this store's SSE-S3 root key, whatever the envelope
        // says; customer KMS keys are asserted as recorded (and covered by the MAC). An SSE-C
        // envelope without a manifest key names no KMS key at all.
        let server_managed = match env.mode {
            Mode::SseS3 => true,
            Mode::SseC => !env.manifest_key.is_empty(),
            _ => false,
        };
        if server_managed && env.key_arn != self.sse_s3_arn(bucket)? {
            return Err(EngineError::Integrity);
        }
        let arn = Some(env.key_arn.as_str());
        Ok(match env.mode {
            Mode::SseS3 | Mode::SseKms => {
                let key = if env.bucket_key {
                    self.cache
                        .open_bucket_data_key(&env.bucket, &env.key_material, &env.salt, arn)?
                        .plaintext
                } else {
                    self.cache
                        .decrypt_data_key(&env.key_material, &env.context, arn)?
                        .plaintext
                };
                ObjectKeys {
                    codec: Codec::Single(key.clone()),
                    mac: Some(key),
                }
            }
            Mode::DsseKms => {
                let record = LayerRecord::from_bytes(&env.key_material)
                    .map_err(|_| EngineError::Integrity)?;
                // An upload's keys seal its parts: the outer key, which the MAC does not
                // cover, is checked with a second Decrypt (`unwrap_for_writing`).
                let keys = if env.upload {
                    DsseKeys::unwrap_for_writing(&*self.kms, &record, &env.context)?
                } else {
                    DsseKeys::unwrap(&*self.kms, &record, &env.context)?
                };
                ObjectKeys {
                    mac: Some(keys.inner_key().clone()),
                    codec: Codec::Dual(keys),
                }
            }
            Mode::SseC if env.manifest_key.is_empty() => {
                // Keyed by the customer key alone: its MAC cannot be checked without it.
                if !env.key_arn.is_empty() {
                    return Err(EngineError::Integrity);
                }
                let c = customer.ok_or(EngineError::CustomerKeyRequired)?;
                let key = customer_data_key(c, &env.salt, &env.bucket, &env.key, &env.object_id);
                ObjectKeys {
                    codec: Codec::Single(key.clone()),
                    mac: Some(key),
                }
            }
            Mode::SseC => {
                let server_ctx = server_context(&env.bucket, &env.key, &env.object_id);
                let mac = self
                    .cache
                    .decrypt_data_key(&env.manifest_key, &server_ctx, arn)?
                    .plaintext;
                let codec = match customer {
                    Some(c) => Codec::Single(customer_data_key(
                        c,
                        &env.salt,
                        &env.bucket,
                        &env.key,
                        &env.object_id,
                    )),
                    None => Codec::MacOnly,
                };
                ObjectKeys {
                    codec,
                    mac: Some(mac),
                }
            }
            Mode::Fsx => ObjectKeys {
                codec: Codec::Fsx,
                mac: None,
            },
        })
    }

    /// Checks that a parsed envelope belongs to `bucket`/`key` and is an upload or an object as
    /// expected, unwraps its keys and checks its MAC over `raw` (the bytes it was parsed from).
    pub(crate) fn open_envelope(
        &self,
        env: &ObjectEnvelope,
        raw: &[u8],
        bucket: &BucketPolicy,
        want_upload: bool,
        customer: Option<&CustomerKey>,
    ) -> Result<ObjectKeys, EngineError> {
        // An upload's envelope is never an object, nor an object's an upload.
        if env.upload != want_upload || (env.upload && env.is_multipart()) {
            return Err(EngineError::Integrity);
        }
        // FSx data is stored as the file system keeps it, unauthenticated by us: such an
        // envelope is only believed on an FSx access point, and only there.
        if (env.mode == Mode::Fsx) != (bucket.kind == BucketKind::FsxAccessPoint) {
            return Err(EngineError::Integrity);
        }
        let keys = self.unwrap_keys(env, bucket, customer)?;
        match &keys.mac {
            Some(mac) => ObjectEnvelope::verify_mac(raw, mac, &env.object_id)?,
            None if env.mode == Mode::Fsx => {}
            None => return Err(EngineError::Integrity),
        }
        Ok(keys)
    }
}

/// Parses an envelope and checks that it names `bucket`/`key`: the bytes were not moved.
pub(crate) fn parse_envelope(
    raw: &[u8],
    bucket: &BucketPolicy,
    key: &str,
) -> Result<ObjectEnvelope, EngineError> {
    let env = ObjectEnvelope::from_bytes(raw)?;
    if env.bucket != bucket.name || env.key != key {
        return Err(EngineError::ObjectMoved);
    }
    Ok(env)
}
