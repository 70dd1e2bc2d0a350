//! Hostile input never panics and never maps to a 5xx.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use s3seal_policy::headers::names;
use s3seal_policy::*;

const ALL_HEADERS: [&str; 10] = names::ALL;

fn is_client_error(e: &PolicyError) -> bool {
    e.s3().status.is_client_error()
}

fn header_values() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    let value = prop_oneof![
        // Bytes HeaderValue accepts (no control chars except tab), including obs-text.
        proptest::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')], 0..64),
        Just(b"AES256".to_vec()),
        Just(b"aws:kms".to_vec()),
        Just(b"aws:kms:dsse".to_vec()),
        Just(b"true".to_vec()),
        Just(b"oaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaE=".to_vec()),
        Just(b"eyJhIjoiYiJ9".to_vec()),
    ];
    proptest::collection::vec((0..ALL_HEADERS.len(), value), 0..8)
}

fn to_map(pairs: &[(usize, Vec<u8>)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (i, v) in pairs {
        if let Ok(v) = HeaderValue::from_bytes(v) {
            h.append(HeaderName::from_static(ALL_HEADERS[*i]), v);
        }
    }
    h
}

fn buckets() -> Vec<BucketPolicy> {
    let mut gp = BucketPolicy::new("b", BucketKind::GeneralPurpose, "111122223333", "us-east-1");
    gp.set_encryption(BucketEncryption::new_bucket_default());
    vec![
        gp,
        BucketPolicy::new("b", BucketKind::GeneralPurpose, "111122223333", "us-east-1"),
        BucketPolicy::new("d", BucketKind::Directory, "111122223333", "us-east-1"),
        BucketPolicy::new("f", BucketKind::FsxAccessPoint, "111122223333", "us-east-1"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_headers_never_panic(pairs in header_values(), tls in any::<bool>()) {
        let headers = to_map(&pairs);
        let sse_c = StoredEncryption::SseC { verifier: CustomerKey::from_bytes([0xa1; 32]).verifier([1; 32]) };
        let s3 = StoredEncryption::SseS3;
        for bucket in buckets() {
            for op in [
                WriteOp::PutObject,
                WriteOp::CreateMultipartUpload,
                WriteOp::UploadPart { upload: &sse_c },
                WriteOp::UploadPartCopy { upload: &s3, source: &sse_c },
                WriteOp::CompleteMultipartUpload { upload: &sse_c },
                WriteOp::CopyObject { source: &sse_c },
            ] {
                let r = resolve_write(&WriteRequest {
                    op, bucket: &bucket, object_key: "k", headers: &headers,
                    secure_transport: tls, alias_policy: AliasPolicy::Warn,
                });
                if let Err(e) = r { prop_assert!(is_client_error(&e), "{e:?}"); }
            }
        }
        for stored in [&sse_c, &s3] {
            for op in [ReadOp::GetObject, ReadOp::HeadObject] {
                let r = resolve_read(&ReadRequest { op, stored, headers: &headers, secure_transport: tls });
                if let Err(e) = r { prop_assert!(is_client_error(&e), "{e:?}"); }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_xml_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = parse_bucket_encryption(&bytes, AliasPolicy::Warn) {
            prop_assert!(is_client_error(&e));
        }
    }

    #[test]
    fn xml_shaped_input_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<ServerSideEncryptionConfiguration>"), Just("</ServerSideEncryptionConfiguration>"),
        Just("<Rule>"), Just("</Rule>"), Just("<Rule/>"),
        Just("<ApplyServerSideEncryptionByDefault>"), Just("</ApplyServerSideEncryptionByDefault>"),
        Just("<SSEAlgorithm>"), Just("</SSEAlgorithm>"), Just("AES256"), Just("aws:kms"),
        Just("<KMSMasterKeyID>"), Just("</KMSMasterKeyID>"), Just("alias/x"),
        Just("<BucketKeyEnabled>"), Just("</BucketKeyEnabled>"), Just("true"),
        Just("<BlockedEncryptionTypes>"), Just("</BlockedEncryptionTypes>"),
        Just("<EncryptionType>"), Just("</EncryptionType>"), Just("SSE-C"),
        Just("&amp;"), Just("&x;"), Just("<![CDATA[x]]>"), Just("<!-- c -->"), Just("<?pi?>"),
        Just("<"), Just(">"), Just("\""), Just(" xmlns=\"u\""),
    ], 0..40)) {
        let xml = parts.concat();
        match parse_bucket_encryption(xml.as_bytes(), AliasPolicy::Warn) {
            Ok(p) => {
                // Whatever is accepted writes back to the same configuration.
                let back = parse_bucket_encryption(p.encryption.to_xml().as_bytes(), AliasPolicy::Warn);
                prop_assert_eq!(back.map(|b| b.encryption), Ok(p.encryption));
            }
            Err(e) => prop_assert!(is_client_error(&e)),
        }
    }

    #[test]
    fn arbitrary_context_header_never_panics(s in "[ -~]{0,80}") {
        let _ = context::parse_context_header(&s);
    }

    #[test]
    fn sse_c_triple_only_accepts_matching_md5(key in any::<[u8; 32]>(), other in any::<[u8; 32]>()) {
        use base64::Engine as _;
        use md5::Digest as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let k = b64(&key);
        let good = b64(&md5::Md5::digest(key));
        let bad = b64(&md5::Md5::digest(other));
        let ck = CustomerKey::from_headers(Some("AES256"), Some(&k), Some(&good)).unwrap();
        prop_assert_eq!(ck.as_bytes(), &key);
        prop_assert_eq!(ck.key_md5_base64(), good);
        if key != other {
            prop_assert_eq!(
                CustomerKey::from_headers(Some("AES256"), Some(&k), Some(&bad)).map(|_| ()),
                Err(PolicyError::SseCKeyMd5Mismatch)
            );
        }
    }
}
