//! Streaming `Decryptor` vs `open_part`: same accept/reject and plaintext. The check: `s3seal_fuzz_checks::stream_decryptor`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::stream_decryptor(data));
