//! AES-256-GCM against the RustCrypto reference, and the engine's seal → open identity.

use aes_gcm::aead::{AeadInOut, KeyInit};
use arbitrary::Arbitrary;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use s3seal::policy::headers::names;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{CompletedPart, Request};
use s3seal_gcm::{Aes256Gcm, BackendKind};

use crate::home::{ACCOUNT, engine, sse_c_headers};
use crate::take;

/// One AEAD call, with what to tamper with afterwards.
#[derive(Arbitrary, Debug)]
pub struct GcmInput {
    key: [u8; 32],
    nonce: [u8; 12],
    /// Bytes of `data` that are AAD (the rest is plaintext).
    aad_len: u16,
    /// 0..=3: the plaintext is repeated that many extra times (lengths past the 256-byte
    /// blocks of the wide kernels).
    repeat: u8,
    /// Which byte of `aad ‖ ciphertext ‖ tag ‖ nonce` to flip, and how.
    flip_at: u16,
    flip: u8,
    data: Vec<u8>,
}

/// Every backend this CPU runs ([`BackendKind::ALL`], the unavailable ones skipped) against
/// RustCrypto's `aes-gcm` on the same key, nonce, AAD and plaintext: the same ciphertext and
/// tag; both open it to the same plaintext; both refuse it with one byte of the AAD,
/// ciphertext, tag or nonce changed, and the refused buffer is zeroed. Input: [`GcmInput`].
pub fn differential(data: &[u8]) {
    let Some(input) = take::<GcmInput>(data) else {
        return;
    };
    let split = usize::from(input.aad_len).min(input.data.len());
    let (aad, pt) = input.data.split_at(split);
    let pt = pt.repeat(usize::from(input.repeat % 4) + 1);
    let reference = aes_gcm::Aes256Gcm::new(&input.key.into());
    let mut want = pt.clone();
    let want_tag = reference
        .encrypt_inout_detached(&input.nonce.into(), aad, want.as_mut_slice().into())
        .expect("within GCM's limits");
    let want_tag: [u8; 16] = want_tag.into();

    for &kind in BackendKind::ALL {
        let Some(key) = Aes256Gcm::with_backend(&input.key, kind) else {
            continue;
        };
        let mut ct = pt.clone();
        let tag = key
            .seal_in_place_separate_tag(&input.nonce, aad, &mut ct)
            .expect("within GCM's limits");
        assert_eq!(ct, want, "{} ciphertext", kind.name());
        assert_eq!(tag, want_tag, "{} tag", kind.name());

        let mut opened = vec![0u8; ct.len()];
        key.open_to(&input.nonce, aad, &ct, &mut opened, &tag)
            .expect("own seal opens");
        assert_eq!(opened, pt, "{} open_to", kind.name());

        // One byte changed somewhere: both refuse, ours zeroes its output.
        let (mut aad2, mut ct2, mut tag2, mut nonce2) =
            (aad.to_vec(), ct.clone(), tag, input.nonce);
        let total = aad2.len() + ct2.len() + 16 + 12;
        let at = usize::from(input.flip_at) % total;
        let flip = input.flip.max(1);
        if at < aad2.len() {
            aad2[at] ^= flip;
        } else if at < aad2.len() + ct2.len() {
            ct2[at - aad2.len()] ^= flip;
        } else if at < aad2.len() + ct2.len() + 16 {
            tag2[at - aad2.len() - ct2.len()] ^= flip;
        } else {
            nonce2[at - aad2.len() - ct2.len() - 16] ^= flip;
        }
        let mut buf = ct2.clone();
        let ours = key.open_in_place(&nonce2, &aad2, &mut buf, &tag2);
        assert!(ours.is_err(), "{} accepted a changed input", kind.name());
        assert!(buf.iter().all(|&b| b == 0), "{} left output", kind.name());
        let mut rbuf = ct2.clone();
        assert!(
            reference
                .decrypt_inout_detached(
                    &nonce2.into(),
                    &aad2,
                    rbuf.as_mut_slice().into(),
                    &tag2.into()
                )
                .is_err()
        );
    }
}

/// How a `roundtrip` object is encrypted.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum RoundtripMode {
    SseS3,
    /// `aws:kms` under the AWS managed key, with or without an S3 Bucket Key.
    SseKms(bool),
    DsseKms,
    SseC,
}

/// One object written and read back through the engine.
#[derive(Arbitrary, Debug)]
pub struct RoundtripInput {
    /// Chunk size exponent, reduced to 12..=15.
    chunk: u8,
    /// Engine threads, reduced to 1..=4.
    threads: u8,
    mode: RoundtripMode,
    /// Part sizes of a multipart upload (the last takes the rest); empty: one PutObject.
    parts: Vec<u16>,
    /// Low 4 bits all set: the plaintext is repeated past 512 KiB (the parallel paths).
    big: u8,
    /// The byte of `envelope ‖ sealed` to change, and how.
    flip_at: u32,
    flip: u8,
    plaintext: Vec<u8>,
}

