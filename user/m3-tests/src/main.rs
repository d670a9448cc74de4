//! m3-tests.exe: the M3 user-mode checks and benchmarks.
//!
//! Run without arguments it reports its checks to the milestone kernel
//! (REPORT_CHECK, milestone M3) and then runs the benchmarks; it starts
//! copies of itself with an argument for the other side of a check:
//! `pong <n>` (the pipe ping-pong partner), `block` (a process whose
//! threads all block, to be terminated), `fault-thread` (a thread faults
//! while another sleeps), `spin <ms>` (CPU-bound for a
//! while, then reports its progress through a pipe); `stress <ms>` runs the
//! stress scenario (`stress-child <seed>` being its children); `crt` runs
//! the M5 checks of files and the C runtime.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc. On other
// targets (a host `cargo clippy --workspace`) it links std only so that it
// type-checks; it is never run there.
#![cfg_attr(windows, no_std)]
#![no_main]

mod benches;
mod children;
mod crt_files;
mod disk_files;
mod disk_writes;
mod smp;
mod smp_bench;
mod stress;
mod sys;
mod threads;
mod vector;

use core::ffi::c_char;
use testkit::Report;

/// The C entry point the Init library calls with `argv`.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings (the Init library's).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: i32, argv: *const *const c_char) -> i32 {
    let arg = |i: i32| -> &'static [u8] {
        if i >= argc {
            return b"";
        }
        // SAFETY: the Init library passes `argc` NUL-terminated strings
        // that live as long as the process.
        unsafe {
            let p = *argv.add(i as usize);
            let mut n = 0;
            while *p.add(n) != 0 {
                n += 1;
            }
            core::slice::from_raw_parts(p.cast::<u8>(), n)
        }
    };
    match arg(1) {
        b"pong" => children::pong(sys::parse(arg(2)), sys::parse(arg(3))),
        b"block" => children::block(),
        b"fault-thread" => children::fault_thread(),
        b"spin" => children::spin(sys::parse(arg(2)), arg(3)),
        b"stress" => stress::parent(sys::parse(arg(2))),
        b"stress-child" => stress::child(sys::parse(arg(2))),
        b"smp" => smp::run(sys::parse(arg(2))),
        b"tlb-child" => smp::tlb_child(),
        b"smp-bench" => smp_bench::run(),
        b"crt" => crt_files::run(),
        b"disk" => disk_files::run(),
        // Started from a copy on a disk by the `disk` checks.
        b"exit-with" => sys::parse(arg(2)) as i32,
        b"" => run(),
        _ => 2,
    }
}

/// Every check, in order, then the benchmarks.
fn run() -> i32 {
    let mut r = Report::new();
    threads::create_wait_exit_code(&mut r);
    threads::wait_multiple_timeout(&mut r);
    threads::wait_all_objects(&mut r);
    threads::events(&mut r);
    threads::sixty_four_threads(&mut r);
    threads::handles_refused(&mut r);
    threads::demand_zero(&mut r);
    threads::sleep_by_counter(&mut r);
    threads::boundary_rules(&mut r);
    vector::survive_calls_and_switches(&mut r);
    children::pipe_across_processes(&mut r);
    children::terminate_blocked(&mut r);
    children::fault_ends_process(&mut r);
    children::cpu_bound_processes(&mut r);
    benches::run(&mut r);
    if r.all_passed() {
        0
    } else {
        1
    }
}
