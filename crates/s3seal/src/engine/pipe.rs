//! Write-behind for the streaming paths: a scoped thread writes each filled buffer to the
//! output while the caller fills the next one, so the output's system calls (the kernel copy
//! into a file or socket) overlap reading and sealing instead of following them.
//!
//! Buffers go round: the caller takes an empty one ([`WriteBehind::buffer`]), fills it and
//! sends it ([`WriteBehind::send`]); the writer writes it and hands it back. With
//! [`BUFFERS`] in rotation the caller runs at most that many buffers ahead of the output.
//! Buffers are wiped when dropped (they may hold plaintext on the read path).

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use zeroize::Zeroizing;

use crate::error::EngineError;

/// Buffers in rotation between the caller and the writer.
pub(super) const BUFFERS: usize = 3;

type Buffer = Zeroizing<Vec<u8>>;

/// The caller's end of a write-behind thread.
pub(super) struct WriteBehind<'scope> {
    full: SyncSender<(Buffer, usize)>,
    empty: Receiver<Buffer>,
    writer: ScopedJoinHandle<'scope, io::Result<()>>,
}

impl<'scope> WriteBehind<'scope> {
    /// Starts the writer thread on `scope` with [`BUFFERS`] buffers of `len` bytes.
    pub(super) fn start<'env, W: Write + Send + 'scope>(
        scope: &'scope Scope<'scope, 'env>,
        mut out: W,
        len: usize,
    ) -> Self {
        let (full, to_write) = sync_channel::<(Buffer, usize)>(BUFFERS);
        let (give_back, empty) = sync_channel::<Buffer>(BUFFERS);
        for _ in 0..BUFFERS {
            // Cannot fail: the channel holds BUFFERS and its receiver is alive.
            let _ = give_back.send(Zeroizing::new(vec![0u8; len]));
        }
        let writer = scope.spawn(move || {
            for (buf, n) in to_write {
                out.write_all(&buf[..n])?;
                // The caller may have stopped taking buffers; then this one is simply dropped.
                let _ = give_back.send(buf);
            }
            out.flush()
        });
        WriteBehind {
            full,
            empty,
            writer,
        }
    }

    /// An empty buffer, once the writer has one to give back; `None` if the writer stopped
    /// (call [`WriteBehind::finish`] for its error).
    pub(super) fn buffer(&self) -> Option<Buffer> {
        self.empty.recv().ok()
    }

    /// Queues the first `len` bytes of `buf` for writing; `false` if the writer stopped.
    pub(super) fn send(&self, buf: Buffer, len: usize) -> bool {
        self.full.send((buf, len)).is_ok()
    }

    /// Waits for everything queued to be written and flushed.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub(super) fn finish(self) -> Result<(), EngineError> {
        drop(self.full);
        match self.writer.join() {
            Ok(r) => Ok(r?),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
