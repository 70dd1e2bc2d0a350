//! `arbitrary` for the bucket and configuration types (feature `fuzzing`). Each picks a valid,
//! S3-shaped value most of the time (so a campaign reaches the engine's deeper paths) and
//! arbitrary text the rest (so it reaches the refusals too).

use arbitrary::{Arbitrary, Result, Unstructured};
use s3seal_kms::KeyRef;

use crate::algorithm::{BucketKind, SseAlgorithm};
use crate::bucket::BucketPolicy;
use crate::config::{AliasPolicy, BucketEncryption, EncryptionType};

/// Key references as requests and configurations name them: managed key alias, an alias, a
/// key id, key ARNs in the bucket owner's account and another.
const KEY_REFS: [&str; 5] = [
    "alias/aws/s3",
    "alias/fuzz",
    "1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
];

/// One of `known` three times in four, else arbitrary text.
pub(crate) fn text<'a>(u: &mut Unstructured<'a>, known: &[&'static str]) -> Result<String> {
    if !known.is_empty() && u.ratio(3u8, 4)? {
        Ok((*u.choose(known)?).to_owned())
    } else {
        Ok(<&str>::arbitrary(u)?.to_owned())
    }
}

impl<'a> Arbitrary<'a> for SseAlgorithm {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(*u.choose(&[
            SseAlgorithm::Aes256,
            SseAlgorithm::AwsKms,
            SseAlgorithm::AwsKmsDsse,
            SseAlgorithm::AwsFsx,
        ])?)
    }
}

impl<'a> Arbitrary<'a> for BucketKind {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(*u.choose(&[
            BucketKind::GeneralPurpose,
            BucketKind::Directory,
            BucketKind::FsxAccessPoint,
        ])?)
    }
}

impl<'a> Arbitrary<'a> for EncryptionType {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(*u.choose(&[EncryptionType::None, EncryptionType::SseC])?)
    }
}

impl<'a> Arbitrary<'a> for AliasPolicy {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(*u.choose(&[AliasPolicy::Warn, AliasPolicy::Refuse])?)
    }
}

fn key_ref(u: &mut Unstructured<'_>) -> Result<Option<KeyRef>> {
    if u.arbitrary()? {
        Ok(KeyRef::parse(&text(u, &KEY_REFS)?).ok())
    } else {
        Ok(None)
    }
}

impl<'a> Arbitrary<'a> for BucketEncryption {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(BucketEncryption {
            algorithm: u.arbitrary()?,
            kms_key: key_ref(u)?,
            bucket_key: u.arbitrary()?,
            blocked: u.arbitrary()?,
        })
    }
}

impl<'a> Arbitrary<'a> for BucketPolicy {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        // Mostly general purpose buckets, the kind that allows every mode.
        let kind = if u.ratio(3u8, 4)? {
            BucketKind::GeneralPurpose
        } else {
            u.arbitrary()?
        };
        let name = match kind {
            BucketKind::Directory => text(u, &["fuzz--use1-az4--x-s3"])?,
            BucketKind::FsxAccessPoint => {
                text(u, &["fuzz-ap-abcdefghijklmnopqrstuvwxyz-ext-s3alias"])?
            }
            BucketKind::GeneralPurpose => text(u, &["fuzz-bucket", "other-bucket"])?,
        };
        let owner = text(u, &["111122223333"])?;
        let region = text(u, &["us-east-1"])?;
        let mut b = BucketPolicy::new(&name, kind, &owner, &region);
        b.encryption = if u.ratio(1u8, 3)? {
            Some(u.arbitrary()?)
        } else {
            None
        };
        b.directory_kms_key = if kind == BucketKind::Directory {
            key_ref(u)?
        } else {
            None
        };
        Ok(b)
    }
}
