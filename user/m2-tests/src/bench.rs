//! The `null_syscall` benchmark (benchmarks.md, id 1): NOP system calls in
//! a loop, timed with rdtsc and bracketed by the marker NOPs; the kernel
//! prints the INFO and BENCH lines.

use crate::report::{Report, Shown};
use abi::nr;
use ferrite_sys::syscall;
use testkit::bench::{announce, mark_begin, mark_end, rdtsc, report};
use testkit::check;

const NAME: &str = "null_syscall";
const ITERATIONS: u64 = 200_000;
/// At least 1% of the iterations (benchmarks.md).
const WARM_UP: u64 = ITERATIONS / 100;

/// NOP `n` times with the bare `syscall` instruction; returns how many
/// calls did not return 0.
#[inline(always)]
fn nops(n: u64) -> u64 {
    let mut wrong = 0;
    for _ in 0..n {
        // SAFETY: NOP touches no memory.
        wrong += u64::from(unsafe { syscall(nr::NOP, 0, 0, 0, 0, 0) } != 0);
    }
    wrong
}

pub fn null_syscall(r: &mut Report) {
    let _ = announce(NAME, 1);
    let mut wrong = nops(WARM_UP);
    let t0 = rdtsc();
    mark_begin::<1>();
    wrong += nops(ITERATIONS);
    mark_end::<1>();
    let ticks = rdtsc() - t0;
    let got = report(NAME, ITERATIONS, ticks);
    check!(
        r,
        "null_syscall_bench",
        wrong == 0 && got == Ok(0),
        "{ITERATIONS} NOPs in {ticks} TSC ticks ({} per call), {wrong} returned non-zero; REPORT_BENCH {}",
        ticks / ITERATIONS,
        Shown(got)
    );
}
