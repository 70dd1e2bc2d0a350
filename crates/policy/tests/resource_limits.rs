//! Resource limits of the S3 edge's decoders (issue #18, item 3): bucket-encryption XML (at
//! most 16 KiB, checked before parsing; nesting at most 8 deep), the encryption-context header
//! (at most 16 KiB, checked before base64 decoding; JSON nesting refused by serde_json's limit),
//! and the SSE-C key and key-MD5 headers (decoded into fixed 33- and 17-byte buffers). Each
//! hostile input is a clear error; the largest allocation is measured with a counting
//! allocator (`support/count_alloc.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on failure"
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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};
use s3seal_policy::config::MAX_CONFIG_XML_LEN;
use s3seal_policy::context::{MAX_CONTEXT_HEADER_LEN, parse_context_header};
use s3seal_policy::{AliasPolicy, PolicyError, SseHeaders, parse_bucket_encryption};
use support::count_alloc::{MIB, exclusive, largest_allocation, largest_allocation_here};

const KIB: usize = 1 << 10;

#[test]
fn bucket_encryption_xml_over_16_kib_is_refused_before_parsing() {
    let _serial = exclusive();
    let huge = vec![b'<'; 64 * MIB];
    let (r, largest) =
        largest_allocation_here(|| parse_bucket_encryption(&huge, AliasPolicy::Warn));
    assert_eq!(r.unwrap_err(), PolicyError::XmlTooLarge);
    assert!(largest < KIB, "{largest} bytes");
    let just_over = vec![b' '; MAX_CONFIG_XML_LEN + 1];
    let r = parse_bucket_encryption(&just_over, AliasPolicy::Warn);
    assert_eq!(r.unwrap_err(), PolicyError::XmlTooLarge);
}

#[test]
fn deeply_nested_xml_within_16_kib_is_malformed_not_a_stack_overflow() {
    let _serial = exclusive();
    let depth = MAX_CONFIG_XML_LEN / 7;
    let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let xml = xml.as_bytes();
    assert!(xml.len() <= MAX_CONFIG_XML_LEN);
    let (r, largest) = largest_allocation_here(|| parse_bucket_encryption(xml, AliasPolicy::Warn));
    assert!(matches!(r, Err(PolicyError::MalformedXml(_))), "{r:?}");
    assert!(largest < 256 * KIB, "{largest} bytes");
}

#[test]
fn context_header_over_16_kib_is_refused_before_decoding() {
    let _serial = exclusive();
    let json = format!("{{\"k\":\"{}\"}}", "v".repeat(MIB));
    let value = STANDARD.encode(json);
    let (r, largest) = largest_allocation_here(|| parse_context_header(&value));
    assert_eq!(r.unwrap_err(), PolicyError::InvalidContext);
    assert!(largest < KIB, "{largest} bytes");
    // Nested JSON inside the bound: refused by the JSON parser's depth limit.
    let nested = format!("{{\"a\":{}", "[".repeat(10_000));
    let value = STANDARD.encode(nested);
    assert!(value.len() <= MAX_CONTEXT_HEADER_LEN);
    let (r, largest) = largest_allocation_here(|| parse_context_header(&value));
    assert_eq!(r.unwrap_err(), PolicyError::InvalidContext);
    assert!(largest < 64 * KIB, "{largest} bytes");
    // A real context still parses.
    let ok = STANDARD.encode(r#"{"team":"a"}"#);
    assert_eq!(parse_context_header(&ok).unwrap().len(), 1);
}

#[test]
fn sse_c_key_and_md5_headers_of_any_length_are_decoded_into_fixed_buffers() {
    let _serial = exclusive();
    let key = [7u8; 32];
    let md5 = STANDARD.encode(md5_of(&key));
    for (k, m) in [
        (STANDARD.encode(vec![7u8; MIB]), md5.clone()),
        (STANDARD.encode(key), STANDARD.encode(vec![1u8; MIB])),
    ] {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-server-side-encryption-customer-algorithm",
            HeaderValue::from_static("AES256"),
        );
        h.insert(
            "x-amz-server-side-encryption-customer-key",
            HeaderValue::from_str(&k).unwrap(),
        );
        h.insert(
            "x-amz-server-side-encryption-customer-key-md5",
            HeaderValue::from_str(&m).unwrap(),
        );
        let (r, largest) = largest_allocation(|| SseHeaders::parse(&h, true).map(|_| ()));
        assert!(
            matches!(
                r,
                Err(PolicyError::SseCInvalidKey | PolicyError::SseCKeyMd5Mismatch)
            ),
            "{r:?}"
        );
        assert!(largest < 4 * KIB, "{largest} bytes");
    }
}

fn md5_of(b: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    Md5::digest(b).into()
}
