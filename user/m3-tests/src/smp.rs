//! The M8 checks ring 3 can see (`m3-tests.exe smp <cpus>`, run by the
//! milestone kernel only when more than one CPU is online; `<cpus>` is how
//! many CPUs the loader reported), and the child side of the shootdown
//! check (`tlb-child`).

use crate::sys;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use init::rt;
use testkit::{check, Report};

fn set_affinity(h: u64, mask: usize) -> usize {
    // SAFETY: SetThreadAffinityMask takes no pointers.
    unsafe { rt::SetThreadAffinityMask(h, mask) }
}

fn cpu_number() -> u32 {
    // SAFETY: GetCurrentProcessorNumber takes no pointers.
    unsafe { rt::GetCurrentProcessorNumber() }
}

fn wait(h: u64, ms: u32) -> u32 {
    // SAFETY: WaitForSingleObject takes no pointers.
    unsafe { rt::WaitForSingleObject(h, ms) }
}

fn close(h: u64) {
    // SAFETY: CloseHandle takes no pointers.
    unsafe { rt::CloseHandle(h) };
}

fn rdtsc() -> u64 {
    testkit::bench::rdtsc()
}

/// Every check, in order; `cpus` is the loader's CPU count.
pub fn run(cpus: u64) -> i32 {
    let mut r = Report::new();
    count_and_numbers(&mut r, cpus);
    threads_run_in_parallel(&mut r);
    freed_page_faults_on_other_cpu(&mut r);
    same_pages_touched_on_two_cpus(&mut r);
    i32::from(!r.all_passed())
}

/// GetSystemInfo counts every CPU the loader started; a thread pinned to
/// CPU n runs there; a CPU that is not there cannot be chosen.
fn count_and_numbers(r: &mut Report, cpus: u64) {
    let mut info = abi::SystemInfo::default();
    // SAFETY: `info` is a writable SystemInfo.
    unsafe { rt::GetSystemInfo(&mut info) };
    let n = u64::from(info.processor_count);
    let me = rt_current_thread();
    let mut wrong = None;
    for cpu in 0..n.min(64) {
        if set_affinity(me, 1 << cpu) == 0 || u64::from(cpu_number()) != cpu {
            wrong = Some(cpu);
            break;
        }
    }
    let absent = if n < 64 { set_affinity(me, 1 << n) } else { 0 };
    let restored = set_affinity(me, usize::MAX) != 0;
    check!(
        r,
        "cpu_count_and_numbers",
        n == cpus && n > 1 && wrong.is_none() && absent == 0 && restored,
        "GetSystemInfo says {n} CPU(s), the loader {cpus}; pinned thread on the wrong CPU: {wrong:?}; mask of an absent CPU gave {absent:#x}"
    );
}

fn rt_current_thread() -> u64 {
    // SAFETY: GetCurrentThread takes no pointers.
    unsafe { rt::GetCurrentThread() }
}

