//! Read back the descriptor-table registers, for the milestone self-checks.

use x86_64::instructions::tables::{sgdt, sidt};
use x86_64::registers::segmentation::{Segment, CS};

/// What the CPU's table registers hold and what the kernel meant them to.
#[derive(Clone, Copy, Debug)]
pub struct TableState {
    /// GDTR base and limit as loaded.
    pub gdtr: (u64, u16),
    /// The kernel's GDT address and limit.
    pub gdt_expected: (u64, u16),
    /// IDTR base and limit as loaded.
    pub idtr: (u64, u16),
    /// The kernel's IDT address and limit.
    pub idt_expected: (u64, u16),
    /// CS and TR selectors as loaded.
    pub cs: u16,
    /// Task register selector.
    pub tr: u16,
    /// IST stack tops 1..3 in the TSS.
    pub ist: [u64; 3],
    /// The TSS base the loaded GDT's TSS descriptor holds (what TR uses).
    pub tss_in_gdt: u64,
    /// The TSS the kernel built for this CPU.
    pub tss_expected: u64,
    /// (handler address, IST index) of the #DF, NMI and #MC gates.
    pub fatal_gates: [(u64, u8); 3],
    /// Selectors the kernel loaded.
    pub expected_cs: u16,
    /// Expected TSS selector.
    pub expected_tr: u16,
}

/// Snapshots the descriptor-table state of this CPU.
pub fn snapshot() -> TableState {
    let g = sgdt();
    let i = sidt();
    let tr: u16;
    // SAFETY: STR only copies the task register selector into a register.
    unsafe { core::arch::asm!("str {0:x}", out(reg) tr, options(nomem, nostack, preserves_flags)) };
    let (gdt_base, gdt_limit, ist, tss_expected) = super::gdt::expected();
    let desc = g.base.as_u64() + u64::from(super::gdt::TSS_SELECTOR);
    let tss_in_gdt = if g.limit as u64 >= u64::from(super::gdt::TSS_SELECTOR) + 15 {
        // SAFETY: the 16-byte TSS descriptor lies inside the loaded GDT
        // (limit checked), which is mapped kernel memory.
        let (low, high) = unsafe {
            (
                core::ptr::read_volatile(desc as *const u64),
                core::ptr::read_volatile((desc + 8) as *const u64),
            )
        };
        // Base bits 15:0 at 16..32, 23:16 at 32..40, 31:24 at 56..64,
        // 63:32 in the high word (Intel SDM Vol. 3A §8.2.3, Figure 8-4).
        (low >> 16) & 0xff_ffff | ((low >> 56) & 0xff) << 24 | (high & 0xffff_ffff) << 32
    } else {
        0
    };
    let (idt_base, idt_limit, _, _) = super::idt::expected(0);
    let gate = |v: usize| {
        let (_, _, handler, ist) = super::idt::expected(v);
        (handler, ist)
    };
    TableState {
        gdtr: (g.base.as_u64(), g.limit),
        gdt_expected: (gdt_base, gdt_limit),
        idtr: (i.base.as_u64(), i.limit),
        idt_expected: (idt_base, idt_limit),
        cs: CS::get_reg().0,
        tr,
        ist,
        tss_in_gdt,
        tss_expected,
        fatal_gates: [gate(8), gate(2), gate(18)],
        expected_cs: super::gdt::KERNEL_CODE,
        expected_tr: super::gdt::TSS_SELECTOR,
    }
}

/// Expected IST index of the #DF, NMI and #MC gates.
pub const FATAL_GATE_IST: [u8; 3] = [
    super::gdt::IST_DOUBLE_FAULT,
    super::gdt::IST_NMI,
    super::gdt::IST_MACHINE_CHECK,
];
