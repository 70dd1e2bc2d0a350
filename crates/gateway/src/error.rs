//! Every failure as S3 answers it: the engine's and the store's errors mapped to S3's error
//! code, HTTP status and message (the engine decides them for everything about encryption).

use http::StatusCode;
use s3s::{S3Error, S3ErrorCode};
use s3seal::EngineError;
use s3seal_store::StoreError;

/// An S3 error with an explicit code, status and message.
pub(crate) fn s3_error(code: &str, status: StatusCode, message: &str) -> S3Error {
    let code = S3ErrorCode::from_bytes(code.as_bytes()).unwrap_or(S3ErrorCode::InternalError);
    let mut e = S3Error::with_message(code, message.to_owned());
    e.set_status_code(status);
    e
}

/// The S3 answer to an engine error (`EngineError::s3`, the engine's one mapping).
pub(crate) fn engine(e: &EngineError) -> S3Error {
    let s = e.s3();
    s3_error(s.code, s.status, s.message)
}

/// The S3 answer to a store error. Internal failures say only that: paths and OS errors stay
/// in the server's own diagnostics.
pub(crate) fn store(e: &StoreError) -> S3Error {
    use StatusCode as S;
    match e {
        StoreError::NoSuchBucket => s3_error(
            "NoSuchBucket",
            S::NOT_FOUND,
            "The specified bucket does not exist",
        ),
        StoreError::BucketExists => s3_error(
            "BucketAlreadyOwnedByYou",
            S::CONFLICT,
            "Your previous request to create the named bucket succeeded and you already own it.",
        ),
        StoreError::InvalidBucketName => s3_error(
            "InvalidBucketName",
            S::BAD_REQUEST,
            "The specified bucket is not valid.",
        ),
        StoreError::NoSuchKey => s3_error(
            "NoSuchKey",
            S::NOT_FOUND,
            "The specified key does not exist.",
        ),
        StoreError::NoSuchUpload => no_such_upload(),
        StoreError::NoSuchPart(_) => s3_error(
            "InvalidPart",
            S::BAD_REQUEST,
            "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        ),
        StoreError::BucketNotEmpty => s3_error(
            "BucketNotEmpty",
            S::CONFLICT,
            "The bucket you tried to delete is not empty",
        ),
        StoreError::Conflict => s3_error(
            "OperationAborted",
            S::CONFLICT,
            "A conflicting conditional operation is currently in progress against this resource. Try again.",
        ),
        _ => internal(),
    }
}

/// `NoSuchUpload` (404).
pub(crate) fn no_such_upload() -> S3Error {
    s3_error(
        "NoSuchUpload",
        StatusCode::NOT_FOUND,
        "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed.",
    )
}

/// `InternalError` (500).
pub(crate) fn internal() -> S3Error {
    s3_error(
        "InternalError",
        StatusCode::INTERNAL_SERVER_ERROR,
        "We encountered an internal error. Please try again.",
    )
}

/// `InvalidRequest` (400) with `message`.
pub(crate) fn invalid_request(message: &str) -> S3Error {
    s3_error("InvalidRequest", StatusCode::BAD_REQUEST, message)
}

/// `InvalidArgument` (400) with `message`.
pub(crate) fn invalid_argument(message: &str) -> S3Error {
    s3_error("InvalidArgument", StatusCode::BAD_REQUEST, message)
}

/// What a request handler fails with: an S3 answer, made from whichever layer failed.
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) S3Error);

impl From<EngineError> for Failed {
    fn from(e: EngineError) -> Self {
        if e.s3().status.is_server_error() {
            eprintln!("s3seal-gateway: engine: {e}");
        }
        Failed(engine(&e))
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        let s = store(&e);
        if s.status_code().is_some_and(|c| c.is_server_error()) {
            eprintln!("s3seal-gateway: store: {e}");
        }
        Failed(s)
    }
}

impl From<S3Error> for Failed {
    fn from(e: S3Error) -> Self {
        Failed(e)
    }
}

impl From<Failed> for S3Error {
    fn from(f: Failed) -> Self {
        f.0
    }
}
