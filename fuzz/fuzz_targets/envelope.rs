//! `ObjectEnvelope::from_bytes`: accepted envelopes re-encode to the same bytes. The check: `s3seal_fuzz_checks::envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::envelope(data));
