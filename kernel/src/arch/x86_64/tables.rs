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
    let (gdt_base, gdt_limit, ist) = super::gdt::expected();
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
