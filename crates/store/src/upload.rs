//! Multipart uploads that outlive a process (what a server keeps between CreateMultipartUpload
//! and CompleteMultipartUpload, across restarts): `buckets/B/uploads/ID/` holds
//!
//! ```text
//! key              the object key (UTF-8)
//! state            the upload's state as the engine serialized it (opaque here)
//! part-NNNNN-TAG.data  the sealed bytes of one upload of part NNNNN; TAG (hex, from the
//!                  caller) tells the uploads of one number apart, so the file a part's record
//!                  names is never replaced by a later or concurrent upload of that number
//! lock             flock'd by whoever changes the upload
//! ```
//!
//! Every file is replaced by a rename, so a crash leaves each one old or new. An upload stays
//! until it is completed or aborted, as in S3; the `s3seal` command, which uploads in one
//! process, stages its parts in the scratch space instead ([`crate::Store::staging`]).

use cap_std::fs::Dir;

use crate::fsx::{lock, random_name, read_bounded, write_atomic};
use crate::scratch::NewData;
use crate::{Store, StoreError};

/// Largest upload state read back.
pub const MAX_UPLOAD_STATE: u64 = 4 << 20;

const UPLOADS: &str = "uploads";
const KEY: &str = "key";
const STATE: &str = "state";
const LOCK: &str = "lock";

fn part_name(n: u32, tag: &str) -> Result<String, StoreError> {
    if tag.is_empty() || tag.len() > 64 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::NoSuchPart(n));
    }
    Ok(format!("part-{n:05}-{tag}.data"))
}

/// Whether `id` is an upload id this store makes (32 hex digits): nothing else names a path.
fn check_id(id: &str) -> Result<(), StoreError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StoreError::NoSuchUpload)
    }
}

