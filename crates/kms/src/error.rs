//! KMS errors, mirroring the exceptions of the AWS KMS API.
//!
//! Messages name keys (ids and ARNs are not secret) but never key material, blobs' plaintext or
//! the root secret.

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
    /// Reading or writing the keystore failed.
    #[error("keystore I/O error during {op}: {kind}")]
    KeystoreIo {
        /// What the keystore was doing.
        op: &'static str,
        /// The underlying I/O error kind.
        kind: std::io::ErrorKind,
    },
    /// The keystore file is malformed or fails its integrity check (or the root secret is not
    /// the one it was written with).
    #[error("keystore is corrupt: {0}")]
    KeystoreCorrupt(&'static str),
    /// The root secret is missing, malformed, or refused (all-zero).
    #[error("keystore root secret unusable: {0}")]
    RootSecret(&'static str),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
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

    pub(crate) fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> KmsError {
        move |e| KmsError::KeystoreIo { op, kind: e.kind() }
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
