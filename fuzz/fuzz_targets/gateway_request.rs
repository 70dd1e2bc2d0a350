//! Whole S3 requests through the gateway's s3s service: never a 500. The check: `s3seal_fuzz_checks::gateway_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::gateway_request(data));
