//! Every SIMD backend against the portable backend and the RustCrypto `aes-gcm` crate, in the
//! same run: random keys, nonces and AAD, every plaintext length 0..=300, lengths straddling the
//! 16-byte block, the 128-byte stitched group, the 256-byte VAES group (and its multiples up to
//! 1 KiB), 4 KiB and 64 KiB; seal and open, in place and in → out; tampered tags and ciphertexts
//! rejected with the output zeroed.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed call is a failed test"
)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use proptest::prelude::*;
use s3seal_gcm::{Aes256Gcm, BackendKind, Error};

fn simd_kinds() -> impl Iterator<Item = BackendKind> {
    BackendKind::ALL
        .iter()
        .copied()
        .filter(|&k| k != BackendKind::Portable && k.is_available())
}

fn aes_gcm_crate(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let c = aes_gcm::Aes256Gcm::new(key.into());
    let mut buf = pt.to_vec();
    let tag = c
        .encrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into())
        .unwrap();
    (buf, tag.into())
}

/// Seals with `kind` both ways, checks against `(ct, tag)`, then opens both ways and checks
/// that a flipped tag bit and a flipped ciphertext bit (at `flip`) are rejected with the output
/// zeroed.
fn check_kind(
    kind: BackendKind,
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    pt: &[u8],
    (ct, tag): (&[u8], [u8; 16]),
    flip: usize,
) {
    let len = pt.len();
    let ours = Aes256Gcm::with_backend(key, kind).unwrap();
    assert_eq!(ours.backend(), kind);

    let mut buf = pt.to_vec();
    let t = ours
        .seal_in_place_separate_tag(nonce, aad, &mut buf)
        .unwrap();
    assert_eq!(
        (buf.as_slice(), t),
        (ct, tag),
        "{kind:?} seal in place, len {len}"
    );
    let mut out = vec![0xa5; len];
    let t = ours.seal_to(nonce, aad, pt, &mut out).unwrap();
    assert_eq!(
        (out.as_slice(), t),
        (ct, tag),
        "{kind:?} seal_to, len {len}"
    );

    let mut buf = ct.to_vec();
    ours.open_in_place(nonce, aad, &mut buf, &tag).unwrap();
    assert_eq!(buf, pt, "{kind:?} open in place, len {len}");
    let mut out = vec![0xa5; len];
    ours.open_to(nonce, aad, ct, &mut out, &tag).unwrap();
    assert_eq!(out, pt, "{kind:?} open_to, len {len}");

    let mut bad_tag = tag;
    bad_tag[flip % 16] ^= 1 << (flip % 8);
    let mut buf = ct.to_vec();
    assert_eq!(
        ours.open_in_place(nonce, aad, &mut buf, &bad_tag),
        Err(Error::Authentication)
    );
    assert!(
        buf.iter().all(|&b| b == 0),
        "{kind:?} output not zeroed, len {len}"
    );
    let mut out = vec![0xa5; len];
    assert_eq!(
        ours.open_to(nonce, aad, ct, &mut out, &bad_tag),
        Err(Error::Authentication)
    );
    assert!(
        out.iter().all(|&b| b == 0),
        "{kind:?} output not zeroed, len {len}"
    );

    if len > 0 {
        let mut bad_ct = ct.to_vec();
        bad_ct[flip % len] ^= 1 << (flip % 8);
        let mut buf = bad_ct.clone();
        assert_eq!(
            ours.open_in_place(nonce, aad, &mut buf, &tag),
            Err(Error::Authentication)
        );
        assert!(
            buf.iter().all(|&b| b == 0),
            "{kind:?} output not zeroed, len {len}"
        );
        let mut out = vec![0xa5; len];
        assert_eq!(
            ours.open_to(nonce, aad, &bad_ct, &mut out, &tag),
            Err(Error::Authentication)
        );
        assert!(
            out.iter().all(|&b| b == 0),
            "{kind:?} output not zeroed, len {len}"
        );
    }
}

/// Portable and `aes-gcm` agree; then every SIMD backend matches them.
fn check(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8], flip: usize) {
    let portable = Aes256Gcm::with_backend(key, BackendKind::Portable).unwrap();
    let mut ct = pt.to_vec();
    let tag = portable
        .seal_in_place_separate_tag(nonce, aad, &mut ct)
        .unwrap();
    let (rc_ct, rc_tag) = aes_gcm_crate(key, nonce, aad, pt);
    assert_eq!(
        (ct.as_slice(), tag),
        (rc_ct.as_slice(), rc_tag),
        "portable vs aes-gcm"
    );
    check_kind(BackendKind::Portable, key, nonce, aad, pt, (&ct, tag), flip);
    for kind in simd_kinds() {
        check_kind(kind, key, nonce, aad, pt, (&ct, tag), flip);
    }
}