/// The two spinners' iteration counters.
static COUNTS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
/// Times spinner 0 saw spinner 1 advance within a stretch it ran through
/// without being switched out.
static OVERLAPS: AtomicU64 = AtomicU64::new(0);
static SPIN_TSC: AtomicU64 = AtomicU64::new(0);
static STARTED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn spinner(arg: *mut c_void) -> u32 {
    let me = arg as usize;
    if set_affinity(rt_current_thread(), 1 << me) == 0 {
        return 1;
    }
    STARTED.fetch_add(1, Ordering::AcqRel);
    spin_until(&STARTED, 2);
    let budget = SPIN_TSC.load(Ordering::Relaxed);
    // A stretch shorter than this cannot hide a time slice (10 ms).
    let stretch = budget / 100;
    let start = rdtsc();
    while rdtsc() - start < budget {
        let other = COUNTS[1 - me].load(Ordering::Relaxed);
        let t0 = rdtsc();
        for _ in 0..200 {
            COUNTS[me].fetch_add(1, Ordering::Relaxed);
        }
        let t1 = rdtsc();
        if me == 0 && t1 - t0 < stretch && COUNTS[1].load(Ordering::Relaxed) > other {
            OVERLAPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    0
}

/// Two threads of this process pinned to CPUs 0 and 1 run at the same
/// time: thread 0 sees thread 1's counter move while it runs a stretch too
/// short to have been switched out in (on one CPU that cannot happen).
fn threads_run_in_parallel(r: &mut Report) {
    let mut freq = 0i64;
    // SAFETY: `freq` is a writable i64.
    unsafe { rt::QueryPerformanceFrequency(&mut freq) };
    let mut info = abi::SystemInfo::default();
    // SAFETY: `info` is a writable SystemInfo.
    unsafe { rt::GetSystemInfo(&mut info) };
    // 200 ms of TSC; the stretch limit is 1/100 of it, 2 ms.
    SPIN_TSC.store(info.tsc_frequency / 5, Ordering::Relaxed);
    STARTED.store(0, Ordering::Relaxed);
    OVERLAPS.store(0, Ordering::Relaxed);
    let a = sys::thread(spinner, 0);
    let b = sys::thread(spinner, 1);
    let done = a != 0 && b != 0 && wait(a, 10_000) == 0 && wait(b, 10_000) == 0;
    let codes = (sys::exit_code_thread(a), sys::exit_code_thread(b));
    close(a);
    close(b);
    let overlaps = OVERLAPS.load(Ordering::Relaxed);
    check!(
        r,
        "threads_run_in_parallel",
        done && codes == (Some(0), Some(0)) && overlaps >= 10,
        "exit codes {codes:?}; thread 0 saw thread 1 move during {overlaps} short stretches"
    );
}

/// The child's exit code when its last read of the freed page worked.
const STALE_READ: i32 = 7;

/// Child shared state: the page, and whether it is gone.
static PAGE: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicUsize = AtomicUsize::new(0);
static READING: AtomicUsize = AtomicUsize::new(0);

extern "C" fn reader(_: *mut c_void) -> u32 {
    if set_affinity(rt_current_thread(), 1 << 1) == 0 {
        return 1;
    }
    let page = PAGE.load(Ordering::Acquire) as *const u8;
    loop {
        // SAFETY: the page is mapped until FREED is set; after that this
        // thread reads it once more on purpose (it must fault).
        let v = unsafe { core::ptr::read_volatile(page) };
        core::hint::black_box(v);
        READING.store(1, Ordering::Release);
        if FREED.load(Ordering::Acquire) == 1 {
            break;
        }
    }
    // SAFETY: as above: this read must fault, ending the process.
    let v = unsafe { core::ptr::read_volatile(page) };
    core::hint::black_box(v);
    STALE_READ as u32
}

/// Child: a thread on CPU 1 reads a page in a loop; this thread (CPU 0)
/// frees it and tells the reader, whose next read must fault, so the
/// process ends with an access violation, not `STALE_READ`.
pub fn tlb_child() -> i32 {
    if set_affinity(rt_current_thread(), 1) == 0 {
        return 3;
    }
    let page = sys::committed(4096);
    if page.is_null() {
        return 4;
    }
    PAGE.store(page as u64, Ordering::Release);
    let h = sys::thread(reader, 0);
    if h == 0 {
        return 5;
    }
    spin_until(&READING, 1);
    sys::release_committed(page, 4096);
    FREED.store(1, Ordering::Release);
    // The reader's fault ends the whole process; if it does not fault it
    // returns STALE_READ, which becomes the exit code here.
    wait(h, 10_000);
    sys::exit_code_thread(h).map_or(6, |c| c as i32)
}

/// A page freed by one thread faults at once in a sibling thread on
/// another CPU (the unmap reached its TLB).
fn freed_page_faults_on_other_cpu(r: &mut Report) {
    let h = sys::spawn_self(b"tlb-child\0");
    let waited = h != 0 && wait(h, 20_000) == 0;
    let code = sys::exit_code_process(h);
    close(h);
    check!(
        r,
        "freed_page_faults_on_other_cpu",
        waited && code == Some(abi::status::ACCESS_VIOLATION),
        "child ended with {code:x?} (access violation {:#x} expected; {STALE_READ} means a stale read)",
        abi::status::ACCESS_VIOLATION
    );
}

/// Pages of the region both threads touch.
const SHARED_PAGES: u64 = 1024;
/// Frames the region may take beyond one per page (its page tables, and
/// room for what the kernel allocates meanwhile).
const SHARED_SLACK: u64 = 16;
static SHARED: AtomicU64 = AtomicU64::new(0);
/// Threads pinned and waiting; threads done touching; the go and the
/// exit signals from the main thread.
static TOUCHERS: AtomicUsize = AtomicUsize::new(0);
static TOUCHED: AtomicUsize = AtomicUsize::new(0);
static GO: AtomicUsize = AtomicUsize::new(0);
static LEAVE: AtomicUsize = AtomicUsize::new(0);

/// Spins until `flag` is at least `value`.
fn spin_until(flag: &AtomicUsize, value: usize) {
    while flag.load(Ordering::Acquire) < value {
        core::hint::spin_loop();
    }
}

/// Sleeps a millisecond at a time until `flag` is at least `value`, for
/// at most `ms`; whether it got there.
fn sleep_until(flag: &AtomicUsize, value: usize, ms: u32) -> bool {
    for _ in 0..ms {
        if flag.load(Ordering::Acquire) >= value {
            return true;
        }
        // SAFETY: Sleep takes no pointers.
        unsafe { rt::Sleep(1) };
    }
    flag.load(Ordering::Acquire) >= value
}

/// Pinned to CPU `arg` (0 or 1): once told to go, writes `arg + 1` to
/// byte `arg` of every page of the shared region, first page first, as
/// the other thread does; then waits to be told to leave (so its own
/// stacks stay out of the main thread's frame counts).
extern "C" fn toucher(arg: *mut c_void) -> u32 {
    let me = arg as usize;
    if set_affinity(rt_current_thread(), 1 << me) == 0 {
        return 1;
    }
    TOUCHERS.fetch_add(1, Ordering::AcqRel);
    spin_until(&GO, 1);
    let base = SHARED.load(Ordering::Acquire);
    for page in 0..SHARED_PAGES {
        // SAFETY: the region is SHARED_PAGES demand-zero pages, writable.
        unsafe { ((base + page * 4096 + me as u64) as *mut u8).write_volatile(me as u8 + 1) };
    }
    TOUCHED.fetch_add(1, Ordering::AcqRel);
    spin_until(&LEAVE, 1);
    0
}

fn free_memory() -> u64 {
    let mut info = abi::SystemInfo::default();
    // SAFETY: `info` is a writable SystemInfo.
    unsafe { rt::GetSystemInfo(&mut info) };
    info.free_memory
}

/// What the main thread saw while the touchers ran.
struct Touches {
    /// Pages without both threads' bytes.
    lost: u64,
    /// Frames the touches took, and frames not back after the release.
    taken: u64,
    kept: u64,
}

/// Lets the (started) touchers go on `region` and measures.
fn touch_together(region: *mut u8) -> Option<Touches> {
    if !sleep_until(&TOUCHERS, 2, 10_000) {
        return None;
    }
    let before = free_memory();
    GO.store(1, Ordering::Release);
    if !sleep_until(&TOUCHED, 2, 20_000) {
        return None;
    }
    let touched = free_memory();
    let lost = (0..SHARED_PAGES)
        .filter(|page| {
            // SAFETY: both threads are done; the pages are mapped.
            let at = unsafe { region.add((page * 4096) as usize) };
            // SAFETY: as above.
            let pair = unsafe { (at.read_volatile(), at.add(1).read_volatile()) };
            pair != (1, 2)
        })
        .count() as u64;
    sys::release(region);
    let after = free_memory();
    Some(Touches {
        lost,
        taken: before.saturating_sub(touched) / 4096,
        kept: before.saturating_sub(after) / 4096,
    })
}

/// Two threads on CPUs 0 and 1 first-touch the same demand-zero pages at
/// the same time, so they fault on the same page again and again: each
/// page gets one frame (both bytes land in it), and a thread that lost
/// the race gives its frame back (the region takes one frame a page, and
/// all of them come back).
fn same_pages_touched_on_two_cpus(r: &mut Report) {
    let bytes = (SHARED_PAGES * 4096) as usize;
    let region = sys::lazy(bytes);
    if region.is_null() {
        check!(
            r,
            "same_pages_touched_on_two_cpus",
            false,
            "no lazy region of {bytes} bytes"
        );
        return;
    }
    SHARED.store(region as u64, Ordering::Release);
    for flag in [&TOUCHERS, &TOUCHED, &GO, &LEAVE] {
        flag.store(0, Ordering::Relaxed);
    }
    let a = sys::thread(toucher, 0);
    let b = sys::thread(toucher, 1);
    let seen = if a != 0 && b != 0 {
        touch_together(region)
    } else {
        sys::release(region);
        None
    };
    LEAVE.store(1, Ordering::Release);
    let done = a != 0 && b != 0 && wait(a, 20_000) == 0 && wait(b, 20_000) == 0;
    let codes = (sys::exit_code_thread(a), sys::exit_code_thread(b));
    close(a);
    close(b);
    let Some(t) = seen else {
        check!(
            r,
            "same_pages_touched_on_two_cpus",
            false,
            "the threads never started or never finished; exit codes {codes:?}"
        );
        return;
    };
    check!(
        r,
        "same_pages_touched_on_two_cpus",
        done && codes == (Some(0), Some(0))
            && t.lost == 0
            && (SHARED_PAGES..=SHARED_PAGES + SHARED_SLACK).contains(&t.taken)
            && t.kept <= SHARED_SLACK,
        "exit codes {codes:?}; {} of {SHARED_PAGES} pages lack a write; the region took {} frames, {} not back after its release",
        t.lost,
        t.taken,
        t.kept
    );
}
