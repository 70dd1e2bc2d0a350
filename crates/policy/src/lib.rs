#![doc = include_str!("../README.md")]

pub mod algorithm;
pub mod bucket;
pub mod config;
pub mod context;
pub mod customer_key;
pub mod error;
#[cfg(feature = "fuzzing")]
mod fuzzing;
pub mod headers;
pub mod names;
pub mod resolve;
pub mod response;

pub use algorithm::{BucketKind, SseAlgorithm};
pub use bucket::{
    BucketPolicy, delete_bucket_encryption, get_bucket_encryption, put_bucket_encryption, same_key,
};
pub use config::{
    AliasPolicy, BucketEncryption, EncryptionType, ParsedConfig, Warning, parse_bucket_encryption,
};
pub use context::EncryptionContext;
pub use customer_key::{CustomerKey, KeyVerifier, ObjectIdentity, derive_object_key};
pub use error::{DirectoryRule, PolicyError, S3Error};
pub use headers::SseHeaders;
pub use names::{
    MAX_KEY_LEN, NameError, check_bucket_name, check_bucket_name_any, check_object_key,
};
pub use resolve::{
    Encryption, ReadOp, ReadPlan, ReadRequest, StoredEncryption, WriteOp, WritePlan, WriteRequest,
    resolve_read, resolve_write,
};
pub use response::response_headers;
pub use s3seal_kms::KeyRef;
