//! AES-256 key expansion and single-block encryption with AES-NI (FIPS 197 §5.2, §5.1).
//!
//! Only the cold paths live here (key setup, J0, tails); the bulk rounds are in
//! [`super::stitched`]. Known-answer test: FIPS 197 Appendix C.3, at the bottom of this file.

use core::arch::x86_64::{
    __m128i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_aeskeygenassist_si128, _mm_shuffle_epi32,
    _mm_slli_si128, _mm_xor_si128,
};

/// AES-256 has 14 rounds, so 15 round keys.
pub(super) const ROUND_KEYS: usize = 15;

narrow_kernel! {
    /// `w ^= w << 32 ^ w << 64 ^ w << 96`: the running XOR of the previous four key words.
    fn prefix_xor(mut w: __m128i) -> __m128i {
        let mut t = _mm_slli_si128::<4>(w);
        w = _mm_xor_si128(w, t);
        t = _mm_slli_si128::<4>(t);
        w = _mm_xor_si128(w, t);
        t = _mm_slli_si128::<4>(t);
        _mm_xor_si128(w, t)
    }
}

narrow_kernel! {
    /// Expands a 256-bit key into 15 round keys (the Intel AES-NI white paper's AES-256 schedule).
    pub(super) fn expand(k0: __m128i, k1: __m128i) -> [__m128i; ROUND_KEYS] {
        let mut rk = [k0; ROUND_KEYS];
        rk[1] = k1;
        // Even round keys: SubWord(RotWord(w[i-1])) ^ rcon, broadcast from word 3 of the assist.
        macro_rules! even {
            ($i:expr, $rcon:expr) => {
                let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<$rcon>(rk[$i - 1]));
                rk[$i] = _mm_xor_si128(prefix_xor(rk[$i - 2]), t);
            };
        }
        // Odd round keys: SubWord(w[i-1]) without rotation or rcon, broadcast from word 2.
        macro_rules! odd {
            ($i:expr) => {
                let t = _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(rk[$i - 1]));
                rk[$i] = _mm_xor_si128(prefix_xor(rk[$i - 2]), t);
            };
        }
        even!(2, 0x01);
        odd!(3);
        even!(4, 0x02);
        odd!(5);
        even!(6, 0x04);
        odd!(7);
        even!(8, 0x08);
        odd!(9);
        even!(10, 0x10);
        odd!(11);
        even!(12, 0x20);
        odd!(13);
        even!(14, 0x40);
        rk
    }
}

narrow_kernel! {
    /// Encrypts one block.
    pub(super) fn encrypt(rk: &[__m128i; ROUND_KEYS], block: __m128i) -> __m128i {
        let mut b = _mm_xor_si128(block, rk[0]);
        for k in &rk[1..ROUND_KEYS - 1] {
            b = _mm_aesenc_si128(b, *k);
        }
        _mm_aesenclast_si128(b, rk[ROUND_KEYS - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_bytes, to_bytes};
    use super::*;

    /// FIPS 197 Appendix C.3 (AES-256).
    #[test]
    fn fips197_c3() {
        if !super::super::available() {
            return;
        }
        let key = hex::decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let pt = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        let ct = hex::decode("8ea2b7ca516745bfeafc49904b496089").unwrap();
        let (key, pt) = (key.unwrap().try_into().unwrap(), pt.try_into().unwrap());
        // SAFETY: `available()` returned true, so the CPU has AES-NI, PCLMULQDQ and AVX.
        let out = unsafe { run(&key, &pt) };
        assert_eq!(out.as_slice(), ct.as_slice());
    }

    narrow_kernel! {
        fn run(key: &[u8; 32], pt: &[u8; 16]) -> [u8; 16] {
            let (k0, k1) = key.split_at(16);
            let (Ok(k0), Ok(k1)) = (<&[u8; 16]>::try_from(k0), <&[u8; 16]>::try_from(k1)) else {
                unreachable!()
            };
            let rk = expand(from_bytes(k0), from_bytes(k1));
            to_bytes(encrypt(&rk, from_bytes(pt)))
        }
    }
}
