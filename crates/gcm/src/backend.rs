//! The one seam between the AES-256-GCM API and the code that runs it.
//!
//! A backend is chosen once, when a key is constructed, from the CPU features detected at run
//! time, and the choice is kept in the key. Nothing outside `backend/` touches `core::arch`.
//! Building with `--cfg s3seal_backend="portable"` makes the portable backend the automatic
//! choice (the others stay reachable through [`BackendKind`] for side-by-side tests).

use aes::cipher::inout::InOutBuf;

pub(crate) mod portable;

/// The implementations of AES-256-GCM this build can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// The `aes` and `ghash` crates: AES-NI / ARMv8 AES when the CPU has them (detected at run
    /// time by those crates), constant-time software otherwise; counter mode and GHASH in two
    /// passes.
    Portable,
}

impl BackendKind {
    /// Every backend compiled into this build, portable first.
    pub const ALL: &'static [BackendKind] = &[BackendKind::Portable];

    /// Whether this CPU can run the backend.
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            BackendKind::Portable => true,
        }
    }

    /// The backend [`crate::Aes256Gcm::new`] picks on this CPU.
    #[must_use]
    pub fn detect() -> BackendKind {
        BackendKind::Portable
    }

    /// A short stable name, for benchmark groups and `s3seal bench`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Portable => "portable",
        }
    }
}

/// An expanded key bound to one backend.
#[derive(Clone)]
pub(crate) enum BackendKey {
    Portable(portable::Key),
}

impl BackendKey {
    /// Expands `key` for `kind`; `None` if this CPU cannot run `kind`.
    pub(crate) fn new(kind: BackendKind, key: &[u8; 32]) -> Option<Self> {
        match kind {
            BackendKind::Portable => Some(BackendKey::Portable(portable::Key::new(key))),
        }
    }

    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            BackendKey::Portable(_) => BackendKind::Portable,
        }
    }

    /// Encrypts `buf` (in → out) and returns the tag. Lengths are checked by the caller.
    pub(crate) fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: InOutBuf<'_, '_, u8>) -> [u8; 16] {
        match self {
            BackendKey::Portable(k) => k.seal(nonce, aad, buf),
        }
    }

    /// Verifies `tag` and, only if it matches, decrypts `buf` (in → out). Returns whether the tag
    /// matched; on `false` the output is left unwritten (the caller zeroes it).
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: InOutBuf<'_, '_, u8>,
        tag: &[u8; 16],
    ) -> bool {
        match self {
            BackendKey::Portable(k) => k.open(nonce, aad, buf, tag),
        }
    }
}
