//! File operations beneath a directory handle: atomic replacement, bounded reads, locks.

use std::io::{Read, Write};

use cap_std::fs::{Dir, OpenOptions};

use crate::{StoreError, failpoint};

/// A fresh random name: `prefix` then 32 hex digits.
pub(crate) fn random_name(prefix: &str) -> Result<String, StoreError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| StoreError::Io {
        what: "draw a random file name".to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("{prefix}{}", hex::encode(b)))
}

/// Creates a new file `name` in `dir` (never an existing one) for writing, as a std file.
pub(crate) fn create_new(dir: &Dir, name: &str, what: &str) -> Result<std::fs::File, StoreError> {
    let mut o = OpenOptions::new();
    o.write(true).read(true).create_new(true);
    Ok(dir
        .open_with(name, &o)
        .map_err(StoreError::io(format!("create {what}")))?
        .into_std())
}

/// Fsyncs a directory, so that renames in it are durable. (A `Dir` handle itself may be an
/// `O_PATH` descriptor, which cannot be synced: open the directory for reading.)
pub(crate) fn sync_dir(dir: &Dir, what: &str) -> Result<(), StoreError> {
    dir.open(".")
        .and_then(|d| d.into_std().sync_all())
        .map_err(StoreError::io(format!("fsync {what}")))
}

/// Replaces `name` in `dir` with `bytes` atomically: a temporary file, fsync, rename, fsync of
/// the directory. A crash leaves the old file or the new one, never a mix; a leftover
/// temporary file (`.tmp-…`) is removed by the next write in the same directory.
pub(crate) fn write_atomic(
    dir: &Dir,
    name: &str,
    bytes: &[u8],
    what: &str,
) -> Result<(), StoreError> {
    let tmp = random_name(".tmp-")?;
    let result = (|| {
        let mut f = create_new(dir, &tmp, what)?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(StoreError::io(format!("write {what}")))?;
        failpoint::hit("atomic:temp-written")?;
        dir.rename(&tmp, dir, name)
            .map_err(StoreError::io(format!("rename {what}")))?;
        failpoint::hit("atomic:renamed")?;
        sync_dir(dir, what)
    })();
    if result.is_err() {
        let _ = dir.remove_file(&tmp);
    }
    result
}

/// Reads `name` from `dir`, refusing more than `limit` bytes; `None` if it does not exist.
pub(crate) fn read_bounded(
    dir: &Dir,
    name: &str,
    limit: u64,
    what: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let f = match dir.open(name) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(format!("open {what}"))(e)),
    };
    let mut out = Vec::new();
    f.into_std()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(StoreError::io(format!("read {what}")))?;
    if out.len() as u64 > limit {
        return Err(StoreError::TooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    Ok(Some(out))
}

/// Opens (creating) `name` in `dir` and takes an exclusive `flock` on it, held until the
/// returned file is dropped.
pub(crate) fn lock(dir: &Dir, name: &str, what: &str) -> Result<std::fs::File, StoreError> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    let f = dir
        .open_with(name, &o)
        .map_err(StoreError::io(format!("open lock of {what}")))?
        .into_std();
    f.lock().map_err(StoreError::io(format!("lock {what}")))?;
    Ok(f)
}
