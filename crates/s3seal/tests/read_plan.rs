//! Ranged reads from stored byte spans, through the public API as a backend on a remote store
//! would use them: plan from the envelope, fetch only the spans, open or stream them. Every
//! fetched byte is counted.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report"
)]

use std::io::Read;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{CompletedPart, Engine, EngineBuilder, EngineError, ReadPlan, Request};
use s3seal_kms::LocalKms;

const GIB: u64 = 1 << 30;

fn engine(dir: &tempfile::TempDir) -> Engine {
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    EngineBuilder::new(kms).threads(2).build().unwrap()
}

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// Plaintext `byte_at(offset..)`, generated as it is read.
struct Pattern {
    at: u64,
    end: u64,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((self.end - self.at) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = byte_at(self.at + i as u64);
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// A store that serves byte spans of a stored object and counts what it served.
struct Storage<'a> {
    sealed: &'a [u8],
    served: u64,
}

impl Storage<'_> {
    fn fetch(&mut self, plan: &ReadPlan) -> Vec<&[u8]> {
        plan.spans()
            .into_iter()
            .map(|s| {
                self.served += s.end - s.start;
                &self.sealed[s.start as usize..s.end as usize]
            })
            .collect()
    }

    /// A reader yielding the plan's spans back to back, as a range request to a store would.
    fn reader(&mut self, plan: &ReadPlan) -> std::io::Cursor<Vec<u8>> {
        std::io::Cursor::new(self.fetch(plan).concat())
    }
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn sse_c() -> Vec<(&'static str, String)> {
    let key = [7u8; 32];
    vec![
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".into(),
        ),
        ("x-amz-server-side-encryption-customer-key", B64.encode(key)),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            B64.encode(Md5::digest(key)),
        ),
    ]
}

/// A 1-byte range of a 1 GiB object — single part, and DSSE-KMS in 16 parts — fetches one
/// header and one sealed chunk from storage and opens one chunk, in memory and streamed.
#[test]
fn one_byte_of_a_gibibyte_fetches_one_chunk_and_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let bucket = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let none = HeaderMap::new();
    let at = 700_000_000u64;
    let range = format!("bytes={at}-{at}");

    // Single part, SSE-S3, sealed as a stream.
    let put = headers(&[("x-amz-server-side-encryption", "AES256".into())]);
    let req = |h| Request {
        bucket: &bucket,
        key: "single",
        headers: h,
        secure_transport: true,
    };
    let mut sealed = Vec::with_capacity((GIB + (GIB >> 12)) as usize);
    let env = engine
        .put_object_stream(&req(&put), Pattern { at: 0, end: GIB }, &mut sealed)
        .unwrap()
        .envelope_bytes;
    let plan = engine.plan_get(&req(&none), &env, Some(&range)).unwrap();
    check_one_byte(&plan, &sealed, at, 76 + 65_536 + 16);
    drop(sealed);

    // DSSE-KMS, 16 parts of 64 MiB.
    let dsse = headers(&[("x-amz-server-side-encryption", "aws:kms:dsse".into())]);
    let mreq = |h| Request {
        bucket: &bucket,
        key: "parts",
        headers: h,
        secure_transport: true,
    };
    let upload = engine.create_multipart_upload(&mreq(&dsse)).unwrap();
    let part_len = GIB / 16;
    let mut sealed = Vec::with_capacity((GIB + (GIB >> 11)) as usize);
    let mut parts = Vec::new();
    let mut state = upload.state.clone();
    for n in 1..=16u32 {
        let start = u64::from(n - 1) * part_len;
        let mut data = Vec::with_capacity(part_len as usize);
        Pattern {
            at: start,
            end: start + part_len,
        }
        .read_to_end(&mut data)
        .unwrap();
        let p = engine.upload_part(&mreq(&none), &state, n, &data).unwrap();
        sealed.extend_from_slice(&p.sealed);
        state = p.state;
        parts.push(CompletedPart {
            part_number: n,
            etag: p.etag,
        });
    }
    let env = engine
        .complete_multipart_upload(&mreq(&none), &state, &parts)
        .unwrap()
        .envelope_bytes;
    let plan = engine.plan_get(&mreq(&none), &env, Some(&range)).unwrap();
    // A DSSE part: a 152-byte header, 32 bytes of tags per chunk.
    check_one_byte(&plan, &sealed, at, 152 + 65_536 + 32);
}