/// Arbitrary plaintext, chunk size (4–32 KiB), part layout and thread count (1–4, the
/// engine's rayon pool) through the engine over the testkit keystore, in every mode
/// (SSE-S3, SSE-KMS with and without a bucket key, DSSE-KMS, SSE-C): PutObject, or
/// CreateMultipartUpload + UploadPart × n + CompleteMultipartUpload, then GetObject gives the
/// plaintext back (whole and one range), and with any one byte of the envelope or the sealed
/// bytes changed GetObject refuses. Input: [`RoundtripInput`].
pub fn roundtrip(data: &[u8]) {
    let Some(input) = take::<RoundtripInput>(data) else {
        return;
    };
    let mut plaintext = input.plaintext.clone();
    if input.big & 0x0f == 0x0f && !plaintext.is_empty() {
        let n = (600 << 10) / plaintext.len() + 1;
        plaintext = plaintext.repeat(n);
    }
    let e = engine(12 + input.chunk % 4, usize::from(input.threads % 4) + 1);
    let bucket = BucketPolicy::new(
        "fuzz-bucket",
        BucketKind::GeneralPurpose,
        ACCOUNT,
        "us-east-1",
    );
    let mut headers = HeaderMap::new();
    match input.mode {
        RoundtripMode::SseS3 => {}
        RoundtripMode::SseKms(bucket_key) => {
            headers.insert(names::SSE, HeaderValue::from_static("aws:kms"));
            if bucket_key {
                headers.insert(names::BUCKET_KEY, HeaderValue::from_static("true"));
            }
        }
        RoundtripMode::DsseKms => {
            headers.insert(names::SSE, HeaderValue::from_static("aws:kms:dsse"));
        }
        RoundtripMode::SseC => headers = sse_c_headers(&[0x42; 32]),
    }
    let req = Request {
        bucket: &bucket,
        key: "fuzz/object",
        headers: &headers,
        secure_transport: true,
    };
    // GET, UploadPart and Complete take only SSE-C keys, no managed SSE headers.
    let read_headers = match input.mode {
        RoundtripMode::SseC => headers.clone(),
        _ => HeaderMap::new(),
    };
    let read = Request {
        headers: &read_headers,
        ..req
    };

    let (envelope, sealed) = if input.parts.is_empty() {
        let w = e.put_object(&req, &plaintext).expect("PutObject");
        (w.envelope_bytes, w.sealed)
    } else {
        let up = e
            .create_multipart_upload(&req)
            .expect("CreateMultipartUpload");
        let mut state = up.state;
        let mut rest = &plaintext[..];
        let mut sealed = Vec::new();
        let mut done = Vec::new();
        let count = input.parts.len().min(8);
        for (i, &size) in input.parts.iter().take(count).enumerate() {
            let take = if i + 1 == count {
                rest.len()
            } else {
                usize::from(size).min(rest.len())
            };
            let (body, r) = rest.split_at(take);
            rest = r;
            let n = u32::try_from(i + 1).expect("at most 8 parts");
            let part = e.upload_part(&read, &state, n, body).expect("UploadPart");
            state = part.state;
            sealed.extend_from_slice(&part.sealed);
            done.push(CompletedPart {
                part_number: n,
                etag: part.etag,
            });
        }
        let c = e
            .complete_multipart_upload(&read, &state, &done)
            .expect("CompleteMultipartUpload");
        (c.envelope_bytes, Bytes::from(sealed))
    };

    let whole = e
        .get_object(&read, &envelope, &sealed, None)
        .expect("GetObject of what was just written");
    assert_eq!(whole.body[..], plaintext[..]);
    if !plaintext.is_empty() {
        let len = plaintext.len();
        let start = input.flip_at as usize % len;
        let end = start + (usize::from(input.flip) % (len - start)) + 1;
        let part = e
            .get_object(&read, &envelope, &sealed, Some(start as u64..end as u64))
            .expect("ranged GetObject");
        assert_eq!(part.body[..], plaintext[start..end]);
    }

    let at = input.flip_at as usize % (envelope.len() + sealed.len());
    let flip = input.flip.max(1);
    let (mut env2, mut sealed2) = (envelope.clone(), sealed.to_vec());
    if at < env2.len() {
        env2[at] ^= flip;
    } else {
        sealed2[at - env2.len()] ^= flip;
    }
    let tampered = e.get_object(&read, &env2, &sealed2, None);
    assert!(
        tampered.is_err(),
        "byte {at} of envelope ‖ sealed changed (^{flip:#04x}; {} + {} bytes; {:?}, chunk 2^{}, \
         {} threads, parts {:?}, {} plaintext bytes), still opened",
        envelope.len(),
        sealed.len(),
        input.mode,
        12 + input.chunk % 4,
        input.threads % 4 + 1,
        input.parts,
        plaintext.len()
    );
}
