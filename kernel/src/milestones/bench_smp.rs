//! SMP benchmarks (benchmarks.md ids 10–15), run when 2+ CPUs are online.
#![forbid(unsafe_code)]
//!
//! From ring 3, `m3-tests.exe smp-bench` measures null system calls and
//! first-touch page faults on one CPU and on two at once; this module
//! reads its result lines back and prints the scaling. In the kernel, a
//! thread on CPU 0 measures one-page TLB shootdowns and IPI round trips
//! to CPU 1, where a thread of the same address space spins. Every figure
//! is the median of [`REPS`] timed loops.

use super::Context;
use crate::arch::{bench, cpu, lapic, percpu, tlb};
use crate::task::{priority, sched, Entry, Process, SharedProcess, Thread};
use crate::time;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Timed loops per figure; the median is printed (benchmarks.md).
const REPS: usize = 5;
/// Shootdowns and IPI round trips per timed loop.
const REMOTE_ITERS: u64 = 5000;
/// An IPI not answered within this many TSC ticks (about 100 ms) counts
/// as lost and ends the measurement.
const IPI_TIMEOUT_DIVISOR: u64 = 10;

/// The SMP benchmarks: the user-mode ones, then the kernel ones.
pub fn smp_benchmarks(ctx: &Context<'_>) {
    user_benchmarks(ctx);
    kernel_benchmarks();
}

/// One `smp-bench result` line of m3-tests.exe's output.
struct Figure {
    iters: u64,
    ticks: u64,
}

/// Finds `smp-bench result name=<name> iters=<n> ticks=<n> ...` in `output`.
fn result(output: &str, name: &str) -> Option<Figure> {
    output.lines().find_map(|line| {
        let rest = line.trim_end().strip_prefix("smp-bench result ")?;
        let field = |key: &str| {
            rest.split_whitespace()
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        };
        if field("name")? != name {
            return None;
        }
        Some(Figure {
            iters: field("iters")?.parse().ok()?,
            ticks: field("ticks")?.parse().ok()?,
        })
    })
}

/// Prints `INFO smp_scaling name=<name> x=<ns_1cpu / ns_2cpu>`.
fn scaling(output: &str, name: &str) {
    let one = result(output, &alloc::format!("{name}_1cpu"));
    let two = result(output, &alloc::format!("{name}_2cpu"));
    match (one, two) {
        (Some(a), Some(b)) if a.ticks > 0 && b.ticks > 0 => {
            let per_op = |r: &Figure| r.ticks as f64 / r.iters as f64;
            let x = per_op(&a) / per_op(&b);
            super::raw_line(format_args!("INFO smp_scaling name={name} x={x:.2}\n"));
        }
        _ => log::error!("no figures for {name} in m3-tests.exe's output"),
    }
}

/// Runs `m3-tests.exe smp-bench` (ids 10–13) and prints the scaling of
/// each pair of figures.
fn user_benchmarks(ctx: &Context<'_>) {
    let mut process = match crate::pe::spawn_program(ctx.info, "m3-tests.exe", false) {
        Ok(p) => p,
        Err(e) => {
            log::error!("cannot start m3-tests.exe: {e}");
            return;
        }
    };
    process.set_cmdline("smp-bench".into());
    let p = crate::task::run(process);
    match p.exit_status() {
        Some(exit) if exit.code == 0 && exit.fault.is_none() => {}
        Some(exit) => log::error!("m3-tests.exe smp-bench {exit}"),
        None => log::error!("m3-tests.exe smp-bench has no exit status"),
    }
    for name in ["smp_null_syscall", "smp_page_fault"] {
        scaling(p.output(), name);
    }
}

/// The address space both kernel threads run in, and a page of it.
static ROOT: AtomicU64 = AtomicU64::new(0);
static PAGE: AtomicU64 = AtomicU64::new(0);
/// The spinner runs on CPU 1; it stops when told.
static SPINNING: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);
/// Benchmark IPIs CPU 1 has taken.
static IPIS_SEEN: AtomicU64 = AtomicU64::new(0);

/// Starts `f` as a kernel thread of `process` pinned to CPU `cpu`.
fn start_in(process: &SharedProcess, f: fn(u64), cpu: usize) -> Option<Arc<Thread>> {
    let t = Thread::new(
        "smp-bench",
        Some(process.clone()),
        Entry::Kernel(f, cpu as u64),
        priority::NORMAL,
    )
    .ok()?;
    process.lock().thread_started(&t).ok()?;
    let started = sched::set_affinity(&t, 1 << cpu).is_ok() && sched::start(t.clone()).is_ok();
    if !started {
        process.lock().thread_ended();
        return None;
    }
    Some(t)
}

