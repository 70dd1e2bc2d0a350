#![doc = include_str!("../README.md")]

// Modules are private and named by what they hold; the API is re-exported below.
mod aead;
// The only module allowed `unsafe`: the SIMD kernels (see `backend.rs`).
#[allow(unsafe_code)]
mod backend;
mod buffer;
mod chunk;
mod error;
mod format;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod kdf;
mod key;
mod layout;
mod run;
mod stream;

pub use aead::{A_MAX, Aes256Gcm, NONCE_LEN, P_MAX};
pub use backend::BackendKind;
pub use buffer::{
    open_into, open_object_range, open_object_range_into, open_object_range_with, open_part,
    open_range, open_range_into, open_range_with, open_with, seal_part, seal_part_once_into,
    seal_parts, seal_with,
};
pub use chunk::{ChunkOpener, ChunkSealer, MAX_LAYER_AAD, PartOpener, PartSealer};
pub use error::{Error, FormatError};
pub use format::{
    ALG_AES256GCM_HKDF_SHA256, COMMITMENT_LEN, ChunkSize, FLAG_LAYER, HEADER_LEN, Header, MAGIC,
    MAX_PART_NUMBER, PartNumber, SALT_LEN, TAG_LEN, VERSION,
};
pub use key::{DataKey, fill_random};
pub use layout::{
    ChunkRange, Geometry, MAX_CHUNKS, MultipartLayout, PartRange, chunk_count, plaintext_len,
    plan_range, sealed_len,
};
pub use run::{PARALLEL_MIN_BYTES, open_run, open_run_into, run_plaintext_len, worth_parallel};
pub use stream::{Decryptor, Encryptor};

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test code with small lengths"
)]
mod golden;
