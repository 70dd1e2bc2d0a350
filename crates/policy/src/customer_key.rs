//! SSE-C: the customer-provided key, its stored verifier, and the per-object data key.
//!
//! > S3 stores a randomly salted HMAC of the key, never the key. — S3 behaviour reference
//!
//! * [`CustomerKey`] holds the 32 key bytes from `x-amz-server-side-encryption-customer-key`,
//!   zeroized on drop, `Debug` redacted. It also keeps the client's key-MD5 to echo in responses.
//! * [`KeyVerifier`] is what the engine stores: a random salt and
//!   `HMAC-SHA256(key, "s3seal/sse-c/verifier/v1" || salt)`. Not the key, not its plain MD5 (an
//!   unsalted MD5 would let anyone reading metadata confirm a guessed key, and link objects that
//!   share a key). [`KeyVerifier::verify`] compares in constant time.
//! * [`derive_object_key`] turns the customer key into the object's data key with HKDF-SHA256
//!   over a random salt and the object identity, so the customer key never encrypts data itself
//!   and two objects under one customer key get unrelated data keys.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use s3seal_gcm::DataKey;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::PolicyError;

/// The only SSE-C algorithm: `x-amz-server-side-encryption-customer-algorithm: AES256`.
pub const SSE_C_ALGORITHM: &str = "AES256";

const VERIFIER_LABEL: &[u8] = b"s3seal/sse-c/verifier/v1";
const DATA_KEY_LABEL: &[u8] = b"s3seal/sse-c/data-key/v1";

/// A customer-provided SSE-C key (32 bytes) with the client's key-MD5.
///
/// # Security
/// Zeroized on drop; `Debug` prints `CustomerKey(<redacted>)`. It is not `Clone`: one request
/// holds one copy. It never appears in an error.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct CustomerKey {
    key: [u8; 32],
    md5: [u8; 16],
}

impl CustomerKey {
    /// Wraps raw key bytes (e.g. from a CLI); computes the MD5 S3 clients send alongside.
    #[must_use]
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let md5: [u8; 16] = Md5::digest(key).into();
        CustomerKey { key, md5 }
    }

    /// Parses and checks the SSE-C triple (algorithm, base64 key, base64 key-MD5) as sent in
    /// `x-amz-server-side-encryption-customer-*` or `x-amz-copy-source-server-side-encryption-customer-*`.
    /// `None` means the header was absent.
    ///
    /// # Errors
    /// In S3's order: [`PolicyError::SseCMissingAlgorithm`], [`PolicyError::SseCInvalidAlgorithm`],
    /// [`PolicyError::SseCMissingKey`], [`PolicyError::SseCInvalidKey`] (not base64 of 32 bytes),
    /// [`PolicyError::SseCMissingKeyMd5`], [`PolicyError::SseCKeyMd5Mismatch`].
    pub fn from_headers(
        algorithm: Option<&str>,
        key_b64: Option<&str>,
        md5_b64: Option<&str>,
    ) -> Result<Self, PolicyError> {
        match algorithm {
            None => return Err(PolicyError::SseCMissingAlgorithm),
            Some(SSE_C_ALGORITHM) => {}
            Some(_) => return Err(PolicyError::SseCInvalidAlgorithm),
        }
        let key_b64 = key_b64.ok_or(PolicyError::SseCMissingKey)?;
        // Decode into a fixed stack buffer (zeroized on drop), never a growable heap copy. 32
        // bytes are 44 base64 characters; one spare output byte catches longer keys.
        let mut raw = Zeroizing::new([0u8; 33]);
        let len = STANDARD
            .decode_slice(key_b64, raw.as_mut())
            .map_err(|_| PolicyError::SseCInvalidKey)?;
        let key: &[u8; 32] = raw
            .get(..len)
            .and_then(|k| k.try_into().ok())
            .ok_or(PolicyError::SseCInvalidKey)?;
        let ck = CustomerKey::from_bytes(*key);
        let md5_b64 = md5_b64.ok_or(PolicyError::SseCMissingKeyMd5)?;
        // Into a fixed buffer too: an MD5 is 16 bytes; a longer value fails to fit, whatever
        // its length, without a heap copy of it.
        let mut given = [0u8; 17];
        let n = STANDARD
            .decode_slice(md5_b64, &mut given)
            .map_err(|_| PolicyError::SseCKeyMd5Mismatch)?;
        // The MD5 is public (the client sent it); a plain comparison leaks nothing.
        if given[..n] != ck.md5[..] {
            return Err(PolicyError::SseCKeyMd5Mismatch);
        }
        Ok(ck)
    }

    /// The key bytes. Use [`derive_object_key`] for data; never encrypt with these directly.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The base64 key-MD5, echoed in `x-amz-server-side-encryption-customer-key-MD5` responses.
    #[must_use]
    pub fn key_md5_base64(&self) -> String {
        STANDARD.encode(self.md5)
    }

    /// A verifier to store with the object or upload, under a caller-supplied random `salt`
    /// (32 bytes from a CSPRNG, fresh per object).
    #[must_use]
    pub fn verifier(&self, salt: [u8; 32]) -> KeyVerifier {
        KeyVerifier {
            salt,
            mac: verifier_mac(&self.key, &salt),
        }
    }
}

