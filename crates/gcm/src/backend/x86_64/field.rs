//! GHASH with PCLMULQDQ, computed in the POLYVAL domain (RFC 8452 Appendix A).
//!
//! GHASH's bit-reflected field is awkward for CLMUL; instead each block is byte-reversed (one
//! `pshufb`) and hashed with POLYVAL under the key `H' = mulX_POLYVAL(ByteReverse(H))`, and the
//! result is byte-reversed back. POLYVAL's product is `dot(a, b) = a·b·x⁻¹²⁸ mod
//! x¹²⁸ + x¹²⁷ + x¹²⁶ + x¹²¹ + 1`, which a Montgomery-style reduction computes with two CLMULs
//! (Gueron, "AES-GCM-SIV: specification and analysis", the `gfmul` reduction).
//!
//! Powers: `P₁ = H'`, `Pₖ = dot(Pₖ₋₁, H')`, so `dot(X, Pₖ) = X·H'ᵏ·x⁻¹²⁸ᵏ`, exactly what `k`
//! sequential Horner steps give; an 8-block group is therefore hashed as
//! `reduce(Σⱼ (Xⱼ ⊕ [j = 0]·Y) × P₈₋ⱼ)` with one reduction (the reduction is linear).
//! Each 128×128 product is Karatsuba: `lo = a₀b₀`, `hi = a₁b₁`, `mid = (a₀⊕a₁)(b₀⊕b₁)`, with
//! `b₀⊕b₁` precomputed per power.

use core::arch::x86_64::{
    __m128i, _mm_clmulepi64_si128, _mm_setzero_si128, _mm_shuffle_epi32, _mm_slli_si128,
    _mm_srli_si128, _mm_xor_si128,
};

use super::from_u128;

/// The reduction constant: `x¹²⁷ + x¹²⁶ + x¹²¹` in the high qword (used by `clmul(lo₀, ·, 0x10)`)
/// and `1` in the low qword, as in Gueron's reference code.
pub(super) const POLY: u128 = (0xc200_0000_0000_0000 << 64) | 1;

/// The H-power table of one key: entry `2j` is `P₈₋ⱼ`, entry `2j + 1` holds `lo ⊕ hi` of it in
/// both qwords (the Karatsuba middle operand); so entries 14 and 15 serve single-block steps.
pub(super) const TABLE: usize = 16;

/// Unreduced Karatsuba product, accumulated as `(lo, hi, mid)`.
#[derive(Clone, Copy)]
pub(super) struct Wide {
    lo: __m128i,
    hi: __m128i,
    mid: __m128i,
}

narrow_kernel! {
    fn karatsuba_k(p: __m128i) -> __m128i {
        _mm_xor_si128(p, _mm_shuffle_epi32::<0x4e>(p))
    }
}

impl Wide {
    narrow_kernel! {
        pub(super) fn zero() -> Self {
            let z = _mm_setzero_si128();
            Wide {
                lo: z,
                hi: z,
                mid: z,
            }
        }
    }

    narrow_kernel! {
        /// `self += x × p`, where `k` is `karatsuba_k(p)`.
        pub(super) fn mul_add(&mut self, x: __m128i, p: __m128i, k: __m128i) {
            self.lo = _mm_xor_si128(self.lo, _mm_clmulepi64_si128::<0x00>(x, p));
            self.hi = _mm_xor_si128(self.hi, _mm_clmulepi64_si128::<0x11>(x, p));
            let xk = karatsuba_k(x);
            self.mid = _mm_xor_si128(self.mid, _mm_clmulepi64_si128::<0x00>(xk, k));
        }
    }

    narrow_kernel! {
        /// `reduce(lo + mid·x⁶⁴ + hi·x¹²⁸)`, i.e. the accumulated sum times `x⁻¹²⁸`.
        pub(super) fn reduce(self) -> __m128i {
            let mid = _mm_xor_si128(self.mid, _mm_xor_si128(self.lo, self.hi));
            let lo = _mm_xor_si128(self.lo, _mm_slli_si128::<8>(mid));
            let hi = _mm_xor_si128(self.hi, _mm_srli_si128::<8>(mid));
            let poly = from_u128(POLY);
            let t = _mm_clmulepi64_si128::<0x10>(lo, poly);
            let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
            let t = _mm_clmulepi64_si128::<0x10>(lo, poly);
            let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
            _mm_xor_si128(hi, lo)
        }
    }
}

narrow_kernel! {
    /// `dot(a, b)`.
    pub(super) fn dot(a: __m128i, b: __m128i) -> __m128i {
        let mut w = Wide::zero();
        w.mul_add(a, b, karatsuba_k(b));
        w.reduce()
    }
}

narrow_kernel! {
    /// Builds the power table from `H'` (already in the POLYVAL domain).
    pub(super) fn powers(h: __m128i) -> [__m128i; TABLE] {
        let mut t = [h; TABLE];
        let mut p = h;
        for k in 1..=8 {
            if k > 1 {
                p = dot(p, h);
            }
            let j = 8 - k;
            t[2 * j] = p;
            t[2 * j + 1] = karatsuba_k(p);
        }
        t
    }
}

narrow_kernel! {
    /// `x.len()` (1..=8) Horner steps with one reduction: block `j` is multiplied by
    /// `P₍ₙ₋ⱼ₎`, so a short run costs one reduction instead of one per block. `x` already
    /// byte-reversed; an empty `x` returns `y`.
    pub(super) fn update_n(table: &[__m128i; TABLE], y: __m128i, x: &[__m128i]) -> __m128i {
        let n = x.len().min(8);
        let Some((first, rest)) = x[..n].split_first() else {
            return y;
        };
        // Entry `2(8 − k)` holds `P_k`; block `j` needs `k = n − j`.
        let at = 2 * (8 - n);
        let mut w = Wide::zero();
        w.mul_add(_mm_xor_si128(y, *first), table[at], table[at + 1]);
        for (j, xj) in rest.iter().enumerate() {
            let i = at + 2 * (j + 1);
            w.mul_add(*xj, table[i], table[i + 1]);
        }
        w.reduce()
    }
}

narrow_kernel! {
    /// Eight Horner steps with one reduction; `x` already byte-reversed.
    pub(super) fn update8(table: &[__m128i; TABLE], y: __m128i, x: &[__m128i; 8]) -> __m128i {
        let mut w = Wide::zero();
        w.mul_add(_mm_xor_si128(y, x[0]), table[0], table[1]);
        for j in 1..8 {
            w.mul_add(x[j], table[2 * j], table[2 * j + 1]);
        }
        w.reduce()
    }
}
