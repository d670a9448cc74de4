//! ACPI table walking: RSDP, RSDT/XSDT, MADT IO APICs, DMAR (§10 steps 7, 12).
//!
//! Pure parsing over byte slices; the loader supplies the physical memory.

use crate::bytes::{u32_at, u64_at};
use core::fmt;

/// Size of an ACPI 1.0 RSDP and of the extended (2.0+) one (ACPI 6.5 §5.2.5).
pub const RSDP_V1_LEN: usize = 20;
/// Size of the ACPI 2.0+ RSDP.
pub const RSDP_V2_LEN: usize = 36;
/// Size of a system description table header (ACPI 6.5 §5.2.6).
pub const SDT_HEADER_LEN: usize = 36;
/// MADT interrupt controller structures start here (ACPI 6.5 §5.2.12).
const MADT_ENTRIES: usize = 44;
/// MADT structure type of an I/O APIC (ACPI 6.5 §5.2.12.3).
const MADT_IO_APIC: u8 = 1;

/// Why an ACPI table was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcpiError {
    /// Wrong signature.
    BadSignature,
    /// Checksum does not sum to zero.
    BadChecksum,
    /// The table is shorter than its header or declared length.
    Truncated,
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSignature => write!(f, "ACPI table has a wrong signature"),
            Self::BadChecksum => write!(f, "ACPI table checksum is wrong"),
            Self::Truncated => write!(f, "ACPI table is truncated"),
        }
    }
}

fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0
}

/// A validated RSDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rsdp {
    /// ACPI revision field (0 for ACPI 1.0, 2 for 2.0+).
    pub revision: u8,
    /// RSDT physical address.
    pub rsdt: u32,
    /// XSDT physical address (0 for ACPI 1.0).
    pub xsdt: u64,
}

impl Rsdp {
    /// Parses an RSDP: `bytes` holds at least 20 bytes (36 for rev ≥ 2).
    pub fn parse(bytes: &[u8]) -> Result<Self, AcpiError> {
        let v1 = bytes.get(..RSDP_V1_LEN).ok_or(AcpiError::Truncated)?;
        if &v1[..8] != b"RSD PTR " {
            return Err(AcpiError::BadSignature);
        }
        if !checksum_ok(v1) {
            return Err(AcpiError::BadChecksum);
        }
        let revision = v1[15];
        let rsdt = u32_at(v1, 16).ok_or(AcpiError::Truncated)?;
        if revision < 2 {
            return Ok(Self {
                revision,
                rsdt,
                xsdt: 0,
            });
        }
        let v2 = bytes.get(..RSDP_V2_LEN).ok_or(AcpiError::Truncated)?;
        if !checksum_ok(v2) {
            return Err(AcpiError::BadChecksum);
        }
        Ok(Self {
            revision,
            rsdt,
            xsdt: u64_at(v2, 24).ok_or(AcpiError::Truncated)?,
        })
    }
}

/// Signature and length of a system description table header.
#[must_use]
pub fn sdt_header(bytes: &[u8]) -> Option<([u8; 4], u32)> {
    let sig = bytes.get(..4)?;
    let len = u32_at(bytes, 4)?;
    Some(([sig[0], sig[1], sig[2], sig[3]], len))
}

/// Validates a whole table (header length and checksum).
pub fn check_table(table: &[u8], signature: &[u8; 4]) -> Result<(), AcpiError> {
    let (sig, len) = sdt_header(table).ok_or(AcpiError::Truncated)?;
    if &sig != signature {
        return Err(AcpiError::BadSignature);
    }
    let len = usize::try_from(len).map_err(|_| AcpiError::Truncated)?;
    if len < SDT_HEADER_LEN || table.len() < len {
        return Err(AcpiError::Truncated);
    }
    if !checksum_ok(&table[..len]) {
        return Err(AcpiError::BadChecksum);
    }
    Ok(())
}

