//! Scratch space (`HOME/tmp/`): where new objects' sealed bytes and multipart parts are written
//! before they are published. Every entry is `flock`ed by the process writing it for as long as
//! it lives, so what a crashed (killed) writer left is told apart from a live writer's work: it
//! is unlocked. [`crate::Store::open`] removes such entries once older than [`STALE_AFTER`].

use std::fs::TryLockError;
use std::time::Duration;

use cap_std::fs::Dir;

use crate::fsx::{create_new, lock, random_name};
use crate::{Store, StoreError};

/// How old an unlocked scratch entry must be before it is removed as a crash leftover. A
/// writer locks its entry right after creating it; the margin covers that instant.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

const DATA_PREFIX: &str = "data-";
const STAGE_PREFIX: &str = "stage-";
const LOCK: &str = "lock";

/// The sealed bytes of a new object version, being written. [`Store::publish`] moves it into
/// place; dropping it unpublished deletes it.
#[derive(Debug)]
pub struct NewData {
    pub(crate) dir: Dir,
    pub(crate) name: String,
    pub(crate) file: std::fs::File,
    pub(crate) published: bool,
}

impl NewData {
    /// The file to write the sealed bytes to.
    pub fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }
}

impl Drop for NewData {
    fn drop(&mut self) {
        if !self.published {
            let _ = self.dir.remove_file(&self.name);
        }
    }
}

/// A private directory for the parts of one multipart upload while they are sealed; removed
/// with everything in it when dropped.
#[derive(Debug)]
pub struct Staging {
    parent: Dir,
    name: String,
    dir: Dir,
    _lock: std::fs::File,
}

impl Staging {
    /// Creates part file `n` (never an existing one).
    ///
    /// # Errors
    /// I/O.
    pub fn create_part(&self, n: u32) -> Result<std::fs::File, StoreError> {
        create_new(
            &self.dir,
            &format!("part-{n:05}"),
            &format!("staged part {n}"),
        )
    }

    /// Opens part file `n` for reading.
    ///
    /// # Errors
    /// I/O.
    pub fn open_part(&self, n: u32) -> Result<std::fs::File, StoreError> {
        Ok(self
            .dir
            .open(format!("part-{n:05}"))
            .map_err(StoreError::io(format!("open staged part {n}")))?
            .into_std())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = self.parent.remove_dir_all(&self.name);
    }
}

impl Store {
    /// Starts the sealed bytes of a new object version in the scratch space.
    ///
    /// # Errors
    /// I/O.
    pub fn new_data(&self) -> Result<NewData, StoreError> {
        let name = random_name(DATA_PREFIX)?;
        let file = create_new(&self.scratch, &name, "new object data")?;
        file.lock()
            .map_err(StoreError::io("lock new object data"))?;
        Ok(NewData {
            dir: self
                .scratch
                .try_clone()
                .map_err(StoreError::io("open scratch space"))?,
            name,
            file,
            published: false,
        })
    }

    /// A private staging directory for a multipart upload's parts.
    ///
    /// # Errors
    /// I/O.
    pub fn staging(&self) -> Result<Staging, StoreError> {
        let name = random_name(STAGE_PREFIX)?;
        self.scratch
            .create_dir(&name)
            .map_err(StoreError::io("create staging directory"))?;
        let dir = self
            .scratch
            .open_dir(&name)
            .map_err(StoreError::io("open staging directory"))?;
        let lock = lock(&dir, LOCK, "staging directory")?;
        Ok(Staging {
            parent: self
                .scratch
                .try_clone()
                .map_err(StoreError::io("open scratch space"))?,
            name,
            dir,
            _lock: lock,
        })
    }
}

/// Whether `file` is unlocked (its writer is gone); takes and at once drops the lock.
fn unlocked(file: &std::fs::File) -> bool {
    match file.try_lock() {
        Ok(()) => true,
        Err(TryLockError::WouldBlock) | Err(TryLockError::Error(_)) => false,
    }
}

/// Removes the scratch entries of dead writers: unlocked and older than `older_than`.
/// Returns how many were removed.
pub(crate) fn remove_stale(
    scratch: &Dir,
    path: &std::path::Path,
    older_than: Duration,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    let what = format!("list {}", path.display());
    for entry in scratch.entries().map_err(StoreError::io(what.clone()))? {
        let entry = entry.map_err(StoreError::io(what.clone()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.into_std().elapsed().ok())
            .is_some_and(|age| age >= older_than);
        if !old {
            continue;
        }
        let gone = if name.starts_with(DATA_PREFIX) && meta.is_file() {
            let free = scratch.open(&name).is_ok_and(|f| unlocked(&f.into_std()));
            free && scratch.remove_file(&name).is_ok()
        } else if name.starts_with(STAGE_PREFIX) && meta.is_dir() {
            let lock_free = scratch
                .open_dir(&name)
                .and_then(|d| d.open(LOCK))
                .map(|f| unlocked(&f.into_std()))
                // No lock file: the writer died before taking it.
                .unwrap_or(true);
            lock_free && scratch.remove_dir_all(&name).is_ok()
        } else {
            false
        };
        removed += usize::from(gone);
    }
    Ok(removed)
}
