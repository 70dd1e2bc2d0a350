//! Engine round trips for every mode × single-part / multipart × whole / range; copies between
//! every pair of modes and bucket kinds; rewrap; and stored-data tampering (spliced and dropped
//! parts, moved objects, flipped envelope bytes).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report"
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderValue, StatusCode};
use md5::{Digest, Md5};
use s3seal::policy::{BucketEncryption, BucketKind, BucketPolicy, SseAlgorithm};
use s3seal::{
    CompletedPart, Engine, EngineBuilder, EngineConfig, EngineError, ObjectEnvelope, Request,
    StoredObject,
};
use s3seal_gcm::ChunkSize;
use s3seal_kms::{KeyRef, LocalKms};
use std::sync::Arc;

const OWNER: &str = "000000000000";

struct World {
    _dir: tempfile::TempDir,
    engine: Engine,
    kms: Arc<LocalKms>,
    key_a: String,
    key_b: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    let key_a = kms.create_key("a").unwrap().arn;
    let key_b = kms.create_key("b").unwrap().arn;
    let config = EngineConfig {
        chunk: ChunkSize::MIN,
        min_part_size: 4096,
        ..EngineConfig::default()
    };
    let engine = EngineBuilder::new(kms.clone())
        .threads(2)
        .config(config)
        .build()
        .unwrap();
    World {
        _dir: dir,
        engine,
        kms,
        key_a,
        key_b,
    }
}

fn bucket(name: &str) -> BucketPolicy {
    BucketPolicy::new(name, BucketKind::GeneralPurpose, OWNER, "us-east-1")
}

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect()
}

const CUSTOMER_KEY: [u8; 32] = [7; 32];

#[derive(Clone, Copy, Debug, PartialEq)]
enum M {
    S3,
    Kms,
    KmsBucketKey,
    Dsse,
    SseC,
}

const MODES: [M; 5] = [M::S3, M::Kms, M::KmsBucketKey, M::Dsse, M::SseC];

fn h(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut m = HeaderMap::new();
    for (k, v) in pairs {
        m.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    m
}

fn sse_c(prefix: &'static str, key: &[u8; 32]) -> Vec<(&'static str, String)> {
    let (a, k, m) = match prefix {
        "copy" => (
            "x-amz-copy-source-server-side-encryption-customer-algorithm",
            "x-amz-copy-source-server-side-encryption-customer-key",
            "x-amz-copy-source-server-side-encryption-customer-key-md5",
        ),
        _ => (
            "x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-key",
            "x-amz-server-side-encryption-customer-key-md5",
        ),
    };
    vec![
        (a, "AES256".into()),
        (k, B64.encode(key)),
        (m, B64.encode(Md5::digest(key))),
    ]
}

fn write_headers(w: &World, m: M) -> Vec<(&'static str, String)> {
    let sse = "x-amz-server-side-encryption";
    let kid = "x-amz-server-side-encryption-aws-kms-key-id";
    match m {
        M::S3 => vec![(sse, "AES256".into())],
        M::Kms => vec![(sse, "aws:kms".into()), (kid, w.key_a.clone())],
        M::KmsBucketKey => vec![
            (sse, "aws:kms".into()),
            (kid, w.key_a.clone()),
            (
                "x-amz-server-side-encryption-bucket-key-enabled",
                "true".into(),
            ),
        ],
        M::Dsse => vec![(sse, "aws:kms:dsse".into()), (kid, w.key_a.clone())],
        M::SseC => sse_c("", &CUSTOMER_KEY),
    }
}

fn read_headers(m: M) -> HeaderMap {
    if m == M::SseC {
        h(&sse_c("", &CUSTOMER_KEY))
    } else {
        HeaderMap::new()
    }
}

fn req<'a>(b: &'a BucketPolicy, key: &'a str, headers: &'a HeaderMap) -> Request<'a> {
    Request {
        bucket: b,
        key,
        headers,
        secure_transport: true,
    }
}

/// A stored object: envelope and sealed bytes.
struct Obj {
    env: Vec<u8>,
    sealed: Vec<u8>,
}

fn put(w: &World, b: &BucketPolicy, key: &str, m: M, body: &[u8]) -> Obj {
    let hs = h(&write_headers(w, m));
    let out = w
        .engine
        .put_object(&req(b, key, &hs), body)
        .unwrap_or_else(|e| panic!("{m:?}: {e}"));
    Obj {
        env: out.envelope_bytes,
        sealed: out.sealed.to_vec(),
    }
}

fn cp(part_number: u32, etag: &str) -> CompletedPart {
    CompletedPart {
        part_number,
        etag: etag.to_owned(),
    }
}

