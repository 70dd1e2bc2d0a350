//! Whole S3 requests through the gateway's s3s service.

use std::sync::{Mutex, OnceLock, PoisonError};

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use md5::{Digest, Md5};
use s3s::service::S3Service;
use s3seal::policy::headers::names;
use s3seal::policy::{AliasPolicy, BucketKind, parse_bucket_encryption};
use s3seal_gateway::fuzzing::{mark_transport, unauthenticated_service};
use s3seal_gateway::{Gateway, HomeOptions};
use tempfile::TempDir;

use crate::home::scratch;
use crate::take;

/// Buckets made at start: SSE-S3 default, SSE-KMS default with a bucket key, DSSE-KMS
/// default, a directory bucket and an FSx access point.
const BUCKETS: [&str; 5] = [
    "fuzz-a",
    "fuzz-kms",
    "fuzz-dsse",
    "fuzz--use1-az4--x-s3",
    "fuzz-fsx",
];
const KEYS: [&str; 4] = ["k", "dir/k2", "a%2Fb", "%F0%9F%92%A9"];
const QUERY: [&str; 24] = [
    "uploads",
    "uploadId",
    "partNumber",
    "encryption",
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "marker",
    "x-id",
    "versionId",
    "delete",
    "location",
    "max-uploads",
    "key-marker",
    "upload-id-marker",
    "max-parts",
    "part-number-marker",
    "tagging",
    "acl",
    "encoding-type",
    "response-content-type",
];
const HEADERS: [&str; 27] = [
    names::SSE,
    names::KMS_KEY_ID,
    names::CONTEXT,
    names::BUCKET_KEY,
    names::SSE_C_ALGORITHM,
    names::SSE_C_KEY,
    names::SSE_C_KEY_MD5,
    names::COPY_SSE_C_ALGORITHM,
    names::COPY_SSE_C_KEY,
    names::COPY_SSE_C_KEY_MD5,
    "range",
    "content-length",
    "content-md5",
    "content-type",
    "content-encoding",
    "x-amz-copy-source",
    "x-amz-copy-source-range",
    "x-amz-content-sha256",
    "x-amz-decoded-content-length",
    "x-amz-metadata-directive",
    "if-match",
    "if-none-match",
    "x-amz-meta-a",
    "authorization",
    "x-amz-date",
    "expect",
    "x-amz-checksum-crc32",
];

#[derive(Arbitrary, Debug)]
enum Path {
    /// `/`.
    Root,
    /// `/BUCKET` of [`BUCKETS`] (index modulo).
    Bucket(u8),
    /// `/BUCKET/KEY` of [`BUCKETS`] and [`KEYS`].
    Object(u8, u8),
    /// `/BUCKET/` and any key.
    Key(u8, String),
    /// Anything (skipped if not a valid path and query).
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Raw(Vec<u8>),
    /// A decimal number.
    Number(u32),
    /// Base64 of customer key `k` (32 bytes of `k`) and its MD5.
    CustomerKey(u8),
    CustomerKeyMd5(u8),
    /// The id of the latest CreateMultipartUpload answered.
    UploadId,
    /// `bucket/key` of [`BUCKETS`] and [`KEYS`].
    CopySource(u8, u8),
    /// A bucket-encryption or SSE value.
    Sse(u8),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Raw(Vec<u8>),
    /// CompleteMultipartUpload of these part numbers, with the ETags UploadPart answered.
    Complete(Vec<u8>),
    /// PutBucketEncryption of one of the algorithms.
    Encryption(u8, bool),
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: u8,
    path: Path,
    query: Vec<(u8, Value)>,
    headers: Vec<(u8, Value)>,
    body: Body,
    secure: bool,
}

/// What a request sequence has learned from the answers so far.
#[derive(Default)]
struct Learned {
    upload_id: String,
    etags: Vec<(u32, String)>,
}

struct Served {
    rt: tokio::runtime::Runtime,
    svc: S3Service,
    _home: TempDir,
    requests: u64,
}

/// Requests before the home is replaced by a fresh one (bounds the scratch space).
const REFRESH_AFTER: u64 = 20_000;

