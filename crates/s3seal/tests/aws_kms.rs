//! The engine over `AwsKms` talking to moto's KMS-API server on loopback (feature `aws`; the
//! server is made and started by `s3seal_kms::testing::moto`): KMS calls per PUT with S3 Bucket
//! Keys, and the server stopped mid-run. The figures of the closing note come from the ignored
//! test `figures_10k_puts` (`cargo test -p s3seal --features aws --test aws_kms -- --ignored
//! --nocapture`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{Engine, EngineBuilder, EngineError, Mode, ObjectEnvelope, Request};
use s3seal_keycache::CacheConfig;
use s3seal_kms::testing::moto::{MOTO_ACCOUNT, MotoServer};
use s3seal_kms::{FaultyKms, Kms};

struct World {
    engine: Engine,
    counted: Arc<FaultyKms>,
    key: String,
    server: MotoServer,
}

fn world(cache: CacheConfig) -> World {
    let server = MotoServer::start(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let kms = Arc::new(server.kms());
    let key = kms.create_key("objects").unwrap().arn;
    // The SSE-S3 root key s3seal looks for (LocalKms makes it on first use; a real KMS needs
    // it created once).
    let root = kms.create_key("s3seal SSE-S3 root").unwrap().arn;
    kms.create_alias("alias/s3seal/sse-s3", &root).unwrap();
    let counted = Arc::new(FaultyKms::counting(kms.clone() as Arc<dyn Kms>));
    let engine = EngineBuilder::new(counted.clone())
        .threads(2)
        .cache(cache)
        .build()
        .unwrap();
    World {
        engine,
        counted,
        key,
        server,
    }
}

fn bucket(name: &str) -> BucketPolicy {
    BucketPolicy::new(name, BucketKind::GeneralPurpose, MOTO_ACCOUNT, "us-east-1")
}

fn kms_headers(key: &str, bucket_key: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "x-amz-server-side-encryption",
        HeaderValue::from_static("aws:kms"),
    );
    h.insert(
        "x-amz-server-side-encryption-aws-kms-key-id",
        HeaderValue::from_str(key).unwrap(),
    );
    if bucket_key {
        h.insert(
            "x-amz-server-side-encryption-bucket-key-enabled",
            HeaderValue::from_static("true"),
        );
    }
    h
}

fn req<'a>(b: &'a BucketPolicy, key: &'a str, h: &'a HeaderMap) -> Request<'a> {
    Request {
        bucket: b,
        key,
        headers: h,
        secure_transport: true,
    }
}

fn body(i: usize) -> Vec<u8> {
    format!("object {i:06} plaintext; ").into_bytes().repeat(16)
}

#[derive(Debug)]
struct Stored {
    key: String,
    plaintext: Vec<u8>,
    envelope: Vec<u8>,
    sealed: Vec<u8>,
}

fn put(
    w: &World,
    b: &BucketPolicy,
    key: &str,
    h: &HeaderMap,
    i: usize,
) -> Result<Stored, EngineError> {
    let plaintext = body(i);
    let out = w.engine.put_object(&req(b, key, h), &plaintext)?;
    Ok(Stored {
        key: key.to_owned(),
        plaintext,
        envelope: out.envelope_bytes,
        sealed: out.sealed.to_vec(),
    })
}

fn get(w: &World, b: &BucketPolicy, s: &Stored) -> Result<Vec<u8>, EngineError> {
    let none = HeaderMap::new();
    w.engine
        .get_object(&req(b, &s.key, &none), &s.envelope, &s.sealed, None)
        .map(|o| o.body.to_vec())
}

/// Encrypted under the expected key, never in the clear.
fn assert_sealed(s: &Stored, key_arn: &str) {
    let env = ObjectEnvelope::from_bytes(&s.envelope).unwrap();
    assert_eq!(env.mode, Mode::SseKms);
    assert_eq!(env.key_arn, key_arn);
    let probe = &s.plaintext[..24];
    assert!(
        !s.sealed.windows(probe.len()).any(|w| w == probe),
        "plaintext in the sealed bytes of {}",
        s.key
    );
}

#[test]
fn ten_thousand_puts_with_bucket_keys_cost_one_generate_data_key() {
    let w = world(CacheConfig::default());
    let b = bucket("photos");
    let h = kms_headers(&w.key, true);
    let mut kept = Vec::new();
    for i in 0..10_000 {
        let s = put(&w, &b, &format!("k{i}"), &h, i).unwrap();
        if i % 2500 == 0 || i == 9_999 {
            kept.push(s);
        }
    }
    let stats = w.counted.stats();
    assert_eq!(stats.generate, 1, "{stats:?}");
    assert_eq!(w.engine.key_cache().stats().kms_generate_calls, 1);
    for s in &kept {
        assert_sealed(s, &w.key);
        assert_eq!(get(&w, &b, s).unwrap(), s.plaintext);
    }
    // With the cache emptied, the objects still open through moto: the bucket key is
    // unwrapped by a real Decrypt.
    w.engine.key_cache().clear();
    for s in &kept {
        assert_eq!(get(&w, &b, s).unwrap(), s.plaintext);
    }
    assert!(w.counted.stats().decrypt >= 1);
}

