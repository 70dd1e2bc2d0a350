//! The stitched bulk kernel: AES-256-CTR on 8 blocks interleaved with GHASH of 8 other blocks.
//!
//! # Algorithm
//! Data moves in groups of 8 blocks (128 bytes). For each group, 8 counter blocks go through the
//! 14 AES rounds together (8 independent `aesenc` chains hide the 4-cycle `aesenc` latency),
//! while the GHASH of 8 ciphertext blocks is computed in the same instruction stream:
//! - sealing hashes the *previous* group's ciphertext (just written to the output), so the first
//!   group is encrypted alone and the last one hashed alone ([`ctr8`], [`super::field::update8`]);
//! - opening hashes the *current* group's ciphertext (the input) — all of its loads come before
//!   the first store of that group, so in-place opening is sound.
//!
//! GHASH runs in the POLYVAL domain ([`super::field`]): per block one `vpshufb` byte reversal,
//! three Karatsuba `vpclmulqdq` against `H⁸⁻ʲ` and `(H⁸⁻ʲ)₀ ⊕ (H⁸⁻ʲ)₁` from the key's table, and
//! the unreduced products are summed over the group; one two-`vpclmulqdq` reduction per group.
//!
//! # Schedule (one group)
//! ```text
//! round 0   counters: pshufb once, 8× (paddd, pxor rk0)  (compiler-scheduled intrinsics)
//! round 1   8× vaesenc | GHASH block 0 (⊕ Y) : load, pshufb, 3× pclmul, pshufd
//! round 2-8 8× vaesenc | GHASH block 1..7   : load, pshufb, 3× pclmul, pshufd, 4× pxor
//! round 9   8× vaesenc | Karatsuba fold: mid ⊕= lo ⊕ hi, split mid into lo/hi
//! round 10  8× vaesenc | reduction step 1 (1 pclmul, pshufd, pxor)
//! round 11  8× vaesenc | reduction step 2 → Y
//! round 12-13 8× vaesenc
//! round 14  8× (pxor rk14 with the input block, vaesenclast, store)
//! ```
//! Each line is one `asm!` block: LLVM keeps the instruction order inside an `asm!` block, so the
//! round-major order (all 8 blocks at round r before any block at round r + 1) and the placement of
//! the CLMULs between `aesenc`s survive optimisation (LLVM is free to re-order intrinsic rounds,
//! e.g. into one block at a time). Between blocks the 8 AES
//! states, `lo`/`hi`/`mid` and the round key stay in registers: 14 of the 16 xmm registers, the
//! remaining two are the block temporaries. Round keys are loaded once per round into a register;
//! H powers, the byte-swap mask and the reduction constant are memory operands.
//!
//! Per group that is 120 AES instructions, 26 `pclmulqdq` and ~85 other vector ops (byte swaps,
//! Karatsuba XORs, counters, the final XOR). With `aesenc` at 2/cycle on two ports the AES work
//! alone is 60 cycles per 128 bytes, but on a core with three vector ports the ~110 non-AES uops
//! push the bound to ≈ 77 cycles (0.6 cycles/byte): port pressure, not latency, limits it.
//!
//! Register allocation as compiled (no spills; the round keys copied to the stack once per
//! call and loaded once per round) is recorded in `benches/README.md`, "Design measurements of
//! the x86_64 kernels"; re-check it there after changing this file.

use core::arch::asm;
use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_shuffle_epi8, _mm_xor_si128,
};

use super::{BSWAP, Key, from_u128};

/// `Y` byte-reversal mask for `vpshufb`, as a memory operand.
static BSWAP_MEM: [u8; 16] = BSWAP.to_le_bytes();
/// [`super::field::POLY`] as a memory operand.
static POLY_MEM: [u8; 16] = super::field::POLY.to_le_bytes();

