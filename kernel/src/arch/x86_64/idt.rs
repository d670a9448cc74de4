//! The IDT: 64-bit interrupt gates for the exceptions and vectors 32–255.

use super::exceptions::{irq_stub_address, stub_address};
use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CODE};
use spin::Once;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

/// Present, DPL 0, type 0xE = 64-bit interrupt gate (IF cleared on entry;
/// Intel SDM Vol. 3A §6.14.1, Figure 6-8).
const INTERRUPT_GATE: u8 = 0x8e;
/// The same with DPL 3: `int3` and `into` may be executed in ring 3 (a
/// DPL-0 gate would turn them into #GP; Intel SDM Vol. 3A §6.12.1.1).
const USER_INTERRUPT_GATE: u8 = 0xee;

/// One 16-byte IDT gate descriptor (Intel SDM Vol. 3A §6.14.1).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    fn interrupt(handler: u64, ist: u8) -> Self {
        Self {
            offset_low: handler as u16,
            selector: KERNEL_CODE,
            ist,
            type_attr: INTERRUPT_GATE,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }

    fn handler(&self) -> u64 {
        u64::from(self.offset_low)
            | u64::from(self.offset_mid) << 16
            | u64::from(self.offset_high) << 32
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static IDT: Once<Idt> = Once::new();

/// Number of architecturally defined exception vectors.
pub const EXCEPTION_VECTORS: usize = 32;

/// Builds the IDT (every exception vector gets its stub; #DF, NMI and #MC
/// run on their own IST stacks) and loads it.
pub fn init() {
    let idt = IDT.call_once(|| {
        let mut gates = [Gate::default(); 256];
        for (vector, gate) in gates.iter_mut().enumerate().take(EXCEPTION_VECTORS) {
            let ist = match vector {
                2 => IST_NMI,
                8 => IST_DOUBLE_FAULT,
                18 => IST_MACHINE_CHECK,
                _ => 0,
            };
            *gate = Gate::interrupt(stub_address(vector), ist);
            if matches!(vector, 3 | 4) {
                gate.type_attr = USER_INTERRUPT_GATE;
            }
        }
        for (vector, gate) in gates.iter_mut().enumerate().skip(EXCEPTION_VECTORS) {
            *gate = Gate::interrupt(irq_stub_address(vector), 0);
        }
        Idt(gates)
    });
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::from_ptr(idt),
    };
    // SAFETY: the IDT is 'static and every present gate points at an
    // exception stub in kernel text with the kernel code selector.
    unsafe { lidt(&pointer) };
}

/// Loads the IDT built by [`init`] on this CPU (a newly started one).
pub fn load() {
    init();
}

/// The IDT's address and limit plus (handler, IST index) of one vector, for
/// self-checks.
pub fn expected(vector: usize) -> (u64, u16, u64, u8) {
    match IDT.get() {
        Some(idt) => {
            let gate = &idt.0[vector];
            let limit = (core::mem::size_of::<Idt>() - 1) as u16;
            (idt as *const Idt as u64, limit, gate.handler(), gate.ist)
        }
        None => (0, 0, 0, 0),
    }
}
