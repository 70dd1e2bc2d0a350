//! The local home: the keystore, bucket state and a small file-based object store.
//!
//! ```text
//! HOME/keystore.json, root.key          the LocalKms keystore (root secret 0600)
//! HOME/buckets/NAME/bucket.json         kind, owner account, Region, a directory bucket's key
//! HOME/buckets/NAME/encryption.xml      the PutBucketEncryption document, if any
//! HOME/buckets/NAME/objects/HEX.sealed  an object's sealed bytes (HEX = hex of the key)
//! HOME/buckets/NAME/objects/HEX.env     its ObjectEnvelope
//! HOME/buckets/NAME/uploads/ID/         a multipart upload in progress (removed when done)
//! ```
//!
//! An object is written `.sealed` first, then `.env`, each atomically, so a reader never sees an
//! envelope without its sealed bytes; an envelope beside another version's bytes fails the
//! engine's checks (object id and length) instead of returning wrong data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3seal::kms::{Kms, LocalKms};
use s3seal::policy::{AliasPolicy, BucketKind, BucketPolicy, KeyRef, parse_bucket_encryption};
use s3seal::{Engine, EngineBuilder};

use crate::error::{CliError, Result};
use crate::fsio::write_atomic;

/// The Region of every bucket (the keystore's default Region).
pub const REGION: &str = "us-east-1";

/// Hex digits per path component of an object's file name (file systems allow 255 bytes).
const NAME_CHUNK: usize = 200;

/// The opened home directory.
pub struct Home {
    dir: PathBuf,
    kms: Arc<LocalKms>,
    threads: Option<usize>,
}

impl core::fmt::Debug for Home {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Home")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BucketFile {
    kind: String,
    owner: String,
    region: String,
    #[serde(default)]
    directory_kms_key: Option<String>,
}

/// The CLI name of a bucket kind.
#[must_use]
pub fn kind_name(kind: BucketKind) -> &'static str {
    match kind {
        BucketKind::Directory => "directory",
        BucketKind::FsxAccessPoint => "fsx",
        _ => "general",
    }
}

/// Parses a bucket kind name.
///
/// # Errors
/// [`CliError::Usage`] for an unknown name.
pub fn parse_kind(s: &str) -> Result<BucketKind> {
    match s {
        "general" => Ok(BucketKind::GeneralPurpose),
        "directory" => Ok(BucketKind::Directory),
        "fsx" => Ok(BucketKind::FsxAccessPoint),
        other => Err(CliError::Usage(format!(
            "unknown bucket kind {other:?} (general, directory, fsx)"
        ))),
    }
}

fn no_such_bucket() -> CliError {
    CliError::S3 {
        code: "NoSuchBucket",
        message: "The specified bucket does not exist".to_owned(),
    }
}

