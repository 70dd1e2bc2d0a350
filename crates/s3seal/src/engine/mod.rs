//! The [`Engine`]: what a storage backend calls for each S3 operation.
//!
//! The engine never stores anything. A write returns the sealed bytes and the
//! [`ObjectEnvelope`](crate::ObjectEnvelope) to store beside them; a read takes them back. S3's
//! rules come from `s3seal-policy`, data keys from the KMS through `s3seal-keycache`, sealing
//! from `s3seal-gcm` (one layer) and `s3seal-dsse` (two layers), all CPU work on the engine's
//! rayon pool.
//!
//! Where each job lives:
//!
//! | module | job |
//! |---|---|
//! | `builder` | [`EngineConfig`], [`EngineBuilder`] |
//! | `types` | request and response types of the operations |
//! | `keys` | per-mode keys: minting a new object's keys, unwrapping a stored object's, the envelope MAC |
//! | `codec` | the one value per object that seals and opens its bytes (one layer, two layers, FSx) |
//! | `object` | PutObject, GetObject, HeadObject, CopyObject (buffers and streams), [`parse_range`] |
//! | `read` | ranged reads from stored byte spans: [`ReadPlan`] |
//! | `multipart` | CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload |
//! | `upload` | the upload state the engine owns and a backend keeps |
//! | `rewrap` | moving an object to another KMS key without touching its data |

mod builder;
mod codec;
mod keys;
mod multipart;
mod object;
mod pipe;
mod read;
mod rewrap;
mod types;
mod upload;

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use s3seal_gcm::fill_random;
use s3seal_keycache::KeyCache;
use s3seal_kms::Kms;
use s3seal_policy::{
    CustomerKey, KeyVerifier, StoredEncryption, WriteOp, WritePlan, WriteRequest, resolve_write,
    response_headers,
};

use crate::envelope::{Mode, ObjectEnvelope};
use crate::error::{EngineError, EnvelopeError};

pub use builder::{EngineBuilder, EngineConfig};
pub use object::parse_range;
pub use read::ReadPlan;
pub use types::{
    Committed, CompletedPart, ListedPart, Opened, ReadInfo, Request, SealedPart, StoredObject,
    Upload, Written,
};
pub use upload::{PartRecord, UploadState};

/// The engine a storage backend calls. `Send + Sync`; share it in an `Arc`.
pub struct Engine {
    kms: Arc<dyn Kms>,
    /// The embedded KMS, when the builder opened it.
    local: Option<Arc<s3seal_kms::LocalKms>>,
    cache: KeyCache,
    /// SSE-S3 root key ARN per account, resolved once.
    sse_s3_arns: std::sync::RwLock<std::collections::HashMap<String, String>>,
    pool: rayon::ThreadPool,
    config: EngineConfig,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("threads", &self.pool.current_num_threads())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// The engine's settings.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The KMS behind the engine.
    #[must_use]
    pub fn kms(&self) -> &Arc<dyn Kms> {
        &self.kms
    }

    /// The embedded KMS behind the engine, when [`EngineBuilder::local`] opened it: create,
    /// describe, rotate or disable keys and aliases through it.
    #[must_use]
    pub fn local_kms(&self) -> Option<&Arc<s3seal_kms::LocalKms>> {
        self.local.as_ref()
    }

    /// Whether the request counts as arriving over TLS: as the caller says, or always when
    /// the configuration allows SSE-C without TLS (loopback testing).
    fn secure(&self, req: &Request<'_>) -> bool {
        req.secure_transport || self.config.allow_insecure_sse_c
    }

    /// The key cache (for its statistics).
    #[must_use]
    pub fn key_cache(&self) -> &KeyCache {
        &self.cache
    }

    /// Threads in the engine's pool.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `f` on the engine's pool without blocking the caller.
    #[cfg(feature = "async")]
    pub(crate) fn spawn(&self, f: impl FnOnce() + Send + 'static) {
        self.pool.spawn(f);
    }

    /// Runs `f` on the engine's pool, or for small inputs on the caller's thread: handing work
    /// to the pool costs a thread wake-up, more than sealing a few chunks.
    fn run<T: Send>(&self, bytes: usize, f: impl FnOnce() -> T + Send) -> T {
        if !s3seal_gcm::worth_parallel(bytes) {
            f()
        } else {
            self.pool.install(f)
        }
    }

    /// Resolves the encryption of a write: request headers over the bucket default.
    fn write_plan(&self, req: &Request<'_>, op: WriteOp<'_>) -> Result<WritePlan, EngineError> {
        Ok(resolve_write(&WriteRequest {
            op,
            bucket: req.bucket,
            object_key: req.key,
            headers: req.headers,
            secure_transport: self.secure(req),
            alias_policy: self.config.alias_policy,
        })?)
    }

    /// The response headers of a stored object: its encryption headers and `ETag`.
    fn headers(
        &self,
        env: &ObjectEnvelope,
        customer: Option<&CustomerKey>,
    ) -> Result<HeaderMap, EngineError> {
        let mut headers = response_headers(&stored_encryption(env)?, customer)?;
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", env.etag)) {
            headers.insert(http::header::ETAG, v);
        }
        Ok(headers)
    }
}

fn random<const N: usize>() -> Result<[u8; N], EngineError> {
    let mut b = [0u8; N];
    fill_random(&mut b).map_err(|_| EngineError::Random)?;
    Ok(b)
}

/// An ETag that says nothing about the plaintext.
fn opaque_etag() -> Result<String, EngineError> {
    Ok(hex::encode(random::<16>()?))
}

fn to_usize(v: u64) -> Result<usize, EngineError> {
    usize::try_from(v).map_err(|_| EngineError::LengthMismatch)
}

/// What the policy layer needs to know of a stored object's encryption.
fn stored_encryption(env: &ObjectEnvelope) -> Result<StoredEncryption, EngineError> {
    Ok(match env.mode {
        Mode::SseS3 => StoredEncryption::SseS3,
        Mode::SseKms => StoredEncryption::SseKms {
            key_arn: env.key_arn.clone(),
            context: env.context.clone(),
            bucket_key: env.bucket_key,
        },
        Mode::DsseKms => StoredEncryption::DsseKms {
            key_arn: env.key_arn.clone(),
            context: env.context.clone(),
        },
        Mode::SseC => {
            let v: &[u8; 64] = env
                .key_material
                .as_slice()
                .try_into()
                .map_err(|_| EnvelopeError::FieldTooLong)?;
            StoredEncryption::SseC {
                verifier: KeyVerifier::from_bytes(v),
            }
        }
        Mode::Fsx => StoredEncryption::Fsx,
    })
}

#[cfg(test)]
mod tests;
