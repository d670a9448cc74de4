//! MSI-X capability: decoding, checking against the BARs, enabling.
//!
//! Layout from PCI 3.0 §6.8.2: the header dword holds the ID, the next
//! pointer and Message Control (bits 31:16); the dword at +4 holds the table
//! BIR (2:0) and offset (31:3), the dword at +8 the same for the PBA.

use crate::header::{FIRST_CAPABILITY, SPACE_END};
use crate::msi::msi_message;
use crate::{Bdf, Capability, ConfigSpace, Function, MsixRegion, Problem};

/// Message Control bits 10:0: table size, encoded as N - 1 (PCI 3.0
/// §6.8.2.3).
const TABLE_SIZE: u16 = 0x7FF;
/// Message Control bit 14: Function Mask, masks every vector.
const FUNCTION_MASK: u16 = 1 << 14;
/// Message Control bit 15: MSI-X Enable.
const ENABLE: u16 = 1 << 15;
/// BIR field, bits 2:0 of the table and PBA dwords (PCI 3.0 §6.8.2.4).
const BIR: u32 = 0b111;
/// Capability length in bytes (PCI 3.0 Figure 6-10).
const LENGTH: u16 = 12;
/// Bytes per table entry (PCI 3.0 §6.8.2.6).
const ENTRY_SIZE: u32 = 16;

/// A decoded, checked MSI-X capability.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct MsiX {
    /// Where the capability starts in config space.
    pub offset: u8,
    /// Number of table entries (1..=2048).
    pub table_size: u16,
    /// BAR slot holding the table.
    pub table_bar: u8,
    /// Byte offset of the table in that BAR (qword-aligned).
    pub table_offset: u32,
    /// BAR slot holding the pending bit array.
    pub pba_bar: u8,
    /// Byte offset of the PBA in that BAR (qword-aligned).
    pub pba_offset: u32,
}

impl MsiX {
    /// Bytes of the table: 16 per entry.
    pub fn table_len(&self) -> u32 {
        u32::from(self.table_size) * ENTRY_SIZE
    }

    /// Bytes of the PBA: one bit per entry in whole qwords (PCI 3.0
    /// §6.8.2.7).
    pub fn pba_len(&self) -> u32 {
        u32::from(self.table_size).div_ceil(64) * 8
    }
}

/// Decodes `f`'s first MSI-X capability and checks that its table and PBA
/// lie inside memory BARs of `f` without overlapping: `None` if it has none.
pub fn msix<C: ConfigSpace>(cs: &mut C, f: &Function) -> Option<Result<MsiX, Problem>> {
    let cap = f.capability(Capability::MSIX)?;
    Some(decode(cs, f, cap.offset))
}

fn decode<C: ConfigSpace>(cs: &mut C, f: &Function, offset: u8) -> Result<MsiX, Problem> {
    if !fits(offset) {
        return Err(Problem::CapabilityLength {
            id: Capability::MSIX,
            offset,
        });
    }
    let head = u16::from(offset);
    let control = (cs.read32(f.at, head) >> 16) as u16;
    let table = cs.read32(f.at, head + 4);
    let pba = cs.read32(f.at, head + 8);
    let msix = MsiX {
        offset,
        table_size: (control & TABLE_SIZE) + 1,
        table_bar: (table & BIR) as u8,
        table_offset: table & !BIR,
        pba_bar: (pba & BIR) as u8,
        pba_offset: pba & !BIR,
    };
    let table = (msix.table_bar, msix.table_offset, msix.table_len());
    let pba = (msix.pba_bar, msix.pba_offset, msix.pba_len());
    check(f, MsixRegion::Table, table)?;
    check(f, MsixRegion::Pba, pba)?;
    let end = |(_, offset, length): (u8, u32, u32)| u64::from(offset) + u64::from(length);
    if table.0 == pba.0 && u64::from(table.1) < end(pba) && u64::from(pba.1) < end(table) {
        return Err(Problem::MsixOverlap { bir: table.0 });
    }
    Ok(msix)
}

/// Whether a capability at `offset` is aligned, after the header, and
/// leaves room for the 12 bytes of MSI-X.
fn fits(offset: u8) -> bool {
    offset >= FIRST_CAPABILITY && offset & 3 == 0 && u16::from(offset) + LENGTH <= SPACE_END
}

/// Checks that `length` bytes at `offset` of BAR `bir` lie in a memory BAR.
fn check(
    f: &Function,
    region: MsixRegion,
    (bir, offset, length): (u8, u32, u32),
) -> Result<(), Problem> {
    let bar = f
        .bar(bir)
        .filter(|b| b.is_memory())
        .ok_or(Problem::MsixBar { region, bir })?;
    if bar.contains(offset.into(), length.into()) {
        Ok(())
    } else {
        Err(Problem::MsixTable {
            region,
            bir,
            offset,
            length,
        })
    }
}

/// Enables MSI-X on `at`: sets MSI-X Enable and clears Function Mask. Each
/// vector stays masked by its own entry's Vector Control bit (set at reset,
/// PCI 3.0 §6.8.2.9) until the kernel writes a [`msix_entry`] to the table.
pub fn enable_msix<C: ConfigSpace>(cs: &mut C, at: Bdf, msix: &MsiX) {
    if !fits(msix.offset) {
        return;
    }
    let head = u16::from(msix.offset);
    let dword = cs.read32(at, head);
    let control = ((dword >> 16) as u16 | ENABLE) & !FUNCTION_MASK;
    cs.write32(at, head, dword & 0xFFFF | u32::from(control) << 16);
}

/// Disables MSI-X on `at` (MSI-X Enable cleared, Function Mask set): the
/// function signals nothing until it is enabled again.
pub fn disable_msix<C: ConfigSpace>(cs: &mut C, at: Bdf, msix: &MsiX) {
    if !fits(msix.offset) {
        return;
    }
    let head = u16::from(msix.offset);
    let dword = cs.read32(at, head);
    let control = ((dword >> 16) as u16 | FUNCTION_MASK) & !ENABLE;
    cs.write32(at, head, dword & 0xFFFF | u32::from(control) << 16);
}

/// The 16-byte MSI-X table entry for a fixed, edge-triggered interrupt to
/// `apic_id` at `vector`, unmasked: message address low, high, data, vector
/// control (PCI 3.0 §6.8.2.6; message format of [`msi_message`]).
pub fn msix_entry(apic_id: u8, vector: u8) -> [u32; 4] {
    let (address, data) = msi_message(apic_id, vector);
    [address as u32, (address >> 32) as u32, data, 0]
}
