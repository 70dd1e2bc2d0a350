//! The crate's fixed-size HKDF-SHA256 and HMAC-SHA256: the one place their impossible failures
//! are handled.
//!
//! `Hkdf::expand` fails only when asked for more than 255 × 32 bytes, and
//! `Hmac::new_from_slice` never fails (HMAC takes keys of any length). With the output and key
//! sizes fixed here at 32 bytes, neither can happen, so the `expect`s below document an
//! invariant rather than handle an error; no caller carries an error variant for them.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
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

/// `HMAC-SHA256(key, parts[0] ‖ parts[1] ‖ …)`.
#[expect(
    clippy::expect_used,
    reason = "HMAC accepts keys of any length: new_from_slice cannot fail"
)]
pub(crate) fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC-SHA256 takes a key of any length, and this one is 32 bytes");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}
