//! Command-line flags → the S3 request headers the engine reads. The CLI decides nothing about
//! encryption itself: every rule and refusal comes from the engine and the policy crate.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest, Md5};
use s3seal::policy::headers::names;
use zeroize::Zeroizing;

use crate::error::{CliError, Result};
use crate::fsio::read_at_most;
use crate::limits::MAX_KEY_FILE;

/// The encryption flags of `put`, `copy` and `encrypt`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EncryptionFlags {
    /// `x-amz-server-side-encryption`: AES256, aws:kms or aws:kms:dsse (default: the bucket's).
    #[arg(long, value_name = "ALG")]
    pub sse: Option<String>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`: key id, key ARN, alias/NAME or alias ARN.
    #[arg(long, value_name = "ID")]
    pub kms_key: Option<String>,
    /// `x-amz-server-side-encryption-context`: a JSON object of strings (sent base64-encoded).
    #[arg(long, value_name = "JSON")]
    pub context: Option<String>,
    /// `x-amz-server-side-encryption-bucket-key-enabled` (`--bucket-key` = true; or
    /// `--bucket-key=false` to override a bucket default).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub bucket_key: Option<bool>,
    /// SSE-C: a file holding the raw 32-byte customer key.
    #[arg(long, value_name = "FILE")]
    pub sse_c_key_file: Option<PathBuf>,
}

fn insert(h: &mut HeaderMap, name: &'static str, value: &str) -> Result<()> {
    let v = HeaderValue::from_str(value)
        .map_err(|_| CliError::Usage(format!("{name}: value is not a valid header value")))?;
    h.insert(HeaderName::from_static(name), v);
    Ok(())
}

/// Adds the SSE-C triple for the key in `path`: algorithm AES256, base64 key, base64 MD5.
/// A key of the wrong length is passed on as is, for the policy to refuse with S3's error.
///
/// # Errors
/// The file cannot be read or holds more than [`MAX_KEY_FILE`] bytes (read bounded: a device
/// such as `/dev/zero` is refused after 1 KiB).
pub fn add_customer_key(h: &mut HeaderMap, path: &Path, copy_source: bool) -> Result<()> {
    let mut key = Zeroizing::new(Vec::new());
    if !read_at_most(path, MAX_KEY_FILE, &mut key).map_err(|e| match e {
        CliError::Io { source, .. } => CliError::Io {
            what: format!("read SSE-C key file {}", path.display()),
            source,
        },
        other => other,
    })? {
        return Err(CliError::Usage(format!(
            "SSE-C key file {} is not a 32-byte key (more than {MAX_KEY_FILE} bytes)",
            path.display()
        )));
    }
    let md5 = B64.encode(Md5::digest(key.as_slice()));
    let b64 = Zeroizing::new(B64.encode(key.as_slice()));
    let [alg, k, m] = if copy_source {
        names::COPY_SSE_C
    } else {
        names::SSE_C
    };
    insert(h, alg, "AES256")?;
    insert(h, k, &b64)?;
    insert(h, m, &md5)?;
    Ok(())
}

impl EncryptionFlags {
    /// The request headers these flags stand for.
    ///
    /// # Errors
    /// A value that is not a valid header value; an unreadable key file.
    pub fn headers(&self) -> Result<HeaderMap> {
        let mut h = HeaderMap::new();
        self.add_to(&mut h)?;
        Ok(h)
    }

    /// Adds the headers to `h`.
    ///
    /// # Errors
    /// As [`EncryptionFlags::headers`].
    pub fn add_to(&self, h: &mut HeaderMap) -> Result<()> {
        if let Some(sse) = &self.sse {
            insert(h, names::SSE, sse)?;
        }
        if let Some(k) = &self.kms_key {
            insert(h, names::KMS_KEY_ID, k)?;
        }
        if let Some(c) = &self.context {
            insert(h, names::CONTEXT, &B64.encode(c.as_bytes()))?;
        }
        if let Some(b) = self.bucket_key {
            insert(h, names::BUCKET_KEY, if b { "true" } else { "false" })?;
        }
        if let Some(p) = &self.sse_c_key_file {
            add_customer_key(h, p, false)?;
        }
        Ok(())
    }
}

/// The headers of a read: only the SSE-C triple, if a key file is given.
///
/// # Errors
/// As [`add_customer_key`].
pub fn read_headers(key_file: Option<&Path>) -> Result<HeaderMap> {
    let mut h = HeaderMap::new();
    if let Some(p) = key_file {
        add_customer_key(&mut h, p, false)?;
    }
    Ok(h)
}
