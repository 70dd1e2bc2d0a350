//! KMS errors, mirroring the exceptions of the AWS KMS API.
//!
//! [`KmsError`] is the vocabulary of the [`crate::Kms`] trait, which every implementation maps
//! its failures onto; what only one implementation can produce (the local keystore's
//! [`KeystoreError`]) travels inside [`KmsError::Other`].
//!
//! Messages name keys (ids and ARNs are not secret) but never key material, blobs' plaintext or
//! the root secret.

use std::fmt;
use std::sync::Arc;

use crate::key_id::KeyIdError;

/// Why a KMS operation failed.
///
/// Variants mirror the AWS KMS exceptions the S3 edge maps to responses
/// (`KMS.NotFoundException` → 400 "Invalid keyId", …). [`KmsError::is_retryable`] tells the
/// transient ones apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// No such key or alias (KMS `NotFoundException`).
    #[error("Invalid keyId {0}")]
    NotFound(String),
    /// The key exists but is disabled (KMS `DisabledException`).
    #[error("KMS key {0} is disabled")]
    Disabled(String),
    /// The key is scheduled for deletion (KMS `KMSInvalidStateException`).
    #[error("KMS key {0} is pending deletion")]
    PendingDeletion(String),
    /// The blob is malformed, tampered with, or its encryption context does not match
    /// (KMS `InvalidCiphertextException`). Deliberately says nothing more.
    #[error("the ciphertext is invalid or its encryption context does not match")]
    InvalidCiphertext,
    /// The blob was made under a different key than the one the caller asserted
    /// (KMS `IncorrectKeyException`).
    #[error("the ciphertext was not encrypted under the expected KMS key")]
    IncorrectKey,
    /// The key belongs to another account than the one the request is bound to
    /// (KMS / S3 `AccessDenied`).
    #[error("access denied to KMS key {0}")]
    AccessDenied(String),
    /// The key reference is malformed (KMS `InvalidKeyUsageException` / `NotFoundException`).
    #[error("invalid KMS key id: {0}")]
    InvalidKeyId(#[from] KeyIdError),
    /// An alias name is malformed, reserved (`alias/aws/…`) or already taken
    /// (KMS `InvalidAliasNameException` / `AlreadyExistsException`).
    #[error("invalid or unavailable alias name {0}")]
    InvalidAlias(String),
    /// The operation is not valid in the key's state or for its kind, e.g. disabling an
    /// AWS managed key (KMS `KMSInvalidStateException`).
    #[error("operation not valid for KMS key {0} in its current state")]
    InvalidState(String),
    /// A request argument is out of range (KMS `ValidationException`).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The KMS rate-limited the request; retry with backoff (KMS `ThrottlingException`).
    #[error("KMS request throttled")]
    Throttled,
    /// The KMS could not be reached or failed internally; retry with backoff
    /// (KMS `KMSInternalException`, `DependencyTimeoutException`, network errors).
    #[error("KMS unavailable")]
    Unavailable,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// `GenerateDataKey` answered with a blob that does not decrypt to the plaintext key (or
    /// key ARN) it answered with (a faulty KMS or transport): the key is not used, nothing is
    /// sealed under it. See [`crate::check_generated`].
    #[error("the KMS returned a data key that its ciphertext blob does not hold")]
    InconsistentDataKey,
    /// An error of one implementation that is not part of the trait's vocabulary, e.g. a
    /// [`KeystoreError`] of [`crate::LocalKms`] (unreadable or corrupt keystore, unusable root
    /// secret), or a transport error of a remote client that is not retryable. Callers that
    /// need to tell these apart downcast: [`KmsError::keystore`], [`OtherError::downcast_ref`].
    /// S3 answers these with 500 `InternalError`.
    #[error(transparent)]
    Other(OtherError),
}

