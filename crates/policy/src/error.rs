//! Policy errors and their one mapping to S3 error code, HTTP status and message.
//!
//! Every variant is a refusal of a request (or of a bucket configuration) before anything is
//! written (4xx), except [`PolicyError::Internal`]. [`PolicyError::s3`] is the only place that turns a variant into what S3 would answer;
//! messages are copied verbatim from the S3 behaviour reference where it gives one. No variant
//! carries secret material: SSE-C keys never reach an error.

use http::StatusCode;

/// What S3 answers for a refused request: error code, HTTP status and message.
///
/// For `HEAD` requests S3 sends the status only, without an XML body; the engine drops the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Error {
    /// The S3 `<Code>`, e.g. `InvalidArgument`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
    /// The S3 `<Message>`.
    pub message: &'static str,
}

/// Which rule of a directory bucket a request or configuration broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryRule {
    /// SSE-KMS needs a customer managed key; the AWS managed key `aws/s3` is not supported.
    ManagedKeyNotSupported,
    /// Aliases are not supported; name the key by id or key ARN.
    AliasNotSupported,
    /// The request or new configuration names a key other than the bucket's one key.
    KeyMismatch,
    /// The encryption context must be the bucket ARN and nothing more.
    ContextNotBucketArn,
}

/// Why a request or a bucket encryption configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `x-amz-server-side-encryption` has a value that is not one of S3's (e.g. `aes:kms`):
    /// S3 answers `InvalidArgument`.
    #[error("unrecognized server-side encryption algorithm")]
    UnrecognizedAlgorithm,
    /// A recognized algorithm that this kind of bucket does not support (DSSE-KMS or SSE-C on
    /// a directory bucket, `aws:fsx` on a general purpose bucket, …): `InvalidRequest`.
    #[error("unsupported server-side encryption algorithm")]
    UnsupportedAlgorithm,
    /// A KMS key id, encryption context or bucket-key header without `aws:kms`/`aws:kms:dsse`.
    #[error("KMS header without x-amz-server-side-encryption: aws:kms")]
    KmsHeaderWithoutKms,
    /// SSE-C headers together with a managed-encryption header.
    #[error("SSE-C is incompatible with the encryption method specified")]
    SseCIncompatible,
    /// SSE-C key or MD5 header without the SSE-C algorithm header.
    #[error("SSE-C request without a customer algorithm")]
    SseCMissingAlgorithm,
    /// SSE-C algorithm other than `AES256`.
    #[error("SSE-C algorithm is not AES256")]
    SseCInvalidAlgorithm,
    /// SSE-C algorithm without the key header.
    #[error("SSE-C request without a customer key")]
    SseCMissingKey,
    /// SSE-C key that is not base64 of exactly 32 bytes.
    #[error("SSE-C key is not base64 of 32 bytes")]
    SseCInvalidKey,
    /// SSE-C key without the key-MD5 header.
    #[error("SSE-C request without the key MD5")]
    SseCMissingKeyMd5,
    /// SSE-C key-MD5 header that is not the MD5 of the key.
    #[error("SSE-C key MD5 does not match the key")]
    SseCKeyMd5Mismatch,
    /// SSE-C headers on a connection that is not TLS.
    #[error("SSE-C over an insecure connection")]
    SseCInsecureTransport,
    /// GET/HEAD (or a copy source) of an SSE-C object without its key.
    #[error("SSE-C object read without its key")]
    SseCKeyRequired,
    /// UploadPart/UploadPartCopy of an SSE-C multipart upload without the key.
    #[error("part of an SSE-C upload without its key")]
    SseCPartKeyRequired,
    /// The SSE-C key does not match the object's (or upload's) key.
    #[error("SSE-C key does not match")]
    SseCKeyMismatch,
    /// SSE-C headers for an object or upload that is not SSE-C.
    #[error("SSE-C parameters are not applicable to this object")]
    EncryptionNotApplicable,
    /// Managed SSE headers on an operation that does not take them (GET, HEAD, UploadPart, …).
    #[error("x-amz-server-side-encryption header not supported for this operation")]
    HeaderNotSupported,
    /// A KMS key id that is malformed (and so cannot exist), or that the KMS does not know.
    #[error("invalid or unknown KMS key id")]
    KmsKeyNotFound,
    /// The KMS key exists but is disabled (reported by the engine after a KMS call).
    #[error("KMS key is disabled")]
    KmsKeyDisabled,
    /// `x-amz-server-side-encryption-context` is not base64 of a UTF-8 JSON object of strings.
    #[error("malformed encryption context")]
    InvalidContext,
    /// The encryption context sets a reserved `aws:` key (or `aws:s3:arn` to another resource).
    #[error("encryption context uses a reserved key")]
    ReservedContextKey,
    /// A header value that is not visible ASCII, is repeated, or is not `true`/`false` where a
    /// boolean is expected.
    #[error("invalid value for header {0}")]
    InvalidHeaderValue(&'static str),
    /// S3 Bucket Keys requested with DSSE-KMS, which does not support them.
    #[error("bucket keys are not supported with DSSE-KMS")]
    BucketKeyWithDsse,
    /// A KMS alias where the caller's options refuse aliases.
    #[error("KMS aliases are refused by configuration")]
    AliasRefused,
    /// A directory-bucket rule was broken.
    #[error("directory bucket encryption rule broken: {0:?}")]
    DirectoryBucket(DirectoryRule),
    /// An SSE-C write to a bucket whose configuration blocks SSE-C.
    #[error("SSE-C writes are blocked on this bucket")]
    SseCBlocked,
    /// The encryption configuration XML is malformed or does not match the schema.
    #[error("malformed encryption configuration XML: {0}")]
    MalformedXml(String),
    /// The encryption configuration XML is larger than [`crate::config::MAX_CONFIG_XML_LEN`].
    #[error("encryption configuration XML too large")]
    XmlTooLarge,
    /// `KMSMasterKeyID` with an `SSEAlgorithm` other than `aws:kms`/`aws:kms:dsse`.
    #[error("KMSMasterKeyID without aws:kms or aws:kms:dsse")]
    KmsKeyIdNotApplicable,
    /// PutBucketEncryption on a bucket kind that has no configurable encryption (FSx).
    #[error("bucket encryption cannot be configured on this bucket")]
    ConfigNotSupported,
    /// GetBucketEncryption on a bucket without an encryption configuration.
    #[error("server side encryption configuration not found")]
    ConfigNotFound,
    /// State the caller passed in from storage is unusable: a stored key ARN that does not
    /// parse or cannot be a header value. Never caused by request input (a 500).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

const MSG_MALFORMED_XML: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";
const MSG_ACCESS_DENIED: &str = "Access Denied";
const MSG_UNSUPPORTED: &str = "The encryption method specified is not supported";

impl PolicyError {
    /// The S3 error code, HTTP status and message for this refusal — the one place they are
    /// decided.
    #[must_use]
    pub fn s3(&self) -> S3Error {
        use PolicyError as E;
        let (code, status, message) = match self {
            E::UnrecognizedAlgorithm => {
                ("InvalidArgument", StatusCode::BAD_REQUEST, MSG_UNSUPPORTED)
            }
            E::UnsupportedAlgorithm => ("InvalidRequest", StatusCode::BAD_REQUEST, MSG_UNSUPPORTED),
            E::KmsHeaderWithoutKms => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
            ),
            E::SseCIncompatible => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            ),
            E::SseCMissingAlgorithm => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
            ),
            E::SseCInvalidAlgorithm => (
                "InvalidEncryptionAlgorithmError",
                StatusCode::BAD_REQUEST,
                "The encryption request you specified is not valid. The valid value is AES256.",
            ),
            E::SseCMissingKey => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
            ),
            E::SseCInvalidKey => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "The secret key was invalid for the specified algorithm.",
            ),
            E::SseCMissingKeyMd5 => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
            ),
            E::SseCKeyMd5Mismatch => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "The calculated MD5 hash of the key did not match the hash that was provided.",
            ),
            E::SseCInsecureTransport => (
                "InvalidRequest",
                StatusCode::BAD_REQUEST,
                "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
            ),
            E::SseCKeyRequired => (
                "InvalidRequest",
                StatusCode::BAD_REQUEST,
                "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
            ),
            E::SseCPartKeyRequired => (
                "InvalidRequest",
                StatusCode::BAD_REQUEST,
                "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.",
            ),
            // ceph/s3-tests expect 400, MinIO answers 403. We answer 403: the request is well
            // formed, the caller failed to prove possession of the object's key — an
            // authorization failure, and 403 keeps clients from "fixing" the request and retrying.
            E::SseCKeyMismatch => ("AccessDenied", StatusCode::FORBIDDEN, MSG_ACCESS_DENIED),
            E::EncryptionNotApplicable => (
                "InvalidRequest",
                StatusCode::BAD_REQUEST,
                "The encryption parameters are not applicable to this object.",
            ),
            E::HeaderNotSupported => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "x-amz-server-side-encryption header is not supported for this operation.",
            ),
            E::KmsKeyNotFound => (
                "KMS.NotFoundException",
                StatusCode::BAD_REQUEST,
                "Invalid keyId",
            ),
            E::KmsKeyDisabled => (
                "KMS.DisabledException",
                StatusCode::BAD_REQUEST,
                "The KMS key is disabled.",
            ),
            E::InvalidContext => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map",
            ),
            E::ReservedContextKey => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "The encryption context may not set reserved aws: keys other than aws:s3:arn for this resource.",
            ),
            E::InvalidHeaderValue(_) => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "A server-side encryption header has an invalid value.",
            ),
            E::BucketKeyWithDsse => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "S3 Bucket Keys are not supported for DSSE-KMS.",
            ),
            E::AliasRefused => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "KMS key aliases are not accepted here; specify a fully qualified KMS key ARN.",
            ),
            E::DirectoryBucket(rule) => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                match rule {
                    DirectoryRule::ManagedKeyNotSupported => {
                        "Directory buckets do not support the AWS managed key aws/s3; specify a customer managed key."
                    }
                    DirectoryRule::AliasNotSupported => {
                        "Directory buckets do not support KMS key aliases; specify a key ID or key ARN."
                    }
                    DirectoryRule::KeyMismatch => {
                        "The KMS key must be the customer managed key of the directory bucket's default encryption configuration."
                    }
                    DirectoryRule::ContextNotBucketArn => {
                        "The encryption context of a directory bucket must be the bucket ARN."
                    }
                },
            ),
            E::SseCBlocked => ("AccessDenied", StatusCode::FORBIDDEN, MSG_ACCESS_DENIED),
            E::MalformedXml(_) => ("MalformedXML", StatusCode::BAD_REQUEST, MSG_MALFORMED_XML),
            E::XmlTooLarge => (
                "MaxMessageLengthExceeded",
                StatusCode::BAD_REQUEST,
                "Your request was too big.",
            ),
            E::KmsKeyIdNotApplicable => (
                "InvalidArgument",
                StatusCode::BAD_REQUEST,
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            ),
            E::ConfigNotSupported => (
                "InvalidRequest",
                StatusCode::BAD_REQUEST,
                "Bucket encryption cannot be configured through S3 access points for Amazon FSx.",
            ),
            E::ConfigNotFound => (
                "ServerSideEncryptionConfigurationNotFoundError",
                StatusCode::NOT_FOUND,
                "The server side encryption configuration was not found",
            ),
            E::Internal(_) => (
                "InternalError",
                StatusCode::INTERNAL_SERVER_ERROR,
                "We encountered an internal error. Please try again.",
            ),
        };
        S3Error {
            code,
            status,
            message,
        }
    }
}
