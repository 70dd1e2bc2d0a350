//! `EncryptionContext::from_json` never panics, and what it accepts round-trips through
//! `to_json` with the same canonical bytes (the AAD a KMS blob is bound to).
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_kms::EncryptionContext;

fuzz_target!(|s: &str| {
    if let Ok(ctx) = EncryptionContext::from_json(s) {
        let again = EncryptionContext::from_json(&ctx.to_json()).expect("our own JSON parses");
        assert_eq!(again.canonical_bytes(), ctx.canonical_bytes());
    }
});
