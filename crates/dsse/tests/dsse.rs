//! DSSE: round trips around chunk boundaries, multipart and ranges, streaming, and every tamper
//! case — either layer's header, wrapped key or any chunk byte; swapped, dropped or merged layers.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; lengths are small"
)]

use std::io::{Read, Write};

use proptest::prelude::*;
use s3seal_dsse::{
    DUAL_HEADER_LEN, DsseError, DsseKeys, LayerKey, LayerRecord, decryptor, encryptor, geometry,
    open_object_range, open_part, open_range, seal_part,
};
use s3seal_gcm::{ChunkSize, DataKey, Error, FormatError, MultipartLayout, PartNumber};
use s3seal_kms::{EncryptionContext, KeyRef, Kms, LocalKms};

const C4K: ChunkSize = ChunkSize::MIN;
const CTX: &[u8] = b"arn:aws:s3:::bucket/key";
const SC: usize = 4096 + 32;

fn record() -> LayerRecord {
    let k = |b| LayerKey {
        key_arn: "arn:aws:kms:us-east-1:111122223333:key/x".into(),
        wrapped: vec![b; 8],
    };
    LayerRecord {
        inner: k(1),
        outer: k(2),
    }
}

fn keys() -> DsseKeys {
    DsseKeys::from_data_keys(
        DataKey::from_bytes([1; 32]),
        DataKey::from_bytes([2; 32]),
        record(),
    )
    .unwrap()
}

fn swapped_keys() -> DsseKeys {
    DsseKeys::from_data_keys(
        DataKey::from_bytes([2; 32]),
        DataKey::from_bytes([1; 32]),
        record(),
    )
    .unwrap()
}

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect()
}

