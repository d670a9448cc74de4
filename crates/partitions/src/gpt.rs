//! The GUID partition table: header checks, the streamed entry array, and
//! the choice between the primary and the backup copy (UEFI 2.10 §5.3).

use crate::{first_overlap, le16, le32, le64, Crc32, GptProblem, GptSource, Guid};
use crate::{Partition, PartitionError, PartitionType, Scheme, Table};
use crate::{MAX_GPT_ENTRIES, MAX_GPT_ENTRY_SIZE};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use block::{BlockDevice, BlockError};

/// "EFI PART" (UEFI 2.10 Table 5.5).
const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The header fields end at byte 92 (Table 5.5).
const MIN_HEADER_SIZE: u32 = 92;
/// The smallest entry; the name's 36 UTF-16 units end at byte 128 (Table 5.6).
const MIN_ENTRY_SIZE: u32 = 128;

/// Why a copy failed: the disk (stop) or its content (try the other).
enum Fault {
    Io(BlockError),
    Bad(GptProblem),
}

impl From<BlockError> for Fault {
    fn from(e: BlockError) -> Self {
        Self::Io(e)
    }
}

impl From<GptProblem> for Fault {
    fn from(p: GptProblem) -> Self {
        Self::Bad(p)
    }
}

/// The fields of a header that passed its own checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    my_lba: u64,
    alternate_lba: u64,
    first_usable: u64,
    last_usable: u64,
    disk_guid: Guid,
    entry_lba: u64,
    entry_count: u32,
    entry_size: u32,
    array_crc: u32,
}

/// One sound copy: its header and its used entries.
struct Copy {
    header: Header,
    partitions: Vec<Partition>,
}

/// Reads the GPT of `disk`; `protective` says whether LBA 0 had a
/// protective MBR.
pub(crate) fn read(disk: &mut impl BlockDevice, protective: bool) -> Result<Table, PartitionError> {
    let last = disk.sector_count() - 1;
    let primary_header = settle(read_header(disk, 1))?;
    // UEFI 2.10 §5.3.2: the backup is at the primary's AlternateLBA,
    // which is the disk's last LBA unless the disk was resized.
    let backup_lba = match &primary_header {
        Ok(h) if h.alternate_lba > 1 && h.alternate_lba <= last => h.alternate_lba,
        _ => last,
    };
    let primary = match primary_header {
        Ok(h) => settle(read_entries(disk, h))?,
        Err(p) => Err(p),
    };
    let backup = settle(read_header(disk, backup_lba).and_then(|h| read_entries(disk, h)))?;
    let (copy, source, other) = match (primary, backup) {
        (Ok(p), Ok(b)) => {
            let agree = agree(&p.header, &b.header) && p.partitions == b.partitions;
            (
                p,
                GptSource::Primary,
                (!agree).then_some(GptProblem::Mismatch),
            )
        }
        (Ok(p), Err(e)) => (p, GptSource::Primary, Some(e)),
        (Err(e), Ok(b)) => (b, GptSource::Backup, Some(e)),
        (Err(primary), Err(backup)) => return Err(PartitionError::BadGpt { primary, backup }),
    };
    Ok(Table {
        scheme: Scheme::Gpt {
            source,
            disk_guid: copy.header.disk_guid,
            other,
            protective_mbr: protective,
        },
        partitions: copy.partitions,
    })
}

/// Splits a copy's outcome: a disk error ends the read, a problem is kept.
fn settle<T>(r: Result<T, Fault>) -> Result<Result<T, GptProblem>, PartitionError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Fault::Bad(p)) => Ok(Err(p)),
        Err(Fault::Io(e)) => Err(PartitionError::Io(e)),
    }
}

/// Whether a primary and a backup header describe the same table.
fn agree(p: &Header, b: &Header) -> bool {
    p.alternate_lba == b.my_lba
        && b.alternate_lba == p.my_lba
        && p.disk_guid == b.disk_guid
        && (p.first_usable, p.last_usable) == (b.first_usable, b.last_usable)
        && (p.entry_count, p.entry_size, p.array_crc) == (b.entry_count, b.entry_size, b.array_crc)
}

/// Sectors the entry array of `h` covers on a disk of `size`-byte sectors.
fn array_sectors(h: &Header, size: u32) -> u64 {
    (u64::from(h.entry_count) * u64::from(h.entry_size)).div_ceil(u64::from(size))
}

