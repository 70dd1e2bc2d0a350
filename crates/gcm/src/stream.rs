//! Streaming: a `std::io::Write` encryptor and a `std::io::Read` decryptor for one sealed part.
//!
//! Both work in batches of `batch` chunks sealed or opened in parallel on the current rayon pool,
//! so memory stays near `2 × batch × chunk size` whatever the stream length. The decryptor
//! releases a batch only after every chunk in it authenticated, and after any error it keeps
//! returning that error: it never ends with a clean EOF unless the final chunk was seen.
//! Both take any [`ChunkSealer`] / [`ChunkOpener`]; `new` builds the single-layer one.

use std::io::{self, Read, Write};

use rayon::prelude::*;
use zeroize::{Zeroize, Zeroizing};

use crate::chunk::{ChunkOpener, ChunkSealer, PartOpener, PartSealer};
use crate::error::{Error, FormatError};
use crate::format::{ChunkSize, HEADER_LEN, PartNumber};
use crate::key::DataKey;
use crate::layout::MAX_CHUNKS;
use crate::run::{open_run_into, run_plaintext_len};

/// Most chunks one batch may hold (bounds memory whatever the caller asks).
const MAX_BATCH: usize = 1024;
/// The decryptor's first read buffer; it doubles with the bytes read, up to one batch.
const INPUT_STEP: usize = 64 << 10;

fn default_batch() -> usize {
    rayon::current_num_threads().clamp(1, MAX_BATCH)
}

fn to_usize(v: u64) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| Error::TooManyChunks)
}

/// Encrypts everything written to it into one sealed part written to `W`.
///
/// It owns its sealer (taken by value), so each chunk index is sealed once.
///
/// Call [`Encryptor::finish`] at the end: it seals the final chunk. A stream dropped without
/// `finish` has no final chunk and every reader rejects it as truncated.
pub struct Encryptor<W: Write, S: ChunkSealer = PartSealer> {
    sealer: S,
    inner: W,
    /// Plaintext not yet sealed; at most `batch` chunks.
    pending: Zeroizing<Vec<u8>>,
    sealed: Vec<u8>,
    batch: usize,
    next_index: u64,
    header_written: bool,
    failed: bool,
}

impl<W: Write, S: ChunkSealer> core::fmt::Debug for Encryptor<W, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Encryptor")
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Encryptor<W> {
    /// An encryptor for part `part` of the object identified by `binding`, with a fresh salt.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS generator fails.
    pub fn new(
        inner: W,
        key: &DataKey,
        binding: &[u8],
        part: PartNumber,
        chunk: ChunkSize,
    ) -> Result<Self, Error> {
        Ok(Self::with_sealer(
            inner,
            PartSealer::new(key, binding, part, chunk)?,
        ))
    }
}

impl<W: Write, S: ChunkSealer> Encryptor<W, S> {
    /// An encryptor driving `sealer`; the header is written before the first chunk.
    pub fn with_sealer(inner: W, sealer: S) -> Self {
        Encryptor {
            sealer,
            inner,
            pending: Zeroizing::new(Vec::new()),
            sealed: Vec::new(),
            batch: default_batch(),
            next_index: 0,
            header_written: false,
            failed: false,
        }
    }

