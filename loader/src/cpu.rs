//! CPUID feature bits, MSRs and the time-stamp counter of the BSP.
//!
//! Feature bits: Intel SDM Vol. 2A, CPUID (Tables 3-10, 3-11); AMD's
//! extended leaf 80000001h bit 20 (NX) matches.

use core::arch::asm;
use core::arch::x86_64::__cpuid_count;

fn leaf(eax: u32, ecx: u32) -> core::arch::x86_64::CpuidResult {
    __cpuid_count(eax, ecx)
}

fn max_basic_leaf() -> u32 {
    leaf(0, 0).eax
}

/// CPUID.80000001h:EDX bit 20 (execute-disable).
pub fn has_nx() -> bool {
    leaf(0x8000_0000, 0).eax >= 0x8000_0001 && leaf(0x8000_0001, 0).edx & (1 << 20) != 0
}

/// CPUID.1:EDX bit 9 (an on-chip local APIC).
pub fn has_apic() -> bool {
    leaf(1, 0).edx & (1 << 9) != 0
}

/// CPUID.1:EDX bit 12 (MTRRs).
pub fn has_mtrr() -> bool {
    leaf(1, 0).edx & (1 << 12) != 0
}

/// CPUID.1:EDX bit 16 (PAT).
pub fn has_pat() -> bool {
    leaf(1, 0).edx & (1 << 16) != 0
}

/// CPUID.1:ECX bit 21 (x2APIC).
pub fn has_x2apic() -> bool {
    leaf(1, 0).ecx & (1 << 21) != 0
}

/// This CPU's local APIC id: the 32-bit x2APIC id from CPUID.0Bh:EDX
/// when `x2apic` (and the leaf exists), else CPUID.1:EBX bits 31:24.
pub fn apic_id(x2apic: bool) -> u32 {
    if x2apic && max_basic_leaf() >= 0xb {
        leaf(0xb, 0).edx
    } else {
        leaf(1, 0).ebx >> 24
    }
}

/// Reads an MSR.
///
/// # Safety
/// `msr` must exist on this CPU (else #GP).
pub unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller guarantees the MSR exists; `rdmsr` only reads.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi,
             options(nomem, nostack, preserves_flags));
    }
    u64::from(hi) << 32 | u64::from(lo)
}

/// Writes an MSR.
///
/// # Safety
/// `msr` must exist and `value` must be valid for it, and the write's
/// effect (APIC mode, caching, ...) must be what the caller intends.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack, preserves_flags));
    }
}

/// The time-stamp counter.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: `rdtsc` only reads the counter (CR4.TSD is clear at ring 0
    // either way).
    unsafe {
        asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    u64::from(hi) << 32 | u64::from(lo)
}
