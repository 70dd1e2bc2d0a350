//! `s3seal bench`: where the time of an in-memory PutObject and GetObject goes on this machine.
//!
//! One table per object size. For 1 thread and N threads, side by side:
//! - **memory copy**: the same bytes copied in → out in 64 KiB pieces on the pool: the limit of
//!   any path that reads one buffer and writes another;
//! - **AES-256-GCM kernel**: the raw AEAD over the same 64 KiB pieces, in → out, no format;
//! - **sealed format**: `seal_part_once_into` / `open_into` (header, per-chunk nonces and tags,
//!   key commitment) into reused buffers;
//! - **engine, per mode**: `Engine::put_object_into` / `get_object_into` into reused buffers
//!   (policy, KMS, envelope and MAC included);
//! - **MD5**: S3's ETag of a single-PUT SSE-S3 object, computed beside the sealing (its cost
//!   is S3's, not encryption's; with one core it adds to the put).
//!
//! Every figure is the median of `--rounds` timed runs after one untimed run, in GB/s (10⁹ B/s).

use std::time::Instant;

use md5::{Digest, Md5};
use rayon::prelude::*;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{BackendKind, Engine, Request};
use s3seal_gcm::{Aes256Gcm, ChunkSize, DataKey, PartNumber, PartOpener, PartSealer};

use crate::error::{CliError, Result};
use crate::headers::EncryptionFlags;
use crate::out::outln;
use crate::store::{Home, REGION};

/// `s3seal bench` arguments.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Object sizes, comma-separated.
    #[arg(long, default_value = "1MiB,64MiB", value_delimiter = ',', value_parser = crate::parse_size)]
    pub size: Vec<u64>,
    /// Timed runs per figure (the median is printed).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// Piece size of the copy and kernel rows: the sealed format's default chunk.
const PIECE: usize = 64 << 10;

fn gbps(bytes: usize, secs: f64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a throughput figure")]
    let b = bytes as f64;
    b / secs.max(1e-9) / 1e9
}

/// Median GB/s of `rounds` timed calls of `f` (after one untimed call) over `bytes` bytes.
fn median(bytes: usize, rounds: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut t = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(gbps(bytes, t[t.len() / 2]))
}

/// The CPU as /proc/cpuinfo names it: model name, family, model.
fn cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |k: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|n| n.trim() == k))
            .and_then(|l| l.split_once(':'))
            .map_or("?", |(_, v)| v.trim())
            .to_owned()
    };
    format!(
        "{} (family {}, model {})",
        field("model name"),
        field("cpu family"),
        field("model")
    )
}

/// One row: seal/put and open/get GB/s per thread count.
struct Row {
    label: String,
    cells: Vec<(f64, f64)>,
}

/// The buffers and reference points of one object size.
struct Fixture {
    data: Vec<u8>,
    sealed: Vec<u8>,
    out: Vec<u8>,
    rounds: usize,
}

impl Fixture {
    fn new(size: usize, rounds: usize) -> Self {
        let data: Vec<u8> = (0..size)
            .map(|i| (i as u64).wrapping_mul(0x9E37_79B9).to_le_bytes()[2])
            .collect();
        Self {
            data,
            sealed: Vec::new(),
            out: Vec::new(),
            rounds,
        }
    }

    fn copy(&mut self, pool: &rayon::ThreadPool) -> Result<(f64, f64)> {
        let (data, out) = (&self.data, &mut self.out);
        out.resize(data.len(), 0);
        let g = median(data.len(), self.rounds, || {
            pool.install(|| {
                out.par_chunks_mut(PIECE)
                    .zip(data.par_chunks(PIECE))
                    .for_each(|(o, i)| o.copy_from_slice(i));
            });
            Ok(())
        })?;
        Ok((g, g))
    }

