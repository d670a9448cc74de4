//! The raw lock under the kernel's one spin lock type: a ticket lock that
//! disables interrupts.
//!
//! Taking the lock saves whether interrupts were enabled and disables them;
//! releasing it restores that state. So a lock an interrupt handler also
//! takes can never be held by the thread the handler interrupted, and a
//! thread holding any lock is never preempted. Guards must be dropped in
//! the reverse order they were taken (as scopes do), or a later unlock
//! could enable interrupts while an earlier lock is still held.
//!
//! Tickets make the lock fair between CPUs: each taker draws the next
//! number and waits until it is served, so no CPU can starve another.
//! A CPU spinning here has interrupts off, so it would never see a TLB
//! shootdown IPI; the spin loop answers pending shootdowns itself (see
//! [`super::tlb`]), so a CPU that shoots down while holding a lock another
//! CPU is waiting for cannot deadlock with it.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use x86_64::instructions::interrupts;

/// A ticket spin lock that runs with interrupts disabled.
pub struct IrqSpinRaw {
    /// Low half: the ticket being served; high half: the next ticket.
    word: AtomicU32,
    /// Interrupt state before the holder took the lock (touched only by the
    /// holder, between acquire and release).
    saved_if: AtomicBool,
}

const SERVING_MASK: u32 = 0xffff;
const NEXT_ONE: u32 = 1 << 16;

fn serving(word: u32) -> u16 {
    (word & SERVING_MASK) as u16
}

fn next(word: u32) -> u16 {
    (word >> 16) as u16
}

// SAFETY: `lock` returns only once this CPU's ticket is the one served
// (acquire load), and only the holder advances `serving` (release), so at
// most one holder exists at a time and its writes are seen by the next
// holder. 65536 tickets outnumber any possible set of waiters (one per CPU,
// MAX_CPUS = 64), so the 16-bit halves never wrap onto a live ticket.
unsafe impl lock_api::RawMutex for IrqSpinRaw {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        word: AtomicU32::new(0),
        saved_if: AtomicBool::new(false),
    };

    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        let was_enabled = interrupts::are_enabled();
        interrupts::disable();
        // The ticket drawn is the old `next`; a carry out of the top half
        // is dropped by the wrapping add on the u32.
        let ticket = next(self.word.fetch_add(NEXT_ONE, Ordering::Relaxed));
        let mut wait = super::cpu::SpinWait::new();
        while serving(self.word.load(Ordering::Acquire)) != ticket {
            super::tlb::service_while_spinning();
            wait.spin();
        }
        self.saved_if.store(was_enabled, Ordering::Relaxed);
    }

    fn try_lock(&self) -> bool {
        let was_enabled = interrupts::are_enabled();
        interrupts::disable();
        let word = self.word.load(Ordering::Relaxed);
        let taken = serving(word) == next(word)
            && self
                .word
                .compare_exchange(
                    word,
                    word.wrapping_add(NEXT_ONE),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
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
        // Advance `serving` by one within the low half only (the holder is
        // the only writer of that half; `fetch_update` keeps concurrent
        // ticket draws in the high half).
        let _ = self
            .word
            .fetch_update(Ordering::Release, Ordering::Relaxed, |w| {
                Some((w & !SERVING_MASK) | (w.wrapping_add(1) & SERVING_MASK))
            });
        if restore {
            interrupts::enable();
        }
    }

    fn is_locked(&self) -> bool {
        let word = self.word.load(Ordering::Relaxed);
        serving(word) != next(word)
    }
}
