//! The AES-256-GCM primitive against the RustCrypto `aes-gcm` crate: random keys, nonces and AAD,
//! every length 0..=300 and lengths around chunk boundaries, in place and in → out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; lengths are small"
)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use proptest::prelude::*;
use s3seal_gcm::{Aes256Gcm, BackendKind, Error};

fn reference(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let c = aes_gcm::Aes256Gcm::new(key.into());
    let mut buf = pt.to_vec();
    let tag = c
        .encrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into())
        .unwrap();
    (buf, tag.into())
}

fn check(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) {
    let (ct, tag) = reference(key, nonce, aad, pt);
    for &kind in BackendKind::ALL.iter().filter(|k| k.is_available()) {
        let ours = Aes256Gcm::with_backend(key, kind).unwrap();
        let mut buf = pt.to_vec();
        assert_eq!(
            ours.seal_in_place_separate_tag(nonce, aad, &mut buf)
                .unwrap(),
            tag,
            "{kind:?} len {}",
            pt.len()
        );
        assert_eq!(buf, ct, "{kind:?} len {}", pt.len());
        let mut out = vec![0u8; pt.len()];
        assert_eq!(ours.seal_to(nonce, aad, pt, &mut out).unwrap(), tag);
        assert_eq!(out, ct);
        let mut back = vec![0u8; pt.len()];
        ours.open_to(nonce, aad, &ct, &mut back, &tag).unwrap();
        assert_eq!(back, pt);
        let mut bad = tag;
        bad[pt.len() % 16] ^= 1;
        let mut buf = ct.clone();
        assert_eq!(
            ours.open_in_place(nonce, aad, &mut buf, &bad),
            Err(Error::Authentication)
        );
        assert!(buf.iter().all(|&b| b == 0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn matches_aes_gcm_for_every_length_to_300(
        key in any::<[u8; 32]>(), nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..100), seed in any::<u8>(),
    ) {
        for len in 0..=300usize {
            let pt: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
            check(&key, &nonce, &aad, &pt);
        }
    }

    #[test]
    fn matches_aes_gcm_around_chunk_boundaries(
        key in any::<[u8; 32]>(), nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..80),
        base in prop::sample::select(vec![4096usize, 65_536]), delta in -17i64..=17,
    ) {
        let len = (base as i64 + delta) as usize;
        let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        check(&key, &nonce, &aad, &pt);
    }
}

#[test]
fn mismatched_in_out_lengths_are_refused() {
    let k = Aes256Gcm::new(&[7; 32]);
    assert_eq!(
        k.seal_to(&[0; 12], b"", &[1; 5], &mut [0; 4]),
        Err(Error::LengthMismatch)
    );
    assert!(format!("{k:?}").contains("backend"));
}
