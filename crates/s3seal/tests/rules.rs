//! S3's rules through the engine, one row each: the operation, the bucket, the request headers,
//! and the expected outcome — written (with the mode S3 would report) or refused with S3's exact
//! error code and status (and message where the S3 reference gives one), with nothing returned
//! to store. Rows quote their source in docs/S3-SEMANTICS.md; the policy crate has the finer
//! table (crates/policy/tests/rules.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal::policy::{BucketEncryption, BucketKind, BucketPolicy, EncryptionType, SseAlgorithm};
use s3seal::{Engine, EngineBuilder, EngineConfig, EngineError, Request, StoredObject};
use s3seal_gcm::ChunkSize;
use s3seal_kms::{KeyRef, LocalKms};

const OWNER: &str = "000000000000";
const SSE: &str = "x-amz-server-side-encryption";
const KID: &str = "x-amz-server-side-encryption-aws-kms-key-id";
const CTX: &str = "x-amz-server-side-encryption-context";
const BK: &str = "x-amz-server-side-encryption-bucket-key-enabled";
const C_ALG: &str = "x-amz-server-side-encryption-customer-algorithm";
const C_KEY: &str = "x-amz-server-side-encryption-customer-key";
const C_MD5: &str = "x-amz-server-side-encryption-customer-key-md5";
const CS_ALG: &str = "x-amz-copy-source-server-side-encryption-customer-algorithm";
const CS_KEY: &str = "x-amz-copy-source-server-side-encryption-customer-key";
const CS_MD5: &str = "x-amz-copy-source-server-side-encryption-customer-key-md5";

const MSG_KMS_NEEDS_HEADER: &str = "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms";
const MSG_SSEC_INCOMPATIBLE: &str = "Server Side Encryption with Customer provided key is incompatible with the encryption method specified";
const MSG_SSEC_KEY_LEN: &str = "The secret key was invalid for the specified algorithm.";
const MSG_SSEC_NO_KEY: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.";
const MSG_SSEC_NO_MD5: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.";
const MSG_SSEC_BAD_MD5: &str =
    "The calculated MD5 hash of the key did not match the hash that was provided.";
const MSG_SSEC_NO_ALG: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.";
const MSG_SSEC_HTTP: &str = "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.";
const MSG_GET_NEEDS_KEY: &str = "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.";
/// MinIO's text for an unrecognized or unsupported `x-amz-server-side-encryption` value (the S3
/// reference gives the 400 and no text of AWS's own).
const MSG_UNSUPPORTED: &str = "The encryption method specified is not supported";
const MSG_PART_NEEDS_KEY: &str = "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.";

/// What a row expects.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    /// Written; the response's `x-amz-server-side-encryption` (None for SSE-C) and, if given,
    /// the key ARN it reports.
    Written(Option<&'static str>, Option<&'static str>),
    /// Read back.
    Read,
    /// Refused: code, HTTP status, message (None where the reference gives none).
    Refused(&'static str, u16, Option<&'static str>),
}

use Want::*;

