//! One row per S3 encryption rule (see docs/S3-SEMANTICS.md): the request, the bucket, and the
//! exact outcome — S3 error code, HTTP status and message where the reference gives one — and
//! whether the request would write (a resolution is a go-ahead; an error writes nothing).
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest, Md5};
use s3seal_policy::*;

const KID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const KARN: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KARN2: &str = "arn:aws:kms:us-east-2:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab";
const OBJ_ARN: &str = "arn:aws:s3:::bkt/obj";
const BKT_ARN: &str = "arn:aws:s3:::bkt";
const DIR_ARN: &str = "arn:aws:s3express:us-east-2:111122223333:bucket/bkt";

// Messages from shared/reference/s3-sse-behaviour.md, verbatim.
const M_KMS_HDR: &str = "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms";
const M_SSEC_INCOMPAT: &str = "Server Side Encryption with Customer provided key is incompatible with the encryption method specified";
const M_SSEC_ALG_MISSING: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.";
const M_SSEC_ALG_BAD: &str =
    "The encryption request you specified is not valid. The valid value is AES256.";
const M_SSEC_KEY_BAD: &str = "The secret key was invalid for the specified algorithm.";
const M_SSEC_KEY_MISSING: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.";
const M_SSEC_MD5_MISSING: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.";
const M_SSEC_MD5_BAD: &str =
    "The calculated MD5 hash of the key did not match the hash that was provided.";
const M_SSEC_GET: &str = "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.";
const M_SSEC_TLS: &str = "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.";
const M_SSEC_PART: &str = "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.";
const M_UNSUPPORTED: &str = "The encryption method specified is not supported";
const M_KEY_NOT_FOUND: &str = "Invalid keyId";
const M_CONFIG_404: &str = "The server side encryption configuration was not found";
const M_MALFORMED: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";
const M_KMSID_NA: &str = "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse";
const M_NOT_APPLICABLE: &str = "The encryption parameters are not applicable to this object.";
const M_HDR_NOT_SUPPORTED: &str =
    "x-amz-server-side-encryption header is not supported for this operation.";
const M_DENIED: &str = "Access Denied";

const KEY_A: [u8; 32] = [0xa1; 32];
const KEY_B: [u8; 32] = [0xb2; 32];

/// Buckets the rows run against.
#[derive(Clone, Copy, Debug)]
enum B {
    /// General purpose, no configuration.
    Gp,
    /// General purpose, default aws:kms with KARN.
    GpKms,
    /// General purpose, default aws:kms with KARN and a bucket key.
    GpKmsBk,
    /// General purpose, default aws:kms:dsse with KARN.
    GpDsse,
    /// General purpose, default AES256, SSE-C blocked.
    GpBlock,
    /// Directory bucket, no configuration.
    Dir,
    /// Directory bucket, default aws:kms with KARN.
    DirKms,
    /// S3 access point for FSx.
    Fsx,
}

fn bucket(b: B) -> BucketPolicy {
    let kind = match b {
        B::Dir | B::DirKms => BucketKind::Directory,
        B::Fsx => BucketKind::FsxAccessPoint,
        _ => BucketKind::GeneralPurpose,
    };
    let mut p = BucketPolicy::new("bkt", kind, "111122223333", "us-east-2");
    let kms = |alg, bucket_key| BucketEncryption {
        algorithm: alg,
        kms_key: Some(KeyRef::parse(KARN).unwrap()),
        bucket_key,
        blocked: None,
    };
    match b {
        B::GpKms | B::DirKms => p.set_encryption(kms(SseAlgorithm::AwsKms, false)),
        B::GpKmsBk => p.set_encryption(kms(SseAlgorithm::AwsKms, true)),
        B::GpDsse => p.set_encryption(kms(SseAlgorithm::AwsKmsDsse, false)),
        B::GpBlock => p.set_encryption(BucketEncryption::new_bucket_default()),
        B::Gp | B::Dir | B::Fsx => {}
    }
    p
}

/// Stored encryption of an existing object or upload.
#[derive(Clone, Copy, Debug)]
enum S {
    S3,
    Kms,
    Dsse,
    /// SSE-C under KEY_A.
    SseC,
    Fsx,
}

