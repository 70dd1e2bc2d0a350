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
//!   chunk flag), so nothing here needs its own MAC: the header bytes are checked for their
//!   exact values, the padding for zeros, and anything else is refused.
//! * `n` is at most [`s3seal_cli::sealed_header::MAX_ENVELOPE`]. Version 1 has no padding.
//!   Version 2 pads the envelope with zero bytes so that a file written to a seekable output
//!   streams its sealed bytes straight to their place at [`DATA_OFFSET`] and writes the
//!   envelope, known only at the end, in front of them: no spool, no second copy. A writer
//!   uses version 1 when it spools (standard output) or the envelope does not fit before
//!   [`DATA_OFFSET`]. The header's reader and writer are in the library half,
//!   [`s3seal_cli::sealed_header`].
//! * The key material is whatever the mode keeps: a KMS blob from the keystore in `--home` for
//!   SSE-S3 / SSE-KMS / DSSE-KMS (decrypting needs that keystore), or an SSE-C key verifier. An
//!   SSE-C file is self-contained: its envelope MAC is keyed from the customer key, so it
//!   decrypts in any home, a new empty one included, with the same key file alone
//!   (`docs/FORMAT.md` §10).
//! * The ETag in the envelope is opaque: a sealed file is no S3 object, and S3's MD5 ETag would
//!   bound the encrypt at MD5's speed.

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
pub use s3seal_cli::sealed_header::{DATA_OFFSET, FILE_BUCKET, FILE_KEY, HEADER_LEN};

/// The pseudo bucket, owned by the keystore's account.
#[must_use]
pub fn file_bucket(account: &str) -> BucketPolicy {
    BucketPolicy::new(FILE_BUCKET, BucketKind::GeneralPurpose, account, REGION)
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

/// Encrypts `input` into a sealed file at `output`. A file output gets the sealed stream
/// straight at [`DATA_OFFSET`] and the envelope, known only at the end, in front of it
/// (version 2). Standard output and devices cannot seek: there the sealed stream is spooled to a
/// temporary file first and copied out after the envelope (version 1), as is a file whose
/// envelope turns out too large for the space before [`DATA_OFFSET`].
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
    let mut out = Output::open(output)?;
    let done = if let Some(file) = out.seekable() {
        let io = |e| CliError::io("write output")(e);
        file.seek(SeekFrom::Start(DATA_OFFSET)).map_err(io)?;
        let done = {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut *file);
            let r = engine.put_object_stream(&req, reader, &mut w)?;
            w.flush().map_err(io)?;
            r
        };
        let room = usize::try_from(DATA_OFFSET).map_or(0, |d| d - HEADER_LEN);
        if let Some(padding) = room
            .checked_sub(done.envelope_bytes.len())
            .filter(|&p| p > 0)
        {
            let padding = u32::try_from(padding).map_err(|_| CliError::Format("padding".into()))?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.write_all(&s3seal_cli::sealed_header::prefix(
                &done.envelope_bytes,
                padding,
            )?)
            .map_err(io)?;
        } else {
            unpad(file, &done.envelope_bytes)?;
        }
        done
    } else {
        let mut spool = tempfile::tempfile().map_err(CliError::io("create a temporary file"))?;
        let done = {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut spool);
            let r = engine.put_object_stream(&req, reader, &mut w)?;
            w.flush().map_err(CliError::io("write a temporary file"))?;
            r
        };
        spool
            .seek(SeekFrom::Start(0))
            .map_err(CliError::io("read a temporary file"))?;
        let mut w = out.writer();
        w.write_all(&s3seal_cli::sealed_header::prefix(&done.envelope_bytes, 0)?)
            .map_err(CliError::io("write output"))?;
        std::io::copy(&mut spool, &mut w)
            .and_then(|_| w.flush())
            .map_err(CliError::io("write output"))?;
        done
    };
    bar.finish_and_clear();
    out.commit()?;
    Ok(done.headers)
}

/// The rare file whose envelope does not fit before [`DATA_OFFSET`]: moves the sealed bytes
/// through a spool to follow an unpadded (version 1) header.
fn unpad(file: &mut std::fs::File, envelope: &[u8]) -> Result<()> {
    let mut spool = tempfile::tempfile().map_err(CliError::io("create a temporary file"))?;
    let io = |e| CliError::io("write output")(e);
    file.seek(SeekFrom::Start(DATA_OFFSET)).map_err(io)?;
    std::io::copy(file, &mut spool).map_err(io)?;
    spool.seek(SeekFrom::Start(0)).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.set_len(0).map_err(io)?;
    file.write_all(&s3seal_cli::sealed_header::prefix(envelope, 0)?)
        .map_err(io)?;
    std::io::copy(&mut spool, file).map_err(io)?;
    Ok(())
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
