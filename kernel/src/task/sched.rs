//! The scheduler: per-CPU run queues, priority round-robin, blocking,
//! sleep, work stealing.
//!
//! Policy: on each CPU the highest-priority ready thread runs; threads of
//! equal priority take turns, each for a slice of [`SLICE_TICKS`] timer
//! ticks. The timer tick only sets `need_resched`; the switch happens at a
//! safe point: on the way out of an interrupt (to ring 3, or into kernel
//! code that had interrupts enabled, which therefore holds no lock), or
//! when a thread blocks, yields or exits. Each CPU has an idle thread that
//! halts until the next interrupt.
//!
//! Placement: a thread made ready goes to an idle CPU it may run on (its
//! last CPU first), else back to its last CPU, else to the allowed CPU
//! with the shortest queue; a CPU that gets a thread it should run at once
//! is kicked with the reschedule IPI. A CPU with nothing to run steals the
//! best thread it may run from another CPU's queue (try-lock only, so two
//! thieves never wait for each other). Sleeps and wait time-outs are
//! one-shot timers in the arming CPU's timer heap (`crates/timers`).
//!
//! A thread is on at most one run queue and never on one while a CPU runs
//! it or is still switching away from it (`on_cpu`, changed under the
//! thread's state lock): the CPU that switched away puts it back
//! ([`after_switch`]), and a wake-up that finds it still on a CPU leaves
//! that to the same step. So no CPU ever resumes a thread whose registers
//! another CPU has not finished saving, and no switch waits for another.
//!
//! Lock order: a CPU's run queue, then a thread's state; two run queues
//! are only ever held together through `try_lock`.

use super::thread::{priority, Entry, State, Thread};
use crate::arch::percpu::{self, MAX_CPUS};
use crate::arch::{context, cpu};
use crate::sync::SpinLock;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;
use timers::{TimerId, TimerQueue};

/// Threads the run queue and the timer queue hold without growing.
const QUEUE_ROOM: usize = 512;

/// Timer ticks per time slice.
pub const SLICE_TICKS: u32 = 10;

/// The reschedule IPI's vector.
pub const RESCHED_VECTOR: u8 = 0xf0;

/// Most misplaced threads (ready on a CPU their affinity no longer
/// allows) one pass of `schedule` moves on.
const MIGRATE_BATCH: usize = 4;

struct Cpu {
    current: Option<Arc<Thread>>,
    idle: Option<Arc<Thread>>,
    ready: VecDeque<Arc<Thread>>,
    /// Sleeping threads: (deadline in ns, thread).
    timers: TimerQueue<Arc<Thread>>,
    slice_left: u32,
    /// The thread this CPU just switched away from, for [`after_switch`].
    switched_out: Option<Arc<Thread>>,
}

/// Each CPU's scheduler state, found through its GS-based CPU number. Each
/// has cache lines of its own: every `current()` takes its CPU's lock, and
/// two CPUs' locks in one line would bounce it between them.
static CPUS: [CachePadded<SpinLock<Cpu>>; MAX_CPUS] = [const {
    CachePadded::new(SpinLock::new(Cpu {
        current: None,
        idle: None,
        ready: VecDeque::new(),
        timers: TimerQueue::new(),
        slice_left: SLICE_TICKS,
        switched_out: None,
    }))
}; MAX_CPUS];
/// Per CPU: a switch is due at the next safe point. An atomic beside the
/// run queue so the return-to-user path can test it without the lock.
static NEED_RESCHED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Per CPU: running its idle thread (placement prefers such CPUs).
static IDLE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Per CPU: threads on its run queue (read without the lock).
static QUEUED: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];
/// Per CPU: the running thread's priority.
static RUNNING_PRIORITY: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
/// Per CPU: the running thread's id and its process id (0 for none), for
/// stop reports that cannot take locks.
static RUNNING: [(AtomicU64, AtomicU64); MAX_CPUS] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; MAX_CPUS];
/// Per CPU: switches to a thread other than the idle one.
static RUNS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Threads asked to exit that have not ended yet (any CPU): while it is
/// zero, the return-to-user path has nothing to look up.
static EXITS_PENDING: AtomicUsize = AtomicUsize::new(0);

