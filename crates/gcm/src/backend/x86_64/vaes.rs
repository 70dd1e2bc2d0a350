//! AES-256-GCM with VAES and VPCLMULQDQ on 512-bit registers (x86_64), NIST SP 800-38D.
//!
//! # Algorithm
//! The message moves in groups of 16 blocks (256 bytes) held in four zmm registers, one block
//! per 128-bit lane. For every group, 16 counter blocks go through the 14 AES rounds together
//! (one `vaesenc zmm` runs a round on four blocks), while GHASH of 16 ciphertext blocks runs in
//! the same instruction stream:
//! - sealing hashes the *previous* group's ciphertext (just stored), so the first group is
//!   encrypted alone and the last one hashed alone ([`ghash16`]);
//! - opening hashes the *current* group's ciphertext (the input); all hash loads of a group come
//!   before its stores, so opening in place is sound.
//!
//! GHASH runs in the POLYVAL domain of the 128-bit backend's `field` module (byte-reverse each
//! block, hash under `H' = mulX_POLYVAL(ByteReverse(H))`, the same key and the same constant).
//! The 16 blocks of a group are hashed as `reduce(Σⱼ (Xⱼ ⊕ [j = 0]·Y) × H'¹⁶⁻ʲ)`: zmm `k` holds
//! blocks `4k..4k+3` and is multiplied lane by lane with `[H'¹⁶⁻⁴ᵏ, H'¹⁵⁻⁴ᵏ, H'¹⁴⁻⁴ᵏ, H'¹³⁻⁴ᵏ]`
//! from the key's [`Table`], schoolbook (four `vpclmulqdq`: `lo = x₀h₀`, `mid = x₀h₁ ⊕ x₁h₀`,
//! `hi = x₁h₁`; Karatsuba would trade one of them for a shuffle and an XOR on the same port
//! and a second table). The products are summed lane-wise, reduced lane-wise with two Montgomery steps
//! that fold `lo` into `mid` and `mid` into `hi` (`t = lo₀·c`, `mid ⊕= swap64(lo) ⊕ t`, then the
//! same from `mid` into `hi`; equal to the 128-bit backend's shift-then-reduce by linearity), and
//! the four lanes are summed with two lane shuffles, leaving the new `Y` in every lane.
//!
//! Everything except the 256-byte groups — J0, the AAD, the last `len mod 256` bytes (at most
//! one 128-byte stitched group, then a partial one) and the length block — is the 128-bit
//! backend's code, continuing the same counter and hash state (`narrow::Run`).
//!
//! # Why 512-bit registers
//! With zmm, one `vaesenc` runs a round on four blocks and every GHASH, counter and XOR
//! instruction also covers four blocks, so the non-AES work per byte is half that of a ymm
//! kernel, which would compete with AES for more vector ports. (Measurements behind this
//! choice: `benches/README.md`, "Design measurements of the x86_64 kernels".)
//!
//! # Schedule (one group, [`ctr16_ghash16`])
//! ```text
//! counters   broadcast the counter; 4× (vpaddd, vpxorq rk0)  (4× vpshufb more when the low
//!            counter byte would carry; intrinsics, before the asm block)
//! prefetch   4× prefetcht0 of the input 1 KiB (four groups) ahead
//! round 1    vbroadcasti32x4 rk1; 4× vaesenc | zmm 0: load, vpshufb, ⊕ Y, 2× vpclmulqdq (lo, hi)
//! round 2    4× vaesenc | zmm 0: 2× vpclmulqdq (mid), XOR
//! round 3-8  4× vaesenc | zmm 1..3 the same, accumulating with vpxorq / vpternlogq
//! round 9-10 4× vaesenc | reduction: vpclmulqdq, vpshufd, vpternlogq (lo → mid, mid → hi)
//! round 11-12 4× vaesenc | lane sums: 2× (vshufi64x2, vpxorq) → Y
//! round 13   4× vaesenc
//! round 14   4× (vpxorq rk14 with the input, vaesenclast, store)
//! ```
//! The 13 rounds and the last round are one `asm!` block, so the interleave above is what runs
//! whatever the compiler would schedule; the schoolbook product and the lane-wise reduction
//! above take fewer uops than Karatsuba with shift-then-reduce (which [`ghash16`] still uses for
//! the last seal group). The software prefetch is for inputs that come from DRAM. Prefetching
//! past the end of the input is harmless (`prefetcht0` never faults and is not a memory access
//! in Rust's sense).
//!
//! Per group: 56 AES instructions against about 54 other 512-bit uops (16 + 2 `vpclmulqdq`,
//! 4 `vpshufb`, 2 `vpshufd`, 2 `vshufi64x2`, counters, XORs, many fused into `vpternlogq`).
//! The AES half alone, `Key::ctr_only` (feature `bench-internals`: just the counters and the 14
//! rounds, on zmm or ymm), is the ceiling any AES-256-GCM on the core can reach; the measured
//! figures of both are in `benches/README.md`.
//!
//! Requires AVX-512F/BW/VL, VAES, VPCLMULQDQ and what the 128-bit backend needs; checked by
//! [`available`] when a key is built, and the key's existence is the proof the kernel relies on.

