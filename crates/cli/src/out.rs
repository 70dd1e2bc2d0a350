//! Standard output that reports failures instead of panicking (`println!` panics when stdout is
//! a closed pipe or a full disk). [`outln!`] writes one line and returns a [`Result`]; a closed
//! pipe comes back as an I/O error of kind `BrokenPipe`, which `main` exits on quietly.

use std::fmt;
use std::io::Write;

use http::HeaderMap;

use crate::error::{CliError, Result};

/// What a failed write to standard output says: `write stdout: No space left on device`.
pub const WHAT: &str = "write stdout";

/// Writes `args` and a newline to standard output.
///
/// # Errors
/// [`CliError::Io`] ("write stdout") if the write fails.
pub fn write_line(args: fmt::Arguments<'_>) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_fmt(args)
        .and_then(|()| o.write_all(b"\n"))
        .map_err(CliError::io(WHAT))
}

/// Flushes standard output.
///
/// # Errors
/// [`CliError::Io`] ("write stdout") if the flush fails.
pub fn flush() -> Result<()> {
    std::io::stdout().flush().map_err(CliError::io(WHAT))
}

/// `println!` that returns a [`Result`] instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Prints response headers, sorted, one `name: value` a line.
///
/// # Errors
/// As [`write_line`].
pub fn print_headers(h: &HeaderMap) -> Result<()> {
    let mut lines: Vec<String> = h
        .iter()
        .map(|(k, v)| format!("{}: {}", k.as_str(), v.to_str().unwrap_or("<binary>")))
        .collect();
    lines.sort();
    for l in lines {
        outln!("{l}")?;
    }
    Ok(())
}

/// Writes a line to standard error, ignoring failures (`eprintln!` panics if stderr is closed;
/// there is nowhere left to report that).
pub fn warn_line(args: fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
}
