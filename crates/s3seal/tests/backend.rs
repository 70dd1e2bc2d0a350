//! A storage backend written against the public API only, as docs/BACKEND.md describes it: it
//! keeps bytes and metadata — sealed bytes, envelopes, upload states, parts — and nothing else;
//! every S3 rule and every byte of cryptography is the engine's. It counts the stored bytes each
//! read fetches. The scenario runs every mode through put, get, ranged get, part get,
//! multipart with re-uploaded parts, copy and rewrap.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{
    CompletedPart, Engine, EngineBuilder, EngineConfig, EngineError, Request, StoredObject,
};

/// An object as the backend keeps it: the envelope and the sealed bytes.
#[derive(Clone)]
struct Stored {
    envelope: Vec<u8>,
    sealed: Bytes,
}

/// An upload in progress: the engine's state and the latest sealed bytes of each part.
struct Upload {
    bucket: String,
    key: String,
    state: Vec<u8>,
    parts: BTreeMap<u32, Bytes>,
}

/// The whole backend: an engine, bucket records, objects, uploads. (A real one keeps these
/// on disk or in a remote store; `s3seal-store` is the filesystem one.)
struct MemBackend {
    engine: Engine,
    buckets: HashMap<String, BucketPolicy>,
    objects: Mutex<HashMap<(String, String), Stored>>,
    uploads: Mutex<HashMap<u64, Upload>>,
    next_upload: AtomicU64,
    fetched: AtomicU64,
}

fn request<'a>(bucket: &'a BucketPolicy, key: &'a str, headers: &'a HeaderMap) -> Request<'a> {
    // This backend answers over TLS (SSE-C needs it).
    Request {
        bucket,
        key,
        headers,
        secure_transport: true,
    }
}

impl MemBackend {
    fn bucket(&self, name: &str) -> &BucketPolicy {
        &self.buckets[name]
    }

    fn object(&self, bucket: &str, key: &str) -> Result<Stored, &'static str> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or("NoSuchKey")
    }

    fn keep(&self, bucket: &str, key: &str, envelope: Vec<u8>, sealed: Bytes) {
        self.objects.lock().unwrap().insert(
            (bucket.to_owned(), key.to_owned()),
            Stored { envelope, sealed },
        );
    }

    /// PutObject.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        h: &HeaderMap,
        body: &[u8],
    ) -> Result<HeaderMap, EngineError> {
        let w = self
            .engine
            .put_object(&request(self.bucket(bucket), key, h), body)?;
        self.keep(bucket, key, w.envelope_bytes, w.sealed);
        Ok(w.headers)
    }

    /// GetObject, with an optional `Range` value or `partNumber`: plans from the envelope,
    /// fetches only the planned spans (counted), opens them.
    fn get(
        &self,
        bucket: &str,
        key: &str,
        h: &HeaderMap,
        range: Option<&str>,
        part: Option<u32>,
    ) -> Result<(Bytes, HeaderMap), EngineError> {
        let obj = self.object(bucket, key).unwrap();
        let req = request(self.bucket(bucket), key, h);
        let plan = match part {
            Some(n) => self.engine.plan_get_part(&req, &obj.envelope, n)?,
            None => self.engine.plan_get(&req, &obj.envelope, range)?,
        };
        let spans: Vec<&[u8]> = plan
            .spans()
            .into_iter()
            .map(|s| {
                self.fetched.fetch_add(s.end - s.start, Ordering::Relaxed);
                &obj.sealed[s.start as usize..s.end as usize]
            })
            .collect();
        Ok((plan.open(&spans)?, plan.headers().clone()))
    }

    /// CopyObject.
    fn copy(
        &self,
        src: (&str, &str),
        dst: (&str, &str),
        h: &HeaderMap,
    ) -> Result<HeaderMap, EngineError> {
        let s = self.object(src.0, src.1).unwrap();
        let source = StoredObject {
            bucket: self.bucket(src.0),
            key: src.1,
            envelope: &s.envelope,
            sealed: &s.sealed,
        };
        let w = self
            .engine
            .copy_object(&request(self.bucket(dst.0), dst.1, h), &source)?;
        self.keep(dst.0, dst.1, w.envelope_bytes, w.sealed);
        Ok(w.headers)
    }

    /// CreateMultipartUpload: the backend picks the upload id and keeps the engine's state.
    fn create_upload(&self, bucket: &str, key: &str, h: &HeaderMap) -> Result<u64, EngineError> {
        let up = self
            .engine
            .create_multipart_upload(&request(self.bucket(bucket), key, h))?;
        let id = self.next_upload.fetch_add(1, Ordering::Relaxed);
        let upload = Upload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            state: up.state,
            parts: BTreeMap::new(),
        };
        self.uploads.lock().unwrap().insert(id, upload);
        Ok(id)
    }

    /// UploadPart. One upload's calls are serialized (here by holding the lock): each returns
    /// the state to keep.
    fn upload_part(
        &self,
        id: u64,
        n: u32,
        h: &HeaderMap,
        body: &[u8],
    ) -> Result<String, EngineError> {
        let mut uploads = self.uploads.lock().unwrap();
        let up = uploads.get_mut(&id).unwrap();
        let req = request(self.bucket(&up.bucket), &up.key, h);
        let part = self.engine.upload_part(&req, &up.state, n, body)?;
        up.state = part.state;
        up.parts.insert(n, part.sealed);
        Ok(part.etag)
    }

    /// CompleteMultipartUpload: the engine checks the list against its state; the backend
    /// stores the named parts' sealed bytes back to back.
    fn complete(&self, id: u64, list: &[(u32, String)]) -> Result<HeaderMap, EngineError> {
        let mut uploads = self.uploads.lock().unwrap();
        let up = &uploads[&id];
        let none = HeaderMap::new();
        let parts: Vec<CompletedPart> = list
            .iter()
            .map(|(n, etag)| CompletedPart {
                part_number: *n,
                etag: etag.clone(),
            })
            .collect();
        let req = request(self.bucket(&up.bucket), &up.key, &none);
        let done = self
            .engine
            .complete_multipart_upload(&req, &up.state, &parts)?;
        let sealed: Vec<u8> = list
            .iter()
            .flat_map(|(n, _)| up.parts[n].to_vec())
            .collect();
        let (bucket, key) = (up.bucket.clone(), up.key.clone());
        uploads.remove(&id);
        drop(uploads);
        self.keep(&bucket, &key, done.envelope_bytes, Bytes::from(sealed));
        Ok(done.headers)
    }

    /// UpdateObjectEncryption: a new envelope, the same sealed bytes.
    fn rewrap(&self, bucket: &str, key: &str, h: &HeaderMap) -> Result<HeaderMap, EngineError> {
        let obj = self.object(bucket, key).unwrap();
        let done = self
            .engine
            .rewrap(&request(self.bucket(bucket), key, h), &obj.envelope)?;
        self.keep(bucket, key, done.envelope_bytes, obj.sealed);
        Ok(done.headers)
    }
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn sse_c(key: &[u8; 32]) -> Vec<(&'static str, String)> {
    vec![
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".into(),
        ),
        ("x-amz-server-side-encryption-customer-key", B64.encode(key)),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            B64.encode(Md5::digest(key)),
        ),
    ]
}

