#![doc = include_str!("../README.md")]

pub mod key_id;

pub use key_id::{KeyIdError, KeyRef, KmsArn};