fn check_one_byte(plan: &ReadPlan, sealed: &[u8], at: u64, budget: u64) {
    assert_eq!(plan.range(), at..at + 1);
    assert_eq!(plan.object_len(), GIB);
    assert_eq!(plan.stored_len(), sealed.len() as u64);
    assert_eq!(plan.chunks(), 1, "one chunk opened");
    let mut storage = Storage { sealed, served: 0 };
    let body = plan.open(&storage.fetch(plan)).unwrap();
    assert_eq!(&body[..], &[byte_at(at)]);
    assert_eq!(storage.served, budget, "bytes fetched from storage");
    let mut out = Vec::new();
    plan.stream(storage.reader(plan), &mut out).unwrap();
    assert_eq!(out, [byte_at(at)]);
    assert_eq!(storage.served, 2 * budget);
}

/// Every mode, single part and multipart, whole and ranged, empty objects: what the plan opens
/// from its spans — in memory and streamed in batches — is what `get_object` returns from the
/// whole object; a flipped byte in any fetched span is refused.
struct Stored {
    envelope_bytes: Vec<u8>,
    sealed: Vec<u8>,
}

/// Three parts (100,000 / 1,000,000 / the rest bytes) sealed and concatenated.
fn multipart(
    engine: &Engine,
    create: &Request<'_>,
    part: &Request<'_>,
    body: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let upload = engine.create_multipart_upload(create).unwrap();
    let mut sealed = Vec::new();
    let mut parts = Vec::new();
    let mut state = upload.state.clone();
    for (n, piece) in [
        &body[..100_000],
        &body[100_000..1_100_000],
        &body[1_100_000..],
    ]
    .into_iter()
    .enumerate()
    {
        let n = n as u32 + 1;
        let p = engine.upload_part(part, &state, n, piece).unwrap();
        sealed.extend_from_slice(&p.sealed);
        state = p.state;
        parts.push(CompletedPart {
            part_number: n,
            etag: p.etag,
        });
    }
    let none = HeaderMap::new();
    let complete = Request {
        headers: &none,
        ..*part
    };
    let env = engine
        .complete_multipart_upload(&complete, &state, &parts)
        .unwrap()
        .envelope_bytes;
    (env, sealed)
}

