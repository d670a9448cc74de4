//! Register offsets of the configuration header (PCI Local Bus Spec 3.0 §6.1).
//!
//! Offsets are those of Figure 6-1 (type 0 header) and of the PCI-to-PCI
//! Bridge Architecture Spec 1.2 §3.2 (type 1 header); the first 16 bytes are
//! common to every header type.

use crate::{Bdf, ConfigSpace};

/// Vendor ID (15:0) and device ID (31:16) (PCI 3.0 §6.2.1).
pub(crate) const ID: u16 = 0x00;
/// Command (15:0) and status (31:16) registers (PCI 3.0 §6.2.2, §6.2.3).
pub(crate) const COMMAND: u16 = 0x04;
/// Revision (7:0), programming interface (15:8), subclass (23:16) and class
/// code (31:24) (PCI 3.0 §6.2.1).
pub(crate) const CLASS: u16 = 0x08;
/// Cache line size, latency timer, header type (23:16), BIST (PCI 3.0
/// §6.2.1, §6.2.4).
pub(crate) const HEADER: u16 = 0x0C;
/// First base address register (PCI 3.0 §6.2.5.1).
pub(crate) const BAR0: u16 = 0x10;
/// Type 1: primary (7:0), secondary (15:8) and subordinate (23:16) bus
/// numbers (PCI-to-PCI Bridge Architecture Spec 1.2 §3.2.5.2-§3.2.5.4).
pub(crate) const BUS_NUMBERS: u16 = 0x18;
/// Type 0: subsystem vendor ID (15:0) and subsystem ID (31:16) (PCI 3.0
/// §6.2.4).
pub(crate) const SUBSYSTEM: u16 = 0x2C;
/// Capabilities pointer, types 0 and 1 (PCI 3.0 §6.7; Bridge spec §3.2.5.16).
pub(crate) const CAPABILITIES: u16 = 0x34;
/// Capabilities pointer of a type 2 (CardBus bridge) header (PC Card
/// Standard 8.0, Electrical Spec §5.5).
pub(crate) const CARDBUS_CAPABILITIES: u16 = 0x14;
/// Interrupt line (7:0) and interrupt pin (15:8) (PCI 3.0 §6.2.4).
pub(crate) const INTERRUPT: u16 = 0x3C;

/// Status bit 4, Capabilities List, as seen in the COMMAND dword (PCI 3.0
/// §6.2.3).
pub(crate) const STATUS_CAPABILITIES: u32 = 1 << (16 + 4);
/// Header type bit 7: the device has more than one function (PCI 3.0
/// §6.2.1).
pub(crate) const MULTIFUNCTION: u8 = 0x80;
/// Header type bits 6:0: the layout of bytes 0x10..0x40 (PCI 3.0 §6.2.1).
pub(crate) const LAYOUT: u8 = 0x7F;
/// Header type 0: an endpoint (PCI 3.0 §6.1).
pub(crate) const TYPE_DEVICE: u8 = 0;
/// Header type 1: a PCI-to-PCI bridge (Bridge spec §3.2).
pub(crate) const TYPE_BRIDGE: u8 = 1;
/// Header type 2: a CardBus bridge (PC Card Standard 8.0).
pub(crate) const TYPE_CARDBUS: u8 = 2;

/// Size of the PCI-compatible configuration space (PCI 3.0 §6.1).
pub(crate) const SPACE_END: u16 = 0x100;
/// Capabilities live after the 64-byte predefined header (PCI 3.0 §6.7).
pub(crate) const FIRST_CAPABILITY: u8 = 0x40;

/// Number of BARs of a header layout: 6 for type 0 (0x10..=0x24), 2 for
/// type 1 (0x10, 0x14); none are sized for other layouts.
pub(crate) fn bar_count(layout: u8) -> u8 {
    match layout {
        TYPE_DEVICE => 6,
        TYPE_BRIDGE => 2,
        _ => 0,
    }
}

/// Whether the vendor ID means "no function here": 0xFFFF is what an absent
/// function reads as (PCI 3.0 §6.2.1 calls it invalid), 0x0000 is never
/// assigned and is what some broken bridges return.
pub(crate) fn absent(vendor: u16) -> bool {
    vendor == 0xFFFF || vendor == 0x0000
}

/// Reads the byte at `offset` (any alignment below 0x100).
pub(crate) fn read8<C: ConfigSpace>(cs: &mut C, at: Bdf, offset: u16) -> u8 {
    let dword = cs.read32(at, offset & !3);
    (dword >> ((offset & 3) * 8)) as u8
}
