//! Objects. Each object key has its own directory, `buckets/B/objects/HEX/` (HEX: the key in
//! hex; a long key is split into 200-digit directory components ending in `_`), holding:
//!
//! ```text
//! current        the pointer: which data file is this object, and its envelope
//! ID.data        the sealed bytes of one version (ID: 32 random hex digits)
//! lock           flock'd by whoever replaces `current`
//! ```
//!
//! The pointer:
//!
//! ```text
//!  0      4    5     6                6+n          10+n
//!  +------+----+-----+----------------+------------+------------------+
//!  |"S3OP"| 1  |  n  | data file name | env len    | envelope (len)   |
//!  |      |ver | u8  | (n bytes ASCII)| u32 BE     | (ObjectEnvelope) |
//!  +------+----+-----+----------------+------------+------------------+
//! ```
//!
//! A write puts the new version's sealed bytes in the scratch space, fsyncs them, and then,
//! under the object's lock, renames them into the object's directory under a fresh name and
//! replaces `current` atomically (temporary file, fsync, rename, fsync of the directory). So
//! envelope and bytes are published as one unit by one rename: concurrent writers of one key
//! leave one whole version (the last to rename), and a crash or I/O error at any step leaves
//! the previous version whole and readable. Data files no pointer names are removed under the
//! lock by the next write. A reader opens `current`, then the data file it names — a handle on
//! one version that a later overwrite does not change; should that overwrite remove the data
//! file between the two opens, the reader starts again.

use std::io::Read;
use std::path::PathBuf;

use cap_std::fs::Dir;

use crate::fsx::{lock, random_name, read_bounded, sync_dir, write_atomic};
use crate::scratch::NewData;
use crate::{Store, StoreError, failpoint};

/// Largest pointer file read back: an envelope is bounded by its format (fields of at most
/// 32 KiB, at most 10,000 manifest entries of 26 bytes), well below this.
pub const MAX_POINTER: u64 = 4 << 20;

pub(crate) const POINTER: &str = "current";
pub(crate) const LOCK: &str = "lock";
const MAGIC: &[u8; 4] = b"S3OP";
const VERSION: u8 = 1;
const DATA_SUFFIX: &str = ".data";
/// Pointer bytes besides the envelope: magic, version, name length, a data file name (32 hex
/// digits and `.data`), envelope length.
const POINTER_OVERHEAD: u64 = 4 + 1 + 1 + 32 + 5 + 4;
/// Hex digits per directory component of an object's path (file names hold 255 bytes).
const NAME_CHUNK: usize = 200;
/// How often a reader starts again when an overwrite removed the version it was opening.
const READ_ATTEMPTS: usize = 8;

/// One stored object version, as read: its envelope and an open handle on its sealed bytes.
#[derive(Debug)]
pub struct ObjectFile {
    /// The envelope bytes.
    pub envelope: Vec<u8>,
    /// The sealed bytes (this version's, whatever is written after the open).
    pub data: std::fs::File,
    /// Their length.
    pub len: u64,
    /// When this version was written (its data file's modification time).
    pub modified: std::time::SystemTime,
    /// Where they are, for messages.
    pub path: PathBuf,
}

/// The directory components of `key`'s object directory, below `objects/`.
fn components(key: &str) -> Vec<String> {
    let hex = hex::encode(key.as_bytes());
    let mut out = Vec::new();
    let mut rest = hex.as_str();
    while rest.len() > NAME_CHUNK {
        let (a, b) = rest.split_at(NAME_CHUNK);
        // A directory component ends in '_' so it never collides with an object directory.
        out.push(format!("{a}_"));
        rest = b;
    }
    out.push(rest.to_owned());
    out
}

