//! The sealed-stream format: round trips, every truncation and bit flip, chunk reordering,
//! thread-count determinism, ranges, and the streaming reader and writer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; lengths are small"
)]

use std::io::{Read, Write};

use proptest::prelude::*;
use s3seal_gcm::{
    ChunkSize, DataKey, Decryptor, Encryptor, Error, FormatError, HEADER_LEN, MultipartLayout,
    PartNumber, PartOpener, PartSealer, open_object_range, open_object_range_into, open_part,
    open_range, seal_part, seal_part_once_into,
};
use s3seal_gcm::{plan_range, sealed_len};

const C4K: ChunkSize = ChunkSize::MIN;
const SC: usize = 4096 + 16;

fn key() -> DataKey {
    DataKey::from_bytes([0x42; 32])
}

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn part(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

const CTX: &[u8] = b"bucket=b/key=k/version=1";

#[test]
fn round_trip_at_sizes_around_chunk_boundaries() {
    for len in [
        0,
        1,
        15,
        16,
        17,
        4095,
        4096,
        4097,
        8191,
        8192,
        8193,
        3 * 4096,
        3 * 4096 + 1,
    ] {
        let pt = data(len);
        let sealed = seal_part(&key(), CTX, PartNumber::SINGLE, C4K, &pt).unwrap();
        assert_eq!(sealed.len() as u64, sealed_len(len as u64, C4K).unwrap());
        let opened = open_part(&key(), CTX, PartNumber::SINGLE, &sealed).unwrap();
        assert_eq!(&opened[..], &pt[..], "len {len}");
    }
}

#[test]
fn every_truncation_and_every_bit_flip_is_rejected() {
    let pt = data(2 * 4096 + 100); // 3 chunks
    let sealed = seal_part(&key(), CTX, part(3), C4K, &pt).unwrap();
    for cut in 0..sealed.len() {
        let r = open_part(&key(), CTX, part(3), &sealed[..cut]);
        assert!(r.is_err(), "truncation at {cut} accepted");
    }
    let mut buf = sealed.to_vec();
    for i in 0..buf.len() {
        for bit in 0..8 {
            buf[i] ^= 1 << bit;
            assert!(
                open_part(&key(), CTX, part(3), &buf).is_err(),
                "flip at byte {i} bit {bit}"
            );
            buf[i] ^= 1 << bit;
        }
    }
    assert_eq!(&open_part(&key(), CTX, part(3), &buf).unwrap()[..], &pt[..]);
}

#[test]
fn truncation_errors_say_truncated_where_the_length_tells() {
    let pt = data(3 * 4096); // 3 full chunks, the last one final
    let sealed = seal_part(&key(), CTX, part(1), C4K, &pt).unwrap();
    // Dropping the final chunk leaves two full chunks, the second not flagged final.
    let dropped = &sealed[..HEADER_LEN + 2 * SC];
    assert_eq!(
        open_part(&key(), CTX, part(1), dropped),
        Err(FormatError::Truncated.into())
    );
    // Ending inside the header or with less than a tag in the last chunk.
    assert_eq!(
        open_part(&key(), CTX, part(1), &sealed[..40]),
        Err(FormatError::Truncated.into())
    );
    let r = open_part(&key(), CTX, part(1), &sealed[..HEADER_LEN + SC + 7]);
    assert_eq!(r, Err(FormatError::Truncated.into()));
}

#[test]
fn reorder_duplicate_drop_and_append_are_rejected_each_with_its_error() {
    let pt = data(2 * 4096 + 100);
    let sealed = seal_part(&key(), CTX, part(1), C4K, &pt).unwrap().to_vec();
    let (h, c0, c1, c2) = (
        &sealed[..HEADER_LEN],
        &sealed[HEADER_LEN..HEADER_LEN + SC],
        &sealed[HEADER_LEN + SC..HEADER_LEN + 2 * SC],
        &sealed[HEADER_LEN + 2 * SC..],
    );
    let open = |parts: &[&[u8]]| open_part(&key(), CTX, part(1), &parts.concat());
    assert_eq!(open(&[h, c1, c0, c2]), Err(Error::Authentication), "swap");
    assert_eq!(
        open(&[h, c0, c0, c2]),
        Err(Error::Authentication),
        "duplicate"
    );
    assert_eq!(
        open(&[h, c0, c1]),
        Err(FormatError::Truncated.into()),
        "dropped final chunk"
    );
    assert!(open(&[h, c0, c1, c2, b"x"]).is_err(), "appended byte");

    // A part whose final chunk is full: anything appended is trailing data.
    let full = seal_part(&key(), CTX, part(1), C4K, &data(2 * 4096))
        .unwrap()
        .to_vec();
    for extra in [
        &[0u8; 1][..],
        &[0; 16],
        &[0; 100],
        &full[HEADER_LEN..HEADER_LEN + SC],
    ] {
        let r = open_part(&key(), CTX, part(1), &[&full[..], extra].concat());
        assert_eq!(
            r,
            Err(FormatError::TrailingData.into()),
            "append {} bytes",
            extra.len()
        );
    }
}

#[test]
fn wrong_key_context_or_part_fails_at_the_header() {
    let sealed = seal_part(&key(), CTX, part(2), C4K, &data(5000)).unwrap();
    let other = DataKey::from_bytes([0x43; 32]);
    let cm = Err(FormatError::CommitmentMismatch.into());
    assert_eq!(open_part(&other, CTX, part(2), &sealed), cm);
    assert_eq!(
        open_part(&key(), b"bucket=b/key=moved/version=1", part(2), &sealed),
        cm
    );
    assert_eq!(
        open_part(&key(), CTX, part(3), &sealed),
        Err(FormatError::PartNumberMismatch {
            expected: 3,
            found: 2
        }
        .into())
    );
    // Rewriting the header's part number breaks the commitment.
    let mut moved = sealed.to_vec();
    moved[11] = 3;
    assert_eq!(open_part(&key(), CTX, part(3), &moved), cm);
}

#[test]
fn reupload_of_a_part_gets_a_fresh_salt_and_subkey() {
    let pt = data(100);
    let a = seal_part(&key(), CTX, part(7), C4K, &pt).unwrap();
    let b = seal_part(&key(), CTX, part(7), C4K, &pt).unwrap();
    assert_ne!(a[12..44], b[12..44], "salt reused");
    assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..], "same ciphertext twice");
}

