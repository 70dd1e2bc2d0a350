//! `put`, `get`, `head`, `copy`, `rewrap`: S3 object operations against the local store.

use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use http::HeaderMap;
use s3seal::policy::BucketPolicy;
use s3seal::policy::headers::names;
use s3seal::{Engine, Request, StoredObject};

use crate::error::{CliError, ObjectContext, Result};
use crate::fsio::{Output, open_input, read_full};
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
        )
    } else {
        let store = home.store();
        let mut out = store.new_data()?;
        let done = {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, out.file());
            let r = engine.put_object_stream(&req, reader, &mut w)?;
            w.flush().map_err(CliError::io("write the new object"))?;
            r
        };
        store.publish(bucket_name, key, &done.envelope_bytes, out)?;
        Ok(done.headers)
    };
    bar.finish_and_clear();
    result
}

struct PartFeed {
    reader: Box<dyn Read + Send>,
    next: u32,
    done: bool,
    parts: Vec<s3seal::CompletedPart>,
    /// The upload's state, with every part sealed so far recorded.
    state: Vec<u8>,
    error: Option<CliError>,
}

/// First allocation of a part buffer; it then doubles with the bytes actually read.
const PART_BUF_START: usize = 64 << 10;

/// Reads up to `limit` bytes (one part). The buffer grows with what the input holds —
/// doubling, never past `limit` — so `--part-size 5GiB` on a 1-byte input allocates 64 KiB,
/// not 5 GiB; a full part ends with a buffer of exactly `limit`. A buffer outgrown is wiped
/// before it is freed (it held plaintext).
fn read_part(r: &mut dyn Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::new();
    while buf.len() < limit {
        if buf.len() == buf.capacity() {
            let grow = buf.len().max(PART_BUF_START).min(limit - buf.len());
            let mut bigger = Vec::with_capacity(buf.len() + grow);
            bigger.extend_from_slice(&buf);
            zeroize::Zeroize::zeroize(&mut buf);
            buf = bigger;
        }
        let start = buf.len();
        let spare = buf.capacity().min(limit) - start;
        buf.resize(start + spare, 0);
        let n = read_full(r, &mut buf[start..])?;
        buf.truncate(start + n);
        if n < spare {
            break;
        }
    }
    Ok(buf)
}

