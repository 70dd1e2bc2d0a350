//! Paired, interleaved measurements for the two bars of issue #3 that are ratios of a few
//! percent: the sealed format against raw GCM of the same bytes, and 2 threads against 1.
//!
//! Criterion runs one benchmark after another; on the shared bench machine throughput drifts by
//! ±10% over minutes, more than the 3% being measured, and whichever two-thread benchmark runs
//! first after one-thread work pays for waking the second vCPU (5–12% in a trial here). So each
//! round runs every variant, the two of a pair back to back in alternating order, each timed
//! batch after one untimed call; the report is the median over rounds of each variant's
//! throughput and of the per-round ratios.
//!
//! Variants, all with the backend `Aes256Gcm::new` picks and 64 KiB chunks:
//! - `sealed`: `seal_part_once_into` / `open_into` (header, 76-byte AAD and a tag after every
//!   chunk; sealer and opener built once per size, their construction timed separately);
//! - `raw`: our AEAD with no format — each 64 KiB chunk sealed in → out with its own nonce and
//!   no AAD, ciphertext at `64 KiB · i`, tags kept apart; opening checks those tags.
//!
//! - `copy`: the plaintext copied to the output buffer in 64 KiB pieces, no cryptography: the
//!   same memory traffic, for what the machine's memory allows at each thread count.
//!
//! One thread: the global pool is built with one thread, so nothing is handed to another thread
//! and both variants run on the caller. Two threads: both variants inside `install` of a
//! two-thread pool.
//!
//! `cargo run --release -p s3seal-benches --example paired [rounds]` (default 15).

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "sizes of at most 256 MiB and throughput arithmetic"
)]

use std::time::Instant;

use rayon::prelude::*;
use s3seal_gcm::{
    Aes256Gcm, BackendKind, ChunkSize, DataKey, PartNumber, PartOpener, PartSealer, open_into,
    seal_part_once_into,
};

const CHUNK: usize = 64 << 10;
const SIZES: [usize; 3] = [1 << 20, 64 << 20, 256 << 20];
const CTX: &[u8] = b"arn:aws:s3:::bench/object";

fn nonce(i: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..12].copy_from_slice(&(i as u64).to_be_bytes());
    n
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("paired: {what}: {e}");
    std::process::exit(1)
}

/// (chunk index, ((output, input), tag)) as the zipped iterators yield them.
type SealItem<'a> = (usize, ((&'a mut [u8], &'a [u8]), &'a mut [u8; 16]));
type OpenItem<'a> = (usize, ((&'a mut [u8], &'a [u8]), &'a [u8; 16]));

/// Buffers for one size: plaintext, sealed part, raw ciphertext and tags, output.
struct Case {
    pt: Vec<u8>,
    sealed: Vec<u8>,
    raw_ct: Vec<u8>,
    raw_tags: Vec<[u8; 16]>,
    out: Vec<u8>,
}

struct Crypto {
    sealer: PartSealer,
    raw: Aes256Gcm,
    key: DataKey,
}

/// What a variant runs once per timed call.
type Run<'a> = &'a mut dyn FnMut(&mut Case);

impl Case {
    fn new(size: usize, c: &Crypto) -> Case {
        let pt: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let sealed_len = s3seal_gcm::sealed_len(size as u64, ChunkSize::DEFAULT)
            .unwrap_or_else(|| fail("size", "too large")) as usize;
        let mut case = Case {
            sealed: vec![0; sealed_len],
            raw_ct: vec![0; size],
            raw_tags: vec![[0; 16]; size.div_ceil(CHUNK)],
            out: vec![0; size],
            pt,
        };
        case.seal_sealed(c);
        case.seal_raw(c);
        case
    }

    fn seal_sealed(&mut self, c: &Crypto) {
        seal_part_once_into(&c.sealer, &self.pt, &mut self.sealed)
            .unwrap_or_else(|e| fail("seal", e));
    }

    /// In parallel on a pool thread, else sequentially on the caller (as `seal_part_once_into` does
    /// with a one-thread pool).
    fn seal_raw(&mut self, c: &Crypto) {
        let Case {
            pt,
            raw_ct,
            raw_tags,
            ..
        } = self;
        let one = |(i, ((o, p), t)): SealItem<'_>| {
            *t = c
                .raw
                .seal_to(&nonce(i), &[], p, o)
                .unwrap_or_else(|e| fail("raw seal", e));
        };
        if rayon::current_thread_index().is_some() {
            raw_ct
                .par_chunks_mut(CHUNK)
                .zip(pt.par_chunks(CHUNK))
                .zip(raw_tags.par_iter_mut())
                .enumerate()
                .for_each(one);
        } else {
            raw_ct
                .chunks_mut(CHUNK)
                .zip(pt.chunks(CHUNK))
                .zip(raw_tags.iter_mut())
                .enumerate()
                .for_each(one);
        }
    }

    /// The same memory traffic with no cryptography: plaintext copied to the output in 64 KiB
    /// pieces (in parallel on a pool thread) — what the machine's memory allows.
    fn copy(&mut self) {
        let Case { pt, out, .. } = self;
        if rayon::current_thread_index().is_some() {
            out.par_chunks_mut(CHUNK)
                .zip(pt.par_chunks(CHUNK))
                .for_each(|(o, p)| o.copy_from_slice(p));
        } else {
            out.copy_from_slice(pt);
        }
    }

    /// With an opener built once per size, as the raw key is: per-part key derivation is
    /// timed on its own (`main` prints it).
    fn open_sealed(&mut self, opener: &PartOpener) {
        open_into(opener, &self.sealed[76..], &mut self.out).unwrap_or_else(|e| fail("open", e));
    }

    fn open_raw(&mut self, c: &Crypto) {
        let Case {
            raw_ct,
            raw_tags,
            out,
            ..
        } = self;
        let one = |(i, ((o, ct), t)): OpenItem<'_>| {
            c.raw
                .open_to(&nonce(i), &[], ct, o, t)
                .unwrap_or_else(|e| fail("raw open", e));
        };
        if rayon::current_thread_index().is_some() {
            out.par_chunks_mut(CHUNK)
                .zip(raw_ct.par_chunks(CHUNK))
                .zip(raw_tags.par_iter())
                .enumerate()
                .for_each(one);
        } else {
            out.chunks_mut(CHUNK)
                .zip(raw_ct.chunks(CHUNK))
                .zip(raw_tags.iter())
                .enumerate()
                .for_each(one);
        }
    }
}