narrow_kernel! {
    /// The 8 counter blocks `ctr + 0..8` (byte-reversed in `ctr`), whitened with round key 0;
    /// advances `ctr` by 8.
    ///
    /// When the counter's low byte is at most `0xf8` (31 groups in 32), adding `0..8` cannot carry
    /// out of it, so the blocks are made from one byte-reversed copy by adding `j` to byte 15
    /// (one `pshufb` per group instead of eight). The branch is on the counter, which is public.
    #[inline]
    fn counters(key: &Key, ctr: &mut __m128i) -> [__m128i; 8] {
        let bswap = from_u128(BSWAP);
        let s = if _mm_cvtsi128_si32(*ctr) & 0xff <= 0xf8 {
            let be = _mm_shuffle_epi8(*ctr, bswap);
            core::array::from_fn(|j| {
                let c = _mm_add_epi32(be, from_u128((j as u128) << 120));
                _mm_xor_si128(c, key.rk[0])
            })
        } else {
            core::array::from_fn(|j| {
                let c = _mm_add_epi32(*ctr, from_u128(j as u128));
                _mm_xor_si128(_mm_shuffle_epi8(c, bswap), key.rk[0])
            })
        };
        *ctr = _mm_add_epi32(*ctr, from_u128(8));
        s
    }
}

/// One AES round on the 8 states.
macro_rules! round {
    ($s:ident, $k:expr) => {
        // SAFETY: register-only instructions on the listed operands.
        unsafe {
            asm!(
                "vaesenc {s0}, {s0}, {k}",
                "vaesenc {s1}, {s1}, {k}",
                "vaesenc {s2}, {s2}, {k}",
                "vaesenc {s3}, {s3}, {k}",
                "vaesenc {s4}, {s4}, {k}",
                "vaesenc {s5}, {s5}, {k}",
                "vaesenc {s6}, {s6}, {k}",
                "vaesenc {s7}, {s7}, {k}",
                k = in(xmm_reg) $k,
                s0 = inout(xmm_reg) $s[0], s1 = inout(xmm_reg) $s[1],
                s2 = inout(xmm_reg) $s[2], s3 = inout(xmm_reg) $s[3],
                s4 = inout(xmm_reg) $s[4], s5 = inout(xmm_reg) $s[5],
                s6 = inout(xmm_reg) $s[6], s7 = inout(xmm_reg) $s[7],
                options(pure, nomem, nostack, preserves_flags),
            )
        }
    };
}

