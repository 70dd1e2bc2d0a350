//! The CLI's sealed-file header, then the file decrypted by the engine. The check: `s3seal_fuzz_checks::sealed_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::sealed_file(data));