/// Table addresses listed in an XSDT (`wide`, 8 bytes each) or RSDT.
pub fn root_entries(table: &[u8], wide: bool) -> impl Iterator<Item = u64> + '_ {
    let len = sdt_header(table)
        .map_or(0, |(_, l)| l as usize)
        .min(table.len());
    let step = if wide { 8 } else { 4 };
    (SDT_HEADER_LEN..len)
        .step_by(step)
        .filter(move |off| off + step <= len)
        .filter_map(move |off| {
            if wide {
                u64_at(table, off)
            } else {
                u32_at(table, off).map(u64::from)
            }
        })
}

/// One I/O APIC from the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoApic {
    /// I/O APIC ID.
    pub id: u8,
    /// MMIO base (physical).
    pub address: u32,
    /// First global system interrupt it serves.
    pub gsi_base: u32,
}

/// The I/O APICs listed in a MADT; stops at the first malformed entry.
pub fn madt_io_apics(madt: &[u8]) -> impl Iterator<Item = IoApic> + '_ {
    let len = sdt_header(madt)
        .map_or(0, |(_, l)| l as usize)
        .min(madt.len());
    let mut off = MADT_ENTRIES;
    core::iter::from_fn(move || loop {
        let kind = *madt.get(off)?;
        let entry_len = usize::from(*madt.get(off + 1)?);
        if entry_len < 2 || off + entry_len > len {
            return None;
        }
        let here = off;
        off += entry_len;
        if kind == MADT_IO_APIC && entry_len >= 12 {
            return Some(IoApic {
                id: madt[here + 2],
                address: u32_at(madt, here + 4)?,
                gsi_base: u32_at(madt, here + 8)?,
            });
        }
    })
}

/// Offset of the DMAR `Flags` byte (Intel VT-d 4.1 §8.1).
const DMAR_FLAGS: usize = 37;
/// DMAR flags: INTR_REMAP (bit 0) and X2APIC_OPT_OUT (bit 1).
const DMAR_OPT_OUT: u8 = 0b11;

/// Whether a DMAR table asks the OS not to enable x2APIC: both
/// INTR_REMAP and X2APIC_OPT_OUT set (Intel VT-d 4.1 §8.1). A DMAR too
/// short to hold the flags asks nothing.
#[must_use]
pub fn dmar_x2apic_opt_out(dmar: &[u8]) -> bool {
    dmar.get(DMAR_FLAGS)
        .is_some_and(|f| f & DMAR_OPT_OUT == DMAR_OPT_OUT)
}

/// I/O APIC register helpers (Intel 82093AA datasheet §3.2).
pub mod ioapic {
    /// IOREGSEL offset from the base.
    pub const REGSEL: usize = 0x00;
    /// IOWIN offset from the base.
    pub const WINDOW: usize = 0x10;
    /// Version register index.
    pub const VERSION: u32 = 0x01;

    /// Register index of the low dword of redirection entry `n`.
    #[must_use]
    pub const fn redirection_low(n: u32) -> u32 {
        0x10 + 2 * n
    }

    /// Number of redirection entries from the version register.
    #[must_use]
    pub const fn entries(version: u32) -> u32 {
        ((version >> 16) & 0xff) + 1
    }