/// One AES round on the 8 states, stitched with the Karatsuba product of one GHASH block.
/// `first` folds the running hash `Y` into the block and starts the accumulators.
macro_rules! round_hash {
    (first, $s:ident, $k:expr, $x:expr, $h:expr, $y:expr, $lo:ident, $hi:ident, $mid:ident) => {
        // SAFETY: reads 16 bytes at `$x` (a block of the group being hashed, valid by the
        // contract of the enclosing `unsafe fn`), 32 bytes at `$h` (two entries of the key's
        // table) and the static mask; writes only the listed registers.
        unsafe {
            asm!(
                "vmovdqu {t}, xmmword ptr [{x}]",
                "vaesenc {s0}, {s0}, {k}",
                "vpshufb {t}, {t}, xmmword ptr [{bswap}]",
                "vaesenc {s1}, {s1}, {k}",
                "vpxor {t}, {t}, {y}",
                "vaesenc {s2}, {s2}, {k}",
                "vpclmulqdq {lo}, {t}, xmmword ptr [{h}], 0x00",
                "vaesenc {s3}, {s3}, {k}",
                "vpclmulqdq {hi}, {t}, xmmword ptr [{h}], 0x11",
                "vaesenc {s4}, {s4}, {k}",
                "vpshufd {p}, {t}, 0x4e",
                "vpxor {t}, {t}, {p}",
                "vaesenc {s5}, {s5}, {k}",
                "vpclmulqdq {mid}, {t}, xmmword ptr [{h} + 16], 0x00",
                "vaesenc {s6}, {s6}, {k}",
                "vaesenc {s7}, {s7}, {k}",
                k = in(xmm_reg) $k,
                x = in(reg) $x,
                h = in(reg) $h,
                y = in(xmm_reg) $y,
                bswap = in(reg) BSWAP_MEM.as_ptr(),
                t = out(xmm_reg) _,
                p = out(xmm_reg) _,
                lo = out(xmm_reg) $lo, hi = out(xmm_reg) $hi, mid = out(xmm_reg) $mid,
                s0 = inout(xmm_reg) $s[0], s1 = inout(xmm_reg) $s[1],
                s2 = inout(xmm_reg) $s[2], s3 = inout(xmm_reg) $s[3],
                s4 = inout(xmm_reg) $s[4], s5 = inout(xmm_reg) $s[5],
                s6 = inout(xmm_reg) $s[6], s7 = inout(xmm_reg) $s[7],
                options(pure, readonly, nostack, preserves_flags),
            )
        }
    };
    ($s:ident, $k:expr, $x:expr, $h:expr, $lo:ident, $hi:ident, $mid:ident) => {
        // SAFETY: as for the `first` arm.
        unsafe {
            asm!(
                "vmovdqu {t}, xmmword ptr [{x}]",
                "vaesenc {s0}, {s0}, {k}",
                "vpshufb {t}, {t}, xmmword ptr [{bswap}]",
                "vaesenc {s1}, {s1}, {k}",
                "vpclmulqdq {p}, {t}, xmmword ptr [{h}], 0x00",
                "vaesenc {s2}, {s2}, {k}",
                "vpxor {lo}, {lo}, {p}",
                "vpclmulqdq {p}, {t}, xmmword ptr [{h}], 0x11",
                "vaesenc {s3}, {s3}, {k}",
                "vpxor {hi}, {hi}, {p}",
                "vpshufd {p}, {t}, 0x4e",
                "vaesenc {s4}, {s4}, {k}",
                "vpxor {t}, {t}, {p}",
                "vaesenc {s5}, {s5}, {k}",
                "vpclmulqdq {t}, {t}, xmmword ptr [{h} + 16], 0x00",
                "vaesenc {s6}, {s6}, {k}",
                "vpxor {mid}, {mid}, {t}",
                "vaesenc {s7}, {s7}, {k}",
                k = in(xmm_reg) $k,
                x = in(reg) $x,
                h = in(reg) $h,
                bswap = in(reg) BSWAP_MEM.as_ptr(),
                t = out(xmm_reg) _,
                p = out(xmm_reg) _,
                lo = inout(xmm_reg) $lo, hi = inout(xmm_reg) $hi, mid = inout(xmm_reg) $mid,
                s0 = inout(xmm_reg) $s[0], s1 = inout(xmm_reg) $s[1],
                s2 = inout(xmm_reg) $s[2], s3 = inout(xmm_reg) $s[3],
                s4 = inout(xmm_reg) $s[4], s5 = inout(xmm_reg) $s[5],
                s6 = inout(xmm_reg) $s[6], s7 = inout(xmm_reg) $s[7],
                options(pure, readonly, nostack, preserves_flags),
            )
        }
    };
}

/// One AES round stitched with the Karatsuba fold: `mid ⊕= lo ⊕ hi`, then the 256-bit product
/// `hi·x¹²⁸ + mid·x⁶⁴ + lo` is split back into two 128-bit halves `(hi, lo)`.
macro_rules! round_fold {
    ($s:ident, $k:expr, $lo:ident, $hi:ident, $mid:ident) => {
        // SAFETY: register-only instructions on the listed operands.
        unsafe {
            asm!(
                "vaesenc {s0}, {s0}, {k}",
                "vpxor {mid}, {mid}, {lo}",
                "vaesenc {s1}, {s1}, {k}",
                "vpxor {mid}, {mid}, {hi}",
                "vaesenc {s2}, {s2}, {k}",
                "vpslldq {t}, {mid}, 8",
                "vaesenc {s3}, {s3}, {k}",
                "vpsrldq {mid}, {mid}, 8",
                "vaesenc {s4}, {s4}, {k}",
                "vpxor {lo}, {lo}, {t}",
                "vaesenc {s5}, {s5}, {k}",
                "vpxor {hi}, {hi}, {mid}",
                "vaesenc {s6}, {s6}, {k}",
                "vaesenc {s7}, {s7}, {k}",
                k = in(xmm_reg) $k,
                t = out(xmm_reg) _,
                lo = inout(xmm_reg) $lo, hi = inout(xmm_reg) $hi, mid = inout(xmm_reg) $mid => _,
                s0 = inout(xmm_reg) $s[0], s1 = inout(xmm_reg) $s[1],
                s2 = inout(xmm_reg) $s[2], s3 = inout(xmm_reg) $s[3],
                s4 = inout(xmm_reg) $s[4], s5 = inout(xmm_reg) $s[5],
                s6 = inout(xmm_reg) $s[6], s7 = inout(xmm_reg) $s[7],
                options(pure, nomem, nostack, preserves_flags),
            )
        }
    };
}

