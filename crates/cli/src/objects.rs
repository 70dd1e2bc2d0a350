//! `put`, `get`, `head`, `copy`, `rewrap`: S3 object operations against the local store.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use http::HeaderMap;
use s3seal::policy::BucketPolicy;
use s3seal::policy::headers::names;
use s3seal::{Engine, ObjectEnvelope, Request, StoredObject, parse_range};

use crate::error::{CliError, ObjectContext, Result};
use crate::fsio::{AtomicFile, Output, open_input, read_full, write_atomic};
use crate::headers::{EncryptionFlags, add_customer_key, read_headers};
use crate::progress::bytes_bar;
use crate::store::{Home, split_object};

/// Most parts of a multipart upload (S3's limit).
const MAX_PARTS: u32 = 10_000;

/// How `put` uploads.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Encryption flags.
    pub flags: EncryptionFlags,
    /// Multipart part size; `None` or not below the input size = a single PutObject.
    pub part_size: Option<u64>,
    /// Parts sealed at once.
    pub workers: usize,
    /// No progress bar.
    pub quiet: bool,
}

fn request<'a>(bucket: &'a BucketPolicy, key: &'a str, headers: &'a HeaderMap) -> Request<'a> {
    Request {
        bucket,
        key,
        headers,
        secure_transport: true,
    }
}

/// Stores an object: `.sealed` (already written to `sealed`) then `.env`, each atomically.
fn publish(sealed: AtomicFile, env_path: &Path, envelope: &[u8]) -> Result<()> {
    sealed.commit()?;
    write_atomic(env_path, envelope)
}

/// PutObject (or a multipart upload) of `input` (`None`/`-` = standard input) to `BUCKET/KEY`.
///
/// # Errors
/// S3 errors from the engine; I/O.
pub fn put(
    home: &Home,
    engine: &Engine,
    target: &str,
    input: Option<&Path>,
    opts: &PutOptions,
) -> Result<HeaderMap> {
    let (bucket_name, key) = split_object(target)?;
    let bucket = home.bucket(bucket_name)?;
    let headers = opts.flags.headers()?;
    let req = request(&bucket, key, &headers);
    let (reader, len) = open_input(input)?;
    let bar = bytes_bar(len, opts.quiet, "put");
    let reader = bar.wrap_read(reader);
    let (sealed_path, env_path) = home.object_paths(bucket_name, key, true)?;
    let multipart = match (opts.part_size, len) {
        (Some(ps), Some(len)) => len > ps,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let result = if let (true, Some(ps)) = (multipart, opts.part_size) {
        put_multipart(
            home,
            engine,
            &req,
            Box::new(reader),
            ps,
            opts.workers.max(1),
            &sealed_path,
            &env_path,
        )
    } else {
        let mut out = AtomicFile::create(&sealed_path)?;
        let (_, env_bytes, resp) = {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, out.file());
            let r = engine.put_object_stream(&req, reader, &mut w)?;
            w.flush()
                .map_err(CliError::io(format!("write {}", sealed_path.display())))?;
            r
        };
        publish(out, &env_path, &env_bytes)?;
        Ok(resp)
    };
    bar.finish_and_clear();
    result
}

struct PartFeed {
    reader: Box<dyn Read + Send>,
    next: u32,
    done: bool,
    parts: Vec<s3seal::CompletedPart>,
    error: Option<CliError>,
}

/// Reads the next part under the lock; `None` when the input is used up.
fn next_part(feed: &Mutex<PartFeed>, part_size: usize) -> Result<Option<(u32, Vec<u8>)>> {
    let mut g = feed.lock().unwrap_or_else(PoisonError::into_inner);
    if g.done {
        return Ok(None);
    }
    let mut buf = vec![0u8; part_size];
    let got = match read_full(&mut g.reader, &mut buf) {
        Ok(n) => n,
        Err(e) => {
            g.done = true;
            return Err(CliError::Io {
                what: "read input".to_owned(),
                source: e,
            });
        }
    };
    if got == 0 && g.next > 1 {
        g.done = true;
        return Ok(None);
    }
    if got < part_size {
        g.done = true;
    }
    buf.truncate(got);
    let n = g.next;
    if n > MAX_PARTS {
        g.done = true;
        return Err(CliError::Usage(format!(
            "more than {MAX_PARTS} parts: use a larger --part-size"
        )));
    }
    g.next += 1;
    Ok(Some((n, buf)))
}

