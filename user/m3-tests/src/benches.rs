//! The M3 benchmarks from user mode (benchmarks.md ids 2, 3, 4, 6, 7).

use crate::sys;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};
use init::rt;
use testkit::bench::{announce, mark_begin, mark_end, rdtsc, report};
use testkit::{check, Report};

/// Runs each benchmark; a failure to run one is a failed check.
pub fn run(r: &mut Report) {
    let results = [
        ("yield_pingpong", yield_pingpong()),
        ("pipe_pingpong", pipe_pingpong()),
        ("spawn_exit", spawn(4, "spawn_exit", 1000, true)),
        ("spawn_exec", spawn(6, "spawn_exec", 200, false)),
        ("page_fault", page_fault()),
    ];
    let failed = results.iter().find(|(_, ok)| !ok);
    check!(
        r,
        "benchmarks_ran",
        failed.is_none(),
        "{}",
        failed.map_or(
            "yield_pingpong, pipe_pingpong, spawn_exit, spawn_exec, page_fault",
            |f| f.0
        )
    );
}

static TURN: AtomicU32 = AtomicU32::new(0);

const YIELD_ITERS: u64 = 20_000;

extern "C" fn yield_partner(_: *mut c_void) -> u32 {
    for _ in 0..YIELD_ITERS + YIELD_ITERS.div_ceil(100) {
        while TURN.load(Ordering::Acquire) != 1 {
            // SAFETY: SwitchToThread takes no pointers.
            unsafe { rt::SwitchToThread() };
        }
        TURN.store(0, Ordering::Release);
    }
    0
}

fn yield_round_trips(n: u64) {
    for _ in 0..n {
        TURN.store(1, Ordering::Release);
        while TURN.load(Ordering::Acquire) != 0 {
            // SAFETY: SwitchToThread takes no pointers.
            unsafe { rt::SwitchToThread() };
        }
    }
}

/// id 2: two threads pass a turn back and forth with SwitchToThread.
fn yield_pingpong() -> bool {
    let _ = announce("yield_pingpong", 2);
    TURN.store(0, Ordering::SeqCst);
    let partner = sys::thread(yield_partner, 0);
    if partner == 0 {
        return false;
    }
    yield_round_trips(YIELD_ITERS.div_ceil(100));
    let t0 = rdtsc();
    mark_begin::<2>();
    yield_round_trips(YIELD_ITERS);
    mark_end::<2>();
    let ticks = rdtsc() - t0;
    // SAFETY: WaitForSingleObject and CloseHandle take no pointers.
    unsafe {
        rt::WaitForSingleObject(partner, 5000);
        rt::CloseHandle(partner);
    }
    report("yield_pingpong", YIELD_ITERS, ticks).is_ok()
}

const PIPE_ITERS: u64 = 20_000;

/// id 3: one-byte messages between two processes blocking on each other.
fn pipe_pingpong() -> bool {
    let _ = announce("pipe_pingpong", 3);
    let (ping, pong) = (sys::pipe(c"ping"), sys::pipe(c"pong"));
    let warm = PIPE_ITERS.div_ceil(100);
    let mut buf = [0u8; 64];
    let child = sys::spawn_self(sys::args(&mut buf, b"pong ", PIPE_ITERS + warm, b""));
    if child == 0 {
        return false;
    }
    let trip = || {
        let mut b = [0u8];
        sys::send(ping, &[1]) && sys::receive(pong, &mut b)
    };
    let mut ok = (0..warm).all(|_| trip());
    let t0 = rdtsc();
    mark_begin::<3>();
    for _ in 0..PIPE_ITERS {
        ok &= trip();
    }
    mark_end::<3>();
    let ticks = rdtsc() - t0;
    // SAFETY: WaitForSingleObject and CloseHandle take no pointers.
    unsafe {
        rt::WaitForSingleObject(child, 5000);
        for h in [child, ping, pong] {
            rt::CloseHandle(h);
        }
    }
    ok && report("pipe_pingpong", PIPE_ITERS, ticks).is_ok()
}

fn spawn_and_wait(cached: bool) -> bool {
    let flags = if cached {
        0
    } else {
        abi::create_flags::FRESH_IMAGE
    };
    // SAFETY: both strings are NUL-terminated.
    let h = unsafe { rt::FerriteCreateProcess(c"exit0.exe".as_ptr(), c"".as_ptr(), flags) };
    if h == 0 {
        return false;
    }
    // SAFETY: WaitForSingleObject and CloseHandle take no pointers.
    unsafe {
        let ok = rt::WaitForSingleObject(h, 5000) == 0;
        rt::CloseHandle(h);
        ok
    }
}

/// ids 4 and 6: start exit0.exe and wait for it; `cached` uses the
/// kernel's loaded image (spawn_exit), else the file is parsed, mapped
/// and bound again each time (spawn_exec, `FRESH_IMAGE`).
fn spawn(id: u8, name: &str, iters: u64, cached: bool) -> bool {
    let _ = announce(name, id);
    let mut ok = (0..iters.div_ceil(100)).all(|_| spawn_and_wait(cached));
    let t0 = rdtsc();
    if id == 4 {
        mark_begin::<4>();
    } else {
        mark_begin::<6>();
    }
    for _ in 0..iters {
        ok &= spawn_and_wait(cached);
    }
    if id == 4 {
        mark_end::<4>();
    } else {
        mark_end::<6>();
    }
    let ticks = rdtsc() - t0;
    ok && report(name, iters, ticks).is_ok()
}

const FAULT_PAGES: usize = 16384;

fn touch(p: *mut u8, pages: usize) {
    for i in 0..pages {
        // SAFETY: the caller's allocation covers `pages` pages.
        unsafe { p.add(i * 4096).write_volatile(1) };
    }
}

/// id 7: the first write to each of 16384 fresh demand-zero pages.
fn page_fault() -> bool {
    let _ = announce("page_fault", 7);
    let warm = FAULT_PAGES.div_ceil(100);
    // SAFETY: VirtualAlloc takes no pointers to read.
    let (w, p) = unsafe {
        (
            rt::VirtualAlloc(core::ptr::null_mut(), warm * 4096, 0x3000, 0x04).cast::<u8>(),
            rt::VirtualAlloc(core::ptr::null_mut(), FAULT_PAGES * 4096, 0x3000, 0x04).cast::<u8>(),
        )
    };
    if w.is_null() || p.is_null() {
        return false;
    }
    touch(w, warm);
    let t0 = rdtsc();
    mark_begin::<7>();
    touch(p, FAULT_PAGES);
    mark_end::<7>();
    let ticks = rdtsc() - t0;
    // SAFETY: both came from VirtualAlloc.
    unsafe {
        rt::VirtualFree(w.cast(), 0, 0x8000);
        rt::VirtualFree(p.cast(), 0, 0x8000);
    }
    report("page_fault", FAULT_PAGES as u64, ticks).is_ok()
}
