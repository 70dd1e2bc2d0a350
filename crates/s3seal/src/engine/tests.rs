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

/// An SSE-C envelope opened without the customer key authenticates (its MAC key is
/// server-managed), and yields a codec that refuses every read and write of the data itself —
/// whatever the policy layer above would have said.
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
    let keys = engine
        .open_envelope(&env, &w.envelope_bytes, &bucket, false, None)
        .unwrap();
    assert!(matches!(keys.codec, Codec::MacOnly));
    let refused = |r: Result<_, EngineError>| {
        assert_eq!(r.err(), Some(EngineError::CustomerKeyRequired));
    };
    for range in [0..1, 0..700_000, 699_999..700_000, 3..3] {
        refused(engine.open(&env, &keys, range, &w.sealed).map(drop));
    }
    let src = StoredObject {
        bucket: &bucket,
        key: "k",
        envelope: &w.envelope_bytes,
        sealed: &w.sealed,
    };
    refused(engine.read_source(&src, &env, None, None).map(drop));
    let binding = object_binding("b", "k", &env.object_id);
    let (part, chunk) = (PartNumber::SINGLE, env.chunk);
    refused(keys.codec.seal(&binding, part, chunk, b"x").map(drop));
    refused(
        keys.codec
            .encryptor(Vec::new(), &binding, part, chunk)
            .map(drop),
    );
    refused(
        keys.codec
            .decryptor(&w.sealed[76..], &binding, part, chunk, &w.sealed[..76])
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
