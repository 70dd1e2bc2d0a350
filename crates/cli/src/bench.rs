//! `s3seal bench`: in-memory PutObject and GetObject throughput per mode, 1 and N threads.

use std::time::Instant;

use http::HeaderMap;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{BackendKind, Engine, Request};

use crate::error::{CliError, Result};
use crate::headers::EncryptionFlags;
use crate::out::outln;
use crate::store::{Home, REGION};

/// `s3seal bench` arguments.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Object size.
    #[arg(long, default_value = "64MiB", value_parser = crate::parse_size)]
    pub size: u64,
}

fn gbps(bytes: usize, secs: f64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a throughput figure")]
    let b = bytes as f64;
    b / secs.max(1e-9) / 1e9
}

/// Best of three: (put GB/s, get GB/s).
fn measure(
    engine: &Engine,
    bucket: &BucketPolicy,
    headers: &HeaderMap,
    read: &HeaderMap,
    data: &[u8],
) -> Result<(f64, f64)> {
    let req = Request {
        bucket,
        key: "bench",
        headers,
        secure_transport: true,
    };
    let rreq = Request {
        headers: read,
        ..req
    };
    let (mut put, mut get) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        let w = engine.put_object(&req, data)?;
        put = put.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let o = engine.get_object(&rreq, &w.envelope_bytes, &w.sealed, None)?;
        get = get.min(t.elapsed().as_secs_f64());
        if o.body.as_ref() != data {
            return Err(CliError::Check("bench: round trip mismatch".to_owned()));
        }
    }
    Ok((gbps(data.len(), put), gbps(data.len(), get)))
}

/// Runs the bench in a temporary keystore.
///
/// # Errors
/// Engine errors; a round-trip mismatch.
pub fn run(args: &BenchArgs, threads: Option<usize>, _quiet: bool) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(CliError::io("create a temporary directory"))?;
    let home = Home::open(tmp.path(), None)?;
    let n = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let size =
        usize::try_from(args.size).map_err(|_| CliError::Usage("--size too large".to_owned()))?;
    let data: Vec<u8> = (0..size)
        .map(|i| (i as u64).wrapping_mul(0x9E37_79B9).to_le_bytes()[2])
        .collect();
    let key = tmp.path().join("c.key");
    std::fs::write(&key, [0x42u8; 32]).map_err(CliError::io("write key"))?;
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
    let one = home.engine_with(Some(1))?;
    let many = home.engine_with(Some(n))?;
    outln!(
        "s3seal bench: {} MiB objects in memory, AES-GCM backend {}",
        args.size >> 20,
        BackendKind::detect().name()
    )?;
    outln!(
        "{:<12} {:>14} {:>14} {:>14} {:>14}",
        "mode",
        "put 1 thr",
        "get 1 thr",
        format!("put {n} thr"),
        format!("get {n} thr")
    )?;
    for (label, fl) in &modes {
        let h = fl.headers()?;
        let read = crate::headers::read_headers(fl.sse_c_key_file.as_deref())?;
        let (p1, g1) = measure(&one, &bucket, &h, &read, &data)?;
        let (pn, gn) = measure(&many, &bucket, &h, &read, &data)?;
        outln!(
            "{label:<12} {:>9.2} GB/s {:>9.2} GB/s {:>9.2} GB/s {:>9.2} GB/s",
            p1,
            g1,
            pn,
            gn
        )?;
    }
    Ok(())
}