/// CreateMultipartUpload, UploadPart × N (up to `workers` parts sealed at once, read in order),
/// CompleteMultipartUpload; parts are staged under `uploads/` and concatenated in part order.
#[expect(
    clippy::too_many_arguments,
    reason = "one internal call site; a struct would only rename them"
)]
fn put_multipart(
    home: &Home,
    engine: &Engine,
    req: &Request<'_>,
    reader: Box<dyn Read + Send>,
    part_size: u64,
    workers: usize,
    sealed_path: &Path,
    env_path: &Path,
) -> Result<HeaderMap> {
    let ps = usize::try_from(part_size)
        .map_err(|_| CliError::Usage("--part-size too large".to_owned()))?;
    let upload = engine.create_multipart_upload(req)?;
    let staging = tempfile::Builder::new()
        .prefix(&format!("{}-", hex::encode(upload.envelope.object_id)))
        .tempdir_in(home.uploads_dir(&req.bucket.name)?)
        .map_err(CliError::io("create the upload directory"))?;
    // Encryption is chosen at CreateMultipartUpload: UploadPart takes only the SSE-C triple,
    // CompleteMultipartUpload no encryption header at all.
    let mut part_headers = HeaderMap::new();
    for name in names::SSE_C {
        if let Some(v) = req.headers.get(name) {
            part_headers.insert(name, v.clone());
        }
    }
    let part_req = Request {
        headers: &part_headers,
        ..*req
    };
    let none = HeaderMap::new();
    let complete_req = Request {
        headers: &none,
        ..*req
    };
    let feed = Mutex::new(PartFeed {
        reader,
        next: 1,
        done: false,
        parts: Vec::new(),
        error: None,
    });
    let work = |feed: &Mutex<PartFeed>| -> Result<()> {
        while let Some((n, data)) = next_part(feed, ps)? {
            let part = engine.upload_part(&part_req, &upload.envelope_bytes, n, &data)?;
            drop(data);
            let path = staging.path().join(format!("part-{n:05}"));
            std::fs::write(&path, &part.sealed)
                .map_err(CliError::io(format!("write {}", path.display())))?;
            feed.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .parts
                .push(s3seal::CompletedPart {
                    part_number: n,
                    size: part.plaintext_len,
                    etag: part.etag.clone(),
                });
        }
        Ok(())
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                if let Err(e) = work(&feed) {
                    let mut g = feed.lock().unwrap_or_else(PoisonError::into_inner);
                    g.done = true;
                    g.error.get_or_insert(e);
                }
            });
        }
    });
    let mut feed = feed.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = feed.error.take() {
        return Err(e);
    }
    feed.parts.sort_unstable_by_key(|p| p.part_number);
    let (_, env_bytes, headers) =
        engine.complete_multipart_upload(&complete_req, &upload.envelope_bytes, &feed.parts)?;
    let mut out = AtomicFile::create(sealed_path)?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, out.file());
        for n in feed.parts.iter().map(|p| p.part_number) {
            let path = staging.path().join(format!("part-{n:05}"));
            let mut f =
                File::open(&path).map_err(CliError::io(format!("read {}", path.display())))?;
            std::io::copy(&mut f, &mut w)
                .map_err(CliError::io(format!("write {}", sealed_path.display())))?;
        }
        w.flush()
            .map_err(CliError::io(format!("write {}", sealed_path.display())))?;
    }
    publish(out, env_path, &env_bytes)?;
    Ok(headers)
}

/// GetObject of `BUCKET/KEY`, whole (streamed) or a `bytes=A-B` range, to `output`
/// (`None`/`-` = standard output; a file is only created if the read succeeds).
///
/// # Errors
/// S3 errors from the engine (wrong SSE-C key, tampered data, bad range); I/O.
pub fn get(
    home: &Home,
    engine: &Engine,
    target: &str,
    output: Option<&Path>,
    range: Option<&str>,
    key_file: Option<&Path>,
    quiet: bool,
) -> Result<HeaderMap> {
    let (bucket_name, key) = split_object(target)?;
    let bucket = home.bucket(bucket_name)?;
    let (env_bytes, sealed_path) = home.read_object(bucket_name, key)?;
    let headers = read_headers(key_file)?;
    let req = request(&bucket, key, &headers);
    let open_sealed = || {
        File::open(&sealed_path).map_err(CliError::io(format!("read {}", sealed_path.display())))
    };
    match range {
        Some(r) => {
            let env = ObjectEnvelope::from_bytes(&env_bytes).context_object(
                bucket_name,
                key,
                &sealed_path,
            )?;
            let range = parse_range(r, env.plaintext_len)?;
            let mut sealed = Vec::new();
            open_sealed()?
                .read_to_end(&mut sealed)
                .map_err(CliError::io(format!("read {}", sealed_path.display())))?;
            let opened = engine
                .get_object(&req, &env_bytes, &sealed, Some(range))
                .context_object(bucket_name, key, &sealed_path)?;
            let mut out = Output::open(output)?;
            {
                let mut w = out.writer();
                w.write_all(&opened.body)
                    .and_then(|()| w.flush())
                    .map_err(CliError::io("write output"))?;
            }
            out.commit()?;
            Ok(opened.headers)
        }
        None => {
            let f = open_sealed()?;
            let len = f.metadata().ok().map(|m| m.len());
            let bar = bytes_bar(len, quiet, "get");
            let reader = bar.wrap_read(BufReader::with_capacity(1 << 20, f));
            let mut out = Output::open(output)?;
            let h = {
                let mut w = out.writer();
                let h = engine
                    .get_object_stream(&req, &env_bytes, reader, &mut w)
                    .context_object(bucket_name, key, &sealed_path)?;
                w.flush().map_err(CliError::io("write output"))?;
                h
            };
            out.commit()?;
            bar.finish_and_clear();
            Ok(h)
        }
    }
}

