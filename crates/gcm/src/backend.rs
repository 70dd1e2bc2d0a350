//! The one seam between the AES-256-GCM API and the code that runs it.
//!
//! A backend is chosen once, when a key is constructed, from the CPU features detected at run
//! time, and the choice is kept in the key. Nothing outside `backend/` touches `core::arch`.
//!
//! This is the only module of the workspace allowed `unsafe`: the workspace denies
//! `unsafe_code` and `lib.rs` allows it on `mod backend` alone; every `unsafe` block here says
//! why it is sound in a `// SAFETY:` comment (clippy's `undocumented_unsafe_blocks`, denied).
//!
//! Building with `--cfg s3seal_backend="portable"` makes the portable backend the automatic
//! choice (the others stay reachable through [`BackendKind`] for side-by-side tests).

use aes::cipher::inout::InOutBuf;

pub(crate) mod portable;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

/// Whether the computed tag `expected` equals the received `tag`, compared in constant time;
/// `expected` is zeroized either way. The one tag check every backend's `open` ends with.
pub(crate) fn tag_matches(expected: &mut [u8; 16], tag: &[u8; 16]) -> bool {
    use subtle::ConstantTimeEq;
    use zeroize::Zeroize;
    let ok = expected.ct_eq(tag).into();
    expected.zeroize();
    ok
}

/// The implementations of AES-256-GCM this build can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// The `aes` and `ghash` crates: AES-NI / ARMv8 AES when the CPU has them (detected at run
    /// time by those crates), constant-time software otherwise; counter mode and GHASH in two
    /// passes.
    Portable,
    /// One pass with AES-NI counter mode (8 blocks in flight) stitched with PCLMULQDQ GHASH
    /// (Karatsuba, one reduction per 8 blocks). Needs AES-NI, PCLMULQDQ and AVX.
    #[cfg(target_arch = "x86_64")]
    X86_64Stitched,
    /// One pass with VAES counter mode on 512-bit registers (16 blocks in flight, four per
    /// register) stitched with VPCLMULQDQ GHASH (one reduction per 16 blocks); the last
    /// `len mod 256` bytes, J0 and the AAD go through the stitched backend's code. Needs what
    /// [`BackendKind::X86_64Stitched`] needs plus AVX2, AVX-512F/BW/VL, VAES and VPCLMULQDQ.
    #[cfg(target_arch = "x86_64")]
    X86_64Vaes,
}

impl BackendKind {
    /// Every backend compiled into this build, portable first, then the SIMD backends in the
    /// order [`BackendKind::detect`] prefers them.
    #[cfg(target_arch = "x86_64")]
    pub const ALL: &'static [BackendKind] = &[
        BackendKind::Portable,
        BackendKind::X86_64Vaes,
        BackendKind::X86_64Stitched,
    ];
    /// Every backend compiled into this build, portable first.
    #[cfg(not(target_arch = "x86_64"))]
    pub const ALL: &'static [BackendKind] = &[BackendKind::Portable];

    /// Whether this CPU can run the backend.
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            BackendKind::Portable => true,
            #[cfg(target_arch = "x86_64")]
            BackendKind::X86_64Stitched => x86_64::available(),
            #[cfg(target_arch = "x86_64")]
            BackendKind::X86_64Vaes => x86_64::vaes::available(),
        }
    }

    /// The backend [`crate::Aes256Gcm::new`] picks on this CPU.
    #[must_use]
    pub fn detect() -> BackendKind {
        if cfg!(s3seal_backend = "portable") {
            return BackendKind::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        if x86_64::vaes::available() {
            return BackendKind::X86_64Vaes;
        }
        #[cfg(target_arch = "x86_64")]
        if x86_64::available() {
            return BackendKind::X86_64Stitched;
        }
        BackendKind::Portable
    }

    /// A short stable name, for benchmark groups and `s3seal bench`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            BackendKind::X86_64Stitched => "x86_64-stitched",
            #[cfg(target_arch = "x86_64")]
            BackendKind::X86_64Vaes => "x86_64-vaes",
        }
    }
}

/// An expanded key bound to one backend.
#[derive(Clone)]
pub(crate) enum BackendKey {
    Portable(portable::Key),
    #[cfg(target_arch = "x86_64")]
    X86_64Stitched(x86_64::Key),
    /// Boxed: with its 64-byte-aligned power table this is the largest key (≈ 0.8 KiB); the box
    /// keeps `Aes256Gcm` at the size and alignment of the others.
    #[cfg(target_arch = "x86_64")]
    X86_64Vaes(Box<x86_64::vaes::Key>),
}

impl BackendKey {
    /// Expands `key` for `kind`; `None` if this CPU cannot run `kind`.
    pub(crate) fn new(kind: BackendKind, key: &[u8; 32]) -> Option<Self> {
        match kind {
            BackendKind::Portable => Some(BackendKey::Portable(portable::Key::new(key))),
            #[cfg(target_arch = "x86_64")]
            BackendKind::X86_64Stitched => x86_64::Key::new(key).map(BackendKey::X86_64Stitched),
            #[cfg(target_arch = "x86_64")]
            BackendKind::X86_64Vaes => {
                x86_64::vaes::Key::new(key).map(|k| BackendKey::X86_64Vaes(Box::new(k)))
            }
        }
    }

    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            BackendKey::Portable(_) => BackendKind::Portable,
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Stitched(_) => BackendKind::X86_64Stitched,
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Vaes(_) => BackendKind::X86_64Vaes,
        }
    }

    /// Encrypts `buf` (in → out) and returns the tag. Lengths are checked by the caller.
    pub(crate) fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: InOutBuf<'_, '_, u8>) -> [u8; 16] {
        match self {
            BackendKey::Portable(k) => k.seal(nonce, aad, buf),
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Stitched(k) => k.seal(nonce, aad, buf),
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Vaes(k) => k.seal(nonce, aad, buf),
        }
    }

    /// AES-CTR alone (see `x86_64::vaes::Key::ctr_only`); `false` on other backends.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn ctr_only(&self, nonce: &[u8; 12], buf: &mut [u8], ymm: bool) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Vaes(k) => k.ctr_only(nonce, buf, ymm),
            _ => false,
        }
    }

    /// Decrypts `buf` (in → out) and verifies `tag`; returns whether the tag matched.
    ///
    /// On `false` the output may hold unauthenticated plaintext (the one-pass backends decrypt
    /// while they hash; the portable one leaves it unwritten): the caller must zero it.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: InOutBuf<'_, '_, u8>,
        tag: &[u8; 16],
    ) -> bool {
        match self {
            BackendKey::Portable(k) => k.open(nonce, aad, buf, tag),
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Stitched(k) => k.open(nonce, aad, buf, tag),
            #[cfg(target_arch = "x86_64")]
            BackendKey::X86_64Vaes(k) => k.open(nonce, aad, buf, tag),
        }
    }
}
