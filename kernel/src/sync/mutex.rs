//! A lock that puts its waiters to sleep, for state used across a wait
//! (a disk while its request is in flight, a file system over it).
//!
//! The value is moved out of the lock while it is held: the guard owns it
//! and puts it back when dropped, so no `unsafe` is needed. Waiters sleep
//! and are all woken when it comes back (each retries; a waiter that went
//! away loses nothing). A sleep is also cut short after [`RECHECK_NS`], so
//! a lost wake-up costs time, never progress. Without a thread to put to
//! sleep (early boot) or with interrupts off, a waiter spins instead.
#![forbid(unsafe_code)]

use super::SpinLock;
use crate::task::{sched, Thread};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::ops::{Deref, DerefMut};

/// The longest a waiter sleeps before it looks again.
pub const RECHECK_NS: u64 = 10_000_000;

struct State<T> {
    value: Option<T>,
    waiters: VecDeque<Arc<Thread>>,
}

/// A sleeping lock around a `T`.
pub struct Mutex<T> {
    state: SpinLock<State<T>>,
}

/// The holder's access; the value goes back when this is dropped.
pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
    value: Option<T>,
}

impl<T> Mutex<T> {
    /// A lock holding `value`.
    pub const fn new(value: T) -> Self {
        Self {
            state: SpinLock::new(State {
                value: Some(value),
                waiters: VecDeque::new(),
            }),
        }
    }

    /// Takes the value, sleeping while another thread holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        loop {
            let me = sched::current().filter(|_| crate::arch::cpu::interrupts_enabled());
            {
                let mut s = self.state.lock();
                if let Some(value) = s.value.take() {
                    return MutexGuard {
                        lock: self,
                        value: Some(value),
                    };
                }
                // Registered where the holder finds it; without room in
                // the list the wait is a timed one.
                if let Some(me) = &me {
                    if s.waiters.try_reserve(1).is_ok() {
                        s.waiters.push_back(me.clone());
                    }
                }
            }
            match me {
                Some(me) => {
                    let deadline = crate::time::now_ns().saturating_add(RECHECK_NS);
                    match sched::arm_timeout(&me, deadline) {
                        Ok(t) => {
                            sched::block();
                            sched::disarm_timeout(t);
                        }
                        Err(_) => sched::yield_now(),
                    }
                    self.state.lock().waiters.retain(|w| !Arc::ptr_eq(w, &me));
                }
                None => core::hint::spin_loop(),
            }
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // The value is only taken out in `drop`.
        match &self.value {
            Some(v) => v,
            None => unreachable!("a guard holds its value until dropped"),
        }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.value {
            Some(v) => v,
            None => unreachable!("a guard holds its value until dropped"),
        }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        let waiters = {
            let mut s = self.lock.state.lock();
            s.value = self.value.take();
            core::mem::take(&mut s.waiters)
        };
        for w in &waiters {
            sched::wake(w);
        }
    }
}
