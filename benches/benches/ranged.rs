//! Ranged GET of a 1 GiB object through the engine's read plan (`Engine::plan_get` →
//! `ReadPlan::spans` → fetch → `ReadPlan::open` / `ReadPlan::stream`), against the old path
//! `Engine::get_object`, which is handed the whole sealed object in memory.
//!
//! The "store" is the sealed object in a `Vec` (the parts' sealed bytes back to back). A plan GET
//! is timed as a backend on a remote store would run it: `plan_get` from the envelope (parse,
//! request check, key unwrap), then every span copied out of the store into a fetch buffer (the
//! bytes a remote store would transfer; buffers reused across iterations), then `plan.open` on
//! those buffers. The `stream` rows instead hand `plan.stream` a reader serving the spans back to
//! back straight from the store (its copy is the transfer) and write into a reused `Vec`.
//!
//! Groups `ranged-<object>/<threads>t`, objects `single` (one PUT, SSE-S3), `8parts` (multipart,
//! 8 × 128 MiB, SSE-S3) and `dsse-single` (one PUT, DSSE-KMS, the 1-byte case only); ids
//! `<range>/<path>` with range `1B` (one byte in the middle), `1MiB` (1 MiB at a byte offset
//! that is not chunk-aligned) or `whole`, and path `plan-open`, `plan-stream` or `get_object`;
//! two rows split the plan GET: `1B/plan_get-only` (the plan alone, the fixed cost of any GET)
//! and `whole/fetch-only` (the 1 GiB of spans copied into the reused fetch buffers, nothing else).
//! The objects are sealed once per object (not per iteration) and shared by the 2- and 1-thread
//! engines (the same KMS). `<threads>` is the engine's pool and the rayon pool the plan runs in
//! (one `install` per criterion sample). Stored bytes fetched and chunks opened per case are
//! printed to stderr (`ranged: …` lines) before each group.

#![allow(
    clippy::cast_possible_truncation,
    reason = "object sizes are at most 1 GiB on a 64-bit host"
)]

use std::hint::black_box;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Bencher, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{CompletedPart, Engine, EngineBuilder, ReadPlan, Request};
use s3seal_kms::LocalKms;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
const PARTS: u64 = 8;
/// One byte in the middle of the object (inside a chunk, not on its boundary).
const ONE_BYTE_AT: u64 = GIB / 2 + 12_345;
/// 1 MiB at an offset that is not chunk-aligned (it touches 17 chunks of 64 KiB).
const MIB_AT: u64 = 300_000_017;
const THREADS: [usize; 2] = [2, 1];

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn plaintext(start: u64, len: u64) -> Vec<u8> {
    (start..start + len).map(byte_at).collect()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap_or_else(|e| panic!("pool: {e}"))
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A stored object: its envelope and its sealed bytes (the parts back to back).
struct Stored {
    key: &'static str,
    envelope: Vec<u8>,
    sealed: Vec<u8>,
}

/// One PUT of `GIB` bytes with the given SSE header value.
fn put_single(
    engine: &Engine,
    bucket: &BucketPolicy,
    key: &'static str,
    sse: &'static str,
) -> Stored {
    let put = headers(&[("x-amz-server-side-encryption", sse)]);
    let req = Request {
        bucket,
        key,
        headers: &put,
        secure_transport: true,
    };
    let data = plaintext(0, GIB);
    let w = ok(engine.put_object(&req, &data), "put_object");
    Stored {
        key,
        envelope: w.envelope_bytes,
        sealed: w.sealed.to_vec(),
    }
}

/// A multipart upload of `GIB` bytes in `PARTS` parts, SSE-S3.
fn put_parts(engine: &Engine, bucket: &BucketPolicy, key: &'static str) -> Stored {
    let put = headers(&[("x-amz-server-side-encryption", "AES256")]);
    let none = HeaderMap::new();
    let req = |h| Request {
        bucket,
        key,
        headers: h,
        secure_transport: true,
    };
    let upload = ok(engine.create_multipart_upload(&req(&put)), "create");
    let mut state = upload.state.clone();
    let part_len = GIB / PARTS;
    let mut sealed = Vec::with_capacity((GIB + (GIB >> 11)) as usize);
    let mut parts = Vec::new();
    for n in 1..=PARTS as u32 {
        let data = plaintext(u64::from(n - 1) * part_len, part_len);
        let p = ok(engine.upload_part(&req(&none), &state, n, &data), "part");
        sealed.extend_from_slice(&p.sealed);
        state = p.state;
        parts.push(CompletedPart {
            part_number: n,
            etag: p.etag,
        });
    }
    let c = ok(
        engine.complete_multipart_upload(&req(&none), &state, &parts),
        "complete",
    );
    Stored {
        key,
        envelope: c.envelope_bytes,
        sealed,
    }
}

/// Copies the plan's spans out of the store into `bufs` (reused), as a remote store would
/// transfer them; returns the bytes copied.
fn fetch(plan: &ReadPlan, sealed: &[u8], bufs: &mut Vec<Vec<u8>>) -> u64 {
    let spans = plan.spans();
    bufs.resize_with(spans.len(), Vec::new);
    let mut n = 0;
    for (s, buf) in spans.iter().zip(bufs.iter_mut()) {
        buf.clear();
        buf.extend_from_slice(&sealed[s.start as usize..s.end as usize]);
        n += s.end - s.start;
    }
    n
}

/// A reader serving the plan's spans of the store back to back.
struct SpanReader<'a> {
    sealed: &'a [u8],
    spans: std::vec::IntoIter<std::ops::Range<u64>>,
    cur: std::ops::Range<u64>,
}

