//! COM1 output for the last line before the jump (no UEFI after EBS).

use core::arch::asm;
use core::fmt;

/// COM1 base port (PC/AT standard).
const COM1: u16 = 0x3f8;
/// Line status register offset and its "transmit holding empty" bit
/// (16550 datasheet, LSR bit 5).
const LSR: u16 = 5;
const LSR_THRE: u8 = 1 << 5;
/// Polls before giving up on a stuck or absent UART.
const MAX_POLLS: u32 = 100_000;

/// Writes bytes to port `port`.
fn outb(port: u16, value: u8) {
    // SAFETY: writing COM1's data/PIC mask ports has no memory effects;
    // the loader owns the machine after ExitBootServices.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: reading the UART status port has no side effects we rely on.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Writes `value` to an 8-bit I/O port (PIC masks, §10 step 12).
pub fn port_write(port: u16, value: u8) {
    outb(port, value);
}

/// Polling COM1 writer; the firmware has already initialised the UART.
pub struct Com1;

impl Com1 {
    fn put(byte: u8) {
        for _ in 0..MAX_POLLS {
            if inb(COM1 + LSR) & LSR_THRE != 0 {
                break;
            }
            core::hint::spin_loop();
        }
        outb(COM1, byte);
    }
}

impl fmt::Write for Com1 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                Self::put(b'\r');
            }
            Self::put(b);
        }
        Ok(())
    }
}
