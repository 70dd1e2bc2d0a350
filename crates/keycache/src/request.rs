//! Cache keys: what a cached data key may be served for.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, OnceLock};

use s3seal_kms::{EncryptionContext, KeyRef, Requester};

use crate::lru::Prehashed;

/// One process-wide, randomly keyed SipHash, so untrusted context strings cannot aim collisions.
fn hasher() -> &'static RandomState {
    static H: OnceLock<RandomState> = OnceLock::new();
    H.get_or_init(RandomState::new)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Use {
    /// A data key used directly for objects.
    Data,
    /// A bucket key, only ever used as HKDF input.
    Bucket,
}

/// What an encrypt-side data key is for: key reference, requester (whose account resolves it
/// and whose bucket-owner rule applies), encryption context and partition.
///
/// A cached key is served only for a request equal in every field, so it is never served for a
/// different context or key. Build it once per stream of requests and reuse it: the hash is
/// computed here, at construction, and the fields live in one shared allocation, so the cache
/// hit path hashes nothing and usually compares one pointer (falling back to comparing every
/// field).
#[derive(Debug, Clone)]
pub struct DataKeyRequest {
    hash: u64,
    inner: Arc<Inner>,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Inner {
    key: KeyRef,
    requester: Requester,
    context: EncryptionContext,
    partition: String,
    usage: Use,
}

impl DataKeyRequest {
    /// A request in the default partition (`""`).
    #[must_use]
    pub fn new(key: KeyRef, requester: Requester, context: EncryptionContext) -> Self {
        Self::build(key, requester, context, String::new(), Use::Data)
    }

    /// The same request in another cache partition (callers that must not share data keys,
    /// e.g. tenants, use different partitions).
    #[must_use]
    pub fn with_partition(self, partition: &str) -> Self {
        let i = &self.inner;
        Self::build(
            i.key.clone(),
            i.requester.clone(),
            i.context.clone(),
            partition.to_owned(),
            i.usage,
        )
    }

    pub(crate) fn bucket(key: KeyRef, requester: Requester, bucket: &str) -> Self {
        Self::build(
            key,
            requester,
            EncryptionContext::for_bucket(bucket),
            String::new(),
            Use::Bucket,
        )
    }

    fn build(
        key: KeyRef,
        requester: Requester,
        context: EncryptionContext,
        partition: String,
        usage: Use,
    ) -> Self {
        let inner = Inner {
            key,
            requester,
            context,
            partition,
            usage,
        };
        DataKeyRequest {
            hash: hasher().hash_one(&inner),
            inner: Arc::new(inner),
        }
    }

    /// The key reference.
    #[must_use]
    pub fn key(&self) -> &KeyRef {
        &self.inner.key
    }

    /// The requester.
    #[must_use]
    pub fn requester(&self) -> &Requester {
        &self.inner.requester
    }

    /// The encryption context.
    #[must_use]
    pub fn context(&self) -> &EncryptionContext {
        &self.inner.context
    }

    /// The partition.
    #[must_use]
    pub fn partition(&self) -> &str {
        &self.inner.partition
    }

    pub(crate) fn usage(&self) -> Use {
        self.inner.usage
    }
}

impl PartialEq for DataKeyRequest {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && (Arc::ptr_eq(&self.inner, &o.inner) || self.inner == o.inner)
    }
}
impl Eq for DataKeyRequest {}

impl Hash for DataKeyRequest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Prehashed for DataKeyRequest {
    fn prehash(&self) -> u64 {
        self.hash
    }
}

/// A decrypt-side key: the blob and the context it must be opened under.
#[derive(Debug, Clone)]
pub(crate) struct DecryptKey {
    hash: u64,
    blob: Box<[u8]>,
    context: EncryptionContext,
}

impl DecryptKey {
    pub(crate) fn new(blob: &[u8], context: &EncryptionContext) -> Self {
        DecryptKey {
            hash: hasher().hash_one((blob, context)),
            blob: blob.into(),
            context: context.clone(),
        }
    }
}

impl PartialEq for DecryptKey {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && self.blob == o.blob && self.context == o.context
    }
}
impl Eq for DecryptKey {}

impl Hash for DecryptKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Prehashed for DecryptKey {
    fn prehash(&self) -> u64 {
        self.hash
    }
}
