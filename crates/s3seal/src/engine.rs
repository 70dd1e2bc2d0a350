//! The [`Engine`]: what a storage backend calls for each S3 operation.
//!
//! The engine never stores anything. A write returns the sealed bytes and the
//! [`ObjectEnvelope`] to store beside them; a read takes them back. S3's rules come from
//! `s3seal-policy`, data keys from the KMS through `s3seal-keycache`, sealing from `s3seal-gcm`
//! (one layer) and `s3seal-dsse` (two layers), all CPU work on the engine's rayon pool.

use std::io::{Read, Write};
use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal_dsse::{DsseKeys, LayerRecord};
use s3seal_gcm::{
    ChunkSize, DataKey, Decryptor, Encryptor, Geometry, MultipartLayout, PartNumber, fill_random,
};
use s3seal_keycache::{CacheConfig, DataKeyRequest, KeyCache, SseKind};
use s3seal_kms::{
    EncryptionContext as KmsContext, KeyRef, Kms, KmsError, LocalKms, Requester, SSE_S3_ALIAS,
};
use s3seal_policy::{
    AliasPolicy, BucketKind, BucketPolicy, CustomerKey, Encryption, KeyVerifier, ObjectIdentity,
    ReadOp, ReadRequest, StoredEncryption, WriteOp, WritePlan, WriteRequest, derive_object_key,
    resolve_read, resolve_write, response_headers,
};
use sha2::Sha256;

use crate::envelope::{ManifestPart, Mode, ObjectEnvelope, PART_DIGEST_LEN};
use crate::error::{EngineError, EnvelopeError};

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Plaintext chunk size of new objects (default 64 KiB).
    pub chunk: ChunkSize,
    /// What to do with KMS aliases in requests (default: accept, with a warning).
    pub alias_policy: AliasPolicy,
    /// Refuse KMS keys of another account than the bucket owner's (default: off, as S3).
    pub bucket_owner_keys_only: bool,
    /// Smallest size of every part but the last (S3: 5 MiB).
    pub min_part_size: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            chunk: ChunkSize::DEFAULT,
            alias_policy: AliasPolicy::Warn,
            bucket_owner_keys_only: false,
            min_part_size: 5 << 20,
        }
    }
}

/// Wires an [`Engine`]: a KMS (the embedded [`LocalKms`] by default), the key cache, a rayon pool.
pub struct EngineBuilder {
    kms: Arc<dyn Kms>,
    cache: CacheConfig,
    threads: Option<usize>,
    config: EngineConfig,
}

impl core::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("threads", &self.threads)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// A builder around any KMS.
    #[must_use]
    pub fn new(kms: Arc<dyn Kms>) -> Self {
        EngineBuilder {
            kms,
            cache: CacheConfig::default(),
            threads: None,
            config: EngineConfig::default(),
        }
    }

    /// A builder around the embedded [`LocalKms`] keeping its keystore in `dir`.
    ///
    /// # Errors
    /// The keystore's errors (unreadable, corrupt, no root secret).
    pub fn local(dir: impl Into<std::path::PathBuf>) -> Result<Self, EngineError> {
        Ok(Self::new(Arc::new(LocalKms::open_dir(dir)?)))
    }

    /// Threads of the engine's rayon pool (default: one per core).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// Key cache limits.
    #[must_use]
    pub fn cache(mut self, cfg: CacheConfig) -> Self {
        self.cache = cfg;
        self
    }

    /// Engine settings.
    #[must_use]
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the engine.
    ///
    /// # Errors
    /// [`EngineError::Io`] if the thread pool cannot start.
    pub fn build(self) -> Result<Engine, EngineError> {
        let mut pool = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("s3seal-{i}"));
        if let Some(n) = self.threads {
            pool = pool.num_threads(n);
        }
        let pool = pool
            .build()
            .map_err(|_| EngineError::Io(std::io::ErrorKind::Other))?;
        Ok(Engine {
            sse_s3_arns: std::sync::RwLock::default(),
            cache: KeyCache::new(self.kms.clone(), self.cache),
            kms: self.kms,
            pool,
            config: self.config,
        })
    }
}

/// One request as the engine sees it: destination bucket and key, headers, transport.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The bucket (its kind, owner and default encryption).
    pub bucket: &'a BucketPolicy,
    /// The object key.
    pub key: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// Whether the request came over TLS (SSE-C requires it).
    pub secure_transport: bool,
}

/// A stored object handed back to the engine: its envelope and sealed bytes.
#[derive(Clone, Copy, Debug)]
pub struct StoredObject<'a> {
    /// The bucket it lives in.
    pub bucket: &'a BucketPolicy,
    /// Its key.
    pub key: &'a str,
    /// The envelope bytes stored beside it.
    pub envelope: &'a [u8],
    /// Its sealed bytes.
    pub sealed: &'a [u8],
}

/// The result of a write: what to store, and the response headers.
#[derive(Debug)]
pub struct Written {
    /// The sealed bytes to store.
    pub sealed: Bytes,
    /// The envelope (also as bytes, to store beside the object).
    pub envelope: ObjectEnvelope,
    /// [`ObjectEnvelope::to_bytes`] of `envelope`.
    pub envelope_bytes: Vec<u8>,
    /// Response headers: encryption headers and `ETag`.
    pub headers: HeaderMap,
}

/// The result of a read.
#[derive(Debug)]
pub struct Opened {
    /// The plaintext of the requested range.
    pub body: Bytes,
    /// The plaintext range returned.
    pub range: Range<u64>,
    /// The whole object's plaintext length.
    pub object_len: u64,
    /// Response headers: encryption headers and `ETag`.
    pub headers: HeaderMap,
}

