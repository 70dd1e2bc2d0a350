#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bucket;
mod flight;
mod kdf;
mod lru;
mod request;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use s3seal_gcm::DataKey;
use s3seal_kms::{DecryptedDataKey, EncryptionContext, Kms, KmsError};

pub use bucket::{BucketKeyMaterials, SseKind};
pub use request::DataKeyRequest;

use flight::SingleFlight;
use lru::ShardedLru;
use request::{DecryptKey, Use};

/// Why a cache operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The KMS refused or failed; retryable errors say so via [`KmsError::is_retryable`].
    #[error(transparent)]
    Kms(#[from] KmsError),
    /// S3 Bucket Keys were asked for with DSSE-KMS, which S3 does not support.
    #[error("S3 Bucket Keys are not supported with DSSE-KMS")]
    BucketKeyWithDsse,
    /// The system random number generator failed (drawing a bucket-key object's salt).
    #[error("the system random number generator failed")]
    Random,
}

impl CacheError {
    /// Whether retrying later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, CacheError::Kms(e) if e.is_retryable())
    }
}

/// Cache limits, named after the AWS Encryption SDK's caching materials manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// An encrypt-side data key is not served once this old. Default 5 minutes.
    pub max_age: Duration,
    /// An encrypt-side data key serves at most this many messages (objects). Default 2³².
    pub max_messages: u64,
    /// An encrypt-side data key serves at most this many plaintext bytes in total; a single
    /// message larger than this bypasses the cache. Default 2⁶³ − 1 (the SDK's default).
    pub max_bytes: u64,
    /// At most this many entries in each of the encrypt and decrypt caches (LRU eviction).
    /// Default 1,000.
    pub capacity: usize,
    /// An entry closer than this to `max_age` is refreshed by the first caller to notice,
    /// while other callers keep being served. Default 10 seconds.
    pub refresh_ahead: Duration,
    /// A decrypted data key is served this long. Default 5 minutes.
    pub decrypt_max_age: Duration,
    /// `NotFound` / `Disabled` / `PendingDeletion` are remembered this long. Default 1 second.
    pub negative_ttl: Duration,
    /// How long one bucket key is used for new objects. Default 10 minutes.
    pub bucket_key_validity: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_age: Duration::from_secs(300),
            max_messages: 1 << 32,
            max_bytes: i64::MAX.unsigned_abs(),
            capacity: 1000,
            refresh_ahead: Duration::from_secs(10),
            decrypt_max_age: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(1),
            bucket_key_validity: Duration::from_secs(600),
        }
    }
}

/// Counters, as a plain snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Encrypt-side requests served from the cache.
    pub hits: u64,
    /// Encrypt-side requests that found no usable entry.
    pub misses: u64,
    /// Misses that waited for another caller's KMS call instead of making one.
    pub coalesced: u64,
    /// `GenerateDataKey` calls made.
    pub kms_generate_calls: u64,
    /// `Decrypt` calls made.
    pub kms_decrypt_calls: u64,
    /// KMS calls that failed.
    pub kms_errors: u64,
    /// Entries evicted for capacity.
    pub evictions: u64,
    /// Entries dropped for age, message or byte limits.
    pub expirations: u64,
    /// Requests answered from a remembered `NotFound` / `Disabled` / `PendingDeletion`.
    pub negative_hits: u64,
    /// Entries replaced ahead of expiry.
    pub refreshes: u64,
    /// Messages larger than `max_bytes`, served with an uncached key.
    pub bypassed: u64,
    /// Decrypt-side requests served from the cache.
    pub decrypt_hits: u64,
    /// Decrypt-side requests that found no usable entry.
    pub decrypt_misses: u64,
    /// Per-object keys derived from bucket keys.
    pub bucket_key_derivations: u64,
    /// Entries now in the encrypt-side cache.
    pub entries: u64,
    /// Entries now in the decrypt-side cache.
    pub decrypt_entries: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    generate: AtomicU64,
    decrypt: AtomicU64,
    errors: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
    negative_hits: AtomicU64,
    refreshes: AtomicU64,
    bypassed: AtomicU64,
    decrypt_hits: AtomicU64,
    decrypt_misses: AtomicU64,
    derivations: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The encrypted half of cached materials (not secret).
#[derive(Debug, PartialEq, Eq)]
struct KeyInfo {
    blob: Vec<u8>,
    key_arn: String,
}

/// Encryption materials: a data key and what to store with the object.
#[derive(Debug, Clone)]
pub struct DataKeyMaterials {
    /// The plaintext data key (zeroized on drop, redacted in `Debug`).
    pub data_key: DataKey,
    info: Arc<KeyInfo>,
}

impl DataKeyMaterials {
    /// The KMS ciphertext blob of the data key; store it with the object.
    #[must_use]
    pub fn ciphertext_blob(&self) -> &[u8] {
        &self.info.blob
    }

