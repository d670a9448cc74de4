//! `m3-tests.exe smp-bench`: the SMP throughput benchmarks from ring 3.
//!
//! `smp_null_syscall` and `smp_page_fault` (benchmarks.md ids 10–13), each
//! once with one thread pinned to CPU 0 and once with two threads of this
//! process pinned to CPUs 0 and 1 working at the same time. A figure is
//! the wall-clock time of the whole machine per operation: from the first
//! thread's start to the last thread's end, over the operations of all
//! threads. Each is measured [`REPS`] times, the one-thread and the
//! two-thread runs taking turns, and the median is reported.
//!
//! The kernel prints the INFO and BENCH lines (REPORT_BENCH_MARK,
//! REPORT_BENCH). Each figure is also written to the debug console as
//! `smp-bench result name=<name> iters=<n> ticks=<median> samples=<...>`;
//! the milestone kernel reads those lines back from the process's output
//! to print the scaling (milestones/bench_smp.rs).

use crate::sys;
use core::ffi::c_void;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use init::rt;
use testkit::bench::{announce, mark_begin, mark_end, rdtsc, report};
use testkit::Detail;

/// Measurements per figure; the median is reported (benchmarks.md).
const REPS: usize = 5;
/// NOP system calls per thread and measurement.
const SYSCALLS_PER_THREAD: u64 = 200_000;
/// Demand-zero pages touched per measurement, by all threads together.
const FAULT_PAGES: u64 = 8192;
const PAGE: u64 = 4096;

/// What the workers do in the current measurement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Job {
    /// NOP system calls.
    Syscalls = 0,
    /// First writes to demand-zero pages.
    Touch = 1,
}

static JOB: AtomicU32 = AtomicU32::new(0);
/// Threads taking part (1 or 2): the start barrier waits for this many.
static THREADS: AtomicU32 = AtomicU32::new(1);
static READY: AtomicU32 = AtomicU32::new(0);
/// The timed region, the warm-up region and the pages per thread.
static REGION: AtomicU64 = AtomicU64::new(0);
static WARM: AtomicU64 = AtomicU64::new(0);
static PAGES_EACH: AtomicU64 = AtomicU64::new(0);
/// Per worker: TSC at the start and the end of its timed loop.
static START: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static END: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
/// NOP calls that did not return 0.
static WRONG: AtomicU64 = AtomicU64::new(0);

/// The marker id of a job with one or two threads (benchmarks.md).
fn mark_id(job: Job, threads: u32) -> u8 {
    match (job, threads) {
        (Job::Syscalls, 1) => 10,
        (Job::Syscalls, _) => 11,
        (Job::Touch, 1) => 12,
        (Job::Touch, _) => 13,
    }
}

/// The begin (`begin`) or end marker of benchmark `id` (10–13).
#[inline(always)]
fn mark(id: u8, begin: bool) {
    match (id, begin) {
        (10, true) => mark_begin::<10>(),
        (10, false) => mark_end::<10>(),
        (11, true) => mark_begin::<11>(),
        (11, false) => mark_end::<11>(),
        (12, true) => mark_begin::<12>(),
        (12, false) => mark_end::<12>(),
        (13, true) => mark_begin::<13>(),
        (13, false) => mark_end::<13>(),
        _ => {}
    }
}

fn current_thread() -> u64 {
    // SAFETY: GetCurrentThread takes no pointers.
    unsafe { rt::GetCurrentThread() }
}

fn pin_here(cpu: usize) -> bool {
    // SAFETY: SetThreadAffinityMask and GetCurrentProcessorNumber take no
    // pointers.
    unsafe {
        rt::SetThreadAffinityMask(current_thread(), 1 << cpu) != 0
            && rt::GetCurrentProcessorNumber() as usize == cpu
    }
}

