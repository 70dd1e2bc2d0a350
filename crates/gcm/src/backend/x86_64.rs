//! AES-256-GCM with AES-NI and PCLMULQDQ in one pass (x86_64), NIST SP 800-38D.
//!
//! The bulk of a message goes through [`stitched`]: 128-byte groups where AES-CTR of one group
//! and GHASH of another share an instruction stream. The rest — J0, the AAD, the last
//! `len mod 128` bytes and the length block — runs here with plain intrinsics, block by block
//! (the tail is staged in a zero-padded stack buffer, so partial blocks need no special case).
//!
//! Requires AES-NI, PCLMULQDQ and AVX (the kernel uses VEX three-operand forms); checked by
//! [`available`] when a key is built, and the key's existence is the proof the kernels rely on.
//! VAES / VPCLMULQDQ (512-bit) are used by [`vaes`], which reuses this key, [`Run`],
//! [`seal_body`] / [`open_body`] for J0, the AAD and the last `len mod 256` bytes, and the
//! shared constants and field helpers ([`BSWAP`], `field::POLY`, [`from_u128`], `field::dot`).
//!
//! # CPU features, declared once per kernel
//! Each kernel's feature list is written once, in `narrow_features!` and `vaes_features!` (the
//! latter adds to the former). From that one list come both the `#[target_feature]` attributes
//! of every kernel function (`narrow_kernel! { … }` / `vaes_kernel! { … }` wrap them) and the
//! run-time check ([`available`], `vaes::available`), so the two cannot disagree; the tests
//! at the bottom of this file check that no attribute or detection is written by hand.

/// Calls `$m! { (features…) args… }` with the CPU features of the 128-bit kernels: AES-NI,
/// PCLMULQDQ, and AVX for the VEX three-operand forms.
macro_rules! narrow_features {
    ($m:ident! { $($args:tt)* }) => {
        $m! { ("aes", "pclmulqdq", "avx") $($args)* }
    };
}

/// Calls `$m! { (features…) args… }` with the CPU features of the VAES kernel: those of the
/// 128-bit kernels (whose code it runs for J0, the AAD and tails) plus AVX2, AVX-512F/BW/VL,
/// VAES and VPCLMULQDQ.
macro_rules! vaes_features {
    ($m:ident! { $($args:tt)* }) => {
        narrow_features! {
            with_more_features! {
                ("avx2", "avx512f", "avx512bw", "avx512vl", "vaes", "vpclmulqdq")
                $m $($args)*
            }
        }
    };
}

/// Appends a second feature list to the first and calls `$m` with the result.
macro_rules! with_more_features {
    (($($f:tt),+) ($($g:tt),+) $m:ident $($args:tt)*) => {
        $m! { ($($f,)+ $($g),+) $($args)* }
    };
}

/// A `target_feature` attribute for every feature of the list, on each function given.
macro_rules! target_features {
    ($fs:tt $($item:item)*) => {
        $( with_target_features! { $fs $item } )*
    };
}

macro_rules! with_target_features {
    (($($f:tt),+) $item:item) => {
        $(#[target_feature(enable = $f)])+
        $item
    };
}

/// Whether the CPU has every feature of the list (run-time detection).
macro_rules! all_detected {
    (($($f:tt),+)) => {
        true $(&& std::is_x86_feature_detected!($f))+
    };
}

/// The list as `&[&str]`, for tests.
#[cfg(test)]
macro_rules! feature_names {
    (($($f:tt),+)) => {
        &[$($f),+]
    };
}

/// Compiles the functions given for the 128-bit kernels' CPU features.
macro_rules! narrow_kernel {
    ($($item:item)*) => {
        narrow_features! { target_features! { $($item)* } }
    };
}

/// Compiles the functions given for the VAES kernel's CPU features.
macro_rules! vaes_kernel {
    ($($item:item)*) => {
        vaes_features! { target_features! { $($item)* } }
    };
}

mod aesni;
mod field;
mod stitched;
pub(crate) mod vaes;

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_loadu_si128, _mm_set_epi64x, _mm_setzero_si128, _mm_shuffle_epi8,
    _mm_storeu_si128, _mm_xor_si128,
};

use ::aes::cipher::inout::InOutBuf;
use zeroize::Zeroize;

/// Byte-reversal mask for `pshufb` (byte `i` of the result is byte `15 − i` of the input).
const BSWAP: u128 = 0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f;

/// Whether this CPU has every feature the 128-bit kernels are compiled for.
pub(crate) fn available() -> bool {
    narrow_features! { all_detected! {} }
}

narrow_kernel! {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "splits a u128 into its two halves"
    )]
    fn from_u128(v: u128) -> __m128i {
        _mm_set_epi64x((v >> 64) as u64 as i64, v as u64 as i64)
    }
}

