//! KMS chaos: at least 10,000 engine operations (PUT in every KMS mode — SSE-S3, SSE-KMS with
//! and without S3 Bucket Keys, DSSE-KMS —, GET, ranged GET, multipart uploads, CopyObject,
//! rewrap) through an engine whose KMS fails 20% of its calls: errors (throttled,
//! unavailable), timeouts (a call that hangs, then fails) and wrong answers (a `GenerateDataKey`
//! blob that does not hold its key, a `Decrypt` plaintext that is not the blob's key, a
//! corrupted `ReEncrypt` blob). Public API only; seeded (`S3SEAL_CHAOS_SEED`, printed).
//!
//! Every operation either succeeds — then a write's object reads back byte-equal through a
//! fault-free engine over the same keys, and its sealed bytes do not contain the plaintext; a
//! read returned exactly the object's bytes — or fails with a KMS error (or, for a read served a
//! wrong key, an integrity error: never wrong bytes), and a failed write stores nothing. At the
//! end every stored object reads back through the fault-free engine. Counts are printed; the
//! integrity failures and the unencrypted or unwrappable objects must be 0.
#![expect(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderMap;
use s3seal::kms::{
    FaultConfig, FaultyKms, KeyRef, Kms, LocalKms, LocalKmsConfig, RootSecret, RootSecretSource,
};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{
    CompletedPart, Engine, EngineBuilder, EngineConfig, EngineError, EnvelopeError, Request,
    StoredObject,
};
use s3seal_keycache::CacheConfig;

const OWNER: &str = "000000000000";
const OPS: u64 = 10_000;
/// Share of KMS calls that get a fault: errors, timeouts and wrong answers.
const ERRORS: f64 = 0.10;
const TIMEOUTS: f64 = 0.04;
const WRONG: f64 = 0.06;

/// SplitMix64 over a counter.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    SseS3,
    SseKms,
    SseKmsBucketKey,
    Dsse,
}

const MODES: [Mode; 4] = [Mode::SseS3, Mode::SseKms, Mode::SseKmsBucketKey, Mode::Dsse];

fn headers(mode: Mode, key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let sse = match mode {
        Mode::SseS3 => "AES256",
        Mode::SseKms | Mode::SseKmsBucketKey => "aws:kms",
        Mode::Dsse => "aws:kms:dsse",
    };
    h.insert("x-amz-server-side-encryption", sse.parse().unwrap());
    if mode != Mode::SseS3 {
        h.insert(
            "x-amz-server-side-encryption-aws-kms-key-id",
            key.parse().unwrap(),
        );
    }
    if mode == Mode::SseKmsBucketKey {
        h.insert(
            "x-amz-server-side-encryption-bucket-key-enabled",
            "true".parse().unwrap(),
        );
    }
    h
}

/// One stored object, as a backend keeps it.
struct Stored {
    envelope: Vec<u8>,
    sealed: Vec<u8>,
    plaintext: Vec<u8>,
    mode: Mode,
}

#[derive(Default, Debug)]
struct Counts {
    ops: u64,
    by_kind: BTreeMap<&'static str, (u64, u64)>,
    failed_kms: u64,
    /// Those by KMS error.
    kms_errors: BTreeMap<String, u64>,
    /// Reads that refused a wrong key (a `Decrypt` that answered another key).
    failed_integrity_detected: u64,
    integrity_failures: u64,
    unencrypted: u64,
    unwrappable: u64,
}

impl Counts {
    fn op(&mut self, kind: &'static str, ok: bool) {
        self.ops += 1;
        let e = self.by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += u64::from(!ok);
    }
}

struct World {
    bucket: BucketPolicy,
    faulty: Engine,
    clean: Engine,
    kms: Arc<FaultyKms>,
    objects: BTreeMap<String, Stored>,
    n: Counts,
    rng: Rng,
}

fn req<'a>(bucket: &'a BucketPolicy, key: &'a str, headers: &'a HeaderMap) -> Request<'a> {
    Request {
        bucket,
        key,
        headers,
        secure_transport: true,
    }
}

/// Whether `sealed` holds a 16-byte window of `plaintext` (sampled at several offsets).
fn holds_plaintext(sealed: &[u8], plaintext: &[u8]) -> bool {
    if plaintext.len() < 16 {
        return false;
    }
    let step = (plaintext.len() / 8).max(1);
    (0..plaintext.len() - 15).step_by(step).any(|at| {
        let w = &plaintext[at..at + 16];
        sealed.windows(16).any(|s| s == w)
    })
}