#[test]
fn output_is_identical_for_1_2_and_8_threads() {
    let pt = data(37 * 4096 + 5);
    let sealer = PartSealer::new(&key(), CTX, part(9), C4K).unwrap();
    let len = sealed_len(pt.len() as u64, C4K).unwrap() as usize;
    let outs: Vec<Vec<u8>> = [1, 2, 8]
        .iter()
        .map(|&n| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            let mut out = vec![0u8; len];
            pool.install(|| seal_part_once_into(&sealer, &pt, &mut out))
                .unwrap();
            let opened = pool
                .install(|| open_part(&key(), CTX, part(9), &out))
                .unwrap();
            assert_eq!(&opened[..], &pt[..]);
            out
        })
        .collect();
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    // Outside any pool a small part is sealed sequentially: the same bytes again.
    let small = data(3 * 4096 + 1);
    let small_len = sealed_len(small.len() as u64, C4K).unwrap() as usize;
    let (mut seq, mut par) = (vec![0u8; small_len], vec![0u8; small_len]);
    seal_part_once_into(&sealer, &small, &mut seq).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| seal_part_once_into(&sealer, &small, &mut par))
        .unwrap();
    assert_eq!(seq, par);
    assert_eq!(
        &open_part(&key(), CTX, part(9), &seq).unwrap()[..],
        &small[..]
    );
}