use core::arch::x86_64::{
    __m128i, __m512i, _mm_add_epi32, _mm_clmulepi64_si128, _mm_cvtsi128_si32, _mm_shuffle_epi8,
    _mm_shuffle_epi32, _mm_xor_si128, _mm256_castsi256_si128, _mm256_extracti128_si256,
    _mm256_xor_si256, _mm512_add_epi32, _mm512_aesenc_epi128, _mm512_aesenclast_epi128,
    _mm512_broadcast_i32x4, _mm512_bslli_epi128, _mm512_bsrli_epi128, _mm512_castsi512_si128,
    _mm512_castsi512_si256, _mm512_clmulepi64_epi128, _mm512_extracti64x4_epi64,
    _mm512_inserti32x4, _mm512_loadu_si512, _mm512_set_epi32, _mm512_shuffle_epi8,
    _mm512_storeu_si512, _mm512_xor_si512, _mm512_zextsi128_si512,
};

use core::arch::asm;

use ::aes::cipher::inout::InOutBuf;
use zeroize::Zeroize;

use super::field::{POLY, dot};
use super::{BSWAP, from_u128};
use crate::backend::x86_64 as narrow;

/// Bytes per group: 16 blocks in four zmm registers.
const GROUP: usize = 256;

/// [`POLY`] in every lane, as a memory operand for the kernel.
static POLY_MEM: [u128; 4] = [POLY; 4];

/// Whether this CPU has every feature the VAES kernel is compiled for (which include those of
/// the 128-bit kernels).
pub(crate) fn available() -> bool {
    vaes_features! { all_detected! {} }
}

/// The hash-key powers in lane order: `p[k]` lane `l` is `H'¹⁶⁻⁴ᵏ⁻ˡ`.
#[derive(Clone)]
struct Table {
    p: [__m512i; 4],
}

/// The 128-bit backend's key (round keys, `H'¹…⁸`) plus the 512-bit power table; zeroized on
/// drop (the inner key zeroizes itself).
#[derive(Clone)]
pub(crate) struct Key {
    narrow: narrow::Key,
    table: Table,
}

impl Drop for Key {
    fn drop(&mut self) {
        self.table.p.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Key {}

impl Key {
    /// Expands `key`; `None` if the CPU lacks any feature [`available`] checks.
    pub(crate) fn new(key: &[u8; 32]) -> Option<Self> {
        if !available() {
            return None;
        }
        let narrow = narrow::Key::new(key)?;
        // SAFETY: the features `table` is compiled for were detected just above.
        let table = unsafe { table(narrow.h()) };
        Some(Key { narrow, table })
    }

    pub(crate) fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: InOutBuf<'_, '_, u8>) -> [u8; 16] {
        let len = buf.len();
        let (src, dst) = buf.into_raw();
        // SAFETY: a `Key` exists only if `available()` held. `InOutBuf` guarantees `src` is
        // readable and `dst` writable for `len` bytes and that they are equal or disjoint.
        unsafe { seal(self, nonce, aad, src, dst, len) }
    }

    /// AES-256-CTR alone over whole 256-byte groups, counter from `J0 + 1` as in GCM (so the
    /// output equals GCM's ciphertext): the AES half of the kernel without GHASH, an upper bound
    /// for any AES-256-GCM on this core. `false` (nothing written) unless `buf.len()` is a
    /// multiple of 256.
    ///
    /// With `ymm`, the same on 256-bit registers (`vaesenc ymm`, two blocks per instruction,
    /// eight registers per group), to compare the two widths' AES ceilings.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn ctr_only(&self, nonce: &[u8; 12], buf: &mut [u8], ymm: bool) -> bool {
        if !buf.len().is_multiple_of(GROUP) {
            return false;
        }
        let n = buf.len() / GROUP;
        if ymm {
            // SAFETY: as below.
            unsafe { ctr_groups_ymm(self, nonce, buf.as_mut_ptr(), n) };
        } else {
            // SAFETY: a `Key` exists only if `available()` held; `buf` is valid for reads and
            // writes of its length, `256 n` bytes.
            unsafe { ctr_groups(self, nonce, buf.as_mut_ptr(), n) };
        }
        true
    }

