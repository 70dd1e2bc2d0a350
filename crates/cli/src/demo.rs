//! `s3seal demo`: every mode end to end in a fresh temporary home, every byte checked.
//!
//! Keys, a bucket default, an object in each mode (single PUT and multipart), copies across
//! modes, range reads, a rewrap, a flipped ciphertext byte, S3 rule refusals, a sealed file, and
//! one throughput line per mode. Any failed check makes the command exit non-zero.

use std::path::{Path, PathBuf};
use std::time::Instant;

use s3seal::BackendKind;

use crate::buckets::{config_xml, set_encryption};
use crate::error::{CliError, Result};
use crate::headers::EncryptionFlags;
use crate::objects::{self, PutOptions};
use crate::out::outln;
use crate::sealed_file;
use crate::store::Home;

/// `s3seal demo` arguments.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Size of the generated object.
    #[arg(long, default_value = "32MiB", value_parser = crate::parse_size)]
    pub size: u64,
    /// Keep the demo home in DIR (created) instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// A deterministic pattern (xorshift64), so a failure is reproducible.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A demo copy: label, source, destination, flags, source SSE-C key, destination SSE-C key.
type Copy<'a> = (
    &'a str,
    &'a str,
    &'a str,
    EncryptionFlags,
    Option<&'a Path>,
    Option<&'a Path>,
);

struct Checks {
    passed: usize,
    failed: Vec<String>,
    /// The first failed write to standard output, reported when the demo ends.
    out_err: Option<CliError>,
}

impl Checks {
    /// Keeps the first standard output error.
    fn say(&mut self, r: Result<()>) {
        if let Err(e) = r {
            self.out_err.get_or_insert(e);
        }
    }

    fn check(&mut self, what: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.say(outln!("  FAIL: {what}"));
            self.failed.push(what.to_owned());
        }
    }

    /// Records an operation that must succeed; returns its value.
    fn ok<T>(&mut self, what: &str, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => {
                self.passed += 1;
                Some(v)
            }
            Err(e) => {
                self.say(outln!("  FAIL: {what}: {e}"));
                self.failed.push(what.to_owned());
                None
            }
        }
    }

    /// Records an operation that must fail with `code` and leave `out` absent.
    fn refused<T>(&mut self, what: &str, r: Result<T>, code: &str, out: Option<&Path>) {
        let left = out.is_some_and(Path::exists);
        match r {
            Err(e) if e.code() == Some(code) && !left => {
                self.say(outln!("  refused as S3 would: {what}\n      error: {e}"));
                self.passed += 1;
            }
            Err(e) => {
                self.say(outln!(
                    "  FAIL: {what}: expected {code}, got {e}{}",
                    if left { " (output left behind)" } else { "" }
                ));
                self.failed.push(what.to_owned());
            }
            Ok(_) => {
                self.say(outln!("  FAIL: {what}: expected {code}, but it succeeded"));
                self.failed.push(what.to_owned());
            }
        }
    }
}

fn gbps(bytes: u64, secs: f64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a throughput figure")]
    let b = bytes as f64;
    b / secs.max(1e-9) / 1e9
}

fn flags(
    sse: Option<&str>,
    kms_key: Option<&str>,
    bucket_key: Option<bool>,
    key_file: Option<&Path>,
) -> EncryptionFlags {
    EncryptionFlags {
        sse: sse.map(str::to_owned),
        kms_key: kms_key.map(str::to_owned),
        context: None,
        bucket_key,
        sse_c_key_file: key_file.map(Path::to_path_buf),
    }
}