/// Reads the next part under the lock; `None` when the input is used up.
fn next_part(feed: &Mutex<PartFeed>, part_size: usize) -> Result<Option<(u32, Vec<u8>)>> {
    let mut g = feed.lock().unwrap_or_else(PoisonError::into_inner);
    if g.done {
        return Ok(None);
    }
    let buf = match read_part(&mut g.reader, part_size) {
        Ok(b) => b,
        Err(e) => {
            g.done = true;
            return Err(CliError::Io {
                what: "read input".to_owned(),
                source: e,
            });
        }
    };
    let got = buf.len();
    if got == 0 && g.next > 1 {
        g.done = true;
        return Ok(None);
    }
    if got < part_size {
        g.done = true;
    }
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
/// CompleteMultipartUpload; parts are staged in the store's scratch space and concatenated in
/// part order into the new object.
fn put_multipart(
    home: &Home,
    engine: &Engine,
    req: &Request<'_>,
    reader: Box<dyn Read + Send>,
    part_size: u64,
    workers: usize,
) -> Result<HeaderMap> {
    let ps = usize::try_from(part_size)
        .map_err(|_| CliError::Usage("--part-size too large".to_owned()))?;
    let upload = engine.create_multipart_upload(req)?;
    let store = home.store();
    let staging = store.staging()?;
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
        state: upload.state.clone(),
        error: None,
    });
    let work = |feed: &Mutex<PartFeed>| -> Result<()> {
        while let Some((n, data)) = next_part(feed, ps)? {
            // Parts are sealed in parallel from the first state, then recorded one at a time.
            let part = engine.upload_part(&part_req, &upload.state, n, &data)?;
            drop(data);
            staging
                .create_part(n)?
                .write_all(&part.sealed)
                .map_err(CliError::io(format!("write staged part {n}")))?;
            let mut g = feed.lock().unwrap_or_else(PoisonError::into_inner);
            g.state = engine.record_part(&complete_req, &g.state, &part)?;
            g.parts.push(s3seal::CompletedPart {
                part_number: n,
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
    let done = engine.complete_multipart_upload(&complete_req, &feed.state, &feed.parts)?;
    let mut out = store.new_data()?;
    for n in feed.parts.iter().map(|p| p.part_number) {
        std::io::copy(&mut staging.open_part(n)?, out.file()).map_err(CliError::io(format!(
            "copy staged part {n} into the new object"
        )))?;
    }
    store.publish(&req.bucket.name, req.key, &done.envelope_bytes, out)?;
    Ok(done.headers)
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
    let what = range.map_or(Reading::Whole, Reading::Range);
    get_with(home, engine, target, output, what, key_file, quiet)
}

/// What a GET reads.
#[derive(Debug, Clone, Copy)]
pub enum Reading<'a> {
    /// The whole object, streamed.
    Whole,
    /// A `Range` value (`bytes=A-B`, `bytes=A-`, `bytes=-N`).
    Range(&'a str),
    /// One part (`partNumber`).
    Part(u32),
}

/// GetObject of `BUCKET/KEY`: the whole object (streamed), a range or a part, to `output`
/// (`None`/`-` = standard output; a file is only created if the read succeeds). A range or a
/// part reads from disk only the stored spans it needs.
///
/// # Errors
/// As [`get`].
pub fn get_with(
    home: &Home,
    engine: &Engine,
    target: &str,
    output: Option<&Path>,
    what: Reading<'_>,
    key_file: Option<&Path>,
    quiet: bool,
) -> Result<HeaderMap> {
    let (bucket_name, key) = split_object(target)?;
    let bucket = home.bucket(bucket_name)?;
    let mut obj = home.store().open_object(bucket_name, key)?;
    let env_bytes = std::mem::take(&mut obj.envelope);
    let headers = read_headers(key_file)?;
    let req = request(&bucket, key, &headers);
    match what {
        Reading::Range(_) | Reading::Part(_) => {
            // Planned from the envelope: only the spans the read needs come from disk.
            let plan = match what {
                Reading::Part(n) => engine.plan_get_part(&req, &env_bytes, n),
                Reading::Range(r) => engine.plan_get(&req, &env_bytes, Some(r)),
                Reading::Whole => engine.plan_get(&req, &env_bytes, None),
            }
            .context_object(bucket_name, key, &obj.path)?;
            let spans = SpanReader::new(&mut obj.data, plan.spans());
            let mut out = Output::open(output)?;
            {
                let mut w = out.writer();
                plan.stream(spans, &mut w)
                    .context_object(bucket_name, key, &obj.path)?;
                w.flush().map_err(CliError::io("write output"))?;
            }
            out.commit()?;
            Ok(plan.headers().clone())
        }
        Reading::Whole => {
            let bar = bytes_bar(Some(obj.len), quiet, "get");
            let path = obj.path;
            let reader = bar.wrap_read(BufReader::with_capacity(1 << 20, obj.data));
            let mut out = Output::open(output)?;
            let h = {
                let mut w = out.writer();
                let h = engine
                    .get_object_stream(&req, &env_bytes, reader, &mut w)
                    .context_object(bucket_name, key, &path)?;
                w.flush().map_err(CliError::io("write output"))?;
                h
            };
            out.commit()?;
            bar.finish_and_clear();
            Ok(h)
        }
    }
}

/// Reads byte spans of a file back to back, seeking to each: what a ranged GET needs of a
/// stored object, and nothing else.
struct SpanReader<'a> {
    file: &'a mut std::fs::File,
    spans: std::vec::IntoIter<std::ops::Range<u64>>,
    left: u64,
}

impl<'a> SpanReader<'a> {
    fn new(file: &'a mut std::fs::File, spans: Vec<std::ops::Range<u64>>) -> Self {
        SpanReader {
            file,
            spans: spans.into_iter(),
            left: 0,
        }
    }
}

impl Read for SpanReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.left == 0 {
            let Some(s) = self.spans.next() else {
                return Ok(0);
            };
            std::io::Seek::seek(self.file, std::io::SeekFrom::Start(s.start))?;
            self.left = s.end - s.start;
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        Ok(n)
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
    part: Option<u32>,
) -> Result<HeaderMap> {
    let (bucket_name, key) = split_object(target)?;
    let bucket = home.bucket(bucket_name)?;
    let obj = home.store().open_object(bucket_name, key)?;
    let headers = read_headers(key_file)?;
    let req = request(&bucket, key, &headers);
    match part {
        Some(n) => engine.head_object_part(&req, &obj.envelope, n),
        None => engine.head_object(&req, &obj.envelope),
    }
    .context_object(bucket_name, key, &obj.path)
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
    let mut src = home.store().open_object(src_bucket_name, src_key)?;
    let mut src_sealed = Vec::new();
    src.data
        .read_to_end(&mut src_sealed)
        .map_err(CliError::io(format!("read {}", src.path.display())))?;
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
                envelope: &src.envelope,
                sealed: &src_sealed,
            },
        )
        .context_object(src_bucket_name, src_key, &src.path)?;
    let store = home.store();
    let mut out = store.new_data()?;
    out.file()
        .write_all(&written.sealed)
        .map_err(CliError::io("write the new object"))?;
    store.publish(dst_bucket_name, dst_key, &written.envelope_bytes, out)?;
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
    let obj = home.store().open_object(bucket_name, key)?;
    let headers = flags.headers()?;
    let done = engine
        .rewrap(&request(&bucket, key, &headers), &obj.envelope)
        .context_object(bucket_name, key, &obj.path)?;
    home.store()
        .replace_envelope(bucket_name, key, &obj.envelope, &done.envelope_bytes)?;
    Ok(done.headers)
}