/// `n` NOP system calls with the bare `syscall` instruction.
#[inline(always)]
fn nops(n: u64) -> u64 {
    let mut wrong = 0;
    for _ in 0..n {
        // SAFETY: NOP touches no memory.
        wrong += u64::from(unsafe { ferrite_sys::syscall(abi::nr::NOP, 0, 0, 0, 0, 0) } != 0);
    }
    wrong
}

/// Writes one byte to each of `pages` pages from `base`.
#[inline(always)]
fn touch(base: u64, pages: u64) {
    for i in 0..pages {
        // SAFETY: the caller's demand-zero region covers these pages.
        unsafe { ((base + i * PAGE) as *mut u8).write_volatile(1) };
    }
}

/// One worker: pins itself to CPU `arg`, warms up, waits until every
/// worker is ready, then runs its share of the job between markers.
extern "C" fn worker(arg: *mut c_void) -> u32 {
    let me = arg as usize;
    if !pin_here(me) {
        return 1;
    }
    let job = if JOB.load(Ordering::Relaxed) == Job::Touch as u32 {
        Job::Touch
    } else {
        Job::Syscalls
    };
    let threads = THREADS.load(Ordering::Relaxed);
    let id = mark_id(job, threads);
    let each = PAGES_EACH.load(Ordering::Relaxed);
    let mine = REGION.load(Ordering::Relaxed) + me as u64 * each * PAGE;
    let warm_each = each.div_ceil(100);
    match job {
        Job::Syscalls => {
            WRONG.fetch_add(nops(SYSCALLS_PER_THREAD.div_ceil(100)), Ordering::Relaxed);
        }
        Job::Touch => touch(
            WARM.load(Ordering::Relaxed) + me as u64 * warm_each * PAGE,
            warm_each,
        ),
    }
    READY.fetch_add(1, Ordering::AcqRel);
    while READY.load(Ordering::Acquire) < threads {
        core::hint::spin_loop();
    }
    let t0 = rdtsc();
    mark(id, true);
    match job {
        Job::Syscalls => {
            WRONG.fetch_add(nops(SYSCALLS_PER_THREAD), Ordering::Relaxed);
        }
        Job::Touch => touch(mine, each),
    }
    mark(id, false);
    let t1 = rdtsc();
    START[me].store(t0, Ordering::Release);
    END[me].store(t1, Ordering::Release);
    0
}

/// One measurement of `job` with `threads` workers on CPUs 0.. : TSC
/// ticks from the first start to the last end, or `None` if it failed.
fn once(job: Job, threads: u32) -> Option<u64> {
    JOB.store(job as u32, Ordering::Relaxed);
    THREADS.store(threads, Ordering::Relaxed);
    READY.store(0, Ordering::Relaxed);
    let (mut region, mut warm) = (core::ptr::null_mut(), core::ptr::null_mut());
    if job == Job::Touch {
        let each = FAULT_PAGES / u64::from(threads);
        PAGES_EACH.store(each, Ordering::Relaxed);
        region = sys::lazy((FAULT_PAGES * PAGE) as usize);
        warm = sys::lazy((u64::from(threads) * each.div_ceil(100) * PAGE) as usize);
        if region.is_null() || warm.is_null() {
            for p in [region, warm].into_iter().filter(|p| !p.is_null()) {
                sys::release(p);
            }
            return None;
        }
    } else {
        PAGES_EACH.store(0, Ordering::Relaxed);
    }
    REGION.store(region as u64, Ordering::Relaxed);
    WARM.store(warm as u64, Ordering::Relaxed);
    let mut ok = true;
    let handles: [u64; 2] = core::array::from_fn(|k| {
        if (k as u32) < threads {
            sys::thread(worker, k)
        } else {
            0
        }
    });
    for &h in handles.iter().take(threads as usize) {
        // SAFETY: WaitForSingleObject takes no pointers.
        ok &= h != 0 && unsafe { rt::WaitForSingleObject(h, 30_000) } == 0;
        ok &= sys::exit_code_thread(h) == Some(0);
        if h != 0 {
            // SAFETY: CloseHandle takes no pointers.
            unsafe { rt::CloseHandle(h) };
        }
    }
    for p in [region, warm].into_iter().filter(|p| !p.is_null()) {
        sys::release(p);
    }
    let n = threads as usize;
    let first = START[..n].iter().map(|s| s.load(Ordering::Acquire)).min()?;
    let last = END[..n].iter().map(|e| e.load(Ordering::Acquire)).max()?;
    (ok && last > first).then_some(last - first)
}

