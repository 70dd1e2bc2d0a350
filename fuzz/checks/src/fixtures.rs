//! Fixed keys, the object identity sealed inputs are opened under, and the `Arbitrary` shapes
//! of structured inputs (shared by the checks and the seed generator).

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use s3seal_dsse::{DsseKeys, LayerKey, LayerRecord};
use s3seal_gcm::{ChunkSize, DataKey, Geometry, MultipartLayout, PartNumber};
use s3seal_policy::{
    AliasPolicy, BucketKind, BucketPolicy, CustomerKey, EncryptionContext, ReadOp, ReadRequest,
    StoredEncryption, WriteOp, WriteRequest, headers::names, parse_bucket_encryption,
};

/// The object identity (HKDF context) every sealed fuzz input is opened under.
pub const CONTEXT: &[u8] = b"arn:aws:s3:::fuzz-bucket/fuzz-object";

/// The data key of single-layer inputs (`open_part`, `stream_decryptor`).
#[must_use]
pub fn data_key() -> DataKey {
    DataKey::from_bytes([0x5a; 32])
}

/// A key ARN that parses.
pub const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The two layer keys of dual-layer inputs (`dsse_open`).
#[must_use]
pub fn dsse_keys() -> DsseKeys {
    let layer = |b: u8| LayerKey {
        key_arn: KEY_ARN.to_owned(),
        wrapped: vec![b; 86],
    };
    let record = LayerRecord {
        inner: layer(1),
        outer: layer(2),
    };
    DsseKeys::from_data_keys(
        DataKey::from_bytes([0x11; 32]),
        DataKey::from_bytes([0x22; 32]),
        record,
    )
    .expect("fixture keys differ")
}

/// Plaintext lengths worth seeding for a chunk size of 4 KiB: empty, short, exactly one chunk,
/// one byte over, several chunks.
pub const SEED_LENGTHS: [usize; 6] = [0, 1, 100, 4096, 4097, 3 * 4096 + 5];

/// Range arithmetic over one part or a multipart object.
#[derive(Arbitrary, Debug)]
pub struct RangeInput {
    /// Chunk size exponent (only 12..=22 is valid; others are skipped).
    pub chunk_log2: u8,
    /// Dual-layer (DSSE) geometry instead of single-layer.
    pub dual: bool,
    /// A sealed length to convert to plaintext length.
    pub sealed_len: u64,
    /// A plaintext length of one part.
    pub plaintext_len: u64,
    /// The range to plan.
    pub start: u64,
    /// The range's end (exclusive).
    pub end: u64,
    /// `(part number, plaintext size)` of a multipart object.
    pub parts: Vec<(u16, u64)>,
}

impl RangeInput {
    /// The geometry, or `None` for an invalid chunk size.
    #[must_use]
    pub fn geometry(&self) -> Option<Geometry> {
        let chunk = ChunkSize::from_log2(self.chunk_log2).ok()?;
        Some(if self.dual {
            s3seal_dsse::geometry(chunk)
        } else {
            Geometry::single(chunk)
        })
    }

    /// The multipart layout, if the parts are a valid one.
    #[must_use]
    pub fn layout(&self, geometry: Geometry) -> Option<MultipartLayout> {
        let parts = self
            .parts
            .iter()
            .map(|&(n, size)| Some((PartNumber::new(u32::from(n)).ok()?, size)))
            .collect::<Option<Vec<_>>>()?;
        MultipartLayout::with_geometry(geometry, parts).ok()
    }
}

/// The header names a request may carry: every SSE header, a few others, or any name.
#[derive(Arbitrary, Debug)]
pub enum Name {
    /// One of the ten SSE headers (index modulo 10).
    Sse(u8),
    /// Any name (skipped if not a valid header name).
    Other(String),
}

/// A header value: raw bytes, or one the fuzzer could not find on its own.
#[derive(Arbitrary, Debug)]
pub enum Value {
    /// Raw bytes (skipped if not a valid header value).
    Raw(Vec<u8>),
    /// Base64 of customer key `k` (32 bytes of `k`).
    CustomerKey(u8),
    /// Base64 MD5 of customer key `k`.
    CustomerKeyMd5(u8),
    /// Base64 of a JSON context object with these pairs.
    Context(Vec<(String, String)>),
}

/// The stored encryption of an upload or copy source.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Stored {
    /// SSE-S3.
    SseS3,
    /// SSE-KMS, with or without bucket key.
    SseKms(bool),
    /// DSSE-KMS.
    DsseKms,
    /// SSE-C under customer key `k`.
    SseC(u8),
    /// FSx.
    Fsx,
}

/// The operation a request is.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Op {
    /// PutObject.
    Put,
    /// CreateMultipartUpload.
    Create,
    /// UploadPart.
    UploadPart(Stored),
    /// UploadPartCopy.
    UploadPartCopy(Stored, Stored),
    /// CompleteMultipartUpload.
    Complete(Stored),
    /// CopyObject.
    Copy(Stored),
    /// GetObject.
    Get(Stored),
    /// HeadObject.
    Head(Stored),
}

/// A request's SSE headers, with the bucket and operation they meet.
#[derive(Arbitrary, Debug)]
pub struct RequestInput {
    /// Header name/value pairs, in order (repeats allowed).
    pub headers: Vec<(Name, Value)>,
    /// TLS or not.
    pub secure: bool,
    /// 0: general purpose, 1: directory, 2: FSx access point.
    pub bucket_kind: u8,
    /// Index into [`BUCKET_CONFIGS`], or none.
    pub bucket_config: Option<u8>,
    /// Refuse aliases.
    pub refuse_aliases: bool,
    /// The operation.
    pub op: Op,
    /// Object key.
    pub object_key: String,
}

