//! Writes seed inputs into `fuzz/corpus/<target>/seed-*` (see `s3seal_fuzz_checks::seeds`):
//! valid sealed parts, envelopes, manifests, upload states, sealed files and keystores, the
//! golden files of `testkit/`, configurations, key ids, contexts and ranges. Seeds are
//! regenerated, not committed (salts and object ids are random).
//!
//! `cargo run -p s3seal-fuzz-checks --example seeds` (from the root workspace: `fuzz/run` runs it
//! there, so it reuses the test build instead of building everything again in release).

use std::fs;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for (target, name, bytes) in s3seal_fuzz_checks::seeds::seeds()? {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    Ok(())
}
