//! Between the async server and the engine's blocking streams: a request body read as a
//! `std::io::Read` on a blocking thread, and a response body written as a `std::io::Write`
//! into a bounded channel the server sends from. Memory per request stays bounded: one body
//! frame on the way in, [`DEPTH`] batches of plaintext on the way out.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use s3s::dto::StreamingBlob;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// Batches of a response body in flight between the blocking writer and the connection.
pub(crate) const DEPTH: usize = 2;

/// A request body, read on a blocking thread (never on a runtime worker: it blocks on the
/// next frame).
pub(crate) struct BodyReader {
    body: Option<StreamingBlob>,
    rt: Handle,
    rest: Bytes,
}

impl BodyReader {
    pub(crate) fn new(body: Option<StreamingBlob>, rt: Handle) -> Self {
        BodyReader {
            body,
            rt,
            rest: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.rest.is_empty() {
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            match self.rt.block_on(body.next()) {
                Some(Ok(b)) => self.rest = b,
                Some(Err(e)) => return Err(io::Error::other(e.to_string())),
                None => {
                    self.body = None;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        let _ = self.rest.split_to(n);
        Ok(n)
    }
}

/// The writing end of a response body: each write is one frame. Fails once the client is
/// gone (the receiver dropped).
pub(crate) struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl BodyWriter {
    /// Sends the error that ends the body: the connection is then cut, so the client sees a
    /// short body (its length was announced), never a clean end.
    pub(crate) fn fail(&self, e: io::Error) {
        let _ = self.tx.blocking_send(Err(e));
    }
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end of a response body, as s3s streams it.
pub(crate) struct BodyStream {
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
    first: Option<Bytes>,
}

impl Stream for BodyStream {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(b)));
        }
        self.rx.poll_recv(cx)
    }
}

/// A body channel: the writer for a blocking thread, the receiver for [`first_frame`].
pub(crate) fn body_channel() -> (BodyWriter, mpsc::Receiver<Result<Bytes, io::Error>>) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (BodyWriter { tx }, rx)
}

/// Waits for the first frame of a body: `Err` if producing it failed (the response can still
/// be an S3 error), else a stream of the whole body.
pub(crate) async fn first_frame(
    mut rx: mpsc::Receiver<Result<Bytes, io::Error>>,
) -> Result<BodyStream, io::Error> {
    let first = match rx.recv().await {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => return Err(e),
        None => None,
    };
    Ok(BodyStream { rx, first })
}
