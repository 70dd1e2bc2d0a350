#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bucket;
mod error;
#[cfg(feature = "failpoints")]
pub mod failpoint;
#[cfg(not(feature = "failpoints"))]
mod failpoint;
mod fsx;
mod listing;
mod object;
mod scratch;
mod upload;

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

pub use bucket::{MAX_BUCKET_FILE, kind_name, parse_kind};
pub use error::StoreError;
pub use listing::BucketEntry;
pub use object::{MAX_POINTER, ObjectFile};
pub use scratch::{NewData, STALE_AFTER, Staging};
pub use upload::MAX_UPLOAD_STATE;

/// The buckets, objects and scratch space under one home directory.
///
/// Every path is opened beneath the home through a capability handle (`cap-std`): a symbolic
/// link or `..` inside the home can never make a read or write land outside it.
pub struct Store {
    path: PathBuf,
    buckets: Dir,
    scratch: Dir,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("home", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `home` (created if absent), and removes what crashed writers left in
    /// its scratch space: entries no process holds locked and older than [`STALE_AFTER`].
    ///
    /// # Errors
    /// [`StoreError::Io`] if the directories cannot be created or opened.
    pub fn open(home: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(home)
            .map_err(StoreError::io(format!("create {}", home.display())))?;
        let dir = Dir::open_ambient_dir(home, ambient_authority())
            .map_err(StoreError::io(format!("open {}", home.display())))?;
        for d in ["buckets", "tmp"] {
            dir.create_dir_all(d)
                .map_err(StoreError::io(format!("create {}", home.join(d).display())))?;
        }
        let open = |d: &str| {
            dir.open_dir(d)
                .map_err(StoreError::io(format!("open {}", home.join(d).display())))
        };
        let store = Store {
            path: home.to_owned(),
            buckets: open("buckets")?,
            scratch: open("tmp")?,
        };
        store.remove_stale_scratch(STALE_AFTER)?;
        Ok(store)
    }

    /// Removes the scratch entries of dead writers (unlocked) older than `older_than`; returns
    /// how many. [`Store::open`] does this with [`STALE_AFTER`].
    ///
    /// # Errors
    /// [`StoreError::Io`] if the scratch space cannot be listed.
    pub fn remove_stale_scratch(
        &self,
        older_than: std::time::Duration,
    ) -> Result<usize, StoreError> {
        scratch::remove_stale(&self.scratch, &self.path.join("tmp"), older_than)
    }

    /// The home directory.
    #[must_use]
    pub fn home(&self) -> &Path {
        &self.path
    }

    /// Whether any bucket holds an object (a keystore must then never be created afresh).
    ///
    /// # Errors
    /// [`StoreError::Io`].
    pub fn has_objects(&self) -> Result<bool, StoreError> {
        for bucket in self
            .buckets
            .entries()
            .map_err(StoreError::io("list buckets"))?
        {
            let bucket = bucket.map_err(StoreError::io("list buckets"))?;
            let Ok(dir) = bucket.open_dir() else { continue };
            let found = match dir.read_dir("objects") {
                Ok(mut objects) => objects.next().is_some(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(StoreError::io("list objects")(e)),
            };
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