static STARTED: AtomicBool = AtomicBool::new(false);
static SWITCHES: AtomicU64 = AtomicU64::new(0);
static PREEMPTIONS: AtomicU64 = AtomicU64::new(0);
static STEALS: AtomicU64 = AtomicU64::new(0);
static KICKS: AtomicU64 = AtomicU64::new(0);

fn need_resched() -> &'static AtomicBool {
    &NEED_RESCHED[percpu::cpu_id()]
}

/// Counts a thread's first exit request (see [`EXITS_PENDING`]).
pub(super) fn exit_requested() {
    EXITS_PENDING.fetch_add(1, Ordering::AcqRel);
}

/// Runs `f` on this CPU's scheduler state. Interrupts are off from before
/// the CPU number is read until the lock is released, so the thread cannot
/// move to another CPU in between.
fn with_cpu<R>(f: impl FnOnce(&mut Cpu, usize) -> R) -> R {
    cpu::without_interrupts(|| {
        let id = percpu::cpu_id();
        let mut c = CPUS[id].lock();
        f(&mut c, id)
    })
}

fn mark_running(id: usize, t: &Thread) {
    IDLE[id].store(t.is_idle(), Ordering::Relaxed);
    RUNNING_PRIORITY[id].store(t.priority(), Ordering::Relaxed);
    RUNNING[id].0.store(t.id(), Ordering::Relaxed);
    RUNNING[id].1.store(t.process_id(), Ordering::Relaxed);
}

/// Makes the running boot code a thread and creates the bootstrap CPU's
/// idle thread.
pub fn init() -> Result<(), crate::mm::MmError> {
    let boot = Thread::boot();
    let idle = Thread::new("idle", None, Entry::Kernel(idle_loop, 0), priority::IDLE)?;
    with_cpu(|c, id| {
        // Room for this many ready and sleeping threads up front, so the
        // queues do not grow (and reallocate) under load.
        let _ = c.ready.try_reserve(QUEUE_ROOM);
        let _ = c.timers.try_reserve(QUEUE_ROOM);
        mark_running(id, &boot);
        c.current = Some(boot);
        c.idle = Some(idle);
    });
    STARTED.store(true, Ordering::Release);
    Ok(())
}

/// On a newly started CPU: makes `idle` (the thread it is running, see
/// [`Thread::for_starting_cpu`]) its current and idle thread, then runs
/// the idle loop for ever.
pub fn run_started_cpu(idle: Arc<Thread>) -> ! {
    with_cpu(|c, id| {
        let _ = c.ready.try_reserve(QUEUE_ROOM);
        let _ = c.timers.try_reserve(QUEUE_ROOM);
        mark_running(id, &idle);
        c.current = Some(idle.clone());
        c.idle = Some(idle);
    });
    idle_loop(0);
    unreachable!("the idle loop returned")
}

/// The idle thread: looks for work (its own queue, then the others' to
/// steal from) after every interrupt, and halts when there is none.
fn idle_loop(_: u64) {
    loop {
        cpu::disable_interrupts();
        schedule();
        let id = percpu::cpu_id();
        if NEED_RESCHED[id].load(Ordering::Relaxed) || QUEUED[id].load(Ordering::Relaxed) > 0 {
            cpu::enable_interrupts();
        } else {
            // Enables interrupts and halts in one step: a wake-up IPI
            // arriving after the check above still ends the halt.
            cpu::enable_interrupts_and_wait();
        }
    }
}

/// The running thread.
pub fn current() -> Option<Arc<Thread>> {
    with_cpu(|c, _| c.current.clone())
}

/// Context switches and preemptions so far.
pub fn stats() -> (u64, u64) {
    (
        SWITCHES.load(Ordering::Relaxed),
        PREEMPTIONS.load(Ordering::Relaxed),
    )
}