/// Ids 14 (`tlb_shootdown`) and 15 (`ipi_roundtrip`): two kernel threads
/// of one otherwise empty process, so that its page-table root is loaded
/// on CPUs 0 and 1 only; CPU 1 spins, CPU 0 measures.
fn kernel_benchmarks() {
    let process = match Process::new("smp-bench", &[], 0) {
        Ok(p) => p,
        Err(e) => {
            log::error!("cannot make the benchmark process: {e}");
            return;
        }
    };
    // A page that is mapped in the space: the top page of the main stack.
    PAGE.store(process.initial_stack_pointer() & !0xfff, Ordering::Relaxed);
    ROOT.store(process.root(), Ordering::Relaxed);
    SPINNING.store(false, Ordering::Relaxed);
    STOP.store(false, Ordering::Relaxed);
    let shared: SharedProcess = Arc::new(crate::sync::SpinLock::new(process));
    let Some(spinner) = start_in(&shared, spin, 1) else {
        log::error!("cannot start the thread on CPU 1");
        return;
    };
    match start_in(&shared, measure_remote, 0) {
        Some(initiator) => {
            sched::join(&initiator);
        }
        None => log::error!("cannot start the thread on CPU 0"),
    }
    STOP.store(true, Ordering::Release);
    sched::join(&spinner);
    drop(spinner);
    if crate::task::reclaim(shared).is_none() {
        log::error!("the benchmark process is still referenced");
    }
}

/// CPU 1: keeps the benchmark address space loaded and the CPU busy, with
/// interrupts enabled, until told to stop. The loop has no PAUSE, like the
/// Linux peer's spinner: under QEMU 10's TCG every PAUSE leaves the vCPU's
/// execution loop, which made the remote side three to four times slower
/// to take an interrupt (benchmarks.md, ids 14 and 15).
#[allow(clippy::missing_spin_loop)] // on purpose: see above
fn spin(_: u64) {
    SPINNING.store(true, Ordering::Release);
    while !STOP.load(Ordering::Acquire) {}
}

/// The benchmark IPI's handler (on CPU 1).
fn on_bench_ipi(_vector: u8) {
    IPIS_SEEN.fetch_add(1, Ordering::Release);
}

/// Times `iters` runs of `op` [`REPS`] times after a 1% warm-up and prints
/// the median as benchmark `name`; stops without a BENCH line as soon as
/// `op` fails.
fn median_of<const ID: u8>(name: &str, iters: u64, mut op: impl FnMut() -> bool) -> bool {
    super::raw_line(format_args!("INFO bench={name} mark_id={ID}\n"));
    if !(0..iters.div_ceil(100)).all(|_| op()) {
        return false;
    }
    let mut samples = [0u64; REPS];
    for s in samples.iter_mut() {
        let start = cpu::rdtsc();
        bench::mark_begin::<ID>();
        let ok = (0..iters).all(|_| op());
        bench::mark_end::<ID>();
        *s = cpu::rdtsc() - start;
        if !ok {
            return false;
        }
    }
    log::info!("{name} samples {samples:?} TSC ticks per {iters}");
    samples.sort_unstable();
    super::bench_line(name, iters, samples[REPS / 2]);
    true
}

/// CPU 0: waits for the spinner, then measures ids 14 and 15.
fn measure_remote(_: u64) {
    let deadline = time::now_ns() + 2_000_000_000;
    while !SPINNING.load(Ordering::Acquire) {
        if time::now_ns() > deadline {
            log::error!("the thread on CPU 1 never ran");
            return;
        }
        core::hint::spin_loop();
    }
    let (root, page) = (ROOT.load(Ordering::Relaxed), PAGE.load(Ordering::Relaxed));
    let holders = tlb::cpus_with(root);
    if holders != 0b11 || sched::cpu_number() != 0 {
        log::warn!(
            "on CPU {}, the space is loaded on CPUs {holders:#b} (expected 0 and 1)",
            sched::cpu_number()
        );
    }
    let (shootdowns0, ipis0, _) = tlb::stats();
    let shot = median_of::<14>("tlb_shootdown", REMOTE_ITERS, || {
        tlb::shootdown(tlb::Space::User(root), page, 1);
        true
    });
    let (shootdowns1, ipis1, _) = tlb::stats();
    if !shot {
        log::error!("tlb_shootdown did not run");
    }
    log::info!(
        "tlb_shootdown sent {} shootdown(s) with {} IPI(s)",
        shootdowns1 - shootdowns0,
        ipis1 - ipis0
    );
    let vector = match crate::irq::allocate_vector(on_bench_ipi) {
        Ok(v) => v,
        Err(e) => {
            log::error!("no vector for ipi_roundtrip: {e}");
            return;
        }
    };
    let target = percpu::apic_id_of(1);
    let limit = crate::arch::tsc::frequency().max(1) / IPI_TIMEOUT_DIVISOR;
    let round_trip = || {
        cpu::without_interrupts(|| {
            let seen = IPIS_SEEN.load(Ordering::Acquire);
            lapic::send_ipi(target, vector);
            let sent = cpu::rdtsc();
            let mut wait = cpu::SpinWait::new();
            while IPIS_SEEN.load(Ordering::Acquire) == seen {
                if cpu::rdtsc().wrapping_sub(sent) > limit {
                    return false;
                }
                wait.spin();
            }
            true
        })
    };
    if !median_of::<15>("ipi_roundtrip", REMOTE_ITERS, round_trip) {
        log::error!("an IPI to CPU 1 went unanswered for 100 ms");
    }
    crate::irq::free(vector);
}
