//! The crate's fixed-size HKDF-SHA256: the one place its impossible failure is handled.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// `HKDF-SHA256(salt, ikm, info)` → 32 bytes (zeroized on drop).
#[expect(
    clippy::expect_used,
    reason = "32 bytes is far below HKDF-SHA256's 8,160-byte output limit: expand cannot fail"
)]
pub(crate) fn hkdf_sha256(salt: Option<&[u8]>, ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out.as_mut_slice())
        .expect("HKDF-SHA256 expands to 32 bytes: at most 255 × 32 are allowed");
    out
}
