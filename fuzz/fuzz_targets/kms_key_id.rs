//! `KeyRef::parse`: accepted ids print back to the same string. The check: `s3seal_fuzz_checks::kms_key_id`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::kms_key_id(data));
