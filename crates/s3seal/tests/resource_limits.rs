//! Resource limits of the engine's decoders (issue #18, item 3): the object envelope and its
//! multipart manifest, the multipart upload state, streamed GETs under the largest chunk size,
//! and Range handling. Every hostile length, size or count is a clear error, and the largest
//! single allocation — measured with a counting allocator (`support/count_alloc.rs`) — stays
//! under the bound stated in the README ("Limits") and docs/FORMAT.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

#[allow(
    unsafe_code,
    reason = "a counting global allocator is the measuring instrument"
)]
#[path = "../../../testsupport/count_alloc.rs"]
mod count_alloc;
mod support {
    pub(crate) use super::count_alloc;
}

use std::sync::Arc;

use http::HeaderMap;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{
    ChunkSize, Engine, EngineBuilder, EngineConfig, EngineError, EnvelopeError, Mode,
    ObjectEnvelope, Request, StoredObject, parse_range,
};
use s3seal_kms::{EncryptionContext, LocalKms};
use support::count_alloc::{MIB, exclusive, largest_allocation, largest_allocation_here};

const KIB: usize = 1 << 10;

struct World {
    _dir: tempfile::TempDir,
    engine: Engine,
    bucket: BucketPolicy,
    headers: HeaderMap,
}

fn world(chunk: ChunkSize) -> World {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path().join("kms")).unwrap());
    let engine = EngineBuilder::new(kms)
        .threads(2)
        .config(EngineConfig {
            chunk,
            min_part_size: 4096,
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    World {
        _dir: dir,
        engine,
        bucket: BucketPolicy::new(
            "bkt",
            BucketKind::GeneralPurpose,
            "111122223333",
            "us-east-1",
        ),
        headers: HeaderMap::new(),
    }
}

impl World {
    fn req(&self) -> Request<'_> {
        Request {
            bucket: &self.bucket,
            key: "obj",
            headers: &self.headers,
            secure_transport: true,
        }
    }
}

/// An envelope with known field offsets: bucket "b", key "k", empty ARN, context, key material
/// and manifest key, no parts.
fn plain_envelope() -> Vec<u8> {
    let mut env = ObjectEnvelope {
        mode: Mode::SseS3,
        bucket_key: false,
        upload: false,
        chunk: ChunkSize::DEFAULT,
        object_id: [1; 16],
        bucket: "b".into(),
        key: "k".into(),
        key_arn: String::new(),
        context: EncryptionContext::new(),
        key_material: Vec::new(),
        manifest_key: Vec::new(),
        salt: [0; 32],
        plaintext_len: 0,
        parts: Vec::new(),
        etag: String::new(),
        mac: [0; 32],
    };
    env.seal_mac(None).unwrap();
    env.to_bytes().unwrap()
}

// Offsets in `plain_envelope()`: the 24-byte fixed head, then u16-length fields.
const BUCKET_LEN_AT: usize = 24;
const CONTEXT_COUNT_AT: usize = 24 + 3 + 3 + 2;
const KEY_MATERIAL_LEN_AT: usize = CONTEXT_COUNT_AT + 2;
const PLAINTEXT_LEN_AT: usize = KEY_MATERIAL_LEN_AT + 2 + 2 + 32;
const PART_COUNT_AT: usize = PLAINTEXT_LEN_AT + 8;

#[test]
fn envelope_length_and_count_fields_at_their_maximum_are_errors_without_allocating_them() {
    let _serial = exclusive();
    let good = plain_envelope();
    assert!(ObjectEnvelope::from_bytes(&good).is_ok());
    // `Some(e)`: the bound check itself answers; `None`: refused further on (the claimed
    // bytes are not there), any structural error.
    for (at, value, want) in [
        // A string or blob field above 32 KiB, or within it but past the bytes present.
        (BUCKET_LEN_AT, u16::MAX, Some(EnvelopeError::FieldTooLong)),
        (BUCKET_LEN_AT, 32 * 1024, Some(EnvelopeError::Truncated)),
        (
            KEY_MATERIAL_LEN_AT,
            u16::MAX,
            Some(EnvelopeError::FieldTooLong),
        ),
        (
            KEY_MATERIAL_LEN_AT,
            32 * 1024,
            Some(EnvelopeError::Truncated),
        ),
        // More than 64 context pairs; 64 claimed, none present.
        (
            CONTEXT_COUNT_AT,
            u16::MAX,
            Some(EnvelopeError::FieldTooLong),
        ),
        (CONTEXT_COUNT_AT, 64, None),
        // 65,535 or 10,000 manifest records claimed, none present.
        (PART_COUNT_AT, u16::MAX, None),
        (PART_COUNT_AT, 10_000, None),
    ] {
        let mut hostile = good.clone();
        hostile[at..at + 2].copy_from_slice(&value.to_be_bytes());
        let (r, largest) = largest_allocation_here(|| ObjectEnvelope::from_bytes(&hostile));
        match want {
            Some(e) => assert_eq!(r, Err(e), "field at {at} = {value}"),
            None => assert!(r.is_err(), "field at {at} = {value} accepted"),
        }
        assert!(largest <= KIB, "field at {at} = {value}: {largest} bytes");
    }
    let mut huge = good.clone();
    huge.resize(good.len() + 64 * MIB, 0);
    let (r, largest) = largest_allocation_here(|| ObjectEnvelope::from_bytes(&huge));
    assert!(r.is_err());
    assert!(largest <= KIB, "{largest} bytes");
}

