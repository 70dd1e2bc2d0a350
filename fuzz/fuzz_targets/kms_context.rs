//! `EncryptionContext::from_json`: accepted contexts keep their canonical bytes. The check: `s3seal_fuzz_checks::kms_context`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::kms_context(data));
