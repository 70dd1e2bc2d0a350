//! What the policy knows about a bucket, and the PutBucketEncryption / GetBucketEncryption /
//! DeleteBucketEncryption rules that depend on its kind.
//!
//! A new bucket ([`BucketPolicy::new`]) has no encryption configuration: every write without
//! encryption headers gets the base level, SSE-S3 ("all buckets have a base level of encryption
//! configuration that uses server-side encryption with Amazon S3 managed keys"), and
//! GetBucketEncryption answers `ServerSideEncryptionConfigurationNotFoundError` until a
//! configuration is put. DeleteBucketEncryption returns a bucket to that state.

use s3seal_kms::KeyRef;

use crate::algorithm::{BucketKind, SseAlgorithm};
use crate::config::{AliasPolicy, BucketEncryption, ParsedConfig, parse_bucket_encryption};
use crate::error::{DirectoryRule, PolicyError};

/// A bucket as the resolver needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPolicy {
    /// Bucket name.
    pub name: String,
    /// General purpose, directory, or FSx access point.
    pub kind: BucketKind,
    /// The owner's 12-digit account id.
    pub owner_account: String,
    /// The Region (used in directory bucket ARNs).
    pub region: String,
    /// The default encryption set by PutBucketEncryption; `None` = the base level, SSE-S3.
    pub encryption: Option<BucketEncryption>,
    /// Directory buckets only: the one customer managed key the bucket may ever use, fixed by its
    /// first SSE-KMS configuration ([`BucketPolicy::set_encryption`] records it). "Your SSE-KMS
    /// configuration can only support 1 customer managed key per directory bucket for the
    /// lifetime of the bucket."
    pub directory_kms_key: Option<KeyRef>,
}

impl BucketPolicy {
    /// A bucket with no encryption configuration.
    #[must_use]
    pub fn new(name: &str, kind: BucketKind, owner_account: &str, region: &str) -> Self {
        BucketPolicy {
            name: name.to_owned(),
            kind,
            owner_account: owner_account.to_owned(),
            region: region.to_owned(),
            encryption: None,
            directory_kms_key: None,
        }
    }

    /// The bucket ARN: `arn:aws:s3:::NAME`, or for a directory bucket
    /// `arn:aws:s3express:REGION:ACCOUNT:bucket/NAME`.
    #[must_use]
    pub fn arn(&self) -> String {
        match self.kind {
            BucketKind::Directory => format!(
                "arn:aws:s3express:{}:{}:bucket/{}",
                self.region, self.owner_account, self.name
            ),
            _ => crate::context::bucket_arn(&self.name),
        }
    }

    /// Whether the bucket's configuration blocks SSE-C writes.
    #[must_use]
    pub fn blocks_sse_c(&self) -> bool {
        self.encryption
            .as_ref()
            .is_some_and(BucketEncryption::blocks_sse_c)
    }

    /// The key a directory bucket is bound to: the recorded lifetime key, else the configured one.
    pub(crate) fn directory_key(&self) -> Option<&KeyRef> {
        self.directory_kms_key.as_ref().or_else(|| {
            self.encryption
                .as_ref()
                .filter(|e| e.algorithm == SseAlgorithm::AwsKms)
                .and_then(|e| e.kms_key.as_ref())
        })
    }

    /// Installs a configuration accepted by [`put_bucket_encryption`], recording a directory
    /// bucket's lifetime key the first time one is set.
    pub fn set_encryption(&mut self, encryption: BucketEncryption) {
        if self.kind == BucketKind::Directory && self.directory_kms_key.is_none() {
            self.directory_kms_key = encryption.kms_key.clone();
        }
        self.encryption = Some(encryption);
    }
}

/// Whether two references name the same key: equal forms, or a bare id and a key ARN with that
/// id. Key ids are compared without regard to case (they are hex).
#[must_use]
pub fn same_key(a: &KeyRef, b: &KeyRef) -> bool {
    match (a, b) {
        (KeyRef::KeyId(x), KeyRef::KeyId(y)) => x.eq_ignore_ascii_case(y),
        (KeyRef::KeyId(x), KeyRef::KeyArn(arn)) | (KeyRef::KeyArn(arn), KeyRef::KeyId(x)) => {
            arn.name.eq_ignore_ascii_case(x)
        }
        (KeyRef::KeyArn(p), KeyRef::KeyArn(q)) => {
            p.partition == q.partition
                && p.region == q.region
                && p.account == q.account
                && p.name.eq_ignore_ascii_case(&q.name)
        }
        _ => a == b,
    }
}

