//! The legacy 8259 PICs: remapped off the exception vectors, then masked.

use x86_64::instructions::port::Port;

/// Vectors the PICs are moved to (a spurious IRQ 7/15 lands here, never on
/// an exception vector).
pub const PIC1_VECTOR: u8 = 0x20;
/// Second PIC's base vector.
pub const PIC2_VECTOR: u8 = 0x28;

/// Remaps both PICs to 0x20/0x28 and masks every line: interrupts come
/// through the I/O APIC (ICW1–ICW4 per the Intel 8259A data sheet).
pub fn remap_and_mask() {
    let mut cmd1: Port<u8> = Port::new(0x20);
    let mut data1: Port<u8> = Port::new(0x21);
    let mut cmd2: Port<u8> = Port::new(0xa0);
    let mut data2: Port<u8> = Port::new(0xa1);
    // SAFETY: ports 0x20/0x21/0xA0/0xA1 are the PICs, owned by this module
    // alone; the sequence only moves and masks their interrupts.
    unsafe {
        cmd1.write(0x11); // ICW1: edge, cascade, ICW4 follows
        cmd2.write(0x11);
        data1.write(PIC1_VECTOR); // ICW2: vector base
        data2.write(PIC2_VECTOR);
        data1.write(4); // ICW3: slave on IRQ 2
        data2.write(2); // ICW3: slave identity
        data1.write(1); // ICW4: 8086 mode
        data2.write(1);
        data1.write(0xff); // OCW1: mask all
        data2.write(0xff);
    }
}

/// The two interrupt mask registers (0xFF each when fully masked).
pub fn masks() -> (u8, u8) {
    let mut data1: Port<u8> = Port::new(0x21);
    let mut data2: Port<u8> = Port::new(0xa1);
    // SAFETY: reading OCW1 has no side effects.
    unsafe { (data1.read(), data2.read()) }
}
