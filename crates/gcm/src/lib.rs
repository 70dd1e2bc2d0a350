#![doc = include_str!("../README.md")]

pub mod aead;
mod backend;
pub mod buffer;
mod error;
pub mod io;
pub mod format;
mod key;
pub mod layout;
mod stream;

pub use aead::Aes256Gcm;
pub use buffer::{open_object_range, open_part, open_range, seal_part, seal_part_into, seal_parts};
pub use backend::BackendKind;
pub use error::{Error, FormatError};
pub use io::{Decryptor, Encryptor};
pub use format::{ChunkSize, HEADER_LEN, PartNumber};
pub use key::{DataKey, fill_random};
pub use layout::{ChunkRange, MultipartLayout, PartRange};
pub use stream::{PartOpener, PartSealer};

#[cfg(test)]
mod golden;
