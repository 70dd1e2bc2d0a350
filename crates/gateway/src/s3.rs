//! The S3 operations: each one parses what s3s decoded, runs the engine and the store on a
//! blocking thread (the engine's crypto on its own rayon pool), and answers with the engine's
//! response headers or S3's error. A refused request writes nothing: every write goes to a
//! scratch file first and is published only after the engine accepted the whole request.

use std::io::{Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use s3s::dto::{self, ETag, StreamingBlob, Timestamp};
use s3s::{S3, S3Request, S3Response, S3Result};
use s3seal::policy::{BucketKind, BucketPolicy, check_bucket_name, check_object_key};
use s3seal::{CompletedPart, Engine, ObjectEnvelope, Request, StoredObject};
use s3seal_store::{NewData, Store, StoreError};
use tokio::runtime::Handle;

use crate::bridge::{BodyReader, body_channel, first_frame};
use crate::error::{Failed, internal, invalid_argument, invalid_request, no_such_upload, s3_error};
use crate::listing::{self, Page};

/// How a request reached the gateway (set by the server on every request).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transport {
    /// Over TLS.
    pub(crate) secure: bool,
}

/// The S3 service over one engine and one store.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    store: Arc<Store>,
    /// The account that owns every bucket.
    account: String,
    /// The Region of every bucket.
    region: String,
}

impl core::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gateway")
            .field("home", &self.inner.store.home())
            .finish_non_exhaustive()
    }
}

type Res<T> = Result<T, Failed>;

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Res<T> + Send + 'static) -> S3Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(internal()),
    }
}

fn secure<T>(req: &S3Request<T>) -> bool {
    req.extensions.get::<Transport>().is_some_and(|t| t.secure)
}

fn check_key(key: &str) -> Res<()> {
    check_object_key(key).map_err(|_| {
        Failed(s3_error(
            "KeyTooLongError",
            StatusCode::BAD_REQUEST,
            "Your key is too long",
        ))
    })
}

fn part_number(n: i32) -> Res<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            Failed(invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            ))
        })
}

fn response<T>(output: T, headers: HeaderMap) -> S3Response<T> {
    let mut r = S3Response::new(output);
    r.headers = headers;
    r
}

fn etag(unquoted: &str) -> ETag {
    ETag::Strong(unquoted.trim_matches('"').to_owned())
}

fn header_etag(headers: &HeaderMap) -> Option<ETag> {
    headers
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(etag)
}

/// A copy source: `bucket/key`.
fn copy_source(src: &dto::CopySource) -> Res<(String, String)> {
    match src {
        dto::CopySource::Bucket { bucket, key, .. } => Ok((bucket.to_string(), key.to_string())),
        _ => Err(Failed(invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        ))),
    }
}

/// `bytes=A-B` of `x-amz-copy-source-range` (both ends required, as S3).
pub(crate) fn copy_range(v: &str, len: u64) -> Res<Range<u64>> {
    let bad = || {
        Failed(invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        ))
    };
    let (a, b) = v
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b || b >= len {
        return Err(Failed(s3_error(
            "InvalidRange",
            StatusCode::RANGE_NOT_SATISFIABLE,
            "The requested range is not satisfiable",
        )));
    }
    Ok(a..b + 1)
}

/// The source of a copy: its bucket's policy, key, envelope and sealed bytes.
struct Source {
    policy: BucketPolicy,
    key: String,
    envelope: Vec<u8>,
    sealed: Vec<u8>,
}

impl Source {
    fn stored(&self) -> StoredObject<'_> {
        StoredObject {
            bucket: &self.policy,
            key: &self.key,
            envelope: &self.envelope,
            sealed: &self.sealed,
        }
    }
}

/// Takes the `ETag` header out of `headers` (S3 answers a copy's or completion's ETag in XML).
fn take_etag(headers: &mut HeaderMap) -> Option<ETag> {
    headers
        .remove(http::header::ETAG)
        .and_then(|v| v.to_str().ok().map(etag))
}

