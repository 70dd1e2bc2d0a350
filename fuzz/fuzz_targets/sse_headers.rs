//! SSE request headers over every bucket kind and operation: no 5xx. The check: `s3seal_fuzz_checks::sse_headers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::sse_headers(data));
