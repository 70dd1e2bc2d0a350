//! The local home: the keystore (`s3seal-kms`'s `LocalKms`) and the bucket and object store
//! (`s3seal-store`), side by side in one directory.
//!
//! ```text
//! HOME/keystore.json, root.key, keystore.lock    the LocalKms keystore (root secret 0600)
//! HOME/buckets/, HOME/tmp/                        the s3seal-store store
//! ```

use std::path::Path;
use std::sync::Arc;

use s3seal::kms::{
    KeystoreError, Kms, KmsError, KmsKind, KmsSettings, LocalKms, LocalKmsConfig, Requester,
    SSE_S3_ALIAS,
};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{Engine, EngineBuilder};
use s3seal_store::{Store, StoreError};

use crate::error::{CliError, Result};

/// The Region of every bucket (the keystore's default Region).
pub const REGION: &str = "us-east-1";

/// The opened home directory.
pub struct Home {
    store: Store,
    kms: Arc<dyn Kms>,
    /// The embedded keystore, when that is the KMS (`--kms local`, the default).
    local: Option<Arc<LocalKms>>,
    account: String,
    threads: Option<usize>,
}

impl core::fmt::Debug for Home {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Home")
            .field("dir", &self.store.home())
            .field("kms", &self.kms)
            .finish_non_exhaustive()
    }
}

/// Parses a bucket kind name.
///
/// # Errors
/// [`CliError::Usage`] for an unknown name.
pub fn parse_kind(s: &str) -> Result<BucketKind> {
    s3seal_store::parse_kind(s).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown bucket kind {s:?} (general, directory, fsx)"
        ))
    })
}

/// Splits `BUCKET/KEY`.
///
/// # Errors
/// [`CliError::Usage`] without a `/` or with an empty key.
pub fn split_object(s: &str) -> Result<(&str, &str)> {
    match s.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b, k)),
        _ => Err(CliError::Usage(format!("expected BUCKET/KEY, got {s:?}"))),
    }
}

impl Home {
    /// Opens (creating on first use) the home directory, its store and its keystore.
    ///
    /// # Errors
    /// The directory, store or keystore cannot be created or read.
    pub fn open(dir: &Path, threads: Option<usize>) -> Result<Self> {
        Self::open_with(dir, threads, false, &KmsSettings::default())
    }

    /// As [`Home::open`], with the KMS `settings` name (the embedded keystore in the home by
    /// default, or AWS KMS / a KMS-API server); `accept_rollback` accepts a keystore older
    /// than the newest one written (an older backup restored on purpose). A keystore is never
    /// created afresh in a home that holds objects: that would orphan them.
    ///
    /// # Errors
    /// As [`Home::open`]; a missing or rolled-back keystore, saying what to restore; a remote
    /// KMS that cannot be set up or asked for its account.
    pub fn open_with(
        dir: &Path,
        threads: Option<usize>,
        accept_rollback: bool,
        settings: &KmsSettings,
    ) -> Result<Self> {
        let store = Store::open(dir)?;
        let (kms, local, account): (Arc<dyn Kms>, _, _) = match settings.kind {
            KmsKind::Local => {
                let config = LocalKmsConfig::new(dir)
                    .require_existing(store.has_objects()?)
                    .accept_rollback(accept_rollback);
                let local = Arc::new(LocalKms::open(config).map_err(keystore_error)?);
                let account = local.requester().account().to_owned();
                (local.clone(), Some(local), account)
            }
            _ => {
                let kms = settings.open_remote()?;
                let account = settings.remote_account(kms.as_ref())?;
                (kms, None, account)
            }
        };
        Ok(Home {
            store,
            kms,
            local,
            account,
            threads,
        })
    }