    /// The full ARN of the KMS key; record and echo it.
    #[must_use]
    pub fn key_arn(&self) -> &str {
        &self.info.key_arn
    }
}

/// A cached encrypt-side data key with its usage counters.
///
/// # Security
/// Lives in one `Arc` allocation that never moves; its [`DataKey`] is zeroized when the last
/// reference drops (eviction, expiry, replacement or cache drop).
struct EncEntry {
    key: DataKey,
    info: Arc<KeyInfo>,
    created: Instant,
    max_age: Duration,
    max_messages: u64,
    max_bytes: u64,
    messages: AtomicU64,
    bytes: AtomicU64,
    refreshing: AtomicBool,
}

enum Cached<T> {
    Key(Arc<T>),
    Negative { err: KmsError, until: Instant },
}

struct DecEntry {
    key: DataKey,
    key_arn: String,
    created: Instant,
}

enum EncLookup {
    Hit(DataKeyMaterials, bool),
    Negative(KmsError),
    Dead,
}

enum DecLookup {
    Hit(DataKey, String),
    Negative(KmsError),
    Dead,
}

/// The data-key cache in front of a [`Kms`].
///
/// See the crate documentation for the limits, single-flight, negative caching, refresh-ahead
/// and S3 Bucket Keys.
pub struct KeyCache {
    kms: Arc<dyn Kms>,
    cfg: CacheConfig,
    enc: ShardedLru<DataKeyRequest, Cached<EncEntry>>,
    dec: ShardedLru<DecryptKey, Cached<DecEntry>>,
    enc_flights: SingleFlight<DataKeyRequest>,
    dec_flights: SingleFlight<DecryptKey>,
    n: Counters,
}

impl core::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyCache")
            .field("kms", &self.kms)
            .field("cfg", &self.cfg)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// How many times a request looks again after a fill before using an uncached key (bounds the
/// work when other callers keep exhausting fresh entries).
const MAX_ROUNDS: usize = 4;

impl KeyCache {
    /// A cache over `kms` with `cfg`.
    #[must_use]
    pub fn new(kms: Arc<dyn Kms>, cfg: CacheConfig) -> Self {
        KeyCache {
            enc: ShardedLru::new(cfg.capacity),
            dec: ShardedLru::new(cfg.capacity),
            enc_flights: SingleFlight::new(),
            dec_flights: SingleFlight::new(),
            kms,
            cfg,
            n: Counters::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &CacheConfig {
        &self.cfg
    }

    /// The KMS behind the cache.
    #[must_use]
    pub fn kms(&self) -> &Arc<dyn Kms> {
        &self.kms
    }

    /// A snapshot of the counters.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: l(&self.n.hits),
            misses: l(&self.n.misses),
            coalesced: l(&self.n.coalesced),
            kms_generate_calls: l(&self.n.generate),
            kms_decrypt_calls: l(&self.n.decrypt),
            kms_errors: l(&self.n.errors),
            evictions: l(&self.n.evictions),
            expirations: l(&self.n.expirations),
            negative_hits: l(&self.n.negative_hits),
            refreshes: l(&self.n.refreshes),
            bypassed: l(&self.n.bypassed),
            decrypt_hits: l(&self.n.decrypt_hits),
            decrypt_misses: l(&self.n.decrypt_misses),
            bucket_key_derivations: l(&self.n.derivations),
            entries: self.enc.len() as u64,
            decrypt_entries: self.dec.len() as u64,
        }
    }

    /// Drops every cached key (each is zeroized as its last reference goes).
    pub fn clear(&self) {
        self.enc.clear();
        self.dec.clear();
    }

    /// Encryption materials for one message (object or part) of `plaintext_len` bytes.
    ///
    /// Served from the cache while the entry is younger than `max_age` and has served fewer
    /// than `max_messages` messages and at most `max_bytes` bytes including this one; else one
    /// `GenerateDataKey` is made, shared by every concurrent caller for the same request.
    ///
    /// # Errors
    /// [`CacheError::Kms`] with the KMS's error (remembered for `negative_ttl` if it is
    /// `NotFound` / `Disabled` / `PendingDeletion`; never remembered if retryable).
    pub fn data_key(
        &self,
        req: &DataKeyRequest,
        plaintext_len: u64,
    ) -> Result<DataKeyMaterials, CacheError> {
        if plaintext_len > self.cfg.max_bytes {
            bump(&self.n.bypassed);
            let g = self.generate(req)?;
            return Ok(DataKeyMaterials {
                data_key: g.0,
                info: g.1,
            });
        }
        self.cached_key(req, plaintext_len)
    }