/// An upload in progress: the state CreateMultipartUpload returns and every later call takes.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The upload's envelope (no parts yet).
    pub envelope: ObjectEnvelope,
    /// Its bytes, to store with the upload.
    pub envelope_bytes: Vec<u8>,
    /// Response headers of CreateMultipartUpload.
    pub headers: HeaderMap,
}

/// One sealed part of an upload.
#[derive(Debug)]
pub struct SealedPart {
    /// The part number (1..=10000).
    pub part_number: u32,
    /// Its sealed bytes, to store.
    pub sealed: Bytes,
    /// Its plaintext length (pass it to CompleteMultipartUpload).
    pub plaintext_len: u64,
    /// Its ETag: the first 16 bytes of SHA-256 of its sealed header, in hex — opaque, and
    /// different for every upload of the part. Pass it to CompleteMultipartUpload.
    pub etag: String,
    /// Response headers.
    pub headers: HeaderMap,
}

/// Largest part S3 accepts: 5 GiB.
const MAX_PART_SIZE: u64 = 5 << 30;

/// One entry of a CompleteMultipartUpload request: what [`Engine::upload_part`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// Its plaintext size ([`SealedPart::plaintext_len`]).
    pub size: u64,
    /// Its ETag ([`SealedPart::etag`]): names which upload of the part the object takes.
    pub etag: String,
}

/// The data keys of one object.
enum Keys {
    Single(DataKey),
    Dual(DsseKeys),
    Plain,
}

/// Unwrapped keys and the key of the envelope MAC.
struct Unwrapped {
    keys: Keys,
    mac: Option<DataKey>,
}

/// A server-managed key: the key, its KMS blob, the key ARN and the context it is bound to.
struct ServerKey {
    key: DataKey,
    blob: Vec<u8>,
    arn: String,
    context: Vec<(String, String)>,
}

/// Fresh keys for a new object, and what its envelope stores about them.
struct NewKeys {
    unwrapped: Unwrapped,
    mode: Mode,
    key_arn: String,
    context: Vec<(String, String)>,
    key_material: Vec<u8>,
    manifest_key: Vec<u8>,
    salt: [u8; 32],
    bucket_key: bool,
}

