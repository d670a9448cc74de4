//! The reset of last resort: a triple fault through an empty IDT.

use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

/// Resets the machine by a triple fault; never returns.
///
/// With an IDT limit of 0 no vector has a gate: the `int3` raises #GP,
/// delivering #GP raises #DF, and a fault while delivering #DF puts the
/// CPU into shutdown (Intel SDM Vol. 3A §6.15, "Interrupt 8—Double Fault
/// Exception (#DF)"), which the chipset answers with a reset. If the
/// machine still runs after that, the CPU halts with interrupts off.
pub fn triple_fault() -> ! {
    super::cpu::disable_interrupts();
    let empty = DescriptorTablePointer {
        limit: 0,
        base: VirtAddr::zero(),
    };
    // SAFETY: the empty IDT turns the next exception (the `int3`) into a
    // shutdown on purpose; interrupts are off, so no handler is looked up.
    unsafe { lidt(&empty) };
    x86_64::instructions::interrupts::int3();
    super::cpu::halt_forever()
}