/// HeadObject of `BUCKET/KEY`.
///
/// # Errors
/// S3 errors from the engine (e.g. an SSE-C object without its key).
pub fn head(
    home: &Home,
    engine: &Engine,
    target: &str,
    key_file: Option<&Path>,
) -> Result<HeaderMap> {
    let (bucket_name, key) = split_object(target)?;
    let bucket = home.bucket(bucket_name)?;
    let (env_bytes, sealed_path) = home.read_object(bucket_name, key)?;
    let headers = read_headers(key_file)?;
    engine
        .head_object(&request(&bucket, key, &headers), &env_bytes)
        .context_object(bucket_name, key, &sealed_path)
}

/// CopyObject from `src` to `dst` (both `BUCKET/KEY`).
///
/// # Errors
/// S3 errors from the engine; I/O.
pub fn copy(
    home: &Home,
    engine: &Engine,
    src: &str,
    dst: &str,
    flags: &EncryptionFlags,
    copy_key_file: Option<&Path>,
) -> Result<HeaderMap> {
    let (src_bucket_name, src_key) = split_object(src)?;
    let (dst_bucket_name, dst_key) = split_object(dst)?;
    let src_bucket = home.bucket(src_bucket_name)?;
    let dst_bucket = home.bucket(dst_bucket_name)?;
    let (src_env, src_sealed_path) = home.read_object(src_bucket_name, src_key)?;
    let src_sealed = std::fs::read(&src_sealed_path)
        .map_err(CliError::io(format!("read {}", src_sealed_path.display())))?;
    let mut headers = flags.headers()?;
    if let Some(p) = copy_key_file {
        add_customer_key(&mut headers, p, true)?;
    }
    let written = engine
        .copy_object(
            &request(&dst_bucket, dst_key, &headers),
            &StoredObject {
                bucket: &src_bucket,
                key: src_key,
                envelope: &src_env,
                sealed: &src_sealed,
            },
        )
        .context_object(src_bucket_name, src_key, &src_sealed_path)?;
    let (sealed_path, env_path) = home.object_paths(dst_bucket_name, dst_key, true)?;
    let mut out = AtomicFile::create(&sealed_path)?;
    out.file()
        .write_all(&written.sealed)
        .map_err(CliError::io(format!("write {}", sealed_path.display())))?;
    publish(out, &env_path, &written.envelope_bytes)?;
    Ok(written.headers)
}

/// UpdateObjectEncryption: rewraps `BUCKET/KEY`'s data key under another KMS key; the sealed
/// bytes are untouched and the envelope is replaced atomically.
///
/// # Errors
/// S3 errors from the engine (e.g. SSE-C objects cannot be rewrapped).
pub fn rewrap(
    home: &Home,
    engine: &Engine,
    target: &str,
    flags: &EncryptionFlags,
) -> Result<HeaderMap> {
    let (bucket_name, key) = split_object(target)?;
    let bucket = home.bucket(bucket_name)?;
    let (env_bytes, sealed_path) = home.read_object(bucket_name, key)?;
    let headers = flags.headers()?;
    let (_, new_env, h) = engine
        .rewrap(&request(&bucket, key, &headers), &env_bytes)
        .context_object(bucket_name, key, &sealed_path)?;
    let (_, env_path) = home.object_paths(bucket_name, key, false)?;
    write_atomic(&env_path, &new_env)?;
    Ok(h)
}