/// Reads and checks the header at `lba` (UEFI 2.10 §5.3.2, Table 5.5).
fn read_header(disk: &mut impl BlockDevice, lba: u64) -> Result<Header, Fault> {
    let size = disk.sector_size();
    let disk_end = disk.sector_count();
    if lba == 0 || lba >= disk_end {
        return Err(GptProblem::HeaderPastEnd { lba }.into());
    }
    let mut s = vec![0u8; size as usize];
    disk.read(lba, &mut s)?;
    if &s[0..8] != SIGNATURE {
        return Err(GptProblem::NoSignature.into());
    }
    let revision = le32(&s, 8);
    if revision >> 16 != 1 {
        return Err(GptProblem::Revision(revision).into());
    }
    let header_size = le32(&s, 12);
    if !(MIN_HEADER_SIZE..=size).contains(&header_size) {
        return Err(GptProblem::HeaderSize(header_size).into());
    }
    // The CRC covers HeaderSize bytes with its own field taken as zero.
    let stored = le32(&s, 16);
    let mut crc = Crc32::new();
    crc.update(&s[..16]);
    crc.update(&[0; 4]);
    crc.update(&s[20..header_size as usize]);
    let computed = crc.finish();
    if stored != computed {
        return Err(GptProblem::HeaderCrc { stored, computed }.into());
    }
    let h = Header {
        my_lba: le64(&s, 24),
        alternate_lba: le64(&s, 32),
        first_usable: le64(&s, 40),
        last_usable: le64(&s, 48),
        disk_guid: Guid::from_bytes(s[56..72].try_into().unwrap_or_default()),
        entry_lba: le64(&s, 72),
        entry_count: le32(&s, 80),
        entry_size: le32(&s, 84),
        array_crc: le32(&s, 88),
    };
    if h.my_lba != lba {
        return Err(GptProblem::MyLba {
            expected: lba,
            found: h.my_lba,
        }
        .into());
    }
    let usable = h.first_usable..=h.last_usable;
    if h.first_usable < 2 || usable.is_empty() || h.last_usable >= disk_end || usable.contains(&lba)
    {
        return Err(GptProblem::UsableRange {
            first: h.first_usable,
            last: h.last_usable,
        }
        .into());
    }
    if h.entry_count > MAX_GPT_ENTRIES {
        return Err(GptProblem::EntryCount(h.entry_count).into());
    }
    if h.entry_size < MIN_ENTRY_SIZE
        || h.entry_size > MAX_GPT_ENTRY_SIZE
        || !h.entry_size.is_power_of_two()
    {
        return Err(GptProblem::EntrySize(h.entry_size).into());
    }
    let sectors = array_sectors(&h, size);
    let misplaced = match h.entry_lba.checked_add(sectors) {
        _ if sectors == 0 => false,
        Some(end) => {
            h.entry_lba == 0
                || end > disk_end
                || (h.entry_lba..end).contains(&lba)
                || (h.entry_lba <= h.last_usable && h.first_usable < end)
        }
        None => true,
    };
    if misplaced {
        return Err(GptProblem::ArrayLocation {
            lba: h.entry_lba,
            sectors,
        }
        .into());
    }
    Ok(h)
}

/// Streams the entry array of `h` through one buffer, checking its CRC and
/// then its used entries (UEFI 2.10 Table 5.6).
fn read_entries(disk: &mut impl BlockDevice, h: Header) -> Result<Copy, Fault> {
    let size = disk.sector_size() as usize;
    let entry_size = h.entry_size as usize;
    // Both are powers of two, so a chunk holds whole sectors and entries.
    let chunk = size.max(entry_size);
    let total = h.entry_count as usize * entry_size;
    let mut buf = vec![0u8; chunk];
    let mut crc = Crc32::new();
    let mut partitions = Vec::new();
    // An entry's range is only blamed once the array's CRC holds.
    let mut range_problem = None;
    let mut done = 0;
    while done < total {
        let bytes = chunk.min(total - done);
        let lba = h.entry_lba + (done / size) as u64;
        disk.read(lba, &mut buf[..bytes.next_multiple_of(size)])?;
        crc.update(&buf[..bytes]);
        for (i, e) in buf[..bytes].chunks_exact(entry_size).enumerate() {
            let index = (done / entry_size + i) as u32 + 1;
            match entry(e, index, &h) {
                Ok(Some(p)) => partitions.push(p),
                Ok(None) => {}
                Err(p) => range_problem = range_problem.or(Some(p)),
            }
        }
        done += bytes;
    }
    let computed = crc.finish();
    if computed != h.array_crc {
        return Err(GptProblem::ArrayCrc {
            stored: h.array_crc,
            computed,
        }
        .into());
    }
    if let Some(p) = range_problem {
        return Err(p.into());
    }
    let mut ranges: Vec<_> = partitions
        .iter()
        .map(|p| (p.index, p.first_lba, p.first_lba + p.sector_count))
        .collect();
    if let Some((a, b)) = first_overlap(&mut ranges) {
        return Err(GptProblem::EntryOverlap { a, b }.into());
    }
    Ok(Copy {
        header: h,
        partitions,
    })
}

