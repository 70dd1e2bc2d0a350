//! The CLI's one error type and how it is printed: `error: CODE: message`.

use s3seal::EngineError;
use s3seal::kms::KmsError;
use s3seal::policy::PolicyError;

/// Why a command failed. Printed as one line; never carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// An S3 error: its code and message, as S3 would answer.
    #[error("{code}: {message}")]
    S3 {
        /// The S3 error code, e.g. `InvalidArgument`.
        code: &'static str,
        /// The message.
        message: String,
    },
    /// Bad command-line input that S3 has no code for.
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sealed file or stored object is malformed.
    #[error("{0}")]
    Format(String),
    /// The demo or a check found a mismatch.
    #[error("{0}")]
    Check(String),
}

impl CliError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.to_string();
        move |source| CliError::Io { what, source }
    }

    /// The S3 code, if the error has one.
    #[must_use]
    pub fn code(&self) -> Option<&'static str> {
        match self {
            CliError::S3 { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        if let EngineError::Io(source) | EngineError::IncompleteBody(source) = &e {
            // A local read or write failed: say so (with the OS's words), not "IncompleteBody".
            return CliError::Io {
                what: "I/O".to_owned(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            };
        }
        let s3 = e.s3();
        // 4xx: S3's own message. 5xx: S3 only says "internal error"; the engine's description
        // (e.g. "stored object failed authentication") is what a local user needs, and it is
        // never secret.
        let message = if s3.status.is_server_error() {
            e.to_string()
        } else {
            s3.message.to_owned()
        };
        CliError::S3 {
            code: s3.code,
            message,
        }
    }
}

impl From<PolicyError> for CliError {
    fn from(e: PolicyError) -> Self {
        let s3 = e.s3();
        let message = match &e {
            PolicyError::MalformedXml(detail) => format!("{} ({detail})", s3.message),
            _ => s3.message.to_owned(),
        };
        CliError::S3 {
            code: s3.code,
            message,
        }
    }
}

impl From<KmsError> for CliError {
    fn from(e: KmsError) -> Self {
        let code = match &e {
            KmsError::NotFound(_) | KmsError::InvalidKeyId(_) => "KMS.NotFoundException",
            KmsError::Disabled(_) => "KMS.DisabledException",
            KmsError::PendingDeletion(_) | KmsError::InvalidState(_) => {
                "KMS.KMSInvalidStateException"
            }
            KmsError::InvalidAlias(_) => "KMS.InvalidAliasNameException",
            KmsError::AccessDenied(_) => "AccessDenied",
            KmsError::InvalidArgument(_) => "KMS.ValidationException",
            _ => "KMS.KMSInternalException",
        };
        CliError::S3 {
            code,
            message: e.to_string(),
        }
    }
}

/// The CLI's result type.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
