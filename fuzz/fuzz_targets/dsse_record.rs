//! `LayerRecord::from_bytes` never panics, and what it accepts serializes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_dsse::LayerRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = LayerRecord::from_bytes(data) {
        assert_eq!(record.to_bytes().as_deref(), Ok(data));
    }
});
