//! DSSE-KMS (two layers, one pass per chunk) against one layer on the same data: seal and open
//! of 1 MiB and 64 MiB parts on 1 and 2 threads. Issue bar: DSSE ≤ 2.1× the time of one layer.
//!
//! Groups `dsse-seal/<threads>t`, `dsse-open/<threads>t`; ids `one-layer/<bytes>` and
//! `dsse/<bytes>`. Buffers are reused; nothing is allocated in the timed loop.

#![allow(
    clippy::cast_possible_truncation,
    reason = "benchmark sizes are at most 256 MiB on a 64-bit host"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3seal_dsse::{DUAL_HEADER_LEN, DsseKeys, LayerKey, LayerRecord};
use s3seal_gcm::{
    ChunkSealer, ChunkSize, DataKey, HEADER_LEN, PartNumber, PartOpener, PartSealer, open_into,
    seal_part_once_into,
};

const SIZES: [usize; 2] = [1 << 20, 64 << 20];
const CTX: &[u8] = b"arn:aws:s3:::bench/object";

fn keys() -> DsseKeys {
    let layer = |b| LayerKey {
        key_arn: "arn:aws:kms:us-east-1:000000000000:key/bench".into(),
        wrapped: vec![b; 8],
    };
    DsseKeys::from_data_keys(
        DataKey::from_bytes([1; 32]),
        DataKey::from_bytes([2; 32]),
        LayerRecord {
            inner: layer(1),
            outer: layer(2),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let single_key = DataKey::from_bytes([1; 32]);
    let dual = keys();
    let part = PartNumber::SINGLE;
    let chunk = ChunkSize::DEFAULT;
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        for (name, open) in [("seal", false), ("open", true)] {
            let mut g = c.benchmark_group(format!("dsse-{name}/{threads}t"));
            g.sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            for &size in &SIZES {
                let pt = vec![0x5au8; size];
                g.throughput(Throughput::Bytes(size as u64));
                let one = PartSealer::new(&single_key, CTX, part, chunk)
                    .unwrap_or_else(|e| panic!("{e}"));
                let two = dual
                    .sealer(CTX, part, chunk)
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut s1 =
                    vec![0u8; one.geometry().sealed_len(size as u64).unwrap_or(0) as usize];
                let mut s2 =
                    vec![0u8; two.geometry().sealed_len(size as u64).unwrap_or(0) as usize];
                pool.install(|| seal_part_once_into(&one, &pt, &mut s1))
                    .unwrap_or_else(|e| panic!("{e}"));
                pool.install(|| seal_part_once_into(&two, &pt, &mut s2))
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut out = vec![0u8; size];
                if open {
                    let o1 = PartOpener::new(&single_key, CTX, part, &s1)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let o2 = dual
                        .opener(CTX, part, &s2)
                        .unwrap_or_else(|e| panic!("{e}"));
                    g.bench_function(BenchmarkId::new("one-layer", size), |b| {
                        b.iter(|| {
                            pool.install(|| open_into(&o1, black_box(&s1[HEADER_LEN..]), &mut out))
                                .unwrap_or_else(|e| panic!("{e}"))
                        })
                    });
                    g.bench_function(BenchmarkId::new("dsse", size), |b| {
                        b.iter(|| {
                            pool.install(|| {
                                open_into(&o2, black_box(&s2[DUAL_HEADER_LEN..]), &mut out)
                            })
                            .unwrap_or_else(|e| panic!("{e}"))
                        })
                    });
                } else {
                    g.bench_function(BenchmarkId::new("one-layer", size), |b| {
                        b.iter(|| {
                            pool.install(|| seal_part_once_into(&one, black_box(&pt), &mut s1))
                                .unwrap_or_else(|e| panic!("{e}"))
                        })
                    });
                    g.bench_function(BenchmarkId::new("dsse", size), |b| {
                        b.iter(|| {
                            pool.install(|| seal_part_once_into(&two, black_box(&pt), &mut s2))
                                .unwrap_or_else(|e| panic!("{e}"))
                        })
                    });
                }
            }
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
