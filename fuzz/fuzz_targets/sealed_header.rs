//! `Header::read` never panics, and what it accepts writes back to the same 76 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_gcm::{HEADER_LEN, Header};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::read(data) {
        assert_eq!(header.write()[..], data[..HEADER_LEN]);
    }
});