/// What the scheduler did across CPUs.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmpStats {
    /// Threads taken from another CPU's queue.
    pub steals: u64,
    /// Reschedule IPIs sent.
    pub kicks: u64,
}

/// Steals and kicks so far.
pub fn smp_stats() -> SmpStats {
    SmpStats {
        steals: STEALS.load(Ordering::Relaxed),
        kicks: KICKS.load(Ordering::Relaxed),
    }
}

/// Switches to a thread other than the idle one that CPU `cpu` made.
pub fn runs_on(cpu: usize) -> u64 {
    RUNS[cpu.min(MAX_CPUS - 1)].load(Ordering::Relaxed)
}

/// (thread id, process id) running on CPU `cpu`, as last recorded.
pub fn running_on(cpu: usize) -> (u64, u64) {
    let r = &RUNNING[cpu.min(MAX_CPUS - 1)];
    (r.0.load(Ordering::Relaxed), r.1.load(Ordering::Relaxed))
}

/// Chooses the CPU a ready thread goes to (see the module docs).
fn place(t: &Thread, me: usize) -> usize {
    let online = percpu::online_count();
    let allowed = |c: usize| t.allowed_on(c);
    let last = t.last_cpu().min(online - 1);
    if allowed(last)
        && IDLE[last].load(Ordering::Relaxed)
        && QUEUED[last].load(Ordering::Relaxed) == 0
    {
        return last;
    }
    if let Some(c) = (0..online).find(|&c| {
        allowed(c) && IDLE[c].load(Ordering::Relaxed) && QUEUED[c].load(Ordering::Relaxed) == 0
    }) {
        return c;
    }
    if allowed(last) {
        return last;
    }
    (0..online)
        .filter(|&c| allowed(c))
        .min_by_key(|&c| QUEUED[c].load(Ordering::Relaxed))
        .unwrap_or(me)
}

/// Puts a ready thread on a run queue and kicks that CPU if it should
/// switch to it now.
fn enqueue(t: Arc<Thread>) {
    cpu::without_interrupts(|| {
        let me = percpu::cpu_id();
        let target = place(&t, me);
        let priority = t.priority();
        {
            let mut c = CPUS[target].lock();
            if c.ready.try_reserve(1).is_err() {
                log::warn!("sched: run queue of CPU {target} cannot grow; queueing anyway");
            }
            c.ready.push_back(t);
            QUEUED[target].fetch_add(1, Ordering::Relaxed);
        }
        let preempt = IDLE[target].load(Ordering::Relaxed)
            || priority > RUNNING_PRIORITY[target].load(Ordering::Relaxed);
        if preempt {
            NEED_RESCHED[target].store(true, Ordering::Release);
            if target != me {
                KICKS.fetch_add(1, Ordering::Relaxed);
                crate::arch::lapic::send_ipi(percpu::apic_id_of(target), RESCHED_VECTOR);
            }
        }
    });
}

/// Makes a new thread ready. Fails only if the run queue cannot grow.
pub fn start(thread: Arc<Thread>) -> Result<(), crate::mm::MmError> {
    with_cpu(|c, _| c.ready.try_reserve(1))
        .map_err(|_| crate::mm::MmError::NotInitialised("run queue memory"))?;
    *thread.state.lock() = State::Ready;
    enqueue(thread);
    Ok(())
}

/// Takes the best thread this CPU may run from its own queue; misplaced
/// ones (their affinity changed) are moved to `migrate`.
fn pick_own(
    c: &mut Cpu,
    id: usize,
    migrate: &mut [Option<Arc<Thread>>; MIGRATE_BATCH],
) -> Option<Arc<Thread>> {
    let mut slot = 0;
    while slot < MIGRATE_BATCH {
        let Some(at) = c.ready.iter().position(|t| !t.allowed_on(id)) else {
            break;
        };
        migrate[slot] = c.ready.remove(at);
        QUEUED[id].fetch_sub(1, Ordering::Relaxed);
        slot += 1;
    }
    let best = c
        .ready
        .iter()
        .filter(|t| t.allowed_on(id))
        .map(|t| t.priority())
        .max()?;
    let at = c
        .ready
        .iter()
        .position(|t| t.priority() == best && t.allowed_on(id))?;
    let t = c.ready.remove(at)?;
    QUEUED[id].fetch_sub(1, Ordering::Relaxed);
    Some(t)
}

