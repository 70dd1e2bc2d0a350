//! The multipart upload state: round trip, then ListParts over it. The check: `s3seal_fuzz_checks::upload_state`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::upload_state(data));
