//! The MBR's four primary entries and the EBR chain of an extended one.
//!
//! Layout: four 16-byte entries at byte 446, the disk signature at 440,
//! 0x55AA at 510 (UEFI 2.10 §5.2.1, Table 5.1 and 5.2). An extended
//! partition (0x05, 0x0F, 0x85) starts a chain of EBRs, each an MBR-shaped
//! sector whose entry 0 is one logical partition (relative to that EBR)
//! and whose entry 1 links to the next EBR (relative to the extended
//! partition's start).

use crate::{first_overlap, le32, MbrProblem, Partition, PartitionError, PartitionType, Scheme};
use crate::{Table, MAX_LOGICAL};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use block::BlockDevice;

/// System IDs of extended partitions (DOS, Windows LBA, Linux).
const EXTENDED: [u8; 3] = [0x05, 0x0F, 0x85];

/// One 16-byte partition entry (CHS fields ignored: LBA rules).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub status: u8,
    pub kind: u8,
    pub start: u32,
    pub count: u32,
}

impl Entry {
    /// Entry `slot` (0..4) of an MBR-shaped `sector`.
    pub fn at(sector: &[u8], slot: usize) -> Self {
        let e = &sector[446 + 16 * slot..446 + 16 * (slot + 1)];
        Self {
            status: e[0],
            kind: e[4],
            start: le32(e, 8),
            count: le32(e, 12),
        }
    }

    fn used(&self) -> bool {
        self.kind != 0 && self.count != 0
    }

    fn partition(&self, index: u32, first_lba: u64) -> Partition {
        Partition {
            index,
            first_lba,
            sector_count: u64::from(self.count),
            kind: PartitionType::Mbr(self.kind),
            name: String::new(),
            unique: None,
            attributes: 0,
            bootable: self.status == 0x80,
        }
    }
}

fn bad(p: MbrProblem) -> PartitionError {
    PartitionError::BadMbr(p)
}

/// Reads the MBR whose sector 0 is `lba0` (already checked for 0x55AA).
pub(crate) fn read(disk: &mut impl BlockDevice, lba0: &[u8]) -> Result<Table, PartitionError> {
    let disk_end = disk.sector_count();
    let mut partitions = Vec::new();
    let mut primaries = Vec::new();
    let mut extended = None;
    for slot in 0..4 {
        let e = Entry::at(lba0, slot);
        let index = slot as u32 + 1;
        // Linux (msdos.c) takes any other status byte for a boot sector.
        if e.status != 0 && e.status != 0x80 {
            return Err(bad(MbrProblem::Status {
                slot: index as u8,
                status: e.status,
            }));
        }
        if !e.used() {
            continue;
        }
        let (first, count) = (u64::from(e.start), u64::from(e.count));
        if first == 0 || first + count > disk_end {
            return Err(bad(MbrProblem::Range {
                index,
                first,
                count,
            }));
        }
        if EXTENDED.contains(&e.kind) {
            if extended.is_some() {
                return Err(bad(MbrProblem::TwoExtended));
            }
            extended = Some((first, first + count));
        } else {
            partitions.push(e.partition(index, first));
        }
        primaries.push((index, first, first + count));
    }
    if let Some((a, b)) = first_overlap(&mut primaries) {
        return Err(bad(MbrProblem::Overlap { a, b }));
    }
    if let Some(container) = extended {
        read_chain(disk, container, &mut partitions)?;
        let mut all: Vec<_> = partitions
            .iter()
            .map(|p| (p.index, p.first_lba, p.first_lba + p.sector_count))
            .collect();
        if let Some((a, b)) = first_overlap(&mut all) {
            return Err(bad(MbrProblem::Overlap { a, b }));
        }
    }
    partitions.sort_unstable_by_key(|p| p.index);
    Ok(Table {
        scheme: Scheme::Mbr {
            disk_signature: le32(lba0, 440),
        },
        partitions,
    })
}

/// Follows the EBR chain of the extended partition `start..end`, adding
/// its logical partitions (numbered from 5) to `out`.
fn read_chain(
    disk: &mut impl BlockDevice,
    (start, end): (u64, u64),
    out: &mut Vec<Partition>,
) -> Result<(), PartitionError> {
    let mut sector = vec![0u8; disk.sector_size() as usize];
    let mut visited: Vec<u64> = Vec::new();
    let mut index = 5;
    let mut lba = start;
    loop {
        if visited.contains(&lba) {
            return Err(bad(MbrProblem::EbrLoop { lba }));
        }
        if visited.len() == MAX_LOGICAL {
            return Err(bad(MbrProblem::ChainTooLong));
        }
        if !(start..end).contains(&lba) {
            return Err(bad(MbrProblem::EbrLink { lba }));
        }
        visited.push(lba);
        disk.read(lba, &mut sector)?;
        if sector[510..512] != [0x55, 0xAA] {
            return Err(bad(MbrProblem::EbrSignature { lba }));
        }
        let logical = Entry::at(&sector, 0);
        if logical.used() {
            let first = lba + u64::from(logical.start);
            let count = u64::from(logical.count);
            // It must follow its EBR and stay inside the extended partition.
            if logical.start == 0 || first + count > end {
                return Err(bad(MbrProblem::Range {
                    index,
                    first,
                    count,
                }));
            }
            out.push(logical.partition(index, first));
            index += 1;
        }
        let link = Entry::at(&sector, 1);
        if !(EXTENDED.contains(&link.kind) && link.count != 0) {
            return Ok(());
        }
        lba = start + u64::from(link.start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use block::MemDisk;

    fn put(sector: &mut [u8], slot: usize, status: u8, kind: u8, start: u32, count: u32) {
        let e = &mut sector[446 + 16 * slot..446 + 16 * (slot + 1)];
        e[0] = status;
        e[4] = kind;
        e[8..12].copy_from_slice(&start.to_le_bytes());
        e[12..16].copy_from_slice(&count.to_le_bytes());
    }

    fn disk_with(sectors: usize, lba0: impl FnOnce(&mut [u8])) -> MemDisk {
        let mut bytes = vec![0u8; sectors * 512];
        lba0(&mut bytes[..512]);
        bytes[510] = 0x55;
        bytes[511] = 0xAA;
        MemDisk::new(512, bytes)
    }

    #[test]
    fn an_empty_signed_mbr_has_no_partitions() {
        let mut d = disk_with(8, |_| {});
        let t = crate::read_table(&mut d).unwrap();
        assert!(t.partitions.is_empty());
    }

    #[test]
    fn overlapping_primaries_are_refused() {
        let mut d = disk_with(100, |s| {
            put(s, 0, 0, 0x83, 10, 20);
            put(s, 2, 0, 0x0C, 29, 5);
        });
        assert_eq!(
            crate::read_table(&mut d),
            Err(bad(MbrProblem::Overlap { a: 1, b: 3 }))
        );
    }

    #[test]
    fn a_boot_sector_is_not_taken_for_a_table() {
        let mut d = disk_with(100, |s| s[446] = 0x33);
        assert_eq!(
            crate::read_table(&mut d),
            Err(bad(MbrProblem::Status {
                slot: 1,
                status: 0x33
            }))
        );
    }

    #[test]
    fn a_partition_over_the_mbr_is_refused() {
        let mut d = disk_with(100, |s| put(s, 1, 0x80, 0x83, 0, 10));
        assert!(matches!(
            crate::read_table(&mut d),
            Err(PartitionError::BadMbr(MbrProblem::Range { index: 2, .. }))
        ));
    }
}
