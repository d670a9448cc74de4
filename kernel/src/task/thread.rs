//! A thread: the schedulable unit, with its own kernel stack and context.

use super::process::Process;
use crate::arch::context::{Context, Switchable};
use crate::mm::stack::KernelStack;
use crate::mm::MmError;
use crate::sync::SpinLock;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Kernel stack pages per thread.
const KERNEL_STACK_PAGES: u64 = 8;

static NEXT_TID: AtomicU64 = AtomicU64::new(1);

/// Where a thread is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// On a run queue.
    Ready,
    /// On a CPU.
    Running,
    /// Waiting (on an object, a timer or both).
    Blocked,
    /// Ended; freed when the last reference goes.
    Dead,
}

/// Priorities: higher runs first; equal ones share the CPU round-robin.
pub mod priority {
    /// The idle thread.
    pub const IDLE: u8 = 0;
    /// Threads start here.
    pub const NORMAL: u8 = 8;
    /// Above normal.
    pub const HIGH: u8 = 12;
    /// The highest a thread may ask for.
    pub const MAX: u8 = 15;
}

/// What a thread runs.
#[derive(Clone, Copy, Debug)]
pub enum Entry {
    /// A kernel function with its argument.
    Kernel(fn(u64), u64),
    /// Ring 3 at `rip` with stack `rsp`, RCX and RDX set (Win64 arguments).
    User {
        /// Start address.
        rip: u64,
        /// Stack pointer.
        rsp: u64,
        /// First argument (RCX).
        rcx: u64,
        /// Second argument (RDX).
        rdx: u64,
    },
    /// The boot thread (already running).
    Boot,
}

/// A thread.
pub struct Thread {
    id: u64,
    name: &'static str,
    process: Option<Arc<SpinLock<Process>>>,
    context: Context,
    /// Owned kernel stack (the boot thread has the boot stack instead).
    _stack: Option<KernelStack>,
    entry: Entry,
    pub(super) state: SpinLock<State>,
    priority: AtomicU8,
    /// A wake-up arrived before the thread blocked: the next block returns
    /// at once.
    pub(super) wake_pending: AtomicBool,
    /// The thread is to end at its next return towards ring 3 (or from a
    /// wait) with `exit_code`.
    exit_requested: AtomicBool,
    exit_code: AtomicU32,
    /// Threads waiting for this one to end.
    pub(super) joiners: SpinLock<Vec<Arc<Thread>>>,
    /// Nanoseconds of CPU time (ticks × tick length).
    pub(super) ticks: AtomicU64,
    /// Set while a CPU runs the thread or is still switching away from it
    /// (changed only under `state`'s lock): such a thread is never put on
    /// a run queue; the CPU switching away does that once it is off.
    pub(super) on_cpu: AtomicBool,
    /// The CPU it last ran on.
    pub(super) cpu: AtomicUsize,
    /// CPUs it may run on (bit n = CPU number n).
    affinity: AtomicU64,
    /// A CPU's idle thread: never on a run queue.
    idle: bool,
    /// Its process's id (0 for kernel threads).
    pid: u64,
}

impl Drop for Thread {
    /// The last thread of a process to go frees its address space (it is
    /// not loaded any more by then). A process lock held here (by code
    /// that briefly held this thread) leaves that to the process's own
    /// drop.
    fn drop(&mut self) {
        if let Some(p) = &self.process {
            if let Some(mut p) = p.try_lock() {
                p.release_space();
            }
        }
    }
}

impl Switchable for Thread {
    fn context(&self) -> &Context {
        &self.context
    }
}

