//! The CLI's sealed file and the LocalKms keystore files.

use std::io::Cursor;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{ObjectEnvelope, Request};
use s3seal_cli::sealed_header::{self, FILE_BUCKET, FILE_KEY, HEADER_LEN, HeaderError};
use s3seal_kms::{RootSecret, parse_generation_record, parse_keystore};
use sha2::Sha256;

use crate::home::{ACCOUNT, SSE_C_KEY, engine, sse_c_headers};

/// A sealed file (`docs/FORMAT.md` §10): the header reader never panics; what it accepts is
/// exactly `prefix(envelope, padding)` (the header is checked for exact values), and a refusal is
/// one of §13.1's messages, never an I/O error. Then `s3seal decrypt` without the CLI: the
/// engine over the testkit keystore opens the rest as the object `s3seal-file/file` with the
/// testkit SSE-C key; what it opens is as long as the envelope says and nothing else is
/// accepted.
pub fn sealed_file(data: &[u8]) {
    let mut r = Cursor::new(data);
    let envelope = match sealed_header::read_header(&mut r) {
        Ok(e) => e,
        Err(HeaderError::Io(e)) => panic!("reading a slice failed: {e}"),
        Err(_) => return,
    };
    // Everything read before the sealed bytes: header, envelope, padding (version 2).
    let consumed = usize::try_from(r.position()).expect("a slice position");
    let padding = u32::try_from(consumed - HEADER_LEN - envelope.len()).expect("bounded padding");
    let prefix = sealed_header::prefix(&envelope, padding).expect("accepted, so it fits");
    assert_eq!(data[..consumed], prefix[..]);
    let sealed = &data[consumed..];
    let Ok(env) = ObjectEnvelope::from_bytes(&envelope) else {
        return;
    };
    let bucket = BucketPolicy::new(
        FILE_BUCKET,
        BucketKind::GeneralPurpose,
        ACCOUNT,
        "us-east-1",
    );
    // SSE-C files with the key, the others without (a key given to them is refused).
    let headers = if env.mode == s3seal::Mode::SseC {
        sse_c_headers(SSE_C_KEY)
    } else {
        http::HeaderMap::new()
    };
    let req = Request {
        bucket: &bucket,
        key: FILE_KEY,
        headers: &headers,
        secure_transport: true,
    };
    let mut out = Vec::new();
    let e = engine(env.chunk.log2(), 1);
    match e.get_object_stream(&req, &envelope, sealed, &mut out) {
        Ok(_) => assert_eq!(out.len() as u64, env.plaintext_len),
        // Reading a slice and writing a vector cannot fail: any I/O error is the engine's.
        Err(err) => assert!(
            !matches!(
                err,
                s3seal::EngineError::Io(_) | s3seal::EngineError::IncompleteBody(_)
            ),
            "{err:?}"
        ),
    }
}

/// The root secret of `testkit/home` (`docs/FORMAT.md` §14: bytes 0..31).
fn testkit_root() -> RootSecret {
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = i as u8;
    }
    RootSecret::from_bytes(b).expect("not all zero")
}

/// HKDF-SHA256 of the root secret with no salt, as §11 derives the keystore keys.
fn derived(info: &[u8]) -> [u8; 32] {
    let mut root = [0u8; 32];
    for (i, x) in root.iter_mut().enumerate() {
        *x = i as u8;
    }
    let mut k = [0u8; 32];
    Hkdf::<Sha256>::new(None, &root)
        .expand(info, &mut k)
        .expect("32 bytes");
    k
}

fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// `keystore.json` and `keystore.generation` under the testkit root secret, through
/// `parse_keystore` / `parse_generation_record` (what `LocalKms::open` does with the files):
///
/// * input starting `S3SEAL-KEYSTORE-GENERATION`: a generation record; accepted ⇒ it is
///   byte-for-byte the one canonical line for its number, MAC recomputed here from §11;
/// * input starting `S3SEAL-KEYSTORE `: a keystore file as is; accepted ⇒ its header MAC is
///   §11's, recomputed here (nothing unauthenticated gets in);
/// * anything else: a keystore *body*, framed here with the right MAC, so the JSON schema and
///   the master key records are what is fuzzed; accepted ⇒ every key has material.
pub fn keystore(data: &[u8]) {
    let root = testkit_root();
    if data.starts_with(b"S3SEAL-KEYSTORE-GENERATION") {
        if let Ok(g) = parse_generation_record(&root, data) {
            let mac = hmac(
                &derived(b"s3seal keystore v1 generation"),
                &[b"S3SEAL-KEYSTORE-GENERATION 1\n", &g.to_be_bytes()],
            );
            // The MAC's hex digits may come in either case; everything else is canonical.
            let line = format!("S3SEAL-KEYSTORE-GENERATION 1 {g} {}\n", hex::encode(mac));
            assert!(line.as_bytes().eq_ignore_ascii_case(data), "{data:?}");
        }
        return;
    }
    let mac_key = derived(b"s3seal keystore v1 mac");
    let framed;
    let raw = if data.starts_with(b"S3SEAL-KEYSTORE ") {
        data
    } else {
        let mac = hmac(&mac_key, &[b"S3SEAL-KEYSTORE 1\n", data]);
        framed = [
            format!("S3SEAL-KEYSTORE 1 {}\n", hex::encode(mac)).as_bytes(),
            data,
        ]
        .concat();
        &framed
    };
    let Ok(contents) = parse_keystore(&root, raw, "aws", "us-east-1") else {
        return;
    };
    let nl = raw.iter().position(|&b| b == b'\n').expect("has a header");
    let mac = hmac(&mac_key, &[b"S3SEAL-KEYSTORE 1\n", &raw[nl + 1..]]);
    let header = format!("S3SEAL-KEYSTORE 1 {}", hex::encode(mac));
    assert!(
        raw[..nl].eq_ignore_ascii_case(header.as_bytes()),
        "an accepted keystore carries §11's MAC"
    );
    for (id, versions) in &contents.keys {
        assert!(*versions > 0, "key {id} without material");
    }
}
