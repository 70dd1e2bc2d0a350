//! Tests of the engine below its public API: what the data paths do on their own, without the
//! policy checks in front of them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal_gcm::PartNumber;
use s3seal_kms::LocalKms;
use s3seal_policy::{BucketKind, BucketPolicy};

use super::codec::Codec;
use super::keys::{object_binding, parse_envelope};
use super::{Engine, EngineBuilder, Request, StoredObject};
use crate::error::EngineError;

fn sse_c_headers() -> HeaderMap {
    let key = [9u8; 32];
    let mut h = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        h.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set(
        "x-amz-server-side-encryption-customer-algorithm",
        "AES256".into(),
    );
    set("x-amz-server-side-encryption-customer-key", B64.encode(key));
    set(
        "x-amz-server-side-encryption-customer-key-md5",
        B64.encode(Md5::digest(key)),
    );
    h
}

fn engine(dir: &tempfile::TempDir) -> Engine {
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    EngineBuilder::new(kms).threads(2).build().unwrap()
}

/// An SSE-C object written whole has its envelope keyed by the customer key: without that key
/// it does not even open. One completed from a multipart upload (whose MAC key is
/// server-managed, as Complete carries no customer key) opens without it, and yields a codec
/// that refuses every read and write of the data itself — whatever the policy layer above would
/// have said.
#[test]
fn sse_c_without_its_key_has_no_data_path_below_the_policy_check() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let bucket = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let headers = sse_c_headers();
    let req = Request {
        bucket: &bucket,
        key: "k",
        headers: &headers,
        secure_transport: true,
    };
    let data = vec![5u8; 700_000];
    let w = engine.put_object(&req, &data).unwrap();
    let env = parse_envelope(&w.envelope_bytes, &bucket, "k").unwrap();
    assert!(env.manifest_key.is_empty() && env.key_arn.is_empty());
    let refused = |r: Result<_, EngineError>| {
        assert_eq!(r.err(), Some(EngineError::CustomerKeyRequired));
    };
    refused(
        engine
            .open_envelope(&env, &w.envelope_bytes, &bucket, false, None)
            .map(drop),
    );

    // The same data as a one-part multipart object, completed without the key.
    let upload = engine.create_multipart_upload(&req).unwrap();
    let part = engine.upload_part(&req, &upload.state, 1, &data).unwrap();
    let no_headers = HeaderMap::new();
    let complete_req = Request {
        headers: &no_headers,
        ..req
    };
    let done = engine
        .complete_multipart_upload(
            &complete_req,
            &part.state,
            &[super::CompletedPart {
                part_number: 1,
                etag: part.etag.clone(),
            }],
        )
        .unwrap();
    let env = parse_envelope(&done.envelope_bytes, &bucket, "k").unwrap();
    assert!(!env.manifest_key.is_empty());
    let keys = engine
        .open_envelope(&env, &done.envelope_bytes, &bucket, false, None)
        .unwrap();
    assert!(matches!(keys.codec, Codec::MacOnly));
    for range in [0..1, 0..700_000, 699_999..700_000, 3..3] {
        refused(engine.open_into(&env, &keys, range, &part.sealed, &mut Vec::new()));
    }
    let src = StoredObject {
        bucket: &bucket,
        key: "k",
        envelope: &done.envelope_bytes,
        sealed: &part.sealed,
    };
    refused(engine.read_source(&src, &env, None, None).map(drop));
    let binding = object_binding("b", "k", &env.object_id);
    let (part_no, chunk) = (PartNumber::new(1).unwrap(), env.chunk);
    refused(keys.codec.seal(&binding, part_no, chunk, b"x").map(drop));
    // The streaming paths take their sealer and opener from the codec too.
    refused(keys.codec.sealer(&binding, part_no, chunk).map(drop));
    refused(
        keys.codec
            .opener(&binding, part_no, chunk, &part.sealed[..76])
            .map(drop),
    );

    // An SSE-C upload opened without its key can be completed, but no part can be sealed.
    let upload = engine.create_multipart_upload(&req).unwrap();
    // The policy layer is bypassed: a plan that carries no customer key.
    let no_key = || {
        Ok(s3seal_policy::WritePlan {
            target: None,
            source_key: None,
            upload_key: None,
            warnings: Vec::new(),
        })
    };
    let up = engine
        .open_upload(&req, &upload.state, |_| no_key())
        .unwrap();
    assert!(matches!(up.keys.codec, Codec::MacOnly));
    refused(engine.seal_upload_part(up, 1, &data).map(drop));
}

#[test]
fn range_positions_of_any_length_follow_rfc_9110() {
    use super::parse_range;
    // A last position past u64 is past the object: the rest of it (fuzz/regressions/range_header).
    assert_eq!(
        parse_range("bytes=9-99999999999999999999", 10).ok(),
        Some(9..10)
    );
    assert_eq!(
        parse_range("bytes=-99999999999999999999", 10).ok(),
        Some(0..10)
    );
    assert!(parse_range("bytes=99999999999999999999-", 10).is_err());
    // Positions are digits only.
    assert!(parse_range("bytes=+1-2", 10).is_err());
    assert_eq!(parse_range("bytes=1-2", 10).ok(), Some(1..3));
}
