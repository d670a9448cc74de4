//! Checks across processes, and the child sides they start.

use crate::sys;
use core::ffi::c_void;
use init::rt;
use testkit::{check, Report};

/// Messages in the pipe check.
const ROUND_TRIPS: u64 = 100;

/// Child: echoes `n` one-byte messages from pipe "ping" to pipe "pong",
/// each incremented; exits with the number echoed, plus 100000 if a
/// handle value of its parent's (`foreign`, 0 for none) worked here.
pub fn pong(n: u64, foreign: u64) -> i32 {
    // A handle is only valid in the process that holds it.
    // SAFETY: CloseHandle takes no pointers.
    let foreign_worked = foreign != 0 && unsafe { rt::CloseHandle(foreign) } != 0;
    let (ping, pong) = (sys::pipe(c"ping"), sys::pipe(c"pong"));
    let mut done = 0i32;
    for _ in 0..n {
        let mut b = [0u8];
        if !sys::receive(ping, &mut b) || !sys::send(pong, &[b[0].wrapping_add(1)]) {
            break;
        }
        done += 1;
    }
    done + if foreign_worked { 100_000 } else { 0 }
}

/// Messages go back and forth between two processes that block on each
/// other, and the child's exit code comes back through its handle.
pub fn pipe_across_processes(r: &mut Report) {
    let (ping, pong) = (sys::pipe(c"ping"), sys::pipe(c"pong"));
    // The child is told our handle value of an event: in its process that
    // value must mean nothing (a foreign handle).
    // SAFETY: null attributes and name are allowed.
    let ours = unsafe { rt::CreateEventA(core::ptr::null(), 1, 0, core::ptr::null()) };
    let mut buf = [0u8; 64];
    let mut arg = [0u8; 64];
    let tail = sys::args(&mut arg, b" ", ours, b"");
    let mut line = [0u8; 64];
    let head = sys::args(&mut buf, b"pong ", ROUND_TRIPS, b"");
    let (h, t) = (head.len() - 1, tail.len());
    line[..h].copy_from_slice(&head[..h]);
    line[h..h + t].copy_from_slice(tail);
    let child = sys::spawn_self(&line[..h + t]);
    let mut ok = 0;
    for i in 0..ROUND_TRIPS {
        let mut b = [0u8];
        if !sys::send(ping, &[i as u8])
            || !sys::receive(pong, &mut b)
            || b[0] != (i as u8).wrapping_add(1)
        {
            break;
        }
        ok += 1;
    }
    let waited = rt_wait(child, 5000);
    let code = sys::exit_code_process(child);
    // The child's handles are its own: our handle values mean nothing
    // there, and closing the child's handle here is ours alone.
    let closed = rt_close(child);
    let ours_still_open = rt_close(ours);
    rt_close(ping);
    rt_close(pong);
    check!(
        r,
        "pipe_across_processes",
        child != 0
            && ok == ROUND_TRIPS
            && waited == 0
            && code == Some(ROUND_TRIPS as u32)
            && closed
            && ours_still_open,
        "{ok} of {ROUND_TRIPS} round trips, child {child:#x} wait {waited:#x} exit code {code:?} (+100000: our handle {ours:#x} worked in the child); ours still open {ours_still_open}"
    );
}

fn rt_wait(h: u64, ms: u32) -> u32 {
    // SAFETY: WaitForSingleObject takes no pointers.
    unsafe { rt::WaitForSingleObject(h, ms) }
}

fn rt_close(h: u64) -> bool {
    // SAFETY: CloseHandle takes no pointers.
    unsafe { rt::CloseHandle(h) != 0 }
}

extern "C" fn block_forever(arg: *mut c_void) -> u32 {
    if arg.is_null() {
        // SAFETY: Sleep takes no pointers.
        unsafe { rt::Sleep(0xFFFF_FFF0) };
    } else {
        // SAFETY: the handle is an event of this process.
        unsafe { rt::WaitForSingleObject(arg as u64, 0xFFFF_FFFF) };
    }
    0
}

/// Child: two threads block (a sleep and an event wait), the main thread
/// waits for one of them; then says it is ready through pipe "ready".
pub fn block() -> i32 {
    // SAFETY: null attributes and name are allowed.
    let e = unsafe { rt::CreateEventA(core::ptr::null(), 1, 0, core::ptr::null()) };
    let sleeper = sys::thread(block_forever, 0);
    let waiter = sys::thread(block_forever, e as usize);
    let ready = sys::pipe(c"ready");
    sys::send(ready, b"r");
    rt_wait(waiter, 0xFFFF_FFFF);
    let _ = sleeper;
    1
}