impl Store {
    fn upload_dir(&self, bucket: &str, id: &str) -> Result<Dir, StoreError> {
        check_id(id)?;
        let dir = self.bucket_dir(bucket)?;
        match dir.open_dir(format!("{UPLOADS}/{id}")) {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoSuchUpload),
            Err(e) => Err(StoreError::io(format!("open upload {id}"))(e)),
        }
    }

    /// Starts an upload of `key` with `state`; returns its id.
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; I/O.
    pub fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        state: &[u8],
    ) -> Result<String, StoreError> {
        let dir = self.bucket_dir(bucket)?;
        dir.create_dir_all(UPLOADS)
            .map_err(StoreError::io(format!("create buckets/{bucket}/{UPLOADS}")))?;
        let uploads = dir
            .open_dir(UPLOADS)
            .map_err(StoreError::io(format!("open buckets/{bucket}/{UPLOADS}")))?;
        remove_stale_tmp(&uploads);
        // Built under a temporary name and renamed: an upload is listed whole or not at all.
        let id = random_name("")?;
        let tmp = random_name(".tmp-")?;
        uploads
            .create_dir(&tmp)
            .map_err(StoreError::io("create upload directory"))?;
        let built = (|| {
            let d = uploads
                .open_dir(&tmp)
                .map_err(StoreError::io("open upload directory"))?;
            write_atomic(&d, KEY, key.as_bytes(), "upload key")?;
            write_atomic(&d, STATE, state, "upload state")?;
            uploads
                .rename(&tmp, &uploads, &id)
                .map_err(StoreError::io("publish upload directory"))
        })();
        if built.is_err() {
            let _ = uploads.remove_dir_all(&tmp);
        }
        built.map(|()| id)
    }

    /// The key and state of upload `id`.
    ///
    /// # Errors
    /// [`StoreError::NoSuchUpload`]; [`StoreError::Corrupt`]; I/O.
    pub fn upload(&self, bucket: &str, id: &str) -> Result<(String, Vec<u8>), StoreError> {
        let dir = self.upload_dir(bucket, id)?;
        let what = |f: &str| format!("buckets/{bucket}/{UPLOADS}/{id}/{f}");
        let key = read_bounded(&dir, KEY, 4096, &what(KEY))?.ok_or(StoreError::NoSuchUpload)?;
        let key = String::from_utf8(key).map_err(|_| StoreError::Corrupt {
            what: what(KEY),
            why: "not UTF-8",
        })?;
        let state = read_bounded(&dir, STATE, MAX_UPLOAD_STATE, &what(STATE))?
            .ok_or(StoreError::NoSuchUpload)?;
        Ok((key, state))
    }

    /// Replaces upload `id`'s state, if it is still `expected` (a read-modify-write).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if another writer changed it meanwhile; as [`Store::upload`].
    pub fn replace_upload_state(
        &self,
        bucket: &str,
        id: &str,
        expected: &[u8],
        state: &[u8],
    ) -> Result<(), StoreError> {
        let dir = self.upload_dir(bucket, id)?;
        let _lock = lock(&dir, LOCK, "upload")?;
        if self.upload(bucket, id)?.1 != expected {
            return Err(StoreError::Conflict);
        }
        write_atomic(&dir, STATE, state, "upload state")
    }

    /// Stores the sealed bytes of one upload of part `n` of upload `id`, named by `tag` (1 to
    /// 64 hex digits, distinct for every upload of the number, e.g. a digest of its sealed
    /// header). Uploads of a number under other tags stay until the upload ends.
    ///
    /// # Errors
    /// As [`Store::upload`]; [`StoreError::NoSuchPart`] for a bad tag; I/O.
    pub fn put_part(
        &self,
        bucket: &str,
        id: &str,
        n: u32,
        tag: &str,
        mut data: NewData,
    ) -> Result<(), StoreError> {
        let name = part_name(n, tag)?;
        let dir = self.upload_dir(bucket, id)?;
        data.file
            .sync_all()
            .map_err(StoreError::io(format!("fsync part {n}")))?;
        let _lock = lock(&dir, LOCK, "upload")?;
        data.dir
            .rename(&data.name, &dir, &name)
            .map_err(StoreError::io(format!("store part {n}")))?;
        data.published = true;
        crate::fsx::sync_dir(&dir, "upload directory")
    }

    /// Opens the sealed bytes of the upload of part `n` of upload `id` named `tag`.
    ///
    /// # Errors
    /// [`StoreError::NoSuchPart`]; as [`Store::upload`].
    pub fn open_part(
        &self,
        bucket: &str,
        id: &str,
        n: u32,
        tag: &str,
    ) -> Result<std::fs::File, StoreError> {
        let name = part_name(n, tag)?;
        let dir = self.upload_dir(bucket, id)?;
        match dir.open(name) {
            Ok(f) => Ok(f.into_std()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoSuchPart(n)),
            Err(e) => Err(StoreError::io(format!("open part {n}"))(e)),
        }
    }

    /// Completes upload `id`: the sealed bytes of `parts` (number and tag), in this order,
    /// become the object's data, published with `envelope` as one unit; then the upload is
    /// removed.
    ///
    /// # Errors
    /// [`StoreError::NoSuchPart`]; as [`Store::upload`] and [`Store::publish`].
    pub fn complete_upload(
        &self,
        bucket: &str,
        id: &str,
        parts: &[(u32, String)],
        envelope: &[u8],
    ) -> Result<(), StoreError> {
        let (key, _) = self.upload(bucket, id)?;
        let mut data = self.new_data()?;
        for (n, tag) in parts {
            let n = *n;
            std::io::copy(&mut self.open_part(bucket, id, n, tag)?, data.file())
                .map_err(StoreError::io(format!("copy part {n} into the object")))?;
        }
        self.publish(bucket, &key, envelope, data)?;
        self.abort_upload(bucket, id)
    }

    /// Removes upload `id` and its parts.
    ///
    /// # Errors
    /// [`StoreError::NoSuchUpload`]; I/O.
    pub fn abort_upload(&self, bucket: &str, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let uploads = self
            .bucket_dir(bucket)?
            .open_dir(UPLOADS)
            .map_err(|_| StoreError::NoSuchUpload)?;
        // Renamed away first, so no reader sees a half-removed upload.
        let gone = random_name(".tmp-")?;
        match uploads.rename(id, &uploads, &gone) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoSuchUpload);
            }
            Err(e) => return Err(StoreError::io(format!("remove upload {id}"))(e)),
        }
        uploads
            .remove_dir_all(&gone)
            .map_err(StoreError::io(format!("remove upload {id}")))
    }

    /// The uploads in progress in `bucket`: `(id, key)`, sorted by id.
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; I/O.
    pub fn list_uploads(&self, bucket: &str) -> Result<Vec<(String, String)>, StoreError> {
        let dir = self.bucket_dir(bucket)?;
        let entries = match dir.read_dir(UPLOADS) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list uploads")(e)),
        };
        let mut out = Vec::new();
        for e in entries {
            let name = e.map_err(StoreError::io("list uploads"))?.file_name();
            let Some(id) = name.to_str().filter(|n| check_id(n).is_ok()) else {
                continue;
            };
            if let Ok((key, _)) = self.upload(bucket, id) {
                out.push((id.to_owned(), key));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Removes what a crash left in `uploads/`: `.tmp-` directories (an upload being created or
/// removed) older than [`crate::STALE_AFTER`].
fn remove_stale_tmp(uploads: &Dir) {
    let Ok(entries) = uploads.entries() else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|m| m.into_std().elapsed().ok())
            .is_some_and(|age| age >= crate::STALE_AFTER);
        if name.starts_with(".tmp-") && old {
            let _ = uploads.remove_dir_all(&name);
        }
    }
}