fn put_multipart(w: &World, b: &BucketPolicy, key: &str, m: M, parts: &[&[u8]]) -> Obj {
    let hs = h(&write_headers(w, m));
    let r = req(b, key, &hs);
    let up = w.engine.create_multipart_upload(&r).unwrap();
    // SSE-C: the key triple on every part (not needed on Complete).
    let part_headers = h(&if m == M::SseC {
        sse_c("", &CUSTOMER_KEY)
    } else {
        vec![]
    });
    let mut sealed = Vec::new();
    let mut list = Vec::new();
    let mut state = up.state;
    for (i, p) in parts.iter().enumerate() {
        let sp = w
            .engine
            .upload_part(&req(b, key, &part_headers), &state, i as u32 + 1, p)
            .unwrap();
        sealed.extend_from_slice(&sp.sealed);
        list.push(cp(sp.part_number, &sp.etag));
        state = sp.state;
    }
    let none = HeaderMap::new();
    let done = w
        .engine
        .complete_multipart_upload(&req(b, key, &none), &state, &list)
        .unwrap();
    Obj {
        env: done.envelope_bytes,
        sealed,
    }
}

fn get(
    w: &World,
    b: &BucketPolicy,
    key: &str,
    m: M,
    o: &Obj,
    range: Option<std::ops::Range<u64>>,
) -> Result<Vec<u8>, EngineError> {
    let hs = read_headers(m);
    w.engine
        .get_object(&req(b, key, &hs), &o.env, &o.sealed, range)
        .map(|r| r.body.to_vec())
}

#[test]
fn every_mode_single_and_multipart_whole_and_ranges() {
    let w = world();
    let b = bucket("b");
    let p1 = data(10_000);
    let p2 = data(4096);
    let p3 = data(777);
    let whole = [&p1[..], &p2[..], &p3[..]].concat();
    for m in MODES {
        let single = put(&w, &b, "single", m, &whole);
        let multi = put_multipart(&w, &b, "multi", m, &[&p1, &p2, &p3]);
        for (key, o) in [("single", &single), ("multi", &multi)] {
            assert_eq!(get(&w, &b, key, m, o, None).unwrap(), whole, "{m:?} {key}");
            for r in [
                0..1,
                4095..4097,
                9_999..10_001,
                14_000..whole.len() as u64,
                0..whole.len() as u64,
            ] {
                let got = get(&w, &b, key, m, o, Some(r.clone())).unwrap();
                assert_eq!(
                    got,
                    whole[r.start as usize..r.end as usize],
                    "{m:?} {key} {r:?}"
                );
            }
            let past = whole.len() as u64;
            assert_eq!(
                get(&w, &b, key, m, o, Some(past..past + 1)),
                Err(EngineError::InvalidRange)
            );
        }
    }
}

#[test]
fn empty_and_one_byte_objects() {
    let w = world();
    let b = bucket("b");
    for m in MODES {
        for body in [&b""[..], b"x"] {
            let o = put(&w, &b, "k", m, body);
            assert_eq!(get(&w, &b, "k", m, &o, None).unwrap(), body, "{m:?}");
        }
    }
}

#[test]
fn etag_is_the_md5_only_for_single_put_sse_s3() {
    let w = world();
    let b = bucket("b");
    let body = data(5000);
    let md5 = hex::encode(Md5::digest(&body));
    for m in MODES {
        let hs = h(&write_headers(&w, m));
        let out = w.engine.put_object(&req(&b, "k", &hs), &body).unwrap();
        assert_eq!(out.envelope.etag == md5, m == M::S3, "{m:?}");
        assert_eq!(
            out.headers.get("etag").unwrap(),
            &format!("\"{}\"", out.envelope.etag)
        );
    }
    let multi = put_multipart(&w, &b, "m", M::S3, &[&body]);
    let env = ObjectEnvelope::from_bytes(&multi.env).unwrap();
    assert!(env.etag.ends_with("-1") && !env.etag.starts_with(&md5));
}

#[test]
fn response_headers_echo_mode_key_arn_and_sse_c_md5_never_the_key() {
    let w = world();
    let b = bucket("b");
    let hs = h(&write_headers(&w, M::Kms));
    let out = w.engine.put_object(&req(&b, "k", &hs), b"x").unwrap();
    assert_eq!(out.headers["x-amz-server-side-encryption"], "aws:kms");
    assert_eq!(
        out.headers["x-amz-server-side-encryption-aws-kms-key-id"],
        w.key_a.as_str()
    );
    let hs = h(&write_headers(&w, M::SseC));
    let out = w.engine.put_object(&req(&b, "k", &hs), b"x").unwrap();
    assert_eq!(
        out.headers["x-amz-server-side-encryption-customer-key-md5"],
        B64.encode(Md5::digest(CUSTOMER_KEY)).as_str()
    );
    assert!(
        out.headers
            .get("x-amz-server-side-encryption-customer-key")
            .is_none()
    );
    let env = ObjectEnvelope::from_bytes(&out.envelope_bytes).unwrap();
    assert!(
        !env.key_material.windows(32).any(|w| w == CUSTOMER_KEY),
        "customer key stored"
    );
}

