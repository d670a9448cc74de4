//! The raw lock under the kernel's one spin lock type: it disables interrupts.
//!
//! Taking the lock saves whether interrupts were enabled and disables them;
//! releasing it restores that state. So a lock an interrupt handler also
//! takes can never be held by the thread the handler interrupted, and a
//! thread holding any lock is never preempted. Guards must be dropped in
//! the reverse order they were taken (as scopes do), or a later unlock
//! could enable interrupts while an earlier lock is still held.

use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::instructions::interrupts;

/// A test-and-test-and-set spin lock that runs with interrupts disabled.
pub struct IrqSpinRaw {
    locked: AtomicBool,
    /// Interrupt state before the holder took the lock (touched only by the
    /// holder, between acquire and release).
    saved_if: AtomicBool,
}

// SAFETY: `lock` returns only once this CPU owns `locked` (an acquire
// compare-exchange from false to true), `unlock` releases it with release
// ordering, so at most one holder exists at a time and its writes are seen
// by the next holder.
unsafe impl lock_api::RawMutex for IrqSpinRaw {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        locked: AtomicBool::new(false),
        saved_if: AtomicBool::new(false),
    };

    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        let was_enabled = interrupts::are_enabled();
        interrupts::disable();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
        self.saved_if.store(was_enabled, Ordering::Relaxed);
    }

    fn try_lock(&self) -> bool {
        let was_enabled = interrupts::are_enabled();
        interrupts::disable();
        let taken = self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if taken {
            self.saved_if.store(was_enabled, Ordering::Relaxed);
        } else if was_enabled {
            interrupts::enable();
        }
        taken
    }

    unsafe fn unlock(&self) {
        let restore = self.saved_if.load(Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        if restore {
            interrupts::enable();
        }
    }

    fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}