impl Thread {
    /// A new thread (not yet on a run queue).
    pub fn new(
        name: &'static str,
        process: Option<Arc<SpinLock<Process>>>,
        entry: Entry,
        priority: u8,
    ) -> Result<Arc<Self>, MmError> {
        let mut stack = KernelStack::new(KERNEL_STACK_PAGES, crate::mm::stack::THREAD_STACK)?;
        let (root, pid) = match &process {
            Some(p) => {
                let p = p.lock();
                (p.root(), p.id())
            }
            None => (crate::mm::kernel_space::root().unwrap_or(0), 0),
        };
        let context = Context::new_thread(&mut stack, super::sched::thread_main, 0, root);
        Ok(Arc::new(Self::build(
            name,
            (process, pid),
            context,
            Some(stack),
            entry,
            (State::Ready, false),
            priority,
            priority == priority::IDLE,
        )))
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        name: &'static str,
        (process, pid): (Option<Arc<SpinLock<Process>>>, u64),
        context: Context,
        stack: Option<KernelStack>,
        entry: Entry,
        (state, on_cpu): (State, bool),
        priority: u8,
        idle: bool,
    ) -> Self {
        Self {
            id: NEXT_TID.fetch_add(1, Ordering::Relaxed),
            name,
            process,
            context,
            _stack: stack,
            entry,
            state: SpinLock::new(state),
            priority: AtomicU8::new(priority.min(priority::MAX)),
            wake_pending: AtomicBool::new(false),
            exit_requested: AtomicBool::new(false),
            exit_code: AtomicU32::new(0),
            joiners: SpinLock::new(Vec::new()),
            ticks: AtomicU64::new(0),
            on_cpu: AtomicBool::new(on_cpu),
            cpu: AtomicUsize::new(crate::arch::percpu::cpu_id()),
            affinity: AtomicU64::new(u64::MAX),
            idle,
            pid,
        }
    }

    /// The thread that is running the kernel's boot code.
    pub(super) fn boot() -> Arc<Self> {
        let root = crate::arch::paging::current_root();
        Arc::new(Self::build(
            "boot",
            (None, 0),
            Context::current(root),
            None,
            Entry::Boot,
            (State::Running, true),
            priority::NORMAL,
            false,
        ))
    }

    /// The idle thread of a CPU that is about to start on `stack`: it is
    /// the code the CPU runs from its first instruction in the kernel, so
    /// it counts as running from the start.
    pub fn for_starting_cpu(stack: KernelStack) -> Result<Arc<Self>, MmError> {
        let root = crate::mm::kernel_space::root().unwrap_or(0);
        let thread = Self::build(
            "idle",
            (None, 0),
            Context::current(root),
            Some(stack),
            Entry::Boot,
            (State::Running, true),
            priority::IDLE,
            true,
        );
        Ok(Arc::new(thread))
    }

    /// Its process's id (0 for a kernel thread).
    pub fn process_id(&self) -> u64 {
        self.pid
    }

    /// Whether it is a CPU's idle thread.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// The CPUs it may run on.
    pub fn affinity(&self) -> u64 {
        self.affinity.load(Ordering::Relaxed)
    }

    /// Sets the CPUs it may run on (the scheduler validates the mask).
    pub(super) fn set_affinity(&self, mask: u64) -> u64 {
        self.affinity.swap(mask, Ordering::AcqRel)
    }

    /// Whether CPU number `cpu` may run it.
    pub fn allowed_on(&self, cpu: usize) -> bool {
        cpu < 64 && self.affinity() & (1 << cpu) != 0
    }

    /// The CPU it last ran on.
    pub fn last_cpu(&self) -> usize {
        self.cpu.load(Ordering::Relaxed)
    }

    /// Thread id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its name (for logs).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its process (None for kernel threads).
    pub fn process(&self) -> Option<&Arc<SpinLock<Process>>> {
        self.process.as_ref()
    }

    /// What it runs.
    pub fn entry(&self) -> Entry {
        self.entry
    }

    /// Priority.
    pub fn priority(&self) -> u8 {
        self.priority.load(Ordering::Relaxed)
    }

    /// Its state now.
    pub fn state(&self) -> State {
        *self.state.lock()
    }

    /// Asks the thread to end with `code` (at its next return towards
    /// ring 3, or when its current wait returns). The first request wins.
    pub fn request_exit(&self, code: u32) {
        if !self.exit_requested.swap(true, Ordering::AcqRel) {
            self.exit_code.store(code, Ordering::Release);
            super::sched::exit_requested();
        }
    }

    /// Whether an exit was requested, and with which code.
    pub fn exit_request(&self) -> Option<u32> {
        self.exit_requested
            .load(Ordering::Acquire)
            .then(|| self.exit_code.load(Ordering::Acquire))
    }

    /// The exit code once it is dead.
    pub fn exit_code(&self) -> Option<u32> {
        (self.state() == State::Dead).then(|| self.exit_code.load(Ordering::Acquire))
    }

    /// CPU time in timer ticks.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }
}
