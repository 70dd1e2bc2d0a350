//! S3 Bucket Keys: one KMS data key per bucket per validity window, from which each object's
//! data key is derived locally.
//!
//! > Default encryption context: `{"aws:s3:arn": "arn:aws:s3:::BUCKET/KEY"}`; with a bucket key
//! > the bucket ARN `arn:aws:s3:::BUCKET`. … DSSE-KMS: two independent AES-256-GCM layers;
//! > bucket keys not supported.
//!
//! The bucket key comes from `GenerateDataKey` under context `{"aws:s3:arn":
//! "arn:aws:s3:::BUCKET"}` and is cached for `bucket_key_validity`. Each object gets
//! `object key = HKDF-SHA256(salt = 32 random bytes, IKM = bucket key,
//! info = "s3seal bucket key v1")`; the object stores the bucket key's blob, its key ARN and
//! the salt. So 10,000 PUTs to one bucket cost one `GenerateDataKey` per validity window, and a
//! GET costs at most one `Decrypt` per bucket key while the decrypt cache holds it.

use s3seal_gcm::{DataKey, fill_random};
use s3seal_kms::{DecryptedDataKey, EncryptionContext, KeyRef, Requester};

use crate::request::DataKeyRequest;
use crate::{CacheError, DataKeyMaterials, KeyCache, bump, kdf};

const INFO: &[u8] = b"s3seal bucket key v1";

/// The server-side encryption kind a bucket key is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseKind {
    /// SSE-S3 (AES256).
    SseS3,
    /// SSE-KMS (`aws:kms`).
    SseKms,
    /// DSSE-KMS (`aws:kms:dsse`): bucket keys are refused.
    DsseKms,
}

/// A per-object key derived from a bucket key, and what the object must store.
#[derive(Debug, Clone)]
pub struct BucketKeyMaterials {
    /// The object's data key (zeroized on drop, redacted in `Debug`).
    pub data_key: DataKey,
    /// The per-object salt; store it with the object.
    pub salt: [u8; 32],
    bucket_key: DataKeyMaterials,
}

impl BucketKeyMaterials {
    /// The bucket key's KMS blob; store it with the object.
    #[must_use]
    pub fn bucket_key_blob(&self) -> &[u8] {
        self.bucket_key.ciphertext_blob()
    }

    /// The full ARN of the KMS key; record and echo it.
    #[must_use]
    pub fn key_arn(&self) -> &str {
        self.bucket_key.key_arn()
    }
}

/// The object key: `HKDF-SHA256(salt, IKM = bucket key, info = "s3seal bucket key v1")`.
pub(crate) fn derive(bucket_key: &DataKey, salt: &[u8; 32]) -> DataKey {
    DataKey::from_bytes(*kdf::hkdf_sha256(Some(salt), bucket_key.as_bytes(), INFO))
}

impl KeyCache {
    /// A fresh per-object data key for a PUT to `bucket` with S3 Bucket Keys enabled.
    ///
    /// # Errors
    /// [`CacheError::BucketKeyWithDsse`] for [`SseKind::DsseKms`]; [`CacheError::Kms`] as for
    /// [`KeyCache::data_key`]; [`CacheError::Random`] if the system random number generator
    /// fails while drawing the salt.
    pub fn bucket_data_key(
        &self,
        kind: SseKind,
        key: &KeyRef,
        requester: &Requester,
        bucket: &str,
    ) -> Result<BucketKeyMaterials, CacheError> {
        if kind == SseKind::DsseKms {
            return Err(CacheError::BucketKeyWithDsse);
        }
        let req = DataKeyRequest::bucket(key.clone(), requester.clone(), bucket);
        let bucket_key = self.cached_key(&req, 0)?;
        let mut salt = [0u8; 32];
        fill_random(&mut salt).map_err(|_| CacheError::Random)?;
        let data_key = derive(&bucket_key.data_key, &salt);
        bump(&self.n.derivations);
        Ok(BucketKeyMaterials {
            data_key,
            salt,
            bucket_key,
        })
    }

    /// The per-object data key of an object written with a bucket key: decrypts the bucket key
    /// blob under the bucket's context (through the decrypt cache) and re-derives with `salt`.
    ///
    /// # Errors
    /// As [`KeyCache::decrypt_data_key`].
    pub fn open_bucket_data_key(
        &self,
        bucket: &str,
        bucket_key_blob: &[u8],
        salt: &[u8; 32],
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, CacheError> {
        let ctx = EncryptionContext::for_bucket(bucket);
        let bk = self.decrypt_data_key(bucket_key_blob, &ctx, expected_key_arn)?;
        Ok(DecryptedDataKey {
            plaintext: derive(&bk.plaintext, salt),
            key_arn: bk.key_arn,
        })
    }
}
