//! Processes and running them in ring 3.
#![forbid(unsafe_code)]
//!
//! M2 runs one process at a time to completion: [`run`] enters its thread
//! in ring 3 and returns when the process exits or faults. The preemptive
//! scheduler (M3) replaces this with threads that block and switch.

mod process;

#[cfg(feature = "milestones")]
pub use process::ExitStatus;
pub use process::{Image, Process, ProcessError};

use crate::arch::cpu::without_interrupts;
use crate::arch::user;
use crate::mm::kernel_space;
use spin::Mutex;

/// The process whose thread is in ring 3 (or in a system call) right now.
static CURRENT: Mutex<Option<Process>> = Mutex::new(None);

/// Runs `f` on the current process, if one is running.
pub fn with_current<R>(f: impl FnOnce(&mut Process) -> R) -> Option<R> {
    without_interrupts(|| CURRENT.lock().as_mut().map(f))
}

/// TSC at the first entry into ring 3 (for the BOOT line), 0 before.
static FIRST_USER_TSC: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// TSC read right before the first IRETQ into ring 3, if any process ran.
pub fn first_user_tsc() -> Option<u64> {
    match FIRST_USER_TSC.load(core::sync::atomic::Ordering::Relaxed) {
        0 => None,
        tsc => Some(tsc),
    }
}

/// Runs `process` until it exits or faults; returns it with its exit
/// status set (its memory is still there for inspection; drop it to free).
pub fn run(process: Process) -> Process {
    let entry = process.entry();
    let rsp = process.initial_stack_pointer();
    let kernel_stack = process.kernel_stack_top();
    process.space().activate();
    without_interrupts(|| *CURRENT.lock() = Some(process));
    log::debug!("entering ring 3 at {entry:#x} with RSP {rsp:#x}");
    let _ = FIRST_USER_TSC.compare_exchange(
        0,
        crate::arch::cpu::rdtsc(),
        core::sync::atomic::Ordering::Relaxed,
        core::sync::atomic::Ordering::Relaxed,
    );
    let status = user::run_user(entry, rsp, kernel_stack);
    kernel_space::activate();
    let mut process = without_interrupts(|| CURRENT.lock().take())
        .expect("the running process disappeared (bug)");
    process.set_exit(status as u32);
    if let Some(exit) = process.exit_status() {
        log::info!("process {} '{}' {exit}", process.id(), process.name());
    }
    process
}
