//! Buckets: `buckets/NAME/bucket.json` (kind, owner account, Region, a directory bucket's key)
//! and `buckets/NAME/encryption.xml` (the PutBucketEncryption document, if any).

use cap_std::fs::Dir;
use s3seal::policy::{AliasPolicy, BucketKind, BucketPolicy, KeyRef, parse_bucket_encryption};

use crate::fsx::{read_bounded, write_atomic};
use crate::{Store, StoreError};

/// Largest `bucket.json` or `encryption.xml` read back (both are a few hundred bytes; S3 caps
/// the encryption document far below this).
pub const MAX_BUCKET_FILE: u64 = 64 << 10;

#[derive(serde::Serialize, serde::Deserialize)]
struct BucketFile {
    kind: String,
    owner: String,
    region: String,
    #[serde(default)]
    directory_kms_key: Option<String>,
}

/// The stored name of a bucket kind.
#[must_use]
pub fn kind_name(kind: BucketKind) -> &'static str {
    match kind {
        BucketKind::Directory => "directory",
        BucketKind::FsxAccessPoint => "fsx",
        _ => "general",
    }
}

/// Parses a stored bucket kind name; `None` for an unknown one.
#[must_use]
pub fn parse_kind(s: &str) -> Option<BucketKind> {
    match s {
        "general" => Some(BucketKind::GeneralPurpose),
        "directory" => Some(BucketKind::Directory),
        "fsx" => Some(BucketKind::FsxAccessPoint),
        _ => None,
    }
}

/// Checks a bucket name against S3's rules (any bucket kind): no path separator, `..` or
/// other name can reach a bucket directory.
fn check_bucket_name(name: &str) -> Result<(), StoreError> {
    s3seal::policy::check_bucket_name_any(name).map_err(|_| StoreError::InvalidBucketName)
}

impl Store {
    /// The directory of bucket `name`.
    pub(crate) fn bucket_dir(&self, name: &str) -> Result<Dir, StoreError> {
        check_bucket_name(name)?;
        match self.buckets.open_dir(name) {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoSuchBucket),
            Err(e) => Err(StoreError::io(format!("open bucket {name}"))(e)),
        }
    }

    /// Creates a bucket (no encryption configuration: the base level, SSE-S3).
    ///
    /// # Errors
    /// [`StoreError::BucketExists`]; [`StoreError::InvalidBucketName`]; I/O.
    pub fn create_bucket(
        &self,
        name: &str,
        kind: BucketKind,
        owner: &str,
        region: &str,
    ) -> Result<BucketPolicy, StoreError> {
        check_bucket_name(name)?;
        match self.buckets.create_dir(name) {
            Ok(()) => {}
            // A crash between the directory and its bucket.json leaves a directory to reuse.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if self.bucket_dir(name)?.exists("bucket.json") {
                    return Err(StoreError::BucketExists);
                }
            }
            Err(e) => return Err(StoreError::io(format!("create bucket {name}"))(e)),
        }
        let bucket = BucketPolicy::new(name, kind, owner, region);
        self.save_bucket(&bucket)?;
        Ok(bucket)
    }

    /// Loads a bucket.
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; [`StoreError::Corrupt`] for a damaged `bucket.json` or
    /// `encryption.xml`; I/O.
    pub fn bucket(&self, name: &str) -> Result<BucketPolicy, StoreError> {
        let dir = self.bucket_dir(name)?;
        let what = format!("buckets/{name}/bucket.json");
        let raw = read_bounded(&dir, "bucket.json", MAX_BUCKET_FILE, &what)?
            .ok_or(StoreError::NoSuchBucket)?;
        let corrupt = |why| StoreError::Corrupt {
            what: what.clone(),
            why,
        };
        let file: BucketFile =
            serde_json::from_slice(&raw).map_err(|_| corrupt("not a bucket record"))?;
        let kind = parse_kind(&file.kind).ok_or_else(|| corrupt("unknown bucket kind"))?;
        let mut bucket = BucketPolicy::new(name, kind, &file.owner, &file.region);
        if let Some(k) = &file.directory_kms_key {
            bucket.directory_kms_key =
                Some(KeyRef::parse(k).map_err(|_| corrupt("bad directory bucket key"))?);
        }
        let what = format!("buckets/{name}/encryption.xml");
        if let Some(xml) = read_bounded(&dir, "encryption.xml", MAX_BUCKET_FILE, &what)? {
            let parsed = parse_bucket_encryption(&xml, AliasPolicy::Warn).map_err(|_| {
                StoreError::Corrupt {
                    what,
                    why: "not a valid encryption configuration",
                }
            })?;
            bucket.encryption = Some(parsed.encryption);
        }
        Ok(bucket)
    }

    /// Stores a bucket's record and its encryption document (removed when it has none), each
    /// atomically.
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; I/O.
    pub fn save_bucket(&self, bucket: &BucketPolicy) -> Result<(), StoreError> {
        let dir = self.bucket_dir(&bucket.name)?;
        let file = BucketFile {
            kind: kind_name(bucket.kind).to_owned(),
            owner: bucket.owner_account.clone(),
            region: bucket.region.clone(),
            directory_kms_key: bucket.directory_kms_key.as_ref().map(ToString::to_string),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Io {
            what: "serialize bucket record".to_owned(),
            source: std::io::Error::other(e),
        })?;
        let name = &bucket.name;
        let what = format!("buckets/{name}/encryption.xml");
        match &bucket.encryption {
            Some(enc) => write_atomic(&dir, "encryption.xml", enc.to_xml().as_bytes(), &what)?,
            // No configuration (a new bucket, or DeleteBucketEncryption): the base level.
            None => match dir.remove_file("encryption.xml") {
                Ok(()) => crate::fsx::sync_dir(&dir, &what)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(format!("remove {what}"))(e)),
            },
        }
        write_atomic(
            &dir,
            "bucket.json",
            &json,
            &format!("buckets/{name}/bucket.json"),
        )
    }
}
