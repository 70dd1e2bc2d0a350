//! Single-flight: concurrent misses for one key make one KMS call.
//!
//! The first caller for a key becomes the leader and runs the fill; the others wait on a condvar
//! and receive the leader's outcome (`Ok(())` means "the cache now holds it, look again"; an
//! error is surfaced to every waiter, never stored as a value). If the leader panics, a drop
//! guard still wakes the waiters, with [`KmsError::Unavailable`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use s3seal_kms::KmsError;

struct Flight {
    done: Mutex<Option<Result<(), KmsError>>>,
    cv: Condvar,
}

/// In-flight fills by key.
pub(crate) struct SingleFlight<K> {
    inflight: Mutex<HashMap<K, Arc<Flight>>>,
}

struct LeaderGuard<'a, K: Eq + Hash> {
    sf: &'a SingleFlight<K>,
    key: Option<K>,
    flight: Arc<Flight>,
    result: Option<Result<(), KmsError>>,
}

impl<K: Eq + Hash> Drop for LeaderGuard<'_, K> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.sf
                .inflight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&k);
        }
        let r = self.result.take().unwrap_or(Err(KmsError::Unavailable));
        *self
            .flight
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(r);
        self.flight.cv.notify_all();
    }
}

impl<K: Eq + Hash + Clone> SingleFlight<K> {
    pub(crate) fn new() -> Self {
        SingleFlight {
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `fill` unless a fill for `key` is already running, in which case waits for it.
    /// Returns the outcome and whether this caller led.
    pub(crate) fn run(
        &self,
        key: &K,
        fill: impl FnOnce() -> Result<(), KmsError>,
    ) -> (Result<(), KmsError>, bool) {
        let (flight, leader) = {
            let mut map = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(f) = map.get(key) {
                (Arc::clone(f), false)
            } else {
                let f = Arc::new(Flight {
                    done: Mutex::new(None),
                    cv: Condvar::new(),
                });
                map.insert(key.clone(), Arc::clone(&f));
                (f, true)
            }
        };
        if leader {
            let mut guard = LeaderGuard {
                sf: self,
                key: Some(key.clone()),
                flight,
                result: None,
            };
            let r = fill();
            guard.result = Some(r.clone());
            drop(guard);
            return (r, true);
        }
        let mut done = flight.done.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(r) = done.as_ref() {
                return (r.clone(), false);
            }
            done = flight.cv.wait(done).unwrap_or_else(PoisonError::into_inner);
        }
    }
}