fn unavailable(e: &EngineError) {
    let s3 = e.s3();
    assert_eq!(
        (s3.code, s3.status),
        ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE),
        "{e:?}"
    );
}

/// moto stopped (SIGSTOP) mid-run: PUTs are served from the cache only within its limits (4
/// objects per data key here), then fail with 503; every object written is sealed under the
/// expected key and opens once the server is back; GETs are served by the decrypt cache only
/// while it holds the key.
#[test]
fn server_stopped_mid_run() {
    let cache = CacheConfig {
        max_messages: 4,
        ..CacheConfig::default()
    };
    let w = world(cache);
    let b = bucket("b");
    let h = kms_headers(&w.key, false);
    let mut written = Vec::new();
    for i in 0..3 {
        // One object key: one encryption context, so one cached data key serves them.
        written.push(put(&w, &b, "same", &h, i).unwrap());
    }
    assert_eq!(w.counted.stats().generate, 1);
    // A GET puts the object's data key in the decrypt cache.
    assert_eq!(get(&w, &b, &written[0]).unwrap(), written[0].plaintext);
    assert_eq!(w.counted.stats().decrypt, 1);
    w.server.signal("STOP");
    let mut failed = 0;
    for i in 3..7 {
        match put(&w, &b, "same", &h, i) {
            Ok(s) => written.push(s),
            Err(e) => {
                unavailable(&e);
                failed += 1;
            }
        }
    }
    // The fourth message of the data key is within the limit; none after it.
    assert_eq!(written.len(), 4);
    assert_eq!(failed, 3);
    // Bucket keys need a GenerateDataKey for a new bucket: refused, never written in clear.
    let e = put(&w, &bucket("other"), "k", &kms_headers(&w.key, true), 0).unwrap_err();
    unavailable(&e);
    // A GET is served from the decrypt cache while it holds the key (no KMS call)...
    assert_eq!(get(&w, &b, &written[0]).unwrap(), written[0].plaintext);
    assert_eq!(w.counted.stats().decrypt, 1);
    // ...and not once it is emptied.
    w.engine.key_cache().clear();
    unavailable(&get(&w, &b, &written[0]).unwrap_err());
    w.server.signal("CONT");
    for s in &written {
        assert_sealed(s, &w.key);
        assert_eq!(get(&w, &b, s).unwrap(), s.plaintext);
    }
    // Back to normal.
    written.push(put(&w, &b, "after", &h, 99).unwrap());
    assert_eq!(get(&w, &b, &written[4]).unwrap(), written[4].plaintext);
}

/// KMS calls and wall time of 10,000 PUTs through the engine against moto: no cache, the
/// cache (distinct object keys, then one object key), and Bucket Keys.
#[test]
#[ignore = "figures for the closing note: about a minute against moto"]
fn figures_10k_puts() {
    const N: usize = 10_000;
    let no_cache = CacheConfig {
        max_bytes: 0,
        ..CacheConfig::default()
    };
    let cases: [(&str, CacheConfig, bool, bool); 4] = [
        ("no cache, SSE-KMS", no_cache, false, false),
        (
            "cache, SSE-KMS, distinct keys",
            CacheConfig::default(),
            false,
            false,
        ),
        (
            "cache, SSE-KMS, one key",
            CacheConfig::default(),
            false,
            true,
        ),
        (
            "Bucket Keys, distinct keys",
            CacheConfig::default(),
            true,
            false,
        ),
    ];
    for (name, cache, bucket_key, same) in cases {
        let w = world(cache);
        let b = bucket("fig");
        let h = kms_headers(&w.key, bucket_key);
        let start = Instant::now();
        for i in 0..N {
            let key = if same {
                "same".to_owned()
            } else {
                format!("k{i}")
            };
            put(&w, &b, &key, &h, i).unwrap();
        }
        let took = start.elapsed();
        let s = w.counted.stats();
        println!(
            "{name}: {N} PUTs, GenerateDataKey {}, Decrypt {}, DescribeKey {}, wall {:.2} s \
             ({:.0} PUT/s)",
            s.generate,
            s.decrypt,
            s.describe,
            took.as_secs_f64(),
            N as f64
                / took
                    .as_secs_f64()
                    .max(Duration::from_micros(1).as_secs_f64())
        );
    }
}