#[test]
fn copy_between_every_pair_of_modes() {
    let w = world();
    let b = bucket("b");
    let body = data(9000);
    for from in MODES {
        let src = put(&w, &b, "src", from, &body);
        for to in MODES {
            let mut hdrs = write_headers(&w, to);
            if from == M::SseC {
                hdrs.extend(sse_c("copy", &CUSTOMER_KEY));
            }
            let hs = h(&hdrs);
            let so = StoredObject {
                bucket: &b,
                key: "src",
                envelope: &src.env,
                sealed: &src.sealed,
            };
            let out = w
                .engine
                .copy_object(&req(&b, "dst", &hs), &so)
                .unwrap_or_else(|e| panic!("{from:?}->{to:?}: {e}"));
            let dst = Obj {
                env: out.envelope_bytes,
                sealed: out.sealed.to_vec(),
            };
            assert_eq!(
                get(&w, &b, "dst", to, &dst, None).unwrap(),
                body,
                "{from:?}->{to:?}"
            );
        }
    }
}

#[test]
fn copy_without_headers_takes_the_destination_default_not_the_source() {
    let w = world();
    let src_bucket = bucket("src");
    let mut dst_bucket = bucket("dst");
    dst_bucket.set_encryption(BucketEncryption {
        algorithm: SseAlgorithm::AwsKms,
        kms_key: Some(KeyRef::parse(&w.key_b).unwrap()),
        bucket_key: false,
        blocked: None,
    });
    let src = put(&w, &src_bucket, "k", M::Dsse, b"payload");
    let none = HeaderMap::new();
    let so = StoredObject {
        bucket: &src_bucket,
        key: "k",
        envelope: &src.env,
        sealed: &src.sealed,
    };
    let out = w
        .engine
        .copy_object(&req(&dst_bucket, "k", &none), &so)
        .unwrap();
    assert_eq!(out.headers["x-amz-server-side-encryption"], "aws:kms");
    assert_eq!(out.envelope.key_arn, w.key_b);
    // The source's SSE-C key must come in the copy-source headers.
    let c = put(&w, &src_bucket, "c", M::SseC, b"secret");
    let so = StoredObject {
        bucket: &src_bucket,
        key: "c",
        envelope: &c.env,
        sealed: &c.sealed,
    };
    let e = w
        .engine
        .copy_object(&req(&dst_bucket, "k", &none), &so)
        .unwrap_err();
    assert_eq!(e.s3().status, StatusCode::BAD_REQUEST);
}