/// PutBucketEncryption: parses the body and applies the rules of the bucket's kind. The caller
/// then stores the result with [`BucketPolicy::set_encryption`].
///
/// Directory buckets: only `AES256` and `aws:kms`; `aws:kms` needs a customer managed key
/// ("The Amazon Web Services managed key (aws/s3) isn't supported"), named by id or key ARN (no
/// alias), and once set it cannot change ("After you specify a customer managed key for SSE-KMS,
/// you can't override the customer managed key for the bucket's SSE-KMS configuration").
/// FSx access points have no configurable encryption.
///
/// # Errors
/// Everything [`parse_bucket_encryption`] returns; [`PolicyError::UnsupportedAlgorithm`] for an
/// algorithm the kind does not allow; [`PolicyError::DirectoryBucket`];
/// [`PolicyError::ConfigNotSupported`] for FSx.
pub fn put_bucket_encryption(
    bucket: &BucketPolicy,
    xml: &[u8],
    alias_policy: AliasPolicy,
) -> Result<ParsedConfig, PolicyError> {
    if bucket.kind == BucketKind::FsxAccessPoint {
        return Err(PolicyError::ConfigNotSupported);
    }
    let directory = bucket.kind == BucketKind::Directory;
    // On a directory bucket the checks below refuse an alias whatever `alias_policy` says.
    let parsed = parse_bucket_encryption(xml, alias_policy)?;
    let enc = &parsed.encryption;
    if !bucket.kind.allows(enc.algorithm) {
        return Err(PolicyError::UnsupportedAlgorithm);
    }
    if directory && enc.algorithm == SseAlgorithm::AwsKms {
        let key = enc.kms_key.as_ref().ok_or(PolicyError::DirectoryBucket(
            DirectoryRule::ManagedKeyNotSupported,
        ))?;
        if key.is_alias() {
            return Err(PolicyError::DirectoryBucket(
                DirectoryRule::AliasNotSupported,
            ));
        }
        if let Some(fixed) = bucket.directory_key()
            && !same_key(fixed, key)
        {
            return Err(PolicyError::DirectoryBucket(DirectoryRule::KeyMismatch));
        }
    }
    Ok(parsed)
}

/// DeleteBucketEncryption: removes the bucket's configuration, so writes get the base level,
/// SSE-S3, again. A directory bucket keeps its one customer managed key for its lifetime
/// ([`BucketPolicy::directory_kms_key`]): a later SSE-KMS configuration must name it again.
///
/// # Errors
/// [`PolicyError::ConfigNotSupported`] on an FSx access point, whose encryption is the file
/// system's.
pub fn delete_bucket_encryption(bucket: &mut BucketPolicy) -> Result<(), PolicyError> {
    if bucket.kind == BucketKind::FsxAccessPoint {
        return Err(PolicyError::ConfigNotSupported);
    }
    bucket.encryption = None;
    Ok(())
}

/// GetBucketEncryption: the configuration document.
///
/// # Errors
/// [`PolicyError::ConfigNotFound`] (`ServerSideEncryptionConfigurationNotFoundError`, 404) when
/// the bucket has no configuration.
pub fn get_bucket_encryption(bucket: &BucketPolicy) -> Result<String, PolicyError> {
    bucket
        .encryption
        .as_ref()
        .map(BucketEncryption::to_xml)
        .ok_or(PolicyError::ConfigNotFound)
}

#[cfg(test)]
mod delete_tests {
    use super::*;

    #[test]
    fn delete_returns_a_bucket_to_sse_s3_and_refuses_fsx() {
        let mut b = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
        let xml = b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
        let parsed = put_bucket_encryption(&b, xml, AliasPolicy::Warn);
        assert!(parsed.is_ok());
        if let Ok(p) = parsed {
            b.set_encryption(p.encryption);
        }
        assert!(get_bucket_encryption(&b).is_ok());
        assert_eq!(delete_bucket_encryption(&mut b), Ok(()));
        assert_eq!(get_bucket_encryption(&b), Err(PolicyError::ConfigNotFound));
        let mut f = BucketPolicy::new("f", BucketKind::FsxAccessPoint, "000000000000", "us-east-1");
        assert_eq!(
            delete_bucket_encryption(&mut f),
            Err(PolicyError::ConfigNotSupported)
        );
    }
}