impl<'a> SpanReader<'a> {
    fn new(plan: &ReadPlan, sealed: &'a [u8]) -> Self {
        SpanReader {
            sealed,
            spans: plan.spans().into_iter(),
            cur: 0..0,
        }
    }
}

impl Read for SpanReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.spans.next() {
                Some(s) => self.cur = s,
                None => return Ok(0),
            }
        }
        let n = buf.len().min((self.cur.end - self.cur.start) as usize);
        let at = self.cur.start as usize;
        buf[..n].copy_from_slice(&self.sealed[at..at + n]);
        self.cur.start += n as u64;
        Ok(n)
    }
}

/// Times `f` inside `p`: one `install` per criterion sample.
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

fn range_header(r: &std::ops::Range<u64>) -> String {
    format!("bytes={}-{}", r.start, r.end - 1)
}

fn bench_object(
    c: &mut Criterion,
    engines: &[(usize, Engine)],
    bucket: &BucketPolicy,
    name: &str,
    stored: &Stored,
    ranges: &[(&str, std::ops::Range<u64>)],
) {
    let none = HeaderMap::new();
    let req = Request {
        bucket,
        key: stored.key,
        headers: &none,
        secure_transport: true,
    };
    let sealed = &stored.sealed[..];
    let env = &stored.envelope[..];
    for (threads, engine) in engines {
        let p = pool(*threads);
        let mut g = c.benchmark_group(format!("ranged-{name}/{threads}t"));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for (label, range) in ranges {
            let whole = range.start == 0 && range.end == GIB;
            let hdr = (!whole).then(|| range_header(range));
            let plan = ok(engine.plan_get(&req, env, hdr.as_deref()), "plan_get");
            // Check once, untimed: the plan opens the right bytes from its spans.
            let mut bufs = Vec::new();
            let fetched = fetch(&plan, sealed, &mut bufs);
            let slices: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
            let body = ok(p.install(|| plan.open(&slices)), "open");
            assert_eq!(body.len() as u64, range.end - range.start);
            assert_eq!(body[0], byte_at(range.start));
            assert_eq!(body[body.len() - 1], byte_at(range.end - 1));
            drop(body);
            eprintln!(
                "ranged: {name} {threads}t {label}: range {}..{} ({} B), stored bytes fetched {} \
                 (plan.stored_bytes {}), chunks opened {}, spans {}, stored object {} B",
                range.start,
                range.end,
                range.end - range.start,
                fetched,
                plan.stored_bytes(),
                plan.chunks(),
                plan.spans().len(),
                plan.stored_len(),
            );
            drop(plan);
            g.throughput(Throughput::Bytes(range.end - range.start));
            g.bench_function(BenchmarkId::new(*label, "plan-open"), |b| {
                on_pool(&p, b, || {
                    let plan = ok(engine.plan_get(&req, env, hdr.as_deref()), "plan_get");
                    fetch(&plan, sealed, &mut bufs);
                    let slices: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
                    ok(plan.open(&slices), "open")
                });
            });
            if range.end - range.start == 1 {
                // The fixed cost of a GET: the plan alone (envelope, request check, key unwrap).
                g.bench_function(BenchmarkId::new(*label, "plan_get-only"), |b| {
                    on_pool(&p, b, || {
                        ok(engine.plan_get(&req, env, hdr.as_deref()), "plan_get")
                    });
                });
            }
            if whole {
                // The transfer alone: the spans copied out of the store into the reused buffers.
                let plan = ok(engine.plan_get(&req, env, None), "plan_get");
                g.bench_function(BenchmarkId::new(*label, "fetch-only"), |b| {
                    on_pool(&p, b, || fetch(&plan, sealed, &mut bufs));
                });
                drop(plan);
                let mut out = Vec::with_capacity(GIB as usize);
                g.bench_function(BenchmarkId::new(*label, "plan-stream"), |b| {
                    on_pool(&p, b, || {
                        let plan = ok(engine.plan_get(&req, env, None), "plan_get");
                        out.clear();
                        ok(
                            plan.stream(SpanReader::new(&plan, sealed), &mut out),
                            "stream",
                        );
                        out.len()
                    });
                });
                // Checked on what the bench streamed, or once here when a filter skipped it.
                if out.is_empty() {
                    let plan = ok(engine.plan_get(&req, env, None), "plan_get");
                    ok(
                        plan.stream(SpanReader::new(&plan, sealed), &mut out),
                        "stream",
                    );
                }
                assert_eq!(out.len() as u64, GIB);
                assert_eq!(out[ONE_BYTE_AT as usize], byte_at(ONE_BYTE_AT));
            } else {
                let old = ok(
                    engine.get_object(&req, env, sealed, Some(range.clone())),
                    "get_object",
                );
                assert_eq!(old.body[0], byte_at(range.start));
                g.bench_function(BenchmarkId::new(*label, "get_object"), |b| {
                    on_pool(&p, b, || {
                        ok(
                            engine.get_object(&req, env, sealed, Some(range.clone())),
                            "get_object",
                        )
                        .body
                    });
                });
            }
        }
        g.finish();
    }
}

fn bench(c: &mut Criterion) {
    let dir = ok(tempfile::tempdir(), "tempdir");
    let kms = Arc::new(ok(LocalKms::open_dir(dir.path().join("kms")), "kms"));
    let engines: Vec<(usize, Engine)> = THREADS
        .iter()
        .map(|&n| {
            let e = EngineBuilder::new(kms.clone()).threads(n).build();
            (n, ok(e, "engine"))
        })
        .collect();
    let bucket = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let all = [
        ("1B", ONE_BYTE_AT..ONE_BYTE_AT + 1),
        ("1MiB", MIB_AT..MIB_AT + MIB),
        ("whole", 0..GIB),
    ];

    let single = put_single(&engines[0].1, &bucket, "single", "AES256");
    bench_object(c, &engines, &bucket, "single", &single, &all);
    drop(single);

    let parts = put_parts(&engines[0].1, &bucket, "parts");
    bench_object(c, &engines, &bucket, "8parts", &parts, &all);
    drop(parts);

    let dsse = put_single(&engines[0].1, &bucket, "dsse", "aws:kms:dsse");
    bench_object(c, &engines, &bucket, "dsse-single", &dsse, &all[..1]);
}

criterion_group!(benches, bench);
criterion_main!(benches);
