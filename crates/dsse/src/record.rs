//! The layer record: what a DSSE object stores about its two layers' keys.
//!
//! ```text
//!  0        4     5     6
//!  +--------+-----+-----+
//!  | "S3DL" | ver | n=2 |      ver = 1
//!  +--------+-----+-----+
//!  then for the inner layer (role 1), then the outer layer (role 2):
//!  +------+-------------+-----------------+--------------+------------------+
//!  | role | arn_len u16 | key ARN (UTF-8) | blob_len u16 | wrapped data key |
//!  +------+-------------+-----------------+--------------+------------------+
//! ```
//!
//! `arn_len` is 1..=2048 and `blob_len` 1..=6144 (KMS's largest ciphertext blob). The salts of
//! each layer live in each part's headers (every part of a multipart object has its own), not
//! here. The record is not secret; the wrapped keys are authenticated by the KMS against the
//! encryption context, and the key ARNs are asserted when unwrapping.

use crate::error::RecordError;

const MAGIC: [u8; 4] = *b"S3DL";
const VERSION: u8 = 1;
const MAX_ARN: usize = 2048;
const MAX_BLOB: usize = 6144;

/// One layer's key: the KMS key ARN and the data key wrapped under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerKey {
    /// Full ARN of the KMS key that wrapped the data key.
    pub key_arn: String,
    /// The KMS ciphertext blob of the data key.
    pub wrapped: Vec<u8>,
}

/// Both layers' keys, inner first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRecord {
    /// The inner layer (applied first to the plaintext).
    pub inner: LayerKey,
    /// The outer layer.
    pub outer: LayerKey,
}

impl LayerRecord {
    /// Serializes the record.
    ///
    /// # Errors
    /// [`RecordError::BadField`] if an ARN or blob is empty or too long.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let mut out = Vec::with_capacity(64 + self.inner.wrapped.len() * 2);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[VERSION, 2]);
        for (role, layer) in [(1u8, &self.inner), (2, &self.outer)] {
            out.push(role);
            write_field(&mut out, layer.key_arn.as_bytes(), MAX_ARN)?;
            write_field(&mut out, &layer.wrapped, MAX_BLOB)?;
        }
        Ok(out)
    }

    /// Parses a record, refusing anything but exactly the layout above.
    ///
    /// # Errors
    /// A [`RecordError`] naming what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(RecordError::BadMagic);
        }
        let version = r.byte()?;
        if version != VERSION {
            return Err(RecordError::UnsupportedVersion(version));
        }
        if r.byte()? != 2 {
            return Err(RecordError::BadLayers);
        }
        let mut layers = Vec::with_capacity(2);
        for role in [1u8, 2] {
            if r.byte()? != role {
                return Err(RecordError::BadLayers);
            }
            let arn = std::str::from_utf8(r.field(MAX_ARN)?).map_err(|_| RecordError::BadField)?;
            let wrapped = r.field(MAX_BLOB)?.to_vec();
            layers.push(LayerKey {
                key_arn: arn.to_owned(),
                wrapped,
            });
        }
        if !r.0.is_empty() {
            return Err(RecordError::TrailingData);
        }
        let outer = layers.pop().ok_or(RecordError::BadLayers)?;
        let inner = layers.pop().ok_or(RecordError::BadLayers)?;
        Ok(LayerRecord { inner, outer })
    }
}

fn write_field(out: &mut Vec<u8>, field: &[u8], max: usize) -> Result<(), RecordError> {
    if field.is_empty() || field.len() > max {
        return Err(RecordError::BadField);
    }
    let len = u16::try_from(field.len()).map_err(|_| RecordError::BadField)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    fn field(&mut self, max: usize) -> Result<&'a [u8], RecordError> {
        let len = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len == 0 || len > max {
            return Err(RecordError::BadField);
        }
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> LayerRecord {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        LayerRecord {
            inner: LayerKey {
                key_arn: arn.into(),
                wrapped: vec![1; 120],
            },
            outer: LayerKey {
                key_arn: arn.into(),
                wrapped: vec![2; 120],
            },
        }
    }

    #[test]
    fn round_trips_and_every_truncation_and_extension_fails() {
        let bytes = record().to_bytes().unwrap();
        assert_eq!(LayerRecord::from_bytes(&bytes), Ok(record()));
        for cut in 0..bytes.len() {
            assert!(LayerRecord::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut more = bytes.clone();
        more.push(0);
        assert_eq!(
            LayerRecord::from_bytes(&more),
            Err(RecordError::TrailingData)
        );
    }

    #[test]
    fn swapped_or_missing_layers_and_bad_headers_fail() {
        let bytes = record().to_bytes().unwrap();
        let mut swapped = bytes.clone();
        swapped[6] = 2;
        assert_eq!(
            LayerRecord::from_bytes(&swapped),
            Err(RecordError::BadLayers)
        );
        let mut one = bytes.clone();
        one[5] = 1;
        assert_eq!(LayerRecord::from_bytes(&one), Err(RecordError::BadLayers));
        let mut v = bytes.clone();
        v[4] = 9;
        assert_eq!(
            LayerRecord::from_bytes(&v),
            Err(RecordError::UnsupportedVersion(9))
        );
        assert_eq!(LayerRecord::from_bytes(b"XXXX"), Err(RecordError::BadMagic));
        let mut empty = record();
        empty.outer.wrapped.clear();
        assert_eq!(empty.to_bytes(), Err(RecordError::BadField));
    }
}