#[test]
fn copies_into_directory_buckets_and_fsx_access_points() {
    let w = world();
    let src_bucket = bucket("src");
    let mut dir = BucketPolicy::new(
        "dir--use1-az4--x-s3",
        BucketKind::Directory,
        OWNER,
        "us-east-1",
    );
    dir.set_encryption(BucketEncryption {
        algorithm: SseAlgorithm::AwsKms,
        kms_key: Some(KeyRef::parse(&w.key_a).unwrap()),
        bucket_key: true,
        blocked: None,
    });
    let fsx = BucketPolicy::new("fsx-ap", BucketKind::FsxAccessPoint, OWNER, "us-east-1");
    let body = data(6000);
    for from in MODES {
        let src = put(&w, &src_bucket, "k", from, &body);
        let copy_src = h(&if from == M::SseC {
            sse_c("copy", &CUSTOMER_KEY)
        } else {
            vec![]
        });
        let so = StoredObject {
            bucket: &src_bucket,
            key: "k",
            envelope: &src.env,
            sealed: &src.sealed,
        };
        for (dst, expect) in [(&dir, "aws:kms"), (&fsx, "aws:fsx")] {
            let out = w
                .engine
                .copy_object(&req(dst, "k", &copy_src), &so)
                .unwrap_or_else(|e| panic!("{from:?}->{}: {e}", dst.name));
            assert_eq!(out.headers["x-amz-server-side-encryption"], expect);
            let o = Obj {
                env: out.envelope_bytes,
                sealed: out.sealed.to_vec(),
            };
            let none = HeaderMap::new();
            let got = w
                .engine
                .get_object(&req(dst, "k", &none), &o.env, &o.sealed, None)
                .unwrap();
            assert_eq!(got.body.to_vec(), body);
        }
    }
    // Directory buckets refuse DSSE and another key.
    let dsse = h(&write_headers(&w, M::Dsse));
    assert!(w.engine.put_object(&req(&dir, "x", &dsse), b"x").is_err());
    let other = h(&[
        ("x-amz-server-side-encryption", "aws:kms".into()),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            w.key_b.clone(),
        ),
    ]);
    assert_eq!(
        w.engine
            .put_object(&req(&dir, "x", &other), b"x")
            .unwrap_err()
            .s3()
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn rewrap_keeps_the_sealed_bytes_and_moves_the_key() {
    let w = world();
    let b = bucket("b");
    let body = data(12_345);
    let to_b = h(&[
        ("x-amz-server-side-encryption", "aws:kms".into()),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            w.key_b.clone(),
        ),
    ]);
    for from in [M::S3, M::Kms, M::KmsBucketKey] {
        let o = put(&w, &b, "k", from, &body);
        let before = ObjectEnvelope::from_bytes(&o.env).unwrap();
        let headers = if from == M::KmsBucketKey {
            h(&[
                ("x-amz-server-side-encryption", "aws:kms".into()),
                (
                    "x-amz-server-side-encryption-aws-kms-key-id",
                    w.key_b.clone(),
                ),
                (
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    "true".into(),
                ),
            ])
        } else {
            to_b.clone()
        };
        let s3seal::Committed {
            envelope: env,
            envelope_bytes: bytes,
            headers: hdrs,
        } = w.engine.rewrap(&req(&b, "k", &headers), &o.env).unwrap();
        assert_eq!(env.key_arn, w.key_b, "{from:?}");
        assert_eq!(hdrs["x-amz-server-side-encryption"], "aws:kms");
        assert_eq!(
            (env.etag.as_str(), env.plaintext_len),
            (before.etag.as_str(), before.plaintext_len)
        );
        let rewrapped = Obj {
            env: bytes,
            sealed: o.sealed.clone(),
        };
        assert_eq!(
            get(&w, &b, "k", M::Kms, &rewrapped, None).unwrap(),
            body,
            "{from:?}"
        );
        // Key A no longer opens it: disable A and read again.
    }
    // DSSE moves to another key; SSE-C cannot be rewrapped.
    let d = put(&w, &b, "d", M::Dsse, &body);
    let to_b_dsse = h(&[
        ("x-amz-server-side-encryption", "aws:kms:dsse".into()),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            w.key_b.clone(),
        ),
    ]);
    let s3seal::Committed {
        envelope: env,
        envelope_bytes: bytes,
        ..
    } = w.engine.rewrap(&req(&b, "d", &to_b_dsse), &d.env).unwrap();
    assert_eq!(env.key_arn, w.key_b);
    assert_eq!(
        get(
            &w,
            &b,
            "d",
            M::Dsse,
            &Obj {
                env: bytes,
                sealed: d.sealed.clone()
            },
            None
        )
        .unwrap(),
        body
    );
    let c = put(&w, &b, "c", M::SseC, &body);
    assert!(matches!(
        w.engine.rewrap(&req(&b, "c", &to_b), &c.env),
        Err(EngineError::NotSupported(_))
    ));
    // After disabling key A, a rewrapped-away object still opens; one left on A does not.
    let stay = put(&w, &b, "stay", M::Kms, &body);
    let moved = put(&w, &b, "moved", M::Kms, &body);
    let moved_env = w
        .engine
        .rewrap(&req(&b, "moved", &to_b), &moved.env)
        .unwrap()
        .envelope_bytes;
    w.kms
        .disable_key(&KeyRef::parse(&w.key_a).unwrap())
        .unwrap();
    w.engine.key_cache().clear();
    assert_eq!(
        get(
            &w,
            &b,
            "moved",
            M::Kms,
            &Obj {
                env: moved_env,
                sealed: moved.sealed
            },
            None
        )
        .unwrap(),
        body
    );
    let e = get(&w, &b, "stay", M::Kms, &stay, None).unwrap_err();
    assert_eq!(e.s3().code, "KMS.DisabledException");
}

#[test]
fn spliced_dropped_and_duplicated_parts_and_moved_objects_are_rejected() {
    let w = world();
    let b = bucket("b");
    let (p1, p2) = (data(5000), data(6000));
    for m in MODES {
        let a = put_multipart(&w, &b, "a", m, &[&p1, &p2]);
        let other = put_multipart(&w, &b, "a", m, &[&p1, &p2]);
        // Part 2 of another upload of the same key spliced in: the object id differs.
        let env = ObjectEnvelope::from_bytes(&a.env).unwrap();
        // Both parts have 2 chunks, so the sealed overhead splits evenly between them.
        let overhead = a.sealed.len() - env.plaintext_len as usize;
        let split = 5000 + overhead / 2;
        let spliced = [&a.sealed[..split], &other.sealed[split..]].concat();
        assert!(
            get(
                &w,
                &b,
                "a",
                m,
                &Obj {
                    env: a.env.clone(),
                    sealed: spliced
                },
                None
            )
            .is_err(),
            "{m:?} splice"
        );
        // Parts swapped, one dropped, one duplicated.
        let swapped = [&a.sealed[split..], &a.sealed[..split]].concat();
        assert!(
            get(
                &w,
                &b,
                "a",
                m,
                &Obj {
                    env: a.env.clone(),
                    sealed: swapped
                },
                None
            )
            .is_err(),
            "{m:?} swap"
        );
        let dropped = a.sealed[..split].to_vec();
        assert_eq!(
            get(
                &w,
                &b,
                "a",
                m,
                &Obj {
                    env: a.env.clone(),
                    sealed: dropped
                },
                None
            ),
            Err(EngineError::LengthMismatch)
        );
        // A manifest edited to drop the last part fails its MAC.
        let mut e2 = env.clone();
        e2.parts.pop();
        e2.plaintext_len = 5000;
        let forged = e2.to_bytes().unwrap();
        let r = get(
            &w,
            &b,
            "a",
            m,
            &Obj {
                env: forged,
                sealed: a.sealed[..split].to_vec(),
            },
            None,
        );
        assert_eq!(
            r,
            Err(EngineError::Envelope(s3seal::EnvelopeError::MacMismatch)),
            "{m:?}"
        );
        // The same bytes under another key: refused.
        let r = get(&w, &b, "elsewhere", m, &a, None);
        assert_eq!(r, Err(EngineError::ObjectMoved));
        let mut e3 = env.clone();
        e3.key = "elsewhere".into();
        let r = get(
            &w,
            &b,
            "elsewhere",
            m,
            &Obj {
                env: e3.to_bytes().unwrap(),
                sealed: a.sealed.clone(),
            },
            None,
        );
        assert!(r.is_err(), "{m:?} moved envelope accepted");
    }
}

