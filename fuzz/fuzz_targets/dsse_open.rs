//! Dual-layer `open_part` never panics, and what it opens has the length the geometry predicts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_dsse::{geometry, open_part};
use s3seal_fuzz::{CONTEXT, dsse_keys};
use s3seal_gcm::{Header, PartNumber};

fuzz_target!(|data: &[u8]| {
    if let Ok(plaintext) = open_part(&dsse_keys(), CONTEXT, PartNumber::SINGLE, data) {
        let chunk = Header::read(data)
            .expect("opened, so the header parsed")
            .chunk_size;
        assert_eq!(
            geometry(chunk).plaintext_len(data.len() as u64),
            Ok(plaintext.len() as u64)
        );
    }
});