    /// Decrypts into the output while hashing, then checks the tag. On `false` the output holds
    /// unauthenticated plaintext, which the caller must zero.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: InOutBuf<'_, '_, u8>,
        tag: &[u8; 16],
    ) -> bool {
        let len = buf.len();
        let (src, dst) = buf.into_raw();
        // SAFETY: as in `seal`.
        let mut expected = unsafe { open(self, nonce, aad, src, dst, len) };
        crate::backend::tag_matches(&mut expected, tag)
    }
}

vaes_kernel! {
    /// One Montgomery reduction step: `lo = swap64(lo) ⊕ lo₀·(x⁶³ + x⁶² + x⁵⁷)`.
    fn reduce_step(lo: __m128i) -> __m128i {
        let t = _mm_clmulepi64_si128::<0x10>(lo, from_u128(POLY));
        _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t)
    }
}

vaes_kernel! {
    /// Builds the [`Table`] from `H'` (already in the POLYVAL domain).
    fn table(h: __m128i) -> Table {
        // pw[i] = H'^(i+1)
        let mut pw = [h; 16];
        let mut p = h;
        for slot in &mut pw[1..] {
            p = dot(p, h);
            *slot = p;
        }
        p.zeroize();
        let p: [__m512i; 4] = core::array::from_fn(|k| {
            let top = 15 - 4 * k;
            let z = _mm512_zextsi128_si512(pw[top]);
            let z = _mm512_inserti32x4::<1>(z, pw[top - 1]);
            let z = _mm512_inserti32x4::<2>(z, pw[top - 2]);
            _mm512_inserti32x4::<3>(z, pw[top - 3])
        });
        pw.zeroize();
        Table { p }
    }
}

vaes_kernel! {
    /// Round key `r` broadcast to the four lanes.
    #[inline]
    fn round_key(key: &Key, r: usize) -> __m512i {
        _mm512_broadcast_i32x4(key.narrow.round_keys()[r])
    }
}

vaes_kernel! {
    /// One AES round on the four states.
    #[inline]
    fn aes_round(s: &mut [__m512i; 4], k: __m512i) {
        for v in s {
            *v = _mm512_aesenc_epi128(*v, k);
        }
    }
}

vaes_kernel! {
    /// The 16 counter blocks `ctr + 0..16` (`ctr` byte-reversed: the 32-bit counter is dword 0),
    /// whitened with round key 0; advances `ctr` by 16.
    ///
    /// When the counter's low byte is at most `0xf0`, adding `0..16` cannot carry out of it, so the
    /// blocks are made from one byte-reversed copy by adding to byte 15 (one `vpshufb` per group
    /// instead of four). The branch is on the counter, which is public.
    #[inline]
    fn counters(key: &Key, ctr: &mut __m128i) -> [__m512i; 4] {
        let rk0 = round_key(key, 0);
        let bswap = from_u128(BSWAP);
        let s = if _mm_cvtsi128_si32(*ctr) & 0xff <= 0xf0 {
            let be = _mm512_broadcast_i32x4(_mm_shuffle_epi8(*ctr, bswap));
            [0, 4, 8, 12].map(|b: i32| {
                let add = _mm512_set_epi32(
                    (b + 3) << 24,
                    0,
                    0,
                    0,
                    (b + 2) << 24,
                    0,
                    0,
                    0,
                    (b + 1) << 24,
                    0,
                    0,
                    0,
                    b << 24,
                    0,
                    0,
                    0,
                );
                _mm512_xor_si512(_mm512_add_epi32(be, add), rk0)
            })
        } else {
            let le = _mm512_broadcast_i32x4(*ctr);
            let bswap = _mm512_broadcast_i32x4(bswap);
            [0, 4, 8, 12].map(|b: i32| {
                let add = _mm512_set_epi32(0, 0, 0, b + 3, 0, 0, 0, b + 2, 0, 0, 0, b + 1, 0, 0, 0, b);
                _mm512_xor_si512(_mm512_shuffle_epi8(_mm512_add_epi32(le, add), bswap), rk0)
            })
        };
        *ctr = _mm_add_epi32(*ctr, from_u128(16));
        s
    }
}

