//! Fault injection for crash-consistency tests (cargo feature `failpoints`, off by default).
//!
//! With the feature on, `S3SEAL_STORE_FAILPOINT=NAME` makes step `NAME` fail with an I/O error,
//! and `NAME:abort` aborts the process there (no destructor runs: as `kill -9` would). Steps:
//!
//! | name | where |
//! |---|---|
//! | `publish:data-synced` | a new version's bytes are written and fsynced, not yet moved |
//! | `publish:data-moved` | they are in the object's directory, its pointer not yet replaced |
//! | `atomic:temp-written` | a replacement file is written and fsynced, not yet renamed |
//! | `atomic:renamed` | it is renamed into place, its directory not yet fsynced |
//!
//! Without the feature, [`hit`] is an empty inline function.

use crate::StoreError;

/// The environment variable naming the step to fail.
#[cfg(feature = "failpoints")]
pub const ENV: &str = "S3SEAL_STORE_FAILPOINT";

/// Fails (or aborts) here if the environment names this step.
#[cfg(feature = "failpoints")]
pub(crate) fn hit(name: &str) -> Result<(), StoreError> {
    let Ok(spec) = std::env::var(ENV) else {
        return Ok(());
    };
    // Step names contain `:` themselves (`publish:data-synced`): the action is a known last
    // component, else the whole spec is the step. (Splitting at the first `:` matched no step,
    // so no failpoint ever fired.)
    let (step, action) = match spec.rsplit_once(':') {
        Some((step, action @ ("abort" | "error"))) => (step, action),
        _ => (spec.as_str(), "error"),
    };
    if step != name {
        return Ok(());
    }
    if action == "abort" {
        std::process::abort();
    }
    Err(StoreError::Io {
        what: format!("failpoint {name}"),
        source: std::io::Error::other("injected failure"),
    })
}

/// Fails (or aborts) here if the environment names this step: never, without the feature.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn hit(_name: &str) -> Result<(), StoreError> {
    Ok(())
}
