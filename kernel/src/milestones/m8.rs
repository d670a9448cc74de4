//! M8: every CPU runs threads. Run only when more than one CPU is online
//! (the suite boots once with `-smp 1` and once with `-smp 4`).
//!
//! Each check that needs to look at a given CPU runs a kernel thread
//! pinned there (affinity), so what it reads is that CPU's own state.

use super::{detail, ensure, Check, Context, Detail, Outcome};
use crate::arch::{lapic, percpu, probe, tables, tlb};
use crate::sync::SpinLock;
use crate::task::sched::SmpStats;
use crate::task::{priority, sched, Thread};
use crate::time;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M8",
        name: "cpus_online",
        run: cpus_online,
    },
    Check {
        milestone: "M8",
        name: "own_tables_per_cpu",
        run: own_tables_per_cpu,
    },
    Check {
        milestone: "M8",
        name: "threads_run_on_every_cpu",
        run: threads_run_on_every_cpu,
    },
    Check {
        milestone: "M8",
        name: "lock_torture",
        run: lock_torture,
    },
    Check {
        milestone: "M8",
        name: "tlb_shootdown",
        run: tlb_shootdown,
    },
    Check {
        milestone: "M8",
        name: "parallel_spawn_and_fault_storm",
        run: parallel_spawn_and_fault_storm,
    },
    Check {
        milestone: "M8",
        name: "frame_caches_per_cpu",
        run: frame_caches_per_cpu,
    },
    Check {
        milestone: "M8",
        name: "m8_user_checks",
        run: m8_user_checks,
    },
];

/// What a pinned thread saw of its CPU's frame cache.
struct CacheSeen {
    /// The user frame it took and freed.
    taken: u64,
    /// The cache afterwards.
    cached: Vec<u64>,
    /// Whether the allocator called the first cached frame free, and
    /// whether a free of it was refused as a double free.
    held_free: bool,
    held_refused: bool,
}

static CACHE_SEEN: SpinLock<Option<CacheSeen>> = SpinLock::new(None);

/// On its CPU: takes a frame for a user page (the CPU's cache fills from
/// the allocator), frees it (back to the allocator), then looks at a
/// frame still in the cache. Interrupts stay off meanwhile, so nothing
/// else on this CPU takes frames from the cache; only this CPU takes
/// from it.
fn take_user_frame(cpu: u64) {
    use crate::mm::frame_alloc;
    let seen = crate::arch::cpu::without_interrupts(|| {
        let taken = frame_alloc::alloc_user().ok()?;
        frame_alloc::free(taken).ok()?;
        let cached = frame_alloc::cached_on(cpu as usize);
        let (held_free, held_refused) = match cached.first() {
            Some(&held) => (
                frame_alloc::state(held) == Some(frames::FrameState::Free),
                matches!(
                    frame_alloc::free(held),
                    Err(crate::mm::MmError::Frames(
                        frames::FrameError::DoubleFree { .. }
                    ))
                ),
            ),
            None => (false, false),
        };
        Some(CacheSeen {
            taken,
            cached,
            held_free,
            held_refused,
        })
    });
    *CACHE_SEEN.lock() = seen;
}