/// The entry `e` numbered `index`, if it is used; an error if its range is
/// reversed or leaves the usable range of `h`.
fn entry(e: &[u8], index: u32, h: &Header) -> Result<Option<Partition>, GptProblem> {
    let kind = Guid::from_bytes(e[0..16].try_into().unwrap_or_default());
    if kind.is_zero() {
        return Ok(None);
    }
    let first = le64(e, 32);
    let last = le64(e, 40);
    if first > last || first < h.first_usable || last > h.last_usable {
        return Err(GptProblem::EntryRange { index, first, last });
    }
    let attributes = le64(e, 48);
    let units = (0..36).map(|i| le16(e, 56 + 2 * i)).take_while(|&u| u != 0);
    let name: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Ok(Some(Partition {
        index,
        first_lba: first,
        // last <= last_usable < the disk's sector count: no overflow.
        sector_count: last - first + 1,
        kind: PartitionType::Gpt(kind),
        name,
        unique: Some(Guid::from_bytes(e[16..32].try_into().unwrap_or_default())),
        attributes,
        bootable: attributes & Partition::LEGACY_BIOS_BOOTABLE != 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc32;
    use block::MemDisk;

    /// A GPT disk of `sectors`, both copies, with `entries` as (slot, type,
    /// first, last, name) in an array of `count` entries of `entry_size`.
    fn build(
        size: u32,
        sectors: u64,
        count: u32,
        entry_size: u32,
        entries: &[(usize, Guid, u64, u64, &str)],
    ) -> Vec<u8> {
        let ss = size as usize;
        let array_bytes = count as usize * entry_size as usize;
        let array_sectors = array_bytes.div_ceil(ss) as u64;
        let mut array = vec![0u8; array_bytes];
        for &(slot, kind, first, last, name) in entries {
            let e = &mut array[slot * entry_size as usize..][..entry_size as usize];
            e[..16].copy_from_slice(&kind.to_bytes());
            e[16] = slot as u8 + 1;
            e[32..40].copy_from_slice(&first.to_le_bytes());
            e[40..48].copy_from_slice(&last.to_le_bytes());
            for (i, u) in name.encode_utf16().enumerate() {
                e[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
            }
        }
        let mut image = vec![0u8; sectors as usize * ss];
        let last = sectors - 1;
        let (first_usable, last_usable) = (2 + array_sectors, last - 1 - array_sectors);
        for (my, alt, entry_lba) in [(1, last, 2), (last, 1, last - array_sectors)] {
            let h = &mut image[my as usize * ss..][..ss];
            h[..8].copy_from_slice(SIGNATURE);
            h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
            h[12..16].copy_from_slice(&92u32.to_le_bytes());
            for (at, v) in [
                (24, my),
                (32, alt),
                (40, first_usable),
                (48, last_usable),
                (72, entry_lba),
            ] {
                h[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            h[56..72].copy_from_slice(&[0xAB; 16]);
            h[80..84].copy_from_slice(&count.to_le_bytes());
            h[84..88].copy_from_slice(&entry_size.to_le_bytes());
            h[88..92].copy_from_slice(&crc32(&array).to_le_bytes());
            let c = crc32(&h[..92]);
            h[16..20].copy_from_slice(&c.to_le_bytes());
            image[entry_lba as usize * ss..][..array_bytes].copy_from_slice(&array);
        }
        image
    }

    #[test]
    fn entries_larger_than_a_sector_and_gaps_in_the_slots_are_read() {
        let image = build(
            512,
            200,
            16,
            1024,
            &[
                (0, Guid::EFI_SYSTEM, 40, 49, "esp"),
                (
                    5,
                    Guid::LINUX_FILESYSTEM,
                    50,
                    150,
                    "a name of exactly thirty-six units!!",
                ),
            ],
        );
        let t = crate::read_table(&mut MemDisk::new(512, image)).unwrap();
        let got: Vec<_> = t
            .partitions
            .iter()
            .map(|p| (p.index, p.first_lba, p.sector_count, p.name.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, 40, 10, "esp"),
                (6, 50, 101, "a name of exactly thirty-six units!!")
            ]
        );
        assert!(matches!(
            t.scheme,
            Scheme::Gpt {
                source: GptSource::Primary,
                other: None,
                protective_mbr: false,
                ..
            }
        ));
    }

    #[test]
    fn a_4096_byte_disk_with_an_empty_array_is_read() {
        let image = build(4096, 64, 0, 128, &[]);
        let t = crate::read_table(&mut MemDisk::new(4096, image)).unwrap();
        assert!(t.partitions.is_empty());
    }

    #[test]
    fn entry_sizes_that_are_not_128_times_a_power_of_two_are_refused() {
        for bad in [0u32, 64, 192, 8192] {
            let mut image = build(512, 100, 4, 128, &[]);
            for lba in [1usize, 99] {
                let h = &mut image[lba * 512..][..512];
                h[84..88].copy_from_slice(&bad.to_le_bytes());
                h[16..20].fill(0);
                let c = crc32(&h[..92]);
                h[16..20].copy_from_slice(&c.to_le_bytes());
            }
            assert_eq!(
                crate::read_table(&mut MemDisk::new(512, image)),
                Err(PartitionError::BadGpt {
                    primary: GptProblem::EntrySize(bad),
                    backup: GptProblem::EntrySize(bad),
                })
            );
        }
    }
}