impl World {
    /// A failed operation: a KMS error (or a read's refusal of a wrong key) is what 20% KMS
    /// faults may cause; anything else fails the test.
    fn failed(&mut self, what: &str, e: &EngineError, read: bool) {
        match e {
            EngineError::Kms(k) => {
                self.n.failed_kms += 1;
                let name = format!("{k:?}");
                let name = name.split('(').next().unwrap_or_default().to_owned();
                *self.n.kms_errors.entry(name).or_default() += 1;
            }
            // A wrong data key fails the envelope's MAC (or a chunk's tag): never wrong bytes.
            EngineError::Integrity | EngineError::Envelope(EnvelopeError::MacMismatch) if read => {
                self.n.failed_integrity_detected += 1;
            }
            e => panic!("{what}: not a KMS error: {e:?} ({})", e.s3().code),
        }
    }

    /// A write succeeded: check it through the fault-free engine, then keep it.
    fn committed(&mut self, what: &str, key: &str, stored: Stored) {
        if holds_plaintext(&stored.sealed, &stored.plaintext) {
            self.n.unencrypted += 1;
        }
        let none = HeaderMap::new();
        match self.clean.get_object(
            &req(&self.bucket, key, &none),
            &stored.envelope,
            &stored.sealed,
            None,
        ) {
            Ok(o) if o.body[..] == stored.plaintext[..] => {}
            Ok(_) => {
                eprintln!("{what} {key} ({:?}): reads back other bytes", stored.mode);
                self.n.integrity_failures += 1;
            }
            Err(EngineError::Kms(e)) => {
                eprintln!("{what} {key} ({:?}): unwrappable: {e:?}", stored.mode);
                self.n.unwrappable += 1;
            }
            Err(e) => {
                eprintln!(
                    "{what} {key} ({:?}): does not read back: {e:?}",
                    stored.mode
                );
                self.n.integrity_failures += 1;
            }
        }
        self.objects.insert(key.to_owned(), stored);
    }

    fn pick_object(&mut self) -> Option<String> {
        if self.objects.is_empty() {
            return None;
        }
        let i = self.rng.below(self.objects.len() as u64) as usize;
        self.objects.keys().nth(i).cloned()
    }

    fn body(&mut self) -> Vec<u8> {
        // Mostly small; sometimes several 64 KiB chunks; sometimes empty.
        let len = match self.rng.below(20) {
            0 => 0,
            1 => 150_000 + self.rng.below(20_000) as usize,
            _ => 1 + self.rng.below(4096) as usize,
        };
        self.rng.bytes(len)
    }

    fn put(&mut self, key: &str, mode: Mode, kms_key: &str) {
        let body = self.body();
        let h = headers(mode, kms_key);
        let r = self.faulty.put_object(&req(&self.bucket, key, &h), &body);
        self.n.op("put", r.is_ok());
        match r {
            Ok(w) => self.committed(
                "put",
                key,
                Stored {
                    envelope: w.envelope_bytes,
                    sealed: w.sealed.to_vec(),
                    plaintext: body,
                    mode,
                },
            ),
            Err(e) => self.failed("put", &e, false),
        }
    }

    fn get(&mut self, key: &str, ranged: bool) {
        let none = HeaderMap::new();
        let len = self.objects[key].plaintext.len() as u64;
        let range = (ranged && len > 0).then(|| {
            let a = self.rng.below(len);
            a..a + 1 + self.rng.below(len - a)
        });
        let o = &self.objects[key];
        let r = self.faulty.get_object(
            &req(&self.bucket, key, &none),
            &o.envelope,
            &o.sealed,
            range.clone(),
        );
        self.n
            .op(if ranged { "ranged get" } else { "get" }, r.is_ok());
        match r {
            Ok(got) => {
                let want = match &range {
                    Some(r) => &o.plaintext[r.start as usize..r.end as usize],
                    None => &o.plaintext[..],
                };
                if got.body[..] != want[..] {
                    self.n.integrity_failures += 1;
                }
            }
            Err(e) => self.failed("get", &e, true),
        }
    }

    fn copy(&mut self, src: &str, dst: &str, mode: Mode, kms_key: &str) {
        let h = headers(mode, kms_key);
        let o = &self.objects[src];
        let plaintext = o.plaintext.clone();
        let r = self.faulty.copy_object(
            &req(&self.bucket, dst, &h),
            &StoredObject {
                bucket: &self.bucket,
                key: src,
                envelope: &o.envelope,
                sealed: &o.sealed,
            },
        );
        self.n.op("copy", r.is_ok());
        match r {
            Ok(w) => self.committed(
                "copy",
                dst,
                Stored {
                    envelope: w.envelope_bytes,
                    sealed: w.sealed.to_vec(),
                    plaintext,
                    mode,
                },
            ),
            // Reading the source may meet a wrong key.
            Err(e) => self.failed("copy", &e, true),
        }
    }