/// Lengths around the block (16), the stitched group (128), the VAES group (256) and its
/// multiples, 4 KiB and 64 KiB.
fn boundary_lengths() -> Vec<usize> {
    let mut v = Vec::new();
    for base in [16usize, 128, 256, 512, 768, 1024, 4096, 65536] {
        for d in [
            -129, -128, -127, -17, -16, -15, -1, 0, 1, 15, 16, 17, 127, 128, 129, 255, 256, 257,
        ] {
            v.extend(base.checked_add_signed(d));
        }
    }
    v.retain(|&n| n > 300);
    v.sort_unstable();
    v.dedup();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_length_0_to_300(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..=100),
        data in proptest::collection::vec(any::<u8>(), 300..=300),
        flip in any::<usize>(),
    ) {
        for len in 0..=300 {
            // Rotate so each length sees different content.
            let pt: Vec<u8> = data.iter().cycle().skip(len).take(len).copied().collect();
            check(&key, &nonce, &aad, &pt, flip.wrapping_add(len));
        }
    }

    #[test]
    fn lengths_straddling_boundaries(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..=100),
        seed in any::<u64>(),
        flip in any::<usize>(),
    ) {
        let mut x = seed | 1;
        let data: Vec<u8> = (0..65536 + 257).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        }).collect();
        for len in boundary_lengths() {
            check(&key, &nonce, &aad, &data[..len], flip.wrapping_add(len));
        }
    }

    /// AAD lengths 0..=300 cross the 128-byte AAD groups the SIMD backend hashes aggregated.
    #[test]
    fn aad_lengths_0_to_300(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 300..=300),
        pt in proptest::collection::vec(any::<u8>(), 0..=300),
    ) {
        for n in 0..=300 {
            check(&key, &nonce, &aad[..n], &pt, n);
        }
    }
}

/// The counter is 32 bits wrapping within the nonce block: a nonce that makes the first counter
/// blocks cross 2³² is impossible with 96-bit IVs (J0 ends in 1), so instead check that large
/// inputs (many groups) agree end to end.
#[test]
fn one_mebibyte_agrees() {
    let key = [7u8; 32];
    let nonce = [9u8; 12];
    let pt: Vec<u8> = (0..(1 << 20) + 77).map(|i| (i * 31 % 251) as u8).collect();
    check(&key, &nonce, b"aad", &pt, 12345);
}

#[test]
fn detect_picks_an_available_backend() {
    let kind = BackendKind::detect();
    assert!(kind.is_available());
    assert_eq!(Aes256Gcm::new(&[1; 32]).backend(), kind);
    if cfg!(s3seal_backend = "portable") {
        assert_eq!(kind, BackendKind::Portable);
    } else if let Some(&k) = simd_kinds().collect::<Vec<_>>().first() {
        assert_eq!(kind, k, "the SIMD backend is available but not detected");
    }
    for k in BackendKind::ALL {
        assert_eq!(
            Aes256Gcm::with_backend(&[1; 32], *k).is_some(),
            k.is_available()
        );
    }
}

/// The benchmark-only CTR bound runs the same keystream as GCM: its output over a multiple of
/// 256 bytes equals the GCM ciphertext (crate `aes-gcm`), and it refuses other lengths.
#[cfg(feature = "bench-internals")]
#[test]
fn ctr_bound_is_gcm_keystream() {
    let Some(k) = Aes256Gcm::with_backend(&[0x3c; 32], BackendKind::X86_64Vaes) else {
        return;
    };
    // 4 KiB and 64 KiB run the counter's low byte across 0xff inside a group.
    for nonce in [[0x11u8; 12], [0xff; 12]] {
        for len in [256usize, 512, 4096, 65536] {
            let pt: Vec<u8> = (0..len)
                .map(|i| u8::try_from((i * 7 + 3) % 251).unwrap())
                .collect();
            let (expected, _) = aes_gcm_crate(&[0x3c; 32], &nonce, &[], &pt);
            for ymm in [false, true] {
                let mut buf = pt.clone();
                assert!(k.ctr_bound_in_place(&nonce, &mut buf, ymm));
                assert_eq!(buf, expected, "len {len} ymm {ymm}");
            }
        }
    }
    let mut odd = vec![0u8; 300];
    assert!(!k.ctr_bound_in_place(&[0; 12], &mut odd, false));
    assert!(!k.ctr_bound_in_place(&[0; 12], &mut odd, true));
    assert!(odd.iter().all(|&b| b == 0));
}
