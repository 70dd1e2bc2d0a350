//! The request and response types of the engine's operations.

use std::ops::Range;

use bytes::Bytes;
use http::HeaderMap;
use s3seal_policy::BucketPolicy;

use crate::envelope::ObjectEnvelope;

/// One request as the engine sees it: destination bucket and key, headers, transport.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The bucket (its kind, owner and default encryption).
    pub bucket: &'a BucketPolicy,
    /// The object key.
    pub key: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// Whether the request came over TLS (SSE-C requires it).
    pub secure_transport: bool,
}

/// A stored object handed back to the engine: its envelope and sealed bytes.
#[derive(Clone, Copy, Debug)]
pub struct StoredObject<'a> {
    /// The bucket it lives in.
    pub bucket: &'a BucketPolicy,
    /// Its key.
    pub key: &'a str,
    /// The envelope bytes stored beside it.
    pub envelope: &'a [u8],
    /// Its sealed bytes.
    pub sealed: &'a [u8],
}

/// The result of a write: what to store, and the response headers.
#[derive(Debug)]
pub struct Written {
    /// The sealed bytes to store.
    pub sealed: Bytes,
    /// The envelope (also as bytes, to store beside the object).
    pub envelope: ObjectEnvelope,
    /// [`ObjectEnvelope::to_bytes`] of `envelope`.
    pub envelope_bytes: Vec<u8>,
    /// Response headers: encryption headers and `ETag`.
    pub headers: HeaderMap,
}

/// The result of a read.
#[derive(Debug)]
pub struct Opened {
    /// The plaintext of the requested range.
    pub body: Bytes,
    /// The plaintext range returned.
    pub range: Range<u64>,
    /// The whole object's plaintext length.
    pub object_len: u64,
    /// Response headers: encryption headers and `ETag`.
    pub headers: HeaderMap,
}

/// The result of a read into a caller's buffer ([`crate::Engine::get_object_into`]): what
/// [`Opened`] says beside the body.
#[derive(Debug)]
pub struct ReadInfo {
    /// The plaintext range returned.
    pub range: Range<u64>,
    /// The whole object's plaintext length.
    pub object_len: u64,
    /// Response headers: encryption headers and `ETag`.
    pub headers: HeaderMap,
}

/// The result of a write that stores no new sealed bytes of its own (a streaming PUT, whose
/// bytes went to the caller's writer; CompleteMultipartUpload; a rewrap): the envelope to
/// store, and the response headers.
#[derive(Debug)]
pub struct Committed {
    /// The envelope.
    pub envelope: ObjectEnvelope,
    /// [`ObjectEnvelope::to_bytes`] of `envelope`, to store beside the object.
    pub envelope_bytes: Vec<u8>,
    /// Response headers: encryption headers and `ETag`.
    pub headers: HeaderMap,
}

/// An upload in progress, as CreateMultipartUpload returns it.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The upload's state: keep it (persisted, if uploads must survive a restart) and pass it
    /// to every later call of the upload; each UploadPart returns the next one.
    pub state: Vec<u8>,
    /// Response headers of CreateMultipartUpload.
    pub headers: HeaderMap,
}

/// One sealed part of an upload.
#[derive(Debug)]
pub struct SealedPart {
    /// The part number (1..=10000).
    pub part_number: u32,
    /// Its sealed bytes, to store (empty from [`Engine::upload_part_stream`], which wrote them
    /// to its writer).
    ///
    /// [`Engine::upload_part_stream`]: crate::Engine::upload_part_stream
    pub sealed: Bytes,
    /// Its sealed header (the first bytes of `sealed`), which [`Engine::record_part`] records.
    ///
    /// [`Engine::record_part`]: crate::Engine::record_part
    pub header: Bytes,
    /// Names this upload of the part among all uploads of its number (32 hex digits, a digest
    /// of its sealed header): a backend that may hold several uploads of one number at once
    /// (concurrent or retried UploadPart calls) keeps each under its tag, and
    /// [`ListedPart::upload_tag`] names the one the state recorded.
    pub upload_tag: String,
    /// Its plaintext length (pass it to CompleteMultipartUpload).
    pub plaintext_len: u64,
    /// Its ETag (unquoted): for SSE-S3 the MD5 of its data, as S3; otherwise the first 16
    /// bytes of SHA-256 of its sealed header, in hex — opaque, and different for every upload
    /// of the part. The client names it in CompleteMultipartUpload.
    pub etag: String,
    /// Response headers, with the `ETag`.
    pub headers: HeaderMap,
    /// The upload's state with this part recorded: keep it instead of the one passed in.
    pub state: Vec<u8>,
}

/// One part of an upload in progress, as ListParts shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedPart {
    /// The part number.
    pub part_number: u32,
    /// Its plaintext size.
    pub size: u64,
    /// Its ETag (unquoted), as UploadPart returned it.
    pub etag: String,
    /// Which upload of the number this is ([`SealedPart::upload_tag`]).
    pub upload_tag: String,
}

/// One entry of a CompleteMultipartUpload request, as the client sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// Its ETag ([`SealedPart::etag`], quoted or not): must be the latest upload's.
    pub etag: String,
}
