//! Secrets (issue #18, item 7): no secret type's `Debug` prints key bytes — data keys, the
//! AEAD and its part sealers and openers, streams, SSE-C customer keys and their verifiers,
//! parsed SSE headers, DSSE key pairs, cached key materials, read plans, the engine — and no
//! value the engine hands a backend to store (envelopes, sealed bytes, upload states, response
//! headers) holds a raw data key or customer key, in raw, hex or base64 form.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal::policy::{BucketKind, BucketPolicy, CustomerKey, SseHeaders};
use s3seal::{EngineBuilder, EngineConfig, ObjectEnvelope, Request};
use s3seal_dsse::{DsseKeys, LayerKey, LayerRecord};
use s3seal_gcm::{
    Aes256Gcm, ChunkSize, DataKey, Decryptor, Encryptor, PartNumber, PartOpener, PartSealer,
};
use s3seal_keycache::{CacheConfig, DataKeyRequest, KeyCache};
use s3seal_kms::{KeyRef, Kms, LocalKms};

/// The forms key bytes could leak in: hex both cases, base64 (standard and URL-safe, padded
/// or not), `Debug` of the array and of its first bytes.
fn renderings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        format!("{bytes:?}"),
        format!("{:?}", &bytes[..8])
            .trim_end_matches(']')
            .to_owned(),
    ]
}

fn assert_hides(text: &str, secret: &[u8], what: &str) {
    for r in renderings(secret) {
        assert!(!text.contains(&r), "{what} shows key bytes as {r}");
    }
}

/// `haystack` holds none of the renderings of `secret`, nor the raw bytes.
fn assert_not_stored(haystack: &[u8], secret: &[u8], what: &str) {
    assert!(
        !haystack.windows(secret.len()).any(|w| w == secret),
        "{what} holds raw key bytes"
    );
    for r in renderings(secret) {
        assert!(
            !haystack.windows(r.len()).any(|w| w == r.as_bytes()),
            "{what} holds key bytes as {r}"
        );
    }
}

const KEY: [u8; 32] = [
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x0f,
];

#[test]
fn gcm_and_policy_secret_types_debug_prints_no_key_bytes() {
    let dk = DataKey::from_bytes(KEY);
    assert_hides(&format!("{dk:?} {dk:#?}"), &KEY, "DataKey");
    let aead = Aes256Gcm::new(&KEY);
    assert_hides(&format!("{aead:?} {aead:#?}"), &KEY, "Aes256Gcm");
    let sealer = PartSealer::new(&dk, b"b/k", PartNumber::SINGLE, ChunkSize::MIN).unwrap();
    assert_hides(&format!("{sealer:?} {sealer:#?}"), &KEY, "PartSealer");
    let sealed =
        s3seal_gcm::seal_part(&dk, b"b/k", PartNumber::SINGLE, ChunkSize::MIN, b"hi").unwrap();
    let opener = PartOpener::new(&dk, b"b/k", PartNumber::SINGLE, &sealed).unwrap();
    assert_hides(&format!("{opener:?} {opener:#?}"), &KEY, "PartOpener");
    let enc = Encryptor::new(Vec::new(), &dk, b"b/k", PartNumber::SINGLE, ChunkSize::MIN).unwrap();
    assert_hides(&format!("{enc:?}"), &KEY, "Encryptor");
    let dec = Decryptor::new(&sealed[..], &dk, b"b/k", PartNumber::SINGLE).unwrap();
    assert_hides(&format!("{dec:?}"), &KEY, "Decryptor");

    let ck = CustomerKey::from_bytes(KEY);
    assert_hides(&format!("{ck:?} {ck:#?}"), &KEY, "CustomerKey");
    let v = ck.verifier([9; 32]);
    assert_hides(&format!("{v:?}"), &KEY, "KeyVerifier");
    let mut h = HeaderMap::new();
    for (name, value) in sse_c_headers(&KEY) {
        h.insert(name, HeaderValue::from_str(&value).unwrap());
    }
    let parsed = SseHeaders::parse(&h, true).unwrap();
    assert!(parsed.customer.is_some());
    assert_hides(&format!("{parsed:?} {parsed:#?}"), &KEY, "SseHeaders");
}

#[test]
fn kms_side_secret_types_debug_prints_no_key_bytes() {
    let d = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(d.path()).unwrap());
    let arn = kms.create_key("k").unwrap().arn;
    let key = KeyRef::parse(&arn).unwrap();
    let ctx = s3seal_kms::EncryptionContext::for_object("b", "k");

    let cache = KeyCache::new(kms.clone(), CacheConfig::default());
    let m = cache
        .data_key(
            &DataKeyRequest::new(key.clone(), kms.requester(), ctx.clone()),
            1,
        )
        .unwrap();
    let raw = *m.data_key.as_bytes();
    assert_hides(&format!("{m:?} {m:#?}"), &raw, "DataKeyMaterials");
    assert_hides(&format!("{cache:?}"), &raw, "KeyCache");
    let back = cache
        .decrypt_data_key(m.ciphertext_blob(), &ctx, None)
        .unwrap();
    assert_hides(&format!("{back:?}"), &raw, "DecryptedDataKey (cached)");

    let inner = DataKey::from_bytes(KEY);
    let mut other = KEY;
    other[0] ^= 0xff;
    let outer = DataKey::from_bytes(other);
    let layer = |blob: u8| LayerKey {
        key_arn: arn.clone(),
        wrapped: vec![blob; 86],
    };
    let keys = DsseKeys::from_data_keys(
        inner,
        outer,
        LayerRecord {
            inner: layer(1),
            outer: layer(2),
        },
    )
    .unwrap();
    let printed = format!("{keys:?} {keys:#?}");
    assert_hides(&printed, &KEY, "DsseKeys (inner)");
    assert_hides(&printed, &other, "DsseKeys (outer)");
    let g = kms.generate_data_key(&key, &kms.requester(), &ctx).unwrap();
    let gk = *g.plaintext.as_bytes();
    assert_hides(&format!("{kms:?}"), &gk, "LocalKms");
}

