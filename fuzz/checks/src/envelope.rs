//! The object envelope, its multipart manifest, and the multipart upload state.

use http::HeaderMap;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{ChunkSize, Mode, ObjectEnvelope, PartNumber, Request, UploadState};
use s3seal_gcm::{Geometry, MultipartLayout};

use crate::home::{ACCOUNT, engine};

/// `ObjectEnvelope::from_bytes` never panics, and what it accepts serializes back to the same
/// bytes (`docs/FORMAT.md` §7: every field has one encoding, context keys strictly ascending),
/// with the structural rules of §13.3 holding.
pub fn envelope(data: &[u8]) {
    if let Ok(env) = ObjectEnvelope::from_bytes(data) {
        assert_eq!(env.to_bytes().as_deref(), Ok(data));
        check_manifest(&env);
    }
}

/// §13.3's manifest rules on an accepted envelope, and its layout.
fn check_manifest(env: &ObjectEnvelope) {
    assert!(env.context.len() <= 64);
    assert!(env.parts.len() <= 10_000);
    for w in env.parts.windows(2) {
        assert!(w[0].number < w[1].number, "manifest not ascending");
    }
    for p in &env.parts {
        assert!((1..=10_000).contains(&p.number.get()));
    }
    if env.is_multipart() {
        assert_eq!(
            env.parts
                .iter()
                .try_fold(0u64, |a, p| a.checked_add(p.size)),
            Some(env.plaintext_len)
        );
    }
    let parts = env.layout_parts();
    let g = Geometry::single(env.chunk);
    let total = parts.iter().try_fold(0u64, |a, &(_, size)| {
        g.sealed_len(size).and_then(|s| a.checked_add(s))
    });
    match MultipartLayout::new(env.chunk, parts) {
        Ok(layout) => {
            assert_eq!(layout.plaintext_len(), env.plaintext_len);
            assert_eq!(Some(layout.sealed_len()), total);
        }
        Err(e) => assert_eq!(total, None, "a valid manifest refused: {e:?}"),
    }
}

/// The fixed envelope `manifest` inputs are spliced into (single-part, empty ETag, zero MAC).
pub(crate) fn manifest_frame_envelope() -> ObjectEnvelope {
    ObjectEnvelope {
        mode: Mode::SseS3,
        bucket_key: false,
        upload: false,
        chunk: ChunkSize::MIN,
        object_id: [7; 16],
        bucket: "fuzz-bucket".to_owned(),
        key: "fuzz-object".to_owned(),
        key_arn: String::new(),
        context: s3seal::kms::EncryptionContext::new(),
        key_material: Vec::new(),
        manifest_key: Vec::new(),
        salt: [0; 32],
        plaintext_len: 0,
        parts: Vec::new(),
        etag: String::new(),
        mac: [0; 32],
    }
}

/// The bytes around a `manifest` input: everything before the manifest (plaintext length,
/// part count, parts), and the empty ETag and zero MAC after it.
pub(crate) fn manifest_frame() -> (Vec<u8>, Vec<u8>) {
    let bytes = manifest_frame_envelope()
        .to_bytes()
        .expect("fixed envelope");
    // plaintext (8) + part count (2) + ETag length (2) + MAC (32) follow the salt.
    let prefix = bytes[..bytes.len() - 44].to_vec();
    (prefix, vec![0; 34])
}

/// The multipart manifest of an envelope (§7 `parts`): `data` is the bytes from the plaintext
/// length through the last part record, spliced into a fixed envelope. Accepted ⇒ the envelope
/// re-encodes to the same bytes, numbers are 1..=10000 and strictly ascending, sizes sum to the
/// plaintext length, and `MultipartLayout` accepts the parts unless their sealed length
/// overflows (then it must refuse them).
pub fn manifest(data: &[u8]) {
    let (prefix, suffix) = manifest_frame();
    let bytes = [&prefix[..], data, &suffix[..]].concat();
    if let Ok(env) = ObjectEnvelope::from_bytes(&bytes) {
        assert_eq!(env.to_bytes().as_deref(), Ok(&bytes[..]));
        check_manifest(&env);
    }
}

/// The multipart upload state (`docs/FORMAT.md` §8; the store keeps it opaque,
/// `crates/store/src/upload.rs`, and the engine decodes it): `UploadState::from_bytes` never
/// panics; accepted ⇒ it re-encodes to the same bytes before the MAC, with at most 10,000
/// strictly ascending parts. Then the engine's ListParts over the state (testkit keystore; an
/// FSx upload's state is not authenticated, so the fuzzer reaches past the MAC there): what it
/// lists is exactly the decoded parts.
pub fn upload_state(data: &[u8]) {
    let Ok(state) = UploadState::from_bytes(data) else {
        return;
    };
    let again = state.to_bytes(None, &[0; 16]).expect("decoded, so it fits");
    assert_eq!(again.len(), data.len());
    assert_eq!(again[..again.len() - 32], data[..data.len() - 32]);
    assert!(state.parts.len() <= 10_000);
    for w in state.parts.windows(2) {
        assert!(w[0].number < w[1].number);
    }
    assert!(state.parts.iter().all(|p| p.number != PartNumber::SINGLE));
    let Ok(env) = ObjectEnvelope::from_bytes(&state.envelope) else {
        return;
    };
    let kind = if env.mode == Mode::Fsx {
        BucketKind::FsxAccessPoint
    } else {
        BucketKind::GeneralPurpose
    };
    let bucket = BucketPolicy::new(&env.bucket, kind, ACCOUNT, "us-east-1");
    let headers = HeaderMap::new();
    let req = Request {
        bucket: &bucket,
        key: &env.key,
        headers: &headers,
        secure_transport: true,
    };
    // Refused (not this bucket's upload, a MAC that does not verify, …) is fine.
    if let Ok(listed) = engine(env.chunk.log2(), 1).list_parts(&req, data) {
        assert_eq!(listed.len(), state.parts.len());
        for (l, p) in listed.iter().zip(&state.parts) {
            assert_eq!(l.part_number, p.number.get());
            assert_eq!(l.size, p.size);
            assert_eq!(l.etag, hex::encode(p.md5.unwrap_or(p.digest)));
        }
    }
}
