#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod blob;
pub mod context;
pub mod error;
mod kdf;
pub mod key_id;
pub mod keystore;
pub mod kms;
pub mod local;
pub mod select;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "aws")]
pub use aws::{AwsCredentials, AwsKms, AwsKmsConfig, AwsKmsError};
pub use context::EncryptionContext;
pub use error::{KeystoreError, KmsError, OtherError};
pub use key_id::{KeyIdError, KeyRef, KmsArn, check_account};
pub use keystore::{
    KeystoreContents, ROOT_KEY_ENV, RootSecret, RootSecretSource, parse_generation_record,
    parse_keystore,
};
pub use kms::{
    AWS_S3_MANAGED_ALIAS, DecryptedDataKey, GeneratedDataKey, KeyMetadata, KeyState, Kms,
    ReEncrypted, Requester, RotationInfo, SSE_S3_ALIAS, check_generated,
};
pub use local::{LocalKms, LocalKmsConfig};
pub use select::{CredentialSource, KmsKind, KmsSettings};
#[cfg(feature = "testing")]
pub use testing::{FaultConfig, FaultStats, FaultyKms};