    fn generate(&self, req: &DataKeyRequest) -> Result<(DataKey, Arc<KeyInfo>), KmsError> {
        bump(&self.n.generate);
        let g = self
            .kms
            .generate_data_key(req.key(), req.requester(), req.context())
            .inspect_err(|_| bump(&self.n.errors))?;
        // Nothing is sealed under a key whose blob does not hold it (`check_generated`); the
        // check's Decrypt goes into the decrypt cache, so reading back needs no KMS call.
        bump(&self.n.decrypt);
        let d = s3seal_kms::check_generated(self.kms.as_ref(), &g, req.context())
            .inspect_err(|_| bump(&self.n.errors))?;
        let now = Instant::now();
        let entry = Cached::Key(Arc::new(DecEntry {
            key: d.plaintext,
            key_arn: d.key_arn,
            created: now,
        }));
        let ev = self.dec.insert(
            DecryptKey::new(&g.ciphertext_blob, req.context()),
            entry,
            now,
        );
        self.n.evictions.fetch_add(ev, Ordering::Relaxed);
        Ok((
            g.plaintext,
            Arc::new(KeyInfo {
                blob: g.ciphertext_blob,
                key_arn: g.key_arn,
            }),
        ))
    }

    fn enc_limits(&self, usage: Use) -> (Duration, u64, u64) {
        match usage {
            Use::Data => (self.cfg.max_age, self.cfg.max_messages, self.cfg.max_bytes),
            // A bucket key encrypts nothing itself; only its validity window bounds it.
            Use::Bucket => (self.cfg.bucket_key_validity, u64::MAX, u64::MAX),
        }
    }

