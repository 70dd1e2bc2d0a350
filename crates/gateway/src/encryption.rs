//! PutBucketEncryption, GetBucketEncryption and DeleteBucketEncryption (`?encryption` on a
//! bucket), routed before s3s's own XML parsing so the body reaches the policy crate as sent:
//! its parser gives S3's exact refusals (MalformedXML, InvalidArgument for an unknown
//! algorithm, the directory-bucket and FSx rules, …).

use http::{HeaderMap, Method, StatusCode, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};
use s3seal::policy::config::MAX_CONFIG_XML_LEN;
use s3seal::policy::{
    AliasPolicy, PolicyError, delete_bucket_encryption, get_bucket_encryption,
    put_bucket_encryption,
};
use s3seal_store::Store;
use std::sync::Arc;

use crate::error::{Failed, internal};

/// The `?encryption` route.
pub(crate) struct EncryptionRoute {
    pub(crate) store: Arc<Store>,
}

/// The bucket a path-style bucket request names (`/bucket` or `/bucket/`), if that is all it
/// names.
fn bucket_of(uri: &Uri) -> Option<&str> {
    let p = uri.path().strip_prefix('/')?;
    let p = p.strip_suffix('/').unwrap_or(p);
    (!p.is_empty() && !p.contains('/')).then_some(p)
}

fn is_encryption_query(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == "encryption" || kv.starts_with("encryption="))
    })
}

fn policy(e: &PolicyError) -> Failed {
    let s = e.s3();
    Failed(crate::error::s3_error(s.code, s.status, s.message))
}

#[async_trait::async_trait]
impl S3Route for EncryptionRoute {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        _headers: &HeaderMap,
        _extensions: &mut http::Extensions,
    ) -> bool {
        matches!(*method, Method::PUT | Method::GET | Method::DELETE)
            && is_encryption_query(uri)
            && bucket_of(uri).is_some()
    }

    async fn call(&self, mut req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let bucket = bucket_of(&req.uri).unwrap_or_default().to_owned();
        let body = if req.method == Method::PUT {
            Some(
                req.input
                    .store_all_limited(MAX_CONFIG_XML_LEN)
                    .await
                    .map_err(|_| policy(&PolicyError::XmlTooLarge))?,
            )
        } else {
            None
        };
        let store = self.store.clone();
        let method = req.method.clone();
        let run = move || -> Result<S3Response<Body>, Failed> {
            let mut b = store.bucket(&bucket)?;
            match method {
                Method::PUT => {
                    let xml = body.unwrap_or_default();
                    let parsed = put_bucket_encryption(&b, &xml, AliasPolicy::Warn)
                        .map_err(|e| policy(&e))?;
                    b.set_encryption(parsed.encryption);
                    store.save_bucket(&b)?;
                    Ok(S3Response::new(Body::empty()))
                }
                Method::GET => {
                    let xml = get_bucket_encryption(&b).map_err(|e| policy(&e))?;
                    let mut r = S3Response::new(Body::from(format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}"
                    )));
                    r.headers.insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/xml"),
                    );
                    Ok(r)
                }
                _ => {
                    delete_bucket_encryption(&mut b).map_err(|e| policy(&e))?;
                    store.save_bucket(&b)?;
                    let mut r = S3Response::new(Body::empty());
                    r.status = Some(StatusCode::NO_CONTENT);
                    Ok(r)
                }
            }
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Err(internal()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_bucket_encryption_requests_only() {
        let u = |s: &str| s.parse::<Uri>().unwrap_or_default();
        assert_eq!(bucket_of(&u("/bkt?encryption")), Some("bkt"));
        assert_eq!(bucket_of(&u("/bkt/?encryption=")), Some("bkt"));
        assert_eq!(bucket_of(&u("/bkt/key?encryption")), None);
        assert!(is_encryption_query(&u("/bkt?encryption")));
        assert!(is_encryption_query(&u("/bkt?x=1&encryption=")));
        assert!(!is_encryption_query(&u("/bkt?encryptionx")));
        assert!(!is_encryption_query(&u("/bkt")));
    }
}