fn open() -> Served {
    let home = scratch();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let options = HomeOptions {
        threads: Some(1),
        ..HomeOptions::default()
    };
    let gateway = Gateway::open(home.path(), &options).expect("gateway over a fresh home");
    gateway
        .store()
        .create_bucket(
            BUCKETS[4],
            BucketKind::FsxAccessPoint,
            "000000000000",
            "us-east-1",
        )
        .expect("FSx bucket");
    let svc = unauthenticated_service(&gateway);
    let mut served = Served {
        rt,
        svc,
        _home: home,
        requests: 0,
    };
    // Bucket defaults straight into the store: the encryption route (`?encryption`) lets only
    // signed requests through (s3s's `S3Route::check_access`), so with no SigV4 it answers
    // 403 and its XML is fuzzed by `bucket_xml` instead.
    for b in &BUCKETS[..4] {
        let status = served.send(Method::PUT, &format!("/{b}"), Vec::new());
        assert_eq!(status, 200, "create {b}");
    }
    let store = gateway.store();
    for (b, alg, bucket_key) in [
        (BUCKETS[1], "aws:kms", true),
        (BUCKETS[2], "aws:kms:dsse", false),
    ] {
        let xml = format!(
            "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>\
             <SSEAlgorithm>{alg}</SSEAlgorithm></ApplyServerSideEncryptionByDefault>\
             <BucketKeyEnabled>{bucket_key}</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>"
        );
        let parsed = parse_bucket_encryption(xml.as_bytes(), AliasPolicy::Warn).expect("valid");
        let mut policy = store.bucket(b).expect("created above");
        policy.set_encryption(parsed.encryption);
        store.save_bucket(&policy).expect("saved");
    }
    served
}

