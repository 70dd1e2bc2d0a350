//! `s3seal inspect`: what a sealed file or stored object is, without decrypting it.

use std::path::Path;

use s3seal::{Mode, ObjectEnvelope};

use crate::error::{CliError, Result};
use crate::out::outln;
use crate::sealed_file;
use crate::store::{Home, split_object};

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::SseS3 => "SSE-S3",
        Mode::SseKms => "SSE-KMS",
        Mode::DsseKms => "DSSE-KMS",
        Mode::SseC => "SSE-C",
        _ => "FSx",
    }
}

/// What `inspect` found.
struct Found {
    source: String,
    container: &'static str,
    envelope: Vec<u8>,
    sealed_len: u64,
}

fn find(home: impl FnOnce() -> Result<Home>, what: &str) -> Result<Found> {
    let p = Path::new(what);
    if p.is_file() {
        let mut f = std::fs::File::open(p).map_err(CliError::io(format!("open {what}")))?;
        let total = f
            .metadata()
            .map_err(CliError::io(format!("stat {what}")))?
            .len();
        let envelope = sealed_file::read_header(&mut f)?;
        let sealed_len = total.saturating_sub((sealed_file::HEADER_LEN + envelope.len()) as u64);
        return Ok(Found {
            source: what.to_owned(),
            container: "s3seal sealed file v1",
            envelope,
            sealed_len,
        });
    }
    let (bucket, key) = split_object(what)
        .map_err(|_| CliError::Usage(format!("{what}: no such file, and not BUCKET/KEY")))?;
    let home = home()?;
    let obj = home.store().open_object(bucket, key)?;
    Ok(Found {
        source: format!("{bucket}/{key} in {}", home.dir().display()),
        container: "stored object",
        envelope: obj.envelope,
        sealed_len: obj.len,
    })
}

/// Prints the envelope's fields (text, or JSON with `json`).
///
/// # Errors
/// Not a sealed file or stored object; a malformed envelope.
pub fn inspect(home: impl FnOnce() -> Result<Home>, what: &str, json: bool) -> Result<()> {
    let f = find(home, what)?;
    let env = ObjectEnvelope::from_bytes(&f.envelope)
        .map_err(|e| CliError::Format(format!("envelope: {e}")))?;
    let version = f.envelope.get(4).copied().unwrap_or(0);
    let parts: Vec<(u32, u64)> = env.parts.iter().map(|p| (p.number.get(), p.size)).collect();
    let context: serde_json::Map<String, serde_json::Value> = env
        .context
        .iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
        .collect();
    let v = serde_json::json!({
        "source": f.source,
        "container": f.container,
        "envelope_version": version,
        "mode": mode_name(env.mode),
        "sse_header": env.mode.header_value(),
        "bucket_key": env.bucket_key,
        "key_arn": env.key_arn,
        "context": context,
        "bucket": env.bucket,
        "key": env.key,
        "object_id": hex::encode(env.object_id),
        "chunk_size": env.chunk.bytes(),
        "parts": parts,
        "plaintext_len": env.plaintext_len,
        "sealed_len": f.sealed_len,
        "envelope_len": f.envelope.len(),
        "etag": env.etag,
    });
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::Format(e.to_string()))?
        )?;
        return Ok(());
    }
    outln!("source:      {}", f.source)?;
    outln!(
        "container:   {} (envelope v{version}, {} bytes)",
        f.container,
        f.envelope.len()
    )?;
    outln!(
        "mode:        {}{}",
        mode_name(env.mode),
        env.mode
            .header_value()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default()
    )?;
    outln!("bucket key:  {}", if env.bucket_key { "yes" } else { "no" })?;
    if !env.key_arn.is_empty() {
        outln!("key ARN:     {}", env.key_arn)?;
    }
    if !env.context.is_empty() {
        outln!("context:     {}", serde_json::Value::Object(context))?;
    }
    outln!(
        "object:      {}/{} id {}",
        env.bucket,
        env.key,
        hex::encode(env.object_id)
    )?;
    outln!("chunk size:  {} bytes", env.chunk.bytes())?;
    if parts.is_empty() {
        outln!("parts:       single PUT")?;
    } else {
        let list: Vec<String> = parts.iter().map(|(p, s)| format!("{p}:{s}")).collect();
        outln!("parts:       {} ({})", parts.len(), list.join(", "))?;
    }
    outln!("plaintext:   {} bytes", env.plaintext_len)?;
    outln!(
        "sealed:      {} bytes (+{} overhead)",
        f.sealed_len,
        f.sealed_len.saturating_sub(env.plaintext_len)
    )?;
    outln!("etag:        {}", env.etag)?;
    Ok(())
}
