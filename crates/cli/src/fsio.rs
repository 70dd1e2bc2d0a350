//! Crash-safe file output: every write goes to a temporary file in the destination's directory,
//! is fsynced, then renamed over the destination. A failed or interrupted command leaves nothing
//! at the destination (the temporary file is removed when dropped).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

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

/// Where a command writes: standard output, or a file written atomically.
#[derive(Debug)]
pub enum Output {
    /// Standard output (a pipe: what was written cannot be taken back).
    Stdout,
    /// A file, published on [`Output::commit`].
    File(AtomicFile),
}

impl Output {
    /// `None` or `-` is standard output; anything else a file.
    ///
    /// # Errors
    /// As [`AtomicFile::create`].
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Output::Stdout),
            Some(p) if p.as_os_str() == "-" => Ok(Output::Stdout),
            Some(p) => Ok(Output::File(AtomicFile::create(p)?)),
        }
    }

    /// A buffered writer to the output.
    pub fn writer(&mut self) -> BufWriter<Box<dyn Write + Send + '_>> {
        let inner: Box<dyn Write + Send + '_> = match self {
            Output::Stdout => Box::new(io::stdout()),
            Output::File(f) => Box::new(f.file()),
        };
        BufWriter::with_capacity(1 << 20, inner)
    }

    /// Publishes a file output; flushes standard output.
    ///
    /// # Errors
    /// As [`AtomicFile::commit`].
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout => io::stdout()
                .flush()
                .map_err(CliError::io("write standard output")),
            Output::File(f) => f.commit(),
        }
    }
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