/// Frames for user pages come from a per-CPU cache: a frame in a CPU's
/// cache counts as free, cannot be freed (it was never handed out), and
/// goes back to the allocator when the allocator runs dry, with the free
/// count unchanged.
fn frame_caches_per_cpu(_: &Context<'_>) -> Outcome {
    use crate::mm::frame_alloc;
    let last = percpu::online_count() - 1;
    frame_alloc::give_back_cached();
    *CACHE_SEEN.lock() = None;
    sched::join(&start(take_user_frame, last as u64, Some(last))?);
    let seen = CACHE_SEEN
        .lock()
        .take()
        .ok_or_else(|| detail!("CPU {last} could not take and free a user frame"))?;
    let held = *seen
        .cached
        .first()
        .ok_or_else(|| detail!("CPU {last}'s cache holds nothing after a user frame was taken"))?;
    ensure!(
        !seen.cached.contains(&seen.taken),
        "the frame CPU {last} freed ({:#x}) is still in its cache",
        seen.taken
    );
    ensure!(
        seen.held_free && seen.held_refused,
        "frame {held:#x} in CPU {last}'s cache: counted free {}, its free refused {}",
        seen.held_free,
        seen.held_refused
    );
    let before = frame_alloc::stats().map(|s| s.free);
    let back = frame_alloc::give_back_cached();
    let after = frame_alloc::stats().map(|s| s.free);
    let left = frame_alloc::cached_on(last);
    let state = frame_alloc::state(held);
    ensure!(
        back >= seen.cached.len()
            && left.is_empty()
            && before == after
            && state == Some(frames::FrameState::Free),
        "giving back: {back} frame(s) of {} cached, {} left, free {before:?} -> {after:?}, {held:#x} {state:?}",
        seen.cached.len(),
        left.len()
    );
    Ok(detail!(
        "CPU {last} cached {} frame(s) after taking one; {held:#x} counted free and its free refused; {back} given back, free count unchanged",
        seen.cached.len()
    ))
}

/// Starts `f(arg)` as a kernel thread, pinned to CPU `pin` if given.
fn start(f: fn(u64), arg: u64, pin: Option<usize>) -> Result<Arc<Thread>, Detail> {
    super::m3::kthread("m8", f, arg, priority::NORMAL, pin)
}

/// Runs `f(cpu)` on every online CPU at once (one pinned thread each) and
/// waits for all of them.
fn on_every_cpu(f: fn(u64)) -> Result<usize, Detail> {
    let n = percpu::online_count();
    let threads: Vec<_> = (0..n)
        .map(|cpu| start(f, cpu as u64, Some(cpu)))
        .collect::<Result<_, _>>()?;
    for t in &threads {
        sched::join(t);
    }
    Ok(n)
}

/// Per CPU: what a pinned thread saw there.
struct Seen {
    cpu: AtomicUsize,
    apic: AtomicU64,
    gdt: AtomicU64,
    gdt_ok: AtomicBool,
    tss: AtomicU64,
    tss_ok: AtomicBool,
    tr_ok: AtomicBool,
    idt: AtomicU64,
    ist: [AtomicU64; 3],
}

static SEEN: [Seen; percpu::MAX_CPUS] = [const {
    Seen {
        cpu: AtomicUsize::new(usize::MAX),
        apic: AtomicU64::new(u64::MAX),
        gdt: AtomicU64::new(0),
        gdt_ok: AtomicBool::new(false),
        tss: AtomicU64::new(0),
        tss_ok: AtomicBool::new(false),
        tr_ok: AtomicBool::new(false),
        idt: AtomicU64::new(0),
        ist: [const { AtomicU64::new(0) }; 3],
    }
}; percpu::MAX_CPUS];

fn look_around(slot: u64) {
    let s = &SEEN[slot as usize];
    s.cpu.store(sched::cpu_number(), Ordering::Relaxed);
    s.apic.store(u64::from(lapic::id()), Ordering::Relaxed);
    let t = tables::snapshot();
    s.gdt.store(t.gdtr.0, Ordering::Relaxed);
    s.gdt_ok.store(t.gdtr == t.gdt_expected, Ordering::Relaxed);
    s.tss.store(t.tss_in_gdt, Ordering::Relaxed);
    s.tss_ok.store(
        t.tss_in_gdt == t.tss_expected && t.tss_in_gdt != 0,
        Ordering::Relaxed,
    );
    s.tr_ok.store(t.tr == t.expected_tr, Ordering::Relaxed);
    s.idt.store(t.idtr.0, Ordering::Relaxed);
    for (a, v) in s.ist.iter().zip(t.ist) {
        a.store(v, Ordering::Relaxed);
    }
}