impl fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomerKey(<redacted>)")
    }
}

/// This crate's two fixed-size primitives, whose only failure modes are sizes they never use.
#[expect(
    clippy::expect_used,
    reason = "HMAC takes keys of any length; 32 bytes of HKDF-SHA256 output is far below its 8160-byte limit"
)]
mod fixed {
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;
    use zeroize::Zeroizing;

    /// HMAC-SHA256 of the concatenation of `parts` under `key`.
    pub(super) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .expect("HMAC-SHA256 takes a key of any length");
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// 32 bytes of `HKDF-SHA256(ikm, salt, info)`.
    pub(super) fn hkdf_sha256_32(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut okm = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
            .expand(info, okm.as_mut())
            .expect("32 bytes is within HKDF-SHA256's output limit");
        okm
    }
}

use fixed::{hkdf_sha256_32, hmac_sha256};

fn verifier_mac(key: &[u8; 32], salt: &[u8; 32]) -> [u8; 32] {
    hmac_sha256(key, &[VERIFIER_LABEL, salt])
}

/// The stored proof of an SSE-C key: `salt || HMAC-SHA256(key, label || salt)`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyVerifier {
    salt: [u8; 32],
    mac: [u8; 32],
}

impl KeyVerifier {
    /// Serialized length: salt then MAC.
    pub const LEN: usize = 64;

    /// Whether `key` is the key this verifier was made from; compares in constant time.
    #[must_use]
    pub fn verify(&self, key: &CustomerKey) -> bool {
        let mac = verifier_mac(&key.key, &self.salt);
        mac.ct_eq(&self.mac).into()
    }

    /// `salt || mac`, for storage.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.salt);
        out[32..].copy_from_slice(&self.mac);
        out
    }

    /// Reads the stored form.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        let mut salt = [0u8; 32];
        let mut mac = [0u8; 32];
        salt.copy_from_slice(&bytes[..32]);
        mac.copy_from_slice(&bytes[32..]);
        KeyVerifier { salt, mac }
    }
}

impl fmt::Debug for KeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyVerifier(..)")
    }
}

/// Which object a derived data key belongs to (HKDF `info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectIdentity<'a> {
    /// Bucket name.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// Version id, or upload id for a multipart upload; empty if none.
    pub version: &'a str,
}

impl ObjectIdentity<'_> {
    fn info(&self) -> Vec<u8> {
        let mut info = Vec::with_capacity(
            DATA_KEY_LABEL.len() + 24 + self.bucket.len() + self.key.len() + self.version.len(),
        );
        info.extend_from_slice(DATA_KEY_LABEL);
        // Length-prefixed, so ("a/b", "c") and ("a", "b/c") give different info.
        for field in [self.bucket, self.key, self.version] {
            info.extend_from_slice(&(field.len() as u64).to_be_bytes());
            info.extend_from_slice(field.as_bytes());
        }
        info
    }
}

