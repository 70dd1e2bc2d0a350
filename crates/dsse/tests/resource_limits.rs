//! Resource limits of the DSSE layer record (issue #18, item 3): its length fields (`arn_len`
//! ≤ 2048, `blob_len` ≤ 6144, u16 on the wire) are checked against the bytes present before
//! anything is copied, so a record claiming more is a clear error and no input allocates more
//! than the record's own bytes. Measured with a counting allocator (`support/count_alloc.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on failure"
)]

#[allow(
    unsafe_code,
    reason = "a counting global allocator is the measuring instrument"
)]
#[path = "../../../testsupport/count_alloc.rs"]
mod count_alloc;
mod support {
    pub(crate) use super::count_alloc;
}

use s3seal_dsse::{LayerKey, LayerRecord, RecordError};
use support::count_alloc::{exclusive, largest_allocation};

fn record() -> Vec<u8> {
    let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    LayerRecord {
        inner: LayerKey {
            key_arn: arn.into(),
            wrapped: vec![1; 86],
        },
        outer: LayerKey {
            key_arn: arn.into(),
            wrapped: vec![2; 86],
        },
    }
    .to_bytes()
    .unwrap()
}

/// Offset of the inner layer's `arn_len`, and of its `blob_len`.
const ARN_LEN_AT: usize = 7;

#[test]
fn length_fields_at_their_maximum_are_refused_without_allocating_them() {
    let _serial = exclusive();
    let good = record();
    let arn_len = usize::from(u16::from_be_bytes([good[ARN_LEN_AT], good[ARN_LEN_AT + 1]]));
    let blob_len_at = ARN_LEN_AT + 2 + arn_len;
    for (at, value, want) in [
        // Above the format's bound (2048 / 6144): refused whatever follows.
        (ARN_LEN_AT, u16::MAX, RecordError::BadField),
        (ARN_LEN_AT, 2049, RecordError::BadField),
        (blob_len_at, u16::MAX, RecordError::BadField),
        (blob_len_at, 6145, RecordError::BadField),
        // Within the bound but past the bytes present: truncated.
        (ARN_LEN_AT, 2048, RecordError::Truncated),
        (blob_len_at, 6144, RecordError::Truncated),
    ] {
        let mut hostile = good.clone();
        hostile[at..at + 2].copy_from_slice(&value.to_be_bytes());
        let (r, largest) = largest_allocation(|| LayerRecord::from_bytes(&hostile));
        assert_eq!(r, Err(want), "field at {at} = {value}");
        assert!(
            largest <= 2048,
            "{largest} bytes for a field claiming {value}"
        );
    }
}

#[test]
fn a_huge_input_is_refused_after_the_record_without_copying_it() {
    let _serial = exclusive();
    let mut huge = record();
    huge.resize(huge.len() + (64 << 20), 0);
    let (r, largest) = largest_allocation(|| LayerRecord::from_bytes(&huge));
    assert_eq!(r, Err(RecordError::TrailingData));
    assert!(largest <= 4096, "{largest} bytes");
}