/// One AES round stitched with one Montgomery reduction step of `lo`:
/// `lo = swap64(lo) ⊕ lo₀·(x⁶³ + x⁶² + x⁵⁷)` (Gueron's `gfmul`, see [`super::field`]).
macro_rules! round_reduce {
    ($s:ident, $k:expr, $lo:ident) => {
        // SAFETY: reads the 16-byte static reduction constant; writes only the listed registers.
        unsafe {
            asm!(
                "vaesenc {s0}, {s0}, {k}",
                "vpclmulqdq {t}, {lo}, xmmword ptr [{poly}], 0x10",
                "vaesenc {s1}, {s1}, {k}",
                "vpshufd {lo}, {lo}, 0x4e",
                "vaesenc {s2}, {s2}, {k}",
                "vaesenc {s3}, {s3}, {k}",
                "vaesenc {s4}, {s4}, {k}",
                "vpxor {lo}, {lo}, {t}",
                "vaesenc {s5}, {s5}, {k}",
                "vaesenc {s6}, {s6}, {k}",
                "vaesenc {s7}, {s7}, {k}",
                k = in(xmm_reg) $k,
                poly = in(reg) POLY_MEM.as_ptr(),
                t = out(xmm_reg) _,
                lo = inout(xmm_reg) $lo,
                s0 = inout(xmm_reg) $s[0], s1 = inout(xmm_reg) $s[1],
                s2 = inout(xmm_reg) $s[2], s3 = inout(xmm_reg) $s[3],
                s4 = inout(xmm_reg) $s[4], s5 = inout(xmm_reg) $s[5],
                s6 = inout(xmm_reg) $s[6], s7 = inout(xmm_reg) $s[7],
                options(pure, readonly, nostack, preserves_flags),
            )
        }
    };
}

