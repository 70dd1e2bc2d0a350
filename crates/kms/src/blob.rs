//! The ciphertext blob of [`crate::LocalKms`]: a data key wrapped under one version of a master
//! key, bound to an encryption context.
//!
//! ```text
//!  0        4     5     6                          22           26                    38
//!  +--------+-----+-----+--------------------------+------------+---------------------+
//!  | "S3KB" | ver | alg | master key id (UUID, 16) | key ver u32| nonce (12, random)  |
//!  +--------+-----+-----+--------------------------+------------+---------------------+
//!  38                                   70                  86
//!  +------------------------------------+-------------------+
//!  | encrypted data key (32)            | GCM tag (16)      |
//!  +------------------------------------+-------------------+
//! ```
//! - `ver` = 1, `alg` = 1 (AES-256-GCM). Integers big-endian. Total 86 bytes, exactly.
//! - The key is AES-256-GCM under master key `id`, material version `key ver`, with a random
//!   96-bit nonce (at most 2³² blobs per material version keep the collision risk under
//!   2⁻³², NIST SP 800-38D §8.3; rotate long before that).
//! - AAD = bytes 0..26 as read ‖ the context's canonical serialization
//!   ([`crate::EncryptionContext::canonical_bytes`]). A wrong, missing or extra context entry,
//!   a changed header byte or a swapped key id fails authentication, as in AWS KMS.
//!
//! Every failure to read or open is the opaque [`KmsError::InvalidCiphertext`].

use s3seal_gcm::{Aes256Gcm, DataKey, fill_random};
use zeroize::Zeroize;

use crate::context::EncryptionContext;
use crate::error::KmsError;

const MAGIC: &[u8; 4] = b"S3KB";
const VERSION: u8 = 1;
const ALG_AES256GCM: u8 = 1;
const HEADER_LEN: usize = 26;
const NONCE_END: usize = HEADER_LEN + 12;
const KEY_END: usize = NONCE_END + 32;
/// Length of every version-1 blob.
pub const BLOB_LEN: usize = KEY_END + 16;

/// The fields of a blob readable without the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlobHeader {
    pub key_id: [u8; 16],
    pub key_version: u32,
}

fn aad(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(&context.canonical_bytes());
    aad
}

/// Writes a blob wrapping `data_key`.
pub(crate) fn write(
    header: BlobHeader,
    master: &Aes256Gcm,
    context: &EncryptionContext,
    data_key: &DataKey,
) -> Result<Vec<u8>, KmsError> {
    let mut out = Vec::with_capacity(BLOB_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(ALG_AES256GCM);
    out.extend_from_slice(&header.key_id);
    out.extend_from_slice(&header.key_version.to_be_bytes());
    let mut nonce = [0u8; 12];
    fill_random(&mut nonce)?;
    out.extend_from_slice(&nonce);
    let mut buf = *data_key.as_bytes();
    let tag =
        master.seal_in_place_separate_tag(&nonce, &aad(&out[..HEADER_LEN], context), &mut buf);
    out.extend_from_slice(&buf);
    buf.zeroize();
    out.extend_from_slice(&tag?);
    Ok(out)
}

/// Reads the header of a blob (without authenticating it).
pub(crate) fn read_header(blob: &[u8]) -> Result<BlobHeader, KmsError> {
    if blob.len() != BLOB_LEN
        || &blob[..4] != MAGIC
        || blob[4] != VERSION
        || blob[5] != ALG_AES256GCM
    {
        return Err(KmsError::InvalidCiphertext);
    }
    let mut key_id = [0u8; 16];
    key_id.copy_from_slice(&blob[6..22]);
    let mut v = [0u8; 4];
    v.copy_from_slice(&blob[22..26]);
    Ok(BlobHeader {
        key_id,
        key_version: u32::from_be_bytes(v),
    })
}

/// Authenticates and opens a blob whose header named `master`.
pub(crate) fn open(
    blob: &[u8],
    master: &Aes256Gcm,
    context: &EncryptionContext,
) -> Result<DataKey, KmsError> {
    read_header(blob)?;
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&blob[HEADER_LEN..NONCE_END]);
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&blob[KEY_END..BLOB_LEN]);
    let mut buf = [0u8; 32];
    buf.copy_from_slice(&blob[NONCE_END..KEY_END]);
    let res = master.open_in_place(&nonce, &aad(&blob[..HEADER_LEN], context), &mut buf, &tag);
    let key = res.map(|()| DataKey::from_bytes(buf));
    buf.zeroize();
    key.map_err(|_| KmsError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_flip_and_context_change_fails() {
        let master = Aes256Gcm::new(&[7u8; 32]);
        let ctx = EncryptionContext::from_pairs([("a", "1")]);
        let dk = DataKey::generate().unwrap();
        let h = BlobHeader {
            key_id: [9; 16],
            key_version: 3,
        };
        let blob = write(h, &master, &ctx, &dk).unwrap();
        assert_eq!(blob.len(), BLOB_LEN);
        assert_eq!(read_header(&blob).unwrap(), h);
        assert_eq!(
            open(&blob, &master, &ctx).unwrap().as_bytes(),
            dk.as_bytes()
        );
        for i in 0..blob.len() {
            let mut b = blob.clone();
            b[i] ^= 0x01;
            assert_eq!(
                open(&b, &master, &ctx).unwrap_err(),
                KmsError::InvalidCiphertext
            );
        }
        for bad in [
            EncryptionContext::new(),
            EncryptionContext::from_pairs([("a", "2")]),
            EncryptionContext::from_pairs([("a", "1"), ("b", "")]),
        ] {
            assert_eq!(
                open(&blob, &master, &bad).unwrap_err(),
                KmsError::InvalidCiphertext
            );
        }
        assert!(read_header(&blob[..85]).is_err());
    }
}
