//! MSI capability: decoding, programming, x86 message format.
//!
//! Layout from PCI 3.0 §6.8.1: the capability header dword holds the ID,
//! the next pointer and Message Control (bits 31:16); then the message
//! address (dword, plus an upper dword if 64-bit), the message data and,
//! with per-vector masking, the mask and pending bits.

use crate::header::{FIRST_CAPABILITY, SPACE_END};
use crate::{Bdf, Capability, ConfigSpace, Function, Problem};

/// Message Control bit 0: MSI Enable (PCI 3.0 §6.8.1.3).
const ENABLE: u16 = 1 << 0;
/// Message Control bits 3:1: Multiple Message Capable, log2 of vectors.
const CAPABLE_SHIFT: u16 = 1;
/// Message Control bits 6:4: Multiple Message Enable, log2 of vectors.
const MULTIPLE_ENABLE: u16 = 0b111 << 4;
/// Message Control bit 7: 64-bit address capable.
const ADDRESS_64: u16 = 1 << 7;
/// Message Control bit 8: per-vector masking capable.
const PER_VECTOR_MASK: u16 = 1 << 8;

/// Base of the x86 MSI address: bits 31:20 are 0xFEE (Intel SDM Vol. 3A
/// §11.11.1, "Message Address Register Format"); RH = DM = 0 (physical
/// destination mode).
const X86_MSI_ADDRESS: u64 = 0xFEE0_0000;
/// Destination ID (the local APIC ID) sits in address bits 19:12.
const X86_DESTINATION_SHIFT: u32 = 12;

/// A decoded MSI capability.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Msi {
    /// Where the capability starts in config space.
    pub offset: u8,
    /// The function takes a 64-bit message address (control bit 7).
    pub is_64bit: bool,
    /// The function has mask and pending bits (control bit 8).
    pub per_vector_mask: bool,
    /// Multiple Message Capable, the raw control field (bits 3:1): the
    /// function asks for 2^n vectors; 6 and 7 are reserved.
    pub multiple_message_capable: u8,
}

impl Msi {
    /// Vectors the function asks for: 2^`multiple_message_capable`, or 1
    /// for the reserved encodings.
    pub fn requested_vectors(&self) -> u8 {
        match self.multiple_message_capable {
            n @ 0..=5 => 1 << n,
            _ => 1,
        }
    }

    /// Bytes the capability occupies, rounded up to whole dwords.
    pub fn size(&self) -> u8 {
        match (self.is_64bit, self.per_vector_mask) {
            (false, false) => 0x0C,
            (true, false) => 0x10,
            (false, true) => 0x14,
            (true, true) => 0x18,
        }
    }

    /// Offset of the Message Data register.
    fn data(&self) -> u16 {
        u16::from(self.offset) + if self.is_64bit { 0x0C } else { 0x08 }
    }

    /// Offset of the Mask Bits register (only with per-vector masking).
    fn mask(&self) -> u16 {
        self.data() + 4
    }

    /// Whether the capability sits where this crate may write it: aligned,
    /// after the header, inside config space.
    fn fits(&self) -> bool {
        self.offset >= FIRST_CAPABILITY
            && self.offset & 3 == 0
            && u16::from(self.offset) + u16::from(self.size()) <= SPACE_END
    }
}

/// Decodes `f`'s first MSI capability: `None` if it has none, an error if it
/// runs past config space.
pub fn msi<C: ConfigSpace>(cs: &mut C, f: &Function) -> Option<Result<Msi, Problem>> {
    let cap = f.capability(Capability::MSI)?;
    let control = (cs.read32(f.at, cap.offset.into()) >> 16) as u16;
    let msi = Msi {
        offset: cap.offset,
        is_64bit: control & ADDRESS_64 != 0,
        per_vector_mask: control & PER_VECTOR_MASK != 0,
        multiple_message_capable: ((control >> CAPABLE_SHIFT) & 0b111) as u8,
    };
    Some(if msi.fits() {
        Ok(msi)
    } else {
        Err(Problem::CapabilityLength {
            id: Capability::MSI,
            offset: cap.offset,
        })
    })
}

/// x86 MSI address/data for a fixed, edge-triggered interrupt to `apic_id`
/// at `vector` (Intel SDM Vol. 3A §11.11 (10.11 in older editions): address
/// 0xFEE0_0000 | dest << 12, data = vector, delivery mode 000b fixed,
/// trigger mode bit 15 = 0 edge).
pub fn msi_message(apic_id: u8, vector: u8) -> (u64, u32) {
    let address = X86_MSI_ADDRESS | u64::from(apic_id) << X86_DESTINATION_SHIFT;
    (address, u32::from(vector))
}

/// Programs one MSI vector (`vector` to `apic_id`) and enables MSI.
///
/// MSI is switched off while the address and data are written, Multiple
/// Message Enable is set to one vector, and with per-vector masking vector 0
/// is unmasked. While MSI is enabled the function may not use INTx (PCI 3.0
/// §6.8.1.3). An `Msi` that does not fit config space (only possible if
/// built by hand) is ignored.
pub fn enable_msi<C: ConfigSpace>(cs: &mut C, at: Bdf, msi: &Msi, apic_id: u8, vector: u8) {
    if !msi.fits() {
        return;
    }
    let (address, data) = msi_message(apic_id, vector);
    let head = u16::from(msi.offset);
    let dword = cs.read32(at, head);
    let control = (dword >> 16) as u16 & !(ENABLE | MULTIPLE_ENABLE);
    let with_control = |control: u16| dword & 0xFFFF | u32::from(control) << 16;
    cs.write32(at, head, with_control(control));
    cs.write32(at, head + 4, address as u32);
    if msi.is_64bit {
        cs.write32(at, head + 8, (address >> 32) as u32);
    }
    cs.write32(at, msi.data(), data);
    if msi.per_vector_mask {
        let mask = cs.read32(at, msi.mask());
        cs.write32(at, msi.mask(), mask & !1);
    }
    cs.write32(at, head, with_control(control | ENABLE));
}
