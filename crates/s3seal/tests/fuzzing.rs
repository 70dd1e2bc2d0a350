//! Feature `fuzzing` (issue #18, item 8): the deterministic random source makes the engine's
//! stored bytes a function of the seed and the calls, and the `arbitrary` inputs drive the
//! engine without a panic. The generator is process-wide, so these tests take one lock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report"
)]

use std::sync::{Mutex, PoisonError};

use http::{HeaderMap, HeaderValue};
use s3seal::fuzzing::arbitrary::{Arbitrary, Unstructured};
use s3seal::fuzzing::{FuzzRange, FuzzRequest, deterministic_rng, os_rng};
use s3seal::policy::{BucketEncryption, BucketKind, BucketPolicy};
use s3seal::{EngineBuilder, EngineConfig, Request};
use sha2::{Digest, Sha256};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Everything the engine hands a backend to store, for one SSE-S3 and one SSE-KMS (bucket key)
/// object and a multipart upload with one part, in a new home whose keystore is created
/// under the current random source.
fn stored_bytes() -> Vec<Vec<u8>> {
    let home = tempfile::tempdir().unwrap();
    let engine = EngineBuilder::local(home.path())
        .unwrap()
        .threads(1)
        .build()
        .unwrap();
    let bucket = BucketPolicy::new(
        "bkt",
        BucketKind::GeneralPurpose,
        "111122223333",
        "us-east-1",
    );
    let none = HeaderMap::new();
    let mut kms = HeaderMap::new();
    kms.insert(
        "x-amz-server-side-encryption",
        HeaderValue::from_static("aws:kms"),
    );
    kms.insert(
        "x-amz-server-side-encryption-bucket-key-enabled",
        HeaderValue::from_static("true"),
    );
    let mut out = Vec::new();
    for h in [&none, &kms] {
        let req = Request {
            bucket: &bucket,
            key: "obj",
            headers: h,
            secure_transport: true,
        };
        let put = engine.put_object(&req, b"the same plaintext").unwrap();
        out.push(put.envelope_bytes);
        out.push(put.sealed.to_vec());
        let up = engine.create_multipart_upload(&req).unwrap();
        // UploadPart carries no SSE-S3 / SSE-KMS headers.
        let part_req = Request {
            headers: &none,
            ..req
        };
        let part = engine
            .upload_part(&part_req, &up.state, 1, &[7; 100])
            .unwrap();
        out.push(up.state);
        out.push(part.sealed.to_vec());
        out.push(part.state);
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_stored_bytes_and_another_seed_others() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    deterministic_rng(42);
    let a = stored_bytes();
    deterministic_rng(42);
    let b = stored_bytes();
    deterministic_rng(43);
    let c = stored_bytes();
    os_rng();
    let d = stored_bytes();
    let e = stored_bytes();
    assert_eq!(a, b, "same seed, same calls: identical stored bytes");
    for (i, (x, y)) in a.iter().zip(&c).enumerate() {
        assert_ne!(x, y, "another seed must change stored item {i}");
    }
    // Back on the operating system's generator, two runs differ (as without the feature).
    for (i, (x, y)) in d.iter().zip(&e).enumerate() {
        assert_ne!(x, y, "OS randomness must differ in stored item {i}");
    }
    assert_ne!(a, d);
}

#[test]
fn arbitrary_requests_configs_and_ranges_drive_the_engine_without_panicking() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    deterministic_rng(7);
    let home = tempfile::tempdir().unwrap();
    let builder = EngineBuilder::local(home.path()).unwrap().threads(1);
    let mut ok = 0;
    let mut engine = builder.build().unwrap();
    for i in 0u32..300 {
        // A fixed pseudo-random corpus: SHA-256 of (input, block) in counter mode.
        let data: Vec<u8> = (0..16u32)
            .flat_map(|j| {
                let mut h = Sha256::new();
                h.update(i.to_be_bytes());
                h.update(j.to_be_bytes());
                <[u8; 32]>::from(h.finalize())
            })
            .collect();
        let mut u = Unstructured::new(&data);
        if i % 50 == 0 {
            let config = EngineConfig::arbitrary(&mut u).unwrap();
            assert!((12..=22).contains(&config.chunk.log2()));
            engine = EngineBuilder::local(home.path())
                .unwrap()
                .threads(1)
                .config(config)
                .build()
                .unwrap();
        }
        let Ok(req) = FuzzRequest::arbitrary(&mut u) else {
            continue;
        };
        let _ = BucketEncryption::arbitrary(&mut u);
        let body = u.bytes(u.len().min(64)).unwrap_or_default().to_vec();
        if let Ok(put) = engine.put_object(&req.request(), &body) {
            ok += 1;
            let range = FuzzRange::arbitrary(&mut u).ok();
            let r = range.and_then(|r| r.resolve(body.len() as u64).ok());
            if let Ok(got) =
                engine.get_object(&req.request(), &put.envelope_bytes, &put.sealed, r.clone())
            {
                let want = r.map_or(&body[..], |r| &body[r.start as usize..r.end as usize]);
                assert_eq!(&got.body[..], want);
            }
        }
    }
    os_rng();
    // S3-shaped most of the time: a fair share of the requests is valid.
    assert!(ok >= 30, "only {ok} of 300 arbitrary requests accepted");
}
