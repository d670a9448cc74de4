//! CPU primitives: halting, interrupt flag, TSC, CPUID, control registers.

use core::arch::asm;
use x86_64::instructions::interrupts;
use x86_64::registers::control::Cr2;

/// Halts this CPU forever with interrupts disabled.
pub fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Waits for the next interrupt (or returns at once if one is pending).
pub fn wait_for_interrupt() {
    x86_64::instructions::hlt();
}

/// Runs `f` with maskable interrupts disabled, restoring the previous state.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    interrupts::without_interrupts(f)
}

/// Reads the time-stamp counter (Intel SDM Vol. 2B, RDTSC).
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; CR4.TSD is clear in ring 0.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Raises a breakpoint exception (#BP, vector 3) that the kernel's handler
/// reports and returns from.
pub fn breakpoint() {
    x86_64::instructions::interrupts::int3();
}

/// The page-fault linear address register (CR2).
pub fn cr2() -> u64 {
    Cr2::read_raw()
}

/// Result of one CPUID leaf.
#[derive(Clone, Copy, Debug)]
pub struct CpuidResult {
    /// EAX output.
    pub eax: u32,
    /// EBX output.
    pub ebx: u32,
    /// ECX output.
    pub ecx: u32,
    /// EDX output.
    pub edx: u32,
}

/// Executes CPUID with `leaf`/`subleaf`.
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    CpuidResult { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
}

/// The CPU's brand string (CPUID 0x80000002..4), or "unknown".
pub fn brand_string(buf: &mut [u8; 48]) -> &str {
    if cpuid(0x8000_0000, 0).eax < 0x8000_0004 {
        return "unknown";
    }
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = cpuid(leaf, 0);
        for (j, word) in [r.eax, r.ebx, r.ecx, r.edx].iter().enumerate() {
            buf[i * 16 + j * 4..i * 16 + j * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    core::str::from_utf8(&buf[..end]).unwrap_or("unknown").trim()
}

/// Current stack pointer.
#[inline(always)]
pub fn stack_pointer() -> u64 {
    let rsp: u64;
    // SAFETY: copying RSP into a register has no side effects.
    unsafe { asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    rsp
}