fn all_distinct(values: &[u64]) -> bool {
    values
        .iter()
        .enumerate()
        .all(|(i, v)| !values[..i].contains(v))
}

/// Every CPU the loader reported came up with the APIC id it reported,
/// distinct from every other, and a pinned thread runs on each one.
fn cpus_online(_: &Context<'_>) -> Outcome {
    let report = crate::smp::report().ok_or_else(|| detail!("no SMP report"))?;
    ensure!(
        report.failed.is_empty(),
        "CPUs that did not start: {:?}",
        report.failed
    );
    ensure!(
        report.online == report.reported,
        "{} online of {} reported",
        report.online,
        report.reported
    );
    let n = on_every_cpu(look_around)?;
    let mut apics = Vec::new();
    for (cpu, s) in SEEN.iter().enumerate().take(n) {
        let ran_on = s.cpu.load(Ordering::Relaxed);
        ensure!(
            ran_on == cpu,
            "the thread pinned to CPU {cpu} ran on {ran_on}"
        );
        let apic = s.apic.load(Ordering::Relaxed);
        ensure!(
            apic == u64::from(percpu::apic_id_of(cpu)),
            "CPU {cpu} reads APIC id {apic}, the kernel has {}",
            percpu::apic_id_of(cpu)
        );
        ensure!(
            report.apic_ids.contains(&(apic as u32)),
            "CPU {cpu}'s APIC id {apic} is not one the loader reported ({:?})",
            report.apic_ids
        );
        apics.push(apic);
    }
    ensure!(all_distinct(&apics), "APIC ids repeat: {apics:?}");
    Ok(detail!(
        "{n} CPUs online, APIC ids {apics:?}, x2APIC from the loader {}",
        if report.x2apic { "on" } else { "off" }
    ))
}

/// Each CPU runs on its own GDT and TSS (TR's descriptor points at the
/// TSS built for that CPU), with its own IST stacks, and the shared IDT.
fn own_tables_per_cpu(_: &Context<'_>) -> Outcome {
    let n = on_every_cpu(look_around)?;
    let mut gdts = Vec::new();
    let mut tsss = Vec::new();
    let mut ists = Vec::new();
    let idt0 = SEEN[0].idt.load(Ordering::Relaxed);
    for (cpu, s) in SEEN.iter().enumerate().take(n) {
        ensure!(
            s.gdt_ok.load(Ordering::Relaxed),
            "CPU {cpu}: GDTR is not its own GDT"
        );
        ensure!(
            s.tss_ok.load(Ordering::Relaxed),
            "CPU {cpu}: the TSS descriptor is not its own TSS"
        );
        ensure!(s.tr_ok.load(Ordering::Relaxed), "CPU {cpu}: TR is wrong");
        ensure!(
            s.idt.load(Ordering::Relaxed) == idt0,
            "CPU {cpu} has another IDT"
        );
        gdts.push(s.gdt.load(Ordering::Relaxed));
        tsss.push(s.tss.load(Ordering::Relaxed));
        for a in &s.ist {
            let top = a.load(Ordering::Relaxed);
            ensure!(top != 0, "CPU {cpu} has an empty IST slot");
            ists.push(top);
        }
    }
    ensure!(all_distinct(&gdts), "GDTs shared: {gdts:x?}");
    ensure!(all_distinct(&tsss), "TSSs shared: {tsss:x?}");
    ensure!(all_distinct(&ists), "IST stacks shared");
    Ok(detail!(
        "{n} GDTs, {n} TSSs and {} IST stacks, all distinct; one IDT",
        ists.len()
    ))
}

/// CPUs the spinning threads were seen on (bit per CPU).
static SEEN_ON: AtomicU64 = AtomicU64::new(0);

fn spin_and_note(ms: u64) {
    let end = time::now_ns() + ms * 1_000_000;
    while time::now_ns() < end {
        SEEN_ON.fetch_or(1 << sched::cpu_number(), Ordering::Relaxed);
        core::hint::spin_loop();
    }
}

