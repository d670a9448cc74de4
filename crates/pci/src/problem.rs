//! What enumeration refused: the PCI subsystem's error type.

use core::fmt;

/// Which MSI-X structure a [`Problem`] is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum MsixRegion {
    /// The MSI-X table (16 bytes per vector).
    Table,
    /// The pending bit array (one bit per vector, in qwords).
    Pba,
}

impl fmt::Display for MsixRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Table => "table",
            Self::Pba => "PBA",
        })
    }
}

/// Something a function's config space said that could not be used. The
/// part concerned is left out; the function is still listed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Problem {
    /// After writing all-ones, the BAR's address bits did not read back as
    /// ones down to the size and zeros below (PCI 3.0 §6.2.5.1).
    /// `readback` is the raw value (both halves for a 64-bit BAR).
    BarSize { index: u8, readback: u64 },
    /// A memory BAR with a reserved type (01b or 11b in bits 2:1).
    BarType { index: u8, raw: u32 },
    /// A 64-bit BAR in the last slot, with no slot left for its upper half.
    Bar64InLastSlot { index: u8 },
    /// The capability at `offset` was reached a second time.
    CapabilityLoop { offset: u8 },
    /// The pointer at config offset `offset` (0x34, or a capability's
    /// offset + 1) holds `next`, which is inside the header (< 0x40) or not
    /// dword-aligned (PCI 3.0 §6.7).
    CapabilityPointer { offset: u8, next: u8 },
    /// Capability `id` at `offset` runs past the end of config space.
    CapabilityLength { id: u8, offset: u8 },
    /// The MSI-X BIR names no memory BAR of this function (reserved value
    /// 6 or 7, an I/O BAR, an unimplemented or refused BAR, or the upper
    /// half of a 64-bit BAR).
    MsixBar { region: MsixRegion, bir: u8 },
    /// The MSI-X table or PBA does not fit inside the BAR it names.
    MsixTable {
        region: MsixRegion,
        bir: u8,
        offset: u32,
        length: u32,
    },
    /// The MSI-X table and PBA overlap (PCI 3.0 §6.8.2 forbids it).
    MsixOverlap { bir: u8 },
    /// A bridge names secondary bus `bus`, which was already scanned (the
    /// bridge's own bus, an ancestor, or one another bridge claimed).
    BusLoop { bus: u8 },
    /// A bridge's subordinate bus is below its secondary bus.
    BridgeBus { secondary: u8, subordinate: u8 },
    /// Header type bits 6:0 name no known layout (PCI 3.0 §6.2.1).
    HeaderType { raw: u8 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BarSize { index, readback } => {
                write!(f, "BAR{index} size mask {readback:#x} is not contiguous")
            }
            Self::BarType { index, raw } => {
                write!(f, "BAR{index} has a reserved memory type ({raw:#010x})")
            }
            Self::Bar64InLastSlot { index } => {
                write!(f, "64-bit BAR{index} has no slot for its upper half")
            }
            Self::CapabilityLoop { offset } => {
                write!(f, "capability list loops back to {offset:#04x}")
            }
            Self::CapabilityPointer { offset, next } => write!(
                f,
                "capability pointer at {offset:#04x} is {next:#04x} \
                 (below 0x40 or unaligned)"
            ),
            Self::CapabilityLength { id, offset } => write!(
                f,
                "capability {id:#04x} at {offset:#04x} runs past config space"
            ),
            Self::MsixBar { region, bir } => {
                write!(f, "MSI-X {region} BIR {bir} names no memory BAR")
            }
            Self::MsixTable {
                region,
                bir,
                offset,
                length,
            } => write!(
                f,
                "MSI-X {region} at BAR{bir}+{offset:#x} ({length} bytes) \
                 lies outside the BAR"
            ),
            Self::MsixOverlap { bir } => {
                write!(f, "MSI-X table and PBA overlap in BAR{bir}")
            }
            Self::BusLoop { bus } => {
                write!(f, "bridge to bus {bus:02x}, which was already scanned")
            }
            Self::BridgeBus {
                secondary,
                subordinate,
            } => write!(
                f,
                "bridge subordinate bus {subordinate:02x} is below its \
                 secondary bus {secondary:02x}"
            ),
            Self::HeaderType { raw } => write!(f, "unknown header type {raw:#04x}"),
        }
    }
}

impl core::error::Error for Problem {}