#[test]
fn plans_agree_with_whole_object_reads_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    // 4 KiB chunks: a range spans many stream batches; small parts allowed.
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    let engine = EngineBuilder::new(kms)
        .threads(2)
        .config(s3seal::EngineConfig {
            chunk: s3seal::ChunkSize::MIN,
            min_part_size: 4096,
            ..s3seal::EngineConfig::default()
        })
        .build()
        .unwrap();
    let gp = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let fsx = BucketPolicy::new("f", BucketKind::FsxAccessPoint, "000000000000", "us-east-1");
    let sse = "x-amz-server-side-encryption";
    type Mode<'a> = (&'a BucketPolicy, Vec<(&'static str, String)>, bool);
    let modes: Vec<Mode<'_>> = vec![
        (&gp, vec![(sse, "AES256".into())], false),
        (&gp, vec![(sse, "aws:kms".into())], false),
        (
            &gp,
            vec![
                (sse, "aws:kms".into()),
                (
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    "true".into(),
                ),
            ],
            false,
        ),
        (&gp, vec![(sse, "aws:kms:dsse".into())], false),
        (&gp, sse_c(), true),
        (&fsx, vec![], false),
    ];
    let len = 3 * 65_536 * 17 + 1234; // 51 full chunks and a tail
    let data: Vec<u8> = (0..len as u64).map(byte_at).collect();
    for (bucket, write, ssec) in &modes {
        let wh = headers(write);
        let rh = if *ssec {
            headers(&sse_c())
        } else {
            HeaderMap::new()
        };
        let req = |key, h| Request {
            bucket,
            key,
            headers: h,
            secure_transport: true,
        };
        for (key, body) in [("obj", &data[..]), ("empty", &[][..]), ("parts", &data[..])] {
            let w = if key == "parts" {
                multipart(&engine, &req(key, &wh), &req(key, &rh), body)
            } else {
                let w = engine.put_object(&req(key, &wh), body).unwrap();
                (w.envelope_bytes, w.sealed.to_vec())
            };
            let w = Stored {
                envelope_bytes: w.0,
                sealed: w.1,
            };
            let ranges: &[Option<&str>] = if body.is_empty() {
                &[None]
            } else {
                &[
                    None,
                    Some("bytes=0-0"),
                    Some("bytes=65535-65536"),
                    Some("bytes=100000-3000000"),
                    Some("bytes=-5"),
                    Some("bytes=3300000-"),
                ]
            };
            for r in ranges {
                let plan = engine
                    .plan_get(&req(key, &rh), &w.envelope_bytes, *r)
                    .unwrap();
                let whole = engine
                    .get_object(
                        &req(key, &rh),
                        &w.envelope_bytes,
                        &w.sealed,
                        Some(plan.range()),
                    )
                    .unwrap();
                let mut storage = Storage {
                    sealed: &w.sealed,
                    served: 0,
                };
                assert_eq!(
                    plan.open(&storage.fetch(&plan)).unwrap(),
                    whole.body,
                    "{write:?} {r:?}"
                );
                let mut out = Vec::new();
                plan.stream(storage.reader(&plan), &mut out).unwrap();
                assert_eq!(out, whole.body, "{write:?} {r:?} streamed");
                assert_eq!(plan.headers(), &whole.headers);
                // Tampering with any fetched byte is refused (FSx data is not authenticated).
                if bucket.kind != BucketKind::FsxAccessPoint {
                    let spans = plan.spans();
                    for s in spans.iter().filter(|s| !s.is_empty()) {
                        let mut bad = w.sealed.to_vec();
                        bad[((s.start + s.end) / 2) as usize] ^= 1;
                        let mut storage = Storage {
                            sealed: &bad,
                            served: 0,
                        };
                        assert!(
                            plan.open(&storage.fetch(&plan)).is_err(),
                            "{write:?} {r:?} {s:?}"
                        );
                        let mut sink = Vec::new();
                        assert!(plan.stream(storage.reader(&plan), &mut sink).is_err());
                    }
                }
            }
        }
    }
    // A range past the end is refused while planning, before anything is fetched.
    let w = engine
        .put_object(
            &Request {
                bucket: &gp,
                key: "x",
                headers: &headers(&[(sse, "AES256".into())]),
                secure_transport: true,
            },
            b"abc",
        )
        .unwrap();
    let none = HeaderMap::new();
    let e = engine
        .plan_get(
            &Request {
                bucket: &gp,
                key: "x",
                headers: &none,
                secure_transport: true,
            },
            &w.envelope_bytes,
            Some("bytes=5-9"),
        )
        .unwrap_err();
    assert_eq!(e, EngineError::InvalidRange);
}

