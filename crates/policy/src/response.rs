//! The encryption headers of a response.
//!
//! > Responses echo x-amz-server-side-encryption, the key id as a full key ARN,
//! > bucket-key-enabled, and for SSE-C the algorithm and key-MD5 (never the key).
//! > — S3 behaviour reference

use http::{HeaderMap, HeaderValue};

use crate::customer_key::{CustomerKey, SSE_C_ALGORITHM};
use crate::error::PolicyError;
use crate::headers::names;
use crate::resolve::StoredEncryption;

/// The response headers for an object (or upload) stored as `stored`. For SSE-C pass the
/// request's verified key, whose key-MD5 is echoed; without it only the algorithm is echoed.
///
/// # Errors
/// [`PolicyError::Internal`] if a stored key ARN is not a valid header value (stored state,
/// never request input).
pub fn response_headers(
    stored: &StoredEncryption,
    customer_key: Option<&CustomerKey>,
) -> Result<HeaderMap, PolicyError> {
    let mut out = HeaderMap::new();
    if let Some(alg) = stored.algorithm() {
        out.insert(names::SSE, HeaderValue::from_static(alg.as_str()));
    }
    let arn_value = |arn: &str| {
        HeaderValue::from_str(arn).map_err(|_| PolicyError::Internal("key ARN header value"))
    };
    match stored {
        StoredEncryption::SseKms {
            key_arn,
            bucket_key,
            ..
        } => {
            out.insert(names::KMS_KEY_ID, arn_value(key_arn)?);
            if *bucket_key {
                out.insert(names::BUCKET_KEY, HeaderValue::from_static("true"));
            }
        }
        StoredEncryption::DsseKms { key_arn, .. } => {
            out.insert(names::KMS_KEY_ID, arn_value(key_arn)?);
        }
        StoredEncryption::SseC { .. } => {
            out.insert(
                names::SSE_C_ALGORITHM,
                HeaderValue::from_static(SSE_C_ALGORITHM),
            );
            if let Some(k) = customer_key {
                let md5 = HeaderValue::from_str(&k.key_md5_base64())
                    .map_err(|_| PolicyError::Internal("base64 header value"))?;
                out.insert(names::SSE_C_KEY_MD5, md5);
            }
        }
        StoredEncryption::SseS3 | StoredEncryption::Fsx => {}
    }
    Ok(out)
}