narrow_kernel! {
    fn from_bytes(b: &[u8; 16]) -> __m128i {
        // SAFETY: `b` is 16 readable bytes; `loadu` has no alignment requirement.
        unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
    }
}

narrow_kernel! {
    fn to_bytes(v: __m128i) -> [u8; 16] {
        let mut b = [0u8; 16];
        // SAFETY: `b` is 16 writable bytes; `storeu` has no alignment requirement.
        unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), v) };
        b
    }
}

narrow_kernel! {
    fn bswap(v: __m128i) -> __m128i {
        _mm_shuffle_epi8(v, from_u128(BSWAP))
    }
}

/// Expanded AES-256 round keys and the GHASH power table; zeroized on drop.
#[derive(Clone)]
pub(crate) struct Key {
    rk: [__m128i; aesni::ROUND_KEYS],
    htable: [__m128i; field::TABLE],
}

impl Drop for Key {
    fn drop(&mut self) {
        self.rk.zeroize();
        self.htable.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Key {}

impl Key {
    /// The 15 AES-256 round keys.
    pub(super) fn round_keys(&self) -> &[__m128i; aesni::ROUND_KEYS] {
        &self.rk
    }

    /// `H' = P₁`, the hash key in the POLYVAL domain ([`field`]).
    pub(super) fn h(&self) -> __m128i {
        self.htable[field::TABLE - 2]
    }

    /// Expands `key`; `None` if the CPU lacks AES-NI, PCLMULQDQ or AVX.
    pub(crate) fn new(key: &[u8; 32]) -> Option<Self> {
        if !available() {
            return None;
        }
        // SAFETY: the features `expand_key` is compiled for were detected just above.
        Some(unsafe { expand_key(key) })
    }

    pub(crate) fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: InOutBuf<'_, '_, u8>) -> [u8; 16] {
        let len = buf.len();
        let (src, dst) = buf.into_raw();
        // SAFETY: a `Key` exists only if `available()` held. `InOutBuf` guarantees `src` is
        // readable and `dst` writable for `len` bytes and that they are equal or disjoint.
        unsafe { seal(self, nonce, aad, src, dst, len) }
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
        super::tag_matches(&mut expected, tag)
    }
}

narrow_kernel! {
    fn expand_key(key: &[u8; 32]) -> Key {
        let (k0, k1) = key.split_at(16);
        let (Ok(k0), Ok(k1)) = (<&[u8; 16]>::try_from(k0), <&[u8; 16]>::try_from(k1)) else {
            unreachable!("a 32-byte key splits into two 16-byte halves")
        };
        let rk = aesni::expand(from_bytes(k0), from_bytes(k1));
        // H = E(K, 0¹²⁸), moved to the POLYVAL domain: H' = mulX_POLYVAL(ByteReverse(H)).
        let mut h = u128::from_be_bytes(to_bytes(aesni::encrypt(&rk, _mm_setzero_si128())));
        let carry = h >> 127;
        h = (h << 1) ^ (0u128.wrapping_sub(carry) & ((0b11 << 126) | (1 << 121) | 1));
        let htable = field::powers(from_u128(h));
        h.zeroize();
        Key { rk, htable }
    }
}

/// State common to seal and open: the counter (byte-reversed, so the 32-bit big-endian counter
/// is lane 0 and `paddd` increments it), the hash `Y` (POLYVAL domain), the tag mask E(K, J0).
pub(super) struct Run<'k> {
    key: &'k Key,
    pub(super) ctr: __m128i,
    pub(super) y: __m128i,
    mask: __m128i,
}

impl<'k> Run<'k> {
    narrow_kernel! {
        /// J0 = IV ‖ 0³¹ ‖ 1 (SP 800-38D §7.1 step 2); hashes the AAD.
        pub(super) fn start(key: &'k Key, nonce: &[u8; 12], aad: &[u8]) -> Self {
            let mut j0 = [0u8; 16];
            j0[..12].copy_from_slice(nonce);
            j0[15] = 1;
            let j0 = from_bytes(&j0);
            let mask = aesni::encrypt(&key.rk, j0);
            let ctr = _mm_add_epi32(bswap(j0), from_u128(1));
            let mut run = Run {
                key,
                ctr,
                y: _mm_setzero_si128(),
                mask,
            };
            let (groups, rest) = aad.as_chunks::<128>();
            for g in groups {
                run.hash8(g);
            }
            run.hash_padded(rest);
            run
        }
    }

    narrow_kernel! {
        fn hash8(&mut self, g: &[u8; 128]) {
            let (blocks, _) = g.as_chunks::<16>();
            let x: [__m128i; 8] = core::array::from_fn(|j| bswap(from_bytes(&blocks[j])));
            self.y = field::update8(&self.key.htable, self.y, &x);
        }
    }