    /// Fetches a fresh key for `req` and stores it (or a negative entry).
    fn fill(&self, req: &DataKeyRequest) -> Result<(), KmsError> {
        let now = Instant::now();
        match self.generate(req) {
            Ok((key, info)) => {
                let (max_age, max_messages, max_bytes) = self.enc_limits(req.usage());
                let entry = EncEntry {
                    key,
                    info,
                    created: now,
                    max_age,
                    max_messages,
                    max_bytes,
                    messages: AtomicU64::new(0),
                    bytes: AtomicU64::new(0),
                    refreshing: AtomicBool::new(false),
                };
                let ev = self
                    .enc
                    .insert(req.clone(), Cached::Key(Arc::new(entry)), now);
                self.n.evictions.fetch_add(ev, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                if e.is_key_state() {
                    let until = now + self.cfg.negative_ttl;
                    let ev = self.enc.insert(
                        req.clone(),
                        Cached::Negative {
                            err: e.clone(),
                            until,
                        },
                        now,
                    );
                    self.n.evictions.fetch_add(ev, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }

    fn lookup(&self, req: &DataKeyRequest, len: u64, now: Instant) -> Option<EncLookup> {
        self.enc.with(req, now, |v| match v {
            Cached::Negative { err, until } => {
                if now < *until {
                    EncLookup::Negative(err.clone())
                } else {
                    EncLookup::Dead
                }
            }
            Cached::Key(e) => {
                let age = now.saturating_duration_since(e.created);
                if age >= e.max_age {
                    return EncLookup::Dead;
                }
                // Count this message first, so concurrent callers cannot overshoot the limits.
                if e.messages.fetch_add(1, Ordering::Relaxed) >= e.max_messages {
                    return EncLookup::Dead;
                }
                let before = e.bytes.fetch_add(len, Ordering::Relaxed);
                if before.saturating_add(len) > e.max_bytes {
                    return EncLookup::Dead;
                }
                let refresh = age + self.cfg.refresh_ahead >= e.max_age
                    && e.refreshing
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok();
                EncLookup::Hit(
                    DataKeyMaterials {
                        data_key: e.key.clone(),
                        info: Arc::clone(&e.info),
                    },
                    refresh,
                )
            }
        })
    }

    fn is_dead(&self, v: &Cached<EncEntry>, now: Instant) -> bool {
        match v {
            Cached::Negative { until, .. } => now >= *until,
            Cached::Key(e) => {
                now.saturating_duration_since(e.created) >= e.max_age
                    || e.messages.load(Ordering::Relaxed) >= e.max_messages
                    || e.bytes.load(Ordering::Relaxed) >= e.max_bytes
            }
        }
    }

    fn cached_key(&self, req: &DataKeyRequest, len: u64) -> Result<DataKeyMaterials, CacheError> {
        for _ in 0..MAX_ROUNDS {
            let now = Instant::now();
            match self.lookup(req, len, now) {
                Some(EncLookup::Hit(m, refresh)) => {
                    bump(&self.n.hits);
                    if refresh {
                        self.refresh(req);
                    }
                    return Ok(m);
                }
                Some(EncLookup::Negative(e)) => {
                    bump(&self.n.negative_hits);
                    return Err(e.into());
                }
                // Entries only ever become unusable, never usable again: safe to re-check.
                Some(EncLookup::Dead)
                    if self.enc.remove_if(req, |v| self.is_dead(v, Instant::now())) =>
                {
                    bump(&self.n.expirations);
                }
                Some(EncLookup::Dead) => {}
                None => {}
            }
            bump(&self.n.misses);
            let (r, led) = self.enc_flights.run(req, || self.fill(req));
            if !led {
                bump(&self.n.coalesced);
            }
            r?;
        }
        // Other callers keep using up fresh entries: serve an uncached key rather than spin.
        bump(&self.n.bypassed);
        let (data_key, info) = self.generate(req)?;
        Ok(DataKeyMaterials { data_key, info })
    }

    /// Replaces the entry ahead of expiry; failures leave the old entry to serve until it
    /// expires (and let a later caller try again).
    fn refresh(&self, req: &DataKeyRequest) {
        let (r, led) = self.enc_flights.run(req, || self.fill(req));
        if led && r.is_ok() {
            bump(&self.n.refreshes);
        } else if r.is_err() {
            let now = Instant::now();
            let _ = self.enc.with(req, now, |v| {
                if let Cached::Key(e) = v {
                    e.refreshing.store(false, Ordering::Release);
                }
            });
        }
    }

    /// The data key in `blob`, opened under `context` (and, if given, asserted to be under
    /// `expected_key_arn`), served from the decrypt cache for up to `decrypt_max_age`.
    ///
    /// A cached entry is served only for the identical blob and context, which is what the KMS
    /// itself would check. A key disabled after caching keeps decrypting until the entry ages
    /// out, as with the AWS Encryption SDK.
    ///
    /// # Errors
    /// [`CacheError::Kms`]: `InvalidCiphertext`, `IncorrectKey`, key-state errors (remembered
    /// for `negative_ttl`), retryable errors (never remembered).
    pub fn decrypt_data_key(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, CacheError> {
        let key = DecryptKey::new(blob, context);
        for _ in 0..MAX_ROUNDS {
            let now = Instant::now();
            let found = self.dec.with(&key, now, |v| match v {
                Cached::Negative { err, until } if now < *until => DecLookup::Negative(err.clone()),
                Cached::Negative { .. } => DecLookup::Dead,
                Cached::Key(e)
                    if now.saturating_duration_since(e.created) < self.cfg.decrypt_max_age =>
                {
                    DecLookup::Hit(e.key.clone(), e.key_arn.clone())
                }
                Cached::Key(_) => DecLookup::Dead,
            });
            match found {
                Some(DecLookup::Hit(plaintext, key_arn)) => {
                    bump(&self.n.decrypt_hits);
                    if expected_key_arn.is_some_and(|e| e != key_arn) {
                        return Err(KmsError::IncorrectKey.into());
                    }
                    return Ok(DecryptedDataKey { plaintext, key_arn });
                }
                Some(DecLookup::Negative(e)) => {
                    bump(&self.n.negative_hits);
                    return Err(e.into());
                }
                Some(DecLookup::Dead) => {
                    let max_age = self.cfg.decrypt_max_age;
                    if self.dec.remove_if(&key, |v| match v {
                        Cached::Negative { until, .. } => Instant::now() >= *until,
                        Cached::Key(e) => e.created.elapsed() >= max_age,
                    }) {
                        bump(&self.n.expirations);
                    }
                }
                None => {}
            }
            bump(&self.n.decrypt_misses);
            let (r, led) = self
                .dec_flights
                .run(&key, || self.fill_decrypt(&key, blob, context));
            if !led {
                bump(&self.n.coalesced);
            }
            r?;
        }
        bump(&self.n.decrypt);
        let d = self.kms.decrypt(blob, context, expected_key_arn)?;
        Ok(d)
    }

    fn fill_decrypt(
        &self,
        key: &DecryptKey,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<(), KmsError> {
        bump(&self.n.decrypt);
        let now = Instant::now();
        // Decrypt without asserting the key here, so the entry serves any later assertion
        // correctly: the ARN is checked on every hit.
        let v = match self.kms.decrypt(blob, context, None) {
            Ok(d) => Cached::Key(Arc::new(DecEntry {
                key: d.plaintext,
                key_arn: d.key_arn,
                created: now,
            })),
            Err(e) => {
                bump(&self.n.errors);
                if !e.is_key_state() {
                    return Err(e);
                }
                let v = Cached::Negative {
                    err: e.clone(),
                    until: now + self.cfg.negative_ttl,
                };
                let ev = self.dec.insert(key.clone(), v, now);
                self.n.evictions.fetch_add(ev, Ordering::Relaxed);
                return Err(e);
            }
        };
        let ev = self.dec.insert(key.clone(), v, now);
        self.n.evictions.fetch_add(ev, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
