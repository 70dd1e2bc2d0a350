//! Header parsing and response headers.
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};
use md5::Digest as _;
use s3seal_policy::headers::names;
use s3seal_policy::*;

const KARN: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(*n, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn ssec(key: [u8; 32]) -> Vec<(&'static str, String)> {
    vec![
        (names::SSE_C_ALGORITHM, "AES256".to_owned()),
        (names::SSE_C_KEY, STANDARD.encode(key)),
        (names::SSE_C_KEY_MD5, STANDARD.encode(md5::Md5::digest(key))),
    ]
}

#[test]
fn parses_every_managed_header() {
    let ctx = STANDARD.encode(r#"{"k":"v"}"#);
    let h = map(&[
        (names::SSE, "aws:kms"),
        (names::KMS_KEY_ID, KARN),
        (names::CONTEXT, &ctx),
        (names::BUCKET_KEY, "TRUE"),
    ]);
    let p = SseHeaders::parse(&h, false).unwrap();
    assert_eq!(p.algorithm, Some(SseAlgorithm::AwsKms));
    assert_eq!(p.kms_key.unwrap().to_string(), KARN);
    assert_eq!(p.context.unwrap()["k"], "v");
    assert_eq!(p.bucket_key, Some(true));
    assert!(p.customer.is_none() && p.copy_source_customer.is_none());
}

#[test]
fn header_names_are_case_insensitive_and_md5_header_matches_s3_spelling() {
    let mut h = HeaderMap::new();
    for (n, v) in ssec([3; 32]) {
        // S3 spells it `…-key-MD5`; HTTP names are case-insensitive.
        let name = n.replace("md5", "MD5");
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    let p = SseHeaders::parse(&h, true).unwrap();
    assert_eq!(p.customer.unwrap().as_bytes(), &[3; 32]);
}

#[test]
fn no_secret_in_debug_or_errors() {
    let pairs = ssec([0x42; 32]);
    let key_b64 = pairs[1].1.clone();
    let h = map(&pairs
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect::<Vec<_>>());
    let p = SseHeaders::parse(&h, true).unwrap();
    let dbg = format!("{p:?}");
    assert!(!dbg.contains(&key_b64) && !dbg.contains("66, 66"), "{dbg}");
    assert!(dbg.contains("<redacted>"));
    // A bad MD5 error says nothing of the key.
    let mut bad = h.clone();
    bad.insert(
        names::SSE_C_KEY_MD5,
        HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAA=="),
    );
    let e = SseHeaders::parse(&bad, true).unwrap_err();
    let text = format!("{e} {e:?} {}", e.s3().message);
    assert!(!text.contains(&key_b64));
}

#[test]
fn non_ascii_and_repeated_headers_are_400() {
    let mut h = HeaderMap::new();
    h.insert(names::SSE, HeaderValue::from_bytes(b"AES\xff256").unwrap());
    assert_eq!(
        SseHeaders::parse(&h, true).unwrap_err(),
        PolicyError::InvalidHeaderValue(names::SSE)
    );
    let h = map(&[(names::SSE_C_KEY, "a"), (names::SSE_C_KEY, "b")]);
    assert_eq!(
        SseHeaders::parse(&h, true).unwrap_err(),
        PolicyError::InvalidHeaderValue(names::SSE_C_KEY)
    );
}

#[test]
fn tls_is_checked_before_the_triple() {
    // Even a malformed triple over HTTP is refused for the transport first.
    let h = map(&[(names::COPY_SSE_C_KEY, "garbage")]);
    assert_eq!(
        SseHeaders::parse(&h, false).unwrap_err(),
        PolicyError::SseCInsecureTransport
    );
    assert_eq!(
        SseHeaders::parse(&h, true).unwrap_err(),
        PolicyError::SseCMissingAlgorithm
    );
}

#[test]
fn response_headers_per_mode() {
    let get = |h: &HeaderMap, n: &str| h.get(n).map(|v| v.to_str().unwrap().to_owned());
    let h = response_headers(&StoredEncryption::SseS3, None).unwrap();
    assert_eq!(get(&h, names::SSE).as_deref(), Some("AES256"));
    assert_eq!(h.len(), 1);

    let kms = StoredEncryption::SseKms {
        key_arn: KARN.into(),
        context: EncryptionContext::new(),
        bucket_key: true,
    };
    let h = response_headers(&kms, None).unwrap();
    assert_eq!(get(&h, names::SSE).as_deref(), Some("aws:kms"));
    assert_eq!(get(&h, names::KMS_KEY_ID).as_deref(), Some(KARN));
    assert_eq!(get(&h, names::BUCKET_KEY).as_deref(), Some("true"));

    let dsse = StoredEncryption::DsseKms {
        key_arn: KARN.into(),
        context: EncryptionContext::new(),
    };
    let h = response_headers(&dsse, None).unwrap();
    assert_eq!(get(&h, names::SSE).as_deref(), Some("aws:kms:dsse"));
    assert_eq!(get(&h, names::KMS_KEY_ID).as_deref(), Some(KARN));
    assert!(h.get(names::BUCKET_KEY).is_none());

    let ck = CustomerKey::from_bytes([9; 32]);
    let sse_c = StoredEncryption::SseC {
        verifier: ck.verifier([0; 32]),
    };
    let h = response_headers(&sse_c, Some(&ck)).unwrap();
    assert!(h.get(names::SSE).is_none());
    assert_eq!(get(&h, names::SSE_C_ALGORITHM).as_deref(), Some("AES256"));
    assert_eq!(
        get(&h, names::SSE_C_KEY_MD5),
        Some(STANDARD.encode(md5::Md5::digest([9u8; 32])))
    );
    assert!(h.get(names::SSE_C_KEY).is_none(), "never the key");

    let h = response_headers(&StoredEncryption::Fsx, None).unwrap();
    assert_eq!(get(&h, names::SSE).as_deref(), Some("aws:fsx"));
}

#[test]
fn resolved_encryption_is_stored_with_the_kms_arn_and_a_verifier() {
    let enc = Encryption::SseKms {
        key: None,
        context: EncryptionContext::new(),
        bucket_key: false,
    };
    assert!(matches!(
        enc.to_stored(None, [0; 32]),
        Err(PolicyError::Internal(_))
    ));
    assert!(matches!(
        enc.to_stored(Some("alias/x"), [0; 32]),
        Err(PolicyError::Internal(_))
    ));
    let s = enc.to_stored(Some(KARN), [0; 32]).unwrap();
    assert!(matches!(s, StoredEncryption::SseKms { ref key_arn, .. } if key_arn == KARN));
    let ck = CustomerKey::from_bytes([5; 32]);
    let enc = Encryption::SseC {
        key: CustomerKey::from_bytes([5; 32]),
    };
    let StoredEncryption::SseC { verifier } = enc.to_stored(None, [8; 32]).unwrap() else {
        panic!("not SSE-C");
    };
    assert!(verifier.verify(&ck));
    assert!(!verifier.verify(&CustomerKey::from_bytes([6; 32])));
}

#[test]
fn every_error_maps_to_a_client_status_except_internal() {
    use PolicyError as E;
    let all = [
        E::UnrecognizedAlgorithm,
        E::UnsupportedAlgorithm,
        E::KmsHeaderWithoutKms,
        E::SseCIncompatible,
        E::SseCMissingAlgorithm,
        E::SseCInvalidAlgorithm,
        E::SseCMissingKey,
        E::SseCInvalidKey,
        E::SseCMissingKeyMd5,
        E::SseCKeyMd5Mismatch,
        E::SseCInsecureTransport,
        E::SseCKeyRequired,
        E::SseCPartKeyRequired,
        E::SseCKeyMismatch,
        E::EncryptionNotApplicable,
        E::HeaderNotSupported,
        E::KmsKeyNotFound,
        E::KmsKeyDisabled,
        E::InvalidContext,
        E::ReservedContextKey,
        E::InvalidHeaderValue("x"),
        E::BucketKeyWithDsse,
        E::AliasRefused,
        E::DirectoryBucket(DirectoryRule::KeyMismatch),
        E::SseCBlocked,
        E::MalformedXml("x".into()),
        E::XmlTooLarge,
        E::KmsKeyIdNotApplicable,
        E::ConfigNotSupported,
        E::ConfigNotFound,
    ];
    for e in all {
        let s = e.s3();
        assert!(s.status.is_client_error(), "{e:?}");
        assert!(!s.code.is_empty() && !s.message.is_empty());
    }
    assert_eq!(E::KmsKeyDisabled.s3().code, "KMS.DisabledException");
    assert_eq!(E::Internal("x").s3().status.as_u16(), 500);
}
