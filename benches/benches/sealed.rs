//! The sealed-stream format (s3seal-gcm) against raw AES-256-GCM peers on the same bytes:
//! seal and open of one part at 16 KiB … 256 MiB, on 1 and 2 threads.
//!
//! Groups `sealed-seal/<threads>t` and `sealed-open/<threads>t`; ids `<implementation>/<bytes>`.
//! Ours: `seal_part_once_into` / `open_into` (64 KiB chunks, buffers reused across iterations, no
//! allocation timed). Peers: ring, aws-lc-rs and RustCrypto aes-gcm over the same bytes in
//! 64 KiB messages (what a user would build from them: the same chunking, each message its own
//! nonce), in place, on the same rayon pool — so the 2-thread rows compare like with like. Every
//! row runs inside the pool with one `install` per criterion sample (`on_pool`), so the hand-off
//! to the pool's threads is not paid per iteration. On one
//! thread the peers also run as a single message over the whole buffer (`…-whole`). Seal also
//! has `…-64k-to` rows: each chunk copied into a separate output and sealed there, the in → out
//! work ours does (ring and aws-lc-rs seal in place only), and `raw-<backend>-64k`: our AEAD over
//! the same chunks in → out without the format.

#![allow(
    clippy::cast_possible_truncation,
    reason = "benchmark sizes are at most 256 MiB on a 64-bit host"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{Bencher, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use s3seal_gcm::{
    Aes256Gcm, BackendKind, ChunkSize, DataKey, PartNumber, PartOpener, PartSealer, open_into,
    seal_part_once_into,
};

const SIZES: [usize; 5] = [16 << 10, 64 << 10, 1 << 20, 64 << 20, 256 << 20];
const CHUNK: usize = 64 << 10;
const KEY: [u8; 32] = [0x42; 32];
const CTX: &[u8] = b"arn:aws:s3:::bench/object";

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap_or_else(|e| panic!("pool: {e}"))
}

/// Times `f` inside `p`: one `install` per criterion sample, the iterations back to back on
/// the pool's thread, so the hand-off to the pool (tens of µs here) is not in every iteration.
fn on_pool<R>(p: &rayon::ThreadPool, b: &mut Bencher<'_>, mut f: impl FnMut() -> R + Send) {
    b.iter_custom(|iters| {
        p.install(|| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            start.elapsed()
        })
    });
}

/// As [`on_pool`], with `f` working on a fresh copy of `input` each iteration (copy untimed).
fn on_pool_fresh(
    p: &rayon::ThreadPool,
    b: &mut Bencher<'_>,
    input: &[u8],
    mut f: impl FnMut(&mut [u8]) + Send,
) {
    let mut work = input.to_vec();
    b.iter_custom(|iters| {
        p.install(|| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                work.copy_from_slice(input);
                let start = Instant::now();
                f(&mut work);
                total += start.elapsed();
            }
            total
        })
    });
}

fn nonce(i: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..12].copy_from_slice(&(i as u64).to_be_bytes());
    n
}

/// A peer sealing 64 KiB messages of `buf` in place, in parallel on the current pool.
fn chunked<R>(buf: &mut [u8], seal: impl Fn(usize, &mut [u8]) -> R + Sync) {
    buf.par_chunks_mut(CHUNK).enumerate().for_each(|(i, c)| {
        black_box(seal(i, c));
    });
}

/// A peer sealing (or opening) 64 KiB messages into `out`: each chunk of `input` copied there,
/// then processed in place, in parallel on the current pool.
fn copied<R>(input: &[u8], out: &mut [u8], seal: impl Fn(usize, &mut [u8]) -> R + Sync) {
    out.par_chunks_mut(CHUNK)
        .zip(input.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(i, (o, c))| {
            o.copy_from_slice(c);
            black_box(seal(i, o));
        });
}

fn ring_key() -> ring::aead::LessSafeKey {
    let k = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &KEY)
        .unwrap_or_else(|e| panic!("{e:?}"));
    ring::aead::LessSafeKey::new(k)
}

fn lc_key() -> aws_lc_rs::aead::LessSafeKey {
    let k = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &KEY)
        .unwrap_or_else(|e| panic!("{e:?}"));
    aws_lc_rs::aead::LessSafeKey::new(k)
}