    /// The home directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.store.home()
    }

    /// The bucket and object store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The embedded keystore, for key management.
    ///
    /// # Errors
    /// [`CliError::Usage`] when the KMS is remote: its keys are managed with its own tools.
    pub fn kms(&self) -> Result<&Arc<LocalKms>> {
        self.local.as_ref().ok_or_else(|| {
            CliError::Usage(
                "keys are managed in the remote KMS itself (e.g. `aws kms create-key`); \
                 `s3seal keys` manages the embedded keystore (--kms local)"
                    .to_owned(),
            )
        })
    }

    /// The account that owns every bucket: the keystore's default account, or the remote
    /// KMS's.
    #[must_use]
    pub fn account(&self) -> String {
        self.account.clone()
    }

    /// An engine over the KMS, with `threads` threads (default: the home's setting).
    ///
    /// # Errors
    /// The thread pool cannot start.
    pub fn engine_with(&self, threads: Option<usize>) -> Result<Engine> {
        let mut b = EngineBuilder::new(self.kms.clone());
        if let Some(n) = threads.or(self.threads) {
            b = b.threads(n);
        }
        Ok(b.build()?)
    }

    /// The engine of `s3seal encrypt`: as [`Home::engine_with`], with opaque ETags. A sealed
    /// file is no S3 object, and S3's MD5 ETag (well under 1 GB/s on one core) would bound
    /// every SSE-S3 encrypt.
    ///
    /// # Errors
    /// As [`Home::engine_with`].
    pub fn file_engine(&self) -> Result<Engine> {
        let mut b = EngineBuilder::new(self.kms.clone()).config(s3seal::EngineConfig {
            md5_etags: false,
            ..s3seal::EngineConfig::default()
        });
        if let Some(n) = self.threads {
            b = b.threads(n);
        }
        Ok(b.build()?)
    }

    /// An engine with the home's thread setting.
    ///
    /// # Errors
    /// As [`Home::engine_with`].
    pub fn engine(&self) -> Result<Engine> {
        self.engine_with(None)
    }

    /// Creates a bucket (no encryption configuration: the base level, SSE-S3).
    ///
    /// # Errors
    /// `BucketAlreadyOwnedByYou` if it exists; a bad name; I/O.
    pub fn create_bucket(&self, name: &str, kind: BucketKind) -> Result<BucketPolicy> {
        // The keystore file exists before the first bucket does (a home with buckets never gets
        // a fresh keystore): the SSE-S3 root key every bucket's default needs is made now (a
        // remote KMS must hold `alias/s3seal/sse-s3`: its absence is reported now).
        let requester = Requester::new(&self.account).map_err(KmsError::from)?;
        match self.kms.sse_s3_key(&requester) {
            Err(KmsError::NotFound(_)) if self.local.is_none() => {
                return Err(CliError::Usage(format!(
                    "the KMS has no alias/{SSE_S3_ALIAS} in account {}: create a symmetric key \
                     and that alias for SSE-S3 first",
                    self.account
                )));
            }
            r => r?,
        };
        Ok(self
            .store
            .create_bucket(name, kind, &self.account(), REGION)?)
    }

    /// Loads a bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; a damaged state file.
    pub fn bucket(&self, name: &str) -> Result<BucketPolicy> {
        Ok(self.store.bucket(name)?)
    }

    /// Stores a bucket's state (and its encryption document, if any).
    ///
    /// # Errors
    /// I/O.
    pub fn save_bucket(&self, bucket: &BucketPolicy) -> Result<()> {
        Ok(self.store.save_bucket(bucket)?)
    }
}

/// A keystore that cannot be opened, in the CLI's words (its flag, not the library's option).
fn keystore_error(e: KmsError) -> CliError {
    match e.keystore() {
        Some(KeystoreError::RolledBack { found, recorded }) => CliError::Format(format!(
            "keystore.json is generation {found} but generation {recorded} was written: it was \
             rolled back, and keys created since then are gone; restore the newest backup of \
             keystore.json, or, if this older copy was restored on purpose, run once with \
             --accept-keystore-rollback"
        )),
        Some(k @ KeystoreError::Missing { .. }) => CliError::Format(k.to_string().replace(
            "LocalKmsConfig::accept_rollback",
            "--accept-keystore-rollback",
        )),
        _ => e.into(),
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let s3 = |code, message: &str| CliError::S3 {
            code,
            message: message.to_owned(),
        };
        match e {
            StoreError::NoSuchBucket => s3("NoSuchBucket", "The specified bucket does not exist"),
            StoreError::BucketExists => s3(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            ),
            StoreError::InvalidBucketName => {
                s3("InvalidBucketName", "The specified bucket is not valid.")
            }
            StoreError::NoSuchKey => s3("NoSuchKey", "The specified key does not exist."),
            StoreError::NoSuchUpload => s3(
                "NoSuchUpload",
                "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed.",
            ),
            StoreError::Conflict => s3(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress against this resource. Try again.",
            ),
            StoreError::Io { what, source } => CliError::Io { what, source },
            other => CliError::Format(other.to_string()),
        }
    }
}