/// Derives the object's AES-256 data key from an SSE-C customer key:
/// `HKDF-SHA256(ikm = customer key, salt, info = label || len-prefixed bucket, key, version)`.
///
/// `salt` must be fresh random bytes from the caller (stored with the object, not secret).
#[must_use]
pub fn derive_object_key(
    customer: &CustomerKey,
    salt: &[u8; 32],
    object: &ObjectIdentity<'_>,
) -> DataKey {
    DataKey::from_bytes(*hkdf_sha256_32(&customer.key, salt, &object.info()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triple(key: &[u8]) -> (String, String) {
        (STANDARD.encode(key), STANDARD.encode(Md5::digest(key)))
    }

    #[test]
    fn parses_a_valid_triple_and_echoes_md5() {
        let (k, m) = triple(&[7; 32]);
        let ck = CustomerKey::from_headers(Some("AES256"), Some(&k), Some(&m)).unwrap();
        assert_eq!(ck.as_bytes(), &[7; 32]);
        assert_eq!(ck.key_md5_base64(), m);
        assert_eq!(format!("{ck:?}"), "CustomerKey(<redacted>)");
    }

    #[test]
    fn triple_errors_in_order() {
        let (k, m) = triple(&[7; 32]);
        let (k31, m31) = triple(&[7; 31]);
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            PolicyError,
        );
        let cases: [Case<'_>; 9] = [
            (None, Some(&k), Some(&m), PolicyError::SseCMissingAlgorithm),
            (
                Some("aws:kms"),
                Some(&k),
                Some(&m),
                PolicyError::SseCInvalidAlgorithm,
            ),
            (
                Some("aes256"),
                Some(&k),
                Some(&m),
                PolicyError::SseCInvalidAlgorithm,
            ),
            (Some("AES256"), None, Some(&m), PolicyError::SseCMissingKey),
            (
                Some("AES256"),
                Some("!!notbase64"),
                Some(&m),
                PolicyError::SseCInvalidKey,
            ),
            (
                Some("AES256"),
                Some(&k31),
                Some(&m31),
                PolicyError::SseCInvalidKey,
            ),
            (
                Some("AES256"),
                Some(&k),
                None,
                PolicyError::SseCMissingKeyMd5,
            ),
            (
                Some("AES256"),
                Some(&k),
                Some(&m31),
                PolicyError::SseCKeyMd5Mismatch,
            ),
            (
                Some("AES256"),
                Some(&k),
                Some("%%"),
                PolicyError::SseCKeyMd5Mismatch,
            ),
        ];
        for (a, key, md5, want) in cases {
            assert_eq!(
                CustomerKey::from_headers(a, key, md5).map(|_| ()),
                Err(want.clone()),
                "{want:?}"
            );
        }
    }

    #[test]
    fn verifier_accepts_only_its_key_and_round_trips() {
        let a = CustomerKey::from_bytes([1; 32]);
        let b = CustomerKey::from_bytes([2; 32]);
        let v = a.verifier([9; 32]);
        assert!(v.verify(&a));
        assert!(!v.verify(&b));
        let back = KeyVerifier::from_bytes(&v.to_bytes());
        assert_eq!(back, v);
        assert!(back.verify(&a));
        // Salted: the same key under two salts gives unrelated verifiers, and neither holds the
        // key or its MD5.
        let v2 = a.verifier([10; 32]);
        assert_ne!(v.to_bytes()[32..], v2.to_bytes()[32..]);
        let bytes = v.to_bytes();
        assert!(!bytes.windows(16).any(|w| w == a.md5));
        assert!(!bytes.windows(32).any(|w| w == a.key));
        assert_eq!(format!("{v:?}"), "KeyVerifier(..)");
    }

    #[test]
    fn verifier_rejects_every_single_bit_flip() {
        let a = CustomerKey::from_bytes([0x5a; 32]);
        let v = a.verifier([3; 32]);
        for i in 0..64 * 8 {
            let mut bytes = v.to_bytes();
            bytes[i / 8] ^= 1 << (i % 8);
            assert!(!KeyVerifier::from_bytes(&bytes).verify(&a), "bit {i}");
        }
    }

    #[test]
    fn derived_keys_depend_on_salt_and_identity_and_not_equal_the_customer_key() {
        let ck = CustomerKey::from_bytes([4; 32]);
        let id = ObjectIdentity {
            bucket: "b",
            key: "k",
            version: "",
        };
        let k1 = derive_object_key(&ck, &[0; 32], &id);
        let k1b = derive_object_key(&ck, &[0; 32], &id);
        assert_eq!(k1.as_bytes(), k1b.as_bytes());
        assert_ne!(k1.as_bytes(), ck.as_bytes());
        let k2 = derive_object_key(&ck, &[1; 32], &id);
        assert_ne!(k1.as_bytes(), k2.as_bytes());
        let moved = ObjectIdentity {
            bucket: "b",
            key: "k2",
            version: "",
        };
        assert_ne!(
            derive_object_key(&ck, &[0; 32], &moved).as_bytes(),
            k1.as_bytes()
        );
        // Length prefixes keep field boundaries apart.
        let a = ObjectIdentity {
            bucket: "ab",
            key: "c",
            version: "",
        };
        let b = ObjectIdentity {
            bucket: "a",
            key: "bc",
            version: "",
        };
        assert_ne!(
            derive_object_key(&ck, &[0; 32], &a).as_bytes(),
            derive_object_key(&ck, &[0; 32], &b).as_bytes()
        );
    }

    #[test]
    fn hkdf_matches_rfc5869_structure() {
        // Recompute HKDF by hand with HMAC: PRK = HMAC(salt, ikm); OKM = HMAC(PRK, info || 1).
        let ck = CustomerKey::from_bytes([0x0b; 32]);
        let salt = [0x11; 32];
        let id = ObjectIdentity {
            bucket: "bkt",
            key: "obj",
            version: "v1",
        };
        let prk = hmac_sha256(&salt, &[&[0x0b; 32]]);
        let okm = hmac_sha256(&prk, &[&id.info(), &[1]]);
        assert_eq!(derive_object_key(&ck, &salt, &id).as_bytes(), &okm);
    }
}