vaes_kernel! {
    /// The last AES round: `out = aesenclast(s, rk14 ⊕ in)` = keystream ⊕ input, stored.
    /// Each input block is loaded before its own output block is stored (in-place safe).
    ///
    /// # Safety
    /// `src` is valid for reads and `dst` for writes of 256 bytes; they are equal or disjoint.
    #[inline]
    unsafe fn last_round(key: &Key, s: [__m512i; 4], src: *const u8, dst: *mut u8) {
        let rk14 = round_key(key, 14);
        for (k, v) in s.into_iter().enumerate() {
            // SAFETY: bytes `64k..64k + 64` of `src`, in bounds by the contract.
            let input = unsafe { _mm512_loadu_si512(src.add(64 * k).cast()) };
            let out = _mm512_aesenclast_epi128(v, _mm512_xor_si512(rk14, input));
            // SAFETY: bytes `64k..64k + 64` of `dst`, in bounds by the contract.
            unsafe { _mm512_storeu_si512(dst.add(64 * k).cast(), out) };
        }
    }
}

/// Unreduced schoolbook products `lo = x₀h₀`, `mid = x₀h₁ ⊕ x₁h₀`, `hi = x₁h₁`, summed lane by
/// lane.
#[derive(Clone, Copy)]
struct Wide {
    lo: __m512i,
    hi: __m512i,
    mid: __m512i,
}

vaes_kernel! {
    /// Loads zmm `k` (blocks `4k..4k + 4`) of the group at `x` and byte-reverses each block.
    ///
    /// # Safety
    /// `x` is valid for reads of 256 bytes.
    #[inline]
    unsafe fn load_reversed(x: *const u8, k: usize) -> __m512i {
        // SAFETY: bytes `64k..64k + 64` of `x`, in bounds by the contract.
        let v = unsafe { _mm512_loadu_si512(x.add(64 * k).cast()) };
        _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(from_u128(BSWAP)))
    }
}

impl Wide {
    vaes_kernel! {
        /// The products of zmm 0 of a group, with the running hash `y` folded into its first block.
        #[inline]
        fn first(t: &Table, x: __m512i, y: __m128i) -> Self {
            let x = _mm512_xor_si512(x, _mm512_zextsi128_si512(y));
            Wide {
                lo: _mm512_clmulepi64_epi128::<0x00>(x, t.p[0]),
                hi: _mm512_clmulepi64_epi128::<0x11>(x, t.p[0]),
                mid: _mm512_xor_si512(
                    _mm512_clmulepi64_epi128::<0x01>(x, t.p[0]),
                    _mm512_clmulepi64_epi128::<0x10>(x, t.p[0]),
                ),
            }
        }
    }

    vaes_kernel! {
        /// `self += x × powers k`.
        #[inline]
        fn add(&mut self, t: &Table, x: __m512i, k: usize) {
            let lo = _mm512_clmulepi64_epi128::<0x00>(x, t.p[k]);
            let hi = _mm512_clmulepi64_epi128::<0x11>(x, t.p[k]);
            let mid = _mm512_xor_si512(
                _mm512_clmulepi64_epi128::<0x01>(x, t.p[k]),
                _mm512_clmulepi64_epi128::<0x10>(x, t.p[k]),
            );
            self.lo = _mm512_xor_si512(self.lo, lo);
            self.hi = _mm512_xor_si512(self.hi, hi);
            self.mid = _mm512_xor_si512(self.mid, mid);
        }
    }

    vaes_kernel! {
        /// Folds the middle term into `lo`/`hi` (per lane) and sums the four lanes: the 256-bit
        /// product `hi·x¹²⁸ + lo`, still unreduced.
        #[inline]
        fn fold(self) -> (__m128i, __m128i) {
            let mid = self.mid;
            let lo = _mm512_xor_si512(self.lo, _mm512_bslli_epi128::<8>(mid));
            let hi = _mm512_xor_si512(self.hi, _mm512_bsrli_epi128::<8>(mid));
            (sum_lanes(lo), sum_lanes(hi))
        }
    }
}

vaes_kernel! {
    /// XOR of the four 128-bit lanes.
    #[inline]
    fn sum_lanes(z: __m512i) -> __m128i {
        let y = _mm256_xor_si256(_mm512_castsi512_si256(z), _mm512_extracti64x4_epi64::<1>(z));
        _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256::<1>(y))
    }
}