/// The engine a storage backend calls. `Send + Sync`; share it in an `Arc`.
pub struct Engine {
    kms: Arc<dyn Kms>,
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

fn random<const N: usize>() -> Result<[u8; N], EngineError> {
    let mut b = [0u8; N];
    fill_random(&mut b).map_err(|_| EngineError::Random)?;
    Ok(b)
}

fn opaque_etag() -> Result<String, EngineError> {
    Ok(hex::encode(random::<16>()?))
}

/// The bytes that bind sealed parts to one object version: bucket, key and object id.
fn object_context(bucket: &str, key: &str, object_id: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + bucket.len() + key.len());
    out.extend_from_slice(b"s3seal/v1/object");
    for s in [bucket.as_bytes(), key.as_bytes()] {
        out.extend_from_slice(&(s.len() as u64).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.extend_from_slice(object_id);
    out
}

fn kms_context(pairs: &[(String, String)]) -> KmsContext {
    let mut ctx = KmsContext::new();
    for (k, v) in pairs {
        ctx.insert(k.clone(), v.clone());
    }
    ctx
}

/// The KMS context of a server-managed key (SSE-S3 data key, SSE-C manifest key): the object
/// ARN and the object id, so a blob is bound to one object version.
fn server_context(bucket: &str, key: &str, object_id: &[u8; 16]) -> Vec<(String, String)> {
    vec![
        ("aws:s3:arn".to_owned(), object_arn(bucket, key)),
        ("s3seal:object-id".to_owned(), hex::encode(object_id)),
    ]
}

/// The first 16 bytes of SHA-256 of a part's sealed header.
fn part_digest(header: &[u8]) -> [u8; PART_DIGEST_LEN] {
    let mut d = [0u8; PART_DIGEST_LEN];
    d.copy_from_slice(&Sha256::digest(header)[..PART_DIGEST_LEN]);
    d
}

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

fn geometry(mode: Mode, chunk: ChunkSize) -> Geometry {
    match mode {
        Mode::DsseKms => s3seal_dsse::geometry(chunk),
        Mode::Fsx => Geometry {
            header: 0,
            chunk: chunk.bytes() as u64,
            overhead: 0,
        },
        _ => Geometry::single(chunk),
    }
}

fn stored_encryption(env: &ObjectEnvelope) -> Result<StoredEncryption, EngineError> {
    let context = || env.context.iter().cloned().collect();
    Ok(match env.mode {
        Mode::SseS3 => StoredEncryption::SseS3,
        Mode::SseKms => StoredEncryption::SseKms {
            key_arn: env.key_arn.clone(),
            context: context(),
            bucket_key: env.bucket_key,
        },
        Mode::DsseKms => StoredEncryption::DsseKms {
            key_arn: env.key_arn.clone(),
            context: context(),
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

fn to_usize(v: u64) -> Result<usize, EngineError> {
    usize::try_from(v).map_err(|_| EngineError::LengthMismatch)
}

fn with_etag(mut headers: HeaderMap, etag: &str) -> HeaderMap {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(http::header::ETAG, v);
    }
    headers
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

    fn requester(&self, bucket: &BucketPolicy) -> Result<Requester, EngineError> {
        let r = Requester::new(&bucket.owner_account)
            .map_err(|e| EngineError::Kms(KmsError::InvalidKeyId(e)))?;
        if self.config.bucket_owner_keys_only {
            return r
                .require_bucket_owner_key(&bucket.owner_account)
                .map_err(|e| EngineError::Kms(KmsError::InvalidKeyId(e)));
        }
        Ok(r)
    }

    fn write_plan(&self, req: &Request<'_>, op: WriteOp<'_>) -> Result<WritePlan, EngineError> {
        Ok(resolve_write(&WriteRequest {
            op,
            bucket: req.bucket,
            object_key: req.key,
            headers: req.headers,
            secure_transport: req.secure_transport,
            alias_policy: self.config.alias_policy,
        })?)
    }

    /// A server-managed key under the SSE-S3 root key: the data key of SSE-S3 objects, and the
    /// MAC key of SSE-C envelopes.
    fn server_key(
        &self,
        requester: &Requester,
        bucket: &str,
        key: &str,
        object_id: &[u8; 16],
        size: u64,
    ) -> Result<ServerKey, EngineError> {
        let context = server_context(bucket, key, object_id);
        let req = DataKeyRequest::new(
            KeyRef::AliasName(SSE_S3_ALIAS.to_owned()),
            requester.clone(),
            kms_context(&context),
        );
        let m = self.cache.data_key(&req, size)?;
        Ok(ServerKey {
            key: m.data_key.clone(),
            blob: m.ciphertext_blob().to_vec(),
            arn: m.key_arn().to_owned(),
            context,
        })
    }

    /// Makes the keys of a new object under `target`. `size` is the plaintext length if known
    /// (`u64::MAX` if not, which bypasses the encrypt cache).
    fn new_keys(
        &self,
        req: &Request<'_>,
        target: &Encryption,
        object_id: &[u8; 16],
        size: u64,
    ) -> Result<NewKeys, EngineError> {
        let requester = self.requester(req.bucket)?;
        let none = |mode, keys: Keys, mac| NewKeys {
            unwrapped: Unwrapped { keys, mac },
            mode,
            key_arn: String::new(),
            context: Vec::new(),
            key_material: Vec::new(),
            manifest_key: Vec::new(),
            salt: [0; 32],
            bucket_key: false,
        };
        Ok(match target {
            Encryption::SseS3 => {
                let sk = self.server_key(&requester, &req.bucket.name, req.key, object_id, size)?;
                NewKeys {
                    key_arn: sk.arn,
                    context: sk.context,
                    key_material: sk.blob,
                    ..none(Mode::SseS3, Keys::Single(sk.key.clone()), Some(sk.key))
                }
            }
            Encryption::SseKms {
                key,
                context,
                bucket_key,
            } => {
                let key_ref = key.clone().unwrap_or_else(|| {
                    KeyRef::AliasName(s3seal_kms::AWS_S3_MANAGED_ALIAS.to_owned())
                });
                let pairs: Vec<(String, String)> = context
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if *bucket_key && req.bucket.kind == BucketKind::GeneralPurpose {
                    let m = self.cache.bucket_data_key(
                        SseKind::SseKms,
                        &key_ref,
                        &requester,
                        &req.bucket.name,
                    )?;
                    let bucket_ctx = KmsContext::for_bucket(&req.bucket.name);
                    NewKeys {
                        key_arn: m.key_arn().to_owned(),
                        context: bucket_ctx
                            .iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect(),
                        key_material: m.bucket_key_blob().to_vec(),
                        salt: m.salt,
                        bucket_key: true,
                        ..none(
                            Mode::SseKms,
                            Keys::Single(m.data_key.clone()),
                            Some(m.data_key.clone()),
                        )
                    }
                } else {
                    // One data key per object under the resolved context. Directory buckets get
                    // this too: their context is the bucket's own ARN (s3express), which the
                    // bucket-key derivation of the key cache does not produce.
                    let dk = DataKeyRequest::new(key_ref, requester, kms_context(&pairs));
                    let m = self.cache.data_key(&dk, size)?;
                    NewKeys {
                        key_arn: m.key_arn().to_owned(),
                        context: pairs,
                        key_material: m.ciphertext_blob().to_vec(),
                        ..none(
                            Mode::SseKms,
                            Keys::Single(m.data_key.clone()),
                            Some(m.data_key.clone()),
                        )
                    }
                }
            }
            Encryption::DsseKms { key, context } => {
                let key_ref = key.clone().unwrap_or_else(|| {
                    KeyRef::AliasName(s3seal_kms::AWS_S3_MANAGED_ALIAS.to_owned())
                });
                let pairs: Vec<(String, String)> = context
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                // Straight to the KMS, twice: two independent data keys, never a cached one.
                let keys =
                    DsseKeys::generate(&*self.kms, &key_ref, &requester, &kms_context(&pairs))?;
                let record = keys
                    .record()
                    .to_bytes()
                    .map_err(|_| EnvelopeError::FieldTooLong)?;
                let arn = keys.record().inner.key_arn.clone();
                let mac = keys.inner_key().clone();
                NewKeys {
                    key_arn: arn,
                    context: pairs,
                    key_material: record,
                    ..none(Mode::DsseKms, Keys::Dual(keys), Some(mac))
                }
            }
            Encryption::SseC { key } => {
                let salt = random::<32>()?;
                let verifier = key.verifier(random::<32>()?).to_bytes().to_vec();
                let version = hex::encode(object_id);
                let identity = ObjectIdentity {
                    bucket: &req.bucket.name,
                    key: req.key,
                    version: &version,
                };
                let data_key = derive_object_key(key, &salt, &identity)?;
                let sk =
                    self.server_key(&requester, &req.bucket.name, req.key, object_id, u64::MAX)?;
                NewKeys {
                    key_arn: sk.arn,
                    key_material: verifier,
                    manifest_key: sk.blob,
                    salt,
                    ..none(Mode::SseC, Keys::Single(data_key), Some(sk.key))
                }
            }
            Encryption::Fsx => none(Mode::Fsx, Keys::Plain, None),
        })
    }

    /// Unwraps the keys of a stored object (or upload). `customer` is the verified SSE-C key;
    /// SSE-C objects without it yield only the MAC key (enough to complete an upload).
    fn unwrap_keys(
        &self,
        env: &ObjectEnvelope,
        bucket: &BucketPolicy,
        customer: Option<&CustomerKey>,
    ) -> Result<Unwrapped, EngineError> {
        let ctx = kms_context(&env.context);
        // Server-managed keys must come from this store's SSE-S3 root key, whatever the envelope
        // says; customer KMS keys are asserted as recorded (and covered by the MAC).
        let server_arn;
        let arn = if matches!(env.mode, Mode::SseS3 | Mode::SseC) {
            server_arn = self.sse_s3_arn(bucket)?;
            if env.key_arn != server_arn {
                return Err(EngineError::Integrity);
            }
            Some(server_arn.as_str())
        } else {
            Some(env.key_arn.as_str())
        };
        Ok(match env.mode {
            Mode::SseS3 | Mode::SseKms => {
                let key = if env.bucket_key {
                    self.cache
                        .open_bucket_data_key(&env.bucket, &env.key_material, &env.salt, arn)?
                        .plaintext
                } else {
                    self.cache
                        .decrypt_data_key(&env.key_material, &ctx, arn)?
                        .plaintext
                };
                Unwrapped {
                    keys: Keys::Single(key.clone()),
                    mac: Some(key),
                }
            }
            Mode::DsseKms => {
                let record = LayerRecord::from_bytes(&env.key_material)
                    .map_err(|_| EngineError::Integrity)?;
                let keys = DsseKeys::unwrap(&*self.kms, &record, &ctx)?;
                let mac = keys.inner_key().clone();
                Unwrapped {
                    keys: Keys::Dual(keys),
                    mac: Some(mac),
                }
            }
            Mode::SseC => {
                let server_ctx =
                    kms_context(&server_context(&env.bucket, &env.key, &env.object_id));
                let mac = self
                    .cache
                    .decrypt_data_key(&env.manifest_key, &server_ctx, arn)?
                    .plaintext;
                let keys = match customer {
                    Some(c) => {
                        let version = hex::encode(env.object_id);
                        let identity = ObjectIdentity {
                            bucket: &env.bucket,
                            key: &env.key,
                            version: &version,
                        };
                        Keys::Single(derive_object_key(c, &env.salt, &identity)?)
                    }
                    None => Keys::Plain,
                };
                Unwrapped {
                    keys,
                    mac: Some(mac),
                }
            }
            Mode::Fsx => Unwrapped {
                keys: Keys::Plain,
                mac: None,
            },
        })
    }

    /// Parses an envelope, checks it belongs to `bucket`/`key`, unwraps its keys and checks
    /// its MAC.
    fn open_envelope(
        &self,
        bytes: &[u8],
        bucket: &BucketPolicy,
        key: &str,
        want_upload: bool,
        customer: Option<&CustomerKey>,
    ) -> Result<(ObjectEnvelope, Unwrapped), EngineError> {
        let env = ObjectEnvelope::from_bytes(bytes)?;
        if env.bucket != bucket.name || env.key != key {
            return Err(EngineError::ObjectMoved);
        }
        // An upload's envelope is never an object, nor an object's an upload.
        if env.upload != want_upload || (env.upload && env.is_multipart()) {
            return Err(EngineError::Integrity);
        }
        // FSx data is stored as the file system keeps it, unauthenticated by us: such an
        // envelope is only believed on an FSx access point, and only there.
        if (env.mode == Mode::Fsx) != (bucket.kind == BucketKind::FsxAccessPoint) {
            return Err(EngineError::Integrity);
        }
        let unwrapped = self.unwrap_keys(&env, bucket, customer)?;
        match &unwrapped.mac {
            Some(mac) => ObjectEnvelope::verify_mac(bytes, mac, &env.object_id)?,
            None if env.mode == Mode::Fsx => {}
            None => return Err(EngineError::Integrity),
        }
        Ok((env, unwrapped))
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

    /// Runs `f` on the engine's pool, or for small inputs on the caller's thread: handing work
    /// to the pool costs a thread wake-up, more than sealing a few chunks.
    fn run<T: Send>(&self, bytes: usize, f: impl FnOnce() -> T + Send) -> T {
        if bytes < s3seal_gcm::stream::PARALLEL_MIN_BYTES {
            f()
        } else {
            self.pool.install(f)
        }
    }

    fn seal(
        &self,
        keys: &Keys,
        ctx: &[u8],
        part: PartNumber,
        data: &[u8],
    ) -> Result<Bytes, EngineError> {
        let chunk = self.config.chunk;
        self.run(data.len(), || match keys {
            Keys::Single(k) => Ok(s3seal_gcm::seal_part(k, ctx, part, chunk, data)?),
            Keys::Dual(d) => Ok(s3seal_dsse::seal_part(d, ctx, part, chunk, data)?),
            Keys::Plain => Ok(Bytes::copy_from_slice(data)),
        })
    }

    /// Opens plaintext `range` of a stored object whose sealed bytes are `sealed`.
    fn open(
        &self,
        env: &ObjectEnvelope,
        keys: &Keys,
        range: Range<u64>,
        sealed: &[u8],
    ) -> Result<BytesMut, EngineError> {
        let layout =
            MultipartLayout::with_geometry(geometry(env.mode, env.chunk), env.layout_parts())
                .map_err(|_| EnvelopeError::BadParts)?;
        if layout.sealed_len() != sealed.len() as u64 {
            return Err(EngineError::LengthMismatch);
        }
        let ctx = object_context(&env.bucket, &env.key, &env.object_id);
        // Each part's header must be the one the manifest names (not a stale re-upload).
        let check = |position: usize, header: &[u8]| -> Result<(), s3seal_gcm::Error> {
            match env.parts.get(position) {
                Some(p) if p.digest != part_digest(header) => {
                    Err(s3seal_gcm::Error::Authentication)
                }
                _ => Ok(()),
            }
        };
        // An empty object has no byte to read, but its one chunk is still authenticated.
        let range = if range.is_empty() && !matches!(keys, Keys::Plain) {
            0..0
        } else {
            range
        };
        let whole_empty = env.plaintext_len == 0 && !matches!(keys, Keys::Plain);
        self.run(sealed.len(), || match keys {
            Keys::Single(k) if whole_empty => {
                for (i, &part) in layout.parts().iter().enumerate() {
                    let r = layout
                        .part_sealed_range(i)
                        .ok_or(EngineError::LengthMismatch)?;
                    let bytes = &sealed[to_usize(r.start)?..to_usize(r.end)?];
                    check(i, &bytes[..s3seal_gcm::HEADER_LEN])?;
                    s3seal_gcm::open_part(k, &ctx, part, bytes)?;
                }
                Ok(BytesMut::new())
            }
            Keys::Dual(d) if whole_empty => {
                for (i, &part) in layout.parts().iter().enumerate() {
                    let r = layout
                        .part_sealed_range(i)
                        .ok_or(EngineError::LengthMismatch)?;
                    let bytes = &sealed[to_usize(r.start)?..to_usize(r.end)?];
                    check(i, &bytes[..s3seal_dsse::DUAL_HEADER_LEN])?;
                    s3seal_dsse::open_part(d, &ctx, part, bytes)?;
                }
                Ok(BytesMut::new())
            }
            Keys::Single(k) => Ok(s3seal_gcm::open_object_range_with(
                &layout,
                range,
                sealed,
                |i, part, header| {
                    check(i, header)?;
                    s3seal_gcm::PartOpener::new(k, &ctx, part, header)
                },
            )?),
            Keys::Dual(d) => Ok(s3seal_gcm::open_object_range_with(
                &layout,
                range,
                sealed,
                |i, part, header| {
                    check(i, header)?;
                    d.opener(&ctx, part, header)
                        .map_err(|_| s3seal_gcm::Error::Authentication)
                },
            )?),
            Keys::Plain => {
                let (s, e) = (
                    usize::try_from(range.start).map_err(|_| EngineError::InvalidRange)?,
                    usize::try_from(range.end).map_err(|_| EngineError::InvalidRange)?,
                );
                Ok(BytesMut::from(
                    sealed.get(s..e).ok_or(EngineError::InvalidRange)?,
                ))
            }
        })
    }

    fn headers(
        &self,
        env: &ObjectEnvelope,
        customer: Option<&CustomerKey>,
    ) -> Result<HeaderMap, EngineError> {
        Ok(with_etag(
            response_headers(&stored_encryption(env)?, customer)?,
            &env.etag,
        ))
    }

    fn envelope(&self, req: &Request<'_>, nk: &NewKeys, object_id: [u8; 16]) -> ObjectEnvelope {
        ObjectEnvelope {
            mode: nk.mode,
            bucket_key: nk.bucket_key,
            upload: false,
            chunk: self.config.chunk,
            object_id,
            bucket: req.bucket.name.clone(),
            key: req.key.to_owned(),
            key_arn: nk.key_arn.clone(),
            context: nk.context.clone(),
            key_material: nk.key_material.clone(),
            manifest_key: nk.manifest_key.clone(),
            salt: nk.salt,
            plaintext_len: 0,
            parts: Vec::new(),
            etag: String::new(),
            mac: [0; 32],
        }
    }

    /// Encrypts `data` as a new single-part object under `target`.
    fn write_object(
        &self,
        req: &Request<'_>,
        target: &Encryption,
        data: &[u8],
    ) -> Result<Written, EngineError> {
        let object_id = random::<16>()?;
        let nk = self.new_keys(req, target, &object_id, data.len() as u64)?;
        let ctx = object_context(&req.bucket.name, req.key, &object_id);
        let plain_etag = matches!(nk.mode, Mode::SseS3 | Mode::Fsx);
        let seal = || self.seal(&nk.unwrapped.keys, &ctx, PartNumber::SINGLE, data);
        // S3's ETag of a single-PUT SSE-S3 object is the MD5 of its data: hash it on one thread
        // while the pool seals. Other modes need no second task (and no hop to a pool).
        let (etag, sealed) = if plain_etag {
            rayon::join(|| Ok(hex::encode(Md5::digest(data))), seal)
        } else {
            (opaque_etag(), seal())
        };
        let mut env = self.envelope(req, &nk, object_id);
        env.plaintext_len = data.len() as u64;
        env.etag = etag?;
        env.seal_mac(nk.unwrapped.mac.as_ref())?;
        let customer = match target {
            Encryption::SseC { key } => Some(key),
            _ => None,
        };
        Ok(Written {
            sealed: sealed?,
            headers: self.headers(&env, customer)?,
            envelope_bytes: env.to_bytes()?,
            envelope: env,
        })
    }

    /// PutObject: resolves the encryption (request headers over the bucket default, SSE-S3 by
    /// default), seals `body`, and returns what to store.
    ///
    /// # Errors
    /// [`EngineError::Policy`] for a request S3 would refuse (nothing is written);
    /// [`EngineError::Kms`] for KMS refusals; [`EngineError::Random`].
    pub fn put_object(&self, req: &Request<'_>, body: &[u8]) -> Result<Written, EngineError> {
        let plan = self.write_plan(req, WriteOp::PutObject)?;
        let target = plan
            .target
            .ok_or(EngineError::NotSupported("PutObject without a target"))?;
        self.write_object(req, &target, body)
    }

    /// PutObject from a reader to a writer, memory bounded by chunk size × threads. Returns the
    /// envelope and response headers; on error, whatever was written to `out` must be discarded.
    ///
    /// # Errors
    /// As [`Self::put_object`]; [`EngineError::Io`].
    pub fn put_object_stream(
        &self,
        req: &Request<'_>,
        body: impl Read + Send,
        out: impl Write + Send,
    ) -> Result<(ObjectEnvelope, Vec<u8>, HeaderMap), EngineError> {
        let plan = self.write_plan(req, WriteOp::PutObject)?;
        let target = plan
            .target
            .ok_or(EngineError::NotSupported("PutObject without a target"))?;
        let object_id = random::<16>()?;
        let nk = self.new_keys(req, &target, &object_id, u64::MAX)?;
        let ctx = object_context(&req.bucket.name, req.key, &object_id);
        let mut reader = CountingReader {
            inner: body,
            md5: matches!(nk.mode, Mode::SseS3 | Mode::Fsx).then(Md5::new),
            count: 0,
        };
        let chunk = self.config.chunk;
        self.pool.install(|| -> Result<(), EngineError> {
            match &nk.unwrapped.keys {
                Keys::Single(k) => {
                    let mut enc = Encryptor::new(out, k, &ctx, PartNumber::SINGLE, chunk)?;
                    std::io::copy(&mut reader, &mut enc)?;
                    enc.finish()?;
                }
                Keys::Dual(d) => {
                    let mut enc = s3seal_dsse::encryptor(out, d, &ctx, PartNumber::SINGLE, chunk)?;
                    std::io::copy(&mut reader, &mut enc)?;
                    enc.finish()?;
                }
                Keys::Plain => {
                    let mut out = out;
                    std::io::copy(&mut reader, &mut out)?;
                    out.flush()?;
                }
            }
            Ok(())
        })?;
        let mut env = self.envelope(req, &nk, object_id);
        env.plaintext_len = reader.count;
        env.etag = match reader.md5.take() {
            Some(h) => hex::encode(h.finalize()),
            None => opaque_etag()?,
        };
        env.seal_mac(nk.unwrapped.mac.as_ref())?;
        let customer = match &target {
            Encryption::SseC { key } => Some(key),
            _ => None,
        };
        let headers = self.headers(&env, customer)?;
        let bytes = env.to_bytes()?;
        Ok((env, bytes, headers))
    }

    /// Checks a GET/HEAD against the stored object and unwraps its keys.
    fn prepare_read(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        op: ReadOp,
    ) -> Result<(ObjectEnvelope, Unwrapped, Option<CustomerKey>), EngineError> {
        let env = ObjectEnvelope::from_bytes(envelope)?;
        if env.bucket != req.bucket.name || env.key != req.key {
            return Err(EngineError::ObjectMoved);
        }
        let stored = stored_encryption(&env)?;
        let plan = resolve_read(&ReadRequest {
            op,
            stored: &stored,
            headers: req.headers,
            secure_transport: req.secure_transport,
        })?;
        let (env, unwrapped) = self.open_envelope(
            envelope,
            req.bucket,
            req.key,
            false,
            plan.customer_key.as_ref(),
        )?;
        Ok((env, unwrapped, plan.customer_key))
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
        let (env, unwrapped, customer) = self.prepare_read(req, envelope, ReadOp::GetObject)?;
        let range = range.unwrap_or(0..env.plaintext_len);
        if range.start > range.end
            || range.end > env.plaintext_len
            || (range.start == range.end && env.plaintext_len > 0)
        {
            return Err(EngineError::InvalidRange);
        }
        let body = self
            .open(&env, &unwrapped.keys, range.clone(), sealed)?
            .freeze();
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
    /// As [`Self::get_object`]; [`EngineError::Io`].
    pub fn get_object_stream(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
        mut sealed: impl Read + Send,
        mut out: impl Write + Send,
    ) -> Result<HeaderMap, EngineError> {
        let (env, unwrapped, customer) = self.prepare_read(req, envelope, ReadOp::GetObject)?;
        let layout =
            MultipartLayout::with_geometry(geometry(env.mode, env.chunk), env.layout_parts())
                .map_err(|_| EnvelopeError::BadParts)?;
        let ctx = object_context(&env.bucket, &env.key, &env.object_id);
        self.pool.install(|| -> Result<(), EngineError> {
            for (i, &part) in layout.parts().iter().enumerate() {
                let r = layout
                    .part_sealed_range(i)
                    .ok_or(EngineError::LengthMismatch)?;
                let mut piece = (&mut sealed).take(r.end - r.start);
                // Read the part's header first: it must be the one the manifest names.
                let header_len = to_usize(layout.geometry().header)?;
                let mut header = vec![0u8; header_len];
                piece
                    .read_exact(&mut header)
                    .map_err(|_| EngineError::LengthMismatch)?;
                if env
                    .parts
                    .get(i)
                    .is_some_and(|p| p.digest != part_digest(&header))
                {
                    return Err(EngineError::Integrity);
                }
                let copied = match &unwrapped.keys {
                    Keys::Single(k) => {
                        let opener = s3seal_gcm::PartOpener::new(k, &ctx, part, &header)?;
                        std::io::copy(&mut Decryptor::with_opener(&mut piece, opener), &mut out)
                    }
                    Keys::Dual(d) => {
                        let opener = d.opener(&ctx, part, &header)?;
                        std::io::copy(&mut Decryptor::with_opener(&mut piece, opener), &mut out)
                    }
                    Keys::Plain => {
                        out.write_all(&header)?;
                        std::io::copy(&mut piece, &mut out).map(|n| n + header.len() as u64)
                    }
                };
                let expected = layout
                    .part_plaintext_len(i)
                    .ok_or(EngineError::LengthMismatch)?;
                match copied {
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

    /// Opens a source object for a copy, checking its envelope and (SSE-C) its key.
    fn read_source(
        &self,
        src: &StoredObject<'_>,
        key: Option<&CustomerKey>,
        range: Option<Range<u64>>,
    ) -> Result<BytesMut, EngineError> {
        let (env, unwrapped) = self.open_envelope(src.envelope, src.bucket, src.key, false, key)?;
        let range = range.unwrap_or(0..env.plaintext_len);
        if range.start > range.end || range.end > env.plaintext_len {
            return Err(EngineError::InvalidRange);
        }
        self.open(&env, &unwrapped.keys, range, src.sealed)
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
        let src_env = ObjectEnvelope::from_bytes(src.envelope)?;
        let source = stored_encryption(&src_env)?;
        let plan = self.write_plan(dst, WriteOp::CopyObject { source: &source })?;
        let target = plan
            .target
            .ok_or(EngineError::NotSupported("CopyObject without a target"))?;
        let data = self.read_source(src, plan.source_key.as_ref(), None)?;
        self.write_object(dst, &target, &data)
    }

    /// CreateMultipartUpload: chooses the upload's encryption and makes its data key.
    ///
    /// # Errors
    /// As [`Self::put_object`].
    pub fn create_multipart_upload(&self, req: &Request<'_>) -> Result<Upload, EngineError> {
        let plan = self.write_plan(req, WriteOp::CreateMultipartUpload)?;
        let target = plan.target.ok_or(EngineError::NotSupported(
            "CreateMultipartUpload without a target",
        ))?;
        let object_id = random::<16>()?;
        let nk = self.new_keys(req, &target, &object_id, u64::MAX)?;
        let mut env = self.envelope(req, &nk, object_id);
        env.upload = true;
        env.seal_mac(nk.unwrapped.mac.as_ref())?;
        let customer = match &target {
            Encryption::SseC { key } => Some(key),
            _ => None,
        };
        let headers = response_headers(&stored_encryption(&env)?, customer)?;
        Ok(Upload {
            envelope_bytes: env.to_bytes()?,
            envelope: env,
            headers,
        })
    }

    fn part_keys(
        &self,
        req: &Request<'_>,
        upload: &[u8],
        op: impl FnOnce(&StoredEncryption) -> Result<WritePlan, EngineError>,
    ) -> Result<(ObjectEnvelope, Unwrapped, WritePlan), EngineError> {
        let env = ObjectEnvelope::from_bytes(upload)?;
        if env.bucket != req.bucket.name || env.key != req.key {
            return Err(EngineError::ObjectMoved);
        }
        if !env.upload {
            return Err(EngineError::Integrity);
        }
        let plan = op(&stored_encryption(&env)?)?;
        let customer = match &plan.target {
            Some(Encryption::SseC { key }) => Some(key),
            _ => None,
        };
        let (env, unwrapped) = self.open_envelope(upload, req.bucket, req.key, true, customer)?;
        Ok((env, unwrapped, plan))
    }

    fn seal_upload_part(
        &self,
        env: &ObjectEnvelope,
        keys: &Keys,
        part_number: u32,
        data: &[u8],
        customer: Option<&CustomerKey>,
    ) -> Result<SealedPart, EngineError> {
        let part = PartNumber::new(part_number).map_err(|_| EngineError::InvalidPart)?;
        if part == PartNumber::SINGLE {
            return Err(EngineError::InvalidPart);
        }
        if env.mode == Mode::SseC && matches!(keys, Keys::Plain) {
            return Err(EngineError::NotSupported("SSE-C part without its key"));
        }
        let ctx = object_context(&env.bucket, &env.key, &env.object_id);
        let sealed = self.seal(keys, &ctx, part, data)?;
        let header_len = to_usize(geometry(env.mode, env.chunk).header)?;
        let digest = part_digest(
            sealed
                .get(..header_len)
                .ok_or(EngineError::LengthMismatch)?,
        );
        let headers = response_headers(&stored_encryption(env)?, customer)?;
        Ok(SealedPart {
            part_number,
            sealed,
            plaintext_len: data.len() as u64,
            etag: hex::encode(digest),
            headers,
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
        let (env, unwrapped, plan) = self.part_keys(req, upload, |u| {
            self.write_plan(req, WriteOp::UploadPart { upload: u })
        })?;
        let customer = match &plan.target {
            Some(Encryption::SseC { key }) => Some(key),
            _ => None,
        };
        self.seal_upload_part(&env, &unwrapped.keys, part_number, body, customer)
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
        let src_env = ObjectEnvelope::from_bytes(src.envelope)?;
        let source = stored_encryption(&src_env)?;
        let (env, unwrapped, plan) = self.part_keys(req, upload, |u| {
            self.write_plan(
                req,
                WriteOp::UploadPartCopy {
                    upload: u,
                    source: &source,
                },
            )
        })?;
        let data = self.read_source(src, plan.source_key.as_ref(), range)?;
        let customer = match &plan.target {
            Some(Encryption::SseC { key }) => Some(key),
            _ => None,
        };
        self.seal_upload_part(&env, &unwrapped.keys, part_number, &data, customer)
    }

    /// CompleteMultipartUpload: records the manifest (part numbers and plaintext sizes, in
    /// order) in the object's envelope under its MAC. The backend stores the parts' sealed
    /// bytes back to back in this order. No SSE-C key is needed.
    ///
    /// # Errors
    /// [`EngineError::InvalidPart`] for an empty, unordered or out-of-range list;
    /// [`EngineError::EntityTooSmall`] for a part but the last below the minimum size.
    pub fn complete_multipart_upload(
        &self,
        req: &Request<'_>,
        upload: &[u8],
        parts: &[CompletedPart],
    ) -> Result<(ObjectEnvelope, Vec<u8>, HeaderMap), EngineError> {
        let (mut env, unwrapped, _) = self.part_keys(req, upload, |u| {
            self.write_plan(req, WriteOp::CompleteMultipartUpload { upload: u })
        })?;
        if parts.is_empty() || parts.len() > 10_000 {
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
        env.seal_mac(unwrapped.mac.as_ref())?;
        let headers = self.headers(&env, None)?;
        let bytes = env.to_bytes()?;
        Ok((env, bytes, headers))
    }

    /// UpdateObjectEncryption: moves an SSE-S3 or SSE-KMS object to another KMS key (or a
    /// DSSE-KMS object to another key) by re-encrypting its wrapped data key in the KMS. The
    /// sealed bytes, ETag and sizes do not change; the envelope is rewritten under its MAC.
    /// `req.headers` carry the new encryption (`x-amz-server-side-encryption: aws:kms`, key id).
    ///
    /// # Errors
    /// [`EngineError::NotSupported`] for SSE-C and FSx objects, for a target that is not
    /// SSE-KMS (DSSE-KMS for DSSE objects), or a change of the bucket-key setting; policy and
    /// KMS errors.
    pub fn rewrap(
        &self,
        req: &Request<'_>,
        envelope: &[u8],
    ) -> Result<(ObjectEnvelope, Vec<u8>, HeaderMap), EngineError> {
        let (mut env, unwrapped) =
            self.open_envelope(envelope, req.bucket, req.key, false, None)?;
        let plan = self.write_plan(req, WriteOp::PutObject)?;
        let requester = self.requester(req.bucket)?;
        let old_ctx = kms_context(&env.context);
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
                let key = key.unwrap_or_else(default_key);
                // A bucket-key object keeps its bucket context; otherwise the new object context.
                let pairs: Vec<(String, String)> = if env.bucket_key {
                    env.context.clone()
                } else {
                    context.into_iter().collect()
                };
                let r = self.kms.re_encrypt(
                    &env.key_material,
                    &old_ctx,
                    &key,
                    &requester,
                    &kms_context(&pairs),
                )?;
                env.mode = Mode::SseKms;
                env.key_arn = r.key_arn;
                env.key_material = r.ciphertext_blob;
                env.context = pairs;
            }
            (Mode::DsseKms, Some(Encryption::DsseKms { key, context })) => {
                let key = key.unwrap_or_else(default_key);
                let pairs: Vec<(String, String)> = context.into_iter().collect();
                let new_ctx = kms_context(&pairs);
                let mut record = LayerRecord::from_bytes(&env.key_material)
                    .map_err(|_| EngineError::Integrity)?;
                for layer in [&mut record.inner, &mut record.outer] {
                    let r = self.kms.re_encrypt(
                        &layer.wrapped,
                        &old_ctx,
                        &key,
                        &requester,
                        &new_ctx,
                    )?;
                    layer.wrapped = r.ciphertext_blob;
                    layer.key_arn = r.key_arn;
                }
                env.key_arn = record.inner.key_arn.clone();
                env.key_material = record.to_bytes().map_err(|_| EnvelopeError::FieldTooLong)?;
                env.context = pairs;
            }
            _ => {
                return Err(EngineError::NotSupported(
                    "rewrap applies to SSE-S3/SSE-KMS → SSE-KMS and DSSE-KMS → DSSE-KMS",
                ));
            }
        }
        env.seal_mac(unwrapped.mac.as_ref())?;
        let headers = self.headers(&env, None)?;
        let bytes = env.to_bytes()?;
        Ok((env, bytes, headers))
    }
}

/// Counts (and for SSE-S3, MD5-hashes) the plaintext read by a streaming PUT.
struct CountingReader<R> {
    inner: R,
    md5: Option<Md5>,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
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
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| EngineError::InvalidRange)
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
