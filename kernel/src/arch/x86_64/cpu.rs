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

/// Enables maskable interrupts and halts until the next one, with no gap
/// between the two (STI's one-instruction shadow covers the HLT).
pub fn enable_interrupts_and_wait() {
    interrupts::enable_and_hlt();
}

/// Rounds a [`SpinWait`] polls before it starts to PAUSE.
pub const TIGHT_POLLS: u32 = 1024;

/// How a spin-wait for another CPU backs off: its first [`TIGHT_POLLS`]
/// rounds only poll, and every later round PAUSEs.
///
/// The waits this serves (a shootdown's answer, a spin lock held for a
/// short critical section) are usually over within those rounds: on
/// hardware they last well under a microsecond, and a longer wait still
/// PAUSEs for the SMT sibling's sake. Under QEMU's TCG every PAUSE leaves
/// the vCPU's execution loop and takes QEMU's global lock, which the CPU
/// being waited for needs too, to take its interrupt and to write its
/// xAPIC: with a PAUSE from the first round, a TLB shootdown took
/// 3.7–9.9 µs depending on the boot, and 2.3–2.6 µs with the tight rounds
/// first (`tlb_shootdown`, `-smp 2`).
#[derive(Debug, Default)]
pub struct SpinWait {
    rounds: u32,
}

impl SpinWait {
    /// A wait that has not spun yet.
    pub const fn new() -> Self {
        Self { rounds: 0 }
    }

    /// One round of the wait.
    #[inline]
    pub fn spin(&mut self) {
        if self.rounds < TIGHT_POLLS {
            self.rounds += 1;
        } else {
            core::hint::spin_loop();
        }
    }
}

/// Enables maskable interrupts on this CPU.
pub fn enable_interrupts() {
    interrupts::enable();
}

/// Disables maskable interrupts on this CPU.
pub fn disable_interrupts() {
    interrupts::disable();
}

/// Whether maskable interrupts are enabled on this CPU.
pub fn interrupts_enabled() -> bool {
    interrupts::are_enabled()
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
    CpuidResult {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
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
    core::str::from_utf8(&buf[..end])
        .unwrap_or("unknown")
        .trim()
}

/// Current stack pointer.
#[inline(always)]
pub fn stack_pointer() -> u64 {
    let rsp: u64;
    // SAFETY: copying RSP into a register has no side effects.
    unsafe { asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    rsp
}

/// Which ring-3 protections [`enable_user_protection`] turned on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserProtection {
    /// Supervisor-mode execution prevention (CR4.SMEP).
    pub smep: bool,
    /// Supervisor-mode access prevention (CR4.SMAP).
    pub smap: bool,
    /// User-mode instruction prevention (CR4.UMIP).
    pub umip: bool,
}

/// Turns on SMEP, SMAP and UMIP where the CPU has them (CPUID.7.0:EBX bit 7
/// and 20, ECX bit 2; Intel SDM Vol. 3A §2.5).
pub fn enable_user_protection() -> UserProtection {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let leaf7 = cpuid(7, 0);
    let has = UserProtection {
        smep: leaf7.ebx & (1 << 7) != 0,
        smap: leaf7.ebx & (1 << 20) != 0,
        umip: leaf7.ecx & (1 << 2) != 0,
    };
    // The kernel touches user memory only through `user_copy`, which uses
    // STAC/CLAC once the SMAP flag below is set.
    // SAFETY: these bits only restrict ring 0's access to user pages and
    // which instructions ring 3 may run.
    unsafe {
        Cr4::update(|f| {
            f.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, has.smep);
            f.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, has.smap);
            f.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, has.umip);
        });
    }
    super::user_copy::set_smap(has.smap);
    has
}

/// Whether CR4 has SMEP, SMAP and UMIP set right now.
pub fn user_protection_active() -> UserProtection {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let f = Cr4::read();
    UserProtection {
        smep: f.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION),
        smap: f.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION),
        umip: f.contains(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION),
    }
}

/// Lets ring 3 use x87 and SSE: CR0.MP on, CR0.EM off, CR4.OSFXSR and
/// CR4.OSXMMEXCPT on (Intel SDM Vol. 3A §13.1.3); and AVX where the CPU
/// has it (see `fpu.rs`, which says how the state is saved per thread).
pub fn enable_user_fpu() -> super::fpu::FpuFormat {
    use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
    // SAFETY: these bits only allow FPU/SSE instructions to run instead of
    // raising #UD/#NM; nothing in the kernel depends on those exceptions.
    unsafe {
        Cr0::update(|f| {
            f.insert(Cr0Flags::MONITOR_COPROCESSOR);
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
        });
        Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
        core::arch::asm!("fninit", options(nomem, nostack));
    }
    super::fpu::enable()
}

/// The current RFLAGS.
pub fn rflags() -> u64 {
    x86_64::registers::rflags::read_raw()
}
