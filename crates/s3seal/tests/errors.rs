//! Errors that reach S3 with the right code: the client's I/O (400 IncompleteBody) apart from
//! the server's (500), the bucket owner, key derivation, DSSE with bucket keys, the thread pool.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::io::{self, Read, Write};
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, StatusCode};
use s3seal::policy::{BucketKind, BucketPolicy, PolicyError};
use s3seal::{Engine, EngineBuilder, EngineError, Request};
use s3seal_keycache::CacheError;
use s3seal_kms::LocalKms;

fn engine(dir: &tempfile::TempDir) -> Engine {
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    EngineBuilder::new(kms).threads(2).build().unwrap()
}

fn sse_s3() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "x-amz-server-side-encryption",
        HeaderValue::from_static("AES256"),
    );
    h
}

/// A body that yields some bytes, then fails like a dropped connection.
struct BrokenBody(usize);

impl Read for BrokenBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "peer went away",
            ));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(1);
        self.0 -= n;
        Ok(n)
    }
}

/// An output that fails like a full disk.
struct FullDisk;

impl Write for FullDisk {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "no space left on the test disk",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn body_read_failures_are_the_clients_and_output_failures_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let bucket = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let headers = sse_s3();
    let req = Request {
        bucket: &bucket,
        key: "k",
        headers: &headers,
        secure_transport: true,
    };
    let e = engine
        .put_object_stream(&req, BrokenBody(300_000), Vec::new())
        .unwrap_err();
    assert!(matches!(e, EngineError::IncompleteBody(_)), "{e:?}");
    assert_eq!(
        (e.s3().code, e.s3().status),
        ("IncompleteBody", StatusCode::BAD_REQUEST)
    );
    assert!(
        e.to_string().contains("peer went away"),
        "OS message kept: {e}"
    );

    let e = engine
        .put_object_stream(&req, &[7u8; 300_000][..], FullDisk)
        .unwrap_err();
    assert!(matches!(e, EngineError::Io(_)), "{e:?}");
    assert_eq!(
        (e.s3().code, e.s3().status),
        ("InternalError", StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert!(
        e.to_string().contains("no space left on the test disk"),
        "{e}"
    );

    // The same for a streaming GET whose output fails.
    let w = engine.put_object(&req, &[7u8; 300_000]).unwrap();
    let get_headers = HeaderMap::new();
    let get = Request {
        headers: &get_headers,
        ..req
    };
    let e = engine
        .get_object_stream(&get, &w.envelope_bytes, &w.sealed[..], FullDisk)
        .unwrap_err();
    assert_eq!(e.s3().status, StatusCode::INTERNAL_SERVER_ERROR, "{e:?}");
}

#[test]
fn a_malformed_bucket_owner_is_a_server_error_not_an_invalid_key_id() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let bucket = BucketPolicy::new(
        "b",
        BucketKind::GeneralPurpose,
        "not-an-account",
        "us-east-1",
    );
    let headers = sse_s3();
    let req = Request {
        bucket: &bucket,
        key: "k",
        headers: &headers,
        secure_transport: true,
    };
    let e = engine.put_object(&req, b"x").unwrap_err();
    assert!(matches!(e, EngineError::InvalidBucketOwner(_)), "{e:?}");
    assert_eq!(
        (e.s3().code, e.s3().status),
        ("InternalError", StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert!(!e.to_string().contains("keyId"), "{e}");
}

#[test]
fn cache_errors_keep_their_names_and_dsse_bucket_keys_have_one_message() {
    // (Bucket-key derivation has no failure left to report: see s3seal-keycache's kdf.)
    let e = EngineError::from(CacheError::Random);
    assert_eq!(e, EngineError::Random);
    assert_eq!(e.s3().status, StatusCode::INTERNAL_SERVER_ERROR);

    let from_cache = EngineError::from(CacheError::BucketKeyWithDsse).s3();
    assert_eq!(from_cache, PolicyError::BucketKeyWithDsse.s3());
    assert_eq!(from_cache.code, "InvalidArgument");
}

#[test]
fn a_thread_pool_that_cannot_start_is_a_server_error() {
    let e = EngineError::ThreadPool("no threads".to_owned());
    assert_eq!(
        (e.s3().code, e.s3().status),
        ("InternalError", StatusCode::INTERNAL_SERVER_ERROR)
    );
}
