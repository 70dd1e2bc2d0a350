//! The CLI's one error type and how it is printed: `error: CODE: message`.

use std::path::Path;

use s3seal::EngineError;
use s3seal::kms::KmsError;
use s3seal::policy::PolicyError;
use s3seal_policy::NameError;

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
        move |source| match find_write_failed(&source) {
            // A tagged output error names its output itself (`write stdout: …`).
            Some(w) => CliError::Io {
                what: w.what.clone(),
                source: std::io::Error::new(w.source.kind(), w.source.to_string()),
            },
            None => CliError::Io { what, source },
        }
    }

    /// What `err`, raised while reading the stored object `bucket/key` whose file is `path`,
    /// means to a local user. Stored data that fails its checks (authentication, a malformed
    /// envelope, an envelope of another object, a wrong length) is a server's `InternalError`,
    /// and the message says which object is corrupt and where:
    /// `InternalError: stored object B/K is corrupt (PATH): stored object failed authentication`.
    /// Any other error converts as usual.
    #[must_use]
    pub fn corrupt_object(bucket: &str, key: &str, path: &Path, err: EngineError) -> CliError {
        let stored = matches!(
            err,
            EngineError::Integrity
                | EngineError::Envelope(_)
                | EngineError::ObjectMoved
                | EngineError::LengthMismatch
        );
        if !stored {
            return CliError::from(err);
        }
        CliError::S3 {
            code: err.s3().code,
            message: format!(
                "stored object {bucket}/{key} is corrupt ({}): {err}",
                path.display()
            ),
        }
    }

    /// Whether the error is a write to a closed pipe (the reader went away): reported quietly.
    #[must_use]
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
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
            // A write to the output failed: say which (`write stdout: …`).
            if let Some(w) = find_write_failed(source) {
                return CliError::Io {
                    what: w.what.clone(),
                    source: std::io::Error::new(w.source.kind(), w.source.to_string()),
                };
            }
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

impl From<NameError> for CliError {
    fn from(e: NameError) -> Self {
        let s3 = e.s3();
        CliError::S3 {
            code: s3.code,
            message: format!("{} ({e})", s3.message),
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
            KmsError::Throttled => "KMS.ThrottlingException",
            KmsError::Unavailable => "ServiceUnavailable",
            _ => "KMS.KMSInternalException",
        };
        CliError::S3 {
            code,
            message: e.to_string(),
        }
    }
}

/// A failed write to an output, tagged (by `fsio::Output::writer`) with what was being written,
/// e.g. `write stdout`. It travels inside an [`std::io::Error`] of the same kind through the
/// engine, so `From<EngineError>` can still name the output.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct WriteFailed {
    /// What was being written, with the path.
    pub what: String,
    /// The writer's error.
    pub source: std::io::Error,
}

/// The [`WriteFailed`] inside an I/O error, through any wrapping.
fn find_write_failed(e: &std::io::Error) -> Option<&WriteFailed> {
    let inner = e.get_ref()?;
    if let Some(w) = inner.downcast_ref::<WriteFailed>() {
        return Some(w);
    }
    if let Some(io) = inner.downcast_ref::<std::io::Error>() {
        return find_write_failed(io);
    }
    inner
        .downcast_ref::<std::sync::Arc<std::io::Error>>()
        .and_then(|a| find_write_failed(a))
}

/// [`CliError::corrupt_object`] as a method on an engine result: what `objects.rs` calls where
/// it reads a stored object, e.g. `engine.head_object(..).context_object(bucket, key, &path)?`.
pub trait ObjectContext<T> {
    /// Converts the error, naming the stored object `bucket/key` (file `path`) if its data is
    /// corrupt.
    ///
    /// # Errors
    /// The converted error.
    fn context_object(self, bucket: &str, key: &str, path: &Path) -> Result<T>;
}

impl<T, E: Into<EngineError>> ObjectContext<T> for std::result::Result<T, E> {
    fn context_object(self, bucket: &str, key: &str, path: &Path) -> Result<T> {
        self.map_err(|e| CliError::corrupt_object(bucket, key, path, e.into()))
    }
}

/// The CLI's result type.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
