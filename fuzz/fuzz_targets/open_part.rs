//! `open_part`: what it opens has the plaintext length the layout predicts. The check: `s3seal_fuzz_checks::open_part`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::open_part(data));
