//! Kernel synchronisation: a spin lock safe against interrupts, a lock
//! whose waiters sleep, and a signal from an interrupt to a thread.
#![forbid(unsafe_code)]
//!
//! Almost every lock in the kernel is a [`SpinLock`]: a ticket lock (fair
//! between CPUs) whose holder runs with interrupts disabled on its CPU;
//! dropping the guard restores the previous state. An interrupt handler therefore
//! never finds a lock held by the code it interrupted, and a thread is
//! never preempted while it holds a lock. No lock is held across a context
//! switch: the scheduler drops its run-queue lock before it switches, and
//! the thread it switched away from is requeued after the switch. A CPU
//! waiting for a lock answers TLB shootdowns meanwhile (`arch::tlb`).
//!
//! Lock order (a lock may be taken while holding only locks above it):
//! 1. process tables and handle tables (`task`)
//! 2. a kernel object's state (event, pipe, process, thread)
//! 3. the run queue of a CPU (`task::sched`), then a thread's state; a
//!    second run queue only through `try_lock` (work stealing)
//! 4. `kernel_space`, `kva`, `layout` guards
//! 5. the heap
//! 6. a CPU's cache of frames for user pages (`mm::frame_alloc`; one at
//!    a time)
//! 7. the frame allocator (never allocates)
//! 8. serial and console (logging may happen under any lock above)
//!
//! State that is used across a sleep — a disk while its request is in
//! flight, the file system over it — is behind a [`Mutex`] instead, whose
//! waiters sleep; it is never taken under a spin lock, and no spin lock is
//! held while its holder sleeps. A driver's completion interrupt wakes the
//! thread waiting for it through a [`Signal`].

mod mutex;
mod signal;

pub use crate::arch::irq_lock::IrqSpinRaw;
pub use mutex::Mutex;
pub use signal::Signal;

/// The kernel's spin lock: interrupts are disabled while it is held.
pub type SpinLock<T> = lock_api::Mutex<IrqSpinRaw, T>;
