//! Processes, threads and the scheduler.
#![forbid(unsafe_code)]
//!
//! A [`Thread`] is what the scheduler runs: its own guarded kernel stack,
//! saved context and FPU area, state and priority. A [`Process`] owns an
//! address space, a handle table and the threads that run in it. The last
//! thread to end ends the process: its exit status is set, its waiters are
//! woken, its handles are closed, and its address space is freed once no
//! CPU has it loaded.

pub mod object;
mod process;
pub mod sched;
mod thread;

#[cfg(feature = "milestones")]
pub use process::ExitStatus;
pub use process::{Image, LoadedImage, Process, ProcessError, THREAD_STACK_BYTES};
pub use thread::{priority, Entry, Thread};

use crate::sync::SpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// A process shared between its threads and the handles to it.
pub type SharedProcess = Arc<SpinLock<Process>>;

/// Runs `f` on the current thread's process, if it has one.
pub fn with_current<R>(f: impl FnOnce(&mut Process) -> R) -> Option<R> {
    // The thread holds its process: no clone of the process's Arc, whose
    // count every CPU running a thread of the process would write.
    let thread = sched::current()?;
    let mut p = thread.process()?.lock();
    Some(f(&mut p))
}

/// The current thread's process.
pub fn current_process() -> Option<SharedProcess> {
    sched::current()?.process().cloned()
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
/// process ends the process (with the TerminateProcess/ExitProcess code
/// if one was given, else its own), wakes its waiters and closes its
/// handles.
pub(crate) fn thread_exited(thread: &Thread, code: u32) {
    let Some(p) = thread.process() else { return };
    let last = {
        let mut p = p.lock();
        let last = p.thread_ended();
        if last {
            let code = p.terminating().unwrap_or(code);
            p.set_exit(code);
            if let Some(exit) = p.exit_status() {
                // A clean exit is routine (and a log line costs more than a
                // whole process start under emulation); anything else is
                // worth a line.
                if exit.code == 0 && exit.fault.is_none() {
                    log::debug!("process {} '{}' {exit}", p.id(), p.name());
                } else {
                    log::info!("process {} '{}' {exit}", p.id(), p.name());
                }
            }
            object::wake_all(p.waiters_mut());
        }
        last
    };
    if last {
        // One at a time, dropped outside the lock (a handle may hold the
        // last reference to another process or thread).
        // (`while let` would keep the guard for the body.)
        loop {
            let object = p.lock().pop_handle();
            let Some(object) = object else {
                break;
            };
            drop(object);
        }
    }
}

/// Starts a thread of `process` at `entry` (already set up to run).
fn start_thread(process: &SharedProcess, entry: Entry) -> Result<Arc<Thread>, abi::Error> {
    let thread = Thread::new(
        "user thread",
        Some(process.clone()),
        entry,
        priority::NORMAL,
    )
    .map_err(|_| abi::Error::NoMemory)?;
    process.lock().thread_started(&thread)?;
    if sched::start(thread.clone()).is_err() {
        process.lock().thread_ended();
        return Err(abi::Error::NoMemory);
    }
    Ok(thread)
}

/// Starts `process`'s main thread; returns it and the shared process.
pub fn spawn(process: Process) -> Result<(Arc<Thread>, SharedProcess), crate::mm::MmError> {
    let entry = Entry::User {
        rip: process.entry(),
        rsp: process.initial_stack_pointer(),
        rcx: 0,
        rdx: 0,
    };
    let shared = Arc::new(SpinLock::new(process));
    let _ = FIRST_USER_TSC.compare_exchange(
        0,
        crate::arch::cpu::rdtsc(),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    let thread = start_thread(&shared, entry)
        .map_err(|_| crate::mm::MmError::NotInitialised("thread memory"))?;
    Ok((thread, shared))
}

/// Starts a further thread of `process` at its `InitThread` with RCX =
/// `func`, RDX = `arg` and a fresh stack of `stack_bytes`.
pub fn create_thread(
    process: &SharedProcess,
    func: u64,
    arg: u64,
    stack_bytes: u64,
) -> Result<Arc<Thread>, abi::Error> {
    let (rip, top) = {
        let mut p = process.lock();
        let rip = p.init_thread().ok_or(abi::Error::NotSupported)?;
        let bytes = if stack_bytes == 0 {
            THREAD_STACK_BYTES
        } else {
            stack_bytes
        };
        (rip, p.allocate_stack(bytes)?)
    };
    start_thread(
        process,
        Entry::User {
            rip,
            rsp: top - abi::ENTRY_STACK_RESERVE - 8,
            rcx: func,
            rdx: arg,
        },
    )
}

/// Ends every thread of `process` with `code` (TerminateProcess and
/// ExitProcess): each is asked to exit and woken from any wait.
pub fn terminate(process: &SharedProcess, code: u32) {
    let mut p = process.lock();
    if p.exit_status().is_some() {
        return;
    }
    let code = p.set_terminating(code);
    for t in p.threads() {
        t.request_exit(code);
        sched::wake(&t);
        sched::kick(&t);
    }
}

/// Ends `process` for a fault in ring 3 with `status` (every thread, as
/// [`terminate`]), recording the fault, unless it is already ending (an
/// ExitProcess, TerminateProcess or an earlier fault came first: that code
/// stands, and this fault only ends its own thread, which is asked to
/// exit either way). Returns whether this fault is what ends it.
pub fn end_by_fault(
    process: &SharedProcess,
    vector: u8,
    address: u64,
    rip: u64,
    status: u32,
) -> bool {
    let mut p = process.lock();
    if p.exit_status().is_some() || p.terminating().is_some() {
        return false;
    }
    p.set_fault(vector, address, rip);
    let code = p.set_terminating(status);
    for t in p.threads() {
        t.request_exit(code);
        sched::wake(&t);
        sched::kick(&t);
    }
    true
}

/// Takes a process back once no thread refers to it any more (the last
/// reference of an ended thread goes with the next context switch, so
/// this yields until then, for at most a second).
pub fn reclaim(mut shared: SharedProcess) -> Option<Process> {
    let deadline = crate::time::now_ns() + 1_000_000_000;
    loop {
        match Arc::try_unwrap(shared) {
            Ok(p) => {
                // The last thread's CPU may still be finishing its drop
                // (kernel stack, thread memory): wait until it has.
                sched::quiesce();
                return Some(p.into_inner());
            }
            Err(again) if crate::time::now_ns() < deadline => {
                shared = again;
                sched::yield_now();
            }
            Err(_) => return None,
        }
    }
}

/// Why [`try_run`] gave no ended process back.
#[derive(Debug)]
pub enum RunError {
    /// Its main thread could not be created or queued.
    Start(crate::mm::MmError),
    /// It ended, but something still held it a second later (it is left
    /// to whoever holds it).
    StillReferenced,
}

impl core::fmt::Display for RunError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Start(e) => write!(f, "cannot start its main thread: {e}"),
            Self::StillReferenced => f.write_str("it ended but is still referenced"),
        }
    }
}

/// Starts `process`'s main thread and waits until the process has ended;
/// returns it with its exit status set.
pub fn try_run(process: Process) -> Result<Process, RunError> {
    let (thread, shared) = spawn(process).map_err(RunError::Start)?;
    sched::join(&thread);
    drop(thread);
    reclaim(shared).ok_or(RunError::StillReferenced)
}

/// [`try_run`] for the milestone checks, where either failure is a kernel
/// bug worth a panic report.
#[cfg(feature = "milestones")]
pub fn run(process: Process) -> Process {
    match try_run(process) {
        Ok(p) => p,
        Err(e) => panic!("task::run: {e}"),
    }
}