/// Runs the demo.
///
/// # Errors
/// [`CliError::Check`] if any check failed; setup failures.
pub fn run(args: &DemoArgs, threads: Option<usize>, _quiet: bool) -> Result<()> {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("s3seal-demo-")
        .tempdir()
        .map_err(CliError::io("create a temporary directory"))?;
    let dir = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(CliError::io(format!("create {}", d.display())))?;
            d.clone()
        }
        None => tmp.path().to_owned(),
    };
    let home = Home::open(&dir.join("home"), threads)?;
    let engine = home.engine()?;
    let backend = BackendKind::detect().name();
    let size =
        usize::try_from(args.size).map_err(|_| CliError::Usage("--size too large".to_owned()))?;
    let mut c = Checks {
        passed: 0,
        failed: Vec::new(),
        out_err: None,
    };
    outln!(
        "s3seal demo: home {}, {} MiB object, {} threads, AES-GCM backend {backend}",
        dir.display(),
        args.size >> 20,
        engine.threads()
    )?;

    outln!("\n1. keys and a bucket default (SSE-KMS with an S3 Bucket Key)")?;
    let kms = home.kms()?;
    let k1 = kms.create_key("demo key")?;
    let k2 = kms.create_key("demo key 2")?;
    kms.create_alias(
        "alias/demo",
        &s3seal::policy::KeyRef::parse(&k1.key_id).map_err(|e| CliError::Usage(e.to_string()))?,
    )?;
    outln!("  created {} (alias/demo) and {}", k1.arn, k2.arn)?;
    home.create_bucket("demo-bucket", s3seal::policy::BucketKind::GeneralPurpose)?;
    set_encryption(
        &home,
        "demo-bucket",
        config_xml("aws:kms", Some(&k1.arn), true, false).as_bytes(),
    )?;
    let b = home.bucket("demo-bucket")?;
    outln!(
        "  GetBucketEncryption: {}",
        s3seal::policy::get_bucket_encryption(&b)?
    )?;

    let data = pattern(size);
    let input = dir.join("input.bin");
    std::fs::write(&input, &data).map_err(CliError::io("write the demo input"))?;
    let key_file = dir.join("customer.key");
    std::fs::write(&key_file, pattern(40).get(8..).unwrap_or_default())
        .map_err(CliError::io("write the demo SSE-C key"))?;
    let wrong_key = dir.join("wrong.key");
    std::fs::write(&wrong_key, [7u8; 32]).map_err(CliError::io("write the demo SSE-C key"))?;
    let out = dir.join("out.bin");
    let len = data.len() as u64;
    let ranges: [(String, std::ops::Range<usize>); 3] = [
        ("bytes=0-99".to_owned(), 0..100.min(size)),
        (
            format!("bytes={}-{}", size / 2, size / 2 + 70_000),
            (size / 2).min(size)..(size / 2 + 70_001).min(size),
        ),
        ("bytes=-1000".to_owned(), size.saturating_sub(1000)..size),
    ];
    let same_file = |c: &mut Checks, what: &str, expect: &[u8]| {
        let got = std::fs::read(&out).unwrap_or_default();
        c.check(what, got == expect);
        let _ = std::fs::remove_file(&out);
    };

    outln!(
        "\n2. PUT and GET in every mode, whole and 3 ranges, checked byte for byte (files: fsync included)"
    )?;
    let modes: [(&str, &str, EncryptionFlags, Option<u64>); 7] = [
        (
            "SSE-S3",
            "sse-s3",
            flags(Some("AES256"), None, None, None),
            None,
        ),
        (
            "SSE-KMS",
            "sse-kms",
            flags(Some("aws:kms"), Some("alias/demo"), Some(false), None),
            None,
        ),
        (
            "SSE-KMS+BK",
            "sse-kms-bk",
            flags(Some("aws:kms"), Some("alias/demo"), Some(true), None),
            None,
        ),
        (
            "bucket default",
            "default",
            flags(None, None, None, None),
            None,
        ),
        (
            "DSSE-KMS",
            "dsse",
            flags(Some("aws:kms:dsse"), Some("alias/demo"), Some(false), None),
            None,
        ),
        (
            "SSE-C",
            "sse-c",
            flags(None, None, None, Some(&key_file)),
            None,
        ),
        (
            "multipart KMS",
            "multipart",
            flags(Some("aws:kms"), Some("alias/demo"), Some(false), None),
            Some(5 << 20),
        ),
    ];
    for (label, name, f, part_size) in &modes {
        let target = format!("demo-bucket/{name}");
        let opts = PutOptions {
            flags: f.clone(),
            part_size: *part_size,
            workers: 2,
            quiet: true,
        };
        let t = Instant::now();
        let put = c.ok(
            &format!("{label}: put"),
            objects::put(&home, &engine, &target, Some(&input), &opts),
        );
        let put_s = t.elapsed().as_secs_f64();
        let kf = f.sse_c_key_file.as_deref();
        let t = Instant::now();
        let got = c.ok(
            &format!("{label}: get"),
            objects::get(&home, &engine, &target, Some(&out), None, kf, true),
        );
        let get_s = t.elapsed().as_secs_f64();
        same_file(
            &mut c,
            &format!("{label}: whole object byte for byte"),
            &data,
        );
        for (r, want) in &ranges {
            c.ok(
                &format!("{label}: get {r}"),
                objects::get(&home, &engine, &target, Some(&out), Some(r), kf, true),
            );
            same_file(
                &mut c,
                &format!("{label}: {r} byte for byte"),
                data.get(want.clone()).unwrap_or_default(),
            );
        }
        let alg = put
            .as_ref()
            .and_then(|h| {
                h.get("x-amz-server-side-encryption")
                    .or_else(|| h.get("x-amz-server-side-encryption-customer-algorithm"))
            })
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        let parts = put
            .as_ref()
            .and_then(|h| h.get("etag"))
            .and_then(|v| v.to_str().ok())
            .and_then(|e| e.trim_matches('"').split_once('-'))
            .map(|(_, n)| format!(", {n} parts"))
            .unwrap_or_default();
        // The engine alone, in memory: what the crypto costs without the file system.
        let mem = match (part_size, f.headers(), crate::headers::read_headers(kf)) {
            (None, Ok(h), Ok(rh)) => {
                let b = home.bucket("demo-bucket")?;
                let req = s3seal::Request {
                    bucket: &b,
                    key: "mem",
                    headers: &h,
                    secure_transport: true,
                };
                let t = Instant::now();
                let w = engine.put_object(&req, &data);
                let seal_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let o = w.as_ref().ok().map(|w| {
                    engine.get_object(
                        &s3seal::Request {
                            headers: &rh,
                            ..req
                        },
                        &w.envelope_bytes,
                        &w.sealed,
                        None,
                    )
                });
                let open_s = t.elapsed().as_secs_f64();
                let ok = matches!(&o, Some(Ok(o)) if o.body.as_ref() == data.as_slice());
                c.check(&format!("{label}: in-memory round trip"), ok);
                format!(
                    "engine seal {:>5.2} / open {:>5.2} GB/s",
                    gbps(len, seal_s),
                    gbps(len, open_s)
                )
            }
            _ => "engine: see the single-part modes".to_owned(),
        };
        if got.is_some() {
            outln!(
                "  {label:<15} {alg:<13} {mem}; via files put {:>5.2} / get {:>5.2} GB/s  ({} threads, {backend}{parts})",
                gbps(len, put_s),
                gbps(len, get_s),
                engine.threads()
            )?;
        }
    }

    outln!(
        "\n3. copies across modes (CopyObject re-encrypts; the source's mode is not inherited)"
    )?;
    let copies: [Copy<'_>; 3] = [
        (
            "SSE-KMS -> SSE-C",
            "demo-bucket/sse-kms",
            "demo-bucket/copy-c",
            flags(None, None, None, Some(&key_file)),
            None,
            Some(&key_file),
        ),
        (
            "SSE-C -> DSSE-KMS",
            "demo-bucket/sse-c",
            "demo-bucket/copy-dsse",
            flags(Some("aws:kms:dsse"), Some("alias/demo"), Some(false), None),
            Some(&key_file),
            None,
        ),
        (
            "multipart -> SSE-S3",
            "demo-bucket/multipart",
            "demo-bucket/copy-s3",
            flags(Some("AES256"), None, None, None),
            None,
            None,
        ),
    ];
    for (label, src, dst, f, src_key, dst_key) in &copies {
        if let Some(h) = c.ok(
            &format!("copy {label}"),
            objects::copy(&home, &engine, src, dst, f, *src_key),
        ) {
            let alg = h
                .get("x-amz-server-side-encryption")
                .or_else(|| h.get("x-amz-server-side-encryption-customer-algorithm"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            outln!("  {label:<20} -> {alg}")?;
        }
        c.ok(
            &format!("copy {label}: get"),
            objects::get(
                &home,
                &engine,
                dst,
                Some(&out),
                Some(&ranges[1].0),
                *dst_key,
                true,
            ),
        );
        same_file(
            &mut c,
            &format!("copy {label}: range byte for byte"),
            data.get(ranges[1].1.clone()).unwrap_or_default(),
        );
    }

    outln!(
        "\n4. rewrap (UpdateObjectEncryption): SSE-KMS object moved to the second key, no data rewritten"
    )?;
    let sealed_path = home.store().open_object("demo-bucket", "sse-kms")?.path;
    let before = std::fs::read(&sealed_path).map_err(CliError::io("read"))?;
    let rf = flags(Some("aws:kms"), Some(&k2.arn), Some(false), None);
    if let Some(h) = c.ok(
        "rewrap",
        objects::rewrap(&home, &engine, "demo-bucket/sse-kms", &rf),
    ) {
        let arn = h
            .get("x-amz-server-side-encryption-aws-kms-key-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        outln!("  now under {arn}")?;
        c.check("rewrap: new key ARN", arn == k2.arn);
    }
    c.check(
        "rewrap: sealed bytes untouched",
        std::fs::read(&sealed_path).map_err(CliError::io("read"))? == before,
    );
    c.ok(
        "rewrap: get",
        objects::get(
            &home,
            &engine,
            "demo-bucket/sse-kms",
            Some(&out),
            None,
            None,
            true,
        ),
    );
    same_file(&mut c, "rewrap: whole object byte for byte", &data);

    outln!("\n5. one flipped ciphertext byte")?;
    c.ok(
        "tamper: copy",
        objects::copy(
            &home,
            &engine,
            "demo-bucket/sse-s3",
            "demo-bucket/tampered",
            &flags(Some("AES256"), None, None, None),
            None,
        ),
    );
    let tampered = home.store().open_object("demo-bucket", "tampered")?.path;
    let mut bytes = std::fs::read(&tampered).map_err(CliError::io("read"))?;
    let _ = std::fs::remove_file(&out);
    let mid = bytes.len() / 2;
    if let Some(b) = bytes.get_mut(mid) {
        *b ^= 0x01;
    }
    std::fs::write(&tampered, &bytes).map_err(CliError::io("write"))?;
    drop(bytes);
    outln!(
        "  flipped one bit of byte {mid} of demo-bucket/tampered's sealed bytes; GET -o out.bin:"
    )?;
    c.refused(
        "tampered object",
        objects::get(
            &home,
            &engine,
            "demo-bucket/tampered",
            Some(&out),
            None,
            None,
            true,
        ),
        "InternalError",
        Some(&out),
    );
    c.refused(
        "tampered object, range over the flipped chunk",
        objects::get(
            &home,
            &engine,
            "demo-bucket/tampered",
            Some(&out),
            Some(&format!(
                "bytes={}-{}",
                (size / 2).saturating_sub(70_000),
                size / 2
            )),
            None,
            true,
        ),
        "InternalError",
        Some(&out),
    );

    outln!("\n6. S3 rules")?;
    let put = |f: EncryptionFlags| {
        objects::put(
            &home,
            &engine,
            "demo-bucket/refused",
            Some(&input),
            &PutOptions {
                flags: f,
                part_size: None,
                workers: 1,
                quiet: true,
            },
        )
    };
    c.refused(
        "KMS key id with AES256",
        put(flags(Some("AES256"), Some("alias/demo"), None, None)),
        "InvalidArgument",
        None,
    );
    c.refused(
        "SSE-C together with aws:kms",
        put(flags(Some("aws:kms"), None, None, Some(&key_file))),
        "InvalidArgument",
        None,
    );
    c.refused(
        "GET of an SSE-C object without its key",
        objects::get(
            &home,
            &engine,
            "demo-bucket/sse-c",
            Some(&out),
            None,
            None,
            true,
        ),
        "InvalidRequest",
        Some(&out),
    );
    c.refused(
        "GET of an SSE-C object with another key",
        objects::get(
            &home,
            &engine,
            "demo-bucket/sse-c",
            Some(&out),
            None,
            Some(&wrong_key),
            true,
        ),
        "AccessDenied",
        Some(&out),
    );
    c.refused(
        "range past the end",
        objects::get(
            &home,
            &engine,
            "demo-bucket/sse-s3",
            Some(&out),
            Some(&format!("bytes={len}-")),
            None,
            true,
        ),
        "InvalidRange",
        Some(&out),
    );
    c.check(
        "nothing stored by refused requests",
        home.store().open_object("demo-bucket", "refused").is_err(),
    );

    outln!("\n7. a self-contained sealed file (encrypt / decrypt)")?;
    let sf = dir.join("file.s3sf");
    let h = flags(Some("aws:kms"), Some("alias/demo"), None, None).headers()?;
    let none = http::HeaderMap::new();
    c.ok(
        "encrypt",
        sealed_file::encrypt(&engine, &home.account(), &h, Some(&input), Some(&sf), true),
    );
    c.ok(
        "decrypt",
        sealed_file::decrypt(&engine, &home.account(), &none, Some(&sf), Some(&out), true),
    );
    same_file(&mut c, "sealed file round trip byte for byte", &data);
    let sf_len = std::fs::metadata(&sf).map(|m| m.len()).unwrap_or(0);
    outln!(
        "  {} -> {} bytes ({} of envelope and tags)",
        len,
        sf_len,
        sf_len.saturating_sub(len)
    )?;

    let total = c.passed + c.failed.len();
    outln!(
        "\n{} of {total} checks passed in {:.1} s",
        c.passed,
        started.elapsed().as_secs_f64()
    )?;
    if args.keep.is_some() {
        outln!("kept {}", dir.display())?;
    }
    if let Some(e) = c.out_err {
        return Err(e);
    }
    if c.failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Check(format!(
            "{} of {total} demo checks failed: {}",
            c.failed.len(),
            c.failed.join("; ")
        )))
    }
}
