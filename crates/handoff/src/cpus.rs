//! The CPUs a MADT lists: local APIC and local x2APIC entries (§5 MP).
//!
//! Entry layouts are ACPI 6.5 §5.2.12.2 (type 0, Processor Local APIC)
//! and §5.2.12.12 (type 9, Processor Local x2APIC); flag bits are
//! Table 5.23 (bit 0 Enabled, bit 1 Online Capable).

use crate::bytes::u32_at;
use alloc::vec::Vec;
use core::fmt;

/// MADT interrupt controller structures start here (ACPI 6.5 §5.2.12).
const MADT_ENTRIES: usize = 44;
/// Structure type of a Processor Local APIC.
const LOCAL_APIC: u8 = 0;
/// Structure type of a Processor Local x2APIC.
const LOCAL_X2APIC: u8 = 9;
/// Length of a Processor Local APIC structure.
const LOCAL_APIC_LEN: usize = 8;
/// Length of a Processor Local x2APIC structure.
const LOCAL_X2APIC_LEN: usize = 16;
/// Flags bit 0: the processor is ready for use.
const ENABLED: u32 = 1 << 0;
/// Flags bit 1: the processor can be brought online (ACPI ≥ 6.3).
const ONLINE_CAPABLE: u32 = 1 << 1;

/// One processor from the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MadtCpu {
    /// ACPI processor UID (`processor_id` in `limine_smp_info`).
    pub uid: u32,
    /// Local APIC id (8 bits from type 0, 32 bits from type 9).
    pub apic_id: u32,
    /// Listed by a type 9 (x2APIC) structure.
    pub x2apic_entry: bool,
}

/// Where and why the walk over the MADT's structures stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadtError {
    /// The table is shorter than its fixed part (44 bytes).
    TooShort,
    /// A structure's length byte is below 2 (0 would never advance).
    BadLength {
        /// Offset of the structure in the table.
        offset: usize,
    },
    /// A structure runs past the table's end, or is shorter than its
    /// type's fixed size.
    Truncated {
        /// Offset of the structure in the table.
        offset: usize,
    },
}

impl fmt::Display for MadtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort => write!(f, "MADT is shorter than its fixed header"),
            Self::BadLength { offset } => {
                write!(
                    f,
                    "MADT structure at offset {offset:#x} has a length below 2"
                )
            }
            Self::Truncated { offset } => write!(
                f,
                "MADT structure at offset {offset:#x} is truncated or runs past the table"
            ),
        }
    }
}

/// The processors of a MADT, in table order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MadtCpus {
    /// Usable processors (enabled or online-capable), each APIC id once.
    pub cpus: Vec<MadtCpu>,
    /// Set when a malformed structure ended the walk; `cpus` then holds
    /// what came before it.
    pub error: Option<MadtError>,
}

/// Walks the MADT and lists its processors. Entries with neither the
/// Enabled nor the Online Capable flag are left out, and a repeated APIC
/// id keeps its first entry. The walk uses the smaller of the header's
/// length and `madt.len()`, and ends at the first malformed structure.
#[must_use]
pub fn madt_cpus(madt: &[u8]) -> MadtCpus {
    let mut out = MadtCpus::default();
    let declared = u32_at(madt, 4).map_or(0, |l| l as usize);
    let len = declared.min(madt.len());
    if len < MADT_ENTRIES {
        out.error = Some(MadtError::TooShort);
        return out;
    }
    let mut off = MADT_ENTRIES;
    // Each pass advances `off` by at least 2, so the loop ends.
    while off + 2 <= len {
        let kind = madt[off];
        let entry_len = usize::from(madt[off + 1]);
        if entry_len < 2 {
            out.error = Some(MadtError::BadLength { offset: off });
            return out;
        }
        if off + entry_len > len {
            out.error = Some(MadtError::Truncated { offset: off });
            return out;
        }
        let entry = &madt[off..off + entry_len];
        let parsed = match kind {
            LOCAL_APIC => local_apic(entry),
            LOCAL_X2APIC => local_x2apic(entry),
            _ => Ok(None),
        };
        match parsed {
            Ok(Some(cpu)) => {
                if !out.cpus.iter().any(|c| c.apic_id == cpu.apic_id) {
                    out.cpus.push(cpu);
                }
            }
            Ok(None) => {}
            Err(()) => {
                out.error = Some(MadtError::Truncated { offset: off });
                return out;
            }
        }
        off += entry_len;
    }
    if off != len {
        // A lone trailing byte cannot hold a structure header.
        out.error = Some(MadtError::Truncated { offset: off });
    }
    out
}

fn usable(flags: u32) -> bool {
    flags & (ENABLED | ONLINE_CAPABLE) != 0
}

/// Type 0: UID u8 at 2, APIC id u8 at 3, flags u32 at 4.
fn local_apic(entry: &[u8]) -> Result<Option<MadtCpu>, ()> {
    if entry.len() < LOCAL_APIC_LEN {
        return Err(());
    }
    let flags = u32_at(entry, 4).ok_or(())?;
    Ok(usable(flags).then_some(MadtCpu {
        uid: u32::from(entry[2]),
        apic_id: u32::from(entry[3]),
        x2apic_entry: false,
    }))
}

