//! Engine seal → open is the identity; any changed byte is refused. The check: `s3seal_fuzz_checks::roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::roundtrip(data));
