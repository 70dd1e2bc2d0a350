#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod engine;
mod envelope;
mod error;
#[cfg(feature = "async")]
pub mod nonblocking;

pub use engine::{
    Committed, CompletedPart, Engine, EngineBuilder, EngineConfig, ListedPart, Opened, PartRecord,
    ReadPlan, Request, SealedPart, StoredObject, Upload, UploadState, Written, parse_range,
};
pub use envelope::{ManifestPart, Mode, ObjectEnvelope, PART_DIGEST_LEN};
pub use error::{EngineError, EnvelopeError};
pub use s3seal_gcm::{BackendKind, ChunkSize, PartNumber};
pub use s3seal_kms as kms;
pub use s3seal_policy as policy;
