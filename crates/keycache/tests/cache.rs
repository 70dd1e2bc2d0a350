//! KeyCache behaviour against a real LocalKms behind a counting / faulty wrapper.
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use s3seal_keycache::{CacheConfig, CacheError, DataKeyRequest, KeyCache, SseKind};
use s3seal_kms::{
    EncryptionContext, FaultConfig, FaultyKms, KeyRef, Kms, KmsError, LocalKms, LocalKmsConfig,
    Requester, RootSecret, RootSecretSource,
};

struct Fixture {
    _dir: tempfile::TempDir,
    local: Arc<LocalKms>,
    key: KeyRef,
    arn: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let local = Arc::new(
        LocalKms::open(
            LocalKmsConfig::new(dir.path())
                .account("111122223333")
                .root_secret(RootSecretSource::Secret(
                    RootSecret::parse(&"3c".repeat(32)).unwrap(),
                )),
        )
        .unwrap(),
    );
    let arn = local.create_key("cache test").unwrap().arn;
    Fixture {
        _dir: dir,
        local,
        key: KeyRef::parse(&arn).unwrap(),
        arn,
    }
}

fn counted(f: &Fixture, cfg: FaultConfig) -> Arc<FaultyKms> {
    Arc::new(FaultyKms::new(f.local.clone(), cfg))
}

fn req(f: &Fixture, ctx: EncryptionContext) -> DataKeyRequest {
    DataKeyRequest::new(f.key.clone(), f.local.requester(), ctx)
}

fn obj(i: usize) -> EncryptionContext {
    EncryptionContext::for_object("bkt", &format!("o{i}"))
}

#[test]
fn message_byte_and_age_limits_are_enforced() {
    let f = fixture();
    let kms = counted(&f, FaultConfig::default());
    let cfg = CacheConfig {
        max_messages: 3,
        max_bytes: 100,
        max_age: Duration::from_millis(150),
        refresh_ahead: Duration::ZERO,
        ..CacheConfig::default()
    };
    let cache = KeyCache::new(kms.clone(), cfg);
    let r = req(&f, obj(1));
    // Messages: 3 per key.
    let blobs: Vec<Vec<u8>> = (0..6)
        .map(|_| cache.data_key(&r, 1).unwrap().ciphertext_blob().to_vec())
        .collect();
    assert_eq!(kms.stats().generate, 2);
    assert_eq!(blobs[0], blobs[2]);
    assert_ne!(blobs[2], blobs[3]);
    assert_eq!(blobs[3], blobs[5]);
    // Bytes: 100 per key; 40 + 40 fit, the third 40 needs a new key.
    let r = req(&f, obj(2));
    let a = cache.data_key(&r, 40).unwrap();
    let b = cache.data_key(&r, 40).unwrap();
    let c = cache.data_key(&r, 40).unwrap();
    assert_eq!(a.ciphertext_blob(), b.ciphertext_blob());
    assert_ne!(b.ciphertext_blob(), c.ciphertext_blob());
    // A message larger than max_bytes bypasses the cache entirely.
    let before = kms.stats().generate;
    let big1 = cache.data_key(&r, 101).unwrap();
    let big2 = cache.data_key(&r, 101).unwrap();
    assert_ne!(big1.ciphertext_blob(), big2.ciphertext_blob());
    assert_eq!(kms.stats().generate, before + 2);
    assert_eq!(cache.stats().bypassed, 2);
    // Age.
    let r = req(&f, obj(3));
    let a = cache.data_key(&r, 1).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let b = cache.data_key(&r, 1).unwrap();
    assert_ne!(a.ciphertext_blob(), b.ciphertext_blob());
    assert!(cache.stats().expirations >= 3);
}