/// Type 9: x2APIC id u32 at 4, flags u32 at 8, UID u32 at 12.
fn local_x2apic(entry: &[u8]) -> Result<Option<MadtCpu>, ()> {
    if entry.len() < LOCAL_X2APIC_LEN {
        return Err(());
    }
    let apic_id = u32_at(entry, 4).ok_or(())?;
    let flags = u32_at(entry, 8).ok_or(())?;
    let uid = u32_at(entry, 12).ok_or(())?;
    Ok(usable(flags).then_some(MadtCpu {
        uid,
        apic_id,
        x2apic_entry: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A MADT header (length fixed up by `finish`) and its 8-byte
    /// LAPIC address + flags.
    fn madt() -> Vec<u8> {
        let mut t = vec![0u8; MADT_ENTRIES];
        t[..4].copy_from_slice(b"APIC");
        t
    }

    fn finish(mut t: Vec<u8>) -> Vec<u8> {
        let len = t.len() as u32;
        t[4..8].copy_from_slice(&len.to_le_bytes());
        t
    }

    fn lapic(t: &mut Vec<u8>, uid: u8, id: u8, flags: u32) {
        t.extend_from_slice(&[0, 8, uid, id]);
        t.extend_from_slice(&flags.to_le_bytes());
    }

    fn x2apic(t: &mut Vec<u8>, id: u32, flags: u32, uid: u32) {
        t.extend_from_slice(&[9, 16, 0, 0]);
        t.extend_from_slice(&id.to_le_bytes());
        t.extend_from_slice(&flags.to_le_bytes());
        t.extend_from_slice(&uid.to_le_bytes());
    }

    fn cpu(uid: u32, apic_id: u32, x2apic_entry: bool) -> MadtCpu {
        MadtCpu {
            uid,
            apic_id,
            x2apic_entry,
        }
    }

    #[test]
    fn lists_enabled_and_online_capable_cpus_in_order() {
        let mut t = madt();
        lapic(&mut t, 0, 0, 1);
        t.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0]); // IO APIC
        lapic(&mut t, 1, 2, 2); // online capable
        lapic(&mut t, 2, 4, 0); // neither: left out
        x2apic(&mut t, 0x1_0000, 1, 77);
        lapic(&mut t, 3, 6, 3);
        let found = madt_cpus(&finish(t));
        assert_eq!(found.error, None);
        assert_eq!(
            found.cpus,
            [
                cpu(0, 0, false),
                cpu(1, 2, false),
                cpu(77, 0x1_0000, true),
                cpu(3, 6, false)
            ]
        );
    }

    #[test]
    fn a_repeated_apic_id_keeps_its_first_entry() {
        let mut t = madt();
        lapic(&mut t, 5, 1, 1);
        x2apic(&mut t, 1, 1, 9);
        lapic(&mut t, 6, 1, 1);
        let found = madt_cpus(&finish(t));
        assert_eq!(found.cpus, [cpu(5, 1, false)]);
    }

    #[test]
    fn zero_length_entry_stops_with_an_error() {
        let mut t = madt();
        lapic(&mut t, 0, 0, 1);
        t.extend_from_slice(&[0, 0, 0, 0]);
        lapic(&mut t, 1, 1, 1);
        let found = madt_cpus(&finish(t));
        assert_eq!(found.cpus, [cpu(0, 0, false)]);
        assert_eq!(found.error, Some(MadtError::BadLength { offset: 52 }));
    }

    #[test]
    fn entry_past_the_end_stops_with_an_error() {
        let mut t = madt();
        lapic(&mut t, 0, 0, 1);
        x2apic(&mut t, 3, 1, 3);
        let mut t = finish(t);
        let short = t.len() - 4;
        t[4..8].copy_from_slice(&(short as u32).to_le_bytes());
        let found = madt_cpus(&t);
        assert_eq!(found.cpus, [cpu(0, 0, false)]);
        assert_eq!(found.error, Some(MadtError::Truncated { offset: 52 }));
        // The slice, not only the header, bounds the walk.
        let found = madt_cpus(&t[..50]);
        assert_eq!(found.error, Some(MadtError::Truncated { offset: 44 }));
        assert_eq!(madt_cpus(&t[..40]).error, Some(MadtError::TooShort));
    }

    #[test]
    fn short_structures_of_known_types_are_errors() {
        let mut t = madt();
        t.extend_from_slice(&[0, 6, 1, 1, 1, 0]);
        let found = madt_cpus(&finish(t));
        assert!(found.cpus.is_empty());
        assert_eq!(found.error, Some(MadtError::Truncated { offset: 44 }));
        let mut t = madt();
        t.extend_from_slice(&[9, 12, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            madt_cpus(&finish(t)).error,
            Some(MadtError::Truncated { offset: 44 })
        );
    }

    #[test]
    fn longer_structures_and_unknown_types_are_fine() {
        let mut t = madt();
        // A type 0 entry padded to 10 bytes, then an unknown type.
        t.extend_from_slice(&[0, 10, 4, 8, 1, 0, 0, 0, 0xee, 0xee]);
        t.extend_from_slice(&[0x7f, 3, 0]);
        let found = madt_cpus(&finish(t));
        assert_eq!(found.cpus, [cpu(4, 8, false)]);
        assert_eq!(found.error, None);
    }

    #[test]
    fn tiny_or_empty_tables() {
        assert_eq!(madt_cpus(&[]).error, Some(MadtError::TooShort));
        let t = finish(madt());
        assert_eq!(madt_cpus(&t), MadtCpus::default());
        let mut t = madt();
        t.push(0);
        let found = madt_cpus(&finish(t));
        assert_eq!(found.error, Some(MadtError::Truncated { offset: 44 }));
    }
}
