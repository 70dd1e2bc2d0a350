//! Length and range arithmetic: plans stay inside the sealed object. The check: `s3seal_fuzz_checks::range_plan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::range_plan(data));