#[test]
fn a_terabyte_plaintext_length_in_a_stored_envelope_is_refused_before_any_buffer() {
    let _serial = exclusive();
    let w = world(ChunkSize::MAX);
    let put = w.engine.put_object(&w.req(), b"x").unwrap();
    for claimed in [1u64 << 40, 5 << 30, u64::MAX] {
        let mut env = put.envelope_bytes.clone();
        // The stored envelope's plaintext length is past its variable fields: patch by value.
        let at = env
            .windows(8)
            .rposition(|s| s == 1u64.to_be_bytes())
            .expect("plaintext length field");
        env[at..at + 8].copy_from_slice(&claimed.to_be_bytes());
        let (r, largest) = largest_allocation(|| {
            w.engine
                .get_object(&w.req(), &env, &put.sealed, None)
                .map(|o| o.body.len())
        });
        assert!(r.is_err(), "{claimed} accepted");
        assert!(largest < MIB, "{claimed}: {largest} bytes");
        let (r, largest) = largest_allocation(|| {
            w.engine
                .get_object_stream(&w.req(), &env, &put.sealed[..], std::io::sink())
                .map(|_| ())
        });
        assert!(r.is_err(), "{claimed} accepted (stream)");
        assert!(largest < MIB, "{claimed} (stream): {largest} bytes");
    }
}

#[test]
fn streamed_get_under_4_mib_chunks_allocates_with_the_bytes_present() {
    let _serial = exclusive();
    let w = world(ChunkSize::MAX);
    let put = w.engine.put_object(&w.req(), b"x").unwrap();
    let mut out = Vec::new();
    let (r, largest) = largest_allocation(|| {
        w.engine
            .get_object_stream(&w.req(), &put.envelope_bytes, &put.sealed[..], &mut out)
            .map(|_| ())
    });
    r.unwrap();
    assert_eq!(out, b"x");
    // Two threads' batch of 4 MiB chunks would be 8 MiB: the buffer follows the 17 bytes read.
    assert!(largest <= 256 * KIB, "{largest} bytes for a 1-byte object");
    // The same object cut short.
    let (r, largest) = largest_allocation(|| {
        w.engine
            .get_object_stream(
                &w.req(),
                &put.envelope_bytes,
                &put.sealed[..put.sealed.len() - 1],
                std::io::sink(),
            )
            .map(|_| ())
    });
    assert!(r.is_err());
    assert!(
        largest <= 256 * KIB,
        "{largest} bytes for a truncated object"
    );
}

#[test]
fn upload_state_lengths_and_part_counts_are_refused_without_allocating_them() {
    let _serial = exclusive();
    let w = world(ChunkSize::MIN);
    let up = w.engine.create_multipart_upload(&w.req()).unwrap();
    let good = up.state.clone();
    // "S3UP", version, u32 BE envelope length, the envelope, u16 BE part count, …
    let env_len = u32::from_be_bytes(good[5..9].try_into().unwrap()) as usize;
    let count_at = 9 + env_len;
    for (at, bytes) in [
        (5, u32::MAX.to_be_bytes().to_vec()),
        (5, (1u32 << 20).to_be_bytes().to_vec()),
        (count_at, u16::MAX.to_be_bytes().to_vec()),
        (count_at, 10_000u16.to_be_bytes().to_vec()),
    ] {
        let mut hostile = good.clone();
        hostile[at..at + bytes.len()].copy_from_slice(&bytes);
        let (r, largest) = largest_allocation(|| {
            w.engine
                .upload_part(&w.req(), &hostile, 1, b"x")
                .map(|_| ())
        });
        assert!(
            matches!(r, Err(EngineError::NoSuchUpload)),
            "field at {at}: {r:?}"
        );
        assert!(largest < 64 * KIB, "field at {at}: {largest} bytes");
    }
    // A 5 GiB part number is not a part number; part 10,001 neither.
    for n in [0, 10_001, u32::MAX] {
        let r = w.engine.upload_part(&w.req(), &good, n, b"x");
        assert!(r.is_err(), "part {n} accepted");
    }
}

#[test]
fn ranges_with_huge_or_malformed_bounds_are_clamped_or_refused() {
    let _serial = exclusive();
    // S3 semantics: a last-byte-pos past the end is clamped; a first-byte-pos past it is 416.
    assert_eq!(
        parse_range("bytes=0-18446744073709551615", 10).unwrap(),
        0..10
    );
    assert_eq!(
        parse_range("bytes=-18446744073709551615", 10).unwrap(),
        0..10
    );
    for bad in [
        "bytes=18446744073709551615-",
        "bytes=99999999999999999999999-",
        "bytes=10-",
        "bytes=5-1",
        "bytes=",
        "bytes=0-1,3-4",
    ] {
        assert!(parse_range(bad, 10).is_err(), "{bad}");
    }
    // A stored object of 1 byte asked for terabytes.
    let w = world(ChunkSize::MAX);
    let put = w.engine.put_object(&w.req(), b"x").unwrap();
    let (r, largest) = largest_allocation(|| {
        w.engine
            .get_object(&w.req(), &put.envelope_bytes, &put.sealed, Some(0..1 << 40))
            .map(|o| o.body.len())
    });
    assert!(r.is_err());
    assert!(largest < MIB, "{largest} bytes");
    // A copy source claiming a 5 GiB range of a 1-byte object.
    let src = StoredObject {
        bucket: &w.bucket,
        key: "obj",
        envelope: &put.envelope_bytes,
        sealed: &put.sealed,
    };
    let up = w.engine.create_multipart_upload(&w.req()).unwrap();
    let (r, largest) = largest_allocation(|| {
        w.engine
            .upload_part_copy(&w.req(), &up.state, 1, &src, Some(0..5 << 30))
            .map(|_| ())
    });
    assert!(r.is_err());
    assert!(largest < MIB, "{largest} bytes");
}
