//! Processes, threads and the scheduler.
#![forbid(unsafe_code)]
//!
//! A [`Thread`] is what the scheduler runs: its own guarded kernel stack,
//! saved context and FPU area, state and priority. A [`Process`] owns an
//! address space and the threads that run in it. [`run`] starts a
//! process's main thread and waits for the process to end.

mod process;
pub mod sched;
mod thread;

#[cfg(feature = "milestones")]
pub use process::ExitStatus;
pub use process::{Image, Process, ProcessError};
pub use thread::{priority, Entry, Thread};

use crate::sync::SpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// Runs `f` on the current thread's process, if it has one.
pub fn with_current<R>(f: impl FnOnce(&mut Process) -> R) -> Option<R> {
    let thread = sched::current()?;
    let process = thread.process()?.clone();
    drop(thread);
    let mut p = process.lock();
    Some(f(&mut p))
}

/// TSC at the first entry into ring 3 (for the BOOT line), 0 before.
static FIRST_USER_TSC: AtomicU64 = AtomicU64::new(0);

/// TSC read right before the first IRETQ into ring 3, if any process ran.
pub fn first_user_tsc() -> Option<u64> {
    match FIRST_USER_TSC.load(Ordering::Relaxed) {
        0 => None,
        tsc => Some(tsc),
    }
}

/// Called by the scheduler when a thread ends: the last thread of a
/// process ends the process with its code.
pub(crate) fn thread_exited(thread: &Thread, code: u32) {
    if let Some(p) = thread.process() {
        let mut p = p.lock();
        if p.thread_ended() {
            p.set_exit(code);
            if let Some(exit) = p.exit_status() {
                log::info!("process {} '{}' {exit}", p.id(), p.name());
            }
        }
    }
}

/// Starts `process`'s main thread; returns it and the shared process.
pub fn spawn(
    process: Process,
) -> Result<(Arc<Thread>, Arc<SpinLock<Process>>), crate::mm::MmError> {
    let entry = process.entry();
    let rsp = process.initial_stack_pointer();
    let name = process.name_static();
    let shared = Arc::new(SpinLock::new(process));
    shared.lock().thread_started();
    let thread = Thread::new(
        name,
        Some(shared.clone()),
        Entry::User {
            rip: entry,
            rsp,
            rcx: 0,
            rdx: 0,
        },
        priority::NORMAL,
    )?;
    sched::start(thread.clone())?;
    Ok((thread, shared))
}

/// Takes a process back once no thread refers to it any more (the last
/// reference of an ended thread goes with the next context switch, so
/// this yields until then, for at most a second).
pub fn reclaim(mut shared: Arc<SpinLock<Process>>) -> Option<Process> {
    let deadline = crate::time::now_ns() + 1_000_000_000;
    loop {
        match Arc::try_unwrap(shared) {
            Ok(p) => return Some(p.into_inner()),
            Err(again) if crate::time::now_ns() < deadline => {
                shared = again;
                sched::yield_now();
            }
            Err(_) => return None,
        }
    }
}

/// Starts `process`'s main thread and waits until the process has ended;
/// returns it with its exit status set (its memory is still there for
/// inspection; drop it to free).
pub fn run(process: Process) -> Process {
    let entry = process.entry();
    let rsp = process.initial_stack_pointer();
    let name = process.name_static();
    let shared = Arc::new(SpinLock::new(process));
    shared.lock().thread_started();
    let thread = Thread::new(
        name,
        Some(shared.clone()),
        Entry::User {
            rip: entry,
            rsp,
            rcx: 0,
            rdx: 0,
        },
        priority::NORMAL,
    );
    let started = thread.and_then(|t| sched::start(t.clone()).map(|()| t));
    match started {
        Ok(thread) => {
            let _ = FIRST_USER_TSC.compare_exchange(
                0,
                crate::arch::cpu::rdtsc(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            sched::join(&thread);
        }
        Err(e) => {
            log::error!("process: cannot start its thread: {e}");
            let mut p = shared.lock();
            p.thread_ended();
            p.set_exit(abi::status::UNHANDLED_EXCEPTION);
        }
    }
    // The exited thread's last reference goes when the next switch after
    // its death completes; wait for that.
    let mut shared = shared;
    loop {
        match Arc::try_unwrap(shared) {
            Ok(p) => return p.into_inner(),
            Err(again) => {
                shared = again;
                sched::yield_now();
            }
        }
    }
}
