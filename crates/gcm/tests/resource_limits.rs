//! Resource limits of the sealed stream format: no length, size or count field makes the
//! library allocate more than a stated bound before the bytes that justify it authenticated
//! (issue #18, item 3). Each hostile field gets a clear error, checked under a counting
//! allocator (`support/count_alloc.rs`).
//!
//! Bounds (README, "Limits"; docs/FORMAT.md §1):
//! * header `clog` 12..=22 (4 KiB..=4 MiB chunks), anything else `BadChunkSize` before any
//!   allocation; `part` ≤ 10,000;
//! * a chunk size is believed only after the key commitment (which covers it) matched;
//! * the streaming `Decryptor` buffers at most `batch × (2^clog + 16) + 1` sealed bytes and
//!   grows its buffer with the bytes read (64 KiB first): a 1-byte body allocates ≤ 64 KiB plus
//!   the batch's plaintext of what was read;
//! * sizes (plaintext lengths, part counts) in layouts are arithmetic only: u64::MAX lengths
//!   and 10,000 parts of 5 GiB are planned without allocating per byte.
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

use std::io::Read;

use s3seal_gcm::{
    ChunkSize, DataKey, Decryptor, Error, FormatError, HEADER_LEN, Header, MultipartLayout,
    PartNumber, open_part, plan_range, seal_part, sealed_len,
};
use support::count_alloc::{MIB, exclusive, largest_allocation};

const BINDING: &[u8] = b"arn:aws:s3:::bucket/key";

fn key() -> DataKey {
    DataKey::from_bytes([0x42; 32])
}

#[test]
fn chunk_size_exponent_outside_12_to_22_is_refused_before_any_allocation() {
    let _serial = exclusive();
    let sealed = seal_part(&key(), BINDING, PartNumber::SINGLE, ChunkSize::MIN, b"x").unwrap();
    for clog in [0u8, 11, 23, 31, 63, 64, 200, 255] {
        let mut hostile = sealed.to_vec();
        hostile[6] = clog;
        let (r, largest) = largest_allocation(|| Header::read(&hostile));
        assert_eq!(r, Err(FormatError::BadChunkSize(clog)));
        assert_eq!(largest, 0, "clog {clog}");
        let (r, largest) =
            largest_allocation(|| open_part(&key(), BINDING, PartNumber::SINGLE, &hostile));
        assert_eq!(r, Err(Error::Format(FormatError::BadChunkSize(clog))));
        assert!(largest < 64 << 10, "clog {clog}: {largest} bytes");
    }
}

#[test]
fn max_chunk_exponent_on_a_forged_header_fails_the_commitment_before_allocating() {
    let _serial = exclusive();
    // A 4 KiB-chunk part whose header is rewritten to claim 4 MiB chunks (clog = 22): the
    // commitment covers the chunk size, so it fails before any chunk buffer exists.
    let sealed = seal_part(&key(), BINDING, PartNumber::SINGLE, ChunkSize::MIN, b"x").unwrap();
    let mut hostile = sealed.to_vec();
    hostile[6] = ChunkSize::MAX.log2();
    let (r, largest) =
        largest_allocation(|| open_part(&key(), BINDING, PartNumber::SINGLE, &hostile));
    assert_eq!(r, Err(Error::Format(FormatError::CommitmentMismatch)));
    assert!(largest < 64 << 10, "{largest} bytes");
    let (r, largest) = largest_allocation(|| {
        Decryptor::new(&hostile[..], &key(), BINDING, PartNumber::SINGLE).map(|_| ())
    });
    assert_eq!(r, Err(Error::Format(FormatError::CommitmentMismatch)));
    assert!(largest < 64 << 10, "{largest} bytes");
}

#[test]
fn part_number_field_above_10000_is_refused() {
    let _serial = exclusive();
    let sealed = seal_part(&key(), BINDING, PartNumber::SINGLE, ChunkSize::MIN, b"x").unwrap();
    let mut hostile = sealed.to_vec();
    hostile[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    let (r, largest) = largest_allocation(|| Header::read(&hostile));
    assert_eq!(r, Err(FormatError::BadPartNumber(u32::MAX)));
    assert_eq!(largest, 0);
}

#[test]
fn decryptor_on_4_mib_chunks_allocates_with_the_bytes_present() {
    let _serial = exclusive();
    // A genuine part with the largest chunk size and a 1-byte body, then that body cut to 1
    // byte of its chunk: the decryptor must not reserve a batch of 4 MiB chunks for it.
    let sealed = seal_part(&key(), BINDING, PartNumber::SINGLE, ChunkSize::MAX, b"x").unwrap();
    let stream = |bytes: &[u8]| {
        let mut d = Decryptor::new(bytes, &key(), BINDING, PartNumber::SINGLE)
            .unwrap()
            .with_batch(1024);
        let mut out = Vec::new();
        d.read_to_end(&mut out).map(|_| out)
    };
    let (r, largest) = largest_allocation(|| stream(&sealed));
    assert_eq!(r.unwrap(), b"x");
    assert!(largest <= 128 << 10, "{largest} bytes for a 1-byte part");
    let (r, largest) = largest_allocation(|| stream(&sealed[..HEADER_LEN + 1]));
    assert!(r.is_err());
    assert!(largest <= 128 << 10, "{largest} bytes for a truncated part");
    // An endless body claiming to continue past 1024 chunks of 4 MiB: memory stays one batch.
    let mut endless = sealed[..HEADER_LEN].to_vec();
    endless.resize(HEADER_LEN + (9 << 20), 0);
    let (r, largest) = largest_allocation(|| {
        let mut d = Decryptor::new(&endless[..], &key(), BINDING, PartNumber::SINGLE)
            .unwrap()
            .with_batch(1);
        let mut out = Vec::new();
        d.read_to_end(&mut out).map(|_| out.len())
    });
    assert!(r.is_err(), "garbage chunks must fail");
    // One batch of one 4 MiB chunk (+ tag + look-ahead) and its plaintext.
    assert!(largest <= 4 * MIB + (64 << 10), "{largest} bytes");
}

#[test]
fn huge_lengths_and_part_counts_are_arithmetic_only() {
    let _serial = exclusive();
    let (r, largest) = largest_allocation(|| {
        (
            sealed_len(u64::MAX, ChunkSize::MIN),
            plan_range(u64::MAX, ChunkSize::MIN, 0..u64::MAX),
        )
    });
    assert_eq!(r.0, None, "u64::MAX plaintext has no sealed length");
    assert!(r.1.is_err());
    assert!(largest < 4096, "{largest} bytes");
    // 10,000 parts of 5 GiB (S3's largest object and more): planned, and a range at its end.
    let (r, largest) = largest_allocation(|| {
        let layout = MultipartLayout::new(
            ChunkSize::MAX,
            (1..=10_000u32).map(|n| (PartNumber::new(n).unwrap(), 5u64 << 30)),
        )?;
        let end = layout.plaintext_len();
        layout.plan_range(end - 1..end).map(|p| p.len())
    });
    assert_eq!(r, Ok(1));
    // The layout itself: a few words per part.
    assert!(largest < MIB, "{largest} bytes");
}
