//! Serving: a TCP listener (loopback by default), optional TLS (rustls), HTTP/1.1 and HTTP/2
//! (hyper), every request marked with its transport (SSE-C needs TLS) and handed to s3s,
//! which routes it, checks its SigV4 signature and decodes aws-chunked bodies.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::GatewayError;
use crate::config::{ServerConfig, TlsFiles};
use crate::encryption::EncryptionRoute;
use crate::s3::{Gateway, Transport};

/// A running gateway: its address, and a handle to stop it.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The address it listens on (the port chosen, if the configuration said 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the accept loop to end (requests in flight
    /// finish on their own tasks).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the gateway stops.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, GatewayError> {
    let err = |what: &str, p: &std::path::Path, e: &dyn std::fmt::Display| {
        GatewayError::Config(format!("{what} {}: {e}", p.display()))
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| err("TLS certificate", &files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err("TLS certificate", &files.cert, &e))?;
    if certs.is_empty() {
        return Err(err(
            "TLS certificate",
            &files.cert,
            &"no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| err("TLS private key", &files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| GatewayError::Config(format!("TLS: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// The s3s service over `gateway`, checking SigV4 against `config`'s credentials.
fn service(gateway: &Gateway, config: &ServerConfig) -> S3Service {
    let mut b = S3ServiceBuilder::new(gateway.clone());
    b.set_auth(SimpleAuth::from_single(
        config.credentials.access_key(),
        config.credentials.secret_key(),
    ));
    b.set_route(EncryptionRoute {
        store: gateway.store().clone(),
    });
    b.build()
}

/// The s3s service over `gateway` with no authentication provider: s3s then treats every
/// request as anonymous and lets it through (and answers a signed one `NotImplemented`).
#[cfg(feature = "fuzzing")]
pub(crate) fn unauthenticated_service(gateway: &Gateway) -> S3Service {
    let mut b = S3ServiceBuilder::new(gateway.clone());
    b.set_route(EncryptionRoute {
        store: gateway.store().clone(),
    });
    b.build()
}

async fn serve_connection<I>(io: I, svc: S3Service, secure: bool)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let handler =
        hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(Transport { secure });
            let svc = svc.clone();
            async move { svc.call(req.map(s3s::Body::from)).await }
        });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, handler)
        .await;
}

/// Binds `config.listen` and serves `gateway` on the current tokio runtime.
///
/// # Errors
/// [`GatewayError::Config`] for unreadable TLS files; [`GatewayError::Io`] if the address
/// cannot be bound.
pub async fn start(gateway: Gateway, config: ServerConfig) -> Result<Running, GatewayError> {
    let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| GatewayError::Io(format!("bind {}", config.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| GatewayError::Io("local address".to_owned(), e))?;
    let svc = service(&gateway, &config);
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stopped.changed() => break,
                r = listener.accept() => r,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            let svc = svc.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(tls) = a.accept(stream).await {
                            serve_connection(TokioIo::new(tls), svc, true).await;
                        }
                    }
                    None => serve_connection(TokioIo::new(stream), svc, false).await,
                }
            });
        }
    });
    Ok(Running { addr, stop, task })
}
