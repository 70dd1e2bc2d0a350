//! The self-contained sealed file of `s3seal encrypt` / `s3seal decrypt`: one object's envelope
//! and sealed bytes in one file, so a file can travel without an object store.
//!
//! ```text
//!  0      4     5        8                 12             12 + n
//!  +------+-----+--------+-----------------+--------------+---------------------------+
//!  |"S3SF"| ver | 0 0 0  | envelope len n  | envelope (n) | sealed bytes, to the end  |
//!  |      | =1  |reserved| u32 big-endian  | (S3EV …)     | (the engine's sealed      |
//!  |      |     |        |                 |              |  stream, part 0)          |
//!  +------+-----+--------+-----------------+--------------+---------------------------+
//! ```
//!
//! * The envelope is the engine's `ObjectEnvelope` of an object written to the pseudo bucket
//!   [`FILE_BUCKET`] under key [`FILE_KEY`]; the sealed bytes are that object's sealed stream.
//!   Both are authenticated by the engine (the envelope's HMAC, each chunk's GCM tag, the last
//!   chunk flag), so nothing here needs its own MAC: the four header bytes are checked for their
//!   exact values and anything else is refused.
//! * `n` is at most [`s3seal_cli::sealed_header::MAX_ENVELOPE`]; the reserved bytes must be
//!   zero. The header's reader and writer are in the library half, [`s3seal_cli::sealed_header`].
//! * The key material is whatever the mode keeps: a KMS blob from the keystore in `--home` for
//!   SSE-S3 / SSE-KMS / DSSE-KMS (decrypting needs that keystore), or an SSE-C key verifier. An
//!   SSE-C file is self-contained: its envelope MAC is keyed from the customer key, so it
//!   decrypts in any home, a new empty one included, with the same key file alone
//!   (`docs/FORMAT.md` §10).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use http::HeaderMap;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{Engine, Request};

use crate::error::{CliError, Result};
use crate::fsio::{Output, open_input};
use crate::progress::bytes_bar;
use crate::store::REGION;

use s3seal_cli::sealed_header::HeaderError;
pub use s3seal_cli::sealed_header::{FILE_BUCKET, FILE_KEY, HEADER_LEN};

/// The pseudo bucket, owned by the keystore's account.
#[must_use]
pub fn file_bucket(account: &str) -> BucketPolicy {
    BucketPolicy::new(FILE_BUCKET, BucketKind::GeneralPurpose, account, REGION)
}

fn write_header(w: &mut dyn Write, envelope: &[u8]) -> Result<()> {
    let h = s3seal_cli::sealed_header::header(envelope.len())?;
    w.write_all(&h)
        .and_then(|()| w.write_all(envelope))
        .map_err(CliError::io("write output"))
}

/// Reads the header and envelope of a sealed file; the reader is left at the sealed bytes.
///
/// # Errors
/// [`CliError::Format`] for a file that is not a sealed file, another version, or truncated.
pub fn read_header(r: &mut dyn Read) -> Result<Vec<u8>> {
    Ok(s3seal_cli::sealed_header::read_header(r)?)
}

impl From<HeaderError> for CliError {
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::Io(e) => CliError::io("read input")(e),
            other => CliError::Format(other.to_string()),
        }
    }
}

/// Encrypts `input` into a sealed file at `output`. The sealed stream is spooled to a temporary
/// file first (beside the output, or in the temp directory for standard output) because the
/// envelope, written first, is only known at the end.
///
/// # Errors
/// S3 errors from the engine (bad flags); I/O.
pub fn encrypt(
    engine: &Engine,
    account: &str,
    headers: &HeaderMap,
    input: Option<&Path>,
    output: Option<&Path>,
    quiet: bool,
) -> Result<HeaderMap> {
    let bucket = file_bucket(account);
    let req = Request {
        bucket: &bucket,
        key: FILE_KEY,
        headers,
        secure_transport: true,
    };
    let (reader, len) = open_input(input)?;
    let bar = bytes_bar(len, quiet, "encrypt");
    let reader = bar.wrap_read(reader);
    let spool_dir = match output {
        // Beside a regular (or new) output file only: not in /dev for `-o /dev/null`.
        Some(p) if p.as_os_str() != "-" && std::fs::metadata(p).map_or(true, |m| m.is_file()) => p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf),
        _ => None,
    };
    let mut spool = match &spool_dir {
        Some(d) => tempfile::tempfile_in(d),
        None => tempfile::tempfile(),
    }
    .map_err(CliError::io("create a temporary file"))?;
    let done = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut spool);
        let r = engine.put_object_stream(&req, reader, &mut w)?;
        w.flush().map_err(CliError::io("write a temporary file"))?;
        r
    };
    bar.finish_and_clear();
    spool
        .seek(SeekFrom::Start(0))
        .map_err(CliError::io("read a temporary file"))?;
    let mut out = Output::open(output)?;
    {
        let mut w = out.writer();
        write_header(&mut w, &done.envelope_bytes)?;
        std::io::copy(&mut spool, &mut w)
            .and_then(|_| w.flush())
            .map_err(CliError::io("write output"))?;
    }
    out.commit()?;
    Ok(done.headers)
}

/// Decrypts a sealed file, streaming: only authenticated chunks are released. A file output is
/// only created if the whole file authenticates; on standard output, chunks before a failure
/// have been written (as with `age`), and the exit status is non-zero.
///
/// # Errors
/// [`CliError::Format`] for a damaged header; S3 errors from the engine (tampered or truncated
/// data, wrong SSE-C key); I/O.
pub fn decrypt(
    engine: &Engine,
    account: &str,
    headers: &HeaderMap,
    input: Option<&Path>,
    output: Option<&Path>,
    quiet: bool,
) -> Result<HeaderMap> {
    let bucket = file_bucket(account);
    let req = Request {
        bucket: &bucket,
        key: FILE_KEY,
        headers,
        secure_transport: true,
    };
    let (mut reader, len) = open_input(input)?;
    let env = read_header(&mut reader)?;
    let bar = bytes_bar(len, quiet, "decrypt");
    let reader = bar.wrap_read(reader);
    let mut out = Output::open(output)?;
    let h = {
        let mut w = out.writer();
        let h = engine.get_object_stream(&req, &env, reader, &mut w)?;
        w.flush().map_err(CliError::io("write output"))?;
        h
    };
    out.commit()?;
    bar.finish_and_clear();
    Ok(h)
}