    /// A multipart upload of 2–4 parts; a failed call ends it (nothing is stored).
    fn multipart(&mut self, key: &str, mode: Mode, kms_key: &str) {
        let h = headers(mode, kms_key);
        let none = HeaderMap::new();
        let r = self
            .faulty
            .create_multipart_upload(&req(&self.bucket, key, &h));
        self.n.op("multipart create", r.is_ok());
        let mut state = match r {
            Ok(u) => u.state,
            Err(e) => return self.failed("create upload", &e, false),
        };
        let parts = 2 + self.rng.below(3) as u32;
        let (mut plaintext, mut sealed, mut list) = (Vec::new(), Vec::new(), Vec::new());
        for n in 1..=parts {
            let len = if n == parts {
                1 + self.rng.below(3000) as usize
            } else {
                2048 + self.rng.below(2048) as usize
            };
            let body = self.rng.bytes(len);
            let r = self
                .faulty
                .upload_part(&req(&self.bucket, key, &none), &state, n, &body);
            self.n.op("multipart part", r.is_ok());
            match r {
                Ok(p) => {
                    state = p.state;
                    sealed.extend_from_slice(&p.sealed);
                    list.push(CompletedPart {
                        part_number: n,
                        etag: p.etag,
                    });
                    plaintext.extend_from_slice(&body);
                }
                // Each part call opens the upload's state under its key: may meet a wrong one.
                Err(e) => return self.failed("upload part", &e, true),
            }
        }
        let r =
            self.faulty
                .complete_multipart_upload(&req(&self.bucket, key, &none), &state, &list);
        self.n.op("multipart complete", r.is_ok());
        match r {
            Ok(c) => self.committed(
                "multipart",
                key,
                Stored {
                    envelope: c.envelope_bytes,
                    sealed,
                    plaintext,
                    mode,
                },
            ),
            Err(e) => self.failed("complete upload", &e, true),
        }
    }

    /// Rewrap of an SSE-KMS (no bucket key) or DSSE object to `kms_key`.
    fn rewrap(&mut self, key: &str, kms_key: &str) {
        let o = &self.objects[key];
        let mode = o.mode;
        let h = headers(mode, kms_key);
        let r = self.faulty.rewrap(&req(&self.bucket, key, &h), &o.envelope);
        self.n.op("rewrap", r.is_ok());
        match r {
            Ok(c) => {
                let o = self.objects.remove(key).unwrap();
                self.committed(
                    "rewrap",
                    key,
                    Stored {
                        envelope: c.envelope_bytes,
                        ..o
                    },
                );
            }
            // Opening the current envelope may meet a wrong key.
            Err(e) => self.failed("rewrap", &e, true),
        }
    }
}

