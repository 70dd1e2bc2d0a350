//! The AES-256-GCM primitive (NIST SP 800-38D), 96-bit nonces and 128-bit tags only.
//!
//! This is the raw AEAD: the caller owns nonce uniqueness. Object data goes through the
//! sealed-stream format ([`crate::PartSealer`]), which derives every nonce from its position.

use aes::cipher::inout::InOutBuf;
use zeroize::Zeroize;

use crate::backend::{BackendKey, BackendKind};
use crate::error::Error;

/// Tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Largest plaintext one invocation may take: 2³⁹ − 256 bits (SP 800-38D §5.2.1.1).
pub const P_MAX: u64 = (1 << 36) - 32;
/// Largest additional authenticated data one invocation may take: 2⁶⁴ − 1 bits, rounded down
/// to whole bytes.
pub const A_MAX: u64 = (1 << 61) - 1;

/// An AES-256-GCM key, expanded once for the backend chosen at construction.
///
/// # Security
/// The expanded key zeroizes on drop and `Debug` prints only the backend.
#[derive(Clone)]
pub struct Aes256Gcm {
    key: BackendKey,
}

impl core::fmt::Debug for Aes256Gcm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Aes256Gcm")
            .field("backend", &self.key.kind())
            .finish_non_exhaustive()
    }
}

fn check_lengths(aad: &[u8], len: usize) -> Result<(), Error> {
    if len as u64 > P_MAX || aad.len() as u64 > A_MAX {
        return Err(Error::TooLong);
    }
    Ok(())
}

impl Aes256Gcm {
    /// Expands `key` for the fastest backend this CPU supports ([`BackendKind::detect`]).
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        let kind = BackendKind::detect();
        match BackendKey::new(kind, key) {
            Some(key) => Aes256Gcm { key },
            // `detect` only returns available backends; portable is always available.
            None => Aes256Gcm {
                key: BackendKey::Portable(crate::backend::portable::Key::new(key)),
            },
        }
    }

    /// Expands `key` for one named backend; `None` if this CPU cannot run it.
    #[must_use]
    pub fn with_backend(key: &[u8; 32], kind: BackendKind) -> Option<Self> {
        BackendKey::new(kind, key).map(|key| Aes256Gcm { key })
    }

    /// The backend this key runs on.
    #[must_use]
    pub fn backend(&self) -> BackendKind {
        self.key.kind()
    }

    /// Encrypts `buf` in place and returns the tag.
    ///
    /// # Errors
    /// [`Error::TooLong`] if `buf` exceeds [`P_MAX`] or `aad` exceeds [`A_MAX`].
    ///
    /// # Security
    /// Never call twice with the same nonce under one key.
    pub fn seal_in_place_separate_tag(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        check_lengths(aad, buf.len())?;
        Ok(self.key.seal(nonce, aad, InOutBuf::from(buf)))
    }

    /// Encrypts `input` into `output` (same length) and returns the tag.
    ///
    /// # Errors
    /// [`Error::TooLong`] as for [`Self::seal_in_place_separate_tag`]; [`Error::LengthMismatch`]
    /// if the two buffers differ in length.
    pub fn seal_to(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        check_lengths(aad, input.len())?;
        let buf = InOutBuf::new(input, output).map_err(|_| Error::LengthMismatch)?;
        Ok(self.key.seal(nonce, aad, buf))
    }

    /// Benchmark support, not an AEAD: XORs the AES-256-CTR keystream GCM would use for
    /// `nonce` into `buf`, without GHASH, on the `x86_64-vaes` kernel's AES schedule — the
    /// ceiling for any AES-256-GCM on this core. Returns `false` (nothing written) on another
    /// backend or when `buf.len()` is not a multiple of 256. `ymm` runs the rounds on 256-bit
    /// registers instead of 512-bit ones.
    #[cfg(feature = "bench-internals")]
    #[doc(hidden)]
    pub fn ctr_bound_in_place(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8], ymm: bool) -> bool {
        self.key.ctr_only(nonce, buf, ymm)
    }

    /// Verifies `tag` and decrypts `buf` in place.
    ///
    /// # Errors
    /// [`Error::Authentication`] if the tag does not match; `buf` is then zeroed.
    /// [`Error::TooLong`] for oversized input.
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        check_lengths(aad, buf.len())?;
        if self.key.open(nonce, aad, InOutBuf::from(&mut *buf), tag) {
            Ok(())
        } else {
            buf.zeroize();
            Err(Error::Authentication)
        }
    }

    /// Verifies `tag` over `input` and decrypts it into `output` (same length).
    ///
    /// # Errors
    /// [`Error::Authentication`] if the tag does not match; `output` is then zeroed.
    /// [`Error::TooLong`], [`Error::LengthMismatch`] as for [`Self::seal_to`].
    pub fn open_to(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        check_lengths(aad, input.len())?;
        let buf = InOutBuf::new(input, &mut *output).map_err(|_| Error::LengthMismatch)?;
        if self.key.open(nonce, aad, buf, tag) {
            Ok(())
        } else {
            output.zeroize();
            Err(Error::Authentication)
        }
    }
}