/// Unpinned CPU-bound threads spread over every CPU (placement and
/// stealing), and every CPU takes its own timer ticks (so preemption
/// works everywhere).
fn threads_run_on_every_cpu(_: &Context<'_>) -> Outcome {
    let n = percpu::online_count();
    let ticks0: Vec<u64> = (0..n).map(time::ticks_on).collect();
    let runs0: Vec<u64> = (0..n).map(sched::runs_on).collect();
    let SmpStats {
        steals: steals0,
        kicks: kicks0,
    } = sched::smp_stats();
    SEEN_ON.store(0, Ordering::Relaxed);
    let threads: Vec<_> = (0..2 * n)
        .map(|_| start(spin_and_note, 60, None))
        .collect::<Result<_, _>>()?;
    for t in &threads {
        sched::join(t);
    }
    let all = (1u64 << n) - 1;
    let seen = SEEN_ON.load(Ordering::Relaxed);
    ensure!(
        seen == all,
        "threads ran on CPUs {seen:#b}, not on all of {all:#b}"
    );
    let mut ticks = Vec::new();
    for cpu in 0..n {
        let d = time::ticks_on(cpu) - ticks0[cpu];
        ensure!(d >= 20, "CPU {cpu} took only {d} ticks in 60 ms");
        ensure!(
            sched::runs_on(cpu) > runs0[cpu],
            "CPU {cpu} switched to no thread"
        );
        ticks.push(d);
    }
    let stats = sched::smp_stats();
    Ok(detail!(
        "{} threads on CPUs {seen:#b}; ticks per CPU {ticks:?}; {} steal(s), {} kick(s)",
        2 * n,
        stats.steals - steals0,
        stats.kicks - kicks0
    ))
}

/// Increments per thread in the lock torture test.
const TORTURE_ROUNDS: u64 = 4_000;
static TORTURE_LOCK: SpinLock<u64> = SpinLock::new(0);
static RACY: AtomicU64 = AtomicU64::new(0);
static AT_GATE: AtomicUsize = AtomicUsize::new(0);

/// Waits until every torture thread is here, so they all run at once.
fn gate() {
    AT_GATE.fetch_add(1, Ordering::AcqRel);
    while AT_GATE.load(Ordering::Acquire) < percpu::online_count() {
        core::hint::spin_loop();
    }
}

/// Widens the window between a read and the write that depends on it.
fn dawdle() {
    for _ in 0..20 {
        core::hint::spin_loop();
    }
}

fn locked_increments(_: u64) {
    gate();
    for _ in 0..TORTURE_ROUNDS {
        let mut g = TORTURE_LOCK.lock();
        let v = *g;
        dawdle();
        *g = v + 1;
    }
}

fn unlocked_increments(_: u64) {
    gate();
    for _ in 0..TORTURE_ROUNDS {
        let v = RACY.load(Ordering::Relaxed);
        dawdle();
        RACY.store(v + 1, Ordering::Relaxed);
    }
}

/// Threads on every CPU increment one counter under the kernel's spin
/// lock: the total is exact. The same increments without the lock lose
/// updates, which shows the test sees real concurrency and can fail.
fn lock_torture(_: &Context<'_>) -> Outcome {
    *TORTURE_LOCK.lock() = 0;
    AT_GATE.store(0, Ordering::Relaxed);
    let t0 = time::now_ns();
    let n = on_every_cpu(locked_increments)?;
    let locked_ms = (time::now_ns() - t0) / 1_000_000;
    let expect = n as u64 * TORTURE_ROUNDS;
    let locked = *TORTURE_LOCK.lock();
    RACY.store(0, Ordering::Relaxed);
    AT_GATE.store(0, Ordering::Relaxed);
    on_every_cpu(unlocked_increments)?;
    let racy = RACY.load(Ordering::Relaxed);
    ensure!(
        locked == expect,
        "under the lock: {locked} of {expect} increments"
    );
    ensure!(
        racy < expect,
        "without the lock all {expect} increments survived: no concurrency seen"
    );
    Ok(detail!(
        "{n} CPUs x {TORTURE_ROUNDS}: {locked} under the lock ({locked_ms} ms), {racy} without it ({} lost)",
        expect - racy
    ))
}

