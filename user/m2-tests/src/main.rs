//! m2-tests.exe: the M2 user-mode checks and the null_syscall benchmark.
//!
//! Every check is reported to the milestone kernel with REPORT_CHECK (the
//! kernel prints the CHECK line); the order is fixed, see [`run`]. The
//! program exits with 0 if every check passed, else 1.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc. On other
// targets (a host `cargo clippy --workspace`) it links std only so that it
// type-checks; it is never run there.
#![cfg_attr(windows, no_std)]
#![no_main]

mod bench;
mod crt_checks;
mod exports;
mod fault;
mod image;
mod memory;
mod pointers;
use testkit::report;
mod syscalls;

use report::Report;

/// The C entry point the Init library calls: `m2-tests.exe fault` takes
/// the deliberate fault of [`fault::outer`]; without arguments the checks
/// run.
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: i32, _argv: *const *const core::ffi::c_char) -> i32 {
    if argc > 1 {
        return fault::outer();
    }
    run()
}

/// Runs every check, in order, then the benchmark.
fn run() -> i32 {
    let mut r = Report::new();
    syscalls::nop(&mut r);
    syscalls::debug_write(&mut r);
    let sys = syscalls::system_info(&mut r);
    let proc = syscalls::process_info(&mut r);
    syscalls::sleep(&mut r, &sys);
    syscalls::unknown_number(&mut r);
    let ro_page = memory::allocations(&mut r);
    pointers::matrix(&mut r, ro_page);
    memory::release_readonly(&mut r, ro_page);
    image::relocation(&mut r, &proc);
    crt_checks::run(&mut r, &proc);
    bench::null_syscall(&mut r);
    if r.all_passed() {
        0
    } else {
        1
    }
}
