//! Dual-layer `open_part`: the plaintext length the geometry predicts. The check: `s3seal_fuzz_checks::dsse_open`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::dsse_open(data));