#[test]
fn entries_are_never_served_for_another_context_key_or_partition() {
    let f = fixture();
    let other = KeyRef::parse(&f.local.create_key("other").unwrap().arn).unwrap();
    let cache = KeyCache::new(f.local.clone(), CacheConfig::default());
    let c1 = obj(1);
    let c2 = obj(2);
    let m1 = cache.data_key(&req(&f, c1.clone()), 1).unwrap();
    let m2 = cache.data_key(&req(&f, c2.clone()), 1).unwrap();
    let m3 = cache
        .data_key(
            &DataKeyRequest::new(other.clone(), f.local.requester(), c1.clone()),
            1,
        )
        .unwrap();
    let m4 = cache
        .data_key(&req(&f, c1.clone()).with_partition("tenant-b"), 1)
        .unwrap();
    let keys: HashSet<[u8; 32]> = [&m1, &m2, &m3, &m4]
        .iter()
        .map(|m| *m.data_key.as_bytes())
        .collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(m1.key_arn(), f.arn);
    assert_ne!(m3.key_arn(), f.arn);
    // Each blob opens only under its own context, and yields the key that was served.
    for (m, c) in [(&m1, &c1), (&m2, &c2), (&m3, &c1), (&m4, &c1)] {
        let d = f
            .local
            .decrypt(m.ciphertext_blob(), c, Some(m.key_arn()))
            .unwrap();
        assert_eq!(d.plaintext.as_bytes(), m.data_key.as_bytes());
    }
    assert!(f.local.decrypt(m1.ciphertext_blob(), &c2, None).is_err());
    // Another requester account is another entry too.
    let r2 = DataKeyRequest::new(
        f.key.clone(),
        Requester::new("999999999999").unwrap(),
        c1.clone(),
    );
    let m5 = cache.data_key(&r2, 1).unwrap();
    assert_ne!(m5.data_key.as_bytes(), m1.data_key.as_bytes());
    // Owner rule enforced through the cache.
    let strict = DataKeyRequest::new(
        f.key.clone(),
        f.local
            .requester()
            .require_bucket_owner_key("999999999999")
            .unwrap(),
        c1,
    );
    assert!(matches!(
        cache.data_key(&strict, 1),
        Err(CacheError::Kms(KmsError::AccessDenied(_)))
    ));
}

#[test]
fn single_flight_8_threads_by_10000_requests_make_one_kms_call() {
    let f = fixture();
    let kms = counted(
        &f,
        FaultConfig {
            latency: Duration::from_millis(30),
            ..FaultConfig::default()
        },
    );
    let cache = Arc::new(KeyCache::new(kms.clone(), CacheConfig::default()));
    let r = Arc::new(req(&f, obj(1)));
    let blobs: Vec<Vec<u8>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (cache, r) = (cache.clone(), r.clone());
                s.spawn(move || {
                    let mut first = None;
                    for _ in 0..10_000 {
                        let m = cache.data_key(&r, 1024).unwrap();
                        let b = m.ciphertext_blob().to_vec();
                        assert_eq!(first.get_or_insert_with(|| b.clone()), &b);
                    }
                    first.unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(blobs.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(kms.stats().generate, 1);
    let st = cache.stats();
    assert_eq!(st.kms_generate_calls, 1);
    assert_eq!(st.hits, 80_000, "{st:?}");
    assert_eq!(st.misses - st.coalesced, 1, "{st:?}");

    // Decrypt side: 8 concurrent misses, one Decrypt.
    let blob = blobs[0].clone();
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (cache, blob, ctx) = (cache.clone(), blob.clone(), obj(1));
            s.spawn(move || {
                for _ in 0..1000 {
                    cache.decrypt_data_key(&blob, &ctx, None).unwrap();
                }
            });
        }
    });
    assert_eq!(kms.stats().decrypt, 1);
}