fn byte_at(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 11) as u8
}

#[test]
fn a_backend_that_keeps_only_bytes_runs_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let builder = EngineBuilder::local(dir.path())
        .unwrap()
        .threads(2)
        .config(EngineConfig {
            min_part_size: 5 << 20,
            ..EngineConfig::default()
        });
    let kms = builder.local_kms().unwrap().clone();
    let key_a = kms.create_key("a").unwrap().arn;
    let key_b = kms.create_key("b").unwrap().arn;
    let engine = builder.build().unwrap();
    let owner = "000000000000";
    let buckets = [
        (
            "gp",
            BucketPolicy::new("gp", BucketKind::GeneralPurpose, owner, "us-east-1"),
        ),
        (
            "fsx",
            BucketPolicy::new("fsx", BucketKind::FsxAccessPoint, owner, "us-east-1"),
        ),
    ]
    .into_iter()
    .map(|(n, b)| (n.to_owned(), b))
    .collect();
    let be = MemBackend {
        engine,
        buckets,
        objects: Mutex::default(),
        uploads: Mutex::default(),
        next_upload: AtomicU64::new(1),
        fetched: AtomicU64::new(0),
    };
    let sse = "x-amz-server-side-encryption";
    let kid = "x-amz-server-side-encryption-aws-kms-key-id";
    let ck = [4u8; 32];
    type Headers = Vec<(&'static str, String)>;
    let modes: Vec<(&str, &str, Headers, Headers)> = vec![
        ("SSE-S3", "gp", vec![(sse, "AES256".into())], vec![]),
        (
            "SSE-KMS",
            "gp",
            vec![(sse, "aws:kms".into()), (kid, key_a.clone())],
            vec![],
        ),
        (
            "SSE-KMS + Bucket Key",
            "gp",
            vec![
                (sse, "aws:kms".into()),
                (kid, key_a.clone()),
                (
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    "true".into(),
                ),
            ],
            vec![],
        ),
        (
            "DSSE-KMS",
            "gp",
            vec![(sse, "aws:kms:dsse".into()), (kid, key_a.clone())],
            vec![],
        ),
        ("SSE-C", "gp", sse_c(&ck), sse_c(&ck)),
        ("FSx", "fsx", vec![], vec![]),
    ];
    let data: Vec<u8> = (0..12 << 20).map(byte_at).collect();
    for (name, bucket, write, read) in &modes {
        let (wh, rh) = (headers(write), headers(read));
        // Put, get, ranged get (fetching one header and one chunk).
        be.put(bucket, "obj", &wh, &data[..3_000_000]).unwrap();
        let (body, h) = be.get(bucket, "obj", &rh, None, None).unwrap();
        assert_eq!(&body[..], &data[..3_000_000], "{name}");
        if *bucket == "gp" {
            assert!(
                h.contains_key(sse)
                    || h.contains_key("x-amz-server-side-encryption-customer-algorithm"),
                "{name}"
            );
        }
        let before = be.fetched.load(Ordering::Relaxed);
        let (body, _) = be
            .get(bucket, "obj", &rh, Some("bytes=1000000-1000009"), None)
            .unwrap();
        assert_eq!(&body[..], &data[1_000_000..1_000_010], "{name}");
        let fetched = be.fetched.load(Ordering::Relaxed) - before;
        assert!(
            fetched <= 152 + 65_536 + 32,
            "{name}: {fetched} bytes fetched for 10"
        );

        // Multipart with a re-uploaded part; part reads.
        let id = be.create_upload(bucket, "mp", &wh).unwrap();
        let p1_stale = be.upload_part(id, 1, &rh, &data[..6 << 20]).unwrap();
        let p1 = be.upload_part(id, 1, &rh, &data[..6 << 20]).unwrap();
        let p2 = be.upload_part(id, 2, &rh, &data[6 << 20..]).unwrap();
        if *name == "SSE-S3" {
            assert_eq!(
                p1_stale, p1,
                "SSE-S3 part ETags are MD5s: a re-upload keeps it"
            );
        } else if *name != "FSx" {
            assert_ne!(p1_stale, p1, "{name}: a re-upload is a new part");
            assert!(
                be.complete(id, &[(1, p1_stale.clone()), (2, p2.clone())])
                    .is_err()
            );
        }
        let h = be.complete(id, &[(1, p1), (2, p2)]).unwrap();
        assert!(h["etag"].to_str().unwrap().ends_with("-2\""), "{name}");
        let (body, _) = be.get(bucket, "mp", &rh, None, None).unwrap();
        assert!(body == data, "{name}: multipart object");
        let (body, h) = be.get(bucket, "mp", &rh, None, Some(2)).unwrap();
        assert!(body[..] == data[6 << 20..], "{name}: part 2");
        assert_eq!(h["x-amz-mp-parts-count"], "2");
        let before = be.fetched.load(Ordering::Relaxed);
        let (body, _) = be
            .get(bucket, "mp", &rh, Some("bytes=7000000-7000000"), None)
            .unwrap();
        assert_eq!(body[0], data[7_000_000]);
        assert!(
            be.fetched.load(Ordering::Relaxed) - before <= 152 + 65_536 + 32,
            "{name}"
        );

        // Copy into SSE-KMS on the general purpose bucket (the source's key where SSE-C).
        let mut copy_h = headers(&[(sse, "aws:kms".into()), (kid, key_b.clone())]);
        if *name == "SSE-C" {
            for (k, v) in sse_c(&ck) {
                let k = k.replace("x-amz-", "x-amz-copy-source-");
                copy_h.insert(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(&v).unwrap(),
                );
            }
        }
        be.copy((bucket, "obj"), ("gp", "copied"), &copy_h).unwrap();
        let (body, h) = be
            .get("gp", "copied", &HeaderMap::new(), None, None)
            .unwrap();
        assert_eq!(&body[..], &data[..3_000_000], "{name}: copy");
        assert_eq!(h[kid], key_b.as_str());

        // Rewrap to key B where the mode allows it: no sealed byte changes.
        let target = match *name {
            "SSE-S3" | "SSE-KMS" => vec![(sse, "aws:kms".into()), (kid, key_b.clone())],
            "SSE-KMS + Bucket Key" => vec![
                (sse, "aws:kms".into()),
                (kid, key_b.clone()),
                (
                    "x-amz-server-side-encryption-bucket-key-enabled",
                    "true".into(),
                ),
            ],
            "DSSE-KMS" => vec![(sse, "aws:kms:dsse".into()), (kid, key_b.clone())],
            _ => continue,
        };
        for key in ["obj", "mp"] {
            let before = be.object(bucket, key).unwrap();
            let h = be.rewrap(bucket, key, &headers(&target)).unwrap();
            assert_eq!(h[kid], key_b.as_str(), "{name}");
            assert_eq!(be.object(bucket, key).unwrap().sealed, before.sealed);
            let (body, _) = be.get(bucket, key, &rh, Some("bytes=0-99"), None).unwrap();
            assert_eq!(&body[..], &data[..100], "{name}: rewrapped {key}");
        }
    }
}
