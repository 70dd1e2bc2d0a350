//! Engine settings and the builder that wires an [`Engine`]: KMS, key cache, rayon pool.

use std::sync::Arc;

use s3seal_gcm::ChunkSize;
use s3seal_keycache::{CacheConfig, KeyCache};
use s3seal_kms::{Kms, KmsKind, KmsSettings, LocalKms};
use s3seal_policy::AliasPolicy;

use super::Engine;
use crate::error::EngineError;

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
    /// Accept SSE-C over a connection that is not TLS (S3 refuses it with `InvalidRequest`).
    /// Default off; for loopback testing only.
    pub allow_insecure_sse_c: bool,
    /// S3's MD5 ETags for SSE-S3 objects written whole and their parts (default on, as S3).
    /// MD5 runs at well under 1 GB/s on one core — below AES-GCM — so a write bound by it can
    /// go no faster; off gives every object an opaque ETag, for stores whose clients never
    /// compare an ETag with an MD5 (the CLI's sealed files, which are no S3 objects).
    pub md5_etags: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            chunk: ChunkSize::DEFAULT,
            alias_policy: AliasPolicy::Warn,
            bucket_owner_keys_only: false,
            min_part_size: 5 << 20,
            allow_insecure_sse_c: false,
            md5_etags: true,
        }
    }
}

/// Wires an [`Engine`]: a KMS (the embedded [`LocalKms`] by default), the key cache, a rayon pool.
pub struct EngineBuilder {
    kms: Arc<dyn Kms>,
    local: Option<Arc<LocalKms>>,
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
            local: None,
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
        let local = Arc::new(LocalKms::open_dir(dir)?);
        Ok(EngineBuilder {
            local: Some(local.clone()),
            ..Self::new(local)
        })
    }

    /// A builder around an embedded [`LocalKms`] the caller opened (e.g. with a
    /// [`s3seal_kms::LocalKmsConfig`]); [`Engine::local_kms`] then returns it.
    #[must_use]
    pub fn from_local(local: Arc<LocalKms>) -> Self {
        EngineBuilder {
            local: Some(local.clone()),
            ..Self::new(local)
        }
    }

    /// A builder around the KMS `settings` name (`--kms local|aws`, a settings file): the
    /// embedded [`LocalKms`] keeping its keystore in `local_dir` (as [`EngineBuilder::local`]),
    /// or a remote one such as `AwsKms` (feature `aws`; [`KmsSettings::open_remote`]).
    ///
    /// # Errors
    /// The keystore's errors, or the remote client's setup errors (no Region, a build without
    /// the `aws` feature).
    pub fn from_settings(
        settings: &KmsSettings,
        local_dir: impl Into<std::path::PathBuf>,
    ) -> Result<Self, EngineError> {
        match settings.kind {
            KmsKind::Local => Self::local(local_dir),
            _ => Ok(Self::new(settings.open_remote()?)),
        }
    }

    /// The embedded KMS this builder opened ([`EngineBuilder::local`]), for its administration:
    /// creating, describing, rotating or disabling keys and aliases.
    #[must_use]
    pub fn local_kms(&self) -> Option<&Arc<LocalKms>> {
        self.local.as_ref()
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
    /// [`EngineError::ThreadPool`] if the thread pool cannot start.
    pub fn build(self) -> Result<Engine, EngineError> {
        let mut pool = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("s3seal-{i}"));
        if let Some(n) = self.threads {
            pool = pool.num_threads(n);
        }
        let pool = pool
            .build()
            .map_err(|e| EngineError::ThreadPool(e.to_string()))?;
        Ok(Engine {
            local: self.local,
            sse_s3_arns: std::sync::RwLock::default(),
            cache: KeyCache::new(self.kms.clone(), self.cache),
            kms: self.kms,
            pool,
            config: self.config,
        })
    }
}
