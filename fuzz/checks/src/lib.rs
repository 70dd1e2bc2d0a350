//! The checks behind s3seal's fuzz targets.
//!
//! Each fuzz target (`fuzz/fuzz_targets/NAME.rs`) is one call, `s3seal_fuzz_checks::NAME(data)`;
//! the check parses `data` as libFuzzer gives it (raw bytes, or an `Arbitrary` structure taken
//! the way `fuzz_target!` takes it, so corpora stay valid), calls the library, and panics when
//! an invariant breaks: a panic is the finding. [`TARGETS`] names every check, and
//! `tests/regressions.rs` replays every file under `fuzz/regressions/<target>/` through it in
//! the ordinary `cargo test --workspace`.
//!
//! The checks that need an engine, a keystore or a gateway open them once per process in a
//! scratch directory (under `/dev/shm` when it exists: no disk flushes in the hot loop).
#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "fuzz checks: a panic is how a check reports a finding, and lengths are bounded by the fuzzer's input size"
)]

use arbitrary::{Arbitrary, Unstructured};

mod crypto;
mod envelope;
mod files;
pub mod fixtures;
mod formats;
mod gateway;
mod home;
mod range;
pub mod seeds;

pub use crypto::{differential, roundtrip};
pub use envelope::{envelope, manifest, upload_state};
pub use files::{keystore, sealed_file};
pub use formats::{
    bucket_xml, dsse_open, dsse_record, kms_context, kms_key_id, open_part, range_plan,
    sealed_header, sse_headers, stream_decryptor,
};
pub use gateway::gateway_request;
pub use range::range_header;

/// A check: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every fuzz target, by name, with its check (in `fuzz/Cargo.toml`'s order).
pub const TARGETS: &[(&str, Check)] = &[
    ("sealed_header", sealed_header),
    ("open_part", open_part),
    ("stream_decryptor", stream_decryptor),
    ("range_plan", range_plan),
    ("dsse_record", dsse_record),
    ("dsse_open", dsse_open),
    ("bucket_xml", bucket_xml),
    ("sse_headers", sse_headers),
    ("kms_key_id", kms_key_id),
    ("kms_context", kms_context),
    ("envelope", envelope),
    ("manifest", manifest),
    ("sealed_file", sealed_file),
    ("keystore", keystore),
    ("range_header", range_header),
    ("upload_state", upload_state),
    ("gateway_request", gateway_request),
    ("differential", differential),
    ("roundtrip", roundtrip),
];

/// The check of target `name`, if there is one.
#[must_use]
pub fn check(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// `data` as libFuzzer's `fuzz_target!(|input: T| …)` gives it: `T::arbitrary_take_rest`;
/// `None` where that macro would skip the input.
pub(crate) fn take<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}