    /// Seals `batch` chunks at a time (default: the rayon pool's thread count).
    #[must_use]
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.clamp(1, MAX_BATCH);
        self
    }

    /// Makes room for a full batch in `pending` up front, moving what it holds into a fresh
    /// buffer of full capacity and wiping the old one: `pending` then never reallocates while
    /// the batch fills, so no copy of plaintext is left behind in a freed buffer.
    fn reserve_batch(&mut self) -> Result<(), Error> {
        let cap = self.batch * to_usize(self.sealer.geometry().chunk)?;
        if self.pending.capacity() < cap {
            let mut fresh = Zeroizing::new(Vec::with_capacity(cap));
            fresh.extend_from_slice(&self.pending);
            self.pending.zeroize();
            self.pending = fresh;
        }
        Ok(())
    }

    /// Seals the pending plaintext (all chunks non-final unless `finish`) and writes it out,
    /// the header first if it has not been written yet.
    fn flush_pending(&mut self, finish: bool) -> Result<(), Error> {
        if !self.header_written {
            self.inner.write_all(self.sealer.header_bytes())?;
            self.header_written = true;
        }
        let g = self.sealer.geometry();
        let (c, t) = (to_usize(g.chunk)?, to_usize(g.overhead)?);
        let n = self.pending.len().div_ceil(c).max(usize::from(finish));
        if self.next_index + n as u64 > MAX_CHUNKS {
            return Err(Error::TooManyChunks);
        }
        let first = self.next_index;
        let last = first + n as u64 - 1;
        self.sealed.resize(self.pending.len() + n * t, 0);
        let sealer = &self.sealer;
        if self.pending.is_empty() {
            let idx = u32::try_from(first).map_err(|_| Error::TooManyChunks)?;
            sealer.seal_chunk_once_to(idx, true, &[], &mut self.sealed)?;
        } else {
            self.sealed
                .par_chunks_mut(c + t)
                .zip(self.pending.par_chunks(c))
                .enumerate()
                .try_for_each(|(i, (out, pt))| {
                    let idx = first + i as u64;
                    let idx32 = u32::try_from(idx).map_err(|_| Error::TooManyChunks)?;
                    sealer.seal_chunk_once_to(idx32, finish && idx == last, pt, out)
                })?;
        }
        self.inner.write_all(&self.sealed)?;
        self.next_index += n as u64;
        self.pending.zeroize();
        self.pending.clear();
        Ok(())
    }

    /// Seals the final chunk, flushes, and returns the inner writer.
    ///
    /// # Errors
    /// An I/O error from the writer, [`Error::TooManyChunks`], or a previous failure.
    pub fn finish(mut self) -> Result<W, Error> {
        if self.failed {
            return Err(io::Error::other("encryptor failed earlier").into());
        }
        self.flush_pending(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write, S: ChunkSealer> Write for Encryptor<W, S> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("encryptor failed earlier"));
        }
        self.reserve_batch()?;
        let cap = self.batch * to_usize(self.sealer.geometry().chunk)?;
        let total = data.len();
        while !data.is_empty() {
            if self.pending.len() == cap {
                // More data follows, so none of the pending chunks is final.
                if let Err(e) = self.flush_pending(false) {
                    self.failed = true;
                    return Err(e.into());
                }
            }
            let take = (cap - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(total)
    }

    /// Flushes the inner writer; pending plaintext stays buffered until a full batch or
    /// [`Encryptor::finish`], because whether a chunk is final is not yet known.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum State {
    Reading,
    Done,
    Failed(Error),
}

/// Decrypts one sealed part read from `R`, releasing only authenticated plaintext.
pub struct Decryptor<R: Read, O: ChunkOpener = PartOpener> {
    opener: O,
    inner: R,
    /// Sealed bytes read but not yet opened (at most one batch plus one look-ahead byte; grown
    /// with the bytes read, not reserved up front).
    input: Vec<u8>,
    /// Authenticated plaintext not yet returned, from `pos`.
    output: Vec<u8>,
    pos: usize,
    batch: usize,
    next_index: u64,
    state: State,
}

impl<R: Read, O: ChunkOpener> core::fmt::Debug for Decryptor<R, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decryptor")
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Decryptor<R> {
    /// Reads and checks the header (format, part number, key commitment) before anything else.
    ///
    /// # Errors
    /// A [`FormatError`] for a bad header, [`FormatError::CommitmentMismatch`] for a wrong key or
    /// binding, an I/O error from the reader.
    pub fn new(
        mut inner: R,
        key: &DataKey,
        binding: &[u8],
        expected_part: PartNumber,
    ) -> Result<Self, Error> {
        let mut header = [0u8; HEADER_LEN];
        if read_full(&mut inner, &mut header)? < HEADER_LEN {
            return Err(FormatError::Truncated.into());
        }
        let opener = PartOpener::new(key, binding, expected_part, &header)?;
        Ok(Self::with_opener(inner, opener))
    }
}

impl<R: Read, O: ChunkOpener> Decryptor<R, O> {
    /// A decryptor driving `opener`; `inner` is positioned at the first chunk (the header was
    /// read and checked by whoever made `opener`).
    pub fn with_opener(inner: R, opener: O) -> Self {
        Decryptor {
            opener,
            inner,
            input: Vec::new(),
            output: Vec::new(),
            pos: 0,
            batch: default_batch(),
            next_index: 0,
            state: State::Reading,
        }
    }

