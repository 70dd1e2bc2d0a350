//! The server-side encryption algorithms S3 names, and the kinds of bucket that restrict them.

use core::fmt;
use core::str::FromStr;

use crate::error::PolicyError;

/// A value of `x-amz-server-side-encryption` / `SSEAlgorithm`.
///
/// > Valid Values: AES256 | aws:kms | aws:kms:dsse — `ServerSideEncryptionByDefault`
///
/// `aws:fsx` is only valid (and only reported) through S3 access points for Amazon FSx.
/// Parsing is exact and case-sensitive, as in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SseAlgorithm {
    /// `AES256`: SSE-S3, keys managed by the store.
    Aes256,
    /// `aws:kms`: SSE-KMS.
    AwsKms,
    /// `aws:kms:dsse`: dual-layer SSE-KMS.
    AwsKmsDsse,
    /// `aws:fsx`: FSx access points; the file system encrypts.
    AwsFsx,
}

impl SseAlgorithm {
    /// The wire form, e.g. `aws:kms`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SseAlgorithm::Aes256 => "AES256",
            SseAlgorithm::AwsKms => "aws:kms",
            SseAlgorithm::AwsKmsDsse => "aws:kms:dsse",
            SseAlgorithm::AwsFsx => "aws:fsx",
        }
    }

    /// Parses the wire form.
    ///
    /// # Errors
    /// [`PolicyError::UnrecognizedAlgorithm`] for anything else: "Unrecognized or unsupported
    /// values won't write a destination object and will receive a 400 Bad Request response."
    pub fn parse(s: &str) -> Result<Self, PolicyError> {
        match s {
            "AES256" => Ok(SseAlgorithm::Aes256),
            "aws:kms" => Ok(SseAlgorithm::AwsKms),
            "aws:kms:dsse" => Ok(SseAlgorithm::AwsKmsDsse),
            "aws:fsx" => Ok(SseAlgorithm::AwsFsx),
            _ => Err(PolicyError::UnrecognizedAlgorithm),
        }
    }

    /// Whether the algorithm uses a KMS key (`aws:kms` or `aws:kms:dsse`).
    #[must_use]
    pub fn is_kms(self) -> bool {
        matches!(self, SseAlgorithm::AwsKms | SseAlgorithm::AwsKmsDsse)
    }
}

impl FromStr for SseAlgorithm {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SseAlgorithm::parse(s)
    }
}

impl fmt::Display for SseAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of bucket a request addresses; each allows a different set of algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKind {
    /// General purpose bucket: SSE-S3, SSE-KMS, DSSE-KMS, SSE-C.
    GeneralPurpose,
    /// Directory bucket: "only two supported options … SSE-S3 (AES256) and SSE-KMS (aws:kms)".
    Directory,
    /// S3 access point for Amazon FSx: "the only valid server side encryption option is aws:fsx".
    FsxAccessPoint,
}

impl BucketKind {
    /// Whether `alg` may be requested for (or configured on) this kind of bucket.
    #[must_use]
    pub fn allows(self, alg: SseAlgorithm) -> bool {
        match self {
            BucketKind::GeneralPurpose => alg != SseAlgorithm::AwsFsx,
            BucketKind::Directory => matches!(alg, SseAlgorithm::Aes256 | SseAlgorithm::AwsKms),
            BucketKind::FsxAccessPoint => alg == SseAlgorithm::AwsFsx,
        }
    }

    /// Whether SSE-C is available (general purpose buckets only).
    #[must_use]
    pub fn allows_sse_c(self) -> bool {
        self == BucketKind::GeneralPurpose
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case_sensitivity() {
        for a in [
            SseAlgorithm::Aes256,
            SseAlgorithm::AwsKms,
            SseAlgorithm::AwsKmsDsse,
            SseAlgorithm::AwsFsx,
        ] {
            assert_eq!(SseAlgorithm::parse(a.as_str()), Ok(a));
            assert_eq!(a.to_string().parse::<SseAlgorithm>(), Ok(a));
        }
        for bad in ["aes256", "AWS:KMS", "", " AES256", "aws:kms:", "SSE-C"] {
            assert_eq!(
                SseAlgorithm::parse(bad),
                Err(PolicyError::UnrecognizedAlgorithm)
            );
        }
    }
}
