//! Masks the 8259 PICs and the IO APIC redirections (§8, §10 step 12).

use crate::serial::port_write;
use handoff::acpi::{ioapic, IoApic};

/// 8259 master and slave data (mask) ports (PC/AT standard).
const PIC1_DATA: u16 = 0x21;
const PIC2_DATA: u16 = 0xa1;

/// Masks every interrupt source Limine masks. Runs after
/// ExitBootServices, still on the firmware's identity map.
pub fn mask_all(io_apics: &[IoApic]) {
    port_write(PIC1_DATA, 0xff);
    port_write(PIC2_DATA, 0xff);
    for apic in io_apics {
        let base = u64::from(apic.address);
        let count = read(base, ioapic::VERSION);
        for n in 0..ioapic::entries(count) {
            let reg = ioapic::redirection_low(n);
            if let Some(masked) = ioapic::masked(read(base, reg)) {
                write(base, reg, masked);
            }
        }
    }
}

fn read(base: u64, reg: u32) -> u32 {
    let sel = (base + ioapic::REGSEL as u64) as *mut u32;
    let win = (base + ioapic::WINDOW as u64) as *const u32;
    // SAFETY: `base` is an IO APIC from the checksummed MADT; its MMIO
    // page is identity-mapped by the firmware's tables (still loaded),
    // and IOREGSEL/IOWIN are 32-bit registers.
    unsafe {
        sel.write_volatile(reg);
        win.read_volatile()
    }
}

fn write(base: u64, reg: u32, value: u32) {
    let sel = (base + ioapic::REGSEL as u64) as *mut u32;
    let win = (base + ioapic::WINDOW as u64) as *mut u32;
    // SAFETY: as in `read`.
    unsafe {
        sel.write_volatile(reg);
        win.write_volatile(value);
    }
}
