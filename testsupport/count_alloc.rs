//! A counting global allocator for the resource-limit tests: it hands every call to the system
//! allocator unchanged and records the largest single allocation (or reallocation) requested,
//! so a test can assert that a hostile input made no allocation above a stated bound — before
//! the allocation could fail or abort. Every test of a binary that measures holds
//! [`exclusive`] for its whole body, so no test's allocations are counted in another's.
//!
//! [`largest_allocation`] counts every thread (for engine paths that use a pool or a writer
//! thread); the test harness's own thread may add a few KiB of its own to that figure.
//! [`largest_allocation_here`] counts only the calling thread, for single-threaded decoders
//! held to bounds of a few KiB.
//!
//! One file for the crates' `tests/resource_limits.rs` (`#[path]`-included).
#![allow(dead_code, reason = "each test binary uses part of it")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting.
pub struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The largest allocation of this thread while [`HERE_ON`] is set.
    static HERE: Cell<usize> = const { Cell::new(0) };
    static HERE_ON: Cell<bool> = const { Cell::new(false) };
}

/// Records an allocation of `size` bytes (no allocation of its own: atomics and const
/// thread-locals without destructors).
fn record(size: usize) {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    let _ = HERE_ON.try_with(|on| {
        if on.get() {
            let _ = HERE.try_with(|h| h.set(h.get().max(size)));
        }
    });
}
static MEASURING: Mutex<()> = Mutex::new(());

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is `record`, which neither allocates nor touches
// the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by each test of the binary for its whole body: tests run one at a time.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f` and returns its result with the largest single allocation made meanwhile (by any
/// thread; call it while holding [`exclusive`]).
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::SeqCst);
    let t = f();
    (t, LARGEST.load(Ordering::SeqCst))
}

/// 1 MiB.
pub const MIB: usize = 1 << 20;

/// Runs `f` and returns its result with the largest single allocation the calling thread made
/// meanwhile (other threads are not counted: for single-threaded decoders).
pub fn largest_allocation_here<T>(f: impl FnOnce() -> T) -> (T, usize) {
    HERE.with(|h| h.set(0));
    HERE_ON.with(|on| on.set(true));
    let t = f();
    HERE_ON.with(|on| on.set(false));
    (t, HERE.with(Cell::get))
}
