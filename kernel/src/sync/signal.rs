//! A signal from an interrupt handler to the one thread waiting for it (a
//! driver waiting for its device's completion).
//!
//! [`Signal::raise`] may run in any context (it takes only a spin lock);
//! [`Signal::wait_until`] sleeps until the signal is raised or a deadline
//! passes. A raise with no one waiting is kept for the next wait. Without
//! a thread to put to sleep, or with interrupts off, the wait spins.
#![forbid(unsafe_code)]

use super::SpinLock;
use crate::task::{sched, Thread};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An interrupt-to-thread signal.
pub struct Signal {
    raised: AtomicBool,
    waiter: SpinLock<Option<Arc<Thread>>>,
    raises: AtomicU64,
}

impl Default for Signal {
    fn default() -> Self {
        Self::new()
    }
}

impl Signal {
    /// A signal not raised.
    pub const fn new() -> Self {
        Self {
            raised: AtomicBool::new(false),
            waiter: SpinLock::new(None),
            raises: AtomicU64::new(0),
        }
    }

    /// Raises the signal and wakes its waiter.
    pub fn raise(&self) {
        self.raises.fetch_add(1, Ordering::Relaxed);
        self.raised.store(true, Ordering::Release);
        if let Some(t) = self.waiter.lock().as_ref() {
            sched::wake(t);
        }
    }

    /// How many times it was raised since boot.
    pub fn raises(&self) -> u64 {
        self.raises.load(Ordering::Relaxed)
    }

    /// Waits until the signal is raised (true; it is lowered again) or
    /// `deadline_ns` passes (false).
    pub fn wait_until(&self, deadline_ns: u64) -> bool {
        let me = sched::current().filter(|_| crate::arch::cpu::interrupts_enabled());
        let Some(me) = me else {
            while crate::time::now_ns() < deadline_ns {
                if self.raised.swap(false, Ordering::AcqRel) {
                    return true;
                }
                core::hint::spin_loop();
            }
            return self.raised.swap(false, Ordering::AcqRel);
        };
        *self.waiter.lock() = Some(me.clone());
        let timeout = sched::arm_timeout(&me, deadline_ns).ok();
        let raised = loop {
            if self.raised.swap(false, Ordering::AcqRel) {
                break true;
            }
            if crate::time::now_ns() >= deadline_ns {
                break false;
            }
            match timeout {
                Some(_) => sched::block(),
                None => sched::yield_now(),
            }
        };
        if let Some(t) = timeout {
            sched::disarm_timeout(t);
        }
        *self.waiter.lock() = None;
        raised
    }
}
