//! The command line of `s3seal-gateway` and `s3seal serve` (one set of flags for both).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::{Credentials, DEFAULT_LISTEN, ServerConfig, TlsFiles};
use crate::{Gateway, GatewayError, HomeOptions};

/// Serving flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; give 0.0.0.0:PORT to serve other hosts).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Credentials file (AWS shared-credentials format, mode 600); default: the environment's
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Profile to read from --credentials.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "credentials"
    )]
    pub profile: String,
    /// TLS certificate chain (PEM); serve HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept SSE-C over plain HTTP (S3 refuses it; for loopback tests only).
    #[arg(long)]
    pub allow_insecure_sse_c: bool,
}

impl ServeArgs {
    /// The server settings these flags give.
    ///
    /// # Errors
    /// [`GatewayError::Config`] without credentials or with a bad credentials file.
    pub fn server_config(&self) -> Result<ServerConfig, GatewayError> {
        let credentials = match &self.credentials {
            Some(path) => Credentials::from_file(path, &self.profile)?,
            None => Credentials::from_env()?.ok_or_else(|| {
                GatewayError::Config(
                    "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give \
                     --credentials FILE"
                        .to_owned(),
                )
            })?,
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        Ok(ServerConfig {
            listen: self.listen,
            credentials,
            tls,
        })
    }
}

/// Serves `home` until interrupted (Ctrl-C or SIGTERM). Prints one line when listening.
///
/// # Errors
/// Anything that keeps the gateway from starting.
pub fn run(home: &Path, home_options: &HomeOptions, args: &ServeArgs) -> Result<(), GatewayError> {
    let config = args.server_config()?;
    let options = HomeOptions {
        allow_insecure_sse_c: args.allow_insecure_sse_c || home_options.allow_insecure_sse_c,
        ..home_options.clone()
    };
    let gateway = Gateway::open(home, &options)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("s3seal-gateway")
        .build()
        .map_err(|e| GatewayError::Io("start the runtime".to_owned(), e))?;
    rt.block_on(async move {
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let running = crate::start(gateway, config).await?;
        println!(
            "s3seal-gateway: serving {} on {scheme}://{}",
            home.display(),
            running.addr()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| GatewayError::Io("install a SIGTERM handler".to_owned(), e))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        running.stop().await;
        Ok(())
    })
}
