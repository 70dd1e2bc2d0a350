//! `LayerRecord::from_bytes`: accepted records serialize back to the same bytes. The check: `s3seal_fuzz_checks::dsse_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::dsse_record(data));