    narrow_kernel! {
        /// Hashes `data` zero-padded to whole blocks, with one reduction per 128 bytes (callers pass
        /// fewer): the 76-byte header every sealed chunk authenticates costs one multiply-and-reduce
        /// of latency, not five.
        fn hash_padded(&mut self, data: &[u8]) {
            for group in data.chunks(128) {
                let mut x = [_mm_setzero_si128(); 8];
                let n = group.len().div_ceil(16);
                for (slot, chunk) in x.iter_mut().zip(group.chunks(16)) {
                    let mut b = [0u8; 16];
                    b[..chunk.len()].copy_from_slice(chunk);
                    *slot = bswap(from_bytes(&b));
                }
                self.y = field::update_n(&self.key.htable, self.y, &x[..n]);
            }
        }
    }

    narrow_kernel! {
        /// XORs the keystream into `buf` (whole blocks).
        fn ctr_blocks(&mut self, buf: &mut [u8]) {
            let (blocks, _) = buf.as_chunks_mut::<16>();
            for b in blocks {
                let ks = aesni::encrypt(&self.key.rk, bswap(self.ctr));
                self.ctr = _mm_add_epi32(self.ctr, from_u128(1));
                *b = to_bytes(_mm_xor_si128(from_bytes(b), ks));
            }
        }
    }

    narrow_kernel! {
        /// Hashes the length block and returns the tag.
        pub(super) fn finish(mut self, aad_len: usize, len: usize) -> [u8; 16] {
            let bits = (u128::from(aad_len as u64 * 8) << 64) | u128::from(len as u64 * 8);
            self.hash_padded(&bits.to_be_bytes());
            let tag = to_bytes(_mm_xor_si128(bswap(self.y), self.mask));
            self.mask = _mm_setzero_si128();
            self.y = _mm_setzero_si128();
            tag
        }
    }
}

/// Stages the last `len mod 128` bytes in a zeroed stack buffer.
struct Tail {
    buf: [u8; 128],
    at: usize,
    n: usize,
}

impl Tail {
    /// # Safety
    /// `src` is readable for `len` bytes.
    unsafe fn load(src: *const u8, len: usize) -> Self {
        let at = len - len % 128;
        let mut t = Tail {
            buf: [0; 128],
            at,
            n: len - at,
        };
        // SAFETY: `at + n == len`, in bounds of `src`; `buf` is a distinct local, `n < 128`.
        unsafe { core::ptr::copy_nonoverlapping(src.add(at), t.buf.as_mut_ptr(), t.n) };
        t
    }

    /// The staged bytes rounded up to whole blocks (zero padded).
    fn blocks(&mut self) -> &mut [u8] {
        &mut self.buf[..self.n.div_ceil(16) * 16]
    }

    /// # Safety
    /// `dst` is writable for the `len` bytes `load` was given.
    unsafe fn store(mut self, dst: *mut u8) {
        // SAFETY: as in `load`, for writes.
        unsafe { core::ptr::copy_nonoverlapping(self.buf.as_ptr(), dst.add(self.at), self.n) };
        self.buf.zeroize();
    }
}

narrow_kernel! {
    /// # Safety
    /// The CPU has AES-NI, PCLMULQDQ and AVX. `src` is readable and `dst` writable for `len` bytes,
    /// and they are equal or disjoint.
    unsafe fn seal(
        key: &Key,
        nonce: &[u8; 12],
        aad: &[u8],
        src: *const u8,
        dst: *mut u8,
        len: usize,
    ) -> [u8; 16] {
        let mut run = Run::start(key, nonce, aad);
        // SAFETY: the contract of this function.
        unsafe { seal_body(&mut run, src, dst, len) };
        run.finish(aad.len(), len)
    }
}

narrow_kernel! {
    /// Encrypts and hashes `len` bytes of message, continuing `run` (its counter and hash).
    ///
    /// # Safety
    /// As for [`seal`].
    pub(super) unsafe fn seal_body(run: &mut Run<'_>, src: *const u8, dst: *mut u8, len: usize) {
        let key = run.key;
        let groups = len / 128;
        if groups > 0 {
            // SAFETY: group 0 is within `len`.
            unsafe { stitched::ctr8(key, &mut run.ctr, src, dst) };
            // SAFETY: groups 1.. are within `len`; group `g` hashes group `g - 1` of `dst`,
            // stored already, the contract's `hash == dst − 128` case.
            run.y = unsafe {
                stitched::ctr8_ghash8(
                    key,
                    &mut run.ctr,
                    run.y,
                    src.add(128),
                    dst.add(128),
                    dst,
                    groups - 1,
                )
            };
            let mut last = [0u8; 128];
            // SAFETY: the last whole group of `dst`, written above; `last` is a distinct local.
            unsafe {
                core::ptr::copy_nonoverlapping(dst.add(128 * (groups - 1)), last.as_mut_ptr(), 128)
            };
            run.hash8(&last);
        }
        // SAFETY: `src` readable for `len`.
        let mut tail = unsafe { Tail::load(src, len) };
        run.ctr_blocks(tail.blocks());
        let n = tail.n;
        run.hash_padded(&tail.buf[..n]);
        // SAFETY: `dst` writable for `len`.
        unsafe { tail.store(dst) };
    }
}