    fn kernel(&mut self, pool: &rayon::ThreadPool) -> Result<(f64, f64)> {
        let aead = Aes256Gcm::new(&[0x42; 32]);
        let (data, out) = (&self.data, &mut self.out);
        out.resize(data.len(), 0);
        let n = data.len().div_ceil(PIECE).max(1);
        let mut tags = vec![[0u8; 16]; n];
        let nonce = |i: usize| {
            let mut n = [0u8; 12];
            n[..8].copy_from_slice(&(i as u64).to_le_bytes());
            n
        };
        let err = |_| CliError::Check("bench: kernel failed".to_owned());
        let seal = median(data.len(), self.rounds, || {
            pool.install(|| {
                out.par_chunks_mut(PIECE)
                    .zip(data.par_chunks(PIECE))
                    .zip(tags.par_iter_mut())
                    .enumerate()
                    .try_for_each(|(i, ((o, p), t))| {
                        *t = aead.seal_to(&nonce(i), &[], p, o)?;
                        Ok(())
                    })
            })
            .map_err(err)
        })?;
        let mut plain = vec![0u8; data.len()];
        let open = median(data.len(), self.rounds, || {
            pool.install(|| {
                plain
                    .par_chunks_mut(PIECE)
                    .zip(out.par_chunks(PIECE))
                    .zip(tags.par_iter())
                    .enumerate()
                    .try_for_each(|(i, ((p, c), t))| aead.open_to(&nonce(i), &[], c, p, t))
            })
            .map_err(err)
        })?;
        check(&plain, data)?;
        Ok((seal, open))
    }

    fn format(&mut self, pool: &rayon::ThreadPool) -> Result<(f64, f64)> {
        let key = DataKey::from_bytes([0x42; 32]);
        let binding = b"bench/format";
        let err = |e: s3seal_gcm::Error| CliError::Check(format!("bench: format: {e}"));
        let sealer =
            PartSealer::new(&key, binding, PartNumber::SINGLE, ChunkSize::DEFAULT).map_err(err)?;
        let len = s3seal_gcm::sealed_len(self.data.len() as u64, ChunkSize::DEFAULT)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(|| CliError::Usage("--size too large".to_owned()))?;
        let (data, sealed, out) = (&self.data, &mut self.sealed, &mut self.out);
        sealed.resize(len, 0);
        // One sealer sealing the same bytes again gives the same output (see
        // `seal_part_once_into`): acceptable here, where nothing leaves the process.
        let seal = median(data.len(), self.rounds, || {
            pool.install(|| s3seal_gcm::seal_part_once_into(&sealer, data, sealed))
                .map_err(err)
        })?;
        let opener = PartOpener::new(&key, binding, PartNumber::SINGLE, sealed).map_err(err)?;
        out.resize(data.len(), 0);
        let body = &sealed[s3seal_gcm::HEADER_LEN..];
        let open = median(data.len(), self.rounds, || {
            pool.install(|| s3seal_gcm::open_into(&opener, body, out))
                .map_err(err)
        })?;
        check(out, data)?;
        Ok((seal, open))
    }

    fn engine(
        &mut self,
        engine: &Engine,
        put: &Request<'_>,
        get: &Request<'_>,
    ) -> Result<(f64, f64)> {
        let (data, sealed, out) = (&self.data, &mut self.sealed, &mut self.out);
        let mut envelope = Vec::new();
        let p = median(data.len(), self.rounds, || {
            envelope = engine.put_object_into(put, data, sealed)?.envelope_bytes;
            Ok(())
        })?;
        let g = median(data.len(), self.rounds, || {
            engine.get_object_into(get, &envelope, sealed, None, out)?;
            Ok(())
        })?;
        check(out, data)?;
        Ok((p, g))
    }

    fn md5(&self) -> Result<f64> {
        median(self.data.len(), self.rounds, || {
            std::hint::black_box(Md5::digest(&self.data));
            Ok(())
        })
    }
}

fn check(got: &[u8], want: &[u8]) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(CliError::Check("bench: round trip mismatch".to_owned()))
    }
}

fn pool(n: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| CliError::Check(format!("bench: thread pool: {e}")))
}

