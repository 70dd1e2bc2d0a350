//! The checks of the first targets: sealed parts, ranges, layer records, bucket XML, SSE
//! headers, key ids and contexts.

use std::io::Read;

use s3seal_dsse::LayerRecord;
use s3seal_gcm::{Decryptor, HEADER_LEN, Header, PartNumber};
use s3seal_kms::{EncryptionContext, KeyRef};
use s3seal_policy::{
    AliasPolicy, BucketKind, BucketPolicy, SseHeaders, parse_bucket_encryption,
    put_bucket_encryption,
};

use crate::fixtures::{CONTEXT, RangeInput, RequestInput, data_key, dsse_keys, resolve};
use crate::take;

/// `Header::read` never panics, and what it accepts writes back to the same 76 bytes.
pub fn sealed_header(data: &[u8]) {
    if let Ok(header) = Header::read(data) {
        assert_eq!(header.write()[..], data[..HEADER_LEN]);
    }
}

/// `open_part` never panics, and what it opens has the plaintext length the layout predicts.
pub fn open_part(data: &[u8]) {
    if let Ok(plaintext) = s3seal_gcm::open_part(&data_key(), CONTEXT, PartNumber::SINGLE, data) {
        let chunk = Header::read(data)
            .expect("opened, so the header parsed")
            .chunk_size;
        assert_eq!(
            s3seal_gcm::plaintext_len(data.len() as u64, chunk),
            Ok(plaintext.len() as u64)
        );
    }
}

/// Differential: a streaming `Decryptor` accepts exactly what `open_part` accepts, with the same
/// plaintext; when it fails it has released only whole, authenticated non-final chunks.
/// Input: `(batch: u8, sealed: &[u8])`.
pub fn stream_decryptor(data: &[u8]) {
    let Some((batch, data)) = take::<(u8, &[u8])>(data) else {
        return;
    };
    let whole = s3seal_gcm::open_part(&data_key(), CONTEXT, PartNumber::SINGLE, data);
    let mut streamed = Vec::new();
    let result = Decryptor::new(data, &data_key(), CONTEXT, PartNumber::SINGLE)
        .map(|d| d.with_batch(usize::from(batch % 4) + 1))
        .and_then(|mut d| {
            d.read_to_end(&mut streamed)
                .map_err(|e| e.into())
                .map(|_| ())
        });
    match (&whole, result) {
        (Ok(plaintext), Ok(())) => assert_eq!(plaintext[..], streamed[..]),
        (Err(_), Err(_)) => {
            let chunk = Header::read(data).map_or(usize::MAX, |h| h.chunk_size.bytes());
            assert!(streamed.is_empty() || streamed.len() % chunk == 0);
        }
        (whole, streamed) => panic!("open_part {whole:?} but Decryptor {streamed:?}"),
    }
}

/// Length and range arithmetic never panics (debug assertions catch overflow) and plans stay
/// inside the sealed object. Input: [`RangeInput`].
pub fn range_plan(data: &[u8]) {
    let Some(input) = take::<RangeInput>(data) else {
        return;
    };
    let Some(g) = input.geometry() else { return };
    if let Ok(p) = g.plaintext_len(input.sealed_len) {
        assert_eq!(g.sealed_len(p), Some(input.sealed_len));
    }
    let range = input.start..input.end;
    if let (Some(sealed), Ok(plan)) = (
        g.sealed_len(input.plaintext_len),
        g.plan_range(input.plaintext_len, range.clone()),
    ) {
        assert_eq!(plan.len, input.end - input.start);
        assert!(
            g.header <= plan.sealed.start
                && plan.sealed.start <= plan.sealed.end
                && plan.sealed.end <= sealed
        );
        assert!(
            plan.len == 0
                || (plan.first <= plan.last
                    && plan.last <= plan.final_index
                    && plan.skip < g.chunk)
        );
    }
    let Some(layout) = input.layout(g) else {
        return;
    };
    if let Ok(plan) = layout.plan_range(range) {
        assert_eq!(
            plan.iter().map(|p| p.chunks.len).sum::<u64>(),
            input.end - input.start
        );
        for p in &plan {
            let part = layout
                .part_sealed_range(p.position)
                .expect("planned part exists");
            assert!(part.start == p.header.start && p.header.end <= p.chunks.sealed.start);
            assert!(p.chunks.sealed.end <= part.end);
        }
    }
}