/// Reads the spans of a read plan back to back from an object's data file.
struct Spans {
    file: std::fs::File,
    spans: Vec<Range<u64>>,
    at: usize,
    pos: u64,
}

impl Read for Spans {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(s) = self.spans.get(self.at) {
            if self.pos < s.end {
                let want = usize::try_from(s.end - self.pos)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let n = self.file.read_at(&mut buf[..want], self.pos)?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                self.pos += n as u64;
                return Ok(n);
            }
            self.at += 1;
            if let Some(next) = self.spans.get(self.at) {
                self.pos = next.start;
            }
        }
        Ok(0)
    }
}

impl Gateway {
    /// A gateway over `engine` and `store`; every bucket belongs to `account` in `region`.
    #[must_use]
    pub fn new(engine: Arc<Engine>, store: Arc<Store>, account: String, region: String) -> Self {
        Gateway {
            inner: Arc::new(Inner {
                engine,
                store,
                account,
                region,
            }),
        }
    }

    /// The store it serves from.
    #[must_use]
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The engine it encrypts with.
    #[must_use]
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    fn owner(&self) -> dto::Owner {
        dto::Owner {
            display_name: Some(self.inner.account.clone()),
            id: Some(self.inner.account.clone()),
        }
    }

    /// Opens a bucket's policy and runs `f` with the engine request for `key`.
    fn with_request<T>(
        &self,
        bucket: &str,
        key: &str,
        headers: &HeaderMap,
        secure: bool,
        f: impl FnOnce(&Request<'_>) -> Res<T>,
    ) -> Res<T> {
        let policy = self.inner.store.bucket(bucket)?;
        let req = Request {
            bucket: &policy,
            key,
            headers,
            secure_transport: secure,
        };
        f(&req)
    }

    /// Runs `f` on a blocking thread with the engine request for `bucket`/`key` (the bucket's
    /// policy opened from the store).
    async fn on_request<T: Send + 'static>(
        &self,
        bucket: String,
        key: String,
        headers: HeaderMap,
        secure: bool,
        f: impl FnOnce(&Gateway, &Request<'_>) -> Res<T> + Send + 'static,
    ) -> S3Result<T> {
        let this = self.clone();
        blocking(move || this.with_request(&bucket, &key, &headers, secure, |r| f(&this, r))).await
    }

    /// A scratch file holding `sealed`, to publish.
    fn stage(&self, sealed: &[u8]) -> Res<NewData> {
        let mut data = self.inner.store.new_data()?;
        data.file()
            .write_all(sealed)
            .map_err(|_| Failed(internal()))?;
        Ok(data)
    }

    /// The source object of a copy, read whole.
    fn read_source(&self, (bucket, key): &(String, String)) -> Res<Source> {
        let store = &self.inner.store;
        let policy = store.bucket(bucket)?;
        let (envelope, sealed) = store.read_object(bucket, key)?;
        Ok(Source {
            policy,
            key: key.clone(),
            envelope,
            sealed,
        })
    }

    /// Keeps a sealed part (its bytes in `data`) under its upload tag, then records it in
    /// upload `id`'s state: read, record, compare-and-swap, again while another part's record
    /// raced it. A crash between the two leaves an unrecorded file, never a record of a file
    /// that is not there.
    fn keep_part(
        &self,
        req: &Request<'_>,
        id: &str,
        part: &s3seal::SealedPart,
        data: NewData,
    ) -> Res<()> {
        let store = &self.inner.store;
        let bucket = &req.bucket.name;
        store.put_part(bucket, id, part.part_number, &part.upload_tag, data)?;
        for _ in 0..1000 {
            let (_, current) = store.upload(bucket, id)?;
            let next = self.inner.engine.record_part(req, &current, part)?;
            match store.replace_upload_state(bucket, id, &current, &next) {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(Failed(internal()))
    }

    /// Loads upload `id` of `key`: its state.
    fn upload_state(&self, bucket: &str, key: &str, id: &str) -> Res<Vec<u8>> {
        let (k, state) = self.inner.store.upload(bucket, id)?;
        if k != key {
            return Err(Failed(no_such_upload()));
        }
        Ok(state)
    }
}

#[async_trait::async_trait]
impl S3 for Gateway {
    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let name = req.input.bucket.clone();
        let declared_directory = req
            .input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.bucket.as_ref())
            .and_then(|b| b.type_.as_ref())
            .is_some_and(|t| t.as_str() == dto::BucketType::DIRECTORY);
        // As in S3: `--x-s3` names (or a `Directory` bucket type) are directory buckets,
        // everything else general purpose. FSx access points are not created over S3 (nor are
        // they in AWS): `s3seal bucket create NAME --kind fsx` makes one, which is then served.
        let kind = if declared_directory || name.ends_with("--x-s3") {
            BucketKind::Directory
        } else {
            BucketKind::GeneralPurpose
        };
        check_bucket_name(&name, kind).map_err(|_| {
            s3_error(
                "InvalidBucketName",
                StatusCode::BAD_REQUEST,
                "The specified bucket is not valid.",
            )
        })?;
        let this = self.clone();
        blocking(move || {
            let inner = &this.inner;
            // The SSE-S3 root key every bucket's default needs exists before the bucket does.
            if let Some(local) = inner.engine.local_kms() {
                local.sse_s3_root_key().map_err(s3seal::EngineError::from)?;
            }
            inner
                .store
                .create_bucket(&name, kind, &inner.account, &inner.region)?;
            let output = dto::CreateBucketOutput {
                location: Some(format!("/{name}")),
            };
            Ok(S3Response::new(output))
        })
        .await
    }

    async fn list_buckets(
        &self,
        _req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        let this = self.clone();
        blocking(move || {
            let buckets = this
                .inner
                .store
                .list_buckets()?
                .into_iter()
                .map(|b| dto::Bucket {
                    name: Some(b.name),
                    creation_date: Some(Timestamp::from(b.created)),
                    bucket_region: Some(this.inner.region.clone()),
                })
                .collect();
            Ok(S3Response::new(dto::ListBucketsOutput {
                buckets: Some(buckets),
                owner: Some(this.owner()),
                ..Default::default()
            }))
        })
        .await
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        let this = self.clone();
        let name = req.input.bucket;
        blocking(move || {
            this.inner.store.bucket(&name)?;
            Ok(S3Response::new(dto::HeadBucketOutput {
                bucket_region: Some(this.inner.region.clone()),
                ..Default::default()
            }))
        })
        .await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        let this = self.clone();
        let name = req.input.bucket;
        blocking(move || {
            this.inner.store.bucket(&name)?;
            // us-east-1 is the empty constraint.
            let region = &this.inner.region;
            Ok(S3Response::new(dto::GetBucketLocationOutput {
                location_constraint: (region != "us-east-1")
                    .then(|| dto::BucketLocationConstraint::from(region.clone())),
            }))
        })
        .await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        let this = self.clone();
        let name = req.input.bucket;
        blocking(move || {
            this.inner.store.delete_bucket(&name)?;
            let mut r = S3Response::new(dto::DeleteBucketOutput {});
            r.status = Some(StatusCode::NO_CONTENT);
            Ok(r)
        })
        .await
    }

    async fn put_object(
        &self,
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        let secure = secure(&req);
        let (bucket, key) = (req.input.bucket, req.input.key);
        check_key(&key)?;
        let body = BodyReader::new(req.input.body, Handle::current());
        let headers = req.headers;
        self.on_request(bucket, key, headers, secure, move |this, r| {
            let (bucket, key) = (r.bucket.name.clone(), r.key.to_owned());
            let store = &this.inner.store;
            let mut data = store.new_data()?;
            let done = this.inner.engine.put_object_stream(r, body, data.file())?;
            store.publish(&bucket, &key, &done.envelope_bytes, data)?;
            Ok(response(dto::PutObjectOutput::default(), done.headers))
        })
        .await
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        let secure = secure(&req);
        let (bucket, key) = (req.input.bucket, req.input.key);
        let range = req
            .headers
            .get(http::header::RANGE)
            .map(|v| v.to_str().map(str::to_owned))
            .transpose()
            .map_err(|_| invalid_argument("Invalid Range header"))?;
        let part = req.input.part_number.map(part_number).transpose()?;
        if part.is_some() && range.is_some() {
            return Err(invalid_request(
                "Cannot specify both Range header and partNumber query parameter",
            ));
        }
        let ranged = range.is_some() || part.is_some();
        let headers = req.headers;
        let this = self.clone();
        let (mut writer, rx) = body_channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let (plan_tx, plan_rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let planned = this.with_request(&bucket, &key, &headers, secure, |r| {
                let obj = this.inner.store.open_object(&bucket, &key)?;
                let plan = match part {
                    Some(n) => this.inner.engine.plan_get_part(r, &obj.envelope, n)?,
                    None => this
                        .inner
                        .engine
                        .plan_get(r, &obj.envelope, range.as_deref())?,
                };
                Ok((plan, obj))
            });
            let (plan, obj) = match planned {
                Ok(p) => p,
                Err(e) => {
                    let _ = plan_tx.send(Err(e));
                    return;
                }
            };
            let _ = plan_tx.send(Ok((
                plan.headers().clone(),
                plan.range(),
                plan.object_len(),
                obj.modified,
            )));
            let spans = plan.spans();
            let first = spans.first().map_or(0, |s| s.start);
            let reader = Spans {
                file: obj.data,
                spans,
                at: 0,
                pos: first,
            };
            let result = plan.stream(reader, &mut writer);
            if let Err(e) = &result {
                writer.fail(std::io::Error::other(e.to_string()));
            }
            let _ = done_tx.send(result);
        });
        let (mut headers, range, len, modified) = match plan_rx.await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(internal()),
        };
        let body = match first_frame(rx).await {
            Ok(b) => b,
            Err(_) => {
                return Err(match done_rx.await {
                    Ok(Err(e)) => Failed::from(e).into(),
                    _ => internal(),
                });
            }
        };
        headers.remove(http::header::CONTENT_LENGTH);
        // A Range header or partNumber is answered 206 with Content-Range, even when it names
        // the whole object.
        let content_range = ranged.then(|| {
            if range.is_empty() {
                format!("bytes */{len}")
            } else {
                format!("bytes {}-{}/{len}", range.start, range.end - 1)
            }
        });
        let output = dto::GetObjectOutput {
            body: Some(StreamingBlob::wrap(body)),
            content_length: i64::try_from(range.end - range.start).ok(),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            last_modified: Some(Timestamp::from(modified)),
            e_tag: header_etag(&headers),
            ..Default::default()
        };
        let mut r = response(output, headers);
        if ranged {
            r.status = Some(StatusCode::PARTIAL_CONTENT);
        }
        Ok(r)
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let secure = secure(&req);
        let (bucket, key) = (req.input.bucket, req.input.key);
        let part = req.input.part_number.map(part_number).transpose()?;
        let headers = req.headers;
        self.on_request(bucket, key, headers, secure, move |this, r| {
            let (bucket, key) = (r.bucket.name.clone(), r.key.to_owned());
            let obj = this.inner.store.open_object(&bucket, &key)?;
            let engine = &this.inner.engine;
            let h = match part {
                Some(n) => engine.head_object_part(r, &obj.envelope, n)?,
                None => engine.head_object(r, &obj.envelope)?,
            };
            let output = dto::HeadObjectOutput {
                accept_ranges: Some("bytes".to_owned()),
                last_modified: Some(Timestamp::from(obj.modified)),
                ..Default::default()
            };
            let mut resp = response(output, h);
            if part.is_some() {
                resp.status = Some(StatusCode::PARTIAL_CONTENT);
            }
            Ok(resp)
        })
        .await
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket, req.input.key);
        let this = self.clone();
        blocking(move || {
            this.inner.store.bucket(&bucket)?;
            this.inner.store.delete_object(&bucket, &key)?;
            let mut r = S3Response::new(dto::DeleteObjectOutput::default());
            r.status = Some(StatusCode::NO_CONTENT);
            Ok(r)
        })
        .await
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        let bucket = req.input.bucket;
        let quiet = req.input.delete.quiet.unwrap_or(false);
        let keys: Vec<String> = req
            .input
            .delete
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect();
        if keys.len() > 1000 {
            return Err(s3_error(
                "MalformedXML",
                StatusCode::BAD_REQUEST,
                "The XML you provided was not well-formed or did not validate against our published schema",
            ));
        }
        let this = self.clone();
        blocking(move || {
            let store = &this.inner.store;
            store.bucket(&bucket)?;
            let (mut deleted, mut errors) = (Vec::new(), Vec::new());
            for key in keys {
                match store.delete_object(&bucket, &key) {
                    Ok(_) => deleted.push(dto::DeletedObject {
                        key: Some(key),
                        ..Default::default()
                    }),
                    Err(e) => {
                        let s = crate::error::store(&e);
                        errors.push(dto::Error {
                            code: Some(s.code().as_str().to_owned()),
                            key: Some(key),
                            message: s.message().map(str::to_owned),
                            version_id: None,
                        });
                    }
                }
            }
            Ok(S3Response::new(dto::DeleteObjectsOutput {
                deleted: (!quiet).then_some(deleted),
                errors: Some(errors),
                ..Default::default()
            }))
        })
        .await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let input = req.input;
        let this = self.clone();
        blocking(move || {
            let prefix = input.prefix.clone().unwrap_or_default();
            let after = match &input.continuation_token {
                Some(t) => Some(listing::decode_token(t).ok_or_else(|| {
                    Failed(invalid_argument(
                        "The continuation token provided is incorrect",
                    ))
                })?),
                None => input.start_after.clone(),
            };
            let max = listing::max_keys(input.max_keys)?;
            let keys = this.inner.store.list_keys(&input.bucket, &prefix)?;
            let page = Page::new(
                &keys,
                &prefix,
                input.delimiter.as_deref(),
                after.as_deref(),
                max,
            );
            let url = input
                .encoding_type
                .as_ref()
                .is_some_and(|e| e.as_str() == dto::EncodingType::URL);
            let enc = |s: &str| {
                if url {
                    listing::url_encode(s)
                } else {
                    s.to_owned()
                }
            };
            let mut contents = Vec::new();
            for key in &page.keys {
                // An object deleted since the listing is left out.
                let Ok(obj) = this.inner.store.open_object(&input.bucket, key) else {
                    continue;
                };
                let Ok(env) = ObjectEnvelope::from_bytes(&obj.envelope) else {
                    continue;
                };
                contents.push(dto::Object {
                    key: Some(enc(key)),
                    size: i64::try_from(env.plaintext_len).ok(),
                    e_tag: Some(etag(&env.etag)),
                    last_modified: Some(Timestamp::from(obj.modified)),
                    storage_class: Some(dto::ObjectStorageClass::from_static(
                        dto::ObjectStorageClass::STANDARD,
                    )),
                    owner: input.fetch_owner.unwrap_or(false).then(|| this.owner()),
                    ..Default::default()
                });
            }
            let common_prefixes: Vec<dto::CommonPrefix> = page
                .prefixes
                .iter()
                .map(|p| dto::CommonPrefix {
                    prefix: Some(enc(p)),
                })
                .collect();
            let output = dto::ListObjectsV2Output {
                name: Some(input.bucket.clone()),
                prefix: Some(enc(&prefix)),
                delimiter: input.delimiter.as_deref().map(enc),
                max_keys: Some(max),
                key_count: i32::try_from(contents.len() + common_prefixes.len()).ok(),
                is_truncated: Some(page.truncated),
                continuation_token: input.continuation_token.clone(),
                next_continuation_token: page.next.as_deref().map(listing::encode_token),
                start_after: input.start_after.as_deref().map(enc),
                encoding_type: input.encoding_type.clone(),
                contents: Some(contents),
                common_prefixes: (!common_prefixes.is_empty()).then_some(common_prefixes),
                ..Default::default()
            };
            Ok(S3Response::new(output))
        })
        .await
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        let secure = secure(&req);
        let (bucket, key) = (req.input.bucket, req.input.key);
        check_key(&key)?;
        let source = copy_source(&req.input.copy_source)?;
        self.on_request(bucket, key, req.headers, secure, move |this, r| {
            let src = this.read_source(&source)?;
            let w = this.inner.engine.copy_object(r, &src.stored())?;
            let data = this.stage(&w.sealed)?;
            this.inner
                .store
                .publish(&r.bucket.name, r.key, &w.envelope_bytes, data)?;
            let mut headers = w.headers;
            let output = dto::CopyObjectOutput {
                copy_object_result: Some(dto::CopyObjectResult {
                    e_tag: take_etag(&mut headers),
                    last_modified: Some(Timestamp::from(std::time::SystemTime::now())),
                    ..Default::default()
                }),
                ..Default::default()
            };
            Ok(response(output, headers))
        })
        .await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        let secure = secure(&req);
        let (bucket, key) = (req.input.bucket, req.input.key);
        check_key(&key)?;
        let headers = req.headers;
        self.on_request(bucket, key, headers, secure, move |this, r| {
            let (bucket, key) = (r.bucket.name.clone(), r.key.to_owned());
            let up = this.inner.engine.create_multipart_upload(r)?;
            let id = this.inner.store.create_upload(&bucket, &key, &up.state)?;
            let output = dto::CreateMultipartUploadOutput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                upload_id: Some(id),
                ..Default::default()
            };
            Ok(response(output, up.headers))
        })
        .await
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        let secure = secure(&req);
        let (bucket, key, id) = (req.input.bucket, req.input.key, req.input.upload_id);
        let n = part_number(req.input.part_number)?;
        let body = BodyReader::new(req.input.body, Handle::current());
        let headers = req.headers;
        self.on_request(bucket, key, headers, secure, move |this, r| {
            let (bucket, key) = (r.bucket.name.clone(), r.key.to_owned());
            let store = &this.inner.store;
            let state = this.upload_state(&bucket, &key, &id)?;
            let mut data = store.new_data()?;
            let part = this
                .inner
                .engine
                .upload_part_stream(r, &state, n, body, data.file())?;
            this.keep_part(r, &id, &part, data)?;
            Ok(response(dto::UploadPartOutput::default(), part.headers))
        })
        .await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        let secure = secure(&req);
        let (bucket, key, id) = (req.input.bucket, req.input.key, req.input.upload_id);
        let n = part_number(req.input.part_number)?;
        let source = copy_source(&req.input.copy_source)?;
        let range = req.input.copy_source_range;
        self.on_request(bucket, key, req.headers, secure, move |this, r| {
            let state = this.upload_state(&r.bucket.name, r.key, &id)?;
            let src = this.read_source(&source)?;
            let range = match &range {
                Some(v) => {
                    let len = ObjectEnvelope::from_bytes(&src.envelope)
                        .map_err(|_| Failed(internal()))?
                        .plaintext_len;
                    Some(copy_range(v, len)?)
                }
                None => None,
            };
            let part = this
                .inner
                .engine
                .upload_part_copy(r, &state, n, &src.stored(), range)?;
            let data = this.stage(&part.sealed)?;
            this.keep_part(r, &id, &part, data)?;
            let mut headers = part.headers;
            headers.remove(http::header::ETAG);
            let output = dto::UploadPartCopyOutput {
                copy_part_result: Some(dto::CopyPartResult {
                    e_tag: Some(etag(&part.etag)),
                    last_modified: Some(Timestamp::from(std::time::SystemTime::now())),
                    ..Default::default()
                }),
                ..Default::default()
            };
            Ok(response(output, headers))
        })
        .await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        let secure = secure(&req);
        let (bucket, key, id) = (req.input.bucket, req.input.key, req.input.upload_id);
        let mut parts = Vec::new();
        for p in req
            .input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
        {
            let n = p
                .part_number
                .ok_or_else(|| invalid_argument("A CompletedPart is missing its PartNumber"))?;
            parts.push(CompletedPart {
                part_number: part_number(n)?,
                etag: p.e_tag.map(ETag::into_value).unwrap_or_default(),
            });
        }
        let headers = req.headers;
        self.on_request(bucket, key, headers, secure, move |this, r| {
            let (bucket, key) = (r.bucket.name.clone(), r.key.to_owned());
            let engine = &this.inner.engine;
            let state = this.upload_state(&bucket, &key, &id)?;
            let done = engine.complete_multipart_upload(r, &state, &parts)?;
            let tags: std::collections::HashMap<u32, String> = engine
                .list_parts(r, &state)?
                .into_iter()
                .map(|p| (p.part_number, p.upload_tag))
                .collect();
            let named = parts
                .iter()
                .map(|p| {
                    tags.get(&p.part_number)
                        .map(|t| (p.part_number, t.clone()))
                        .ok_or(Failed(internal()))
                })
                .collect::<Res<Vec<_>>>()?;
            this.inner
                .store
                .complete_upload(&bucket, &id, &named, &done.envelope_bytes)?;
            let mut headers = done.headers;
            let tag = take_etag(&mut headers);
            let output = dto::CompleteMultipartUploadOutput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                location: Some(format!("/{bucket}/{key}")),
                e_tag: tag,
                ..Default::default()
            };
            Ok(response(output, headers))
        })
        .await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        let (bucket, key, id) = (req.input.bucket, req.input.key, req.input.upload_id);
        let this = self.clone();
        blocking(move || {
            this.upload_state(&bucket, &key, &id)?;
            this.inner.store.abort_upload(&bucket, &id)?;
            let mut r = S3Response::new(dto::AbortMultipartUploadOutput::default());
            r.status = Some(StatusCode::NO_CONTENT);
            Ok(r)
        })
        .await
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        let secure = secure(&req);
        let input = req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        self.on_request(bucket, key, req.headers, secure, move |this, r| {
            let (bucket, key, id) = (&input.bucket, &input.key, &input.upload_id);
            let state = this.upload_state(bucket, key, id)?;
            let max = input.max_parts.unwrap_or(1000).clamp(0, 1000);
            let marker = input.part_number_marker.unwrap_or(0);
            let all: Vec<_> = this
                .inner
                .engine
                .list_parts(r, &state)?
                .into_iter()
                .filter(|p| i64::from(p.part_number) > i64::from(marker))
                .collect();
            let take = usize::try_from(max).unwrap_or(0);
            let truncated = all.len() > take;
            let page: Vec<_> = all.into_iter().take(take).collect();
            let next = page.last().and_then(|p| i32::try_from(p.part_number).ok());
            let parts = page
                .into_iter()
                .map(|p| dto::Part {
                    part_number: i32::try_from(p.part_number).ok(),
                    size: i64::try_from(p.size).ok(),
                    e_tag: Some(etag(&p.etag)),
                    ..Default::default()
                })
                .collect();
            Ok(S3Response::new(dto::ListPartsOutput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                upload_id: Some(id.clone()),
                max_parts: Some(max),
                part_number_marker: input.part_number_marker,
                next_part_number_marker: next,
                is_truncated: Some(truncated),
                parts: Some(parts),
                owner: Some(this.owner()),
                storage_class: Some(dto::StorageClass::from_static(dto::StorageClass::STANDARD)),
                ..Default::default()
            }))
        })
        .await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        let bucket = req.input.bucket;
        let prefix = req.input.prefix.unwrap_or_default();
        let this = self.clone();
        blocking(move || {
            let uploads = this
                .inner
                .store
                .list_uploads(&bucket)?
                .into_iter()
                .filter(|(_, key)| key.starts_with(&prefix))
                .map(|(id, key)| dto::MultipartUpload {
                    key: Some(key),
                    upload_id: Some(id),
                    owner: Some(this.owner()),
                    ..Default::default()
                })
                .collect();
            Ok(S3Response::new(dto::ListMultipartUploadsOutput {
                bucket: Some(bucket.clone()),
                prefix: Some(prefix.clone()),
                uploads: Some(uploads),
                is_truncated: Some(false),
                max_uploads: Some(1000),
                ..Default::default()
            }))
        })
        .await
    }
}
