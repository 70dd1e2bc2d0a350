//! The 256-bit data key that envelope encryption wraps under a KMS key.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;

/// A 256-bit AES data key.
///
/// # Security
/// Zeroized on drop (every clone too); `Debug` prints `DataKey(<redacted>)`. Never log it, never
/// store it unwrapped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's random number generator.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS generator fails.
    pub fn generate() -> Result<Self, Error> {
        let mut k = DataKey([0; 32]);
        fill_random(&mut k.0)?;
        Ok(k)
    }

    /// Wraps key bytes that came from a KMS or a key derivation. The caller should zeroize its
    /// own copy.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    /// Copies a key from a slice; `None` unless it is exactly 32 bytes.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(arr))
    }

    /// The key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Fills `buf` from the operating system's random number generator: the one source every
/// random value of s3seal is drawn from (data keys, salts, nonces, object ids, KMS key
/// material).
///
/// With the `fuzzing` feature, after [`crate::fuzzing::deterministic_rng`] the bytes come from
/// that seeded generator instead (process-wide), so a fuzz campaign is reproducible.
///
/// # Errors
/// [`Error::Random`] if the OS generator fails.
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    #[cfg(feature = "fuzzing")]
    if crate::fuzzing::fill(buf)? {
        return Ok(());
    }
    getrandom::fill(buf).map_err(|_| Error::Random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_and_keys_differ() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_ne!(a.as_bytes(), &[0u8; 32]);
        assert_eq!(format!("{a:?}"), "DataKey(<redacted>)");
        assert!(DataKey::from_slice(&[1; 31]).is_none());
    }
}
