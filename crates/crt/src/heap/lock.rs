//! [`Locked`]: a heap behind a spin lock, for programs with threads.

use super::{Grow, Heap};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A [`Heap`] that any thread may use: each call holds a spin lock for
/// the length of one heap operation (interrupts are not involved: this
/// is ring-3 code, and a preempted holder just delays the others).
pub struct Locked<G: Grow> {
    busy: AtomicBool,
    heap: UnsafeCell<Heap<G>>,
}

// SAFETY: the heap inside is reached only while `busy` is held (see
// `with`), so one thread at a time; moving it between threads is fine
// when the source may move (`G: Send`).
unsafe impl<G: Grow + Send> Sync for Locked<G> {}

impl<G: Grow> Locked<G> {
    /// Wraps `heap`.
    pub const fn new(heap: Heap<G>) -> Self {
        Self {
            busy: AtomicBool::new(false),
            heap: UnsafeCell::new(heap),
        }
    }

    /// Runs `f` on the heap with the lock held. `f` must not call back
    /// into this heap (it would spin for ever).
    pub fn with<R>(&self, f: impl FnOnce(&mut Heap<G>) -> R) -> R {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        // SAFETY: the lock is held, so this is the only reference.
        let r = f(unsafe { &mut *self.heap.get() });
        self.busy.store(false, Ordering::Release);
        r
    }
}
