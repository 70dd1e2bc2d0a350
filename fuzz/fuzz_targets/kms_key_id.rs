//! `KeyRef::parse` never panics, and what it accepts prints back to the same string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_kms::KeyRef;

fuzz_target!(|s: &str| {
    if let Ok(key) = KeyRef::parse(s) {
        assert_eq!(key.to_string(), s);
    }
});