    /// The masked value for a redirection entry whose delivery mode is
    /// fixed (000) or lowest priority (001), else `None` (§8).
    #[must_use]
    pub const fn masked(low: u32) -> Option<u32> {
        match (low >> 8) & 0b111 {
            0 | 1 => Some(low | 1 << 16),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn fix_checksum(bytes: &mut [u8], at: usize, over: usize) {
        bytes[at] = 0;
        let sum = bytes[..over].iter().fold(0u8, |a, b| a.wrapping_add(*b));
        bytes[at] = 0u8.wrapping_sub(sum);
    }

    fn rsdp_v2(xsdt: u64) -> [u8; 36] {
        let mut r = [0u8; 36];
        r[..8].copy_from_slice(b"RSD PTR ");
        r[15] = 2;
        r[16..20].copy_from_slice(&0x1234u32.to_le_bytes());
        r[20..24].copy_from_slice(&36u32.to_le_bytes());
        r[24..32].copy_from_slice(&xsdt.to_le_bytes());
        fix_checksum(&mut r, 8, 20);
        fix_checksum(&mut r, 32, 36);
        r
    }

    #[test]
    fn rsdp_parsing_and_checksums() {
        let r = rsdp_v2(0xdead_0000);
        let p = Rsdp::parse(&r).unwrap();
        assert_eq!((p.revision, p.rsdt, p.xsdt), (2, 0x1234, 0xdead_0000));
        let mut bad = r;
        bad[30] ^= 1;
        assert_eq!(Rsdp::parse(&bad), Err(AcpiError::BadChecksum));
        let mut v1 = r;
        v1[15] = 0;
        fix_checksum(&mut v1, 8, 20);
        assert_eq!(Rsdp::parse(&v1[..20]).unwrap().xsdt, 0);
        assert_eq!(Rsdp::parse(&r[..10]), Err(AcpiError::Truncated));
        let mut sig = r;
        sig[0] = b'X';
        assert_eq!(Rsdp::parse(&sig), Err(AcpiError::BadSignature));
    }

    fn table(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = alloc::vec![0u8; SDT_HEADER_LEN];
        t[..4].copy_from_slice(sig);
        t.extend_from_slice(body);
        let len = t.len() as u32;
        t[4..8].copy_from_slice(&len.to_le_bytes());
        let n = t.len();
        fix_checksum(&mut t, 9, n);
        t
    }

    #[test]
    fn root_tables_list_entries() {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1000u64.to_le_bytes());
        body.extend_from_slice(&0x2000u64.to_le_bytes());
        let x = table(b"XSDT", &body);
        check_table(&x, b"XSDT").unwrap();
        assert_eq!(root_entries(&x, true).collect::<Vec<_>>(), [0x1000, 0x2000]);
        assert_eq!(root_entries(&x, false).count(), 4);
        assert_eq!(check_table(&x, b"RSDT"), Err(AcpiError::BadSignature));
        let mut broken = x.clone();
        broken[40] ^= 0xff;
        assert_eq!(check_table(&broken, b"XSDT"), Err(AcpiError::BadChecksum));
        assert_eq!(check_table(&x[..40], b"XSDT"), Err(AcpiError::Truncated));
    }

    #[test]
    fn madt_yields_io_apics_only() {
        let mut body = alloc::vec![0u8; 8]; // LAPIC address + flags
        body.extend_from_slice(&[0, 8, 0, 0, 1, 0, 0, 0]); // processor LAPIC
        body.extend_from_slice(&[1, 12, 7, 0]);
        body.extend_from_slice(&0xfec0_0000u32.to_le_bytes());
        body.extend_from_slice(&24u32.to_le_bytes());
        body.extend_from_slice(&[2, 10, 0, 0, 2, 0, 0, 0, 0, 0]); // override
        body.extend_from_slice(&[1, 0]); // malformed: stops the walk
        body.extend_from_slice(&[1, 12, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let madt = table(b"APIC", &body);
        let found: Vec<_> = madt_io_apics(&madt).collect();
        assert_eq!(
            found,
            [IoApic {
                id: 7,
                address: 0xfec0_0000,
                gsi_base: 24
            }]
        );
    }

    #[test]
    fn dmar_opt_out_needs_both_flags() {
        let mut dmar = table(b"DMAR", &[46, 0b11, 0, 0]);
        assert!(dmar_x2apic_opt_out(&dmar));
        dmar[DMAR_FLAGS] = 0b10;
        assert!(!dmar_x2apic_opt_out(&dmar));
        dmar[DMAR_FLAGS] = 0b01;
        assert!(!dmar_x2apic_opt_out(&dmar));
        assert!(!dmar_x2apic_opt_out(&dmar[..37]));
    }

    #[test]
    fn ioapic_masking_rules() {
        assert_eq!(ioapic::entries(0x0017_0020), 24);
        assert_eq!(ioapic::redirection_low(3), 0x16);
        assert_eq!(ioapic::masked(0x0000_0030), Some(0x0001_0030));
        assert_eq!(ioapic::masked(0x0000_0130), Some(0x0001_0130));
        assert_eq!(ioapic::masked(0x0000_0430), None, "NMI left alone");
        assert_eq!(ioapic::masked(0x0000_0730), None, "ExtINT left alone");
    }
}
