//! The upload state the engine owns: S3's part and object ETags, the latest upload of a part
//! wins, the state survives a restart (another engine on the same KMS), parts sealed in
//! parallel are recorded one at a time, responses carry S3's headers.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; part numbers are small"
)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{CompletedPart, Engine, EngineBuilder, EngineConfig, EngineError, Request};
use s3seal_kms::LocalKms;

fn engine(kms: &Arc<LocalKms>) -> Engine {
    EngineBuilder::new(kms.clone())
        .config(EngineConfig {
            min_part_size: 4096,
            ..EngineConfig::default()
        })
        .build()
        .unwrap()
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn cp(part_number: u32, etag: &str) -> CompletedPart {
    CompletedPart {
        part_number,
        etag: format!("\"{etag}\""),
    }
}

#[test]
fn sse_s3_etags_are_s3s_md5s_and_the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path()).unwrap());
    let b = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let none = HeaderMap::new();
    let req = |h| Request {
        bucket: &b,
        key: "k",
        headers: h,
        secure_transport: true,
    };
    let first = engine(&kms);
    let up = first.create_multipart_upload(&req(&none)).unwrap();
    let (a, z) = (vec![1u8; 6000], vec![2u8; 100]);
    let p1 = first.upload_part(&req(&none), &up.state, 1, &a).unwrap();
    // Part ETag: the MD5 of the part's data, in the response headers too.
    assert_eq!(p1.etag, hex::encode(Md5::digest(&a)));
    assert_eq!(p1.headers["etag"], format!("\"{}\"", p1.etag).as_str());
    // An identical re-upload gets the same ETag.
    let again = first.upload_part(&req(&none), &p1.state, 1, &a).unwrap();
    assert_eq!(again.etag, p1.etag);
    drop(first);
    // Another engine (a restarted server) continues from the persisted state.
    let second = engine(&kms);
    let p2 = second
        .upload_part(&req(&none), &again.state, 2, &z)
        .unwrap();
    let done = second
        .complete_multipart_upload(&req(&none), &p2.state, &[cp(1, &p1.etag), cp(2, &p2.etag)])
        .unwrap();
    // S3's multipart ETag: the MD5 of the parts' binary MD5s, then -N.
    let mut md5s = Md5::new();
    md5s.update(Md5::digest(&a));
    md5s.update(Md5::digest(&z));
    let want = format!("\"{}-2\"", hex::encode(md5s.finalize()));
    assert_eq!(done.headers["etag"], want.as_str());
    assert_eq!(done.envelope.plaintext_len, 6100);
    // A state tampered with (a part's size) is refused.
    let mut bad = p2.state.clone();
    let len = bad.len();
    bad[len - 40] ^= 1;
    assert!(
        second
            .complete_multipart_upload(&req(&none), &bad, &[cp(1, &p1.etag), cp(2, &p2.etag)])
            .is_err()
    );
}

#[test]
fn kms_part_etags_are_not_md5s_and_parallel_parts_are_recorded_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path()).unwrap());
    let engine = engine(&kms);
    let b = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let kms_h = headers(&[("x-amz-server-side-encryption", "aws:kms".into())]);
    let none = HeaderMap::new();
    let req = |h| Request {
        bucket: &b,
        key: "k",
        headers: h,
        secure_transport: true,
    };
    let up = engine.create_multipart_upload(&req(&kms_h)).unwrap();
    let datas: Vec<Vec<u8>> = (1..=4u8).map(|i| vec![i; 5000]).collect();
    // Sealed concurrently, all from the first state.
    let parts: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (engine, up, req, none) = (&engine, &up, &req, &none);
                s.spawn(move || {
                    engine
                        .upload_part(&req(none), &up.state, i as u32 + 1, d)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (p, d) in parts.iter().zip(&datas) {
        assert_ne!(
            p.etag,
            hex::encode(Md5::digest(d)),
            "an SSE-KMS part ETag is not its MD5"
        );
    }
    // Part 4's own state does not know part 3: completing from it fails.
    let list: Vec<_> = parts.iter().map(|p| cp(p.part_number, &p.etag)).collect();
    assert_eq!(
        engine
            .complete_multipart_upload(&req(&none), &parts[3].state, &list)
            .unwrap_err(),
        EngineError::InvalidPart
    );
    let mut state = up.state.clone();
    for p in &parts {
        state = engine.record_part(&req(&none), &state, p).unwrap();
    }
    let done = engine
        .complete_multipart_upload(&req(&none), &state, &list)
        .unwrap();
    assert_eq!(done.envelope.plaintext_len, 20_000);
    let etag = done.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.ends_with("-4\""), "{etag}");
    let sealed: Vec<u8> = parts.iter().flat_map(|p| p.sealed.to_vec()).collect();
    let got = engine
        .get_object(&req(&none), &done.envelope_bytes, &sealed, None)
        .unwrap();
    assert_eq!(got.body, datas.concat());
}

#[test]
fn completing_an_sse_c_upload_echoes_the_key_md5_when_the_key_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path()).unwrap());
    let engine = engine(&kms);
    let b = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let key = [5u8; 32];
    let md5 = B64.encode(Md5::digest(key));
    let ssec = headers(&[
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".into(),
        ),
        ("x-amz-server-side-encryption-customer-key", B64.encode(key)),
        ("x-amz-server-side-encryption-customer-key-md5", md5.clone()),
    ]);
    let none = HeaderMap::new();
    let req = |h| Request {
        bucket: &b,
        key: "k",
        headers: h,
        secure_transport: true,
    };
    let up = engine.create_multipart_upload(&req(&ssec)).unwrap();
    let p = engine
        .upload_part(&req(&ssec), &up.state, 1, b"data")
        .unwrap();
    assert!(p.headers.contains_key("etag"));
    let md5_name = "x-amz-server-side-encryption-customer-key-md5";
    let with_key = engine
        .complete_multipart_upload(&req(&ssec), &p.state, &[cp(1, &p.etag)])
        .unwrap();
    assert_eq!(with_key.headers[md5_name], md5.as_str());
    let without = engine
        .complete_multipart_upload(&req(&none), &p.state, &[cp(1, &p.etag)])
        .unwrap();
    assert!(!without.headers.contains_key(md5_name));
}
