//! The capability list (PCI 3.0 §6.7).

use alloc::vec::Vec;

use crate::header::{
    read8, CAPABILITIES, CARDBUS_CAPABILITIES, FIRST_CAPABILITY, STATUS_CAPABILITIES, TYPE_BRIDGE,
    TYPE_CARDBUS, TYPE_DEVICE,
};
use crate::{Bdf, ConfigSpace, Problem};

/// One entry of a function's capability list.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Capability {
    /// Capability ID (PCI Code and ID Assignment Spec 1.11 §2).
    pub id: u8,
    /// Where the capability starts in config space (dword-aligned, >= 0x40).
    pub offset: u8,
}

impl Capability {
    /// PCI Power Management (PCI Code and ID Assignment Spec 1.11 §2).
    pub const POWER_MANAGEMENT: u8 = 0x01;
    /// Message Signaled Interrupts (PCI 3.0 §6.8.1).
    pub const MSI: u8 = 0x05;
    /// Vendor specific (PCI 3.0 Appendix H); VirtIO uses it for its
    /// structures (VirtIO 1.2 §4.1.4).
    pub const VENDOR: u8 = 0x09;
    /// PCI Express (PCIe Base Spec 4.0 §7.5.3).
    pub const PCI_EXPRESS: u8 = 0x10;
    /// MSI-X (PCI 3.0 §6.8.2).
    pub const MSIX: u8 = 0x11;
    /// Serial ATA Data/Index Configuration (Code and ID Assignment Spec §2).
    pub const SATA: u8 = 0x12;
}

/// Number of dword slots from 0x40 to 0xFC where a capability can start.
const SLOTS: u8 = 48;
const _: () = assert!(SLOTS as u16 * 4 + FIRST_CAPABILITY as u16 == 0x100);

/// Walks the capability list of `at`, appending entries to `caps` and a
/// refused pointer or loop to `problems`. `command` is the COMMAND dword
/// (its status half says whether the list exists).
pub(crate) fn walk<C: ConfigSpace>(
    cs: &mut C,
    at: Bdf,
    layout: u8,
    command: u32,
    caps: &mut Vec<Capability>,
    problems: &mut Vec<Problem>,
) {
    if command & STATUS_CAPABILITIES == 0 {
        return;
    }
    let pointer = match layout {
        TYPE_DEVICE | TYPE_BRIDGE => CAPABILITIES,
        TYPE_CARDBUS => CARDBUS_CAPABILITIES,
        _ => return,
    };
    // `from` is where the pointer being followed lives, for problem reports.
    let mut from = pointer as u8;
    let mut next = read8(cs, at, pointer);
    let mut seen = 0u64;
    while next != 0 {
        // PCI 3.0 §6.7 says the low two bits are reserved and should be
        // masked; this crate refuses them instead, as a sign of a bad list.
        if next < FIRST_CAPABILITY || next & 3 != 0 {
            problems.push(Problem::CapabilityPointer { offset: from, next });
            return;
        }
        let slot = 1u64 << ((next - FIRST_CAPABILITY) / 4);
        if seen & slot != 0 {
            problems.push(Problem::CapabilityLoop { offset: next });
            return;
        }
        seen |= slot;
        let header = cs.read32(at, u16::from(next));
        caps.push(Capability {
            id: header as u8,
            offset: next,
        });
        // next <= 0xFC here, so the pointer byte at next + 1 fits in a u8.
        from = next + 1;
        next = (header >> 8) as u8;
    }
}