/// Bucket default encryption documents a bucket may have.
pub const BUCKET_CONFIGS: [&str; 5] = [
    r#"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"#,
    r#"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>"#,
    r#"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms:dsse</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"#,
    r#"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>"#,
    r#"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/fuzz</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"#,
];

/// The `k`-th customer key.
#[must_use]
pub fn customer_key(k: u8) -> CustomerKey {
    CustomerKey::from_bytes([k; 32])
}

/// The header value of a context object.
#[must_use]
pub fn context_value(pairs: &[(String, String)]) -> String {
    let ctx: EncryptionContext = pairs.iter().cloned().collect();
    STANDARD.encode(ctx.to_json())
}

impl RequestInput {
    /// The header map the request carries.
    #[must_use]
    pub fn header_map(&self) -> HeaderMap {
        const SSE: [&str; 10] = names::ALL;
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = match name {
                Name::Sse(i) => HeaderName::from_static(SSE[usize::from(*i) % SSE.len()]),
                Name::Other(s) => match HeaderName::from_bytes(s.as_bytes()) {
                    Ok(n) => n,
                    Err(_) => continue,
                },
            };
            let value = match value {
                Value::Raw(b) => HeaderValue::from_bytes(b),
                Value::CustomerKey(k) => HeaderValue::from_str(&STANDARD.encode([*k; 32])),
                Value::CustomerKeyMd5(k) => {
                    HeaderValue::from_str(&customer_key(*k).key_md5_base64())
                }
                Value::Context(pairs) => HeaderValue::from_str(&context_value(pairs)),
            };
            if let Ok(v) = value {
                map.append(name, v);
            }
        }
        map
    }

    /// The destination bucket.
    #[must_use]
    pub fn bucket(&self) -> BucketPolicy {
        let kind = match self.bucket_kind % 3 {
            0 => BucketKind::GeneralPurpose,
            1 => BucketKind::Directory,
            _ => BucketKind::FsxAccessPoint,
        };
        let mut bucket = BucketPolicy::new("fuzz-bucket", kind, "111122223333", "us-east-1");
        if let Some(i) = self.bucket_config {
            let xml = BUCKET_CONFIGS[usize::from(i) % BUCKET_CONFIGS.len()];
            if let Ok(parsed) = parse_bucket_encryption(xml.as_bytes(), AliasPolicy::Warn) {
                bucket.set_encryption(parsed.encryption);
            }
        }
        bucket
    }

    /// The alias policy.
    #[must_use]
    pub fn alias_policy(&self) -> AliasPolicy {
        if self.refuse_aliases {
            AliasPolicy::Refuse
        } else {
            AliasPolicy::Warn
        }
    }
}

/// What the engine would have stored: always well formed (engine state, not request input).
#[must_use]
pub fn stored(s: Stored) -> StoredEncryption {
    let ctx = |bucket_key: bool| {
        let arn = if bucket_key {
            "arn:aws:s3:::fuzz-bucket"
        } else {
            "arn:aws:s3:::fuzz-bucket/fuzz-object"
        };
        EncryptionContext::from([("aws:s3:arn".to_owned(), arn.to_owned())])
    };
    match s {
        Stored::SseS3 => StoredEncryption::SseS3,
        Stored::SseKms(bucket_key) => StoredEncryption::SseKms {
            key_arn: KEY_ARN.to_owned(),
            context: ctx(bucket_key),
            bucket_key,
        },
        Stored::DsseKms => StoredEncryption::DsseKms {
            key_arn: KEY_ARN.to_owned(),
            context: ctx(false),
        },
        Stored::SseC(k) => StoredEncryption::SseC {
            verifier: customer_key(k).verifier([0x33; 32]),
        },
        Stored::Fsx => StoredEncryption::Fsx,
    }
}

/// A write or read request, resolved; the error if refused. Every refusal must be a 4xx.
///
/// # Panics
/// If the policy crate panics (the bug the target looks for).
#[must_use]
pub fn resolve(input: &RequestInput) -> Option<s3seal_policy::PolicyError> {
    let headers = input.header_map();
    let bucket = input.bucket();
    let (s1, s2);
    let write = |op| {
        s3seal_policy::resolve_write(&WriteRequest {
            op,
            bucket: &bucket,
            object_key: &input.object_key,
            headers: &headers,
            secure_transport: input.secure,
            alias_policy: input.alias_policy(),
        })
        .err()
    };
    let read = |op, stored: &StoredEncryption| {
        s3seal_policy::resolve_read(&ReadRequest {
            op,
            stored,
            headers: &headers,
            secure_transport: input.secure,
        })
        .err()
    };
    match input.op {
        Op::Put => write(WriteOp::PutObject),
        Op::Create => write(WriteOp::CreateMultipartUpload),
        Op::UploadPart(u) => {
            s1 = stored(u);
            write(WriteOp::UploadPart { upload: &s1 })
        }
        Op::UploadPartCopy(u, s) => {
            (s1, s2) = (stored(u), stored(s));
            write(WriteOp::UploadPartCopy {
                upload: &s1,
                source: &s2,
            })
        }
        Op::Complete(u) => {
            s1 = stored(u);
            write(WriteOp::CompleteMultipartUpload { upload: &s1 })
        }
        Op::Copy(s) => {
            s1 = stored(s);
            write(WriteOp::CopyObject { source: &s1 })
        }
        Op::Get(s) => read(ReadOp::GetObject, &stored(s)),
        Op::Head(s) => read(ReadOp::HeadObject, &stored(s)),
    }
}