#[test]
fn every_envelope_byte_flip_is_rejected_without_panic() {
    let w = world();
    let b = bucket("b");
    for m in [M::Kms, M::SseC] {
        let o = put(&w, &b, "k", m, &data(3000));
        let mut env = o.env.clone();
        for i in 0..env.len() {
            env[i] ^= 0x01;
            let r = get(
                &w,
                &b,
                "k",
                m,
                &Obj {
                    env: env.clone(),
                    sealed: o.sealed.clone(),
                },
                None,
            );
            assert!(r.is_err(), "{m:?}: flip at envelope byte {i} accepted");
            env[i] ^= 0x01;
        }
        for cut in 0..env.len() {
            assert!(
                get(
                    &w,
                    &b,
                    "k",
                    m,
                    &Obj {
                        env: env[..cut].to_vec(),
                        sealed: o.sealed.clone()
                    },
                    None
                )
                .is_err()
            );
        }
    }
}

#[test]
fn sse_c_reads_need_the_right_key_and_sse_headers_on_kms_reads_are_refused() {
    let w = world();
    let b = bucket("b");
    let o = put(&w, &b, "k", M::SseC, b"secret");
    let none = HeaderMap::new();
    let e = w
        .engine
        .get_object(&req(&b, "k", &none), &o.env, &o.sealed, None)
        .unwrap_err();
    assert_eq!(
        (e.s3().code, e.s3().status),
        ("InvalidRequest", StatusCode::BAD_REQUEST)
    );
    let wrong = h(&sse_c("", &[8; 32]));
    let e = w
        .engine
        .get_object(&req(&b, "k", &wrong), &o.env, &o.sealed, None)
        .unwrap_err();
    assert!(e.s3().status.is_client_error());
    let head = w
        .engine
        .head_object(&req(&b, "k", &read_headers(M::SseC)), &o.env)
        .unwrap();
    assert_eq!(head["content-length"], "6");
    let k = put(&w, &b, "kms", M::Kms, b"x");
    let sse = h(&[("x-amz-server-side-encryption", "aws:kms".into())]);
    let e = w
        .engine
        .get_object(&req(&b, "kms", &sse), &k.env, &k.sealed, None)
        .unwrap_err();
    assert_eq!(e.s3().status, StatusCode::BAD_REQUEST);
}

#[test]
fn uploads_need_the_sse_c_key_on_every_part_and_ordered_parts_on_complete() {
    let w = world();
    let b = bucket("b");
    let hs = h(&write_headers(&w, M::SseC));
    let up = w
        .engine
        .create_multipart_upload(&req(&b, "k", &hs))
        .unwrap();
    let none = HeaderMap::new();
    let e = w
        .engine
        .upload_part(&req(&b, "k", &none), &up.state, 1, b"x")
        .unwrap_err();
    assert_eq!(
        (e.s3().code, e.s3().status),
        ("InvalidRequest", StatusCode::BAD_REQUEST)
    );
    let kms = h(&write_headers(&w, M::Kms));
    let up = w
        .engine
        .create_multipart_upload(&req(&b, "k", &kms))
        .unwrap();
    // Two parts of 10 bytes actually uploaded: sizes come from the upload's state, never from
    // the client's list.
    let p1 = w
        .engine
        .upload_part(&req(&b, "k", &none), &up.state, 1, &[1; 10])
        .unwrap();
    let p2 = w
        .engine
        .upload_part(&req(&b, "k", &none), &p1.state, 2, &[2; 10])
        .unwrap();
    let state = p2.state.clone();
    let (e1, e2) = (p1.etag.as_str(), p2.etag.as_str());
    let z = "00".repeat(16);
    for bad in [
        vec![],
        vec![cp(0, e1)],
        vec![cp(10_001, e1)],
        vec![cp(1, "not hex")],
        vec![cp(1, "00")],
        vec![cp(1, &z)],
        vec![cp(3, e1)],
        vec![cp(1, e2)],
    ] {
        assert_eq!(
            w.engine
                .complete_multipart_upload(&req(&b, "k", &none), &state, &bad)
                .unwrap_err(),
            EngineError::InvalidPart,
            "{bad:?}"
        );
    }
    for unordered in [vec![cp(2, e2), cp(1, e1)], vec![cp(1, e1), cp(1, e1)]] {
        let e = w
            .engine
            .complete_multipart_upload(&req(&b, "k", &none), &state, &unordered)
            .unwrap_err();
        assert_eq!(e, EngineError::InvalidPartOrder);
        assert_eq!(
            (e.s3().code, e.s3().status),
            ("InvalidPartOrder", StatusCode::BAD_REQUEST)
        );
    }
    assert_eq!(
        w.engine
            .complete_multipart_upload(&req(&b, "k", &none), &state, &[cp(1, e1), cp(2, e2)])
            .unwrap_err(),
        EngineError::EntityTooSmall
    );
    // The last part may be small: part 2 alone completes, 10 bytes as uploaded.
    let done = w
        .engine
        .complete_multipart_upload(&req(&b, "k", &none), &state, &[cp(2, e2)])
        .unwrap();
    assert_eq!(done.envelope.plaintext_len, 10);
    assert_eq!(
        w.engine
            .upload_part(&req(&b, "k", &none), &up.state, 0, b"x")
            .unwrap_err(),
        EngineError::InvalidPart
    );
    // A state of another key, or no state at all, is no upload of this key.
    for (key, st) in [
        ("other", &state[..]),
        ("k", &b"junk"[..]),
        ("k", &done.envelope_bytes[..]),
    ] {
        let e = w
            .engine
            .complete_multipart_upload(&req(&b, key, &none), st, &[cp(2, e2)])
            .unwrap_err();
        assert_eq!(e, EngineError::NoSuchUpload, "{key}");
        assert_eq!(e.s3().code, "NoSuchUpload");
    }
}

