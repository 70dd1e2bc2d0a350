//! An adapter for async S3 servers (feature `async`), executor-agnostic.
//!
//! Whole-body calls run on the engine's rayon pool and resolve a future through a oneshot
//! channel, so an async task never blocks on crypto. Streaming calls take the body as a stream
//! of `Bytes` chunks and give the output as one: a dedicated thread drives the engine's
//! `Read`/`Write` streaming API (it blocks on the channels; rayon workers never do), so memory
//! stays bounded by chunk size × threads plus the channel depth.

use std::io::{Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::executor::block_on;
use futures::{SinkExt, Stream, StreamExt};
use http::HeaderMap;
use s3seal_policy::BucketPolicy;

use crate::engine::{Committed, Engine, Opened, Request, Written};
use crate::error::EngineError;

/// Chunks in flight between the async side and the streaming thread.
const DEPTH: usize = 8;

/// The sealed or plain output of a streaming call, as chunks. A failure arrives as a final
/// `Err` item, so a consumer that only reads the stream never mistakes a cut-off body for a
/// complete one.
pub type ChunkStream = mpsc::Receiver<Result<Bytes, EngineError>>;
/// What a streaming PUT resolves to after its last chunk: the envelope (and its bytes) and the
/// response headers.
pub type PutDone = oneshot::Receiver<Result<Committed, EngineError>>;
/// What a streaming GET resolves to after its last chunk: the response headers.
pub type GetDone = oneshot::Receiver<Result<HeaderMap, EngineError>>;

/// A request with owned parts, to move onto another thread.
#[derive(Clone, Debug)]
pub struct OwnedRequest {
    /// The bucket.
    pub bucket: BucketPolicy,
    /// The object key.
    pub key: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// Whether the request came over TLS.
    pub secure_transport: bool,
}

impl OwnedRequest {
    fn as_request(&self) -> Request<'_> {
        Request {
            bucket: &self.bucket,
            key: &self.key,
            headers: &self.headers,
            secure_transport: self.secure_transport,
        }
    }
}

/// The engine behind futures. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AsyncEngine(Arc<Engine>);

/// The engine's task ended without an answer (its pool is shutting down).
fn gone() -> EngineError {
    std::io::Error::new(
        std::io::ErrorKind::BrokenPipe,
        "the engine task ended without a result",
    )
    .into()
}

impl AsyncEngine {
    /// Wraps a shared engine.
    #[must_use]
    pub fn new(engine: Arc<Engine>) -> Self {
        AsyncEngine(engine)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        let engine = self.0.clone();
        self.0.spawn(move || {
            let _ = tx.send(f(&engine));
        });
        rx.await.map_err(|_| gone())?
    }

    /// [`Engine::put_object`] on the engine's pool.
    ///
    /// # Errors
    /// As [`Engine::put_object`].
    pub async fn put_object(&self, req: OwnedRequest, body: Bytes) -> Result<Written, EngineError> {
        self.run(move |e| e.put_object(&req.as_request(), &body))
            .await
    }

    /// [`Engine::get_object`] on the engine's pool.
    ///
    /// # Errors
    /// As [`Engine::get_object`].
    pub async fn get_object(
        &self,
        req: OwnedRequest,
        envelope: Bytes,
        sealed: Bytes,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Opened, EngineError> {
        self.run(move |e| e.get_object(&req.as_request(), &envelope, &sealed, range))
            .await
    }

    /// [`Engine::head_object`] on the engine's pool.
    ///
    /// # Errors
    /// As [`Engine::head_object`].
    pub async fn head_object(
        &self,
        req: OwnedRequest,
        envelope: Bytes,
    ) -> Result<HeaderMap, EngineError> {
        self.run(move |e| e.head_object(&req.as_request(), &envelope))
            .await
    }

    /// Streaming PUT: `body` is the plaintext as chunks; returns the sealed bytes as a stream,
    /// and a future of the envelope and headers, which resolves after the last sealed chunk.
    /// If it resolves to an error, discard what the stream produced.
    pub fn put_object_stream<S>(&self, req: OwnedRequest, body: S) -> (ChunkStream, PutDone)
    where
        S: Stream<Item = Bytes> + Send + Unpin + 'static,
    {
        let (out_tx, out_rx) = mpsc::channel(DEPTH);
        let (done_tx, done_rx) = oneshot::channel();
        let engine = self.0.clone();
        std::thread::spawn(move || {
            let r = engine.put_object_stream(
                &req.as_request(),
                StreamReader::new(body),
                SinkWriter(out_tx.clone()),
            );
            finish(out_tx, done_tx, r);
        });
        (out_rx, done_rx)
    }

    /// Streaming GET of the whole object: `sealed` is the stored bytes as chunks; returns the
    /// plaintext as a stream (only authenticated chunks) and a future of the response headers,
    /// which resolves after the last chunk. If it resolves to an error, the response must be
    /// aborted: what the stream produced before the error was authenticated but incomplete.
    pub fn get_object_stream<S>(
        &self,
        req: OwnedRequest,
        envelope: Bytes,
        sealed: S,
    ) -> (ChunkStream, GetDone)
    where
        S: Stream<Item = Bytes> + Send + Unpin + 'static,
    {
        let (out_tx, out_rx) = mpsc::channel(DEPTH);
        let (done_tx, done_rx) = oneshot::channel();
        let engine = self.0.clone();
        std::thread::spawn(move || {
            let r = engine.get_object_stream(
                &req.as_request(),
                &envelope,
                StreamReader::new(sealed),
                SinkWriter(out_tx.clone()),
            );
            finish(out_tx, done_tx, r);
        });
        (out_rx, done_rx)
    }
}

/// Ends a streaming call: on failure, the error as the stream's last item, then the result.
fn finish<T>(
    mut out: mpsc::Sender<Result<Bytes, EngineError>>,
    done: oneshot::Sender<Result<T, EngineError>>,
    r: Result<T, EngineError>,
) {
    if let Err(e) = &r {
        let _ = block_on(out.send(Err(e.clone())));
    }
    drop(out);
    let _ = done.send(r);
}

/// A blocking `Read` over a stream of chunks (used on a dedicated thread only).
struct StreamReader<S> {
    stream: S,
    current: Bytes,
}

impl<S> StreamReader<S> {
    fn new(stream: S) -> Self {
        StreamReader {
            stream,
            current: Bytes::new(),
        }
    }
}

impl<S: Stream<Item = Bytes> + Unpin> Read for StreamReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match block_on(self.stream.next()) {
                Some(b) => self.current = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A blocking `Write` into a bounded channel of chunks (used on a dedicated thread only).
struct SinkWriter(mpsc::Sender<Result<Bytes, EngineError>>);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        block_on(self.0.send(Ok(Bytes::copy_from_slice(buf))))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
