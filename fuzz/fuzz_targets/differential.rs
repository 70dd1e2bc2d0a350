//! Every AES-256-GCM backend against RustCrypto `aes-gcm`, tampering included. The check: `s3seal_fuzz_checks::differential`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::differential(data));