#[test]
fn ten_thousand_operations_at_20_percent_kms_faults() {
    let seed = std::env::var("S3SEAL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_secs() << 32 ^ u64::from(d.subsec_nanos()))
        });
    eprintln!("kms chaos: seed {seed} (rerun with S3SEAL_CHAOS_SEED={seed})");
    // Scales the fault rates (1 = 20%; 0 = none, for telling a fault's effect from a bug).
    let scale: f64 = std::env::var("S3SEAL_CHAOS_FAULT_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let dir = tempfile::tempdir().unwrap();
    let local = Arc::new(
        LocalKms::open(
            LocalKmsConfig::new(dir.path()).root_secret(RootSecretSource::Secret(
                RootSecret::parse(&"5a".repeat(32)).unwrap(),
            )),
        )
        .unwrap(),
    );
    for (alias, _) in [("chaos-a", 0), ("chaos-b", 1)] {
        let m = local.create_key(alias).unwrap();
        local
            .create_alias(
                &format!("alias/{alias}"),
                &KeyRef::parse(&m.key_id).unwrap(),
            )
            .unwrap();
    }
    let kms = Arc::new(FaultyKms::new(
        local.clone() as Arc<dyn Kms>,
        FaultConfig {
            error_rate: ERRORS * scale,
            timeout_rate: TIMEOUTS * scale,
            timeout: Duration::from_millis(2),
            wrong_rate: WRONG * scale,
            seed,
            ..FaultConfig::default()
        },
    ));
    let config = EngineConfig {
        min_part_size: 2048,
        ..EngineConfig::default()
    };
    // Small cache limits, so cached keys turn over and most operations reach the KMS.
    let cache = CacheConfig {
        max_messages: 4,
        capacity: 64,
        decrypt_max_age: Duration::from_millis(200),
        negative_ttl: Duration::from_millis(10),
        bucket_key_validity: Duration::from_millis(300),
        ..CacheConfig::default()
    };
    let faulty = EngineBuilder::new(kms.clone() as Arc<dyn Kms>)
        .threads(2)
        .cache(cache)
        .config(config.clone())
        .build()
        .unwrap();
    let clean = EngineBuilder::from_local(local.clone())
        .threads(2)
        .config(config)
        .build()
        .unwrap();
    let mut w = World {
        bucket: BucketPolicy::new("chaos", BucketKind::GeneralPurpose, OWNER, "us-east-1"),
        faulty,
        clean,
        kms: kms.clone(),
        objects: BTreeMap::new(),
        n: Counts::default(),
        rng: Rng(seed),
    };
    let started = Instant::now();
    while w.n.ops < OPS {
        let key = format!("k{}", w.rng.below(300));
        let mode = MODES[w.rng.below(4) as usize];
        let kms_key = if w.rng.below(2) == 0 {
            "alias/chaos-a"
        } else {
            "alias/chaos-b"
        };
        let existing = w.pick_object();
        match (w.rng.below(100), existing) {
            (0..35, _) | (_, None) => w.put(&key, mode, kms_key),
            (35..60, Some(k)) => w.get(&k, false),
            (60..75, Some(k)) => w.get(&k, true),
            (75..83, _) => w.multipart(&key, mode, kms_key),
            (83..93, Some(k)) => w.copy(&k, &key, mode, kms_key),
            (_, Some(k)) => {
                let m = w.objects[&k].mode;
                if matches!(m, Mode::SseKms | Mode::Dsse) {
                    w.rewrap(&k, kms_key);
                } else {
                    w.get(&k, true);
                }
            }
        }
    }
    // Every object stored reads back through the fault-free engine.
    let none = HeaderMap::new();
    let mut final_bad = 0;
    for (key, o) in &w.objects {
        let r = w
            .clean
            .get_object(&req(&w.bucket, key, &none), &o.envelope, &o.sealed, None);
        if !r.is_ok_and(|g| g.body[..] == o.plaintext[..]) {
            final_bad += 1;
        }
    }
    let took = started.elapsed();
    let s = w.kms.stats();
    let calls = s.generate + s.decrypt + s.re_encrypt + s.describe;
    let faults = s.injected + s.wrong;
    let kinds: Vec<String> =
        w.n.by_kind
            .iter()
            .map(|(k, (n, f))| format!("{k} {n} ({f} failed)"))
            .collect();
    eprintln!(
        "kms chaos: {} operations in {:.1} s: {}\n\
         KMS calls {calls} (GenerateDataKey {}, Decrypt {}, ReEncrypt {}, DescribeKey {}); \
         faults injected {faults} ({:.1}%: {} errors, {} timeouts, {} wrong answers)\n\
         failures surfaced: {} KMS errors {:?}, {} reads refused a wrong key; integrity failures {}; \
         unencrypted {}; unwrappable {}; objects stored {} ({final_bad} unreadable at the end)",
        w.n.ops,
        took.as_secs_f64(),
        kinds.join(", "),
        s.generate,
        s.decrypt,
        s.re_encrypt,
        s.describe,
        100.0 * faults as f64 / calls.max(1) as f64,
        s.injected - s.timeouts,
        s.timeouts,
        s.wrong,
        w.n.failed_kms,
        w.n.kms_errors,
        w.n.failed_integrity_detected,
        w.n.integrity_failures,
        w.n.unencrypted,
        w.n.unwrappable,
        w.objects.len(),
    );
    assert!(w.n.ops >= OPS);
    assert_eq!(w.n.integrity_failures, 0, "integrity failures");
    assert_eq!(w.n.unencrypted, 0, "objects stored unencrypted");
    assert_eq!(w.n.unwrappable, 0, "objects under an unwrappable key");
    assert_eq!(final_bad, 0, "objects unreadable at the end");
    // The faults were there and were felt.
    assert!(s.wrong > 0 && s.timeouts > 0 && s.injected > s.timeouts);
    assert!(w.n.failed_kms > 0);
}