/// The last AES round: `out = aesenclast(s, rk14 ⊕ in)` = keystream ⊕ input, stored.
/// Each input block is loaded before its own output block is stored (in-place safe).
macro_rules! last_round {
    ($s:ident, $k:expr, $src:expr, $dst:expr) => {
        // SAFETY: reads 128 bytes at `$src` and writes 128 bytes at `$dst`, both valid by the
        // contract of the enclosing `unsafe fn` (equal or disjoint).
        unsafe {
            asm!(
                "vpxor {t}, {k}, xmmword ptr [{src}]",
                "vpxor {u}, {k}, xmmword ptr [{src} + 16]",
                "vaesenclast {s0}, {s0}, {t}",
                "vaesenclast {s1}, {s1}, {u}",
                "vmovdqu xmmword ptr [{dst}], {s0}",
                "vmovdqu xmmword ptr [{dst} + 16], {s1}",
                "vpxor {t}, {k}, xmmword ptr [{src} + 32]",
                "vpxor {u}, {k}, xmmword ptr [{src} + 48]",
                "vaesenclast {s2}, {s2}, {t}",
                "vaesenclast {s3}, {s3}, {u}",
                "vmovdqu xmmword ptr [{dst} + 32], {s2}",
                "vmovdqu xmmword ptr [{dst} + 48], {s3}",
                "vpxor {t}, {k}, xmmword ptr [{src} + 64]",
                "vpxor {u}, {k}, xmmword ptr [{src} + 80]",
                "vaesenclast {s4}, {s4}, {t}",
                "vaesenclast {s5}, {s5}, {u}",
                "vmovdqu xmmword ptr [{dst} + 64], {s4}",
                "vmovdqu xmmword ptr [{dst} + 80], {s5}",
                "vpxor {t}, {k}, xmmword ptr [{src} + 96]",
                "vpxor {u}, {k}, xmmword ptr [{src} + 112]",
                "vaesenclast {s6}, {s6}, {t}",
                "vaesenclast {s7}, {s7}, {u}",
                "vmovdqu xmmword ptr [{dst} + 96], {s6}",
                "vmovdqu xmmword ptr [{dst} + 112], {s7}",
                k = in(xmm_reg) $k,
                src = in(reg) $src,
                dst = in(reg) $dst,
                t = out(xmm_reg) _,
                u = out(xmm_reg) _,
                s0 = in(xmm_reg) $s[0], s1 = in(xmm_reg) $s[1],
                s2 = in(xmm_reg) $s[2], s3 = in(xmm_reg) $s[3],
                s4 = in(xmm_reg) $s[4], s5 = in(xmm_reg) $s[5],
                s6 = in(xmm_reg) $s[6], s7 = in(xmm_reg) $s[7],
                options(nostack, preserves_flags),
            )
        }
    };
}

narrow_kernel! {
    /// CTR on one group without hashing (the first group of a seal).
    ///
    /// # Safety
    /// `src` is valid for reads and `dst` for writes of 128 bytes; they are equal or disjoint.
    #[inline]
    pub(super) unsafe fn ctr8(key: &Key, ctr: &mut __m128i, src: *const u8, dst: *mut u8) {
        let mut s = counters(key, ctr);
        let rk = &key.rk;
        for k in &rk[1..14] {
            round!(s, *k);
        }
        last_round!(s, rk[14], src, dst);
    }
}

narrow_kernel! {
    /// CTR on `n` groups, each stitched with GHASH of 128 other bytes; returns the new hash state.
    /// Group `i` encrypts `src + 128i` into `dst + 128i` and hashes `hash + 128i`.
    ///
    /// # Safety
    /// `src` is valid for reads and `dst` for writes of `128 n` bytes; they are equal or disjoint.
    /// `hash` is valid for reads of `128 n` bytes. Either `hash == src` (opening: each group's hash
    /// loads happen before that group's stores), or `hash == dst − 128` (sealing: each group hashes
    /// the output of the group before it, which is already stored).
    pub(super) unsafe fn ctr8_ghash8(
        key: &Key,
        ctr: &mut __m128i,
        mut y: __m128i,
        src: *const u8,
        dst: *mut u8,
        hash: *const u8,
        n: usize,
    ) -> __m128i {
        let rk = &key.rk;
        let h = key.htable.as_ptr().cast::<u8>();
        let mut c = *ctr;
        for i in 0..n {
            let (src, dst, x) = (
                src.wrapping_add(128 * i),
                dst.wrapping_add(128 * i),
                hash.wrapping_add(128 * i),
            );
            let mut s = counters(key, &mut c);
            let (mut lo, mut hi, mut mid): (__m128i, __m128i, __m128i);
            round_hash!(first, s, rk[1], x, h, y, lo, hi, mid);
            for j in 1..8 {
                let (xj, hj) = (x.wrapping_add(16 * j), h.wrapping_add(32 * j));
                round_hash!(s, rk[1 + j], xj, hj, lo, hi, mid);
            }
            round_fold!(s, rk[9], lo, hi, mid);
            round_reduce!(s, rk[10], lo);
            round_reduce!(s, rk[11], lo);
            round!(s, rk[12]);
            round!(s, rk[13]);
            last_round!(s, rk[14], src, dst);
            y = _mm_xor_si128(lo, hi);
        }
        *ctr = c;
        y
    }
}