/// The shootdown test's shared state: the page, the phase, and what the
/// reader saw.
static PAGE: AtomicU64 = AtomicU64::new(0);
static PHASE: AtomicUsize = AtomicUsize::new(0);
static WARM: AtomicBool = AtomicBool::new(false);
/// 1 = the final read succeeded, 2 = it faulted.
static VERDICT: AtomicUsize = AtomicUsize::new(0);

const PHASE_WARM: usize = 0;
const PHASE_READ: usize = 1;

/// On the other CPU: keeps the page's translation hot, then reads it once
/// more after the main CPU has unmapped it.
fn tlb_reader(_: u64) {
    let page = PAGE.load(Ordering::Acquire);
    loop {
        let hot = probe::read_u8(page).is_ok();
        if hot {
            WARM.store(true, Ordering::Release);
        }
        if PHASE.load(Ordering::Acquire) == PHASE_READ {
            break;
        }
        core::hint::spin_loop();
    }
    let v = match probe::read_u8(page) {
        Ok(_) => 1,
        Err(_) => 2,
    };
    VERDICT.store(v, Ordering::Release);
}

/// Maps a fresh page, lets CPU 1 read it, unmaps it on this CPU and has
/// CPU 1 read it again at once; `broken` skips the remote invalidation.
/// Returns whether CPU 1's last read faulted.
fn unmap_while_read(broken: bool) -> Result<bool, Detail> {
    use crate::mm::{frame_alloc, kernel_space, kva};
    let page = kva::alloc(4096, 4096).map_err(|e| detail!("kva: {e}"))?;
    let frame = frame_alloc::alloc().map_err(|e| detail!("frame: {e}"))?;
    crate::mm::phys::zero_frame(frame);
    let flags = paging::Flags::WRITABLE | paging::Flags::NO_EXECUTE | paging::Flags::GLOBAL;
    kernel_space::map(page, frame, paging::PageSize::Size4K, flags)
        .map_err(|e| detail!("map: {e}"))?;
    PAGE.store(page, Ordering::Release);
    PHASE.store(PHASE_WARM, Ordering::Release);
    WARM.store(false, Ordering::Release);
    VERDICT.store(0, Ordering::Release);
    let reader = start(tlb_reader, 0, Some(1))?;
    let deadline = time::now_ns() + 1_000_000_000;
    while !WARM.load(Ordering::Acquire) && time::now_ns() < deadline {
        sched::yield_now();
    }
    let warm = WARM.load(Ordering::Acquire);
    tlb::set_skip_remote(broken);
    let unmapped = kernel_space::unmap(page);
    tlb::set_skip_remote(false);
    PHASE.store(PHASE_READ, Ordering::Release);
    sched::join(&reader);
    // Whatever CPU 1 still caches goes now, before the frame and the
    // range are reused.
    tlb::shootdown(tlb::Space::Kernel, page, 1);
    let _ = frame_alloc::free(frame);
    let _ = kva::free(page, 4096);
    ensure!(warm, "CPU 1 never read the page");
    unmapped.map_err(|e| detail!("unmap: {e}"))?;
    Ok(VERDICT.load(Ordering::Acquire) == 2)
}

/// A page unmapped on CPU 0 faults on CPU 1 at once (no stale
/// translation); with the remote invalidation skipped on purpose, CPU 1
/// still reads it, which shows the test can see a missing shootdown.
fn tlb_shootdown(_: &Context<'_>) -> Outcome {
    let (s0, ipi0, _) = tlb::stats();
    let broken_faulted = unmap_while_read(true)?;
    let faulted = unmap_while_read(false)?;
    let (s1, ipi1, _) = tlb::stats();
    ensure!(
        faulted,
        "CPU 1 still read a page CPU 0 had unmapped and shot down"
    );
    ensure!(
        !broken_faulted,
        "without the shootdown CPU 1 faulted too: the test cannot tell"
    );
    Ok(detail!(
        "unmapped on CPU 0, CPU 1 faults at once; without the IPI it read the stale page; {} shootdown(s), {} IPI(s)",
        s1 - s0,
        ipi1 - ipi0
    ))
}