fn sse_c_headers(key: &[u8; 32]) -> [(&'static str, String); 3] {
    [
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".to_owned(),
        ),
        (
            "x-amz-server-side-encryption-customer-key",
            STANDARD.encode(key),
        ),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            STANDARD.encode(Md5::digest(key)),
        ),
    ]
}

/// Every mode: the engine's outputs to a backend (stored envelope, sealed bytes, upload state,
/// headers) and the `Debug` of what it returns hold neither the object's data key (unwrapped
/// here through the KMS from the stored envelope) nor the customer's key.
#[test]
fn engine_outputs_and_debug_hold_no_data_key_or_customer_key() {
    let d = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(d.path()).unwrap());
    let arn = kms.create_key("k").unwrap().arn;
    let engine = EngineBuilder::new(kms.clone())
        .threads(1)
        .config(EngineConfig {
            chunk: ChunkSize::MIN,
            min_part_size: 4096,
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    let bucket = BucketPolicy::new(
        "bkt",
        BucketKind::GeneralPurpose,
        "111122223333",
        "us-east-1",
    );
    let modes: [(&str, Vec<(&'static str, String)>); 4] = [
        (
            "SSE-S3",
            vec![("x-amz-server-side-encryption", "AES256".into())],
        ),
        (
            "SSE-KMS",
            vec![
                ("x-amz-server-side-encryption", "aws:kms".into()),
                ("x-amz-server-side-encryption-aws-kms-key-id", arn.clone()),
            ],
        ),
        (
            "DSSE-KMS",
            vec![
                ("x-amz-server-side-encryption", "aws:kms:dsse".into()),
                ("x-amz-server-side-encryption-aws-kms-key-id", arn.clone()),
            ],
        ),
        ("SSE-C", sse_c_headers(&KEY).to_vec()),
    ];
    for (name, pairs) in modes {
        let mut h = HeaderMap::new();
        for (k, v) in &pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        let req = Request {
            bucket: &bucket,
            key: "obj",
            headers: &h,
            secure_transport: true,
        };
        let put = engine.put_object(&req, &[0x5a; 10_000]).unwrap();
        let env = ObjectEnvelope::from_bytes(&put.envelope_bytes).unwrap();
        // The data keys: unwrapped from the stored key material with the home's KMS (SSE-S3,
        // SSE-KMS: one KMS blob; DSSE-KMS: both layers' blobs); SSE-C: the customer's key.
        let mut secrets: Vec<[u8; 32]> = Vec::new();
        match name {
            "SSE-C" => secrets.push(KEY),
            "DSSE-KMS" => {
                let rec = LayerRecord::from_bytes(&env.key_material).unwrap();
                for l in [rec.inner, rec.outer] {
                    let k = kms.decrypt(&l.wrapped, &env.context, None).unwrap();
                    secrets.push(*k.plaintext.as_bytes());
                }
            }
            _ => {
                let k = kms.decrypt(&env.key_material, &env.context, None).unwrap();
                secrets.push(*k.plaintext.as_bytes());
            }
        }
        // GET and UploadPart carry the SSE-C headers again, and no other encryption header.
        let none = HeaderMap::new();
        let part_req = Request {
            headers: if name == "SSE-C" { &h } else { &none },
            ..req
        };
        let plan = engine
            .plan_get(&part_req, &put.envelope_bytes, None)
            .unwrap();
        let up = engine.create_multipart_upload(&req).unwrap();
        let part = engine
            .upload_part(&part_req, &up.state, 1, &[1; 5000])
            .unwrap();
        let state = engine.record_part(&part_req, &up.state, &part).unwrap();
        let headers = format!("{:?}", put.headers);
        let debug = format!(
            "{put:?} {plan:?} {up:?} {part:?} {engine:?} {:?}",
            engine
                .get_object(&part_req, &put.envelope_bytes, &put.sealed, None)
                .unwrap()
        );
        for s in &secrets {
            assert_not_stored(&put.envelope_bytes, s, &format!("{name} envelope"));
            assert_not_stored(&put.sealed, s, &format!("{name} sealed bytes"));
            assert_not_stored(&up.state, s, &format!("{name} upload state"));
            assert_not_stored(&state, s, &format!("{name} upload state with a part"));
            assert_not_stored(&part.sealed, s, &format!("{name} sealed part"));
            assert_not_stored(headers.as_bytes(), s, &format!("{name} response headers"));
            assert_hides(&debug, s, &format!("{name} Debug of the engine's results"));
        }
    }
}

/// The scan itself finds a planted key in each form (so a pass above means something).
#[test]
fn the_scan_finds_a_planted_key_in_every_form() {
    for form in renderings(&KEY) {
        let planted = format!("header {form} trailer");
        let caught = std::panic::catch_unwind(|| assert_not_stored(planted.as_bytes(), &KEY, "x"));
        assert!(caught.is_err(), "{form} not found");
        let caught = std::panic::catch_unwind(|| assert_hides(&planted, &KEY, "x"));
        assert!(caught.is_err(), "{form} not found");
    }
    let mut raw = b"prefix".to_vec();
    raw.extend_from_slice(&KEY);
    assert!(std::panic::catch_unwind(|| assert_not_stored(&raw, &KEY, "x")).is_err());
}
