//! Per-CPU state reached through the GS base, from the first CPU on.
//!
//! In the kernel, IA32_GS_BASE points at this CPU's [`PerCpu`]; while a
//! user thread runs, `swapgs` has parked that pointer in
//! IA32_KERNEL_GS_BASE. The SYSCALL entry and the exception stubs swap it
//! back before touching `gs:`.

use core::cell::UnsafeCell;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// Byte offsets into [`PerCpu`], used by the entry asm.
pub const OFFSET_KERNEL_RSP: usize = 8;
/// Scratch slot for the user RSP during SYSCALL entry.
pub const OFFSET_USER_RSP: usize = 16;
/// This CPU's number.
pub const OFFSET_CPU_ID: usize = 24;
/// Most CPUs the kernel's per-CPU tables have room for.
pub const MAX_CPUS: usize = 64;

/// One CPU's state. The layout is fixed: the entry asm uses the offsets.
#[repr(C)]
pub struct PerCpu {
    /// Points at itself, so `gs:[0]` yields the block's address.
    self_ptr: u64,
    /// Top of the running thread's kernel stack (SYSCALL entry stack).
    kernel_rsp: u64,
    /// User RSP saved by the SYSCALL entry.
    user_rsp: u64,
    /// Logical CPU number.
    cpu_id: u64,
    /// Reserved (was M2's saved kernel stack pointer).
    reserved: u64,
}

struct PerCpuCell(UnsafeCell<PerCpu>);

// SAFETY: each CPU touches only its own block, through GS, with
// interrupts disabled; there is one CPU for now.
unsafe impl Sync for PerCpuCell {}

static BSP: PerCpuCell = PerCpuCell(UnsafeCell::new(PerCpu {
    self_ptr: 0,
    kernel_rsp: 0,
    user_rsp: 0,
    cpu_id: 0,
    reserved: 0,
}));

/// Points GS at the bootstrap CPU's block.
pub fn init_bsp() {
    let block = BSP.0.get();
    // SAFETY: the block is 'static; writing its self pointer before anyone
    // reads GS; loading GS_BASE only changes where `gs:` addresses go, and
    // KERNEL_GS_BASE = 0 is what user mode will see after `swapgs`.
    unsafe {
        (*block).self_ptr = block as u64;
        GsBase::write(VirtAddr::new(block as u64));
        KernelGsBase::write(VirtAddr::new(0));
    }
}

/// Sets the stack the CPU switches to on SYSCALL and on interrupts or
/// exceptions from ring 3 (the TSS RSP0 follows it).
pub fn set_kernel_stack(top: u64) {
    super::cpu::without_interrupts(|| {
        // SAFETY: writes this CPU's own block through GS with interrupts
        // off; offset 8 is `kernel_rsp` (see the constants above).
        unsafe {
            core::arch::asm!("mov gs:[8], {}", in(reg) top, options(nostack, preserves_flags))
        };
        super::gdt::set_rsp0(top);
    });
}

/// This CPU's number (0 for the bootstrap CPU), read through GS.
pub fn cpu_id() -> usize {
    let id: u64;
    // SAFETY: GS points at this CPU's block from `init_bsp` on (and the
    // kernel never runs with the user's GS base live outside the entry
    // stubs); `cpu_id` sits at OFFSET_CPU_ID.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{off}]",
            out(reg) id,
            off = const OFFSET_CPU_ID,
            options(nostack, preserves_flags, readonly)
        )
    };
    (id as usize).min(MAX_CPUS - 1)
}
