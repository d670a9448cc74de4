//! Kernel synchronisation: one spin lock type, safe against interrupts.
#![forbid(unsafe_code)]
//!
//! Every lock in the kernel is a [`SpinLock`]: holding one disables
//! interrupts on this CPU, and dropping the guard restores the previous
//! state. An interrupt handler therefore never finds a lock held by the
//! code it interrupted, and a thread is never preempted while it holds a
//! lock (a context switch happens only with no lock held, except the run
//! queue's own hand-over inside the scheduler).
//!
//! Lock order (a lock may be taken while holding only locks above it):
//! 1. process tables and handle tables (`task`)
//! 2. a kernel object's state (event, pipe, process, thread)
//! 3. the run queue of a CPU (`task::sched`)
//! 4. `kernel_space`, `kva`, `layout` guards
//! 5. the heap
//! 6. the frame allocator (never allocates)
//! 7. serial and console (logging may happen under any lock above)

pub use crate::arch::irq_lock::IrqSpinRaw;

/// The kernel's spin lock: interrupts are disabled while it is held.
pub type SpinLock<T> = lock_api::Mutex<IrqSpinRaw, T>;
