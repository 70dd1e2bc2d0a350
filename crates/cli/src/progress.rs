//! Progress bars on standard error, for work long enough to watch.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Below this many bytes a command finishes in well under a second: no bar.
const MIN_BYTES: u64 = 256 << 20;

/// A byte-count bar for `len` bytes (`None`: unknown), hidden when `quiet`, when standard error
/// is not a terminal, or for small inputs.
#[must_use]
pub fn bytes_bar(len: Option<u64>, quiet: bool, what: &str) -> ProgressBar {
    let small = len.is_some_and(|l| l < MIN_BYTES);
    if quiet || small || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(l) => ProgressBar::with_draw_target(Some(l), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if len.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
    } else {
        "{msg} {bytes} {binary_bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}