fn stored(s: S) -> StoredEncryption {
    let ctx = EncryptionContext::from([
        ("aws:s3:arn".to_owned(), "arn:aws:s3:::src/o".to_owned()),
        ("dept".to_owned(), "x".to_owned()),
    ]);
    match s {
        S::S3 => StoredEncryption::SseS3,
        S::Kms => StoredEncryption::SseKms {
            key_arn: KARN2.into(),
            context: ctx,
            bucket_key: false,
        },
        S::Dsse => StoredEncryption::DsseKms {
            key_arn: KARN2.into(),
            context: ctx,
        },
        S::SseC => StoredEncryption::SseC {
            verifier: CustomerKey::from_bytes(KEY_A).verifier([7; 32]),
        },
        S::Fsx => StoredEncryption::Fsx,
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Put,
    Create,
    Part(S),
    PartCopy(S, S),
    Complete(S),
    Copy(S),
    Get(S),
    Head(S),
    PutCfg(&'static str),
    PutCfgRefuseAlias(&'static str),
    GetCfg,
}

#[derive(Clone, Copy, Debug)]
enum Want {
    S3,
    Kms {
        key: Option<&'static str>,
        bk: bool,
        arn: &'static str,
        ctx_len: usize,
    },
    Dsse {
        key: Option<&'static str>,
    },
    SseC,
    Fsx,
    /// CompleteMultipartUpload: allowed, no new data.
    NoData,
    /// A read that may proceed.
    Read,
    /// A configuration that is accepted.
    Config,
    Err(&'static str, u16, Option<&'static str>),
}

struct Row {
    rule: &'static str,
    bucket: B,
    op: Op,
    headers: &'static [(&'static str, &'static str)],
    tls: bool,
    want: Want,
    writes: bool,
}

const fn ok(
    rule: &'static str,
    bucket: B,
    op: Op,
    headers: &'static [(&'static str, &'static str)],
    want: Want,
) -> Row {
    let writes = !matches!(op, Op::Get(_) | Op::Head(_) | Op::GetCfg);
    Row {
        rule,
        bucket,
        op,
        headers,
        tls: true,
        want,
        writes,
    }
}

const fn err(
    rule: &'static str,
    bucket: B,
    op: Op,
    headers: &'static [(&'static str, &'static str)],
    code: &'static str,
    status: u16,
    msg: Option<&'static str>,
) -> Row {
    Row {
        rule,
        bucket,
        op,
        headers,
        tls: true,
        want: Want::Err(code, status, msg),
        writes: false,
    }
}

const fn http(mut r: Row) -> Row {
    r.tls = false;
    r
}

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

/// `$KA`/`$MA`: key A and its MD5; `$KB`/`$MB` likewise; `$K31`/`$M31` a 31-byte key;
/// `$CTX…` contexts.
fn expand(v: &str) -> String {
    match v {
        "$KA" => b64(&KEY_A),
        "$MA" => b64(&Md5::digest(KEY_A)),
        "$KB" => b64(&KEY_B),
        "$MB" => b64(&Md5::digest(KEY_B)),
        "$K31" => b64(&KEY_A[..31]),
        "$M31" => b64(&Md5::digest(&KEY_A[..31])),
        "$CTX" => b64(br#"{"dept":"x"}"#),
        "$CTX_ARN_OK" => b64(br#"{"aws:s3:arn":"arn:aws:s3:::bkt/obj","dept":"x"}"#),
        "$CTX_ARN_BAD" => b64(br#"{"aws:s3:arn":"arn:aws:s3:::bkt/other"}"#),
        "$CTX_DIR" => {
            b64(br#"{"aws:s3:arn":"arn:aws:s3express:us-east-2:111122223333:bucket/bkt"}"#)
        }
        "$CTX_NUM" => b64(br#"{"dept":1}"#),
        other => other.to_owned(),
    }
}

const SSEC_A: &[(&str, &str)] = &[
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-server-side-encryption-customer-key", "$KA"),
    ("x-amz-server-side-encryption-customer-key-MD5", "$MA"),
];
const SSEC_B: &[(&str, &str)] = &[
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-server-side-encryption-customer-key", "$KB"),
    ("x-amz-server-side-encryption-customer-key-MD5", "$MB"),
];
const COPY_A: &[(&str, &str)] = &[
    (
        "x-amz-copy-source-server-side-encryption-customer-algorithm",
        "AES256",
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key",
        "$KA",
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key-MD5",
        "$MA",
    ),
];
const COPY_B: &[(&str, &str)] = &[
    (
        "x-amz-copy-source-server-side-encryption-customer-algorithm",
        "AES256",
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key",
        "$KB",
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key-MD5",
        "$MB",
    ),
];
const BOTH_A: &[(&str, &str)] = &[
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-server-side-encryption-customer-key", "$KA"),
    ("x-amz-server-side-encryption-customer-key-MD5", "$MA"),
    (
        "x-amz-copy-source-server-side-encryption-customer-algorithm",
        "AES256",
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key",
        "$KA",
    ),
    (
        "x-amz-copy-source-server-side-encryption-customer-key-MD5",
        "$MA",
    ),
];
const SSE_S3: &[(&str, &str)] = &[("x-amz-server-side-encryption", "AES256")];
const SSE_KMS: &[(&str, &str)] = &[("x-amz-server-side-encryption", "aws:kms")];
const SSE_KMS_ARN: &[(&str, &str)] = &[
    ("x-amz-server-side-encryption", "aws:kms"),
    ("x-amz-server-side-encryption-aws-kms-key-id", KARN),
];
const NONE: &[(&str, &str)] = &[];

const CFG_S3: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_KMS_ARN: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_KMS_ARN2: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-2:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_KMS_ID: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_KMS_NOKEY: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_KMS_ALIAS: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/alias-name</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_KMS_BADKEY: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>not-a-key</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_DSSE: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms:dsse</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_DSSE_BK: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms:dsse</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>";
const CFG_S3_WITH_KEY: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_NO_ALG: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_FSX: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:fsx</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_BAD_ALG: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES-256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_TWO_RULES: &str =
    "<ServerSideEncryptionConfiguration><Rule/><Rule/></ServerSideEncryptionConfiguration>";
const CFG_DUP_ALG: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
const CFG_UNKNOWN: &str = "<ServerSideEncryptionConfiguration><Rule><Surprise/></Rule></ServerSideEncryptionConfiguration>";
const CFG_NOT_XML: &str = "AES256";
const CFG_WRONG_ROOT: &str = "<LifecycleConfiguration><Rule/></LifecycleConfiguration>";
const CFG_BLOCK_SSEC: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>";
const CFG_BLOCK_NONE: &str = "<ServerSideEncryptionConfiguration><Rule><BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>";
const CFG_BLOCK_BAD: &str = "<ServerSideEncryptionConfiguration><Rule><BlockedEncryptionTypes><EncryptionType>SSE-KMS</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>";
const CFG_HUGE: &str = "$HUGE";

fn kms(key: Option<&'static str>, bk: bool, arn: &'static str, ctx_len: usize) -> Want {
    Want::Kms {
        key,
        bk,
        arn,
        ctx_len,
    }
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Op::*;
    vec![
        // ---- PutBucketEncryption / GetBucketEncryption ----
        ok("cfg: SSEAlgorithm AES256", B::Gp, PutCfg(CFG_S3), NONE, Want::Config),
        ok("cfg: aws:kms with a key ARN", B::Gp, PutCfg(CFG_KMS_ARN), NONE, Want::Config),
        ok("cfg: aws:kms with a bare key id", B::Gp, PutCfg(CFG_KMS_ID), NONE, Want::Config),
        ok("cfg: aws:kms without key = aws/s3", B::Gp, PutCfg(CFG_KMS_NOKEY), NONE, Want::Config),
        ok("cfg: aws:kms:dsse with a key", B::Gp, PutCfg(CFG_DSSE), NONE, Want::Config),
        ok("cfg: alias accepted with a warning", B::Gp, PutCfg(CFG_KMS_ALIAS), NONE, Want::Config),
        err("cfg: alias refused by option", B::Gp, PutCfgRefuseAlias(CFG_KMS_ALIAS), NONE, "InvalidArgument", 400, None),
        err("cfg: SSEAlgorithm required", B::Gp, PutCfg(CFG_NO_ALG), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: SSEAlgorithm aws:fsx not a valid value", B::Gp, PutCfg(CFG_FSX), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: SSEAlgorithm unknown value", B::Gp, PutCfg(CFG_BAD_ALG), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: KMSMasterKeyID only with aws:kms(:dsse)", B::Gp, PutCfg(CFG_S3_WITH_KEY), NONE, "InvalidArgument", 400, Some(M_KMSID_NA)),
        err("cfg: malformed key id", B::Gp, PutCfg(CFG_KMS_BADKEY), NONE, "KMS.NotFoundException", 400, Some(M_KEY_NOT_FOUND)),
        err("cfg: no bucket key with DSSE", B::Gp, PutCfg(CFG_DSSE_BK), NONE, "InvalidArgument", 400, None),
        err("cfg: one Rule only", B::Gp, PutCfg(CFG_TWO_RULES), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: duplicate element", B::Gp, PutCfg(CFG_DUP_ALG), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: unknown element", B::Gp, PutCfg(CFG_UNKNOWN), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: not XML", B::Gp, PutCfg(CFG_NOT_XML), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: wrong root element", B::Gp, PutCfg(CFG_WRONG_ROOT), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: huge document", B::Gp, PutCfg(CFG_HUGE), NONE, "MaxMessageLengthExceeded", 400, None),
        ok("cfg: BlockedEncryptionTypes SSE-C", B::Gp, PutCfg(CFG_BLOCK_SSEC), NONE, Want::Config),
        ok("cfg: BlockedEncryptionTypes NONE", B::Gp, PutCfg(CFG_BLOCK_NONE), NONE, Want::Config),
        err("cfg: BlockedEncryptionTypes unknown value", B::Gp, PutCfg(CFG_BLOCK_BAD), NONE, "MalformedXML", 400, Some(M_MALFORMED)),
        err("cfg: directory bucket refuses DSSE", B::Dir, PutCfg(CFG_DSSE), NONE, "InvalidRequest", 400, Some(M_UNSUPPORTED)),
        err("cfg: directory bucket refuses aws/s3", B::Dir, PutCfg(CFG_KMS_NOKEY), NONE, "InvalidArgument", 400, None),
        err("cfg: directory bucket refuses alias", B::Dir, PutCfg(CFG_KMS_ALIAS), NONE, "InvalidArgument", 400, None),
        err("cfg: directory bucket key fixed for life", B::DirKms, PutCfg(CFG_KMS_ARN2), NONE, "InvalidArgument", 400, None),
        ok("cfg: directory bucket same key again", B::DirKms, PutCfg(CFG_KMS_ID), NONE, Want::Config),
        ok("cfg: directory bucket AES256", B::Dir, PutCfg(CFG_S3), NONE, Want::Config),
        err("cfg: FSx access point not configurable", B::Fsx, PutCfg(CFG_S3), NONE, "InvalidRequest", 400, None),
        err("GetBucketEncryption without config", B::Gp, GetCfg, NONE, "ServerSideEncryptionConfigurationNotFoundError", 404, Some(M_CONFIG_404)),
        ok("GetBucketEncryption with config", B::GpKms, GetCfg, NONE, Want::Config),

        // ---- precedence and defaults ----
        ok("no header, no config: SSE-S3 base level", B::Gp, Put, NONE, Want::S3),
        ok("no header: bucket default aws:kms", B::GpKms, Put, NONE, kms(Some(KARN), false, OBJ_ARN, 1)),
        ok("no header: bucket key -> bucket ARN context", B::GpKmsBk, Put, NONE, kms(Some(KARN), true, BKT_ARN, 1)),
        ok("no header: bucket default DSSE", B::GpDsse, Put, NONE, Want::Dsse { key: Some(KARN) }),
        ok("header AES256 beats bucket aws:kms", B::GpKms, Put, SSE_S3, Want::S3),
        ok("header aws:kms without key id = aws/s3", B::Gp, Put, SSE_KMS, kms(None, false, OBJ_ARN, 1)),
        ok("header aws:kms without key id ignores bucket key", B::GpKms, Put, SSE_KMS, kms(None, false, OBJ_ARN, 1)),
        ok("header aws:kms keeps bucket's bucket-key setting", B::GpKmsBk, Put, SSE_KMS, kms(None, true, BKT_ARN, 1)),
        ok("header aws:kms with key ARN", B::Gp, Put, SSE_KMS_ARN, kms(Some(KARN), false, OBJ_ARN, 1)),
        ok("header bucket-key-enabled true", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-bucket-key-enabled", "true")], kms(None, true, BKT_ARN, 1)),
        ok("header bucket-key-enabled false beats bucket", B::GpKmsBk, Put, &[("x-amz-server-side-encryption-bucket-key-enabled", "false")], kms(Some(KARN), false, OBJ_ARN, 1)),
        ok("header aws:kms:dsse with key", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms:dsse"), ("x-amz-server-side-encryption-aws-kms-key-id", KARN)], Want::Dsse { key: Some(KARN) }),
        err("DSSE with a bucket key", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms:dsse"), ("x-amz-server-side-encryption-bucket-key-enabled", "true")], "InvalidArgument", 400, None),
        ok("header alias accepted with a warning", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "alias/alias-name")], kms(Some("alias/alias-name"), false, OBJ_ARN, 1)),
        ok("CreateMultipartUpload takes the default", B::GpKms, Create, NONE, kms(Some(KARN), false, OBJ_ARN, 1)),
        ok("CreateMultipartUpload with DSSE header", B::Gp, Create, &[("x-amz-server-side-encryption", "aws:kms:dsse")], Want::Dsse { key: None }),

        // ---- unrecognized values, header combinations ----
        err("unrecognized x-amz-server-side-encryption", B::Gp, Put, &[("x-amz-server-side-encryption", "AES128")], "InvalidArgument", 400, Some(M_UNSUPPORTED)),
        err("x-amz-server-side-encryption is case-sensitive", B::Gp, Put, &[("x-amz-server-side-encryption", "aes256")], "InvalidArgument", 400, Some(M_UNSUPPORTED)),
        err("empty x-amz-server-side-encryption", B::Gp, Put, &[("x-amz-server-side-encryption", "")], "InvalidArgument", 400, Some(M_UNSUPPORTED)),
        err("aws:fsx on a general purpose bucket", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:fsx")], "InvalidRequest", 400, Some(M_UNSUPPORTED)),
        err("KMS key id without any SSE header", B::GpKms, Put, &[("x-amz-server-side-encryption-aws-kms-key-id", KARN)], "InvalidArgument", 400, Some(M_KMS_HDR)),
        err("KMS key id with AES256", B::Gp, Put, &[("x-amz-server-side-encryption", "AES256"), ("x-amz-server-side-encryption-aws-kms-key-id", KARN)], "InvalidArgument", 400, Some(M_KMS_HDR)),
        err("context with AES256", B::Gp, Put, &[("x-amz-server-side-encryption", "AES256"), ("x-amz-server-side-encryption-context", "$CTX")], "InvalidArgument", 400, Some(M_KMS_HDR)),
        err("malformed KMS key id", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "nope")], "KMS.NotFoundException", 400, Some(M_KEY_NOT_FOUND)),
        err("bucket-key-enabled not a boolean", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-bucket-key-enabled", "yes")], "InvalidArgument", 400, None),
        err("repeated x-amz-server-side-encryption", B::Gp, Put, &[("x-amz-server-side-encryption", "AES256"), ("x-amz-server-side-encryption", "aws:kms")], "InvalidArgument", 400, None),

        // ---- encryption context ----
        ok("caller context kept, aws:s3:arn added", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "$CTX")], kms(None, false, OBJ_ARN, 2)),
        ok("caller context with the right aws:s3:arn", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "$CTX_ARN_OK")], kms(None, false, OBJ_ARN, 2)),
        err("caller context naming another object", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "$CTX_ARN_BAD")], "InvalidArgument", 400, None),
        err("context not a string map", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "$CTX_NUM")], "InvalidArgument", 400, None),
        err("context not base64", B::Gp, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "{not base64}")], "InvalidArgument", 400, None),

        // ---- SSE-C on writes ----
        ok("SSE-C PutObject", B::Gp, Put, SSEC_A, Want::SseC),
        ok("SSE-C beats the bucket default", B::GpKms, Put, SSEC_A, Want::SseC),
        ok("SSE-C CreateMultipartUpload", B::Gp, Create, SSEC_A, Want::SseC),
        http(err("SSE-C over plain HTTP", B::Gp, Put, SSEC_A, "InvalidRequest", 400, Some(M_SSEC_TLS))),
        err("SSE-C with x-amz-server-side-encryption", B::Gp, Put, &[("x-amz-server-side-encryption", "AES256"), ("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "$KA"), ("x-amz-server-side-encryption-customer-key-MD5", "$MA")], "InvalidArgument", 400, Some(M_SSEC_INCOMPAT)),
        err("SSE-C with a KMS key id", B::Gp, Put, &[("x-amz-server-side-encryption-aws-kms-key-id", KID), ("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "$KA"), ("x-amz-server-side-encryption-customer-key-MD5", "$MA")], "InvalidArgument", 400, Some(M_SSEC_INCOMPAT)),
        err("SSE-C algorithm not AES256", B::Gp, Put, &[("x-amz-server-side-encryption-customer-algorithm", "AES128"), ("x-amz-server-side-encryption-customer-key", "$KA"), ("x-amz-server-side-encryption-customer-key-MD5", "$MA")], "InvalidEncryptionAlgorithmError", 400, Some(M_SSEC_ALG_BAD)),
        err("SSE-C algorithm missing", B::Gp, Put, &[("x-amz-server-side-encryption-customer-key", "$KA"), ("x-amz-server-side-encryption-customer-key-MD5", "$MA")], "InvalidArgument", 400, Some(M_SSEC_ALG_MISSING)),
        err("SSE-C key missing", B::Gp, Put, &[("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key-MD5", "$MA")], "InvalidArgument", 400, Some(M_SSEC_KEY_MISSING)),
        err("SSE-C key of 31 bytes", B::Gp, Put, &[("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "$K31"), ("x-amz-server-side-encryption-customer-key-MD5", "$M31")], "InvalidArgument", 400, Some(M_SSEC_KEY_BAD)),
        err("SSE-C key not base64", B::Gp, Put, &[("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "***"), ("x-amz-server-side-encryption-customer-key-MD5", "$MA")], "InvalidArgument", 400, Some(M_SSEC_KEY_BAD)),
        err("SSE-C MD5 missing", B::Gp, Put, &[("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "$KA")], "InvalidArgument", 400, Some(M_SSEC_MD5_MISSING)),
        err("SSE-C MD5 mismatch", B::Gp, Put, &[("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "$KA"), ("x-amz-server-side-encryption-customer-key-MD5", "$MB")], "InvalidArgument", 400, Some(M_SSEC_MD5_BAD)),
        err("SSE-C write to a bucket blocking SSE-C", B::GpBlock, Put, SSEC_A, "AccessDenied", 403, Some(M_DENIED)),
        err("SSE-C CreateMultipartUpload in a blocking bucket", B::GpBlock, Create, SSEC_A, "AccessDenied", 403, Some(M_DENIED)),
        ok("blocking bucket still takes SSE-S3", B::GpBlock, Put, NONE, Want::S3),

        // ---- multipart ----
        ok("UploadPart of SSE-C upload with its key", B::Gp, Part(S::SseC), SSEC_A, Want::SseC),
        err("UploadPart of SSE-C upload without key", B::Gp, Part(S::SseC), NONE, "InvalidRequest", 400, Some(M_SSEC_PART)),
        err("UploadPart of SSE-C upload with another key", B::Gp, Part(S::SseC), SSEC_B, "AccessDenied", 403, Some(M_DENIED)),
        http(err("UploadPart with SSE-C over HTTP", B::Gp, Part(S::SseC), SSEC_A, "InvalidRequest", 400, Some(M_SSEC_TLS))),
        err("UploadPart of SSE-C upload after the bucket blocks SSE-C", B::GpBlock, Part(S::SseC), SSEC_A, "AccessDenied", 403, Some(M_DENIED)),
        ok("UploadPart of SSE-KMS upload uses the upload's key", B::Gp, Part(S::Kms), NONE, kms(Some(KARN2), false, "arn:aws:s3:::src/o", 2)),
        ok("UploadPart of SSE-S3 upload", B::GpKms, Part(S::S3), NONE, Want::S3),
        err("UploadPart with x-amz-server-side-encryption", B::Gp, Part(S::S3), SSE_S3, "InvalidArgument", 400, Some(M_HDR_NOT_SUPPORTED)),
        err("UploadPart of SSE-S3 upload with an SSE-C key", B::Gp, Part(S::S3), SSEC_A, "InvalidRequest", 400, Some(M_NOT_APPLICABLE)),
        err("UploadPartCopy of SSE-C upload without key", B::Gp, PartCopy(S::SseC, S::S3), NONE, "InvalidRequest", 400, Some(M_SSEC_PART)),
        err("UploadPartCopy from SSE-C source without its key", B::Gp, PartCopy(S::S3, S::SseC), NONE, "InvalidRequest", 400, Some(M_SSEC_GET)),
        ok("UploadPartCopy SSE-C into SSE-C with both keys", B::Gp, PartCopy(S::SseC, S::SseC), BOTH_A, Want::SseC),
        ok("Complete of SSE-C upload needs no key", B::Gp, Complete(S::SseC), NONE, Want::NoData),
        ok("Complete of SSE-C upload with its key", B::Gp, Complete(S::SseC), SSEC_A, Want::NoData),
        err("Complete of SSE-C upload with another key", B::Gp, Complete(S::SseC), SSEC_B, "AccessDenied", 403, Some(M_DENIED)),
        err("Complete with x-amz-server-side-encryption", B::Gp, Complete(S::Kms), SSE_KMS, "InvalidArgument", 400, Some(M_HDR_NOT_SUPPORTED)),

        // ---- CopyObject ----
        ok("Copy: source SSE-KMS not inherited, base level", B::Gp, Copy(S::Kms), NONE, Want::S3),
        ok("Copy: destination default applies", B::GpKms, Copy(S::S3), NONE, kms(Some(KARN), false, OBJ_ARN, 1)),
        ok("Copy: context not copied from source", B::Gp, Copy(S::Kms), SSE_KMS, kms(None, false, OBJ_ARN, 1)),
        ok("Copy: request header beats destination default", B::GpKms, Copy(S::Dsse), SSE_S3, Want::S3),
        ok("Copy: SSE-C source with copy-source key", B::GpKms, Copy(S::SseC), COPY_A, kms(Some(KARN), false, OBJ_ARN, 1)),
        err("Copy: SSE-C source without copy-source key", B::Gp, Copy(S::SseC), NONE, "InvalidRequest", 400, Some(M_SSEC_GET)),
        err("Copy: SSE-C source with the wrong copy-source key", B::Gp, Copy(S::SseC), COPY_B, "AccessDenied", 403, Some(M_DENIED)),
        err("Copy: copy-source key for a non-SSE-C source", B::Gp, Copy(S::S3), COPY_A, "InvalidRequest", 400, Some(M_NOT_APPLICABLE)),
        http(err("Copy: copy-source SSE-C over HTTP", B::Gp, Copy(S::SseC), COPY_A, "InvalidRequest", 400, Some(M_SSEC_TLS))),
        err("Copy: bad copy-source SSE-C algorithm", B::Gp, Copy(S::SseC), &[("x-amz-copy-source-server-side-encryption-customer-algorithm", "AES"), ("x-amz-copy-source-server-side-encryption-customer-key", "$KA"), ("x-amz-copy-source-server-side-encryption-customer-key-MD5", "$MA")], "InvalidEncryptionAlgorithmError", 400, Some(M_SSEC_ALG_BAD)),
        ok("Copy: SSE-C target", B::Gp, Copy(S::S3), SSEC_B, Want::SseC),
        ok("Copy: SSE-C source into SSE-C target", B::Gp, Copy(S::SseC), BOTH_A, Want::SseC),
        err("Copy: SSE-C target in a blocking bucket", B::GpBlock, Copy(S::S3), SSEC_A, "AccessDenied", 403, Some(M_DENIED)),
        ok("Copy: SSE-C source read into a blocking bucket", B::GpBlock, Copy(S::SseC), COPY_A, Want::S3),

        // ---- directory buckets ----
        ok("directory: no config, SSE-S3", B::Dir, Put, NONE, Want::S3),
        ok("directory: default key, bucket ARN context", B::DirKms, Put, NONE, kms(Some(KARN), true, DIR_ARN, 1)),
        ok("directory: aws:kms header uses the bucket's key", B::DirKms, Put, SSE_KMS, kms(Some(KARN), true, DIR_ARN, 1)),
        ok("directory: same key named by id", B::DirKms, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", KID)], kms(Some(KID), true, DIR_ARN, 1)),
        ok("directory: bucket ARN context accepted", B::DirKms, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "$CTX_DIR")], kms(Some(KARN), true, DIR_ARN, 1)),
        err("directory: another key refused", B::DirKms, Copy(S::S3), &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", KARN2)], "InvalidArgument", 400, None),
        err("directory: alias refused", B::DirKms, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "alias/alias-name")], "InvalidArgument", 400, None),
        err("directory: aws/s3 managed key refused", B::Dir, Put, SSE_KMS, "InvalidArgument", 400, None),
        err("directory: context other than bucket ARN", B::DirKms, Put, &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "$CTX")], "InvalidArgument", 400, None),
        err("directory: DSSE refused", B::DirKms, Put, &[("x-amz-server-side-encryption", "aws:kms:dsse")], "InvalidRequest", 400, Some(M_UNSUPPORTED)),
        err("directory: SSE-C refused", B::Dir, Put, SSEC_A, "InvalidRequest", 400, Some(M_UNSUPPORTED)),

        // ---- FSx access points ----
        ok("FSx: no header, aws:fsx", B::Fsx, Put, NONE, Want::Fsx),
        ok("FSx: aws:fsx header", B::Fsx, Put, &[("x-amz-server-side-encryption", "aws:fsx")], Want::Fsx),
        err("FSx: AES256 refused", B::Fsx, Put, SSE_S3, "InvalidRequest", 400, Some(M_UNSUPPORTED)),
        err("FSx: aws:kms refused", B::Fsx, Create, SSE_KMS, "InvalidRequest", 400, Some(M_UNSUPPORTED)),
        err("FSx: SSE-C refused", B::Fsx, Put, SSEC_A, "InvalidRequest", 400, Some(M_UNSUPPORTED)),

        // ---- GET / HEAD ----
        ok("GET SSE-S3 without headers", B::Gp, Get(S::S3), NONE, Want::Read),
        ok("GET FSx object", B::Fsx, Get(S::Fsx), NONE, Want::Read),
        err("GET SSE-S3 with x-amz-server-side-encryption", B::Gp, Get(S::S3), SSE_S3, "InvalidArgument", 400, Some(M_HDR_NOT_SUPPORTED)),
        err("GET SSE-KMS with x-amz-server-side-encryption", B::Gp, Get(S::Kms), SSE_KMS, "InvalidArgument", 400, Some(M_HDR_NOT_SUPPORTED)),
        err("HEAD SSE-KMS with a KMS key id", B::Gp, Head(S::Kms), &[("x-amz-server-side-encryption-aws-kms-key-id", KARN2)], "InvalidArgument", 400, Some(M_HDR_NOT_SUPPORTED)),
        err("GET DSSE with a context", B::Gp, Get(S::Dsse), &[("x-amz-server-side-encryption-context", "$CTX")], "InvalidArgument", 400, Some(M_HDR_NOT_SUPPORTED)),
        err("GET SSE-C without its key", B::Gp, Get(S::SseC), NONE, "InvalidRequest", 400, Some(M_SSEC_GET)),
        err("HEAD SSE-C without its key", B::Gp, Head(S::SseC), NONE, "InvalidRequest", 400, Some(M_SSEC_GET)),
        ok("GET SSE-C with its key", B::Gp, Get(S::SseC), SSEC_A, Want::Read),
        ok("GET SSE-C in a bucket that now blocks SSE-C", B::GpBlock, Get(S::SseC), SSEC_A, Want::Read),
        err("GET SSE-C with another key (403, see docs)", B::Gp, Get(S::SseC), SSEC_B, "AccessDenied", 403, Some(M_DENIED)),
        err("HEAD SSE-C with another key", B::Gp, Head(S::SseC), SSEC_B, "AccessDenied", 403, Some(M_DENIED)),
        http(err("GET SSE-C over plain HTTP", B::Gp, Get(S::SseC), SSEC_A, "InvalidRequest", 400, Some(M_SSEC_TLS))),
        err("GET SSE-C with a bad MD5", B::Gp, Get(S::SseC), &[("x-amz-server-side-encryption-customer-algorithm", "AES256"), ("x-amz-server-side-encryption-customer-key", "$KA"), ("x-amz-server-side-encryption-customer-key-MD5", "$MB")], "InvalidArgument", 400, Some(M_SSEC_MD5_BAD)),
        err("GET SSE-S3 with SSE-C headers", B::Gp, Get(S::S3), SSEC_A, "InvalidRequest", 400, Some(M_NOT_APPLICABLE)),
    ]
}

#[allow(clippy::large_enum_variant, reason = "one per table row, never copied")]
enum Outcome {
    Write(WritePlan),
    Read(ReadPlan),
    Config,
}

fn run(row: &Row) -> Result<Outcome, PolicyError> {
    let b = bucket(row.bucket);
    let mut headers = HeaderMap::new();
    for (n, v) in row.headers {
        headers.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(&expand(v)).unwrap(),
        );
    }
    let (upload, source, read);
    let op = match row.op {
        Op::PutCfg(xml) | Op::PutCfgRefuseAlias(xml) => {
            let huge;
            let xml = if xml == CFG_HUGE {
                huge = format!("{CFG_S3}{}", " ".repeat(20_000));
                huge.as_str()
            } else {
                xml
            };
            let policy = if matches!(row.op, Op::PutCfgRefuseAlias(_)) {
                AliasPolicy::Refuse
            } else {
                AliasPolicy::Warn
            };
            let parsed = put_bucket_encryption(&b, xml.as_bytes(), policy)?;
            // What is accepted is written back identically.
            let mut b2 = b.clone();
            b2.set_encryption(parsed.encryption.clone());
            let back = get_bucket_encryption(&b2)?;
            assert_eq!(
                parse_bucket_encryption(back.as_bytes(), AliasPolicy::Warn)?.encryption,
                parsed.encryption
            );
            return Ok(Outcome::Config);
        }
        Op::GetCfg => {
            get_bucket_encryption(&b)?;
            return Ok(Outcome::Config);
        }
        Op::Get(s) | Op::Head(s) => {
            read = stored(s);
            let op = if matches!(row.op, Op::Get(_)) {
                ReadOp::GetObject
            } else {
                ReadOp::HeadObject
            };
            return resolve_read(&ReadRequest {
                op,
                stored: &read,
                headers: &headers,
                secure_transport: row.tls,
            })
            .map(Outcome::Read);
        }
        Op::Put => WriteOp::PutObject,
        Op::Create => WriteOp::CreateMultipartUpload,
        Op::Part(u) => {
            upload = stored(u);
            WriteOp::UploadPart { upload: &upload }
        }
        Op::PartCopy(u, s) => {
            upload = stored(u);
            source = stored(s);
            WriteOp::UploadPartCopy {
                upload: &upload,
                source: &source,
            }
        }
        Op::Complete(u) => {
            upload = stored(u);
            WriteOp::CompleteMultipartUpload { upload: &upload }
        }
        Op::Copy(s) => {
            source = stored(s);
            WriteOp::CopyObject { source: &source }
        }
    };
    resolve_write(&WriteRequest {
        op,
        bucket: &b,
        object_key: "obj",
        headers: &headers,
        secure_transport: row.tls,
        alias_policy: AliasPolicy::Warn,
    })
    .map(Outcome::Write)
}

fn key_str(k: &Option<KeyRef>) -> Option<String> {
    k.as_ref().map(ToString::to_string)
}

fn check(row: &Row) -> Result<(), String> {
    let got = run(row);
    // A write happens exactly when a write operation resolves.
    let wrote =
        matches!(got, Ok(Outcome::Write(_)) | Ok(Outcome::Config)) && !matches!(row.op, Op::GetCfg);
    if wrote != row.writes {
        return Err(format!("writes: want {}, got {wrote}", row.writes));
    }
    match (row.want, got) {
        (Want::Err(code, status, msg), Err(e)) => {
            let s = e.s3();
            if s.code != code || s.status.as_u16() != status {
                return Err(format!(
                    "want {code} {status}, got {} {} ({e:?})",
                    s.code, s.status
                ));
            }
            if let Some(m) = msg
                && s.message != m
            {
                return Err(format!("message: {:?}", s.message));
            }
            if s.status.is_server_error() {
                return Err("5xx for bad input".into());
            }
            Ok(())
        }
        (Want::Err(..), Ok(_)) => Err("want an error, got success".into()),
        (want, Err(e)) => Err(format!("want {want:?}, got {e:?} {:?}", e.s3())),
        (Want::Config, Ok(Outcome::Config)) => Ok(()),
        (Want::Read, Ok(Outcome::Read(plan))) => {
            // An SSE-C object is read with its verified key; no other object gets one.
            let sse_c = matches!(row.op, Op::Get(S::SseC) | Op::Head(S::SseC));
            if sse_c == plan.customer_key.is_some() {
                Ok(())
            } else {
                Err("customer key".into())
            }
        }
        (want, Ok(Outcome::Write(plan))) => {
            // A copy or part copy from an SSE-C source must hand back the verified source key.
            let sse_c_source = matches!(row.op, Op::Copy(S::SseC) | Op::PartCopy(_, S::SseC));
            if sse_c_source != plan.source_key.is_some() {
                return Err("source key".into());
            }
            match (want, plan.target) {
                (Want::S3, Some(Encryption::SseS3))
                | (Want::SseC, Some(Encryption::SseC { .. }))
                | (Want::Fsx, Some(Encryption::Fsx))
                | (Want::NoData, None) => Ok(()),
                (
                    Want::Kms {
                        key,
                        bk,
                        arn,
                        ctx_len,
                    },
                    Some(Encryption::SseKms {
                        key: k,
                        context,
                        bucket_key,
                    }),
                ) => {
                    if key_str(&k).as_deref() != key || bucket_key != bk {
                        return Err(format!("key {k:?} bucket_key {bucket_key}"));
                    }
                    if context.get("aws:s3:arn").map(String::as_str) != Some(arn)
                        || context.len() != ctx_len
                    {
                        return Err(format!("context {context:?}"));
                    }
                    Ok(())
                }
                (Want::Dsse { key }, Some(Encryption::DsseKms { key: k, context })) => {
                    if key_str(&k).as_deref() != key
                        || context.get("aws:s3:arn").map(String::as_str) != Some(OBJ_ARN)
                    {
                        return Err(format!("{k:?} {context:?}"));
                    }
                    Ok(())
                }
                (want, got) => Err(format!("want {want:?}, got {got:?}")),
            }
        }
        (want, Ok(_)) => Err(format!("want {want:?}, got another kind of success")),
    }
}

#[test]
fn every_rule_row() {
    let rows = rows();
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let mut names = std::collections::HashSet::new();
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            assert!(names.insert(r.rule), "duplicate row name {}", r.rule);
            check(r).err().map(|e| format!("{}: {e}", r.rule))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    println!("{} rule rows passed", rows.len());
}