/// TerminateProcess ends a process whose every thread is blocked (in a
/// sleep, an event wait and a thread wait), with the given code.
pub fn terminate_blocked(r: &mut Report) {
    let ready = sys::pipe(c"ready");
    let child = sys::spawn_self(b"block\0");
    let mut b = [0u8];
    let started = sys::receive(ready, &mut b);
    // SAFETY: Sleep takes no pointers.
    unsafe { rt::Sleep(20) };
    let before = sys::exit_code_process(child);
    // SAFETY: TerminateProcess takes no pointers.
    let terminated = unsafe { rt::TerminateProcess(child, 77) } != 0;
    let waited = rt_wait(child, 5000);
    let code = sys::exit_code_process(child);
    rt_close(child);
    rt_close(ready);
    check!(
        r,
        "terminate_blocked_process",
        started && before == Some(abi::STILL_ACTIVE as u32) && terminated && waited == 0 && code == Some(77),
        "child ready {started}, code before {before:?}, terminate {terminated}, wait {waited:#x}, code {code:?}"
    );
}

extern "C" fn fault_later(_: *mut c_void) -> u32 {
    // SAFETY: Sleep takes no pointers.
    unsafe { rt::Sleep(50) };
    // SAFETY: not safe at all, on purpose: a store to an unmapped page
    // ends this process.
    unsafe { core::ptr::write_volatile(0x10 as *mut u64, 1) };
    0
}

/// Child: a second thread faults after 50 ms while the first sleeps for
/// 10 s (the fault must end the whole process, not only its thread).
pub fn fault_thread() -> i32 {
    sys::thread(fault_later, 0);
    // SAFETY: Sleep takes no pointers.
    unsafe { rt::Sleep(10_000) };
    0
}

/// A fault in any thread ends the whole process with its status, at once
/// (the fuzzer found that it used to end only the faulting thread).
pub fn fault_ends_process(r: &mut Report) {
    let child = sys::spawn_self(b"fault-thread\0");
    let t0 = sys::now_ns();
    let waited = rt_wait(child, 5000);
    let ms = (sys::now_ns() - t0) / 1_000_000;
    let code = sys::exit_code_process(child);
    if waited != 0 {
        // SAFETY: TerminateProcess takes no pointers.
        unsafe { rt::TerminateProcess(child, 1) };
    }
    rt_close(child);
    check!(
        r,
        "fault_ends_the_process",
        child != 0 && waited == 0 && code == Some(abi::status::ACCESS_VIOLATION) && ms < 2000,
        "a thread's #PF while another sleeps 10 s: wait {waited:#x} after {ms} ms, code {code:x?}"
    );
}

/// Child: counts for `ms` milliseconds of the performance counter without
/// ever blocking, then sends (start, end, count) through the pipe named.
pub fn spin(ms: u64, pipe: &[u8]) -> i32 {
    let mut name = [0u8; 16];
    let n = pipe.len().min(15);
    name[..n].copy_from_slice(&pipe[..n]);
    let Ok(name) = core::ffi::CStr::from_bytes_until_nul(&name) else {
        return 3;
    };
    let out = sys::pipe(name);
    let start = sys::now_ns();
    let mut count = 0u64;
    while sys::now_ns() - start < ms * 1_000_000 {
        count += 1;
        core::hint::black_box(count);
    }
    let end = sys::now_ns();
    let mut msg = [0u8; 24];
    msg[..8].copy_from_slice(&start.to_le_bytes());
    msg[8..16].copy_from_slice(&end.to_le_bytes());
    msg[16..].copy_from_slice(&count.to_le_bytes());
    i32::from(!sys::send(out, &msg))
}

/// Two CPU-bound processes that never yield both progress, and their
/// running times overlap (the scheduler preempts them).
pub fn cpu_bound_processes(r: &mut Report) {
    let (pa, pb) = (sys::pipe(c"spinA"), sys::pipe(c"spinB"));
    let a = sys::spawn_self(b"spin 200 spinA\0");
    let b = sys::spawn_self(b"spin 200 spinB\0");
    let mut ma = [0u8; 24];
    let mut mb = [0u8; 24];
    let got = sys::receive(pa, &mut ma) && sys::receive(pb, &mut mb);
    let word = |m: &[u8; 24], i: usize| {
        u64::from_le_bytes(m[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]))
    };
    let (sa, ea, ca) = (word(&ma, 0), word(&ma, 1), word(&ma, 2));
    let (sb, eb, cb) = (word(&mb, 0), word(&mb, 1), word(&mb, 2));
    let overlap = sa < eb && sb < ea;
    let both_ended = rt_wait(a, 5000) == 0 && rt_wait(b, 5000) == 0;
    for h in [a, b, pa, pb] {
        rt_close(h);
    }
    check!(
        r,
        "cpu_bound_processes_progress",
        got && ca > 0 && cb > 0 && overlap && both_ended,
        "counts {ca} and {cb}; A ran {}..{} ms, B {}..{} ms (overlap {overlap})",
        sa / 1_000_000,
        ea / 1_000_000,
        sb / 1_000_000,
        eb / 1_000_000
    );
}