/// Spawn/exit cycles per CPU in the storm.
const STORM_CYCLES: u64 = 60;
static STORM_FAILURES: AtomicUsize = AtomicUsize::new(0);

fn storm(cpu: u64) {
    let Some(info) = crate::boot::info() else {
        STORM_FAILURES.fetch_add(1, Ordering::Relaxed);
        return;
    };
    for i in 0..STORM_CYCLES {
        let (exe, want_fault) = if (i + cpu).is_multiple_of(2) {
            ("exit0.exe", false)
        } else {
            ("fault-pf.exe", true)
        };
        let ok = match crate::pe::spawn_program(info, exe, false) {
            Ok(process) => {
                let p = crate::task::run(process);
                p.exit_status()
                    .is_some_and(|e| e.fault.is_some() == want_fault)
            }
            Err(_) => false,
        };
        if !ok {
            STORM_FAILURES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every CPU starts processes at once, half of which fault: each ends as
/// it should, and frames, heap and kernel ranges come back exactly.
fn parallel_spawn_and_fault_storm(ctx: &Context<'_>) -> Outcome {
    // Fill the image cache first, so what stays loaded is in the baseline.
    for exe in ["exit0.exe", "fault-pf.exe"] {
        let p =
            crate::pe::spawn_program(ctx.info, exe, false).map_err(|e| detail!("{exe}: {e}"))?;
        drop(crate::task::run(p));
    }
    let before = super::m3::usage();
    STORM_FAILURES.store(0, Ordering::Relaxed);
    let t0 = time::now_ns();
    let n = on_every_cpu(storm)?;
    let ms = (time::now_ns() - t0) / 1_000_000;
    // A join returns once the thread has marked itself dead, which may be
    // before its CPU has switched away from it and dropped it (its kernel
    // stack, one heap block): wait until every CPU is past that.
    sched::quiesce();
    let after = super::m3::usage();
    let failures = STORM_FAILURES.load(Ordering::Relaxed);
    ensure!(failures == 0, "{failures} start(s) did not end as expected");
    ensure!(
        after == before,
        "after the storm {after:?}, before {before:?}"
    );
    Ok(detail!(
        "{} processes on {n} CPUs in {ms} ms (half faulting); frames, heap and kernel ranges unchanged",
        n as u64 * STORM_CYCLES
    ))
}

/// The `smp_panic` scenario: keeps every other CPU busy in a known thread,
/// then panics on this one; the report must say what each CPU ran.
pub fn panic_with_others_busy() -> ! {
    let n = percpu::online_count();
    for cpu in 1..n {
        if start(spin_forever, cpu as u64, Some(cpu)).is_err() {
            log::error!("smp_panic: cannot start the thread for CPU {cpu}");
        }
    }
    let end = time::now_ns() + 100_000_000;
    while time::now_ns() < end {
        sched::yield_now();
    }
    panic!(
        "smp_panic scenario: a deliberate panic on CPU {}",
        sched::cpu_number()
    );
}

fn spin_forever(_: u64) {
    loop {
        core::hint::spin_loop();
    }
}

/// Runs `m3-tests.exe smp <cpus>`, whose checks land in M8 (the CPU count
/// and numbers ring 3 sees, two threads of one process running at once,
/// a freed page faulting at once on another CPU).
fn m8_user_checks(ctx: &Context<'_>) -> Outcome {
    let cpus = crate::smp::report().map_or(0, |r| r.reported);
    super::user_checks(ctx, "m3-tests.exe", &alloc::format!("smp {cpus}"), "M8")
}