vaes_kernel! {
    /// GHASH of one group without encryption (the last group of a seal); returns the new `Y`.
    ///
    /// # Safety
    /// `x` is valid for reads of 256 bytes.
    #[inline]
    unsafe fn ghash16(key: &Key, y: __m128i, x: *const u8) -> __m128i {
        let t = &key.table;
        // SAFETY: `x` readable for 256 bytes by the contract.
        let mut w = Wide::first(t, unsafe { load_reversed(x, 0) }, y);
        for k in 1..4 {
            // SAFETY: as above.
            w.add(t, unsafe { load_reversed(x, k) }, k);
        }
        let (lo, hi) = w.fold();
        _mm_xor_si128(hi, reduce_step(reduce_step(lo)))
    }
}

vaes_kernel! {
    /// CTR on one group without hashing (the first group of a seal).
    ///
    /// # Safety
    /// `src` is valid for reads and `dst` for writes of 256 bytes; they are equal or disjoint.
    #[inline]
    unsafe fn ctr16(key: &Key, ctr: &mut __m128i, src: *const u8, dst: *mut u8) {
        let mut s = counters(key, ctr);
        for r in 1..14 {
            aes_round(&mut s, round_key(key, r));
        }
        // SAFETY: the contract of this function.
        unsafe { last_round(key, s, src, dst) };
    }
}

