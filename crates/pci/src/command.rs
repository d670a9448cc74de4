//! The command register: decode and bus-master enables (PCI 3.0 §6.2.2).

use crate::header::COMMAND;
use crate::{Bdf, ConfigSpace};

/// Command bit 0, I/O Space: respond to I/O accesses (PCI 3.0 §6.2.2).
pub(crate) const IO_SPACE: u16 = 1 << 0;
/// Command bit 1, Memory Space: respond to memory accesses (PCI 3.0 §6.2.2).
pub(crate) const MEMORY_SPACE: u16 = 1 << 1;
/// Command bit 2, Bus Master: may issue memory and I/O requests (PCI 3.0
/// §6.2.2).
pub(crate) const BUS_MASTER: u16 = 1 << 2;

/// Reads the command register (the low half of the dword at 0x04).
pub(crate) fn read_command<C: ConfigSpace>(cs: &mut C, at: Bdf) -> u16 {
    cs.read32(at, COMMAND) as u16
}

/// Writes the command register with zero in the status half: status error
/// bits are write-1-to-clear (PCI 3.0 §6.2.3), so writing back what was read
/// would wipe them.
pub(crate) fn write_command<C: ConfigSpace>(cs: &mut C, at: Bdf, command: u16) {
    cs.write32(at, COMMAND, u32::from(command));
}

/// Sets or clears the I/O space, memory space and bus-master enables of `at`
/// and leaves every other command bit (such as Interrupt Disable) as it was.
pub fn set_command<C: ConfigSpace>(cs: &mut C, at: Bdf, io: bool, memory: bool, bus_master: bool) {
    let mut command = read_command(cs, at) & !(IO_SPACE | MEMORY_SPACE | BUS_MASTER);
    if io {
        command |= IO_SPACE;
    }
    if memory {
        command |= MEMORY_SPACE;
    }
    if bus_master {
        command |= BUS_MASTER;
    }
    write_command(cs, at, command);
}

/// Runs `f` with memory and I/O decode of `at` turned off, then restores the
/// command register (PCI 3.0 §6.2.5.1 asks software to disable decode while
/// sizing, so the all-ones probe value is never decoded as an address).
/// `command` is the value read before.
pub(crate) fn with_decode_off<C: ConfigSpace, R>(
    cs: &mut C,
    at: Bdf,
    command: u16,
    f: impl FnOnce(&mut C) -> R,
) -> R {
    let decode = command & (IO_SPACE | MEMORY_SPACE);
    if decode != 0 {
        write_command(cs, at, command & !decode);
    }
    let result = f(cs);
    if decode != 0 {
        write_command(cs, at, command);
    }
    result
}
