//! PutBucketEncryption bodies: no 5xx, accepted configurations round-trip. The check: `s3seal_fuzz_checks::bucket_xml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::bucket_xml(data));
