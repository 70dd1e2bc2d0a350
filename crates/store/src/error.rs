//! Store errors. Paths in messages are the store's own (never key material).

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The bucket does not exist.
    #[error("the specified bucket does not exist")]
    NoSuchBucket,
    /// The bucket exists already.
    #[error("the bucket already exists")]
    BucketExists,
    /// The bucket name breaks S3's rules.
    #[error("the specified bucket is not valid")]
    InvalidBucketName,
    /// DeleteBucket of a bucket that holds objects or uploads in progress.
    #[error("the bucket you tried to delete is not empty")]
    BucketNotEmpty,
    /// The object does not exist.
    #[error("the specified key does not exist")]
    NoSuchKey,
    /// The multipart upload does not exist (never created, completed or aborted).
    #[error("the specified multipart upload does not exist")]
    NoSuchUpload,
    /// The part was not uploaded.
    #[error("part {0} was not uploaded")]
    NoSuchPart(u32),
    /// The object changed while a read-modify-write (rewrap) was in progress: retry.
    #[error("the object changed concurrently")]
    Conflict,
    /// A stored file is malformed (not an I/O failure): `what` names the file.
    #[error("{what} is corrupt: {why}")]
    Corrupt {
        /// The file, relative to the home.
        what: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A file was larger than the bound for its kind.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// The file.
        what: String,
        /// The bound.
        limit: u64,
    },
    /// A file-system operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Io { what, source }
    }
}
