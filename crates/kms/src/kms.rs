//! The [`Kms`] trait: the one seam between s3seal and a key management service.
//!
//! # Shape
//! Four operations, the ones S3 itself makes on AWS KMS: `GenerateDataKey` (PUT),
//! `Decrypt` (GET), `ReEncrypt` (rewrap without touching data: `UpdateObjectEncryption`, key
//! rotation to a new KMS key) and `DescribeKey` (resolve a reference to its full ARN, check
//! state). Every call takes the [`Requester`] whose account resolves bare ids and aliases, and
//! every result names the full key ARN, which S3 records and echoes.
//!
//! # Synchronous, and how remote services fit
//! The trait is synchronous and object safe so the engine can hold `Arc<dyn Kms>` and the key
//! cache can coordinate callers with plain threads. There is no async variant of the trait.
//! An implementation that talks to a remote service (the AWS KMS API, Vault Transit, a KMIP
//! server) implements this trait by blocking on its client, e.g. owning a small runtime and
//! calling `block_on` per request; an async caller reaches any implementation through its
//! executor's blocking pool (`spawn_blocking`). Remote implementations must map their
//! service's errors onto [`KmsError`] (throttling and timeouts onto the retryable variants,
//! anything outside the trait's vocabulary into [`KmsError::Other`]), apply
//! [`Requester::check_key_account`] to the key ARN the service returns, and pass the
//! conformance suite (`testing::conformance`, cargo feature `testing`) that
//! [`crate::LocalKms`] passes.

use std::fmt;
use std::time::SystemTime;

use s3seal_gcm::DataKey;
use subtle::ConstantTimeEq;

use crate::context::EncryptionContext;
use crate::error::KmsError;
use crate::key_id::{KeyIdError, KeyRef, KmsArn, check_account};

/// The alias of the AWS managed key S3 uses for SSE-KMS requests that name no key.
pub const AWS_S3_MANAGED_ALIAS: &str = "aws/s3";
/// The alias of the root key s3seal uses for SSE-S3.
pub const SSE_S3_ALIAS: &str = "s3seal/sse-s3";

/// Who is asking, for key resolution.
///
/// > If you use a KMS key alias instead, then AWS KMS resolves the key within the requester's
/// > account. This behavior can result in data that's encrypted with a KMS key that belongs to
/// > the requester, and not the bucket owner. — `ServerSideEncryptionByDefault`
///
/// Bare key ids and alias names resolve in `account`. With
/// [`Requester::require_bucket_owner_key`], a key in any other account than the bucket owner's
/// is refused with [`KmsError::AccessDenied`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requester {
    account: String,
    bucket_owner: Option<String>,
}

impl Requester {
    /// A requester in `account` (12 digits).
    ///
    /// # Errors
    /// [`KeyIdError::BadAccount`] if `account` is not 12 digits.
    pub fn new(account: &str) -> Result<Self, KeyIdError> {
        check_account(account)?;
        Ok(Requester {
            account: account.to_owned(),
            bucket_owner: None,
        })
    }

    /// Refuses keys outside `owner`'s account (the bucket owner's).
    ///
    /// # Errors
    /// [`KeyIdError::BadAccount`] if `owner` is not 12 digits.
    pub fn require_bucket_owner_key(mut self, owner: &str) -> Result<Self, KeyIdError> {
        check_account(owner)?;
        self.bucket_owner = Some(owner.to_owned());
        Ok(self)
    }

    /// The account bare ids and aliases resolve in.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The bucket owner whose account keys must belong to, if enforced.
    #[must_use]
    pub fn bucket_owner(&self) -> Option<&str> {
        self.bucket_owner.as_deref()
    }

    /// Checks a resolved key's account against the bucket-owner rule.
    ///
    /// # Errors
    /// [`KmsError::AccessDenied`] naming `key_arn` if the rule is on and the accounts differ.
    pub fn check_key_account(&self, key_account: &str, key_arn: &str) -> Result<(), KmsError> {
        match &self.bucket_owner {
            Some(owner) if owner != key_account => Err(KmsError::AccessDenied(key_arn.to_owned())),
            _ => Ok(()),
        }
    }
}

/// The result of `GenerateDataKey`.
#[derive(Debug)]
pub struct GeneratedDataKey {
    /// The plaintext data key (zeroized on drop, redacted in `Debug`).
    pub plaintext: DataKey,
    /// The data key encrypted under the KMS key, bound to the context; store it with the object.
    pub ciphertext_blob: Vec<u8>,
    /// The full ARN of the key that encrypted it (what S3 records and echoes).
    pub key_arn: String,
}

/// The result of `Decrypt`.
#[derive(Debug)]
pub struct DecryptedDataKey {
    /// The plaintext data key.
    pub plaintext: DataKey,
    /// The full ARN of the key that had encrypted it.
    pub key_arn: String,
}

/// The result of `ReEncrypt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReEncrypted {
    /// The same data key, now encrypted under the destination key and context.
    pub ciphertext_blob: Vec<u8>,
    /// The full ARN of the key the blob was under before.
    pub source_key_arn: String,
    /// The full ARN of the destination key.
    pub key_arn: String,
}

/// A KMS key's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum KeyState {
    /// Usable for every operation.
    Enabled,
    /// Refuses every cryptographic operation until enabled again.
    Disabled,
    /// Refuses every cryptographic operation; deleted at the scheduled date unless cancelled.
    PendingDeletion,
}

/// Rotation information of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationInfo {
    /// The key material version new blobs use (1 for a never-rotated key).
    pub current_version: u32,
    /// When the key was last rotated, if ever.
    pub last_rotated: Option<SystemTime>,
}

