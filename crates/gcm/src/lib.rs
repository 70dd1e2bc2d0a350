#![doc = include_str!("../README.md")]

pub mod aead;
mod backend;
mod error;

pub use aead::Aes256Gcm;
pub use backend::BackendKind;
pub use error::{Error, FormatError};
