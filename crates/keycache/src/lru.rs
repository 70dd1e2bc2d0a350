//! A sharded map with LRU eviction per shard.
//!
//! Keys carry a precomputed hash ([`Prehashed`]), so a lookup hashes nothing: it picks a shard
//! from the hash, takes that shard's read lock (shared, so concurrent hits on one entry do not
//! serialise), and stamps the slot's last-use time with a relaxed atomic store. Inserts take the
//! shard's write lock; a full shard evicts its least recently used slot by a scan (inserts follow
//! a KMS call, which costs far more than the scan).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Instant;

/// A key with its hash computed once, at construction.
pub(crate) trait Prehashed: Eq + Hash {
    /// The precomputed hash.
    fn prehash(&self) -> u64;
}

/// Passes a precomputed `u64` hash through.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Prehashed` keys; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct Slot<V> {
    value: V,
    last_used: AtomicU64,
}

type Map<K, V> = HashMap<K, Slot<V>, BuildHasherDefault<IdHasher>>;

#[repr(align(128))]
struct Shard<K, V> {
    map: RwLock<Map<K, V>>,
}

/// The sharded LRU map.
pub(crate) struct ShardedLru<K, V> {
    shards: Box<[Shard<K, V>]>,
    per_shard: usize,
    epoch: Instant,
}

impl<K: Prehashed, V> ShardedLru<K, V> {
    /// A map holding at most `capacity` entries (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Up to 16 shards, each with at least 8 slots, so the total never exceeds `capacity`.
        let shards = (capacity / 8).clamp(1, 16);
        let shards = 1usize << shards.ilog2();
        ShardedLru {
            shards: (0..shards)
                .map(|_| Shard {
                    map: RwLock::new(HashMap::default()),
                })
                .collect(),
            per_shard: capacity / shards,
            epoch: Instant::now(),
        }
    }

    fn shard(&self, key: &K) -> &Shard<K, V> {
        let n = self.shards.len() as u64;
        let i = usize::try_from((key.prehash() >> 32) % n).unwrap_or(0);
        &self.shards[i % self.shards.len()]
    }

    fn ticks(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Runs `f` on the value under `key`, under the shard's read lock, and marks it used.
    pub(crate) fn with<R>(&self, key: &K, now: Instant, f: impl FnOnce(&V) -> R) -> Option<R> {
        let map = self
            .shard(key)
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = map.get(key)?;
        slot.last_used.store(self.ticks(now), Ordering::Relaxed);
        Some(f(&slot.value))
    }

    /// Inserts or replaces; returns how many entries were evicted to make room (0 or 1).
    pub(crate) fn insert(&self, key: K, value: V, now: Instant) -> u64 {
        let mut map = self
            .shard(&key)
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut evicted = 0;
        if !map.contains_key(&key) && map.len() >= self.per_shard {
            // Identify the least recently used slot by address (no clone of the key needed),
            // then drop it; `retain` does not move other slots' keys before comparing.
            let victim = map
                .iter()
                .min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| core::ptr::from_ref(k));
            if let Some(p) = victim {
                map.retain(|k, _| !core::ptr::eq(k, p));
                evicted = 1;
            }
        }
        map.insert(
            key,
            Slot {
                value,
                last_used: AtomicU64::new(self.ticks(now)),
            },
        );
        evicted
    }

    /// Removes the entry under `key` if `pred` holds for it. Returns whether it did.
    pub(crate) fn remove_if(&self, key: &K, pred: impl FnOnce(&V) -> bool) -> bool {
        let mut map = self
            .shard(key)
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if map.get(key).is_some_and(|s| pred(&s.value)) {
            map.remove(key);
            true
        } else {
            false
        }
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.map.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        for s in &self.shards {
            s.map
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }
}