/// Takes a thread this CPU may run from another CPU's queue (the best of
/// the first queue that has one and is not locked right now).
fn steal(id: usize) -> Option<Arc<Thread>> {
    let online = percpu::online_count();
    for other in (1..online).map(|k| (id + k) % online) {
        if QUEUED[other].load(Ordering::Relaxed) == 0 {
            continue;
        }
        let Some(mut o) = CPUS[other].try_lock() else {
            continue;
        };
        let best = o
            .ready
            .iter()
            .filter(|t| t.allowed_on(id))
            .map(|t| t.priority())
            .max();
        let Some(best) = best else { continue };
        // The newest of the best: the one least likely to be cache-warm
        // over there.
        let at = o
            .ready
            .iter()
            .rposition(|t| t.priority() == best && t.allowed_on(id));
        if let Some(t) = at.and_then(|at| o.ready.remove(at)) {
            QUEUED[other].fetch_sub(1, Ordering::Relaxed);
            STEALS.fetch_add(1, Ordering::Relaxed);
            return Some(t);
        }
    }
    None
}

/// Switches to the next thread if there is one that should run. A
/// running thread that is switched away from (it yielded or was
/// preempted) is made ready again once it is off this CPU; a blocked or
/// dead one is not.
pub fn schedule() {
    if !STARTED.load(Ordering::Acquire) {
        return;
    }
    let was_enabled = cpu::interrupts_enabled();
    cpu::disable_interrupts();
    let id = percpu::cpu_id();
    let mut migrate: [Option<Arc<Thread>>; MIGRATE_BATCH] = Default::default();
    let handover = {
        let mut c = CPUS[id].lock();
        NEED_RESCHED[id].store(false, Ordering::Relaxed);
        match c.current.take() {
            None => None,
            Some(prev) => {
                let is_idle = prev.is_idle();
                let wants_to_run =
                    !is_idle && matches!(*prev.state.lock(), State::Running | State::Ready);
                let may_stay = wants_to_run && prev.allowed_on(id);
                let next = match pick_own(&mut c, id, &mut migrate) {
                    // Keep running if nothing better is ready than a thread
                    // that may go on.
                    Some(n) if may_stay && n.priority() < prev.priority() => {
                        c.ready.push_front(n);
                        QUEUED[id].fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Some(n) => Some(n),
                    None if may_stay => None,
                    None => match steal(id) {
                        Some(n) => Some(n),
                        None if is_idle => None,
                        None => c.idle.clone(),
                    },
                };
                match next {
                    None => {
                        if may_stay {
                            *prev.state.lock() = State::Running;
                        }
                        c.current = Some(prev);
                        None
                    }
                    Some(next) => {
                        if wants_to_run {
                            // Back on a queue once it is off this CPU.
                            *prev.state.lock() = State::Ready;
                        }
                        {
                            let mut state = next.state.lock();
                            *state = State::Running;
                            next.on_cpu.store(true, Ordering::Relaxed);
                        }
                        next.cpu.store(id, Ordering::Relaxed);
                        mark_running(id, &next);
                        if !next.is_idle() {
                            RUNS[id].fetch_add(1, Ordering::Relaxed);
                        }
                        c.current = Some(next.clone());
                        c.slice_left = SLICE_TICKS;
                        c.switched_out = Some(prev.clone());
                        Some((prev, next))
                    }
                }
            }
        }
    };
    if let Some((prev, next)) = handover {
        SWITCHES.fetch_add(1, Ordering::Relaxed);
        context::switch(prev, next);
        after_switch();
    }
    for t in migrate.into_iter().flatten() {
        enqueue(t);
    }
    if was_enabled {
        cpu::enable_interrupts();
    }
}

/// Right after a switch, on the thread that now runs: the thread this CPU
/// switched away from is off it now; if it is ready (preempted, or woken
/// while it was still switching away) it goes back on a run queue.
fn after_switch() {
    let Some(prev) = with_cpu(|c, _| c.switched_out.take()) else {
        return;
    };
    let requeue = {
        let state = prev.state.lock();
        prev.on_cpu.store(false, Ordering::Relaxed);
        *state == State::Ready && !prev.is_idle()
    };
    if requeue {
        enqueue(prev);
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
        let mut state = me.state.lock();
        if me.wake_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        *state = State::Blocked;
    }
    schedule();
}

/// Makes `thread` ready if it is blocked; otherwise remembers the wake-up
/// so that its next [`block`] returns at once.
pub fn wake(thread: &Arc<Thread>) {
    let now = {
        let mut state = thread.state.lock();
        match *state {
            State::Blocked => {
                *state = State::Ready;
                // Still on its CPU (switching away): that CPU requeues it.
                !thread.on_cpu.load(Ordering::Relaxed)
            }
            State::Dead => false,
            _ => {
                thread.wake_pending.store(true, Ordering::Release);
                false
            }
        }
    };
    if now {
        enqueue(thread.clone());
    }
}

/// Makes the CPU running `thread` (if another) pass through its
/// interrupt-exit path soon, where exit requests are acted on.
pub fn kick(thread: &Thread) {
    cpu::without_interrupts(|| {
        let me = percpu::cpu_id();
        let on = thread.on_cpu.load(Ordering::Relaxed);
        let there = thread.last_cpu();
        if on && there != me && there < percpu::online_count() {
            KICKS.fetch_add(1, Ordering::Relaxed);
            crate::arch::lapic::send_ipi(percpu::apic_id_of(there), RESCHED_VECTOR);
        }
    });
}

/// Reschedule IPIs taken, per CPU (see [`quiesce`]).
static IPIS_TAKEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The reschedule IPI's handler: the interrupt exit path does the work.
pub fn on_resched_ipi(_vector: u8) {
    IPIS_TAKEN[percpu::cpu_id()].fetch_add(1, Ordering::Relaxed);
}

/// Returns once every other CPU has taken an interrupt since the call:
/// whatever a CPU did with interrupts off when it was called (a switch and
/// the drop of the thread it switched away from, say) is finished. One
/// reschedule IPI each; a CPU that does not answer within a second is
/// logged and not waited for.
pub fn quiesce() {
    let me = percpu::cpu_id();
    let online = percpu::online_count();
    if online <= 1 {
        return;
    }
    let mut seen = [0u64; MAX_CPUS];
    for (cpu, s) in seen.iter_mut().enumerate().take(online) {
        *s = IPIS_TAKEN[cpu].load(Ordering::Acquire);
    }
    for cpu in (0..online).filter(|&c| c != me) {
        crate::arch::lapic::send_ipi(percpu::apic_id_of(cpu), RESCHED_VECTOR);
    }
    let deadline = crate::time::now_ns() + 1_000_000_000;
    for cpu in (0..online).filter(|&c| c != me) {
        while IPIS_TAKEN[cpu].load(Ordering::Acquire) == seen[cpu] {
            if crate::time::now_ns() > deadline {
                log::error!("sched: CPU {cpu} did not answer a quiesce IPI in 1 s");
                break;
            }
            core::hint::spin_loop();
        }
    }
}

/// Restricts `thread` to the CPUs in `mask` (bit n = CPU n; bits of CPUs
/// that are not online are dropped). Returns the previous mask. The
/// current thread moves at once if it may not stay here.
pub fn set_affinity(thread: &Arc<Thread>, mask: u64) -> Result<u64, abi::Error> {
    let all = percpu::online_mask();
    let mask = mask & all;
    if mask == 0 {
        return Err(abi::Error::InvalidArgument);
    }
    let old = thread.set_affinity(mask) & all;
    let is_current = current().is_some_and(|c| Arc::ptr_eq(&c, thread));
    if is_current && !thread.allowed_on(percpu::cpu_id()) {
        yield_now();
    }
    Ok(old)
}

/// The CPU number the caller runs on (it may move right after).
pub fn cpu_number() -> usize {
    percpu::cpu_id()
}

/// A time-out armed with [`arm_timeout`]: the CPU whose timer heap holds
/// it and its id there.
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    cpu: usize,
    id: TimerId,
}