vaes_kernel! {
    /// CTR on `n` groups, each stitched with GHASH of 256 other bytes; returns the new `Y`.
    /// Group `i` encrypts `src + 256i` into `dst + 256i` and hashes `hash + 256i`.
    ///
    /// The loop lives here rather than in the callers: an earlier per-group function was not inlined
    /// into the loop by LLVM (a `#[target_feature]` function cannot be `#[inline(always)]`).
    ///
    /// # Safety
    /// `src` is valid for reads and `dst` for writes of `256 n` bytes; they are equal or disjoint.
    /// `hash` is valid for reads of `256 n` bytes. Either `hash == src` (opening: each group's hash
    /// loads happen before that group's stores), or `hash == dst − 256` (sealing: each group hashes
    /// the output of the group before it, which is already stored).
    unsafe fn ctr16_ghash16(
        key: &Key,
        ctr: &mut __m128i,
        mut y: __m128i,
        src: *const u8,
        dst: *mut u8,
        hash: *const u8,
        n: usize,
    ) -> __m128i {
        let rk = key.narrow.round_keys().as_ptr();
        let h = key.table.p.as_ptr();
        let bs = _mm512_broadcast_i32x4(from_u128(BSWAP));
        let mut c = *ctr;
        for i in 0..n {
            let (src, dst, x) = (
                src.wrapping_add(GROUP * i),
                dst.wrapping_add(GROUP * i),
                hash.wrapping_add(GROUP * i),
            );
            let [s0, s1, s2, s3] = counters(key, &mut c);
            // Scratch registers. They are typed: with rustc 1.95 an untyped `out(zmm_reg) _` is
            // printed as a byte register and the `:x`/`:y` modifiers print wrong names, so every
            // operand of the block is used at full zmm width.
            let yout: __m512i;
            let (_k, _t, _a, _b, _lo, _hi, _mid): (
                __m512i,
                __m512i,
                __m512i,
                __m512i,
                __m512i,
                __m512i,
                __m512i,
            );
            // SAFETY: reads 256 bytes at `x` and at `src` and writes 256 bytes at `dst` (group `i`,
            // in bounds by the contract; every load of `x` precedes the stores, so `x == src` is
            // sound), 240 bytes of round keys at `rk`, 256 bytes of powers at `h` and the static
            // reduction constant; writes only the listed registers otherwise. The `prefetcht0`s
            // may name addresses past the input: they are hints that never fault or access memory.
            unsafe {
                asm!(
                    "prefetcht0 byte ptr [{src} + 1024]",
                    "prefetcht0 byte ptr [{src} + 1088]",
                    "prefetcht0 byte ptr [{src} + 1152]",
                    "prefetcht0 byte ptr [{src} + 1216]",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 16]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vmovdqu64 {t}, zmmword ptr [{x}]",
                    "vpshufb {t}, {t}, {bs}",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpxorq {t}, {t}, {y}",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpclmulqdq {lo}, {t}, zmmword ptr [{h}], 0x00",
                    "vaesenc {s3}, {s3}, {k}",
                    "vpclmulqdq {hi}, {t}, zmmword ptr [{h}], 0x11",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 32]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vpclmulqdq {mid}, {t}, zmmword ptr [{h}], 0x01",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h}], 0x10",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpxorq {mid}, {mid}, {a}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 48]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vmovdqu64 {t}, zmmword ptr [{x} + 64]",
                    "vpshufb {t}, {t}, {bs}",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h} + 64], 0x00",
                    "vpclmulqdq {b}, {t}, zmmword ptr [{h} + 64], 0x11",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpxorq {lo}, {lo}, {a}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vpxorq {hi}, {hi}, {b}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 64]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h} + 64], 0x01",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {b}, {t}, zmmword ptr [{h} + 64], 0x10",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpternlogq {mid}, {a}, {b}, 0x96",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 80]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vmovdqu64 {t}, zmmword ptr [{x} + 128]",
                    "vpshufb {t}, {t}, {bs}",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h} + 128], 0x00",
                    "vpclmulqdq {b}, {t}, zmmword ptr [{h} + 128], 0x11",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpxorq {lo}, {lo}, {a}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vpxorq {hi}, {hi}, {b}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 96]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h} + 128], 0x01",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {b}, {t}, zmmword ptr [{h} + 128], 0x10",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpternlogq {mid}, {a}, {b}, 0x96",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 112]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vmovdqu64 {t}, zmmword ptr [{x} + 192]",
                    "vpshufb {t}, {t}, {bs}",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h} + 192], 0x00",
                    "vpclmulqdq {b}, {t}, zmmword ptr [{h} + 192], 0x11",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpxorq {lo}, {lo}, {a}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vpxorq {hi}, {hi}, {b}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 128]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vpclmulqdq {a}, {t}, zmmword ptr [{h} + 192], 0x01",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpclmulqdq {b}, {t}, zmmword ptr [{h} + 192], 0x10",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpternlogq {mid}, {a}, {b}, 0x96",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 144]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vpclmulqdq {a}, {lo}, zmmword ptr [{poly}], 0x10",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpshufd {lo}, {lo}, 0x4e",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpternlogq {mid}, {lo}, {a}, 0x96",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 160]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vpclmulqdq {a}, {mid}, zmmword ptr [{poly}], 0x10",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpshufd {mid}, {mid}, 0x4e",
                    "vaesenc {s2}, {s2}, {k}",
                    "vpternlogq {hi}, {mid}, {a}, 0x96",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 176]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vshufi64x2 {a}, {hi}, {hi}, 0x4e",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpxorq {hi}, {hi}, {a}",
                    "vaesenc {s2}, {s2}, {k}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 192]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vshufi64x2 {a}, {hi}, {hi}, 0xb1",
                    "vaesenc {s1}, {s1}, {k}",
                    "vpxorq {yout}, {hi}, {a}",
                    "vaesenc {s2}, {s2}, {k}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 208]",
                    "vaesenc {s0}, {s0}, {k}",
                    "vaesenc {s1}, {s1}, {k}",
                    "vaesenc {s2}, {s2}, {k}",
                    "vaesenc {s3}, {s3}, {k}",
                    "vbroadcasti32x4 {k}, xmmword ptr [{rk} + 224]",
                    "vpxorq {t}, {k}, zmmword ptr [{src}]",
                    "vaesenclast {s0}, {s0}, {t}",
                    "vmovdqu64 zmmword ptr [{dst}], {s0}",
                    "vpxorq {t}, {k}, zmmword ptr [{src} + 64]",
                    "vaesenclast {s1}, {s1}, {t}",
                    "vmovdqu64 zmmword ptr [{dst} + 64], {s1}",
                    "vpxorq {t}, {k}, zmmword ptr [{src} + 128]",
                    "vaesenclast {s2}, {s2}, {t}",
                    "vmovdqu64 zmmword ptr [{dst} + 128], {s2}",
                    "vpxorq {t}, {k}, zmmword ptr [{src} + 192]",
                    "vaesenclast {s3}, {s3}, {t}",
                    "vmovdqu64 zmmword ptr [{dst} + 192], {s3}",
                    rk = in(reg) rk,
                    h = in(reg) h,
                    x = in(reg) x,
                    src = in(reg) src,
                    dst = in(reg) dst,
                    poly = in(reg) POLY_MEM.as_ptr(),
                    bs = in(zmm_reg) bs,
                    y = in(zmm_reg) _mm512_zextsi128_si512(y),
                    yout = out(zmm_reg) yout,
                    s0 = inout(zmm_reg) s0 => _, s1 = inout(zmm_reg) s1 => _,
                    s2 = inout(zmm_reg) s2 => _, s3 = inout(zmm_reg) s3 => _,
                    k = out(zmm_reg) _k, t = out(zmm_reg) _t,
                    a = out(zmm_reg) _a, b = out(zmm_reg) _b,
                    lo = out(zmm_reg) _lo, hi = out(zmm_reg) _hi, mid = out(zmm_reg) _mid,
                    options(nostack, preserves_flags),
                );
            }
            // All four lanes of `yout` hold the new hash (the lane sums were computed in every lane).
            y = _mm512_castsi512_si128(yout);
        }
        *ctr = c;
        y
    }
}