fn p(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

#[test]
fn round_trips_around_chunk_boundaries() {
    for len in [0, 1, 4095, 4096, 4097, 8192, 3 * 4096 + 5] {
        let pt = data(len);
        let sealed = seal_part(&keys(), CTX, PartNumber::SINGLE, C4K, &pt).unwrap();
        assert_eq!(
            sealed.len() as u64,
            geometry(C4K).sealed_len(len as u64).unwrap()
        );
        assert_eq!(
            &open_part(&keys(), CTX, PartNumber::SINGLE, &sealed).unwrap()[..],
            &pt[..]
        );
    }
}

#[test]
fn every_bit_flip_and_truncation_of_either_layer_is_rejected() {
    let pt = data(4096 + 100); // 2 chunks
    let sealed = seal_part(&keys(), CTX, p(1), C4K, &pt).unwrap().to_vec();
    let mut buf = sealed.clone();
    for i in 0..buf.len() {
        for bit in 0..8 {
            buf[i] ^= 1 << bit;
            assert!(
                open_part(&keys(), CTX, p(1), &buf).is_err(),
                "flip byte {i} bit {bit}"
            );
            buf[i] ^= 1 << bit;
        }
    }
    for cut in 0..sealed.len() {
        assert!(
            open_part(&keys(), CTX, p(1), &sealed[..cut]).is_err(),
            "cut {cut}"
        );
    }
    assert_eq!(&open_part(&keys(), CTX, p(1), &buf).unwrap()[..], &pt[..]);
}

#[test]
fn swapped_dropped_and_recombined_layers_fail() {
    let pt = data(5000);
    let sealed = seal_part(&keys(), CTX, p(1), C4K, &pt).unwrap().to_vec();
    // Keys of the two layers swapped.
    assert!(open_part(&swapped_keys(), CTX, p(1), &sealed).is_err());
    // Headers swapped: the outer position holds a single-layer header.
    let mut hs = sealed.clone();
    hs[..76].copy_from_slice(&sealed[76..152]);
    hs[76..152].copy_from_slice(&sealed[..76]);
    assert_eq!(
        open_part(&keys(), CTX, p(1), &hs).unwrap_err(),
        DsseError::Seal(Error::Format(FormatError::LayerMismatch))
    );
    // Outer layer dropped: a single-layer part under the inner key is not a DSSE part.
    let single = s3seal_gcm::seal_part(&DataKey::from_bytes([1; 32]), CTX, p(1), C4K, &pt).unwrap();
    assert!(open_part(&keys(), CTX, p(1), &single).is_err());
    // An inner header from another DSSE part spliced under this outer header.
    let other = seal_part(&keys(), CTX, p(1), C4K, &pt).unwrap();
    let mut spliced = sealed.clone();
    spliced[76..152].copy_from_slice(&other[76..152]);
    assert_eq!(
        open_part(&keys(), CTX, p(1), &spliced).unwrap_err(),
        DsseError::Seal(Error::Format(FormatError::CommitmentMismatch))
    );
    // Chunks of the other part under this part's headers.
    let mut chunks = sealed.clone();
    chunks[DUAL_HEADER_LEN..].copy_from_slice(&other[DUAL_HEADER_LEN..]);
    assert_eq!(
        open_part(&keys(), CTX, p(1), &chunks).unwrap_err(),
        DsseError::Seal(Error::Authentication)
    );
    // The same bytes under another object or part number.
    assert!(open_part(&keys(), b"arn:aws:s3:::bucket/other", p(1), &sealed).is_err());
    assert!(open_part(&keys(), CTX, p(2), &sealed).is_err());
    // Equal keys for both layers are refused outright.
    let same = DsseKeys::from_data_keys(
        DataKey::from_bytes([3; 32]),
        DataKey::from_bytes([3; 32]),
        record(),
    );
    assert_eq!(same.unwrap_err(), DsseError::SameKeys);
}

#[test]
fn dropped_final_chunk_and_appended_chunk_are_named() {
    let sealed = seal_part(&keys(), CTX, p(1), C4K, &data(2 * 4096))
        .unwrap()
        .to_vec();
    let dropped = &sealed[..DUAL_HEADER_LEN + SC];
    assert_eq!(
        open_part(&keys(), CTX, p(1), dropped).unwrap_err(),
        DsseError::Seal(Error::Format(FormatError::Truncated))
    );
    let appended = [&sealed[..], &sealed[DUAL_HEADER_LEN..DUAL_HEADER_LEN + SC]].concat();
    assert_eq!(
        open_part(&keys(), CTX, p(1), &appended).unwrap_err(),
        DsseError::Seal(Error::Format(FormatError::TrailingData))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn ranges_through_both_layers(len in 0usize..20_000, a in any::<u64>(), b in any::<u64>()) {
        let pt = data(len);
        let sealed = seal_part(&keys(), CTX, PartNumber::SINGLE, C4K, &pt).unwrap();
        let n = len as u64 + 1;
        let (x, y) = ((a % n).min(b % n), (a % n).max(b % n));
        let plan = geometry(C4K).plan_range(len as u64, x..y).unwrap();
        let bytes = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
        let got = open_range(&keys(), CTX, PartNumber::SINGLE, &sealed[..DUAL_HEADER_LEN], &plan, bytes).unwrap();
        prop_assert_eq!(&got[..], &pt[x as usize..y as usize]);
    }

    #[test]
    fn multipart_ranges(sizes in proptest::collection::vec(0usize..10_000, 1..4), a in any::<u64>(), b in any::<u64>()) {
        let plain: Vec<Vec<u8>> = sizes.iter().map(|&n| data(n)).collect();
        let whole = plain.concat();
        let sealed: Vec<u8> = plain.iter().enumerate()
            .flat_map(|(i, d)| seal_part(&keys(), CTX, p(i as u32 + 1), C4K, d).unwrap().to_vec())
            .collect();
        let layout = MultipartLayout::with_geometry(
            geometry(C4K), plain.iter().enumerate().map(|(i, d)| (p(i as u32 + 1), d.len() as u64))).unwrap();
        let n = whole.len() as u64 + 1;
        let (x, y) = ((a % n).min(b % n), (a % n).max(b % n));
        let got = open_object_range(&keys(), CTX, &layout, x..y, &sealed).unwrap();
        prop_assert_eq!(&got[..], &whole[x as usize..y as usize]);
    }

    #[test]
    fn streaming_matches_buffers(len in 0usize..30_000, piece in 1usize..7000, batch in 1usize..4) {
        let pt = data(len);
        let mut enc = encryptor(Vec::new(), &keys(), CTX, p(3), C4K).unwrap().with_batch(batch);
        for c in pt.chunks(piece) {
            enc.write_all(c).unwrap();
        }
        let sealed = enc.finish().unwrap();
        prop_assert_eq!(&open_part(&keys(), CTX, p(3), &sealed).unwrap()[..], &pt[..]);
        let mut out = Vec::new();
        decryptor(&sealed[..], &keys(), CTX, p(3)).unwrap().with_batch(batch).read_to_end(&mut out).unwrap();
        prop_assert_eq!(out, pt);
    }
}

#[test]
fn parallel_output_is_identical_for_1_and_2_threads() {
    let pt = data(40 * 4096 + 7);
    let sealer = keys().sealer(CTX, p(1), C4K).unwrap();
    let len = geometry(C4K).sealed_len(pt.len() as u64).unwrap() as usize;
    let run = |n| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        let mut out = vec![0u8; len];
        pool.install(|| s3seal_gcm::seal_part_once_into(&sealer, &pt, &mut out))
            .unwrap();
        out
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn keys_from_the_local_kms_are_two_distinct_keys_bound_to_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let kms = LocalKms::open_dir(dir.path()).unwrap();
    let key = kms.create_key("dsse test").unwrap();
    let key_ref = KeyRef::parse(&key.arn).unwrap();
    let ctx = EncryptionContext::for_object("bucket", "key");
    let keys = DsseKeys::generate(&kms, &key_ref, &kms.requester(), &ctx).unwrap();
    let rec = keys.record().clone();
    assert_ne!(rec.inner.wrapped, rec.outer.wrapped);
    assert_eq!(rec.inner.key_arn, key.arn);
    let record_bytes = rec.to_bytes().unwrap();
    let sealed = seal_part(&keys, CTX, PartNumber::SINGLE, C4K, b"dual layer").unwrap();

    let back = LayerRecord::from_bytes(&record_bytes).unwrap();
    let again = DsseKeys::unwrap(&kms, &back, &ctx).unwrap();
    assert_eq!(
        &open_part(&again, CTX, PartNumber::SINGLE, &sealed).unwrap()[..],
        b"dual layer"
    );

    // Wrong context, tampered wrapped key of either layer, and swapped wrapped keys all fail.
    assert!(matches!(
        DsseKeys::unwrap(
            &kms,
            &back,
            &EncryptionContext::for_object("bucket", "other")
        ),
        Err(DsseError::Kms(_))
    ));
    for layer in 0..2 {
        let mut bad = back.clone();
        let w = if layer == 0 {
            &mut bad.inner.wrapped
        } else {
            &mut bad.outer.wrapped
        };
        let last = w.len() - 1;
        w[last] ^= 1;
        assert!(matches!(
            DsseKeys::unwrap(&kms, &bad, &ctx),
            Err(DsseError::Kms(_))
        ));
    }
    let mut swapped = back.clone();
    std::mem::swap(&mut swapped.inner, &mut swapped.outer);
    let sw = DsseKeys::unwrap(&kms, &swapped, &ctx).unwrap();
    assert!(open_part(&sw, CTX, PartNumber::SINGLE, &sealed).is_err());
    let _: &dyn Kms = &kms;
}