fn encode_pointer(data_name: &str, envelope: &[u8]) -> Result<Vec<u8>, StoreError> {
    let too_large = || StoreError::TooLarge {
        what: "object envelope".to_owned(),
        limit: MAX_POINTER,
    };
    let n = u8::try_from(data_name.len()).map_err(|_| too_large())?;
    let len = u32::try_from(envelope.len()).map_err(|_| too_large())?;
    let mut out = Vec::with_capacity(10 + data_name.len() + envelope.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(n);
    out.extend_from_slice(data_name.as_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(envelope);
    if out.len() as u64 > MAX_POINTER {
        return Err(too_large());
    }
    Ok(out)
}

/// Whether `name` is a data file name this store writes: 32 hex digits and `.data`.
fn is_data_name(name: &str) -> bool {
    name.strip_suffix(DATA_SUFFIX)
        .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn decode_pointer(bytes: &[u8], what: &str) -> Result<(String, Vec<u8>), StoreError> {
    let corrupt = |why| StoreError::Corrupt {
        what: what.to_owned(),
        why,
    };
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("not an object pointer"))?;
    let (&version, rest) = rest.split_first().ok_or_else(|| corrupt("truncated"))?;
    if version != VERSION {
        return Err(corrupt("unknown pointer version"));
    }
    let (&n, rest) = rest.split_first().ok_or_else(|| corrupt("truncated"))?;
    let (name, rest) = rest
        .split_at_checked(usize::from(n))
        .ok_or_else(|| corrupt("truncated"))?;
    let name = core::str::from_utf8(name)
        .ok()
        .filter(|s| is_data_name(s))
        .ok_or_else(|| corrupt("bad data file name"))?;
    let (len, envelope) = rest
        .split_at_checked(4)
        .ok_or_else(|| corrupt("truncated"))?;
    let mut l = [0u8; 4];
    l.copy_from_slice(len);
    if envelope.len() as u64 != u64::from(u32::from_be_bytes(l)) {
        return Err(corrupt("envelope length does not match"));
    }
    Ok((name.to_owned(), envelope.to_vec()))
}

impl Store {
    /// The path of `key`'s object directory relative to the home, for messages.
    pub(crate) fn object_rel(bucket: &str, key: &str) -> String {
        format!("buckets/{bucket}/objects/{}", components(key).join("/"))
    }

    /// Opens `key`'s object directory in `bucket`, creating it when `create` is set.
    pub(crate) fn object_dir(
        &self,
        bucket: &str,
        key: &str,
        create: bool,
    ) -> Result<Dir, StoreError> {
        let mut dir = self.bucket_dir(bucket)?;
        let rel = Self::object_rel(bucket, key);
        for c in std::iter::once("objects".to_owned()).chain(components(key)) {
            if create {
                match dir.create_dir(&c) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(StoreError::io(format!("create {rel}"))(e)),
                }
            }
            dir = match dir.open_dir(&c) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::NoSuchKey);
                }
                Err(e) => return Err(StoreError::io(format!("open {rel}"))(e)),
            };
        }
        Ok(dir)
    }

    /// Publishes `data` with `envelope` as the current version of `bucket`/`key`, replacing
    /// any previous version as one unit (see the module header).
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`]; I/O — the previous version is then still the object.
    pub fn publish(
        &self,
        bucket: &str,
        key: &str,
        envelope: &[u8],
        mut data: NewData,
    ) -> Result<(), StoreError> {
        let rel = Self::object_rel(bucket, key);
        // An envelope no pointer can hold is refused before any work.
        if POINTER_OVERHEAD + envelope.len() as u64 > MAX_POINTER {
            return Err(StoreError::TooLarge {
                what: "object envelope".to_owned(),
                limit: MAX_POINTER,
            });
        }
        data.file
            .sync_all()
            .map_err(StoreError::io(format!("fsync new data of {rel}")))?;
        failpoint::hit("publish:data-synced")?;
        let dir = self.object_dir(bucket, key, true)?;
        let _lock = lock(&dir, LOCK, &rel)?;
        let name = random_name("")? + DATA_SUFFIX;
        data.dir
            .rename(&data.name, &dir, &name)
            .map_err(StoreError::io(format!("move new data into {rel}")))?;
        data.published = true;
        let written = failpoint::hit("publish:data-moved")
            .and_then(|()| encode_pointer(&name, envelope))
            .and_then(|p| write_atomic(&dir, POINTER, &p, &format!("{rel}/{POINTER}")));
        if let Err(e) = written {
            // Remove the new bytes only if the pointer does not name them: a failure after the
            // rename (the directory's fsync) leaves them published, and removing them then
            // would leave `current` naming nothing (neither version readable).
            if !pointer_names(&dir, &name, &rel) {
                let _ = dir.remove_file(&name);
            }
            return Err(e);
        }
        remove_unreferenced(&dir, &name);
        Ok(())
    }

    /// Opens the current version of `bucket`/`key`.
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`], [`StoreError::NoSuchKey`]; [`StoreError::Corrupt`] for a
    /// damaged pointer; I/O.
    pub fn open_object(&self, bucket: &str, key: &str) -> Result<ObjectFile, StoreError> {
        let dir = self.object_dir(bucket, key, false)?;
        let rel = Self::object_rel(bucket, key);
        let what = format!("{rel}/{POINTER}");
        for _ in 0..READ_ATTEMPTS {
            let raw =
                read_bounded(&dir, POINTER, MAX_POINTER, &what)?.ok_or(StoreError::NoSuchKey)?;
            let (name, envelope) = decode_pointer(&raw, &what)?;
            let data = match dir.open(&name) {
                Ok(f) => f.into_std(),
                // An overwrite removed this version after we read its pointer: start again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(format!("open {rel}/{name}"))(e)),
            };
            let meta = data
                .metadata()
                .map_err(StoreError::io(format!("stat {rel}/{name}")))?;
            return Ok(ObjectFile {
                envelope,
                data,
                len: meta.len(),
                modified: meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH),
                path: self.home().join(&rel).join(&name),
            });
        }
        Err(StoreError::Corrupt {
            what,
            why: "names a data file that does not exist",
        })
    }

    /// Reads the whole current version of `bucket`/`key`: envelope and sealed bytes.
    ///
    /// # Errors
    /// As [`Store::open_object`].
    pub fn read_object(&self, bucket: &str, key: &str) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let mut obj = self.open_object(bucket, key)?;
        let mut sealed = Vec::new();
        obj.data
            .read_to_end(&mut sealed)
            .map_err(StoreError::io(format!("read {}", obj.path.display())))?;
        Ok((obj.envelope, sealed))
    }

    /// Replaces the envelope of `bucket`/`key` (a rewrap: same sealed bytes), if the object's
    /// envelope is still `expected`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the object was replaced meanwhile; as [`Store::open_object`].
    pub fn replace_envelope(
        &self,
        bucket: &str,
        key: &str,
        expected: &[u8],
        envelope: &[u8],
    ) -> Result<(), StoreError> {
        let dir = self.object_dir(bucket, key, false)?;
        let rel = Self::object_rel(bucket, key);
        let what = format!("{rel}/{POINTER}");
        let _lock = lock(&dir, LOCK, &rel)?;
        let raw = read_bounded(&dir, POINTER, MAX_POINTER, &what)?.ok_or(StoreError::NoSuchKey)?;
        let (name, current) = decode_pointer(&raw, &what)?;
        if current != expected {
            return Err(StoreError::Conflict);
        }
        write_atomic(&dir, POINTER, &encode_pointer(&name, envelope)?, &what)
    }
}

