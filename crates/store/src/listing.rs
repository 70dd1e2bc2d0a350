//! Listing and removal: ListBuckets, DeleteBucket, ListObjects, DeleteObject.
//!
//! An object's directory is named by its key in hex (see `object.rs`), and hex keeps the byte
//! order of keys, so a walk of `objects/` can skip every directory whose name cannot start a
//! key with the requested prefix. Object directories stay after their object is deleted (a
//! writer may hold one open, waiting for its lock): only a `current` pointer makes an object.

use std::time::SystemTime;

use cap_std::fs::Dir;

use crate::fsx::{lock, random_name, sync_dir};
use crate::{Store, StoreError};

/// One bucket, as ListBuckets shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketEntry {
    /// The bucket name.
    pub name: String,
    /// When it was created (its record's directory's time).
    pub created: SystemTime,
}

/// Whether the hex text `dir_hex` (a prefix of some key's hex) is compatible with `prefix_hex`:
/// one starts with the other.
fn compatible(dir_hex: &str, prefix_hex: &str) -> bool {
    dir_hex.starts_with(prefix_hex) || prefix_hex.starts_with(dir_hex)
}

/// Decodes a key's hex name; `None` for anything this store does not write.
fn decode_key(hex_name: &str) -> Option<String> {
    let bytes = hex::decode(hex_name).ok()?;
    String::from_utf8(bytes).ok()
}

impl Store {
    /// The buckets, sorted by name.
    ///
    /// # Errors
    /// [`StoreError::Io`].
    pub fn list_buckets(&self) -> Result<Vec<BucketEntry>, StoreError> {
        let mut out = Vec::new();
        for e in self
            .buckets
            .entries()
            .map_err(StoreError::io("list buckets"))?
        {
            let e = e.map_err(StoreError::io("list buckets"))?;
            let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if s3seal::policy::check_bucket_name_any(&name).is_err() {
                continue;
            }
            let Ok(dir) = e.open_dir() else { continue };
            let Ok(meta) = dir.metadata("bucket.json") else {
                continue;
            };
            let created = e
                .metadata()
                .ok()
                .and_then(|m| m.created().or_else(|_| m.modified()).ok())
                .or_else(|| meta.modified().ok())
                .map_or(SystemTime::UNIX_EPOCH, cap_std::time::SystemTime::into_std);
            out.push(BucketEntry { name, created });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The keys of `bucket`'s objects that start with `prefix`, sorted (byte order).
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; I/O.
    pub fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.bucket_dir(bucket)?;
        let objects = match dir.open_dir("objects") {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(format!("open buckets/{bucket}/objects"))(e)),
        };
        let mut out = Vec::new();
        walk(&objects, "", &hex::encode(prefix), &mut out, bucket)?;
        out.retain(|k| k.starts_with(prefix));
        out.sort();
        Ok(out)
    }

    /// Whether `bucket` holds an object or an upload in progress.
    fn bucket_in_use(&self, bucket: &str) -> Result<bool, StoreError> {
        Ok(!self.list_keys(bucket, "")?.is_empty() || !self.list_uploads(bucket)?.is_empty())
    }

    /// DeleteBucket: removes an empty bucket (no objects, no uploads in progress).
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; [`StoreError::BucketNotEmpty`]; I/O.
    pub fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        self.bucket(name)?;
        if self.bucket_in_use(name)? {
            return Err(StoreError::BucketNotEmpty);
        }
        // Moved out of `buckets/` first (one rename: the bucket is there or gone), then checked
        // again: a write that raced the first check is put back with its bucket.
        let gone = random_name(".deleted-")?;
        self.buckets
            .rename(name, &self.scratch, &gone)
            .map_err(StoreError::io(format!("remove bucket {name}")))?;
        let still_empty = self
            .scratch
            .open_dir(&gone)
            .ok()
            .is_some_and(|d| !tree_has_pointer(&d, 0));
        if !still_empty {
            self.scratch
                .rename(&gone, &self.buckets, name)
                .map_err(StoreError::io(format!("restore bucket {name}")))?;
            return Err(StoreError::BucketNotEmpty);
        }
        sync_dir(&self.buckets, "buckets")?;
        self.scratch
            .remove_dir_all(&gone)
            .map_err(StoreError::io(format!("remove bucket {name}")))
    }

    /// DeleteObject: removes `key`'s current version. Returns whether there was one (S3
    /// answers the same either way).
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; I/O.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        let dir = match self.object_dir(bucket, key, false) {
            Ok(d) => d,
            Err(StoreError::NoSuchKey) => return Ok(false),
            Err(e) => return Err(e),
        };
        let rel = Self::object_rel(bucket, key);
        let _lock = lock(&dir, crate::object::LOCK, &rel)?;
        let existed = match dir.remove_file(crate::object::POINTER) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(StoreError::io(format!("remove {rel}"))(e)),
        };
        sync_dir(&dir, &rel)?;
        crate::object::remove_unreferenced(&dir, "");
        Ok(existed)
    }
}

/// Collects the keys below `dir` (whose components so far spell `hex_so_far`) compatible with
/// `prefix_hex`.
fn walk(
    dir: &Dir,
    hex_so_far: &str,
    prefix_hex: &str,
    out: &mut Vec<String>,
    bucket: &str,
) -> Result<(), StoreError> {
    let what = || format!("list buckets/{bucket}/objects");
    for e in dir.entries().map_err(StoreError::io(what()))? {
        let e = e.map_err(StoreError::io(what()))?;
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let (component, more) = match name.strip_suffix('_') {
            Some(c) => (c, true),
            None => (name.as_str(), false),
        };
        if component.is_empty() || !component.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let hex_name = format!("{hex_so_far}{component}");
        if !compatible(&hex_name, prefix_hex) {
            continue;
        }
        let Ok(sub) = e.open_dir() else { continue };
        if more {
            walk(&sub, &hex_name, prefix_hex, out, bucket)?;
        } else if sub.exists(crate::object::POINTER)
            && let Some(key) = decode_key(&hex_name)
        {
            out.push(key);
        }
    }
    Ok(())
}

/// Whether any directory below `dir` holds an object pointer (`depth` bounds the descent).
fn tree_has_pointer(dir: &Dir, depth: usize) -> bool {
    if depth > 64 {
        return true;
    }
    let Ok(entries) = dir.entries() else {
        return true;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        if name == crate::object::POINTER && depth > 1 {
            return true;
        }
        // A bucket's own `uploads/` holds uploads in progress: not empty.
        if depth == 0 && name == "uploads" {
            return e
                .open_dir()
                .ok()
                .and_then(|d| d.entries().ok())
                .is_some_and(|mut it| {
                    it.any(|x| {
                        x.is_ok_and(|x| !x.file_name().to_string_lossy().starts_with(".tmp-"))
                    })
                });
        }
        e.file_type().is_ok_and(|t| t.is_dir())
            && e.open_dir().is_ok_and(|d| tree_has_pointer(&d, depth + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_pruning_is_symmetric() {
        assert!(compatible("6b", "6b65"));
        assert!(compatible("6b65", "6b"));
        assert!(!compatible("6c", "6b"));
        assert!(compatible("", "6b"));
    }
}
