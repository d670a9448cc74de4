//! Benchmark timing in user mode (benchmarks.md): rdtsc, the marker NOPs
//! around the timed loop, and the kernel-printed INFO and BENCH lines.

use core::arch::asm;
use ferrite_sys::syscall;

/// The time-stamp counter, after earlier instructions completed.
#[inline(always)]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc reads the time-stamp counter; lfence keeps earlier
    // instructions from drifting past it.
    unsafe { asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The begin marker of benchmark `ID`: `nop dword ptr [rax + 0x4d4200ID]`.
#[inline(always)]
pub fn mark_begin<const ID: u8>() {
    // SAFETY: a 7-byte NOP; it has no effect.
    unsafe {
        asm!(
            ".byte 0x0f, 0x1f, 0x80, {id}, 0x00, 0x42, 0x4d",
            id = const ID,
            options(nomem, nostack, preserves_flags)
        )
    };
}

/// The end marker of benchmark `ID`: `nop dword ptr [rcx + 0x4d4200ID]`.
#[inline(always)]
pub fn mark_end<const ID: u8>() {
    // SAFETY: a 7-byte NOP; it has no effect.
    unsafe {
        asm!(
            ".byte 0x0f, 0x1f, 0x81, {id}, 0x00, 0x42, 0x4d",
            id = const ID,
            options(nomem, nostack, preserves_flags)
        )
    };
}

/// Asks the kernel to print `INFO bench=<name> mark_id=<id>`.
pub fn announce(name: &str, id: u8) -> abi::SysResult {
    // SAFETY: REPORT_BENCH_MARK reads the name, a live string.
    abi::decode(unsafe {
        syscall(
            abi::nr::REPORT_BENCH_MARK,
            name.as_ptr() as u64,
            name.len() as u64,
            u64::from(id),
            0,
            0,
        )
    })
}

/// Asks the kernel to print the BENCH line for `iterations` that took
/// `ticks` TSC ticks.
pub fn report(name: &str, iterations: u64, ticks: u64) -> abi::SysResult {
    // SAFETY: REPORT_BENCH reads the name, a live string.
    abi::decode(unsafe {
        syscall(
            abi::nr::REPORT_BENCH,
            name.as_ptr() as u64,
            name.len() as u64,
            iterations,
            ticks,
            0,
        )
    })
}
