#![doc = include_str!("../README.md")]

pub mod aead;
mod backend;
pub mod buffer;
mod error;
pub mod format;
pub mod io;
mod key;
pub mod layout;
pub mod stream;

pub use aead::Aes256Gcm;
pub use backend::BackendKind;
pub use buffer::{
    open_into, open_object_range, open_object_range_with, open_part, open_range, open_range_with,
    open_with, seal_part, seal_part_into, seal_parts, seal_with,
};
pub use error::{Error, FormatError};
pub use format::{ChunkSize, HEADER_LEN, PartNumber};
pub use io::{Decryptor, Encryptor};
pub use key::{DataKey, fill_random};
pub use layout::{ChunkRange, Geometry, MultipartLayout, PartRange};
pub use stream::{
    ChunkOpener, ChunkSealer, PartOpener, PartSealer, open_run, open_run_into, run_plaintext_len,
};

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test code with small lengths"
)]
mod golden;
