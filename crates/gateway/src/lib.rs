#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bridge;
pub mod cli;
mod config;
mod encryption;
mod error;
mod listing;
mod s3;
mod server;

use std::path::Path;
use std::sync::Arc;

use s3seal::kms::{Kms, KmsKind, KmsSettings, LocalKms, LocalKmsConfig};
use s3seal::{EngineBuilder, EngineConfig};
use s3seal_store::Store;

/// Entry points for the fuzz targets (feature `fuzzing`): the request handler without a socket
/// and without SigV4, and the parsers the gateway owns. Never serve what this builds.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use std::ops::Range;

    use crate::s3::{Gateway, Transport};

    /// The s3s service over `gateway` as [`crate::start`] builds it (routing, the bucket
    /// encryption route, aws-chunked bodies) but with no authentication provider: every
    /// request is anonymous and allowed, so a fuzzer reaches every operation.
    #[must_use]
    pub fn unauthenticated_service(gateway: &Gateway) -> s3s::service::S3Service {
        crate::server::unauthenticated_service(gateway)
    }

    /// Marks `req` as received over TLS (`secure`) or plain HTTP, as the listener does (SSE-C
    /// needs TLS).
    pub fn mark_transport<B>(req: &mut http::Request<B>, secure: bool) {
        req.extensions_mut().insert(Transport { secure });
    }

    /// The gateway's parser of `x-amz-copy-source-range` (`bytes=first-last`, both ends
    /// required) against a source of `len` bytes.
    ///
    /// # Errors
    /// The S3 error the gateway answers: `InvalidArgument` (400) for a malformed value,
    /// `InvalidRange` (416) for an unsatisfiable one.
    pub fn copy_source_range(value: &str, len: u64) -> Result<Range<u64>, s3s::S3Error> {
        crate::s3::copy_range(value, len).map_err(|f| f.0)
    }
}

pub use config::{Credentials, DEFAULT_LISTEN, ServerConfig, TlsFiles};
pub use s3::Gateway;
pub use server::{Running, start};

/// The Region of every bucket the gateway creates.
pub const REGION: &str = "us-east-1";

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A setting is missing or wrong (credentials, TLS files, addresses).
    #[error("{0}")]
    Config(String),
    /// The home's store or keystore cannot be opened.
    #[error("{0}")]
    Home(String),
    /// A socket or file operation failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

/// How to open a home directory for serving.
#[derive(Clone, Debug, Default)]
pub struct HomeOptions {
    /// Threads of the engine's rayon pool (default: one per core).
    pub threads: Option<usize>,
    /// Accept a keystore older than the newest one written (a backup restored on purpose).
    pub accept_keystore_rollback: bool,
    /// Serve SSE-C over plain HTTP (loopback tests only; S3 refuses it).
    pub allow_insecure_sse_c: bool,
    /// The KMS (`local`: the embedded keystore in the home, or `aws`: the AWS KMS API, with
    /// the `aws` feature). `None`: the home's `kms.json` if present (as the `s3seal` command
    /// reads it), else local.
    pub kms: Option<KmsSettings>,
}

/// The KMS settings file in a home directory (shared with the `s3seal` command).
pub const KMS_SETTINGS_FILE: &str = "kms.json";

/// The KMS settings of `home`: `HOME/kms.json` if present, else the embedded keystore.
///
/// # Errors
/// [`GatewayError::Config`] for an unreadable or malformed file.
pub fn kms_settings(home: &Path) -> Result<KmsSettings, GatewayError> {
    let path = home.join(KMS_SETTINGS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(json) => KmsSettings::from_json(&json)
            .map_err(|e| GatewayError::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KmsSettings::default()),
        Err(e) => Err(GatewayError::Io(format!("read {}", path.display()), e)),
    }
}

impl Gateway {
    /// A gateway over the home directory `home` (the `s3seal` command's layout: the embedded
    /// KMS keystore beside the store), created on first use.
    ///
    /// # Errors
    /// [`GatewayError::Home`] if the store or keystore cannot be opened (a missing or
    /// rolled-back keystore in a home holding objects is refused, as the command does).
    pub fn open(home: &Path, options: &HomeOptions) -> Result<Self, GatewayError> {
        let err = |e: &dyn std::fmt::Display| GatewayError::Home(e.to_string());
        let store = Store::open(home).map_err(|e| err(&e))?;
        let settings = match &options.kms {
            Some(s) => s.clone(),
            None => kms_settings(home)?,
        };
        let (builder, account) = match settings.kind {
            KmsKind::Local => {
                let config = LocalKmsConfig::new(home)
                    .require_existing(store.has_objects().map_err(|e| err(&e))?)
                    .accept_rollback(options.accept_keystore_rollback);
                let kms = Arc::new(LocalKms::open(config).map_err(|e| err(&e))?);
                let account = kms.requester().account().to_owned();
                (EngineBuilder::from_local(kms), account)
            }
            _ => {
                let kms: Arc<dyn Kms> = settings.open_remote().map_err(|e| err(&e))?;
                let account = settings.remote_account(kms.as_ref()).map_err(|e| err(&e))?;
                (EngineBuilder::new(kms), account)
            }
        };
        let mut b = builder.config(EngineConfig {
            allow_insecure_sse_c: options.allow_insecure_sse_c,
            ..EngineConfig::default()
        });
        if let Some(n) = options.threads {
            b = b.threads(n);
        }
        let engine = b.build().map_err(|e| err(&e))?;
        Ok(Gateway::new(
            Arc::new(engine),
            Arc::new(store),
            account,
            REGION.to_owned(),
        ))
    }
}
