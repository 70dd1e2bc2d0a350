//! `Header::read`: accepted headers write back to the same 76 bytes. The check: `s3seal_fuzz_checks::sealed_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::sealed_header(data));
