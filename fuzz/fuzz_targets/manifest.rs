//! The multipart manifest of an envelope: round trip, §13.3 rules, layout. The check: `s3seal_fuzz_checks::manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::manifest(data));