    /// Opens `batch` chunks at a time (default: the rayon pool's thread count).
    #[must_use]
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.clamp(1, MAX_BATCH);
        self
    }

    /// Reads and opens the next batch into `output`.
    fn fill(&mut self) -> Result<(), Error> {
        let sc = to_usize(self.opener.geometry().sealed_chunk())?;
        let want = self.batch * sc + 1; // one look-ahead byte tells whether more follows
        let have = self.input.len();
        // The buffer grows with the bytes the reader actually gives, doubling from 64 KiB and
        // never past `want`: a 1-byte body under 4 MiB chunks allocates 64 KiB, not a batch.
        let mut len = have;
        while len < want {
            let step = len.max(INPUT_STEP).min(want - len);
            self.input.reserve_exact(step);
            self.input.resize(len + step, 0);
            let got = read_full(&mut self.inner, &mut self.input[len..])?;
            len += got;
            self.input.truncate(len);
            if got < step {
                break;
            }
        }
        let more = self.input.len() == want;
        let body_len = if more { want - 1 } else { self.input.len() };
        if body_len == 0 {
            return Err(FormatError::Truncated.into());
        }
        let n = body_len.div_ceil(sc) as u64;
        let last = self.next_index + n - 1;
        if last >= MAX_CHUNKS || (more && last + 1 >= MAX_CHUNKS) {
            return Err(Error::TooManyChunks);
        }
        let first = u32::try_from(self.next_index).map_err(|_| Error::TooManyChunks)?;
        // The final chunk is the run's last unless more data follows; then no chunk of this run
        // has the index passed (it is past the run).
        let final_index =
            u32::try_from(if more { last + 1 } else { last }).map_err(|_| Error::TooManyChunks)?;
        // Reuse one buffer for every batch: it holds zeros here (`read` wipes what it hands
        // out, and a failed run wipes itself), so growing it is the only fill.
        let len = run_plaintext_len(self.opener.geometry(), body_len).unwrap_or(0);
        self.output.resize(len, 0);
        let opened = open_run_into(
            &self.opener,
            first,
            final_index,
            &self.input[..body_len],
            &mut self.output,
        );
        if let Err(e) = opened {
            // Nothing of a failed batch is readable (the run already wiped it).
            self.output.clear();
            return Err(e);
        }
        self.pos = 0;
        self.next_index += n;
        self.input.drain(..body_len);
        if !more {
            self.state = State::Done;
        }
        Ok(())
    }
}

impl<R: Read, O: ChunkOpener> Read for Decryptor<R, O> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.output.len() {
                let n = buf.len().min(self.output.len() - self.pos);
                buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
                self.output[self.pos..self.pos + n].zeroize();
                self.pos += n;
                return Ok(n);
            }
            match &self.state {
                State::Done => return Ok(0),
                State::Failed(e) => return Err(e.clone().into()),
                State::Reading => {
                    if let Err(e) = self.fill() {
                        self.state = State::Failed(e.clone());
                        return Err(e.into());
                    }
                }
            }
        }
    }
}

impl<R: Read, O: ChunkOpener> Drop for Decryptor<R, O> {
    fn drop(&mut self) {
        self.output.zeroize();
    }
}

/// Reads until `buf` is full or EOF; returns the count.
///
/// # Errors
/// The reader's error (interrupted reads are retried).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, Error> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "disk full on /dev/sdz",
            ))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "peer went away",
            ))
        }
    }

    /// An I/O error of the writer or reader reaches the caller whole: kind and message.
    #[test]
    fn io_errors_keep_their_kind_and_message() {
        let key = DataKey::from_bytes([3; 32]);
        let enc = Encryptor::new(Broken, &key, b"o", PartNumber::SINGLE, ChunkSize::MIN).unwrap();
        let Err(Error::Io(e)) = enc.finish() else {
            panic!("expected an I/O error")
        };
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert_eq!(e.to_string(), "disk full on /dev/sdz");

        let Err(e) = Decryptor::new(Broken, &key, b"o", PartNumber::SINGLE) else {
            panic!("expected an I/O error")
        };
        assert_eq!(e.io_kind(), Some(io::ErrorKind::ConnectionReset));
        assert_eq!(e.to_string(), "I/O error: peer went away");
        // Converted back for `std::io` callers, it is the original error.
        let back = io::Error::from(e);
        assert_eq!(back.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(back.to_string(), "peer went away");
    }
}
