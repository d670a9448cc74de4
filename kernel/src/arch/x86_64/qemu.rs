//! QEMU's isa-debug-exit device: leave the emulator with a status code.

use x86_64::instructions::port::Port;

/// I/O port of the isa-debug-exit device (`-device isa-debug-exit,iobase=0xf4`).
const DEBUG_EXIT_PORT: u16 = 0xf4;

/// Asks QEMU to exit; its process status becomes `(code << 1) | 1`.
///
/// On a machine without the device the write is ignored and this returns.
pub fn exit(code: u32) {
    let mut port: Port<u32> = Port::new(DEBUG_EXIT_PORT);
    // SAFETY: port 0xf4 is the debug-exit device in the QEMU configurations
    // the milestone kernel runs in; elsewhere an unclaimed ISA port ignores
    // writes. Writing it has no effect on memory.
    unsafe { port.write(code) };
}