/// Seconds for `iters` runs of `f`, after one untimed run (so a pool's threads are awake
/// and the buffers warm whichever variant ran before).
fn time(iters: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median time per call of `f` in microseconds, over 201 calls.
fn micros(mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..201)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(&mut v)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |r| r.parse().unwrap_or_else(|e| fail("rounds", e)));
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .unwrap_or_else(|e| fail("global pool", e));
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap_or_else(|e| fail("pool", e));
    let key = DataKey::from_bytes([0x42; 32]);
    let crypto = Crypto {
        sealer: PartSealer::new(&key, CTX, PartNumber::SINGLE, ChunkSize::DEFAULT)
            .unwrap_or_else(|e| fail("sealer", e)),
        raw: Aes256Gcm::new(&[0x42; 32]),
        key,
    };
    println!(
        "backend {}, {rounds} rounds, medians (GB/s = 10^9 B/s)",
        BackendKind::detect().name()
    );
    let header = *crypto.sealer.header();
    println!(
        "per part, not in the rows below: PartSealer::new {:.1} µs, PartOpener::new {:.1} µs \
         (HKDF-SHA256, AES key schedule, GHASH powers; the opener also checks the commitment)",
        micros(|| {
            let _ = PartSealer::new(&crypto.key, CTX, PartNumber::SINGLE, ChunkSize::DEFAULT);
        }),
        micros(|| {
            let _ = PartOpener::new(&crypto.key, CTX, PartNumber::SINGLE, &header);
        }),
    );
    for size in SIZES {
        let mut case = Case::new(size, &crypto);
        let opener = PartOpener::new(&crypto.key, CTX, PartNumber::SINGLE, &case.sealed)
            .unwrap_or_else(|e| fail("opener", e));
        let c = &crypto;
        let mut runs: [(&str, Run<'_>); 10] = [
            ("seal sealed 1t", &mut |k: &mut Case| k.seal_sealed(c)),
            ("seal raw 1t", &mut |k: &mut Case| k.seal_raw(c)),
            ("seal sealed 2t", &mut |k: &mut Case| {
                two.install(|| k.seal_sealed(c))
            }),
            ("seal raw 2t", &mut |k: &mut Case| {
                two.install(|| k.seal_raw(c))
            }),
            ("open sealed 1t", &mut |k: &mut Case| k.open_sealed(&opener)),
            ("open raw 1t", &mut |k: &mut Case| k.open_raw(c)),
            ("open sealed 2t", &mut |k: &mut Case| {
                two.install(|| k.open_sealed(&opener))
            }),
            ("open raw 2t", &mut |k: &mut Case| {
                two.install(|| k.open_raw(c))
            }),
            ("copy 1t", &mut |k: &mut Case| k.copy()),
            ("copy 2t", &mut |k: &mut Case| two.install(|| k.copy())),
        ];
        // About 0.1 s per variant and round.
        let iters = ((1usize << 30) / size).max(2);
        let mut t: [Vec<f64>; 10] = Default::default();
        for round in 0..rounds {
            // Pairs (sealed, raw) run back to back, in alternating order.
            for pair in 0..5 {
                let order = if round % 2 == 0 {
                    [2 * pair, 2 * pair + 1]
                } else {
                    [2 * pair + 1, 2 * pair]
                };
                for v in order {
                    let run = &mut runs[v].1;
                    t[v].push(time(iters, || run(&mut case)));
                }
            }
        }
        let gbps = |secs: f64| (iters * size) as f64 / secs / 1e9;
        let ratio = |a: usize, b: usize| {
            let mut r: Vec<f64> = t[a].iter().zip(&t[b]).map(|(x, y)| x / y).collect();
            median(&mut r)
        };
        println!("\n{} MiB", size >> 20);
        for ((name, _), v) in runs.iter().zip(&t) {
            println!("  {name:16} {:6.2} GB/s", gbps(median(&mut v.clone())));
        }
        for (label, sealed, raw) in [
            ("seal 1t", 0, 1),
            ("seal 2t", 2, 3),
            ("open 1t", 4, 5),
            ("open 2t", 6, 7),
        ] {
            println!(
                "  format overhead {label}: {:+.1}% (time sealed / raw − 1)",
                (ratio(sealed, raw) - 1.0) * 100.0
            );
        }
        for (label, one, two) in [("seal sealed", 0, 2), ("open sealed", 4, 6), ("copy", 8, 9)] {
            println!("  scaling {label} 2t / 1t: {:.2}×", ratio(one, two));
        }
    }
}