vaes_kernel! {
    /// CTR over `n` groups in place, no hashing (see [`Key::ctr_only`]).
    ///
    /// # Safety
    /// The CPU has the features of [`available`]; `buf` is valid for reads and writes of `256 n`
    /// bytes.
    #[cfg(feature = "bench-internals")]
    unsafe fn ctr_groups(key: &Key, nonce: &[u8; 12], buf: *mut u8, n: usize) {
        let mut ctr = narrow::Run::start(&key.narrow, nonce, &[]).ctr;
        for i in 0..n {
            let g = buf.wrapping_add(GROUP * i);
            // SAFETY: group `i` of the `256 n` bytes, read then written in place.
            unsafe { ctr16(key, &mut ctr, g, g) };
        }
    }
}

vaes_kernel! {
    /// [`ctr_groups`] on ymm registers: per group eight vectors of two blocks each, 14 rounds.
    ///
    /// # Safety
    /// As for [`ctr_groups`].
    #[cfg(feature = "bench-internals")]
    unsafe fn ctr_groups_ymm(key: &Key, nonce: &[u8; 12], buf: *mut u8, n: usize) {
        use core::arch::x86_64::{
            __m256i, _mm256_add_epi32, _mm256_aesenc_epi128, _mm256_aesenclast_epi128,
            _mm256_broadcastsi128_si256, _mm256_loadu_si256, _mm256_set_epi32, _mm256_shuffle_epi8,
            _mm256_storeu_si256,
        };
        let mut rk: [__m256i; 15] = key
            .narrow
            .round_keys()
            .map(|k| _mm256_broadcastsi128_si256(k));
        let bswap = from_u128(BSWAP);
        let mut ctr = narrow::Run::start(&key.narrow, nonce, &[]).ctr;
        for i in 0..n {
            let g = buf.wrapping_add(GROUP * i);
            // Counter blocks `ctr + 2j` (low lane) and `ctr + 2j + 1` (high lane), as in `counters`.
            let mut s: [__m256i; 8] = if _mm_cvtsi128_si32(ctr) & 0xff <= 0xf0 {
                let be = _mm256_broadcastsi128_si256(_mm_shuffle_epi8(ctr, bswap));
                [0, 2, 4, 6, 8, 10, 12, 14].map(|b: i32| {
                    let add = _mm256_set_epi32((b + 1) << 24, 0, 0, 0, b << 24, 0, 0, 0);
                    _mm256_xor_si256(_mm256_add_epi32(be, add), rk[0])
                })
            } else {
                let le = _mm256_broadcastsi128_si256(ctr);
                let bs = _mm256_broadcastsi128_si256(bswap);
                [0, 2, 4, 6, 8, 10, 12, 14].map(|b: i32| {
                    let add = _mm256_set_epi32(0, 0, 0, b + 1, 0, 0, 0, b);
                    _mm256_xor_si256(_mm256_shuffle_epi8(_mm256_add_epi32(le, add), bs), rk[0])
                })
            };
            ctr = _mm_add_epi32(ctr, from_u128(16));
            for k in &rk[1..14] {
                for v in &mut s {
                    *v = _mm256_aesenc_epi128(*v, *k);
                }
            }
            for (j, v) in s.into_iter().enumerate() {
                // SAFETY: bytes `32j..32j + 32` of group `i`, in bounds by the contract; each is
                // loaded before it is stored.
                unsafe {
                    let p = g.add(32 * j);
                    let input = _mm256_loadu_si256(p.cast());
                    let out = _mm256_aesenclast_epi128(v, _mm256_xor_si256(rk[14], input));
                    _mm256_storeu_si256(p.cast(), out);
                }
            }
        }
        rk.zeroize();
    }
}