/// An implementation-specific error carried by [`KmsError::Other`] (as `rustls::Error::Other`).
///
/// Cloning shares the error; two values are equal only if they share one error (the inner
/// error need not implement `PartialEq`).
#[derive(Debug, Clone)]
pub struct OtherError(pub Arc<dyn std::error::Error + Send + Sync + 'static>);

impl OtherError {
    /// Wraps `e`.
    #[must_use]
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        OtherError(Arc::new(e))
    }

    /// The inner error as `T`, if it is one.
    #[must_use]
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// The inner error.
    #[must_use]
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl PartialEq for OtherError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OtherError {}

impl fmt::Display for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for OtherError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Why the keystore of [`crate::LocalKms`] could not be used. Reaches callers of the [`Kms`]
/// trait as [`KmsError::Other`]; [`KmsError::keystore`] gets it back.
///
/// [`Kms`]: crate::Kms
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// Reading or writing the keystore directory, keystore file or root secret file failed.
    /// The message includes the operating system's (e.g. `Permission denied (os error 13)`).
    #[error("keystore I/O error during {op}: {error}")]
    Io {
        /// What the keystore was doing.
        op: &'static str,
        /// The underlying I/O error, whole.
        error: std::io::Error,
    },
    /// The keystore file is malformed or fails its integrity check (or the root secret is not
    /// the one it was written with).
    #[error("keystore is corrupt: {0}")]
    Corrupt(&'static str),
    /// `keystore.json` has a permission for group or others (it is created 0600 and holds the
    /// wrapped master keys), or is larger than any keystore this build writes.
    #[error("keystore file refused: {0}")]
    Refused(&'static str),
    /// The root secret is missing, malformed, or refused (all-zero), or `root.key` is not a
    /// regular file.
    #[error("keystore root secret unusable: {0}")]
    RootSecret(&'static str),
    /// `keystore.json` is missing where one must exist: the caller required an existing keystore
    /// ([`LocalKmsConfig::require_existing`](crate::LocalKmsConfig::require_existing), set when
    /// the home holds objects; `generation` is `None`), or `keystore.generation` records that
    /// one was written (`generation` is the number it records). Creating a new empty keystore
    /// would orphan every object sealed under the old one's keys.
    #[error("{}", missing_message(*.generation))]
    Missing {
        /// The generation `keystore.generation` records, if that is how the loss was noticed.
        generation: Option<u64>,
    },
    /// `keystore.json` is older than the newest version written: an older copy was restored
    /// over it, so keys, aliases or versions made since then are gone. Restore the newest
    /// backup of `keystore.json`; if the older copy was restored on purpose, open once with
    /// [`LocalKmsConfig::accept_rollback`](crate::LocalKmsConfig::accept_rollback).
    #[error(
        "keystore.json is generation {found} but generation {recorded} was written \
         (keystore.generation): it was rolled back, and keys created since then are gone; \
         restore the newest backup of keystore.json, or, if this older copy was restored on \
         purpose, open it once with rollback accepted (LocalKmsConfig::accept_rollback)"
    )]
    RolledBack {
        /// The generation of `keystore.json` as found.
        found: u64,
        /// The newest generation written, as `keystore.generation` records it.
        recorded: u64,
    },
}

fn missing_message(generation: Option<u64>) -> String {
    let restore = "restore keystore.json from backup (it needs the root.key it was written \
                   with); a new empty keystore would orphan every object sealed under its keys";
    match generation {
        None => format!("keystore.json is missing but this home holds objects: {restore}"),
        Some(g) => format!(
            "keystore.json is missing but keystore.generation records that generation {g} of \
             it was written: {restore}; to start an empty keystore on purpose, open once with \
             rollback accepted (LocalKmsConfig::accept_rollback)"
        ),
    }
}

impl KeystoreError {
    /// The I/O error, for [`KeystoreError::Io`].
    #[must_use]
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            KeystoreError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<KeystoreError> for KmsError {
    fn from(e: KeystoreError) -> Self {
        KmsError::Other(OtherError::new(e))
    }
}

impl KmsError {
    /// Whether the same request may succeed if retried later ([`KmsError::Throttled`],
    /// [`KmsError::Unavailable`]). Caches never store these as results.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, KmsError::Throttled | KmsError::Unavailable)
    }

    /// Whether the error is a stable fact about the key that a cache may remember for a short
    /// time ([`KmsError::NotFound`], [`KmsError::Disabled`], [`KmsError::PendingDeletion`]).
    #[must_use]
    pub fn is_key_state(&self) -> bool {
        matches!(
            self,
            KmsError::NotFound(_) | KmsError::Disabled(_) | KmsError::PendingDeletion(_)
        )
    }

    /// Wraps an implementation-specific error as [`KmsError::Other`].
    #[must_use]
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        KmsError::Other(OtherError::new(e))
    }

    /// The implementation-specific error, for [`KmsError::Other`].
    #[must_use]
    pub fn other_error(&self) -> Option<&OtherError> {
        match self {
            KmsError::Other(o) => Some(o),
            _ => None,
        }
    }

    /// The [`KeystoreError`] of [`crate::LocalKms`], if this is one.
    #[must_use]
    pub fn keystore(&self) -> Option<&KeystoreError> {
        self.other_error()?.downcast_ref()
    }

    pub(crate) fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> KmsError {
        move |error| KeystoreError::Io { op, error }.into()
    }

    pub(crate) fn corrupt(why: &'static str) -> KmsError {
        KeystoreError::Corrupt(why).into()
    }

    pub(crate) fn root_secret(why: &'static str) -> KmsError {
        KeystoreError::RootSecret(why).into()
    }
}

impl From<s3seal_gcm::Error> for KmsError {
    fn from(e: s3seal_gcm::Error) -> Self {
        match e {
            s3seal_gcm::Error::Random => KmsError::Random,
            _ => KmsError::InvalidCiphertext,
        }
    }
}