narrow_kernel! {
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
        let mut run = Run::start(key, nonce, aad);
        // SAFETY: the contract of this function.
        unsafe { open_body(&mut run, src, dst, len) };
        run.finish(aad.len(), len)
    }
}

narrow_kernel! {
    /// Decrypts and hashes `len` bytes of ciphertext, continuing `run` (its counter and hash).
    ///
    /// # Safety
    /// As for [`seal`].
    pub(super) unsafe fn open_body(run: &mut Run<'_>, src: *const u8, dst: *mut u8, len: usize) {
        let key = run.key;
        // SAFETY: the groups are within `len`; each hashes its own input, the contract's
        // `hash == src` case.
        run.y = unsafe { stitched::ctr8_ghash8(key, &mut run.ctr, run.y, src, dst, src, len / 128) };
        // SAFETY: `src` readable for `len`.
        let mut tail = unsafe { Tail::load(src, len) };
        let n = tail.n;
        run.hash_padded(&tail.buf[..n]);
        run.ctr_blocks(tail.blocks());
        // SAFETY: `dst` writable for `len`.
        unsafe { tail.store(dst) };
    }
}

#[cfg(test)]
mod tests {
    /// The features of each kernel, from the one list its attributes and detection use.
    const NARROW: &[&str] = narrow_features! { feature_names! {} };
    const VAES: &[&str] = vaes_features! { feature_names! {} };

    /// Run-time detection of one feature by name, independent of the kernels' lists; `None`
    /// for a name this table does not know (add it here when a kernel starts using it).
    fn detected(feature: &str) -> Option<bool> {
        Some(match feature {
            "aes" => std::is_x86_feature_detected!("aes"),
            "pclmulqdq" => std::is_x86_feature_detected!("pclmulqdq"),
            "avx" => std::is_x86_feature_detected!("avx"),
            "avx2" => std::is_x86_feature_detected!("avx2"),
            "avx512f" => std::is_x86_feature_detected!("avx512f"),
            "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
            "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
            "vaes" => std::is_x86_feature_detected!("vaes"),
            "vpclmulqdq" => std::is_x86_feature_detected!("vpclmulqdq"),
            _ => return None,
        })
    }

    /// `available()` of each kernel is exactly "every feature its `target_feature` list
    /// names is detected", and the VAES kernel, which runs 128-bit code, names those too.
    #[test]
    fn detection_checks_exactly_the_target_features() {
        for (list, available) in [
            (NARROW, super::available()),
            (VAES, super::vaes::available()),
        ] {
            let each: Vec<bool> = list
                .iter()
                .map(|f| detected(f).unwrap_or_else(|| panic!("unknown feature {f}")))
                .collect();
            assert_eq!(available, each.iter().all(|&d| d), "{list:?}");
        }
        assert_eq!(NARROW, ["aes", "pclmulqdq", "avx"]);
        assert!(NARROW.iter().all(|f| VAES.contains(f)));
        assert_eq!(VAES.len(), NARROW.len() + 6);
        // Detection implies the narrower kernel.
        assert!(!super::vaes::available() || super::available());
    }

    /// No kernel writes its own `target_feature` attribute or feature detection: both come
    /// from the lists in this file, so they cannot disagree.
    #[test]
    fn target_features_are_written_only_in_the_kernel_macros() {
        let attribute = concat!("#[target_", "feature(");
        let detection = concat!("is_x86_", "feature_detected!(");
        let files = [
            ("x86_64.rs", include_str!("x86_64.rs")),
            ("aesni.rs", include_str!("x86_64/aesni.rs")),
            ("field.rs", include_str!("x86_64/field.rs")),
            ("stitched.rs", include_str!("x86_64/stitched.rs")),
            ("vaes.rs", include_str!("x86_64/vaes.rs")),
            ("backend.rs", include_str!("../backend.rs")),
            ("portable.rs", include_str!("portable.rs")),
        ];
        for (name, src) in files {
            // In this file: the one attribute in `with_target_features!`, the one detection in
            // `all_detected!`, and the detection table of this test (9 names).
            let (attrs, detections) = if name == "x86_64.rs" {
                (1, 1 + 9)
            } else {
                (0, 0)
            };
            assert_eq!(src.matches(attribute).count(), attrs, "{name}");
            assert_eq!(src.matches(detection).count(), detections, "{name}");
        }
    }
}