#[test]
fn upload_part_copy_takes_a_range_of_any_source() {
    let w = world();
    let b = bucket("b");
    let src_body = data(20_000);
    let src = put(&w, &b, "src", M::Dsse, &src_body);
    let hs = h(&write_headers(&w, M::Kms));
    let up = w
        .engine
        .create_multipart_upload(&req(&b, "dst", &hs))
        .unwrap();
    let none = HeaderMap::new();
    let so = StoredObject {
        bucket: &b,
        key: "src",
        envelope: &src.env,
        sealed: &src.sealed,
    };
    let p1 = w
        .engine
        .upload_part_copy(&req(&b, "dst", &none), &up.state, 1, &so, Some(1000..9000))
        .unwrap();
    let p2 = w
        .engine
        .upload_part(&req(&b, "dst", &none), &p1.state, 2, b"tail")
        .unwrap();
    let env = w
        .engine
        .complete_multipart_upload(
            &req(&b, "dst", &none),
            &p2.state,
            &[cp(1, &p1.etag), cp(2, &p2.etag)],
        )
        .unwrap()
        .envelope_bytes;
    let sealed = [&p1.sealed[..], &p2.sealed[..]].concat();
    let got = w
        .engine
        .get_object(&req(&b, "dst", &none), &env, &sealed, None)
        .unwrap();
    assert_eq!(got.body.to_vec(), [&src_body[1000..9000], b"tail"].concat());
}

#[test]
fn streaming_put_and_get_agree_with_the_buffer_api() {
    let w = world();
    let b = bucket("b");
    let body = data(70_001);
    for m in MODES {
        let hs = h(&write_headers(&w, m));
        let mut sealed = Vec::new();
        let s3seal::Committed {
            envelope: env,
            envelope_bytes: env_bytes,
            ..
        } = w
            .engine
            .put_object_stream(&req(&b, "k", &hs), &body[..], &mut sealed)
            .unwrap();
        assert_eq!(env.plaintext_len, body.len() as u64);
        let o = Obj {
            env: env_bytes,
            sealed,
        };
        assert_eq!(
            get(&w, &b, "k", m, &o, Some(5..70_000)).unwrap(),
            body[5..70_000].to_vec()
        );
        let mut out = Vec::new();
        let rh = read_headers(m);
        w.engine
            .get_object_stream(&req(&b, "k", &rh), &o.env, &o.sealed[..], &mut out)
            .unwrap();
        assert_eq!(out, body, "{m:?}");
        // A truncated stream is an error, never a clean short read.
        let mut out = Vec::new();
        assert!(
            w.engine
                .get_object_stream(
                    &req(&b, "k", &rh),
                    &o.env,
                    &o.sealed[..o.sealed.len() - 1],
                    &mut out
                )
                .is_err()
        );
    }
    let mp = put_multipart(&w, &b, "mp", M::Kms, &[&body[..5000], &body[5000..]]);
    let mut out = Vec::new();
    w.engine
        .get_object_stream(
            &req(&b, "mp", &HeaderMap::new()),
            &mp.env,
            &mp.sealed[..],
            &mut out,
        )
        .unwrap();
    assert_eq!(out, body);
}

