//! Crash-safe file output: every write to a regular file (or a new path) goes to a temporary file
//! in the destination's directory, is fsynced, then renamed over the destination. A failed or
//! interrupted command leaves nothing at the destination (the temporary file is removed when
//! dropped).
//!
//! An output path that names an existing character device or FIFO (`/dev/null`, `/dev/stdout`,
//! a named pipe) is written through, directly, like standard output: renaming over it would
//! replace the device node with a regular file. What was written before a failure then cannot
//! be taken back — but the engine releases only authenticated plaintext, so a failed decrypt
//! has written at most a prefix of the authentic plaintext. Other non-regular files (directories,
//! block devices, sockets) are refused.
//!
//! A symbolic link is followed: if it names a device or FIFO, that is written through; if it
//! names a regular file, that file is replaced atomically (the temporary file is made in *its*
//! directory) and the link is kept; a link that names nothing is refused. A link is never
//! replaced by a regular file.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result, WriteFailed};

/// Prefix of temporary files, so they are easy to recognise.
const TMP_PREFIX: &str = ".s3seal-tmp-";

/// A file being written; [`AtomicFile::commit`] publishes it, dropping it discards it.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

fn parent_of(dest: &Path) -> &Path {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl AtomicFile {
    /// Starts writing `dest` (its directory must exist).
    ///
    /// # Errors
    /// The temporary file cannot be created.
    pub fn create(dest: &Path) -> Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(parent_of(dest))
            .map_err(CliError::io(format!(
                "create a temporary file beside {}",
                dest.display()
            )))?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_owned(),
        })
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Flushes, fsyncs, renames over the destination and fsyncs the directory.
    ///
    /// # Errors
    /// Any of those steps failing; the temporary file is then removed.
    pub fn commit(self) -> Result<()> {
        let dest = self.dest;
        let what = format!("write {}", dest.display());
        self.tmp.as_file().sync_all().map_err(CliError::io(&what))?;
        self.tmp.persist(&dest).map_err(|e| CliError::Io {
            what: what.clone(),
            source: e.error,
        })?;
        sync_dir(parent_of(&dest));
        Ok(())
    }
}

/// Fsyncs a directory so a rename in it is durable. Best effort: not every platform or file
/// system allows opening a directory.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Where a command writes: standard output, a device or FIFO written through, or a file written
/// atomically.
#[derive(Debug)]
pub enum Output {
    /// Standard output (a pipe: what was written cannot be taken back).
    Stdout,
    /// An existing character device or FIFO, written directly (never renamed over).
    Through {
        /// The open device or FIFO.
        file: File,
        /// Its path, for messages.
        path: PathBuf,
    },
    /// A file, published on [`Output::commit`].
    File(AtomicFile),
}

/// Whether a file type is written through: a character device or a FIFO.
#[cfg(unix)]
fn written_through(t: std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    t.is_char_device() || t.is_fifo()
}

/// Whether a file type is written through (elsewhere: anything but a file or directory).
#[cfg(not(unix))]
fn written_through(t: std::fs::FileType) -> bool {
    !t.is_file() && !t.is_dir()
}

/// Opens a file output (see the module docs for devices, FIFOs and symbolic links).
///
/// # Errors
/// A directory, block device, socket or dangling link; the file cannot be opened or the
/// temporary file created.
fn open_file(p: &Path) -> Result<Output> {
    let link = match std::fs::symlink_metadata(p) {
        Ok(m) => m.file_type().is_symlink(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Output::File(AtomicFile::create(p)?));
        }
        Err(e) => {
            return Err(CliError::Io {
                what: format!("stat {}", p.display()),
                source: e,
            });
        }
    };
    // What the path names, through any links.
    let meta = std::fs::metadata(p).map_err(|e| {
        if link && e.kind() == io::ErrorKind::NotFound {
            CliError::Usage(format!(
                "{} is a symbolic link to a file that does not exist; refusing to replace the link",
                p.display()
            ))
        } else {
            CliError::Io {
                what: format!("stat {}", p.display()),
                source: e,
            }
        }
    })?;
    let t = meta.file_type();
    if written_through(t) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .map_err(CliError::io(format!("open {}", p.display())))?;
        return Ok(Output::Through {
            file: f,
            path: p.to_owned(),
        });
    }
    if !t.is_file() {
        return Err(CliError::Usage(format!(
            "{} is not a regular file, character device or FIFO; refusing to write it",
            p.display()
        )));
    }
    if link {
        // Replace the file the link names; keep the link.
        let target =
            std::fs::canonicalize(p).map_err(CliError::io(format!("resolve {}", p.display())))?;
        return Ok(Output::File(AtomicFile::create(&target)?));
    }
    Ok(Output::File(AtomicFile::create(p)?))
}