#[derive(Clone, Copy, Debug)]
enum Bucket {
    Plain,
    DefaultKmsB,
    DefaultKmsBucketKey,
    DefaultDsse,
    DefaultAes,
    BlocksSseC,
    Directory,
    Fsx,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Put {
        secure: bool,
    },
    /// Copy from a source object of the given kind.
    Copy(Src),
    /// UploadPart to an upload created with the given headers.
    UploadPart(Src),
    /// CompleteMultipartUpload of an upload of the given kind, without any headers.
    Complete(Src),
    Get {
        src: Src,
        secure: bool,
    },
    Head(Src),
    Rewrap(Src),
    GetRange(u64, u64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Src {
    S3,
    Kms,
    SseC,
}

struct World {
    _dir: tempfile::TempDir,
    engine: Engine,
    key_a: String,
    key_b: String,
    key_a_id: String,
    disabled: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(LocalKms::open_dir(dir.path()).unwrap());
    let a = kms.create_key("a").unwrap();
    let b = kms.create_key("b").unwrap();
    let d = kms.create_key("disabled").unwrap();
    kms.create_alias("alias/key-a", &KeyRef::parse(&a.arn).unwrap())
        .unwrap();
    kms.disable_key(&KeyRef::parse(&d.arn).unwrap()).unwrap();
    let config = EngineConfig {
        chunk: ChunkSize::MIN,
        min_part_size: 1,
        ..EngineConfig::default()
    };
    let engine = EngineBuilder::new(kms)
        .threads(2)
        .config(config)
        .build()
        .unwrap();
    World {
        _dir: dir,
        engine,
        key_a: a.arn,
        key_b: b.arn,
        key_a_id: a.key_id,
        disabled: d.arn,
    }
}

fn key(arn: &str) -> Option<KeyRef> {
    Some(KeyRef::parse(arn).unwrap())
}

fn bucket(w: &World, b: Bucket) -> BucketPolicy {
    let enc = |algorithm, kms_key, bucket_key, blocked| BucketEncryption {
        algorithm,
        kms_key,
        bucket_key,
        blocked,
    };
    let mut p = BucketPolicy::new("bucket", BucketKind::GeneralPurpose, OWNER, "us-east-1");
    match b {
        Bucket::Plain => {}
        Bucket::DefaultKmsB => {
            p.set_encryption(enc(SseAlgorithm::AwsKms, key(&w.key_b), false, None))
        }
        Bucket::DefaultKmsBucketKey => {
            p.set_encryption(enc(SseAlgorithm::AwsKms, key(&w.key_b), true, None))
        }
        Bucket::DefaultDsse => {
            p.set_encryption(enc(SseAlgorithm::AwsKmsDsse, key(&w.key_b), false, None))
        }
        Bucket::DefaultAes => p.set_encryption(enc(SseAlgorithm::Aes256, None, false, None)),
        Bucket::BlocksSseC => p.set_encryption(enc(
            SseAlgorithm::Aes256,
            None,
            false,
            Some(EncryptionType::SseC),
        )),
        Bucket::Directory => {
            p = BucketPolicy::new(
                "dir--use1-az4--x-s3",
                BucketKind::Directory,
                OWNER,
                "us-east-1",
            );
            p.set_encryption(enc(SseAlgorithm::AwsKms, key(&w.key_a), true, None));
        }
        Bucket::Fsx => {
            p = BucketPolicy::new("fsx-ap", BucketKind::FsxAccessPoint, OWNER, "us-east-1")
        }
    }
    p
}

fn ssec(key: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (C_ALG, "AES256".into()),
        (C_KEY, B64.encode(key)),
        (C_MD5, B64.encode(Md5::digest(key))),
    ]
}

fn copy_ssec(key: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (CS_ALG, "AES256".into()),
        (CS_KEY, B64.encode(key)),
        (CS_MD5, B64.encode(Md5::digest(key))),
    ]
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

const CK: [u8; 32] = [9; 32];

/// A source object (or upload) of the given kind in `b`.
fn source(w: &World, b: &BucketPolicy, src: Src) -> (Vec<u8>, Vec<u8>) {
    let hs = headers(&match src {
        Src::S3 => vec![(SSE, "AES256".into())],
        Src::Kms => vec![(SSE, "aws:kms".into()), (KID, w.key_a.clone())],
        Src::SseC => ssec(&CK),
    });
    let out = w
        .engine
        .put_object(
            &Request {
                bucket: b,
                key: "src",
                headers: &hs,
                secure_transport: true,
            },
            b"source data",
        )
        .unwrap();
    (out.envelope_bytes, out.sealed.to_vec())
}

fn upload(w: &World, b: &BucketPolicy, src: Src) -> Vec<u8> {
    let hs = headers(&match src {
        Src::S3 => vec![],
        Src::Kms => vec![(SSE, "aws:kms".into()), (KID, w.key_a.clone())],
        Src::SseC => ssec(&CK),
    });
    w.engine
        .create_multipart_upload(&Request {
            bucket: b,
            key: "obj",
            headers: &hs,
            secure_transport: true,
        })
        .unwrap()
        .state
}

/// Runs one row; returns (written or read, response mode header, key ARN header) or the error.
fn run(
    w: &World,
    b: Bucket,
    op: Op,
    h: &[(&'static str, String)],
) -> Result<(Option<String>, Option<String>), EngineError> {
    let bp = bucket(w, b);
    let hs = headers(h);
    let req = |secure| Request {
        bucket: &bp,
        key: "obj",
        headers: &hs,
        secure_transport: secure,
    };
    let mode = |m: &HeaderMap| {
        (
            m.get(SSE).map(|v| v.to_str().unwrap().to_owned()),
            m.get(KID).map(|v| v.to_str().unwrap().to_owned()),
        )
    };
    match op {
        Op::Put { secure } => {
            let out = w.engine.put_object(&req(secure), b"hello")?;
            assert!(!out.sealed.is_empty() && !out.envelope_bytes.is_empty());
            Ok(mode(&out.headers))
        }
        Op::Copy(src) => {
            let plain = bucket(w, Bucket::Plain);
            let (env, sealed) = source(w, &plain, src);
            let so = StoredObject {
                bucket: &plain,
                key: "src",
                envelope: &env,
                sealed: &sealed,
            };
            let out = w.engine.copy_object(&req(true), &so)?;
            Ok(mode(&out.headers))
        }
        Op::UploadPart(src) => {
            let up = upload(w, &bp, src);
            let part = w.engine.upload_part(&req(true), &up, 1, b"part")?;
            assert!(!part.sealed.is_empty());
            Ok(mode(&part.headers))
        }
        Op::Complete(src) => {
            let up = upload(w, &bp, src);
            // One part really uploaded (with the SSE-C triple where the upload needs it).
            let part_headers = headers(&match src {
                Src::SseC => ssec(&CK),
                _ => vec![],
            });
            let uploaded = w
                .engine
                .upload_part(
                    &Request {
                        bucket: &bp,
                        key: "obj",
                        headers: &part_headers,
                        secure_transport: true,
                    },
                    &up,
                    1,
                    b"part",
                )
                .unwrap();
            let part = s3seal::CompletedPart {
                part_number: 1,
                etag: uploaded.etag,
            };
            let done = w
                .engine
                .complete_multipart_upload(&req(true), &uploaded.state, &[part])?;
            assert!(!done.envelope_bytes.is_empty());
            Ok(mode(&done.headers))
        }
        Op::Get { src, secure } => {
            let (env, sealed) = source(w, &bp, src);
            let r = Request {
                bucket: &bp,
                key: "src",
                headers: &hs,
                secure_transport: secure,
            };
            let out = w.engine.get_object(&r, &env, &sealed, None)?;
            assert_eq!(&out.body[..], b"source data");
            Ok((None, None))
        }
        Op::Head(src) => {
            let (env, _) = source(w, &bp, src);
            let r = Request {
                bucket: &bp,
                key: "src",
                headers: &hs,
                secure_transport: true,
            };
            w.engine.head_object(&r, &env)?;
            Ok((None, None))
        }
        Op::GetRange(a, z) => {
            let (env, sealed) = source(w, &bp, Src::Kms);
            let r = Request {
                bucket: &bp,
                key: "src",
                headers: &hs,
                secure_transport: true,
            };
            w.engine.get_object(&r, &env, &sealed, Some(a..z))?;
            Ok((None, None))
        }
        Op::Rewrap(src) => {
            let (env, _) = source(w, &bp, src);
            let r = Request {
                bucket: &bp,
                key: "src",
                headers: &hs,
                secure_transport: true,
            };
            let done = w.engine.rewrap(&r, &env)?;
            assert!(!done.envelope_bytes.is_empty());
            Ok(mode(&done.headers))
        }
    }
}

/// One rule: name, bucket, operation, request headers, expected outcome.
type Row = (&'static str, Bucket, Op, Vec<(&'static str, String)>, Want);

#[test]
fn s3_rules_through_the_engine() {
    let w = world();
    let (a, b_arn, a_id, disabled) = (
        w.key_a.clone(),
        w.key_b.clone(),
        w.key_a_id.clone(),
        w.disabled.clone(),
    );
    let alias_arn = "arn:aws:kms:us-east-1:000000000000:alias/key-a".to_owned();
    let missing =
        "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000".to_owned();
    let ctx_ok = B64.encode(r#"{"team":"blue"}"#);
    let ctx_other = B64.encode(r#"{"aws:s3:arn":"arn:aws:s3:::bucket/other"}"#);
    let s = |v: &str| v.to_owned();
    let put = Op::Put { secure: true };
    let a_s: &'static str = Box::leak(a.clone().into_boxed_str());
    let b_s: &'static str = Box::leak(b_arn.clone().into_boxed_str());
    let ssec_with = |extra: Vec<(&'static str, String)>| [ssec(&CK), extra].concat();
    let rows: Vec<Row> = vec![
        // PutObject: which encryption, from which header.
        (
            "no headers: SSE-S3, every bucket's base level",
            Bucket::Plain,
            put,
            vec![],
            Written(Some("AES256"), None),
        ),
        (
            "AES256",
            Bucket::Plain,
            put,
            vec![(SSE, s("AES256"))],
            Written(Some("AES256"), None),
        ),
        (
            "aws:kms without key: aws/s3",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms"))],
            Written(Some("aws:kms"), None),
        ),
        (
            "aws:kms + key ARN",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, a.clone())],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "aws:kms + key id → full ARN",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, a_id.clone())],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "aws:kms + alias name → full ARN",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, s("alias/key-a"))],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "aws:kms + alias ARN → full ARN",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, alias_arn.clone())],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "aws:kms:dsse + key",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms:dsse")), (KID, a.clone())],
            Written(Some("aws:kms:dsse"), Some(a_s)),
        ),
        (
            "aws:kms:dsse without key",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms:dsse"))],
            Written(Some("aws:kms:dsse"), None),
        ),
        (
            "aws:kms + bucket key",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, a.clone()), (BK, s("true"))],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "aws:kms + context",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (CTX, ctx_ok.clone())],
            Written(Some("aws:kms"), None),
        ),
        ("SSE-C", Bucket::Plain, put, ssec(&CK), Written(None, None)),
        // Unrecognized or unsupported values: 400, nothing written.
        (
            "AES512",
            Bucket::Plain,
            put,
            vec![(SSE, s("AES512"))],
            Refused("InvalidArgument", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "lowercase aes256",
            Bucket::Plain,
            put,
            vec![(SSE, s("aes256"))],
            Refused("InvalidArgument", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "empty algorithm",
            Bucket::Plain,
            put,
            vec![(SSE, s(""))],
            Refused("InvalidArgument", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "aws:fsx on a general purpose bucket",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:fsx"))],
            Refused("InvalidRequest", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "KMS key id with AES256",
            Bucket::Plain,
            put,
            vec![(SSE, s("AES256")), (KID, a.clone())],
            Refused("InvalidArgument", 400, Some(MSG_KMS_NEEDS_HEADER)),
        ),
        (
            "KMS key id without the SSE header",
            Bucket::Plain,
            put,
            vec![(KID, a.clone())],
            Refused("InvalidArgument", 400, Some(MSG_KMS_NEEDS_HEADER)),
        ),
        (
            "malformed KMS key id",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, s("not-a-key"))],
            Refused("KMS.NotFoundException", 400, Some("Invalid keyId")),
        ),
        (
            "KMS key that does not exist",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, missing.clone())],
            Refused("KMS.NotFoundException", 400, Some("Invalid keyId")),
        ),
        (
            "alias that does not exist",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, s("alias/nope"))],
            Refused("KMS.NotFoundException", 400, Some("Invalid keyId")),
        ),
        (
            "disabled KMS key",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (KID, disabled.clone())],
            Refused("KMS.DisabledException", 400, None),
        ),
        (
            "disabled key for DSSE",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms:dsse")), (KID, disabled.clone())],
            Refused("KMS.DisabledException", 400, None),
        ),
        (
            "bucket key with DSSE",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms:dsse")), (KID, a.clone()), (BK, s("true"))],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "bucket key not a boolean",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (BK, s("maybe"))],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "context not base64",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (CTX, s("***"))],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "context not a JSON object",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (CTX, B64.encode("[1]"))],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "context naming another object",
            Bucket::Plain,
            put,
            vec![(SSE, s("aws:kms")), (CTX, ctx_other.clone())],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "context with AES256",
            Bucket::Plain,
            put,
            vec![(SSE, s("AES256")), (CTX, ctx_ok.clone())],
            Refused("InvalidArgument", 400, None),
        ),
        // SSE-C request validation.
        (
            "SSE-C over plain HTTP",
            Bucket::Plain,
            Op::Put { secure: false },
            ssec(&CK),
            Refused("InvalidRequest", 400, Some(MSG_SSEC_HTTP)),
        ),
        (
            "SSE-C key missing",
            Bucket::Plain,
            put,
            vec![(C_ALG, s("AES256")), (C_MD5, B64.encode(Md5::digest(CK)))],
            Refused("InvalidArgument", 400, Some(MSG_SSEC_NO_KEY)),
        ),
        (
            "SSE-C MD5 missing",
            Bucket::Plain,
            put,
            vec![(C_ALG, s("AES256")), (C_KEY, B64.encode(CK))],
            Refused("InvalidArgument", 400, Some(MSG_SSEC_NO_MD5)),
        ),
        (
            "SSE-C MD5 mismatch",
            Bucket::Plain,
            put,
            vec![
                (C_ALG, s("AES256")),
                (C_KEY, B64.encode(CK)),
                (C_MD5, B64.encode(Md5::digest([1u8; 32]))),
            ],
            Refused("InvalidArgument", 400, Some(MSG_SSEC_BAD_MD5)),
        ),
        (
            "SSE-C key of 16 bytes",
            Bucket::Plain,
            put,
            ssec(&[9; 16]),
            Refused("InvalidArgument", 400, Some(MSG_SSEC_KEY_LEN)),
        ),
        (
            "SSE-C key not base64",
            Bucket::Plain,
            put,
            vec![
                (C_ALG, s("AES256")),
                (C_KEY, s("%%%")),
                (C_MD5, B64.encode(Md5::digest(CK))),
            ],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "SSE-C algorithm AES128",
            Bucket::Plain,
            put,
            vec![
                (C_ALG, s("AES128")),
                (C_KEY, B64.encode(CK)),
                (C_MD5, B64.encode(Md5::digest(CK))),
            ],
            Refused("InvalidEncryptionAlgorithmError", 400, None),
        ),
        (
            "SSE-C algorithm missing",
            Bucket::Plain,
            put,
            vec![
                (C_KEY, B64.encode(CK)),
                (C_MD5, B64.encode(Md5::digest(CK))),
            ],
            Refused("InvalidArgument", 400, Some(MSG_SSEC_NO_ALG)),
        ),
        (
            "SSE-C with AES256",
            Bucket::Plain,
            put,
            ssec_with(vec![(SSE, s("AES256"))]),
            Refused("InvalidArgument", 400, Some(MSG_SSEC_INCOMPATIBLE)),
        ),
        (
            "SSE-C with aws:kms",
            Bucket::Plain,
            put,
            ssec_with(vec![(SSE, s("aws:kms"))]),
            Refused("InvalidArgument", 400, Some(MSG_SSEC_INCOMPATIBLE)),
        ),
        (
            "SSE-C with aws:kms:dsse",
            Bucket::Plain,
            put,
            ssec_with(vec![(SSE, s("aws:kms:dsse"))]),
            Refused("InvalidArgument", 400, Some(MSG_SSEC_INCOMPATIBLE)),
        ),
        // Bucket default encryption; request headers take precedence.
        (
            "default aws:kms applies",
            Bucket::DefaultKmsB,
            put,
            vec![],
            Written(Some("aws:kms"), Some(b_s)),
        ),
        (
            "AES256 header over an aws:kms default",
            Bucket::DefaultKmsB,
            put,
            vec![(SSE, s("AES256"))],
            Written(Some("AES256"), None),
        ),
        (
            "aws:kms key A over a default of key B",
            Bucket::DefaultKmsB,
            put,
            vec![(SSE, s("aws:kms")), (KID, a.clone())],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "SSE-C over an aws:kms default",
            Bucket::DefaultKmsB,
            put,
            ssec(&CK),
            Written(None, None),
        ),
        (
            "a bucket-key default is not inherited by an explicit DSSE request",
            Bucket::DefaultKmsBucketKey,
            put,
            vec![(SSE, s("aws:kms:dsse")), (KID, a.clone())],
            Written(Some("aws:kms:dsse"), Some(a_s)),
        ),
        (
            "a bucket-key default applies to SSE-KMS",
            Bucket::DefaultKmsBucketKey,
            put,
            vec![],
            Written(Some("aws:kms"), Some(b_s)),
        ),
        (
            "an explicit bucket key with DSSE over a bucket-key default",
            Bucket::DefaultKmsBucketKey,
            put,
            vec![(SSE, s("aws:kms:dsse")), (BK, s("true"))],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "default DSSE applies",
            Bucket::DefaultDsse,
            put,
            vec![],
            Written(Some("aws:kms:dsse"), Some(b_s)),
        ),
        (
            "aws:kms header over an AES256 default",
            Bucket::DefaultAes,
            put,
            vec![(SSE, s("aws:kms")), (KID, a.clone())],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "SSE-C write to a bucket that blocks it",
            Bucket::BlocksSseC,
            put,
            ssec(&CK),
            Refused("AccessDenied", 403, None),
        ),
        (
            "AES256 write to a bucket that blocks SSE-C",
            Bucket::BlocksSseC,
            put,
            vec![(SSE, s("AES256"))],
            Written(Some("AES256"), None),
        ),
        (
            "SSE-C read from a bucket that now blocks it",
            Bucket::BlocksSseC,
            Op::Get {
                src: Src::S3,
                secure: true,
            },
            vec![],
            Read,
        ),
        // Directory buckets: AES256 and aws:kms with the bucket's one customer managed key.
        (
            "directory: default applies",
            Bucket::Directory,
            put,
            vec![],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "directory: AES256",
            Bucket::Directory,
            put,
            vec![(SSE, s("AES256"))],
            Written(Some("AES256"), None),
        ),
        (
            "directory: aws:kms with the bucket's key",
            Bucket::Directory,
            put,
            vec![(SSE, s("aws:kms")), (KID, a.clone())],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "directory: aws:kms with another key",
            Bucket::Directory,
            put,
            vec![(SSE, s("aws:kms")), (KID, b_arn.clone())],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "directory: aws:kms:dsse",
            Bucket::Directory,
            put,
            vec![(SSE, s("aws:kms:dsse")), (KID, a.clone())],
            Refused("InvalidRequest", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "directory: SSE-C",
            Bucket::Directory,
            put,
            ssec(&CK),
            Refused("InvalidRequest", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "directory: alias",
            Bucket::Directory,
            put,
            vec![(SSE, s("aws:kms")), (KID, s("alias/key-a"))],
            Refused("InvalidArgument", 400, None),
        ),
        // FSx access points: only aws:fsx.
        (
            "fsx: no headers → aws:fsx",
            Bucket::Fsx,
            put,
            vec![],
            Written(Some("aws:fsx"), None),
        ),
        (
            "fsx: aws:fsx",
            Bucket::Fsx,
            put,
            vec![(SSE, s("aws:fsx"))],
            Written(Some("aws:fsx"), None),
        ),
        (
            "fsx: AES256",
            Bucket::Fsx,
            put,
            vec![(SSE, s("AES256"))],
            Refused("InvalidRequest", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "fsx: aws:kms",
            Bucket::Fsx,
            put,
            vec![(SSE, s("aws:kms"))],
            Refused("InvalidRequest", 400, Some(MSG_UNSUPPORTED)),
        ),
        // CopyObject.
        (
            "copy: no headers → destination default, not the source's",
            Bucket::DefaultKmsB,
            Op::Copy(Src::S3),
            vec![],
            Written(Some("aws:kms"), Some(b_s)),
        ),
        (
            "copy: header over the destination default",
            Bucket::DefaultKmsB,
            Op::Copy(Src::Kms),
            vec![(SSE, s("AES256"))],
            Written(Some("AES256"), None),
        ),
        (
            "copy: SSE-C source with its key",
            Bucket::Plain,
            Op::Copy(Src::SseC),
            copy_ssec(&CK),
            Written(Some("AES256"), None),
        ),
        (
            "copy: SSE-C source without its key",
            Bucket::Plain,
            Op::Copy(Src::SseC),
            vec![],
            Refused("InvalidRequest", 400, None),
        ),
        (
            "copy: SSE-C source with the wrong key",
            Bucket::Plain,
            Op::Copy(Src::SseC),
            copy_ssec(&[1; 32]),
            Refused("AccessDenied", 403, None),
        ),
        (
            "copy: unrecognized algorithm",
            Bucket::Plain,
            Op::Copy(Src::S3),
            vec![(SSE, s("AES512"))],
            Refused("InvalidArgument", 400, Some(MSG_UNSUPPORTED)),
        ),
        (
            "copy: into SSE-C",
            Bucket::Plain,
            Op::Copy(Src::Kms),
            ssec(&CK),
            Written(None, None),
        ),
        // Multipart.
        (
            "upload part: SSE-C upload without its key",
            Bucket::Plain,
            Op::UploadPart(Src::SseC),
            vec![],
            Refused("InvalidRequest", 400, Some(MSG_PART_NEEDS_KEY)),
        ),
        (
            "upload part: SSE-C upload with its key",
            Bucket::Plain,
            Op::UploadPart(Src::SseC),
            ssec(&CK),
            Written(None, None),
        ),
        (
            "upload part: SSE-C upload with another key",
            Bucket::Plain,
            Op::UploadPart(Src::SseC),
            ssec(&[1; 32]),
            Refused("AccessDenied", 403, None),
        ),
        (
            "upload part: KMS upload, no headers",
            Bucket::Plain,
            Op::UploadPart(Src::Kms),
            vec![],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        (
            "complete: SSE-C upload without a key",
            Bucket::Plain,
            Op::Complete(Src::SseC),
            vec![],
            Written(None, None),
        ),
        (
            "complete: KMS upload",
            Bucket::Plain,
            Op::Complete(Src::Kms),
            vec![],
            Written(Some("aws:kms"), Some(a_s)),
        ),
        // GET / HEAD.
        (
            "get SSE-S3 object with an SSE header",
            Bucket::Plain,
            Op::Get {
                src: Src::S3,
                secure: true,
            },
            vec![(SSE, s("AES256"))],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "get SSE-KMS object with a key id header",
            Bucket::Plain,
            Op::Get {
                src: Src::Kms,
                secure: true,
            },
            vec![(KID, a.clone())],
            Refused("InvalidArgument", 400, None),
        ),
        (
            "get SSE-C object without its key",
            Bucket::Plain,
            Op::Get {
                src: Src::SseC,
                secure: true,
            },
            vec![],
            Refused("InvalidRequest", 400, Some(MSG_GET_NEEDS_KEY)),
        ),
        (
            "head SSE-C object without its key",
            Bucket::Plain,
            Op::Head(Src::SseC),
            vec![],
            Refused("InvalidRequest", 400, Some(MSG_GET_NEEDS_KEY)),
        ),
        (
            "get SSE-C object with the wrong key",
            Bucket::Plain,
            Op::Get {
                src: Src::SseC,
                secure: true,
            },
            ssec(&[1; 32]),
            Refused("AccessDenied", 403, None),
        ),
        (
            "get SSE-C object over plain HTTP",
            Bucket::Plain,
            Op::Get {
                src: Src::SseC,
                secure: false,
            },
            ssec(&CK),
            Refused("InvalidRequest", 400, Some(MSG_SSEC_HTTP)),
        ),
        (
            "get SSE-C object with its key",
            Bucket::Plain,
            Op::Get {
                src: Src::SseC,
                secure: true,
            },
            ssec(&CK),
            Read,
        ),
        (
            "get SSE-KMS object",
            Bucket::Plain,
            Op::Get {
                src: Src::Kms,
                secure: true,
            },
            vec![],
            Read,
        ),
        (
            "get a range past the end",
            Bucket::Plain,
            Op::GetRange(100, 200),
            vec![],
            Refused("InvalidRange", 416, None),
        ),
        // UpdateObjectEncryption (rewrap).
        (
            "rewrap SSE-S3 → SSE-KMS",
            Bucket::Plain,
            Op::Rewrap(Src::S3),
            vec![(SSE, s("aws:kms")), (KID, b_arn.clone())],
            Written(Some("aws:kms"), Some(b_s)),
        ),
        (
            "rewrap SSE-KMS → another key",
            Bucket::Plain,
            Op::Rewrap(Src::Kms),
            vec![(SSE, s("aws:kms")), (KID, b_arn.clone())],
            Written(Some("aws:kms"), Some(b_s)),
        ),
        (
            "rewrap to AES256",
            Bucket::Plain,
            Op::Rewrap(Src::Kms),
            vec![(SSE, s("AES256"))],
            Refused("InvalidRequest", 400, None),
        ),
        (
            "rewrap an SSE-C object",
            Bucket::Plain,
            Op::Rewrap(Src::SseC),
            vec![(SSE, s("aws:kms")), (KID, b_arn.clone())],
            Refused("InvalidRequest", 400, None),
        ),
    ];
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let mut wrong = Vec::new();
    for (name, b, op, h, want) in &rows {
        let got = run(&w, *b, *op, h);
        let ok = match (want, &got) {
            (Written(mode, arn), Ok((m, k))) => {
                m.as_deref() == *mode && (arn.is_none() || k.as_deref() == *arn)
            }
            (Read, Ok(_)) => true,
            (Refused(code, status, msg), Err(e)) => {
                let s3 = e.s3();
                s3.code == *code
                    && s3.status.as_u16() == *status
                    && msg.is_none_or(|m| s3.message == m)
            }
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(v) => format!("Ok({v:?})"),
                Err(e) => format!(
                    "Err({} {} {:?}: {e})",
                    e.s3().code,
                    e.s3().status,
                    e.s3().message
                ),
            };
            wrong.push(format!("{name}: want {want:?}, got {got}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}