#[test]
fn at_20_percent_kms_errors_no_wrong_key_is_ever_served() {
    let f = fixture();
    let kms = counted(
        &f,
        FaultConfig {
            error_rate: 0.2,
            seed: 42,
            ..FaultConfig::default()
        },
    );
    let cache = Arc::new(KeyCache::new(
        kms.clone(),
        CacheConfig {
            max_messages: 3,
            ..CacheConfig::default()
        },
    ));
    let (ok, err) = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let (cache, local) = (cache.clone(), f.local.clone());
                let key = f.key.clone();
                s.spawn(move || {
                    let (mut ok, mut err) = (0, 0);
                    for i in 0..600 {
                        let ctx = obj((i + t) % 7);
                        let r = DataKeyRequest::new(key.clone(), local.requester(), ctx.clone());
                        match cache.data_key(&r, 10) {
                            Ok(m) => {
                                ok += 1;
                                // Check against the KMS directly: the key served is the one in
                                // the blob, under this very context.
                                let d = local.decrypt(m.ciphertext_blob(), &ctx, None).unwrap();
                                assert_eq!(d.plaintext.as_bytes(), m.data_key.as_bytes());
                                match cache.decrypt_data_key(
                                    m.ciphertext_blob(),
                                    &ctx,
                                    Some(m.key_arn()),
                                ) {
                                    Ok(d) => {
                                        assert_eq!(d.plaintext.as_bytes(), m.data_key.as_bytes())
                                    }
                                    Err(e) => assert!(e.is_retryable(), "{e}"),
                                }
                            }
                            Err(e) => {
                                assert!(e.is_retryable(), "{e}");
                                err += 1;
                            }
                        }
                    }
                    (ok, err)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    assert!(err > 0 && ok > err, "ok {ok} err {err}");
    let st = cache.stats();
    assert!(st.kms_errors > 0);
    assert!(kms.stats().injected > 0);
}

#[test]
fn key_state_errors_are_cached_briefly_and_transient_ones_never() {
    let f = fixture();
    let kms = counted(
        &f,
        FaultConfig {
            outage: Some(0..2),
            ..FaultConfig::default()
        },
    );
    let cache = KeyCache::new(
        kms.clone(),
        CacheConfig {
            negative_ttl: Duration::from_millis(100),
            ..CacheConfig::default()
        },
    );
    let r = req(&f, obj(1));
    // Outage: two calls, two KMS attempts (nothing cached), then success.
    assert_eq!(
        cache.data_key(&r, 1).unwrap_err(),
        CacheError::Kms(KmsError::Unavailable)
    );
    assert_eq!(
        cache.data_key(&r, 1).unwrap_err(),
        CacheError::Kms(KmsError::Unavailable)
    );
    cache.data_key(&r, 1).unwrap();
    assert_eq!(kms.stats().generate, 3);
    // Disabled key: refused, and the refusal is remembered for negative_ttl.
    f.local.disable_key(&f.key).unwrap();
    let r2 = req(&f, obj(2));
    for _ in 0..5 {
        assert!(matches!(
            cache.data_key(&r2, 1),
            Err(CacheError::Kms(KmsError::Disabled(_)))
        ));
    }
    assert_eq!(kms.stats().generate, 4);
    assert_eq!(cache.stats().negative_hits, 4);
    f.local.enable_key(&f.key).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    cache.data_key(&r2, 1).unwrap();
    // Unknown key: NotFound, remembered too.
    let missing = DataKeyRequest::new(
        KeyRef::parse("alias/missing").unwrap(),
        f.local.requester(),
        obj(1),
    );
    for _ in 0..3 {
        assert!(matches!(
            cache.data_key(&missing, 1),
            Err(CacheError::Kms(KmsError::NotFound(_)))
        ));
    }
    assert_eq!(kms.stats().generate, 6);
}

#[test]
fn entries_are_refreshed_ahead_of_expiry_without_blocking_others() {
    let f = fixture();
    let kms = counted(&f, FaultConfig::default());
    let cache = KeyCache::new(
        kms.clone(),
        CacheConfig {
            max_age: Duration::from_millis(300),
            refresh_ahead: Duration::from_millis(250),
            ..CacheConfig::default()
        },
    );
    let r = req(&f, obj(1));
    let a = cache.data_key(&r, 1).unwrap();
    std::thread::sleep(Duration::from_millis(80));
    // This caller notices the entry is within refresh_ahead and fetches a replacement.
    let b = cache.data_key(&r, 1).unwrap();
    assert_eq!(a.ciphertext_blob(), b.ciphertext_blob());
    assert_eq!(kms.stats().generate, 2);
    assert_eq!(cache.stats().refreshes, 1);
    let c = cache.data_key(&r, 1).unwrap();
    assert_ne!(a.ciphertext_blob(), c.ciphertext_blob());
}

#[test]
fn decrypt_cache_checks_context_expected_key_and_age() {
    let f = fixture();
    let kms = counted(&f, FaultConfig::default());
    let cache = KeyCache::new(
        kms.clone(),
        CacheConfig {
            decrypt_max_age: Duration::from_millis(100),
            ..CacheConfig::default()
        },
    );
    let g = f
        .local
        .generate_data_key(&f.key, &f.local.requester(), &obj(1))
        .unwrap();
    let d = cache
        .decrypt_data_key(&g.ciphertext_blob, &obj(1), Some(&f.arn))
        .unwrap();
    assert_eq!(d.plaintext.as_bytes(), g.plaintext.as_bytes());
    cache
        .decrypt_data_key(&g.ciphertext_blob, &obj(1), None)
        .unwrap();
    assert_eq!(kms.stats().decrypt, 1);
    // An asserted other key fails even on a hit.
    let other = f.local.create_key("o").unwrap().arn;
    assert_eq!(
        cache
            .decrypt_data_key(&g.ciphertext_blob, &obj(1), Some(&other))
            .unwrap_err(),
        CacheError::Kms(KmsError::IncorrectKey)
    );
    // Another context is another entry, and the KMS refuses it.
    assert_eq!(
        cache
            .decrypt_data_key(&g.ciphertext_blob, &obj(2), None)
            .unwrap_err(),
        CacheError::Kms(KmsError::InvalidCiphertext)
    );
    let mut tampered = g.ciphertext_blob.clone();
    tampered[40] ^= 1;
    assert!(cache.decrypt_data_key(&tampered, &obj(1), None).is_err());
    std::thread::sleep(Duration::from_millis(150));
    cache
        .decrypt_data_key(&g.ciphertext_blob, &obj(1), None)
        .unwrap();
    assert_eq!(kms.stats().decrypt, 4);
}

#[test]
fn bucket_keys_cost_one_generate_per_window_and_are_refused_for_dsse() {
    let f = fixture();
    let kms = counted(&f, FaultConfig::default());
    let cache = KeyCache::new(kms.clone(), CacheConfig::default());
    let requester = f.local.requester();
    let mut salts = HashSet::new();
    let mut keys = HashSet::new();
    let mut first = None;
    for _ in 0..10_000 {
        let m = cache
            .bucket_data_key(SseKind::SseKms, &f.key, &requester, "bkt")
            .unwrap();
        assert_eq!(m.key_arn(), f.arn);
        salts.insert(m.salt);
        keys.insert(*m.data_key.as_bytes());
        first.get_or_insert(m);
    }
    assert_eq!(kms.stats().generate, 1);
    assert_eq!(salts.len(), 10_000);
    assert_eq!(keys.len(), 10_000);
    // The bucket key blob is under the bucket ARN context.
    let m = first.unwrap();
    f.local
        .decrypt(
            m.bucket_key_blob(),
            &EncryptionContext::for_bucket("bkt"),
            Some(&f.arn),
        )
        .unwrap();
    let back = cache
        .open_bucket_data_key("bkt", m.bucket_key_blob(), &m.salt, Some(&f.arn))
        .unwrap();
    assert_eq!(back.plaintext.as_bytes(), m.data_key.as_bytes());
    assert!(
        cache
            .open_bucket_data_key("other", m.bucket_key_blob(), &m.salt, None)
            .is_err()
    );
    let wrong_salt = cache
        .open_bucket_data_key("bkt", m.bucket_key_blob(), &[0; 32], None)
        .unwrap();
    assert_ne!(wrong_salt.plaintext.as_bytes(), m.data_key.as_bytes());
    assert_eq!(
        cache
            .bucket_data_key(SseKind::DsseKms, &f.key, &requester, "bkt")
            .unwrap_err(),
        CacheError::BucketKeyWithDsse
    );
    // A bucket key is never served as a plain data key for the same context.
    let plain = cache
        .data_key(
            &DataKeyRequest::new(
                f.key.clone(),
                requester.clone(),
                EncryptionContext::for_bucket("bkt"),
            ),
            1,
        )
        .unwrap();
    assert_ne!(plain.ciphertext_blob(), m.bucket_key_blob());
    // Without bucket keys, every object has its own context: one GenerateDataKey each.
    let before = kms.stats().generate;
    for i in 0..500 {
        cache.data_key(&req(&f, obj(i)), 1).unwrap();
    }
    assert_eq!(kms.stats().generate - before, 500);
}

#[test]
fn a_validity_window_ends_with_a_new_bucket_key() {
    let f = fixture();
    let kms = counted(&f, FaultConfig::default());
    let cache = KeyCache::new(
        kms.clone(),
        CacheConfig {
            bucket_key_validity: Duration::from_millis(100),
            refresh_ahead: Duration::ZERO,
            ..CacheConfig::default()
        },
    );
    let r = f.local.requester();
    let a = cache
        .bucket_data_key(SseKind::SseS3, &f.key, &r, "b")
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let b = cache
        .bucket_data_key(SseKind::SseS3, &f.key, &r, "b")
        .unwrap();
    assert_ne!(a.bucket_key_blob(), b.bucket_key_blob());
    assert_eq!(kms.stats().generate, 2);
}
