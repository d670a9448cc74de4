//! The scheduler: per-CPU run queues, priority round-robin, blocking, sleep.
//!
//! Policy: the highest-priority ready thread runs; threads of equal
//! priority take turns, each for a slice of [`SLICE_TICKS`] timer ticks.
//! The timer tick only sets `need_resched`; the switch happens at a safe
//! point: on the way out of an interrupt (to ring 3, or into kernel code
//! that had interrupts enabled, which therefore holds no lock), or when a
//! thread blocks, yields or exits. The idle thread runs when nothing else
//! can; it halts until the next interrupt. Sleeps and wait time-outs are
//! one-shot timers in a per-CPU timer heap (`crates/timers`), fired by the
//! tick.

use super::thread::{priority, Entry, State, Thread};
use crate::arch::percpu::{self, MAX_CPUS};
use crate::arch::{context, cpu};
use crate::sync::SpinLock;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use timers::{TimerId, TimerQueue};

/// Threads the run queue and the timer queue hold without growing.
const QUEUE_ROOM: usize = 512;

/// Timer ticks per time slice.
pub const SLICE_TICKS: u32 = 10;

struct Cpu {
    current: Option<Arc<Thread>>,
    idle: Option<Arc<Thread>>,
    ready: VecDeque<Arc<Thread>>,
    /// Sleeping threads: (deadline in ns, thread).
    timers: TimerQueue<Arc<Thread>>,
    slice_left: u32,
}

/// Each CPU's scheduler state, found through its GS-based CPU number
/// (only the bootstrap CPU runs until M8 starts the others).
static CPUS: [SpinLock<Cpu>; MAX_CPUS] = [const {
    SpinLock::new(Cpu {
        current: None,
        idle: None,
        ready: VecDeque::new(),
        timers: TimerQueue::new(),
        slice_left: SLICE_TICKS,
    })
}; MAX_CPUS];
/// Per CPU: a switch is due at the next safe point. An atomic beside the
/// run queue so the return-to-user path can test it without the lock.
static NEED_RESCHED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Threads asked to exit that have not ended yet (any CPU): while it is
/// zero, the return-to-user path has nothing to look up.
static EXITS_PENDING: AtomicUsize = AtomicUsize::new(0);

fn need_resched() -> &'static AtomicBool {
    &NEED_RESCHED[percpu::cpu_id()]
}

/// Counts a thread's first exit request (see [`EXITS_PENDING`]).
pub(super) fn exit_requested() {
    EXITS_PENDING.fetch_add(1, Ordering::AcqRel);
}

static STARTED: AtomicBool = AtomicBool::new(false);
static SWITCHES: AtomicU64 = AtomicU64::new(0);
static PREEMPTIONS: AtomicU64 = AtomicU64::new(0);

fn this_cpu() -> &'static SpinLock<Cpu> {
    &CPUS[percpu::cpu_id()]
}

/// Makes the running boot code a thread and creates the idle thread.
pub fn init() -> Result<(), crate::mm::MmError> {
    let boot = Thread::boot();
    let idle = Thread::new("idle", None, Entry::Kernel(idle_loop, 0), priority::IDLE)?;
    let mut cpu = this_cpu().lock();
    // Room for this many ready and sleeping threads up front, so the
    // queues do not grow (and reallocate) under load.
    let _ = cpu.ready.try_reserve(QUEUE_ROOM);
    let _ = cpu.timers.try_reserve(QUEUE_ROOM);
    cpu.current = Some(boot);
    cpu.idle = Some(idle);
    STARTED.store(true, Ordering::Release);
    Ok(())
}

fn idle_loop(_: u64) {
    loop {
        cpu::enable_interrupts();
        cpu::wait_for_interrupt();
        if this_cpu().lock().ready.is_empty() {
            continue;
        }
        schedule();
    }
}

/// The running thread.
pub fn current() -> Option<Arc<Thread>> {
    this_cpu().lock().current.clone()
}

/// Context switches and preemptions so far.
pub fn stats() -> (u64, u64) {
    (
        SWITCHES.load(Ordering::Relaxed),
        PREEMPTIONS.load(Ordering::Relaxed),
    )
}

