//! AES-256-GCM, one thread, in place: our backends next to ring, aws-lc-rs and RustCrypto
//! `aes-gcm` in the same criterion group, so their figures come from the same run.
//!
//! Groups: `aes256gcm-seal` and `aes256gcm-open`; ids `<implementation>/<bytes>`, throughput in
//! bytes. 12-byte nonce, empty AAD. Opening is timed on a fresh copy of the ciphertext each
//! iteration (the copy is criterion's untimed setup). The seal group also has
//! `ctr-bound-vaes-zmm` / `-ymm`: AES-256-CTR alone with `vaesenc` on 512- / 256-bit registers
//! (no GHASH), the ceiling any AES-256-GCM can reach on this core.

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use s3seal_gcm::{Aes256Gcm, BackendKind};

const KEY: [u8; 32] = [0x42; 32];
const NONCE: [u8; 12] = [0x24; 12];
const SIZES: [usize; 4] = [16 << 10, 64 << 10, 1 << 20, 64 << 20];

/// One implementation under test: seal in place returning the tag, open in place.
trait Impl {
    fn name(&self) -> String;
    fn seal(&self, buf: &mut [u8]) -> [u8; 16];
    fn open(&self, buf: &mut [u8], tag: &[u8; 16]) -> bool;
}

struct Ours(Aes256Gcm);

impl Impl for Ours {
    fn name(&self) -> String {
        format!("s3seal-{}", self.0.backend().name())
    }
    fn seal(&self, buf: &mut [u8]) -> [u8; 16] {
        self.0
            .seal_in_place_separate_tag(&NONCE, &[], buf)
            .unwrap_or_default()
    }
    fn open(&self, buf: &mut [u8], tag: &[u8; 16]) -> bool {
        self.0.open_in_place(&NONCE, &[], buf, tag).is_ok()
    }
}

struct Ring(ring::aead::LessSafeKey);

impl Impl for Ring {
    fn name(&self) -> String {
        "ring".into()
    }
    fn seal(&self, buf: &mut [u8]) -> [u8; 16] {
        let nonce = ring::aead::Nonce::assume_unique_for_key(NONCE);
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), buf);
        tag.ok()
            .and_then(|t| t.as_ref().try_into().ok())
            .unwrap_or_default()
    }
    fn open(&self, buf: &mut [u8], tag: &[u8; 16]) -> bool {
        let nonce = ring::aead::Nonce::assume_unique_for_key(NONCE);
        let tag = ring::aead::Tag::from(*tag);
        self.0
            .open_in_place_separate_tag(nonce, ring::aead::Aad::empty(), tag, buf, 0..)
            .is_ok()
    }
}

struct AwsLc(aws_lc_rs::aead::LessSafeKey);

impl Impl for AwsLc {
    fn name(&self) -> String {
        "aws-lc-rs".into()
    }
    fn seal(&self, buf: &mut [u8]) -> [u8; 16] {
        let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(NONCE);
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce, aws_lc_rs::aead::Aad::empty(), buf);
        tag.ok()
            .and_then(|t| t.as_ref().try_into().ok())
            .unwrap_or_default()
    }
    fn open(&self, buf: &mut [u8], tag: &[u8; 16]) -> bool {
        let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(NONCE);
        let aad = aws_lc_rs::aead::Aad::empty();
        self.0
            .open_in_place_separate_tag(nonce, aad, tag, buf)
            .is_ok()
    }
}

struct RustCrypto(aes_gcm::Aes256Gcm);

impl Impl for RustCrypto {
    fn name(&self) -> String {
        "aes-gcm".into()
    }
    fn seal(&self, buf: &mut [u8]) -> [u8; 16] {
        let tag = self
            .0
            .encrypt_inout_detached(&NONCE.into(), &[], buf.into());
        tag.map(Into::into).unwrap_or_default()
    }
    fn open(&self, buf: &mut [u8], tag: &[u8; 16]) -> bool {
        self.0
            .decrypt_inout_detached(&NONCE.into(), &[], buf.into(), tag.into())
            .is_ok()
    }
}

fn impls() -> Vec<Box<dyn Impl>> {
    let mut v: Vec<Box<dyn Impl>> = BackendKind::ALL
        .iter()
        .filter_map(|&k| Aes256Gcm::with_backend(&KEY, k))
        .map(|k| Box::new(Ours(k)) as Box<dyn Impl>)
        .collect();
    if let Ok(k) = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &KEY) {
        v.push(Box::new(Ring(ring::aead::LessSafeKey::new(k))));
    }
    if let Ok(k) = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &KEY) {
        v.push(Box::new(AwsLc(aws_lc_rs::aead::LessSafeKey::new(k))));
    }
    v.push(Box::new(RustCrypto(aes_gcm::Aes256Gcm::new(&KEY.into()))));
    v
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>, size: usize) {
    g.throughput(Throughput::Bytes(size as u64));
    if size >= 1 << 20 {
        g.sample_size(10).warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(if size >= 64 << 20 { 4 } else { 2 }));
    } else {
        g.sample_size(30).warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_millis(1500));
    }
}

fn seal(c: &mut Criterion) {
    let impls = impls();
    let mut g = c.benchmark_group("aes256gcm-seal");
    for size in SIZES {
        configure(&mut g, size);
        let mut buf = vec![0x5a; size];
        for imp in &impls {
            g.bench_function(BenchmarkId::new(imp.name(), size), |b| {
                b.iter(|| black_box(imp.seal(black_box(&mut buf))));
            });
        }
        // Not an AEAD: the VAES kernel's AES-256-CTR with no GHASH, the ceiling for any
        // AES-256-GCM on this core (absent where the CPU has no VAES/AVX-512).
        if let Some(k) = Aes256Gcm::with_backend(&KEY, BackendKind::X86_64Vaes) {
            for (name, ymm) in [("ctr-bound-vaes-zmm", false), ("ctr-bound-vaes-ymm", true)] {
                g.bench_function(BenchmarkId::new(name, size), |b| {
                    b.iter(|| black_box(k.ctr_bound_in_place(&NONCE, black_box(&mut buf), ymm)));
                });
            }
        }
    }
    g.finish();
}

fn open(c: &mut Criterion) {
    let impls = impls();
    let mut g = c.benchmark_group("aes256gcm-open");
    for size in SIZES {
        configure(&mut g, size);
        for imp in &impls {
            let mut ct = vec![0x5a; size];
            let tag = imp.seal(&mut ct);
            assert!(
                imp.open(&mut ct.clone(), &tag),
                "{} does not open its own output",
                imp.name()
            );
            let batch = if size >= 1 << 20 {
                BatchSize::PerIteration
            } else {
                BatchSize::SmallInput
            };
            g.bench_function(BenchmarkId::new(imp.name(), size), |b| {
                b.iter_batched_ref(
                    || ct.clone(),
                    |buf| black_box(imp.open(black_box(buf), &tag)),
                    batch,
                );
            });
        }
    }
    g.finish();
}

criterion_group!(benches, seal, open);
criterion_main!(benches);
