//! The `null_syscall` benchmark (benchmarks.md, id 1): NOP system calls in
//! a loop, timed with rdtsc and bracketed by the marker NOPs; the kernel
//! prints the BENCH line from REPORT_BENCH.

use crate::check;
use crate::report::{Report, Shown};
use abi::nr;
use core::arch::asm;
use ferrite_sys::syscall;

const NAME: &str = "null_syscall";
const ITERATIONS: u64 = 200_000;
/// At least 1% of the iterations (benchmarks.md).
const WARM_UP: u64 = ITERATIONS / 100;

fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc reads the time-stamp counter; lfence keeps earlier
    // instructions from drifting past it.
    unsafe { asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

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
    // SAFETY: REPORT_BENCH_MARK reads the name, a live string.
    unsafe {
        syscall(
            nr::REPORT_BENCH_MARK,
            NAME.as_ptr() as u64,
            NAME.len() as u64,
            1,
            0,
            0,
        )
    };
    let mut wrong = nops(WARM_UP);
    let t0 = rdtsc();
    // SAFETY: the begin marker, `nop dword ptr [rax + 0x4d420001]`.
    unsafe {
        asm!(
            ".byte 0x0f, 0x1f, 0x80, 0x01, 0x00, 0x42, 0x4d",
            options(nomem, nostack, preserves_flags)
        )
    };
    wrong += nops(ITERATIONS);
    // SAFETY: the end marker, `nop dword ptr [rcx + 0x4d420001]`.
    unsafe {
        asm!(
            ".byte 0x0f, 0x1f, 0x81, 0x01, 0x00, 0x42, 0x4d",
            options(nomem, nostack, preserves_flags)
        )
    };
    let ticks = rdtsc() - t0;
    let args = [
        NAME.as_ptr() as u64,
        NAME.len() as u64,
        ITERATIONS,
        ticks,
        0,
    ];
    // SAFETY: REPORT_BENCH reads the name, a live string.
    let got = abi::decode(unsafe {
        syscall(
            nr::REPORT_BENCH,
            args[0],
            args[1],
            args[2],
            args[3],
            args[4],
        )
    });
    check!(
        r,
        "null_syscall_bench",
        wrong == 0 && got == Ok(0),
        "{ITERATIONS} NOPs in {ticks} TSC ticks ({} per call), {wrong} returned non-zero; REPORT_BENCH {}",
        ticks / ITERATIONS,
        Shown(got)
    );
}
