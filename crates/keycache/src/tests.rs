//! Unit tests that need the internals (zeroization on eviction, LRU order).

use std::sync::{Arc, Weak};
use std::time::Instant;

use super::*;
use crate::lru::Prehashed;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct K(u64);
impl Prehashed for K {
    fn prehash(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

#[test]
fn lru_evicts_the_least_recently_used_and_drops_it() {
    let lru: ShardedLru<K, Arc<DataKey>> = ShardedLru::new(2);
    let now = Instant::now();
    let a = Arc::new(DataKey::from_bytes([1; 32]));
    let weak_a: Weak<DataKey> = Arc::downgrade(&a);
    assert_eq!(lru.insert(K(1), a, now), 0);
    assert_eq!(
        lru.insert(
            K(2),
            Arc::new(DataKey::from_bytes([2; 32])),
            now + Duration::from_millis(1)
        ),
        0
    );
    // Touch 1, so 2 is least recently used.
    assert!(
        lru.with(&K(1), now + Duration::from_millis(2), |_| ())
            .is_some()
    );
    assert_eq!(
        lru.insert(
            K(3),
            Arc::new(DataKey::from_bytes([3; 32])),
            now + Duration::from_millis(3)
        ),
        1
    );
    assert!(lru.with(&K(2), now, |_| ()).is_none());
    assert!(lru.with(&K(1), now, |_| ()).is_some());
    assert_eq!(lru.len(), 2);
    // Evicting 1 drops the last reference: the DataKey's zeroize-on-drop has run.
    lru.insert(
        K(4),
        Arc::new(DataKey::from_bytes([4; 32])),
        now + Duration::from_millis(9),
    );
    lru.insert(
        K(5),
        Arc::new(DataKey::from_bytes([5; 32])),
        now + Duration::from_millis(10),
    );
    assert!(weak_a.upgrade().is_none());
}

#[test]
fn capacity_is_a_bound_with_many_shards() {
    let lru: ShardedLru<K, ()> = ShardedLru::new(200);
    let now = Instant::now();
    for i in 0..5_000 {
        lru.insert(K(i), (), now);
    }
    assert!(lru.len() <= 200, "{}", lru.len());
}

#[test]
fn bucket_key_derivation_is_hkdf_sha256_of_the_documented_inputs() {
    use hkdf::Hkdf;
    use sha2::Sha256;
    let (bucket_key, salt) = ([0x11u8; 32], [0x22u8; 32]);
    let mut want = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), &bucket_key)
        .expand(b"s3seal bucket key v1", &mut want)
        .unwrap();
    let got = crate::bucket::derive(&DataKey::from_bytes(bucket_key), &salt);
    assert_eq!(got.as_bytes(), &want);
    let other = crate::bucket::derive(&DataKey::from_bytes(bucket_key), &[0x23; 32]);
    assert_ne!(other.as_bytes(), &want);
}