/// Writes `text` to the debug console.
fn write(text: &[u8]) {
    // SAFETY: DEBUG_WRITE reads `text`, a live slice.
    let _ = unsafe {
        rt::syscall(
            abi::nr::DEBUG_WRITE,
            [text.as_ptr() as u64, text.len() as u64, 0, 0, 0],
        )
    };
}

/// Writes `smp-bench result name=<name> iters=<n> ticks=<median>
/// samples=<...>` for the kernel to read back.
fn result_line(name: &str, iters: u64, median: u64, samples: &[u64; REPS]) {
    let mut d = Detail::new();
    let _ = write!(
        d,
        "smp-bench result name={name} iters={iters} ticks={median} samples="
    );
    for (i, s) in samples.iter().enumerate() {
        let _ = write!(d, "{}{s}", if i == 0 { "" } else { "," });
    }
    let _ = writeln!(d);
    write(d.as_bytes());
}

/// Measures `job` with one worker and with two, [`REPS`] times each,
/// alternating (so that both see the same host conditions), and reports
/// the medians as `names[0]` and `names[1]`; false if a measurement failed.
fn pair(job: Job, names: [&str; 2]) -> bool {
    for (k, n) in names.iter().enumerate() {
        let _ = announce(n, mark_id(job, k as u32 + 1));
    }
    let mut samples = [[0u64; REPS]; 2];
    for rep in 0..REPS {
        for (k, s) in samples.iter_mut().enumerate() {
            match once(job, k as u32 + 1) {
                Some(ticks) => s[rep] = ticks,
                None => {
                    let mut d = Detail::new();
                    let _ = writeln!(d, "smp-bench: {}: a measurement failed", names[k]);
                    write(d.as_bytes());
                    return false;
                }
            }
        }
    }
    let mut reported = true;
    for (k, n) in names.iter().enumerate() {
        let threads = k as u64 + 1;
        let iters = match job {
            Job::Syscalls => SYSCALLS_PER_THREAD * threads,
            Job::Touch => FAULT_PAGES,
        };
        let mut sorted = samples[k];
        sorted.sort_unstable();
        let median = sorted[REPS / 2];
        reported &= report(n, iters, median).is_ok();
        result_line(n, iters, median, &samples[k]);
    }
    reported
}

/// Every SMP benchmark; exit code 0 if all ran, 1 if one failed, 2 if
/// fewer than two CPUs are online.
pub fn run() -> i32 {
    let mut info = abi::SystemInfo::default();
    // SAFETY: `info` is a writable SystemInfo.
    unsafe { rt::GetSystemInfo(&mut info) };
    if info.processor_count < 2 {
        write(b"smp-bench: needs two CPUs\n");
        return 2;
    }
    WRONG.store(0, Ordering::Relaxed);
    let ran = [
        pair(
            Job::Syscalls,
            ["smp_null_syscall_1cpu", "smp_null_syscall_2cpu"],
        ),
        pair(Job::Touch, ["smp_page_fault_1cpu", "smp_page_fault_2cpu"]),
    ];
    let wrong = WRONG.load(Ordering::Relaxed);
    if wrong != 0 {
        let mut d = Detail::new();
        let _ = writeln!(d, "smp-bench: {wrong} NOP calls returned non-zero");
        write(d.as_bytes());
    }
    i32::from(wrong != 0 || ran.contains(&false))
}
