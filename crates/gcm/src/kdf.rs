//! Key derivation: the one HKDF-SHA256 helper of this crate, and the part subkey and key
//! commitment of format v1 derived with it.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::aead::Aes256Gcm;
use crate::format::{COMMITMENT_LEN, SALT_LEN};
use crate::key::DataKey;

/// Label that opens the HKDF info string of format v1.
const INFO_LABEL: &[u8] = b"s3seal/v1/aes-256-gcm";

/// HKDF-SHA256 (RFC 5869) of a fixed output length `N`, with `info` the concatenation of the
/// given pieces. The output zeroizes on drop.
///
/// Expansion fails only when `N` exceeds 255 × 32 bytes; that is refused at compile time, so
/// this helper cannot fail.
fn hkdf_sha256<const N: usize>(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; N]> {
    const {
        assert!(
            N <= 255 * 32,
            "HKDF-SHA256 output is at most 255 × 32 bytes"
        )
    };
    let mut okm = Zeroizing::new([0u8; N]);
    #[expect(
        clippy::expect_used,
        reason = "N is a compile-time length checked above to be at most 255 × 32 bytes, the only \
                  case in which HKDF expansion fails"
    )]
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, okm.as_mut_slice())
        .expect("HKDF-SHA256 output length is fixed and at most 255 × 32 bytes");
    okm
}

/// Derives the part subkey and the key commitment from the data key, the salt, the header
/// fields that precede the salt (`header[4..12]`), and the caller's object binding: 64 bytes of
/// HKDF output, the first 32 the subkey, the last 32 the commitment.
pub(crate) fn derive_part_key(
    key: &DataKey,
    salt: &[u8; SALT_LEN],
    header_fields: &[u8],
    binding: &[u8],
) -> (Aes256Gcm, [u8; COMMITMENT_LEN]) {
    let okm = hkdf_sha256::<64>(salt, key.as_bytes(), &[INFO_LABEL, header_fields, binding]);
    let mut subkey = Zeroizing::new([0u8; 32]);
    subkey.copy_from_slice(&okm[..32]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    commitment.copy_from_slice(&okm[32..]);
    (Aes256Gcm::new(&subkey), commitment)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 Appendix A.1 (SHA-256, basic test case): the helper is plain HKDF.
    #[test]
    fn rfc5869_a1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256::<42>(&salt, &ikm, &[&info[..4], &info[4..]]);
        assert_eq!(
            hex::encode(okm.as_slice()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
             34007208d5b887185865"
        );
    }
}