/// Whether the object's pointer names data file `name` (false if it cannot be read).
fn pointer_names(dir: &Dir, name: &str, rel: &str) -> bool {
    read_bounded(dir, POINTER, MAX_POINTER, rel)
        .ok()
        .flatten()
        .and_then(|raw| decode_pointer(&raw, rel).ok())
        .is_some_and(|(current, _)| current == name)
}

/// Removes, under the object's lock, data files other than `current` and leftover temporary
/// pointer files. Best effort: what stays is removed by a later write.
pub(crate) fn remove_unreferenced(dir: &Dir, current: &str) {
    let Ok(entries) = dir.entries() else { return };
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if (is_data_name(&name) && name != current) || name.starts_with(".tmp-") {
            removed |= dir.remove_file(&name).is_ok();
        }
    }
    if removed {
        let _ = sync_dir(dir, "object directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_round_trip_and_refusals() {
        let name = format!("{}{DATA_SUFFIX}", "ab".repeat(16));
        let p = encode_pointer(&name, b"envelope").unwrap_or_default();
        assert_eq!(
            decode_pointer(&p, "x").ok(),
            Some((name.clone(), b"envelope".to_vec()))
        );
        // Every truncation, and a name that could leave the directory, is refused.
        for cut in 0..p.len() {
            assert!(decode_pointer(&p[..cut], "x").is_err(), "cut {cut}");
        }
        let evil = encode_pointer("../../etc/passwd", b"e").unwrap_or_default();
        assert!(decode_pointer(&evil, "x").is_err());
        let mut longer = p.clone();
        longer.push(0);
        assert!(decode_pointer(&longer, "x").is_err());
    }

    #[test]
    fn long_keys_split_into_directories_that_never_collide_with_objects() {
        let short = components("k");
        assert_eq!(short, vec!["6b".to_owned()]);
        let long = components(&"k".repeat(150));
        assert_eq!(long.len(), 2);
        assert!(long[0].ends_with('_') && !long[1].ends_with('_'));
    }
}