fn check_range(pt: &[u8], sealed: &[u8], r: std::ops::Range<u64>) {
    let plan = plan_range(pt.len() as u64, C4K, r.clone()).unwrap();
    let bytes = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
    let got = open_range(
        &key(),
        CTX,
        PartNumber::SINGLE,
        C4K,
        &sealed[..HEADER_LEN],
        &plan,
        bytes,
    )
    .unwrap();
    assert_eq!(
        &got[..],
        &pt[r.start as usize..r.end as usize],
        "range {r:?} of {}",
        pt.len()
    );
}

#[test]
fn ranges_of_empty_one_byte_and_exact_multiple_objects() {
    for len in [0usize, 1, 4096, 3 * 4096] {
        let pt = data(len);
        let sealed = seal_part(&key(), CTX, PartNumber::SINGLE, C4K, &pt).unwrap();
        for s in 0..=len.min(3) {
            check_range(&pt, &sealed, s as u64..len as u64);
        }
        if len > 0 {
            check_range(&pt, &sealed, (len - 1) as u64..len as u64);
        }
    }
}

#[test]
fn a_tampered_chunk_outside_the_range_is_not_read_and_inside_it_fails() {
    let pt = data(4 * 4096);
    let mut sealed = seal_part(&key(), CTX, PartNumber::SINGLE, C4K, &pt)
        .unwrap()
        .to_vec();
    sealed[HEADER_LEN + 3 * SC + 5] ^= 1; // corrupt chunk 3
    check_range(&pt, &sealed, 0..3 * 4096);
    let plan = plan_range(pt.len() as u64, C4K, 3 * 4096..3 * 4096 + 1).unwrap();
    let bytes = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
    let r = open_range(
        &key(),
        CTX,
        PartNumber::SINGLE,
        C4K,
        &sealed[..HEADER_LEN],
        &plan,
        bytes,
    );
    assert_eq!(r, Err(Error::Authentication));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_ranges_single_part(len in 0usize..20_000, a in any::<u64>(), b in any::<u64>()) {
        let pt = data(len);
        let sealed = seal_part(&key(), CTX, PartNumber::SINGLE, C4K, &pt).unwrap();
        let (x, y) = (a % (len as u64 + 1), b % (len as u64 + 1));
        check_range(&pt, &sealed, x.min(y)..x.max(y));
    }

    #[test]
    fn random_ranges_multipart(
        sizes in proptest::collection::vec(prop_oneof![Just(0usize), Just(1), Just(4096), 1usize..12_000], 1..5),
        a in any::<u64>(), b in any::<u64>(),
    ) {
        let plain: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| data(n + i).split_off(i)).collect();
        let whole = plain.concat();
        let numbers: Vec<PartNumber> = (1..=sizes.len() as u32).map(|n| part(n * 2)).collect();
        let sealed: Vec<u8> = plain
            .iter()
            .zip(&numbers)
            .flat_map(|(p, &n)| seal_part(&key(), CTX, n, C4K, p).unwrap().to_vec())
            .collect();
        let lay = MultipartLayout::new(C4K, numbers.iter().zip(&plain).map(|(&n, p)| (n, p.len() as u64))).unwrap();
        prop_assert_eq!(lay.sealed_len(), sealed.len() as u64);
        let n = whole.len() as u64 + 1;
        let (x, y) = (a % n, b % n);
        let got = open_object_range(&key(), CTX, &lay, x.min(y)..x.max(y), &sealed).unwrap();
        prop_assert_eq!(&got[..], &whole[x.min(y) as usize..x.max(y) as usize]);
        // The same range into a caller's buffer, straight into place.
        let mut into = vec![0xEE; got.len()];
        let opener = |_: usize, p: PartNumber, h: &[u8]| PartOpener::new(&key(), CTX, p, h);
        open_object_range_into(&lay, x.min(y)..x.max(y), &sealed, opener, &mut into).unwrap();
        prop_assert_eq!(&into[..], &got[..]);
        // A wrong-length buffer is refused; a flipped byte leaves only zeros behind.
        let mut short = vec![0u8; got.len() + 1];
        prop_assert!(open_object_range_into(&lay, x.min(y)..x.max(y), &sealed, opener, &mut short).is_err());
        if !got.is_empty() {
            let mut bad = sealed.clone();
            let at = bad.len() - 1;
            bad[at] ^= 1;
            let mut out = vec![0xEE; got.len()];
            if open_object_range_into(&lay, x.min(y)..x.max(y), &bad, opener, &mut out).is_err() {
                prop_assert!(out.iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn streaming_writer_and_reader_agree_with_the_buffer_api(
        len in 0usize..40_000, write_size in 1usize..9000, read_size in 1usize..9000, batch in 1usize..4,
    ) {
        let pt = data(len);
        let mut enc = Encryptor::new(Vec::new(), &key(), CTX, part(4), C4K).unwrap().with_batch(batch);
        for piece in pt.chunks(write_size) {
            enc.write_all(piece).unwrap();
        }
        let sealed = enc.finish().unwrap();
        prop_assert_eq!(&open_part(&key(), CTX, part(4), &sealed).unwrap()[..], &pt[..]);
        let mut dec = Decryptor::new(&sealed[..], &key(), CTX, part(4)).unwrap().with_batch(batch);
        let mut out = Vec::new();
        let mut buf = vec![0u8; read_size];
        loop {
            let n = dec.read(&mut buf).unwrap();
            if n == 0 { break; }
            out.extend_from_slice(&buf[..n]);
        }
        prop_assert_eq!(out, pt);
    }
}

#[test]
fn streaming_reader_fails_on_truncation_and_keeps_failing() {
    let pt = data(5 * 4096);
    let sealed = seal_part(&key(), CTX, part(1), C4K, &pt).unwrap();
    for cut in [
        HEADER_LEN,
        HEADER_LEN + SC,
        HEADER_LEN + 2 * SC + 100,
        sealed.len() - 1,
    ] {
        let mut dec = Decryptor::new(&sealed[..cut], &key(), CTX, part(1))
            .unwrap()
            .with_batch(2);
        let mut out = Vec::new();
        let err = dec.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "cut {cut}");
        assert!(out.len() % (2 * 4096) == 0, "released a partial batch");
        let mut more = [0u8; 10];
        assert!(
            dec.read(&mut more).is_err(),
            "clean EOF after an error at cut {cut}"
        );
    }
    // Dropped without finish: no final chunk, so the reader reports truncation.
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut enc = Encryptor::new(Shared(shared.clone()), &key(), CTX, part(1), C4K)
        .unwrap()
        .with_batch(1);
    enc.write_all(&pt).unwrap();
    enc.flush().unwrap();
    drop(enc);
    let partial = shared.lock().unwrap().clone();
    assert!(
        partial.len() > HEADER_LEN,
        "nothing was written before the drop"
    );
    let mut dec = Decryptor::new(&partial[..], &key(), CTX, part(1)).unwrap();
    let err = dec.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn streaming_reader_rejects_wrong_key_before_reading_chunks() {
    let sealed = seal_part(&key(), CTX, part(1), C4K, &data(100)).unwrap();
    let r = Decryptor::new(&sealed[..], &DataKey::from_bytes([1; 32]), CTX, part(1));
    assert_eq!(r.err(), Some(FormatError::CommitmentMismatch.into()));
}

#[test]
fn streaming_reader_rejects_every_truncation_offset() {
    let pt = data(2 * 4096 + 100); // 3 chunks
    let sealed = seal_part(&key(), CTX, part(1), C4K, &pt).unwrap();
    for batch in [1, 2, 4] {
        for cut in 0..sealed.len() {
            let read = Decryptor::new(&sealed[..cut], &key(), CTX, part(1)).and_then(|d| {
                let mut out = Vec::new();
                d.with_batch(batch)
                    .read_to_end(&mut out)
                    .map_err(|_| Error::Authentication)?;
                Ok(out)
            });
            assert!(read.is_err(), "batch {batch}: truncation at {cut} accepted");
        }
    }
}