/// `LayerRecord::from_bytes` never panics, and what it accepts serializes back to the same bytes.
pub fn dsse_record(data: &[u8]) {
    if let Ok(record) = LayerRecord::from_bytes(data) {
        assert_eq!(record.to_bytes().as_deref(), Ok(data));
    }
}

/// Dual-layer `open_part` never panics, and what it opens has the length the geometry predicts.
pub fn dsse_open(data: &[u8]) {
    if let Ok(plaintext) = s3seal_dsse::open_part(&dsse_keys(), CONTEXT, PartNumber::SINGLE, data) {
        let chunk = Header::read(data)
            .expect("opened, so the header parsed")
            .chunk_size;
        assert_eq!(
            s3seal_dsse::geometry(chunk).plaintext_len(data.len() as u64),
            Ok(plaintext.len() as u64)
        );
    }
}

/// PutBucketEncryption bodies: no panic, no 5xx, and an accepted configuration reads back the
/// same through GetBucketEncryption's document.
pub fn bucket_xml(data: &[u8]) {
    for kind in [
        BucketKind::GeneralPurpose,
        BucketKind::Directory,
        BucketKind::FsxAccessPoint,
    ] {
        let bucket = BucketPolicy::new("fuzz-bucket", kind, "111122223333", "us-east-1");
        for policy in [AliasPolicy::Warn, AliasPolicy::Refuse] {
            match put_bucket_encryption(&bucket, data, policy) {
                Ok(parsed) => {
                    let again = parse_bucket_encryption(
                        parsed.encryption.to_xml().as_bytes(),
                        AliasPolicy::Warn,
                    );
                    assert_eq!(again.map(|p| p.encryption), Ok(parsed.encryption));
                }
                Err(e) => assert!(e.s3().status.as_u16() < 500, "{e:?}"),
            }
        }
    }
}

/// Any SSE request headers, over any bucket kind and operation: `SseHeaders::parse`,
/// `resolve_write` and `resolve_read` never panic and never answer with a 5xx.
/// Input: [`RequestInput`].
pub fn sse_headers(data: &[u8]) {
    let Some(input) = take::<RequestInput>(data) else {
        return;
    };
    if let Err(e) = SseHeaders::parse(&input.header_map(), input.secure) {
        assert!(e.s3().status.as_u16() < 500, "{e:?}");
    }
    if let Some(e) = resolve(&input) {
        assert!(e.s3().status.as_u16() < 500, "{e:?}");
    }
}

/// `KeyRef::parse` never panics, and what it accepts prints back to the same string.
/// Input: UTF-8 (the longest valid prefix, as `fuzz_target!(|s: &str|)`).
pub fn kms_key_id(data: &[u8]) {
    let Some(s) = take::<&str>(data) else { return };
    if let Ok(key) = KeyRef::parse(s) {
        assert_eq!(key.to_string(), s);
    }
}

/// `EncryptionContext::from_json` never panics, and what it accepts round-trips through
/// `to_json` with the same canonical bytes (the AAD a KMS blob is bound to). Input: UTF-8.
pub fn kms_context(data: &[u8]) {
    let Some(s) = take::<&str>(data) else { return };
    if let Ok(ctx) = EncryptionContext::from_json(s) {
        let again = EncryptionContext::from_json(&ctx.to_json()).expect("our own JSON parses");
        assert_eq!(again.canonical_bytes(), ctx.canonical_bytes());
    }
}