#[test]
fn bucket_keys_cost_one_generate_data_key_for_many_puts() {
    let w = world();
    let b = bucket("b");
    let hs = h(&write_headers(&w, M::KmsBucketKey));
    let before = w.engine.key_cache().stats();
    for i in 0..200 {
        w.engine
            .put_object(&req(&b, &format!("k{i}"), &hs), b"x")
            .unwrap();
    }
    let after = w.engine.key_cache().stats();
    assert_eq!(after.kms_generate_calls - before.kms_generate_calls, 1);
}

#[test]
fn findings_of_the_review_stay_fixed() {
    let w = world();
    let b = bucket("b");
    let none = HeaderMap::new();
    // An FSx envelope (no MAC) on a general purpose bucket is not believed.
    let o = put(&w, &b, "k", M::S3, b"genuine!");
    let mut env = ObjectEnvelope::from_bytes(&o.env).unwrap();
    env.mode = s3seal::Mode::Fsx;
    env.mac = [0; 32];
    let forged = Obj {
        env: env.to_bytes().unwrap(),
        sealed: b"attacker".to_vec(),
    };
    assert_eq!(
        get(&w, &b, "k", M::S3, &forged, None),
        Err(EngineError::Integrity)
    );

    // An upload's envelope is not an object, even an empty one, and an object's is not an upload.
    let kms = h(&write_headers(&w, M::Kms));
    let up = w
        .engine
        .create_multipart_upload(&req(&b, "k", &kms))
        .unwrap();
    // The upload's envelope, out of its state ("S3UP", version, u32 BE length, envelope).
    let n = u32::from_be_bytes(up.state[5..9].try_into().unwrap()) as usize;
    let fake = Obj {
        env: up.state[9..9 + n].to_vec(),
        sealed: vec![0; 92],
    };
    assert_eq!(
        get(&w, &b, "k", M::Kms, &fake, None),
        Err(EngineError::Integrity)
    );
    let obj = put(&w, &b, "k", M::Kms, b"x");
    assert_eq!(
        w.engine
            .upload_part(&req(&b, "k", &none), &obj.env, 1, b"y")
            .unwrap_err(),
        EngineError::NoSuchUpload
    );

    // An empty object still authenticates its one chunk.
    let empty = put(&w, &b, "e", M::Kms, b"");
    let mut junk = empty.sealed.clone();
    let last = junk.len() - 1;
    junk[last] ^= 1;
    assert!(
        get(
            &w,
            &b,
            "e",
            M::Kms,
            &Obj {
                env: empty.env.clone(),
                sealed: junk
            },
            None
        )
        .is_err()
    );
    assert_eq!(get(&w, &b, "e", M::Kms, &empty, None).unwrap(), b"");

    // A stale re-upload of a part (same number, same length) is not the part the manifest names.
    for m in MODES {
        let hs = h(&write_headers(&w, m));
        let up = w
            .engine
            .create_multipart_upload(&req(&b, "mp", &hs))
            .unwrap();
        let ph = h(&if m == M::SseC {
            sse_c("", &CUSTOMER_KEY)
        } else {
            vec![]
        });
        let first = w
            .engine
            .upload_part(&req(&b, "mp", &ph), &up.state, 1, &[1; 5000])
            .unwrap();
        let again = w
            .engine
            .upload_part(&req(&b, "mp", &ph), &first.state, 1, &[9; 5000])
            .unwrap();
        assert_ne!(first.etag, again.etag);
        // The first upload's ETag is no longer the part's: the latest upload wins.
        assert_eq!(
            w.engine
                .complete_multipart_upload(
                    &req(&b, "mp", &none),
                    &again.state,
                    &[cp(1, &first.etag)],
                )
                .unwrap_err(),
            EngineError::InvalidPart
        );
        let env = w
            .engine
            .complete_multipart_upload(&req(&b, "mp", &none), &again.state, &[cp(1, &again.etag)])
            .unwrap()
            .envelope_bytes;
        let good = Obj {
            env: env.clone(),
            sealed: again.sealed.to_vec(),
        };
        assert_eq!(
            get(&w, &b, "mp", m, &good, None).unwrap(),
            vec![9; 5000],
            "{m:?}"
        );
        let stale = Obj {
            env,
            sealed: first.sealed.to_vec(),
        };
        assert_eq!(
            get(&w, &b, "mp", m, &stale, None),
            Err(EngineError::Integrity),
            "{m:?}"
        );
        let mut out = Vec::new();
        let rh = read_headers(m);
        let r = w.engine.get_object_stream(
            &req(&b, "mp", &rh),
            &stale.env,
            &stale.sealed[..],
            &mut out,
        );
        assert_eq!(r.unwrap_err(), EngineError::Integrity, "{m:?} stream");
        assert!(out.is_empty());
    }

    // The SSE-C manifest key must come from this store's SSE-S3 root key: a MAC made with a
    // data key from another KMS key is refused.
    let c = put(&w, &b, "c", M::SseC, &data(100));
    let mut env = ObjectEnvelope::from_bytes(&c.env).unwrap();
    let other_key = KeyRef::parse(&w.key_a).unwrap();
    let ctx = s3seal_kms::EncryptionContext::from_pairs([
        ("aws:s3:arn", "arn:aws:s3:::b/c".to_owned()),
        ("s3seal:object-id", hex::encode(env.object_id)),
    ]);
    let g =
        s3seal_kms::Kms::generate_data_key(&*w.kms, &other_key, &w.kms.requester(), &ctx).unwrap();
    env.manifest_key = g.ciphertext_blob;
    env.seal_mac(Some(&g.plaintext)).unwrap();
    let forged = Obj {
        env: env.to_bytes().unwrap(),
        sealed: c.sealed.clone(),
    };
    assert!(get(&w, &b, "c", M::SseC, &forged, None).is_err());
    env.key_arn = w.key_a.clone();
    env.seal_mac(Some(&g.plaintext)).unwrap();
    let forged = Obj {
        env: env.to_bytes().unwrap(),
        sealed: c.sealed,
    };
    assert!(get(&w, &b, "c", M::SseC, &forged, None).is_err());
}