/// GET and HEAD with `partNumber`: the part as uploaded, `x-amz-mp-parts-count`, the SSE
/// headers; a part the object does not have is S3's `InvalidPartNumber` (416).
#[test]
fn part_reads_answer_the_part_with_the_parts_count() {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    let engine = EngineBuilder::new(kms)
        .config(s3seal::EngineConfig {
            chunk: s3seal::ChunkSize::MIN,
            min_part_size: 4096,
            ..s3seal::EngineConfig::default()
        })
        .build()
        .unwrap();
    let gp = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let data: Vec<u8> = (0..1_500_000u64).map(byte_at).collect();
    let (wh, rh) = (headers(&sse_c()), headers(&sse_c()));
    let req = |key, h| Request {
        bucket: &gp,
        key,
        headers: h,
        secure_transport: true,
    };
    let (env, sealed) = multipart(&engine, &req("mp", &wh), &req("mp", &rh), &data);
    let bounds = [0..100_000, 100_000..1_100_000, 1_100_000..1_500_000];
    for (i, r) in bounds.iter().enumerate() {
        let n = i as u32 + 1;
        let plan = engine.plan_get_part(&req("mp", &rh), &env, n).unwrap();
        assert_eq!(plan.range(), r.clone());
        let mut storage = Storage {
            sealed: &sealed,
            served: 0,
        };
        assert_eq!(
            &plan.open(&storage.fetch(&plan)).unwrap()[..],
            &data[r.start as usize..r.end as usize]
        );
        assert_eq!(plan.headers()["x-amz-mp-parts-count"], "3");
        assert!(
            plan.headers()
                .contains_key("x-amz-server-side-encryption-customer-key-md5")
        );
        let h = engine.head_object_part(&req("mp", &rh), &env, n).unwrap();
        assert_eq!(h["content-length"], (r.end - r.start).to_string().as_str());
        assert_eq!(h["x-amz-mp-parts-count"], "3");
    }
    for bad in [0, 4, 10_001] {
        let e = engine
            .plan_get_part(&req("mp", &rh), &env, bad)
            .unwrap_err();
        assert_eq!(e, EngineError::InvalidPartNumber);
        assert_eq!(
            (e.s3().code, e.s3().status.as_u16()),
            ("InvalidPartNumber", 416)
        );
    }
    // The SSE-C key is still required.
    let none = HeaderMap::new();
    assert!(engine.plan_get_part(&req("mp", &none), &env, 1).is_err());
    // A single-PUT object: part 1 is all of it, without a parts count; part 2 does not exist.
    let w = engine.put_object(&req("one", &wh), &data[..5000]).unwrap();
    let plan = engine
        .plan_get_part(&req("one", &rh), &w.envelope_bytes, 1)
        .unwrap();
    assert_eq!(plan.range(), 0..5000);
    assert!(!plan.headers().contains_key("x-amz-mp-parts-count"));
    assert_eq!(
        engine
            .plan_get_part(&req("one", &rh), &w.envelope_bytes, 2)
            .unwrap_err(),
        EngineError::InvalidPartNumber
    );
}

/// SSE-C needs TLS unless the backend opts out for loopback testing; the embedded KMS a
/// builder opened is there to administer.
#[test]
fn insecure_sse_c_is_an_explicit_opt_out_and_the_embedded_kms_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let gp = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let h = headers(&sse_c());
    let plain_http = Request {
        bucket: &gp,
        key: "k",
        headers: &h,
        secure_transport: false,
    };
    let builder = EngineBuilder::local(dir.path().join("kms")).unwrap();
    let key = builder
        .local_kms()
        .unwrap()
        .create_key("made through the builder")
        .unwrap();
    let engine = builder.build().unwrap();
    let e = engine.put_object(&plain_http, b"x").unwrap_err();
    assert_eq!(
        (e.s3().code, e.s3().status.as_u16()),
        ("InvalidRequest", 400)
    );
    assert_eq!(
        engine
            .local_kms()
            .unwrap()
            .describe(&s3seal_kms::KeyRef::parse(&key.arn).unwrap())
            .unwrap()
            .arn,
        key.arn
    );
    let loopback = EngineBuilder::local(dir.path().join("kms"))
        .unwrap()
        .config(s3seal::EngineConfig {
            allow_insecure_sse_c: true,
            ..s3seal::EngineConfig::default()
        })
        .build()
        .unwrap();
    loopback.put_object(&plain_http, b"x").unwrap();
    // A builder around another KMS has no embedded one to hand out.
    let other = EngineBuilder::new(Arc::new(LocalKms::open_dir(dir.path().join("k2")).unwrap()));
    assert!(other.local_kms().is_none());
}
