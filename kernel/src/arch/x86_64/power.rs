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
    // SAFETY: the empty IDT is loaded on purpose, to turn the next
    // exception into a shutdown: nothing runs after it but the `int3` and
    // the halt loop, so no handler is ever looked up in it. Interrupts are
    // off, and an NMI would only reset the machine the same way.
    unsafe { lidt(&empty) };
    x86_64::instructions::interrupts::int3();
    super::cpu::halt_forever()
}