/// `put_object_into` / `get_object_into` reuse the caller's buffers: whatever they held (more
/// or fewer bytes, stale data) is replaced by exactly the sealed bytes / the plaintext, which
/// match the allocating calls; on a failed read the buffer comes back empty.
#[test]
fn into_buffers_are_reused_and_match_the_allocating_calls() {
    let w = world();
    let b = bucket("b");
    let p1 = data(10_000);
    let p2 = data(4096);
    let whole = [&p1[..], &p2[..]].concat();
    // A buffer that starts larger than any object here, full of stale bytes.
    let mut sealed = vec![0xA5; 100_000];
    let mut body = vec![0x5A; 100_000];
    for m in MODES {
        let hs = h(&write_headers(&w, m));
        for len in [whole.len(), 0, 1, 4096, whole.len()] {
            let c = w
                .engine
                .put_object_into(&req(&b, "k", &hs), &whole[..len], &mut sealed)
                .unwrap_or_else(|e| panic!("{m:?}: {e}"));
            let o = Obj {
                env: c.envelope_bytes,
                sealed: sealed.clone(),
            };
            let rh = read_headers(m);
            let info = w
                .engine
                .get_object_into(&req(&b, "k", &rh), &o.env, &sealed, None, &mut body)
                .unwrap();
            assert_eq!(body, whole[..len], "{m:?} {len}");
            assert_eq!(info.object_len, len as u64);
            assert_eq!(get(&w, &b, "k", m, &o, None).unwrap(), body);
        }
        // Ranges of a multipart object: chunk-aligned, unaligned, across parts.
        let multi = put_multipart(&w, &b, "multi", m, &[&p1, &p2]);
        let rh = read_headers(m);
        for r in [
            0..4096,
            4096..8192,
            1..2,
            4095..10_001,
            8192..whole.len() as u64,
        ] {
            w.engine
                .get_object_into(
                    &req(&b, "multi", &rh),
                    &multi.env,
                    &multi.sealed,
                    Some(r.clone()),
                    &mut body,
                )
                .unwrap();
            assert_eq!(body, whole[r.start as usize..r.end as usize], "{m:?} {r:?}");
        }
        // A flipped byte in the last chunk: an error, and nothing left in the buffer.
        let mut bad = multi.sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let got =
            w.engine
                .get_object_into(&req(&b, "multi", &rh), &multi.env, &bad, None, &mut body);
        assert!(got.is_err(), "{m:?}");
        assert!(body.is_empty(), "{m:?}");
    }
}

/// A reader that hands out at most `step` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The streaming PUT seals batch by batch while it reads the next one: every length around a
/// batch (1 MiB) and chunk (4 KiB here) boundary, read in odd pieces, gives a part that is
/// exactly what the buffer API writes (same length, same plaintext back, final chunk flagged).
#[test]
fn streaming_put_at_every_batch_boundary() {
    let w = world();
    let b = bucket("b");
    let mib = 1usize << 20;
    let body = data(2 * mib + 4097);
    for m in [M::S3, M::Dsse] {
        let hs = h(&write_headers(&w, m));
        for len in [
            0,
            1,
            4096,
            4097,
            mib - 1,
            mib,
            mib + 1,
            2 * mib,
            2 * mib + 4097,
        ] {
            for step in [7777, mib] {
                let mut sealed = Vec::new();
                let c = w
                    .engine
                    .put_object_stream(
                        &req(&b, "k", &hs),
                        Trickle {
                            data: &body[..len],
                            step,
                        },
                        &mut sealed,
                    )
                    .unwrap();
                let whole = w
                    .engine
                    .put_object(&req(&b, "k", &hs), &body[..len])
                    .unwrap();
                assert_eq!(sealed.len(), whole.sealed.len(), "{m:?} {len}");
                let o = Obj {
                    env: c.envelope_bytes,
                    sealed,
                };
                assert_eq!(
                    get(&w, &b, "k", m, &o, None).unwrap(),
                    body[..len],
                    "{m:?} {len}"
                );
            }
        }
    }
}
