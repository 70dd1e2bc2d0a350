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

use s3seal::kms::{LocalKms, LocalKmsConfig};
use s3seal::{EngineBuilder, EngineConfig};
use s3seal_store::Store;

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
        let config = LocalKmsConfig::new(home)
            .require_existing(store.has_objects().map_err(|e| err(&e))?)
            .accept_rollback(options.accept_keystore_rollback);
        let kms = Arc::new(LocalKms::open(config).map_err(|e| err(&e))?);
        let account = kms.requester().account().to_owned();
        let mut b = EngineBuilder::from_local(kms).config(EngineConfig {
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