impl Output {
    /// `None` or `-` is standard output; an existing character device or FIFO is written
    /// through; anything else a file written atomically.
    ///
    /// # Errors
    /// As [`AtomicFile::create`]; a path that is neither a regular file, a character device nor
    /// a FIFO; a dangling symbolic link.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Output::Stdout),
            Some(p) if p.as_os_str() == "-" => Ok(Output::Stdout),
            Some(p) => open_file(p),
        }
    }

    /// The file of a file output, which can seek (written atomically on commit); `None` for
    /// standard output and devices.
    pub fn seekable(&mut self) -> Option<&mut File> {
        match self {
            Output::File(f) => Some(f.file()),
            _ => None,
        }
    }

    /// A buffered writer to the output. Its errors say what was being written (see
    /// [`WriteFailed`]), also when they come back through the engine.
    pub fn writer(&mut self) -> BufWriter<Box<dyn Write + Send + '_>> {
        let inner: Box<dyn Write + Send + '_> = match self {
            Output::Stdout => Box::new(Tagged::new(io::stdout(), crate::out::WHAT.to_owned())),
            Output::Through { file, path } => {
                let what = format!("write {}", path.display());
                Box::new(Tagged::new(file, what))
            }
            Output::File(f) => {
                let what = format!("write {}", f.dest.display());
                Box::new(Tagged::new(f.file(), what))
            }
        };
        BufWriter::with_capacity(1 << 20, inner)
    }

    /// Publishes a file output; flushes standard output or the device.
    ///
    /// # Errors
    /// As [`AtomicFile::commit`].
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout => io::stdout()
                .flush()
                .map_err(CliError::io("write standard output")),
            Output::Through { mut file, path } => file
                .flush()
                .map_err(CliError::io(format!("write {}", path.display()))),
            Output::File(f) => f.commit(),
        }
    }
}

/// A writer whose errors carry what was being written ([`WriteFailed`]), so an error that comes
/// back wrapped by the engine still says `write stdout: …` rather than a bare `I/O: …`.
struct Tagged<W> {
    inner: W,
    what: String,
}

impl<W> Tagged<W> {
    fn new(inner: W, what: String) -> Self {
        Tagged { inner, what }
    }

    fn tag(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            WriteFailed {
                what: self.what.clone(),
                source: e,
            },
        )
    }
}

impl<W: Write> Write for Tagged<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.tag(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.tag(e))
    }
}

/// Reads at most `max` bytes of `path` into `buf` (appended; give a `Zeroizing` buffer for
/// secrets). Returns `false`, having read `max + 1` bytes, if the file holds more: a bounded read
/// whatever the file claims to be (`/dev/zero`, a FIFO, a huge file).
///
/// # Errors
/// The file cannot be opened or read.
pub fn read_at_most(path: &Path, max: usize, buf: &mut Vec<u8>) -> Result<bool> {
    let f = File::open(path).map_err(CliError::io(format!("read {}", path.display())))?;
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    buf.reserve_exact(max.saturating_add(1));
    let n = f
        .take(limit)
        .read_to_end(buf)
        .map_err(CliError::io(format!("read {}", path.display())))?;
    Ok(n <= max)
}

/// An input: a file, or standard input for `-`. Returns the reader and the size when known.
///
/// # Errors
/// The file cannot be opened.
pub fn open_input(path: Option<&Path>) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    match path {
        None => Ok((Box::new(io::stdin()), None)),
        Some(p) if p.as_os_str() == "-" => Ok((Box::new(io::stdin()), None)),
        Some(p) => {
            let f = File::open(p).map_err(CliError::io(format!("open {}", p.display())))?;
            let len = f.metadata().ok().map(|m| m.len());
            Ok((Box::new(io::BufReader::with_capacity(1 << 20, f)), len))
        }
    }
}

/// Reads until `buf` is full or the end of input; returns the bytes read.
///
/// # Errors
/// The reader's errors.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