vaes_kernel! {
    /// Seals `n ≥ 1` groups: group `i` is encrypted while group `i − 1` of the output is hashed.
    ///
    /// # Safety
    /// The CPU has the features of [`available`]. `src` is valid for reads and `dst` for writes of
    /// `256 n` bytes; they are equal or disjoint.
    unsafe fn seal_groups(
        key: &Key,
        ctr: &mut __m128i,
        y: __m128i,
        src: *const u8,
        dst: *mut u8,
        n: usize,
    ) -> __m128i {
        // SAFETY: group 0 is within the `256 n` bytes.
        unsafe { ctr16(key, ctr, src, dst) };
        // SAFETY: groups 1.. are within the `256 n` bytes; group `i` hashes group `i − 1` of `dst`,
        // stored already, the contract's `hash == dst − 256` case.
        let y = unsafe { ctr16_ghash16(key, ctr, y, src.add(GROUP), dst.add(GROUP), dst, n - 1) };
        // SAFETY: the last group of `dst`, written above.
        unsafe { ghash16(key, y, dst.add(GROUP * (n - 1))) }
    }
}

vaes_kernel! {
    /// # Safety
    /// The CPU has the features of [`available`]. `src` is readable and `dst` writable for `len`
    /// bytes, and they are equal or disjoint.
    unsafe fn seal(
        key: &Key,
        nonce: &[u8; 12],
        aad: &[u8],
        src: *const u8,
        dst: *mut u8,
        len: usize,
    ) -> [u8; 16] {
        let mut run = narrow::Run::start(&key.narrow, nonce, aad);
        let n = len / GROUP;
        let wide = GROUP * n;
        if n > 0 {
            // SAFETY: the first `wide ≤ len` bytes, under this function's contract.
            run.y = unsafe { seal_groups(key, &mut run.ctr, run.y, src, dst, n) };
        }
        // SAFETY: the remaining `len − wide` bytes, same contract; the counter and hash continue.
        unsafe { narrow::seal_body(&mut run, src.add(wide), dst.add(wide), len - wide) };
        run.finish(aad.len(), len)
    }
}

vaes_kernel! {
    /// Decrypts while hashing the ciphertext; returns the expected tag.
    ///
    /// # Safety
    /// As for [`seal`].
    unsafe fn open(
        key: &Key,
        nonce: &[u8; 12],
        aad: &[u8],
        src: *const u8,
        dst: *mut u8,
        len: usize,
    ) -> [u8; 16] {
        let mut run = narrow::Run::start(&key.narrow, nonce, aad);
        let n = len / GROUP;
        let wide = GROUP * n;
        // SAFETY: the first `wide ≤ len` bytes, under this function's contract; each group hashes
        // its own input, the `hash == src` case.
        run.y = unsafe { ctr16_ghash16(key, &mut run.ctr, run.y, src, dst, src, n) };
        // SAFETY: the remaining `len − wide` bytes, same contract; the counter and hash continue.
        unsafe { narrow::open_body(&mut run, src.add(wide), dst.add(wide), len - wide) };
        run.finish(aad.len(), len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table against sequential powers: `p[k]` lane `l` is `H'^(16 − 4k − l)`, checked
    /// through `dot` with the 128-bit backend's `H'`.
    #[test]
    fn table_lanes_are_descending_powers() {
        if !available() {
            return;
        }
        let key = Key::new(&[0x5c; 32]).unwrap_or_else(|| unreachable!());
        // SAFETY: `available()` returned true.
        unsafe { check_table(&key) };
    }

    vaes_kernel! {
        fn check_table(key: &Key) {
            let h = key.narrow.h();
            let mut p = h;
            let mut powers = vec![[0u8; 16]; 17];
            for (i, slot) in powers.iter_mut().enumerate().skip(1) {
                if i > 1 {
                    p = dot(p, h);
                }
                // SAFETY: `slot` is 16 writable bytes.
                unsafe { core::arch::x86_64::_mm_storeu_si128(slot.as_mut_ptr().cast(), p) };
            }
            for (k, z) in key.table.p.iter().enumerate() {
                let mut lanes = [0u8; 64];
                // SAFETY: `lanes` is 64 writable bytes.
                unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), *z) };
                for l in 0..4 {
                    assert_eq!(
                        lanes[16 * l..16 * l + 16],
                        powers[16 - 4 * k - l],
                        "p[{k}] lane {l}"
                    );
                }
            }
        }
    }
}
