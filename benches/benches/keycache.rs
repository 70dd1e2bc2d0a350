//! The data-key cache: hit latency on one thread (target ≤ 200 ns median), hit throughput on two
//! threads sharing one entry, a decrypt-side hit, and — printed and asserted once — the KMS
//! calls 10,000 PUTs to one bucket cost with and without S3 Bucket Keys.
//!
//! Group `keycache`; the KMS is `LocalKms` in a temporary directory behind a counting
//! `FaultyKms` (no faults).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3seal_keycache::{CacheConfig, DataKeyRequest, KeyCache, SseKind};
use s3seal_kms::{
    EncryptionContext, FaultyKms, KeyRef, LocalKms, LocalKmsConfig, RootSecret, RootSecretSource,
};

struct Setup {
    _dir: tempfile::TempDir,
    local: Arc<LocalKms>,
    key: KeyRef,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let secret = RootSecret::generate().unwrap_or_else(|e| panic!("root secret: {e}"));
    let local = Arc::new(
        LocalKms::open(
            LocalKmsConfig::new(dir.path()).root_secret(RootSecretSource::Secret(secret)),
        )
        .unwrap_or_else(|e| panic!("open LocalKms: {e}")),
    );
    let arn = local
        .create_key("bench")
        .unwrap_or_else(|e| panic!("create key: {e}"))
        .arn;
    let key = KeyRef::parse(&arn).unwrap_or_else(|e| panic!("parse ARN: {e}"));
    Setup {
        _dir: dir,
        local,
        key,
    }
}

fn hits(c: &mut Criterion) {
    let s = setup();
    let cache = Arc::new(KeyCache::new(s.local.clone(), CacheConfig::default()));
    let req = DataKeyRequest::new(
        s.key.clone(),
        s.local.requester(),
        EncryptionContext::for_bucket("bench-bucket"),
    );
    let blob = cache
        .data_key(&req, 0)
        .unwrap_or_else(|e| panic!("warm: {e}"))
        .ciphertext_blob()
        .to_vec();

    let mut g = c.benchmark_group("keycache");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encrypt-hit/1-thread", |b| {
        b.iter(|| black_box(cache.data_key(black_box(&req), 4096)));
    });
    g.throughput(Throughput::Elements(2));
    g.bench_function("encrypt-hit/2-threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|sc| {
                for _ in 0..2 {
                    let (cache, req) = (&cache, &req);
                    sc.spawn(move || {
                        for _ in 0..iters {
                            black_box(cache.data_key(req, 4096)).ok();
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    g.throughput(Throughput::Elements(1));
    let ctx = req.context().clone();
    g.bench_function("decrypt-hit/1-thread", |b| {
        b.iter(|| black_box(cache.decrypt_data_key(black_box(&blob), &ctx, None)));
    });
    g.finish();
}

fn kms_calls_per_10k_puts(c: &mut Criterion) {
    let s = setup();
    let count = |bucket_keys: bool| {
        let kms = Arc::new(FaultyKms::counting(s.local.clone()));
        let cache = KeyCache::new(kms.clone(), CacheConfig::default());
        let requester = s.local.requester();
        for i in 0..10_000 {
            if bucket_keys {
                black_box(cache.bucket_data_key(SseKind::SseKms, &s.key, &requester, "bkt"))
                    .unwrap_or_else(|e| panic!("bucket key: {e}"));
            } else {
                let ctx = EncryptionContext::for_object("bkt", &format!("obj-{i}"));
                let req = DataKeyRequest::new(s.key.clone(), requester.clone(), ctx);
                black_box(cache.data_key(&req, 1 << 20)).unwrap_or_else(|e| panic!("key: {e}"));
            }
        }
        kms.stats().generate
    };
    let with = count(true);
    let without = count(false);
    println!(
        "keycache: GenerateDataKey calls per 10,000 PUTs to one bucket: {without} without bucket keys, {with} with bucket keys"
    );
    assert_eq!(with, 1);
    assert_eq!(without, 10_000);

    let cache = KeyCache::new(s.local.clone(), CacheConfig::default());
    let requester = s.local.requester();
    let mut g = c.benchmark_group("keycache");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bucket-key-derive/1-thread", |b| {
        b.iter(|| black_box(cache.bucket_data_key(SseKind::SseKms, &s.key, &requester, "bkt")));
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = hits, kms_calls_per_10k_puts
}
criterion_main!(benches);