impl Served {
    fn send(&mut self, method: Method, uri: &str, body: Vec<u8>) -> u16 {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost")
            .body(s3s::Body::from(Bytes::from(body)))
            .expect("fixed request");
        mark_transport(&mut req, true);
        let svc = &self.svc;
        self.rt
            .block_on(async { svc.call(req).await })
            .map_or(500, |r| r.status().as_u16())
    }
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn value(v: &Value, learned: &Learned) -> Vec<u8> {
    let key = |k: u8| [k; 32];
    match v {
        Value::Raw(b) => b.clone(),
        Value::Number(n) => n.to_string().into_bytes(),
        Value::CustomerKey(k) => STANDARD.encode(key(*k)).into_bytes(),
        Value::CustomerKeyMd5(k) => STANDARD.encode(Md5::digest(key(*k))).into_bytes(),
        Value::UploadId => learned.upload_id.clone().into_bytes(),
        Value::CopySource(b, k) => {
            format!("{}/{}", pick(&BUCKETS, *b), pick(&KEYS, *k)).into_bytes()
        }
        Value::Sse(i) => pick(
            &[
                "AES256",
                "aws:kms",
                "aws:kms:dsse",
                "aws:fsx",
                "alias/aws/s3",
            ],
            *i,
        )
        .as_bytes()
        .to_vec(),
    }
}

/// Percent-encodes what a query component cannot hold as is.
fn query_escape(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn build(r: &Req, learned: &Learned) -> Option<Request<s3s::Body>> {
    let method = match r.method % 8 {
        0 | 1 => Method::GET,
        2 | 3 => Method::PUT,
        4 => Method::POST,
        5 => Method::DELETE,
        6 => Method::HEAD,
        _ => Method::OPTIONS,
    };
    let mut uri = match &r.path {
        Path::Root => "/".to_owned(),
        Path::Bucket(b) => format!("/{}", pick(&BUCKETS, *b)),
        Path::Object(b, k) => format!("/{}/{}", pick(&BUCKETS, *b), pick(&KEYS, *k)),
        Path::Key(b, k) => format!("/{}/{k}", pick(&BUCKETS, *b)),
        Path::Raw(s) => s.clone(),
    };
    for (i, (q, v)) in r.query.iter().take(6).enumerate() {
        uri.push(if i == 0 && !uri.contains('?') {
            '?'
        } else {
            '&'
        });
        uri.push_str(pick(&QUERY, *q));
        let v = value(v, learned);
        if !v.is_empty() {
            uri.push('=');
            uri.push_str(&query_escape(&v));
        }
    }
    let body = match &r.body {
        Body::Raw(b) => b.clone(),
        Body::Complete(numbers) => {
            let mut xml = String::from("<CompleteMultipartUpload>");
            for &n in numbers.iter().take(8) {
                let n = u32::from(n % 8);
                let etag = learned
                    .etags
                    .iter()
                    .rev()
                    .find(|(m, _)| *m == n)
                    .map_or("\"0\"", |(_, e)| e.as_str());
                xml.push_str(&format!(
                    "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                ));
            }
            xml.push_str("</CompleteMultipartUpload>");
            xml.into_bytes()
        }
        Body::Encryption(alg, bucket_key) => format!(
            "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>\
             <SSEAlgorithm>{}</SSEAlgorithm></ApplyServerSideEncryptionByDefault>\
             <BucketKeyEnabled>{bucket_key}</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>",
            pick(&["AES256", "aws:kms", "aws:kms:dsse", "aws:fsx"], *alg)
        )
        .into_bytes(),
    };
    let mut req = Request::builder().method(method).uri(uri.as_str());
    req = req.header("host", "localhost");
    for (h, v) in r.headers.iter().take(8) {
        let name = HeaderName::from_static(pick(&HEADERS, *h));
        let Ok(v) = HeaderValue::from_bytes(&value(v, learned)) else {
            continue;
        };
        req = req.header(name, v);
    }
    let mut req = req.body(s3s::Body::from(Bytes::from(body))).ok()?;
    mark_transport(&mut req, r.secure);
    Some(req)
}

/// Sequences of up to four S3 requests — any method, a path over the buckets made at start
/// (SSE-S3, SSE-KMS + bucket key, DSSE-KMS, directory, FSx) or any path, query parameters and
/// headers from S3's vocabulary with any values (SSE-C keys, the upload id and part ETags
/// answered earlier in the sequence), any body — through the gateway's s3s service (routing,
/// the bucket-encryption route, aws-chunked bodies, every operation) without SigV4 (feature
/// `fuzzing` of `s3seal-gateway`: every request is anonymous; signed ones are answered
/// `NotImplemented`, and the bucket-encryption route answers 403 — s3s lets only signed
/// requests into a custom route — so the bucket defaults are set through the store). The gateway runs on a current-thread runtime over a scratch home,
/// replaced every 20,000 requests. Check: no panic, and never a 500: the store only holds what
/// the gateway wrote itself, so no `InternalError` path (corrupt stored data, a failing
/// disk) is reachable, and one is a finding (its message is printed).
pub fn gateway_request(data: &[u8]) {
    let Some(reqs) = take::<Vec<Req>>(data) else {
        return;
    };
    static SERVED: OnceLock<Mutex<Option<Served>>> = OnceLock::new();
    let mut guard = SERVED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if guard.as_ref().is_none_or(|s| s.requests >= REFRESH_AFTER) {
        *guard = None;
        *guard = Some(open());
    }
    let served = guard.as_mut().expect("opened above");
    let mut learned = Learned::default();
    for r in reqs.iter().take(4) {
        let Some(req) = build(r, &learned) else {
            continue;
        };
        served.requests += 1;
        let desc = format!("{} {}", req.method(), req.uri());
        let svc = &served.svc;
        // `Err`: s3s has no answer for the request (hyper would close the connection).
        let Some((status, headers, body)) = served.rt.block_on(async {
            let (parts, mut body) = svc.call(req).await.ok()?.into_parts();
            let bytes = body.store_all_limited(8 << 20).await.unwrap_or_default();
            Some((parts.status, parts.headers, bytes))
        }) else {
            continue;
        };
        assert!(
            status.as_u16() != 500,
            "500 for {desc} ({r:?}): {}",
            String::from_utf8_lossy(&body)
        );
        let text = String::from_utf8_lossy(&body);
        if let Some(id) = text
            .split_once("<UploadId>")
            .and_then(|(_, rest)| rest.split_once("</UploadId>"))
        {
            learned.upload_id = id.0.to_owned();
        }
        if let (Some(etag), Some(n)) = (
            headers.get("etag").and_then(|v| v.to_str().ok()),
            r.query.iter().find_map(|(q, v)| match v {
                Value::Number(n) if pick(&QUERY, *q) == "partNumber" => Some(*n),
                _ => None,
            }),
        ) {
            learned.etags.push((n, etag.to_owned()));
        }
    }
}
