//! The gateway's settings: where it listens, whom it lets in (SigV4 credentials), TLS.
//!
//! Credentials come from a file in the AWS shared-credentials format (`[profile]`,
//! `aws_access_key_id`, `aws_secret_access_key`; it must not be readable by group or others)
//! or from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, as S3 clients read
//! them). There is no built-in default: without credentials the gateway does not start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::GatewayError;

/// Largest credentials file read.
const MAX_CREDENTIALS_FILE: u64 = 64 << 10;

/// The SigV4 credentials the gateway accepts. The secret is wiped on drop and never printed.
#[derive(Clone)]
pub struct Credentials {
    access_key: String,
    secret_key: Zeroizing<String>,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Credentials from an access key id and a secret (at least 16 characters: a guessable
    /// secret is no authentication).
    ///
    /// # Errors
    /// [`GatewayError::Config`] for an empty id or a short secret.
    pub fn new(access_key: &str, secret_key: &str) -> Result<Self, GatewayError> {
        if access_key.trim().is_empty() {
            return Err(GatewayError::Config(
                "the access key id is empty".to_owned(),
            ));
        }
        if secret_key.len() < 16 {
            return Err(GatewayError::Config(
                "the secret access key is shorter than 16 characters".to_owned(),
            ));
        }
        Ok(Credentials {
            access_key: access_key.trim().to_owned(),
            secret_key: Zeroizing::new(secret_key.to_owned()),
        })
    }

    /// The access key id.
    #[must_use]
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub(crate) fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, if both are set.
    ///
    /// # Errors
    /// As [`Credentials::new`].
    pub fn from_env() -> Result<Option<Self>, GatewayError> {
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY").map(Zeroizing::new),
        ) {
            (Ok(id), Ok(secret)) => Self::new(&id, &secret).map(Some),
            _ => Ok(None),
        }
    }

    /// Reads `profile` from an AWS shared-credentials file.
    ///
    /// # Errors
    /// [`GatewayError::Config`]: unreadable, readable by group or others, too large, or
    /// without the profile or its two keys.
    pub fn from_file(path: &Path, profile: &str) -> Result<Self, GatewayError> {
        let err = |why: String| GatewayError::Config(format!("{}: {why}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a file".to_owned()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(err(
                    "holds a secret but is readable by group or others (chmod 600 it)".to_owned(),
                ));
            }
        }
        if meta.len() > MAX_CREDENTIALS_FILE {
            return Err(err(format!("larger than {MAX_CREDENTIALS_FILE} bytes")));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        let (mut id, mut secret) = (None, None::<Zeroizing<String>>);
        let mut in_profile = false;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = name.trim();
                in_profile = name == profile || name.strip_prefix("profile ") == Some(profile);
                continue;
            }
            if !in_profile {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                match k.trim() {
                    "aws_access_key_id" => id = Some(v.trim().to_owned()),
                    "aws_secret_access_key" => secret = Some(Zeroizing::new(v.trim().to_owned())),
                    _ => {}
                }
            }
        }
        match (id, secret) {
            (Some(id), Some(secret)) => Self::new(&id, &secret).map_err(|e| err(e.to_string())),
            _ => Err(err(format!(
                "no profile [{profile}] with aws_access_key_id and aws_secret_access_key"
            ))),
        }
    }
}

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// How the gateway serves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (default 127.0.0.1:9000: loopback only).
    pub listen: SocketAddr,
    /// The credentials every request must be signed with.
    pub credentials: Credentials,
    /// TLS; plain HTTP without.
    pub tls: Option<TlsFiles>,
}

/// The default listening address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_file_profiles_permissions_and_redaction() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("credentials");
        std::fs::write(
            &p,
            "[default]\naws_access_key_id = AK1\naws_secret_access_key = 0123456789abcdef0\n\
             [profile other]\naws_access_key_id=AK2\naws_secret_access_key=fedcba98765432100\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
            let e = Credentials::from_file(&p, "default")
                .err()
                .map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("readable by group or others")));
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let c = Credentials::from_file(&p, "default").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.access_key(), "AK1");
        assert!(!format!("{c:?}").contains("0123456789abcdef0"));
        let c = Credentials::from_file(&p, "other").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.access_key(), "AK2");
        assert!(Credentials::from_file(&p, "missing").is_err());
        assert!(Credentials::new("AK", "short").is_err());
    }
}