/// What `DescribeKey` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    /// The full key ARN.
    pub arn: String,
    /// The key id (UUID).
    pub key_id: String,
    /// The owning account.
    pub account: String,
    /// The key's Region.
    pub region: String,
    /// Free text given at creation.
    pub description: String,
    /// Current state.
    pub state: KeyState,
    /// Whether it is an AWS managed key (`aws/s3`): cannot be disabled or deleted.
    pub aws_managed: bool,
    /// Creation time.
    pub creation_date: SystemTime,
    /// The scheduled deletion time when [`KeyState::PendingDeletion`].
    pub deletion_date: Option<SystemTime>,
    /// Rotation information.
    pub rotation: RotationInfo,
    /// Alias names (without `alias/`) that point at the key.
    pub aliases: Vec<String>,
}

impl KeyMetadata {
    /// The parsed ARN.
    #[must_use]
    pub fn parsed_arn(&self) -> Option<KmsArn> {
        match KeyRef::parse(&self.arn) {
            Ok(KeyRef::KeyArn(a)) => Some(a),
            _ => None,
        }
    }
}

/// Checks a `GenerateDataKey` answer before anything is sealed with it: `Decrypt` of its blob
/// under `context`, asserting its key ARN, must give its plaintext key. A KMS answer is input
/// from outside; a blob that does not hold its key would leave every object sealed under it
/// unreadable, so a wrong answer fails the write instead. Costs one `Decrypt` per generated
/// key (the key cache makes that once per cached key, and keeps the result for reads).
///
/// # Errors
/// [`KmsError::InconsistentDataKey`] if the blob does not decrypt (`InvalidCiphertext`,
/// `IncorrectKey`) or holds another key or key ARN; other errors of [`Kms::decrypt`] as they
/// are (a retryable one means the key could not be checked: it is not used either).
pub fn check_generated(
    kms: &dyn Kms,
    generated: &GeneratedDataKey,
    context: &EncryptionContext,
) -> Result<DecryptedDataKey, KmsError> {
    let d = match kms.decrypt(
        &generated.ciphertext_blob,
        context,
        Some(&generated.key_arn),
    ) {
        Ok(d) => d,
        Err(KmsError::InvalidCiphertext | KmsError::IncorrectKey) => {
            return Err(KmsError::InconsistentDataKey);
        }
        Err(e) => return Err(e),
    };
    let same_key = d.plaintext.as_bytes().ct_eq(generated.plaintext.as_bytes());
    if !bool::from(same_key) || d.key_arn != generated.key_arn {
        return Err(KmsError::InconsistentDataKey);
    }
    Ok(d)
}

/// A key management service, as S3 uses one.
///
/// Implementations are `Send + Sync` and held as `Arc<dyn Kms>`. See the module docs for how
/// remote and async services fit behind it.
pub trait Kms: Send + Sync + fmt::Debug {
    /// `GenerateDataKey`: a fresh 256-bit data key and its blob under `key`, bound to `context`.
    ///
    /// # Errors
    /// [`KmsError::NotFound`], [`KmsError::Disabled`], [`KmsError::PendingDeletion`],
    /// [`KmsError::AccessDenied`] (bucket-owner rule), retryable errors from a remote service,
    /// [`KmsError::Other`] for errors of the implementation itself (e.g. a keystore write).
    fn generate_data_key(
        &self,
        key: &KeyRef,
        requester: &Requester,
        context: &EncryptionContext,
    ) -> Result<GeneratedDataKey, KmsError>;

    /// `Decrypt`: the data key inside `blob`, if `context` is exactly the one it was made with.
    /// With `expected_key_arn`, also asserts which key made it.
    ///
    /// # Errors
    /// [`KmsError::InvalidCiphertext`] (tampered, malformed, wrong/missing/extra context),
    /// [`KmsError::IncorrectKey`], key-state errors, retryable errors, [`KmsError::Other`].
    fn decrypt(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError>;

    /// `ReEncrypt`: moves the data key in `blob` (under `source_context`) to `dest_key` and
    /// `dest_context` without returning the plaintext.
    ///
    /// # Errors
    /// As [`Kms::decrypt`] for the source and [`Kms::generate_data_key`] for the destination.
    fn re_encrypt(
        &self,
        blob: &[u8],
        source_context: &EncryptionContext,
        dest_key: &KeyRef,
        requester: &Requester,
        dest_context: &EncryptionContext,
    ) -> Result<ReEncrypted, KmsError>;

    /// `DescribeKey`: resolves `key` for `requester` and returns its metadata.
    ///
    /// # Errors
    /// [`KmsError::NotFound`], [`KmsError::AccessDenied`], retryable errors,
    /// [`KmsError::Other`].
    fn describe_key(&self, key: &KeyRef, requester: &Requester) -> Result<KeyMetadata, KmsError>;

    /// The AWS managed key for SSE-KMS without a key id (`alias/aws/s3` in the requester's
    /// account). [`crate::LocalKms`] creates it on first use.
    ///
    /// # Errors
    /// As [`Kms::describe_key`].
    fn default_sse_kms_key(&self, requester: &Requester) -> Result<KeyMetadata, KmsError> {
        self.describe_key(
            &KeyRef::AliasName(AWS_S3_MANAGED_ALIAS.to_owned()),
            requester,
        )
    }

    /// The root key for SSE-S3 (`alias/s3seal/sse-s3` in the requester's account).
    /// [`crate::LocalKms`] creates it on first use.
    ///
    /// # Errors
    /// As [`Kms::describe_key`].
    fn sse_s3_key(&self, requester: &Requester) -> Result<KeyMetadata, KmsError> {
        self.describe_key(&KeyRef::AliasName(SSE_S3_ALIAS.to_owned()), requester)
    }
}
