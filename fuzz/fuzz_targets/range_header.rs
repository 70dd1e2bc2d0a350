//! `Range` and `x-amz-copy-source-range` against RFC 9110 single ranges. The check: `s3seal_fuzz_checks::range_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::range_header(data));
