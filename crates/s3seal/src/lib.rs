#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod engine;
mod envelope;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(feature = "async")]
pub mod nonblocking;

pub use engine::{
    Committed, CompletedPart, Engine, EngineBuilder, EngineConfig, ListedPart, Opened, PartRecord,
    ReadInfo, ReadPlan, Request, SealedPart, StoredObject, Upload, UploadState, Written,
    parse_range,
};
pub use envelope::{ManifestPart, Mode, ObjectEnvelope, PART_DIGEST_LEN};
pub use error::{EngineError, EnvelopeError};
pub use s3seal_gcm::{BackendKind, ChunkSize, PartNumber};
pub use s3seal_kms as kms;
pub use s3seal_policy as policy;

/// Whether this build has the `fuzzing` feature (a deterministic random source can be switched
/// on, making keys predictable). A binary refuses to build with it in release with
/// `const _: () = assert!(!s3seal::FUZZING_BUILD || cfg!(debug_assertions), "…");`, as the
/// `s3seal` and `s3seal-gateway` binaries do; that catches the feature however it was enabled
/// (directly or through feature unification).
pub const FUZZING_BUILD: bool = cfg!(feature = "fuzzing");