/// Makes a new thread ready. Fails only if the run queue cannot grow.
pub fn start(thread: Arc<Thread>) -> Result<(), crate::mm::MmError> {
    let mut cpu = this_cpu().lock();
    cpu.ready
        .try_reserve(1)
        .map_err(|_| crate::mm::MmError::NotInitialised("run queue memory"))?;
    *thread.state.lock() = State::Ready;
    let preempt = cpu
        .current
        .as_ref()
        .is_some_and(|c| thread.priority() > c.priority());
    cpu.ready.push_back(thread);
    if preempt {
        need_resched().store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// Picks the next thread: the first ready one of the highest priority.
fn pick(cpu: &mut Cpu) -> Option<Arc<Thread>> {
    let best = cpu.ready.iter().map(|t| t.priority()).max()?;
    let at = cpu.ready.iter().position(|t| t.priority() == best)?;
    cpu.ready.remove(at)
}

/// Switches to the next thread if there is one that should run. The
/// current thread goes back on the run queue if it is still running
/// (it yielded or was preempted); a blocked or dead one does not.
pub fn schedule() {
    if !STARTED.load(Ordering::Acquire) {
        return;
    }
    let was_enabled = cpu::interrupts_enabled();
    cpu::disable_interrupts();
    let handover = {
        let mut cpu = this_cpu().lock();
        need_resched().store(false, Ordering::Relaxed);
        let prev = cpu.current.take();
        match prev {
            None => None,
            Some(prev) => {
                let prev_state = *prev.state.lock();
                let is_idle = cpu.idle.as_ref().is_some_and(|i| Arc::ptr_eq(i, &prev));
                let runnable = prev_state == State::Running;
                let next = match pick(&mut cpu) {
                    // Keep running if nothing better is ready than a thread
                    // that may go on.
                    Some(n) if runnable && !is_idle && n.priority() < prev.priority() => {
                        cpu.ready.push_front(n);
                        None
                    }
                    Some(n) => Some(n),
                    None if runnable => None,
                    None => cpu.idle.clone(),
                };
                match next {
                    None => {
                        cpu.current = Some(prev);
                        None
                    }
                    Some(next) => {
                        if runnable && !is_idle {
                            *prev.state.lock() = State::Ready;
                            // Room was reserved when the thread started.
                            cpu.ready.push_back(prev.clone());
                        }
                        *next.state.lock() = State::Running;
                        cpu.current = Some(next.clone());
                        cpu.slice_left = SLICE_TICKS;
                        Some((prev, next))
                    }
                }
            }
        }
    };
    if let Some((prev, next)) = handover {
        SWITCHES.fetch_add(1, Ordering::Relaxed);
        context::switch(prev, next);
    }
    if was_enabled {
        cpu::enable_interrupts();
    }
}

/// Gives the CPU to another ready thread of the same or higher priority.
pub fn yield_now() {
    need_resched().store(true, Ordering::Relaxed);
    schedule();
}

/// Blocks the current thread until [`wake`] (returns at once if a wake-up
/// came first). The caller registered the thread where the waker finds it.
pub fn block() {
    let Some(me) = current() else { return };
    {
        let _cpu = this_cpu().lock();
        if me.wake_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        *me.state.lock() = State::Blocked;
    }
    schedule();
}

/// Makes `thread` ready if it is blocked; otherwise remembers the wake-up
/// so that its next [`block`] returns at once.
pub fn wake(thread: &Arc<Thread>) {
    let mut cpu = this_cpu().lock();
    let mut state = thread.state.lock();
    match *state {
        State::Blocked => {
            *state = State::Ready;
            drop(state);
            let preempt = cpu
                .current
                .as_ref()
                .is_some_and(|c| thread.priority() > c.priority());
            // `start` reserved one slot per live thread.
            cpu.ready.push_back(thread.clone());
            if preempt {
                need_resched().store(true, Ordering::Relaxed);
            }
        }
        State::Dead => {}
        _ => thread.wake_pending.store(true, Ordering::Release),
    }
}

/// Wakes `thread` at `deadline_ns`; cancel with [`disarm_timeout`].
pub fn arm_timeout(thread: &Arc<Thread>, deadline_ns: u64) -> Result<TimerId, abi::Error> {
    this_cpu()
        .lock()
        .timers
        .insert(deadline_ns, thread.clone())
        .map_err(|_| abi::Error::NoMemory)
}

/// Cancels a time-out if it has not fired yet.
pub fn disarm_timeout(id: TimerId) {
    let cancelled = this_cpu().lock().timers.cancel(id);
    drop(cancelled);
}

/// Sleeps at least `ns` nanoseconds (blocks; wakes early only if the
/// thread is asked to exit).
pub fn sleep_ns(ns: u64) -> Result<(), crate::mm::MmError> {
    let Some(me) = current() else { return Ok(()) };
    let deadline = crate::time::now_ns().saturating_add(ns);
    let id = arm_timeout(&me, deadline)
        .map_err(|_| crate::mm::MmError::NotInitialised("timer memory"))?;
    while crate::time::now_ns() < deadline && me.exit_request().is_none() {
        block();
    }
    disarm_timeout(id);
    Ok(())
}

/// Timer tick (interrupts disabled): wakes sleepers whose time has come
/// and charges the running thread's slice.
pub fn tick() {
    if !STARTED.load(Ordering::Acquire) {
        return;
    }
    let now = crate::time::now_ns();
    let mut due: [Option<Arc<Thread>>; 8] = Default::default();
    {
        let mut cpu = this_cpu().lock();
        for slot in due.iter_mut() {
            match cpu.timers.pop_expired(now) {
                Some((_, t)) => *slot = Some(t),
                None => break,
            }
        }
        if let Some(c) = cpu.current.clone() {
            c.ticks.fetch_add(1, Ordering::Relaxed);
            let idle = cpu.idle.as_ref().is_some_and(|i| Arc::ptr_eq(i, &c));
            cpu.slice_left = cpu.slice_left.saturating_sub(1);
            let top = cpu.ready.iter().map(|t| t.priority()).max();
            if let Some(top) = top {
                if idle || top > c.priority() || (cpu.slice_left == 0 && top == c.priority()) {
                    need_resched().store(true, Ordering::Relaxed);
                }
            }
        }
    }
    for t in due.iter().flatten() {
        wake(t);
    }
}

/// After an interrupt: switches if a switch is due and the interrupted
/// code can be preempted (ring 3, or kernel code with interrupts on).
#[inline]
pub fn after_interrupt(from_user: bool, interrupts_were_on: bool) {
    // The common case, with nothing due: two loads.
    if !need_resched().load(Ordering::Relaxed) && EXITS_PENDING.load(Ordering::Relaxed) == 0 {
        return;
    }
    after_interrupt_work(from_user, interrupts_were_on);
}

#[inline(never)]
fn after_interrupt_work(from_user: bool, interrupts_were_on: bool) {
    if !(from_user || interrupts_were_on) {
        return;
    }
    if need_resched().load(Ordering::Relaxed) {
        PREEMPTIONS.fetch_add(1, Ordering::Relaxed);
        schedule();
    }
    if from_user {
        before_user_return();
    }
}

/// On every way back to ring 3: a thread asked to exit ends here, where
/// no kernel frame owns anything.
pub fn before_user_return() {
    if EXITS_PENDING.load(Ordering::Acquire) == 0 {
        return;
    }
    if let Some(code) = current().and_then(|t| t.exit_request()) {
        exit_current(code);
    }
}

/// Ends the current thread with `code`: wakes its joiners, tells its
/// process, and switches away for good.
pub fn exit_current(code: u32) -> ! {
    let me = current().expect("exit with no current thread");
    me.request_exit(code);
    let code = me.exit_request().unwrap_or(code);
    log::debug!("thread {} '{}' ended with {code:#x}", me.id(), me.name());
    super::thread_exited(&me, code);
    let joiners = core::mem::take(&mut *me.joiners.lock());
    {
        let _cpu = this_cpu().lock();
        *me.state.lock() = State::Dead;
        EXITS_PENDING.fetch_sub(1, Ordering::AcqRel);
    }
    for j in &joiners {
        wake(j);
    }
    drop(joiners);
    drop(me);
    schedule();
    log::error!("sched: a dead thread was resumed (bug)");
    cpu::halt_forever()
}

/// Waits until `thread` has ended; returns its exit code.
pub fn join(thread: &Arc<Thread>) -> u32 {
    loop {
        if let Some(code) = thread.exit_code() {
            return code;
        }
        if let Some(me) = current() {
            {
                let mut joiners = thread.joiners.lock();
                if thread.state() == State::Dead {
                    continue;
                }
                if joiners.try_reserve(1).is_err() {
                    drop(joiners);
                    yield_now();
                    continue;
                }
                joiners.push(me);
            }
            block();
        }
    }
}

/// Where every new thread starts (on its own stack, interrupts disabled).
pub extern "C" fn thread_main(_: u64) -> ! {
    context::finish_switch();
    let me = current().expect("a new thread with no current thread");
    let entry = me.entry();
    drop(me);
    match entry {
        Entry::Kernel(f, arg) => {
            cpu::enable_interrupts();
            f(arg);
            exit_current(0)
        }
        Entry::User { rip, rsp, rcx, rdx } => crate::arch::user::enter_user(rip, rsp, rcx, rdx),
        Entry::Boot => exit_current(0),
    }
}
