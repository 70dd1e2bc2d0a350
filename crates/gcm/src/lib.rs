#![doc = include_str!("../README.md")]

pub mod aead;
mod backend;
mod error;
mod key;

pub use aead::Aes256Gcm;
pub use backend::BackendKind;
pub use error::{Error, FormatError};
pub use key::{DataKey, fill_random};