/// Wakes `thread` at `deadline_ns`; cancel with [`disarm_timeout`].
pub fn arm_timeout(thread: &Arc<Thread>, deadline_ns: u64) -> Result<Timeout, abi::Error> {
    with_cpu(|c, cpu| {
        c.timers
            .insert(deadline_ns, thread.clone())
            .map(|id| Timeout { cpu, id })
            .map_err(|_| abi::Error::NoMemory)
    })
}

/// Cancels a time-out if it has not fired yet.
pub fn disarm_timeout(t: Timeout) {
    let cancelled = CPUS[t.cpu].lock().timers.cancel(t.id);
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
    with_cpu(|c, id| {
        for slot in due.iter_mut() {
            match c.timers.pop_expired(now) {
                Some((_, t)) => *slot = Some(t),
                None => break,
            }
        }
        if let Some(cur) = c.current.clone() {
            cur.ticks.fetch_add(1, Ordering::Relaxed);
            c.slice_left = c.slice_left.saturating_sub(1);
            let top = c.ready.iter().map(|t| t.priority()).max();
            if let Some(top) = top {
                if cur.is_idle()
                    || top > cur.priority()
                    || (c.slice_left == 0 && top == cur.priority())
                {
                    NEED_RESCHED[id].store(true, Ordering::Relaxed);
                }
            }
        }
    });
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
    // From Dead on nothing may switch this thread away: a preemption
    // there would never come back, and the joiners taken below would
    // never be woken (found by the suite hanging in a join, one boot in
    // about 45: a tick that made a waking thread preempt landed here).
    // The switch away happens in `schedule` below, interrupts still off.
    cpu::disable_interrupts();
    // Dead is set under the joiners' lock, which `join` holds while it
    // checks for Dead and registers: a joiner either sees Dead or is in
    // the list taken here, never neither (it would sleep for ever).
    let joiners = {
        let mut joiners = me.joiners.lock();
        *me.state.lock() = State::Dead;
        core::mem::take(&mut *joiners)
    };
    #[cfg(feature = "milestones")]
    slow_exit_for_test();
    EXITS_PENDING.fetch_sub(1, Ordering::AcqRel);
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

/// Milestone kernel only: an exiting thread dawdles 5 ms between Dead and
/// waking its joiners, so that a tick lands there for sure (the M3 check
/// `exit_wakes_joiners_despite_ticks`).
#[cfg(feature = "milestones")]
static SLOW_EXIT: AtomicBool = AtomicBool::new(false);

/// Turns the slow exit on or off (milestone kernel only).
#[cfg(feature = "milestones")]
pub fn set_slow_exit(on: bool) {
    SLOW_EXIT.store(on, Ordering::Relaxed);
}

#[cfg(feature = "milestones")]
fn slow_exit_for_test() {
    if SLOW_EXIT.load(Ordering::Relaxed) {
        let until = crate::time::now_ns() + 5_000_000;
        while crate::time::now_ns() < until {
            core::hint::spin_loop();
        }
    }
}

/// Where every new thread starts (on its own stack, interrupts disabled).
pub extern "C" fn thread_main(_: u64) -> ! {
    context::finish_switch();
    after_switch();
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