fn bench(c: &mut Criterion) {
    let key = DataKey::from_bytes(KEY);
    let backend = BackendKind::detect().name();
    let ring = ring_key();
    let lc = lc_key();
    let rc = aes_gcm::Aes256Gcm::new(&KEY.into());
    for threads in [1usize, 2] {
        let p = pool(threads);
        let mut seal_group = c.benchmark_group(format!("sealed-seal/{threads}t"));
        seal_group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        let mut open_group_inputs = Vec::new();
        for &size in &SIZES {
            let pt = vec![0xa5u8; size];
            let sealer = PartSealer::new(&key, CTX, PartNumber::SINGLE, ChunkSize::DEFAULT)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut sealed = vec![
                0u8;
                s3seal_gcm::sealed_len(size as u64, ChunkSize::DEFAULT).unwrap_or(0)
                    as usize
            ];
            // Sealed once here, so the open group has its input whichever rows a filter runs.
            p.install(|| seal_part_once_into(&sealer, &pt, &mut sealed))
                .unwrap_or_else(|e| panic!("{e}"));
            seal_group.throughput(Throughput::Bytes(size as u64));
            seal_group.bench_function(BenchmarkId::new(format!("s3seal-{backend}"), size), |b| {
                on_pool(&p, b, || {
                    seal_part_once_into(&sealer, black_box(&pt), &mut sealed)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            });
            // The same crypto without the format: our AEAD, in → out over the same 64 KiB
            // chunks, tags discarded — the denominator of the sealed-format overhead.
            let raw = Aes256Gcm::new(&KEY);
            let mut raw_out = vec![0u8; size];
            seal_group.bench_function(BenchmarkId::new(format!("raw-{backend}-64k"), size), |b| {
                on_pool(&p, b, || {
                    raw_out
                        .par_chunks_mut(CHUNK)
                        .zip(pt.par_chunks(CHUNK))
                        .enumerate()
                        .for_each(|(i, (o, c))| {
                            let _ = raw.seal_to(&nonce(i), &[], black_box(c), o);
                        })
                })
            });
            let mut buf = pt.clone();
            let ring_seal = |i: usize, c: &mut [u8]| {
                let _ = ring.seal_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(nonce(i)),
                    ring::aead::Aad::empty(),
                    c,
                );
            };
            let lc_seal = |i: usize, c: &mut [u8]| {
                let _ = lc.seal_in_place_separate_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce(i)),
                    aws_lc_rs::aead::Aad::empty(),
                    c,
                );
            };
            seal_group.bench_function(BenchmarkId::new("ring-64k", size), |b| {
                on_pool(&p, b, || chunked(&mut buf, ring_seal))
            });
            seal_group.bench_function(BenchmarkId::new("aws-lc-rs-64k", size), |b| {
                on_pool(&p, b, || chunked(&mut buf, lc_seal))
            });
            // What a user of ring / aws-lc-rs (whose AEADs seal in place only) does to produce a
            // separate sealed buffer, as ours does: copy each 64 KiB chunk into the output, seal
            // it there (the copy is cache-hot); in → out, so the same memory traffic as ours.
            let mut out = vec![0u8; size];
            seal_group.bench_function(BenchmarkId::new("ring-64k-to", size), |b| {
                on_pool(&p, b, || copied(&pt, &mut out, ring_seal))
            });
            seal_group.bench_function(BenchmarkId::new("aws-lc-rs-64k-to", size), |b| {
                on_pool(&p, b, || copied(&pt, &mut out, lc_seal))
            });
            seal_group.bench_function(BenchmarkId::new("aes-gcm-64k", size), |b| {
                on_pool(&p, b, || {
                    chunked(&mut buf, |i, c| {
                        let _ = rc.encrypt_inout_detached(&nonce(i).into(), &[], c.into());
                    })
                })
            });
            if threads == 1 {
                seal_group.bench_function(BenchmarkId::new("ring-whole", size), |b| {
                    b.iter(|| {
                        let _ = ring.seal_in_place_separate_tag(
                            ring::aead::Nonce::assume_unique_for_key(nonce(0)),
                            ring::aead::Aad::empty(),
                            &mut buf,
                        );
                    })
                });
            }
            open_group_inputs.push((size, sealed));
        }
        seal_group.finish();

        let mut open_group = c.benchmark_group(format!("sealed-open/{threads}t"));
        open_group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for (size, sealed) in &open_group_inputs {
            let opener = PartOpener::new(&key, CTX, PartNumber::SINGLE, sealed)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut out = vec![0u8; *size];
            open_group.throughput(Throughput::Bytes(*size as u64));
            open_group.bench_function(BenchmarkId::new(format!("s3seal-{backend}"), size), |b| {
                on_pool(&p, b, || {
                    open_into(&opener, black_box(&sealed[76..]), &mut out)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            });
            // The peers open 64 KiB messages sealed by ring (the same bytes aws-lc-rs would
            // produce): in place on a fresh copy each iteration (copy untimed), and, like ours,
            // in → out (`-to`: each chunk copied into the output and opened there, all timed).
            let mut ct = vec![0xa5u8; *size];
            let tags: Vec<[u8; 16]> = ct
                .chunks_mut(CHUNK)
                .enumerate()
                .map(|(i, c)| {
                    let t = ring
                        .seal_in_place_separate_tag(
                            ring::aead::Nonce::assume_unique_for_key(nonce(i)),
                            ring::aead::Aad::empty(),
                            c,
                        )
                        .unwrap_or_else(|e| panic!("{e:?}"));
                    t.as_ref().try_into().unwrap_or_else(|e| panic!("{e:?}"))
                })
                .collect();
            let ring_open = |i: usize, c: &mut [u8]| {
                let n = ring::aead::Nonce::assume_unique_for_key(nonce(i));
                let tag = ring::aead::Tag::from(tags[i]);
                ring.open_in_place_separate_tag(n, ring::aead::Aad::empty(), tag, c, 0..)
                    .is_ok()
            };
            let lc_open = |i: usize, c: &mut [u8]| {
                let n = aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce(i));
                let aad = aws_lc_rs::aead::Aad::empty();
                lc.open_in_place_separate_tag(n, aad, &tags[i], c).is_ok()
            };
            assert!(
                ct.chunks(CHUNK)
                    .enumerate()
                    .all(|(i, c)| ring_open(i, &mut c.to_vec()) && lc_open(i, &mut c.to_vec())),
                "a peer does not open ring's chunks"
            );
            open_group.bench_function(BenchmarkId::new("ring-64k", size), |b| {
                on_pool_fresh(&p, b, &ct, |w| chunked(w, ring_open))
            });
            open_group.bench_function(BenchmarkId::new("aws-lc-rs-64k", size), |b| {
                on_pool_fresh(&p, b, &ct, |w| chunked(w, lc_open))
            });
            open_group.bench_function(BenchmarkId::new("ring-64k-to", size), |b| {
                on_pool(&p, b, || copied(&ct, &mut out, ring_open))
            });
            open_group.bench_function(BenchmarkId::new("aws-lc-rs-64k-to", size), |b| {
                on_pool(&p, b, || copied(&ct, &mut out, lc_open))
            });
        }
        open_group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