/// Runs the bench in a temporary keystore.
///
/// # Errors
/// Engine errors; a round-trip mismatch.
pub fn run(args: &BenchArgs, threads: Option<usize>, _quiet: bool) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(CliError::io("create a temporary directory"))?;
    let home = Home::open(tmp.path(), None)?;
    let n = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let counts: Vec<usize> = if n > 1 { vec![1, n] } else { vec![1] };
    let key = tmp.path().join("c.key");
    let mut customer = [0u8; 32];
    s3seal_gcm::fill_random(&mut customer)
        .map_err(|e| CliError::Check(format!("bench: random key: {e}")))?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key)
            .and_then(|mut f| f.write_all(&customer))
            .map_err(CliError::io("write the bench's customer key"))?;
        zeroize::Zeroize::zeroize(&mut customer);
    }
    let bucket = BucketPolicy::new("bench", BucketKind::GeneralPurpose, &home.account(), REGION);
    let f = |sse: Option<&str>, bk: Option<bool>, c: bool| EncryptionFlags {
        sse: sse.map(str::to_owned),
        bucket_key: bk,
        sse_c_key_file: c.then(|| key.clone()),
        ..EncryptionFlags::default()
    };
    let modes = [
        ("SSE-S3", f(Some("AES256"), None, false)),
        ("SSE-KMS", f(Some("aws:kms"), Some(false), false)),
        ("SSE-KMS+BK", f(Some("aws:kms"), Some(true), false)),
        ("DSSE-KMS", f(Some("aws:kms:dsse"), None, false)),
        ("SSE-C", f(None, None, true)),
    ];
    let mut engines = Vec::new();
    let mut pools = Vec::new();
    for &c in &counts {
        engines.push(home.engine_with(Some(c))?);
        pools.push(pool(c)?);
    }
    outln!("s3seal bench: in-memory objects, CPU {}", cpu())?;
    outln!(
        "AES-GCM backend {}; median of {} runs; GB/s; seal = put, open = get",
        BackendKind::detect().name(),
        args.rounds
    )?;
    for &size in &args.size {
        let size =
            usize::try_from(size).map_err(|_| CliError::Usage("--size too large".to_owned()))?;
        let mut fx = Fixture::new(size, args.rounds);
        let mut rows = Vec::new();
        let mut row = |label: &str, cells| {
            rows.push(Row {
                label: label.to_owned(),
                cells,
            });
        };
        let per_pool = |fx: &mut Fixture, f: fn(&mut Fixture, &rayon::ThreadPool) -> _| {
            pools.iter().map(|p| f(fx, p)).collect::<Result<Vec<_>>>()
        };
        row("memory copy", per_pool(&mut fx, Fixture::copy)?);
        row("AES-256-GCM kernel", per_pool(&mut fx, Fixture::kernel)?);
        row("sealed format", per_pool(&mut fx, Fixture::format)?);
        for (label, fl) in &modes {
            let h = fl.headers()?;
            let read = crate::headers::read_headers(fl.sse_c_key_file.as_deref())?;
            let put = Request {
                bucket: &bucket,
                key: "bench",
                headers: &h,
                secure_transport: true,
            };
            let get = Request {
                headers: &read,
                ..put
            };
            let cells = engines
                .iter()
                .map(|e| fx.engine(e, &put, &get))
                .collect::<Result<Vec<_>>>()?;
            row(&format!("engine {label}"), cells);
        }
        let md5 = fx.md5()?;
        print_table(size, &counts, &rows, md5)?;
    }
    Ok(())
}

fn print_table(size: usize, counts: &[usize], rows: &[Row], md5: f64) -> Result<()> {
    let mut head = format!(
        "\n{:<20}",
        format!("{} MiB", size as f64 / f64::from(1 << 20))
    );
    for c in counts {
        head += &format!(
            " {:>13} {:>13}",
            format!("seal {c} thr"),
            format!("open {c} thr")
        );
    }
    outln!("{head}")?;
    let format_row = rows.iter().find(|r| r.label == "sealed format");
    for r in rows {
        let mut line = format!("{:<20}", r.label);
        for (i, (s, o)) in r.cells.iter().enumerate() {
            // Engine rows: their share of the sealed format's speed.
            let ratio = |v: f64, pick: fn(&(f64, f64)) -> f64| match format_row {
                Some(f) if r.label.starts_with("engine") => {
                    format!(" ({:.2}×)", v / pick(&f.cells[i]))
                }
                _ => String::new(),
            };
            line += &format!(
                " {:>13} {:>13}",
                format!("{s:.2}{}", ratio(*s, |c| c.0)),
                format!("{o:.2}{}", ratio(*o, |c| c.1))
            );
        }
        outln!("{line}")?;
    }
    outln!(
        "{:<20} {:>13}   (S3's ETag of SSE-S3 single PUTs; on a second core beside the seal)",
        "MD5 alone",
        format!("{md5:.2}")
    )?;
    outln!("(×) = engine / sealed format at the same thread count")?;
    Ok(())
}
