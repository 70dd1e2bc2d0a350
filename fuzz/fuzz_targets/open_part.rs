//! `open_part` never panics, and what it opens has the plaintext length the layout predicts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_fuzz::{CONTEXT, data_key};
use s3seal_gcm::{Header, PartNumber, open_part};

fuzz_target!(|data: &[u8]| {
    if let Ok(plaintext) = open_part(&data_key(), CONTEXT, PartNumber::SINGLE, data) {
        let chunk = Header::read(data)
            .expect("opened, so the header parsed")
            .chunk_size;
        assert_eq!(
            s3seal_gcm::plaintext_len(data.len() as u64, chunk),
            Ok(plaintext.len() as u64)
        );
    }
});
