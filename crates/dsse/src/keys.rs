//! The two data keys of a DSSE object, from a KMS.

use s3seal_gcm::{ChunkSize, DataKey, PartNumber};
use s3seal_kms::{EncryptionContext, GeneratedDataKey, KeyRef, Kms, Requester};
use subtle::ConstantTimeEq;

use crate::error::DsseError;
use crate::layers::{DualOpener, DualSealer};
use crate::record::{LayerKey, LayerRecord};

/// The inner and outer data keys of one DSSE object, with the record that stores them wrapped.
///
/// # Security
/// Both keys zeroize on drop; `Debug` prints them redacted.
#[derive(Debug)]
pub struct DsseKeys {
    inner: DataKey,
    outer: DataKey,
    record: LayerRecord,
}

impl DsseKeys {
    /// Two `GenerateDataKey` calls to `kms` under `key` and `context`: two independent data keys,
    /// each checked with [`s3seal_kms::check_generated`] (one `Decrypt` each).
    /// Call the KMS directly (or through a cache partition per layer), never reuse one result
    /// for both layers; equal keys are refused.
    ///
    /// # Errors
    /// [`DsseError::Kms`]; [`DsseError::SameKeys`].
    pub fn generate(
        kms: &dyn Kms,
        key: &KeyRef,
        requester: &Requester,
        context: &EncryptionContext,
    ) -> Result<Self, DsseError> {
        let inner = kms.generate_data_key(key, requester, context)?;
        let outer = kms.generate_data_key(key, requester, context)?;
        // Nothing is sealed under a key whose blob does not hold it.
        s3seal_kms::check_generated(kms, &inner, context)?;
        s3seal_kms::check_generated(kms, &outer, context)?;
        Self::from_generated(inner, outer)
    }

    /// Builds the keys from two data keys already generated.
    ///
    /// # Errors
    /// [`DsseError::SameKeys`] if the two plaintext keys (or their blobs) are equal.
    pub fn from_generated(
        inner: GeneratedDataKey,
        outer: GeneratedDataKey,
    ) -> Result<Self, DsseError> {
        if bool::from(inner.plaintext.as_bytes().ct_eq(outer.plaintext.as_bytes()))
            || inner.ciphertext_blob == outer.ciphertext_blob
        {
            return Err(DsseError::SameKeys);
        }
        let record = LayerRecord {
            inner: LayerKey {
                key_arn: inner.key_arn,
                wrapped: inner.ciphertext_blob,
            },
            outer: LayerKey {
                key_arn: outer.key_arn,
                wrapped: outer.ciphertext_blob,
            },
        };
        Ok(DsseKeys {
            inner: inner.plaintext,
            outer: outer.plaintext,
            record,
        })
    }

    /// Unwraps both layers' data keys from `record` under `context`, asserting each key ARN.
    ///
    /// # Errors
    /// [`DsseError::Kms`] (wrong context, tampered blob, other key, disabled key …);
    /// [`DsseError::SameKeys`].
    pub fn unwrap(
        kms: &dyn Kms,
        record: &LayerRecord,
        context: &EncryptionContext,
    ) -> Result<Self, DsseError> {
        let inner = kms.decrypt(&record.inner.wrapped, context, Some(&record.inner.key_arn))?;
        let outer = kms.decrypt(&record.outer.wrapped, context, Some(&record.outer.key_arn))?;
        if bool::from(inner.plaintext.as_bytes().ct_eq(outer.plaintext.as_bytes())) {
            return Err(DsseError::SameKeys);
        }
        Ok(DsseKeys {
            inner: inner.plaintext,
            outer: outer.plaintext,
            record: record.clone(),
        })
    }

    /// [`DsseKeys::unwrap`] for keys that will seal new data (an upload's parts): the outer
    /// layer's blob is decrypted a second time and the two answers must agree.
    ///
    /// # Security
    /// An object's (or upload's) MAC is keyed by the inner key, so it authenticates only that
    /// one. A wrong outer key from a faulty KMS is caught on reads by the chunks' outer tags,
    /// but a write would seal new data under it that no one can open; a second, independent
    /// answer is required before such a key is used. (A KMS that answers wrongly every time is
    /// not caught: that would need a commitment to the outer key under the MAC, a format
    /// change.)
    ///
    /// # Errors
    /// As [`DsseKeys::unwrap`]; [`DsseError::Kms`] with
    /// [`s3seal_kms::KmsError::InconsistentDataKey`] if the answers differ.
    pub fn unwrap_for_writing(
        kms: &dyn Kms,
        record: &LayerRecord,
        context: &EncryptionContext,
    ) -> Result<Self, DsseError> {
        let keys = Self::unwrap(kms, record, context)?;
        let again = kms.decrypt(&record.outer.wrapped, context, Some(&record.outer.key_arn))?;
        if !bool::from(again.plaintext.as_bytes().ct_eq(keys.outer.as_bytes())) {
            return Err(s3seal_kms::KmsError::InconsistentDataKey.into());
        }
        Ok(keys)
    }

    /// Keys given directly (tests, or callers that manage wrapping themselves).
    ///
    /// # Errors
    /// [`DsseError::SameKeys`].
    pub fn from_data_keys(
        inner: DataKey,
        outer: DataKey,
        record: LayerRecord,
    ) -> Result<Self, DsseError> {
        if bool::from(inner.as_bytes().ct_eq(outer.as_bytes())) {
            return Err(DsseError::SameKeys);
        }
        Ok(DsseKeys {
            inner,
            outer,
            record,
        })
    }

    /// The inner layer's data key, for keys derived per object from it (the engine's envelope
    /// MAC key). Never the key of the outer layer.
    #[must_use]
    pub fn inner_key(&self) -> &DataKey {
        &self.inner
    }

    /// The record to store beside the object.
    #[must_use]
    pub fn record(&self) -> &LayerRecord {
        &self.record
    }

    /// A sealer for one part, with fresh salts for both layers.
    ///
    /// # Errors
    /// [`DsseError::Seal`] if the OS random generator fails.
    pub fn sealer(
        &self,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<DualSealer, DsseError> {
        DualSealer::new(&self.inner, &self.outer, binding, part, chunk)
    }

    /// An opener for one part from its 152 header bytes; checks both commitments.
    ///
    /// # Errors
    /// [`DsseError::Seal`] with the header's [`s3seal_gcm::FormatError`].
    pub fn opener(
        &self,
        binding: &[u8],
        part: PartNumber,
        header: &[u8],
    ) -> Result<DualOpener, DsseError> {
        DualOpener::new(&self.inner, &self.outer, binding, part, header)
    }
}