/// Checks a bucket name against S3's rules (any kind: the kind is not known before the bucket is
/// read); `InvalidBucketName`.
fn check_bucket_name(name: &str) -> Result<()> {
    Ok(s3seal_policy::check_bucket_name_any(name)?)
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
    /// Opens (creating on first use) the home directory and its keystore.
    ///
    /// # Errors
    /// The directory or keystore cannot be created or read.
    pub fn open(dir: &Path, threads: Option<usize>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(CliError::io(format!("create {}", dir.display())))?;
        let kms = Arc::new(LocalKms::open_dir(dir)?);
        Ok(Home {
            dir: dir.to_owned(),
            kms,
            threads,
        })
    }

    /// The home directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keystore.
    #[must_use]
    pub fn kms(&self) -> &Arc<LocalKms> {
        &self.kms
    }

    /// The account that owns every bucket: the keystore's default account.
    #[must_use]
    pub fn account(&self) -> String {
        self.kms.requester().account().to_owned()
    }

    /// An engine over the keystore, with `threads` threads (default: the home's setting).
    ///
    /// # Errors
    /// The thread pool cannot start.
    pub fn engine_with(&self, threads: Option<usize>) -> Result<Engine> {
        let kms: Arc<dyn Kms> = self.kms.clone();
        let mut b = EngineBuilder::new(kms);
        if let Some(n) = threads.or(self.threads) {
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

    fn bucket_dir(&self, name: &str) -> Result<PathBuf> {
        check_bucket_name(name)?;
        Ok(self.dir.join("buckets").join(name))
    }

    /// Creates a bucket (no encryption configuration: the base level, SSE-S3).
    ///
    /// # Errors
    /// `BucketAlreadyOwnedByYou` if it exists; a bad name; I/O.
    pub fn create_bucket(&self, name: &str, kind: BucketKind) -> Result<BucketPolicy> {
        let dir = self.bucket_dir(name)?;
        if dir.join("bucket.json").exists() {
            return Err(CliError::S3 {
                code: "BucketAlreadyOwnedByYou",
                message: "Your previous request to create the named bucket succeeded and you already own it.".to_owned(),
            });
        }
        std::fs::create_dir_all(dir.join("objects"))
            .map_err(CliError::io(format!("create {}", dir.display())))?;
        let bucket = BucketPolicy::new(name, kind, &self.account(), REGION);
        self.save_bucket(&bucket)?;
        Ok(bucket)
    }

    /// Loads a bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; a damaged state file.
    pub fn bucket(&self, name: &str) -> Result<BucketPolicy> {
        let dir = self.bucket_dir(name)?;
        let raw = match std::fs::read(dir.join("bucket.json")) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_such_bucket()),
            Err(e) => {
                return Err(CliError::Io {
                    what: format!("read bucket {name}"),
                    source: e,
                });
            }
        };
        let file: BucketFile = serde_json::from_slice(&raw)
            .map_err(|e| CliError::Format(format!("bucket {name}: bad bucket.json: {e}")))?;
        let mut bucket =
            BucketPolicy::new(name, parse_kind(&file.kind)?, &file.owner, &file.region);
        if let Some(k) = &file.directory_kms_key {
            bucket.directory_kms_key = Some(
                KeyRef::parse(k)
                    .map_err(|e| CliError::Format(format!("bucket {name}: bad key: {e}")))?,
            );
        }
        match std::fs::read(dir.join("encryption.xml")) {
            Ok(xml) => {
                bucket.encryption =
                    Some(parse_bucket_encryption(&xml, AliasPolicy::Warn)?.encryption)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::Io {
                    what: format!("read bucket {name} encryption"),
                    source: e,
                });
            }
        }
        Ok(bucket)
    }

    /// Stores a bucket's state (and its encryption document, if any).
    ///
    /// # Errors
    /// I/O.
    pub fn save_bucket(&self, bucket: &BucketPolicy) -> Result<()> {
        let dir = self.bucket_dir(&bucket.name)?;
        let file = BucketFile {
            kind: kind_name(bucket.kind).to_owned(),
            owner: bucket.owner_account.clone(),
            region: bucket.region.clone(),
            directory_kms_key: bucket.directory_kms_key.as_ref().map(ToString::to_string),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| CliError::Format(e.to_string()))?;
        if let Some(enc) = &bucket.encryption {
            write_atomic(&dir.join("encryption.xml"), enc.to_xml().as_bytes())?;
        }
        write_atomic(&dir.join("bucket.json"), &json)
    }

    /// The paths of an object's `.sealed` and `.env` files (the bucket must exist); creates
    /// the directories a long key needs when `create` is set.
    ///
    /// # Errors
    /// `NoSuchBucket`; I/O.
    pub fn object_paths(
        &self,
        bucket: &str,
        key: &str,
        create: bool,
    ) -> Result<(PathBuf, PathBuf)> {
        let mut path = self.bucket_dir(bucket)?.join("objects");
        let hex = hex::encode(key.as_bytes());
        let mut pieces: Vec<&str> = Vec::new();
        let mut rest = hex.as_str();
        while rest.len() > NAME_CHUNK {
            let (a, b) = rest.split_at(NAME_CHUNK);
            pieces.push(a);
            rest = b;
        }
        for p in &pieces {
            // A directory component ends in '_' so it never collides with a file name.
            path.push(format!("{p}_"));
        }
        if create {
            std::fs::create_dir_all(&path)
                .map_err(CliError::io(format!("create {}", path.display())))?;
        }
        Ok((
            path.join(format!("{rest}.sealed")),
            path.join(format!("{rest}.env")),
        ))
    }

    /// Reads an object's envelope and returns it with the path of its sealed bytes.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchKey`; I/O.
    pub fn read_object(&self, bucket: &str, key: &str) -> Result<(Vec<u8>, PathBuf)> {
        self.bucket(bucket)?;
        let (sealed, env) = self.object_paths(bucket, key, false)?;
        match std::fs::read(&env) {
            Ok(e) => Ok((e, sealed)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::S3 {
                code: "NoSuchKey",
                message: "The specified key does not exist.".to_owned(),
            }),
            Err(e) => Err(CliError::Io {
                what: format!("read {}", env.display()),
                source: e,
            }),
        }
    }

    /// The directory multipart uploads of `bucket` are staged in.
    ///
    /// # Errors
    /// I/O.
    pub fn uploads_dir(&self, bucket: &str) -> Result<PathBuf> {
        let d = self.bucket_dir(bucket)?.join("uploads");
        std::fs::create_dir_all(&d).map_err(CliError::io(format!("create {}", d.display())))?;
        Ok(d)
    }
}
