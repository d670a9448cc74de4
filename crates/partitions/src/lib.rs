//! GPT and MBR partition tables, read from a block device.
//!
//! [`read_table`] looks at LBA 0: a protective MBR (an entry of type 0xEE)
//! or no MBR signature at all sends it to the GPT (UEFI 2.10 §5.3), whose
//! primary header and entry array are checked first and whose backup copy
//! stands in when the primary is damaged; otherwise the MBR's four primary
//! entries and the EBR chain of an extended partition are read. The result
//! is a [`Table`] of [`Partition`]s that the disk service can trust: every
//! partition is non-empty, lies inside the disk, and none overlap.
//!
//! The crate only reads. Every count that comes from the disk is bounded
//! ([`MAX_GPT_ENTRIES`], [`MAX_GPT_ENTRY_SIZE`], [`MAX_LOGICAL`]) before it
//! drives a loop or an allocation: the GPT entry array is streamed through
//! one buffer, never read whole.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod crc32;
mod error;
mod gpt;
mod guid;
mod mbr;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use block::{BlockDevice, BlockError, Window};

pub use crc32::{crc32, Crc32};
pub use error::{GptProblem, MbrProblem, PartitionError};
pub use guid::Guid;

/// The most GPT partition entries read; a header claiming more is refused.
/// (Tools write 128; UEFI 2.10 §5.3.2 asks for at least 16 KiB of them.)
pub const MAX_GPT_ENTRIES: u32 = 1024;
/// The largest GPT entry size accepted (UEFI 2.10 §5.3.2: 128 × 2^n).
pub const MAX_GPT_ENTRY_SIZE: u32 = 4096;
/// The most EBRs followed in an extended partition's chain.
pub const MAX_LOGICAL: usize = 128;

/// A disk's partition table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Which kind of table, and what was found about it.
    pub scheme: Scheme,
    /// The partitions, in ascending [`Partition::index`]; each non-empty,
    /// inside the disk, and overlapping no other.
    pub partitions: Vec<Partition>,
}

/// The kind of partition table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// A GUID partition table.
    Gpt {
        /// Which copy the partitions were read from.
        source: GptSource,
        /// The disk's GUID.
        disk_guid: Guid,
        /// What is wrong with the copy not used (or, when both are sound,
        /// [`GptProblem::Mismatch`] if they differ); `None` if it is sound.
        other: Option<GptProblem>,
        /// Whether LBA 0 holds a protective (or hybrid) MBR, as the spec
        /// requires; a GPT is also read without one.
        protective_mbr: bool,
    },
    /// A DOS/MBR partition table.
    Mbr {
        /// The 32-bit disk signature at byte 440.
        disk_signature: u32,
    },
}

/// Which copy of a GPT was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GptSource {
    /// The primary header at LBA 1 and its entry array.
    Primary,
    /// The backup header (normally at the disk's last LBA) and its array.
    Backup,
}

/// What a partition holds, by its table's own naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionType {
    /// A GPT partition type GUID (see the constants on [`Guid`]).
    Gpt(Guid),
    /// An MBR system ID byte (0x0C FAT32 LBA, 0x83 Linux, ...).
    Mbr(u8),
}

/// One partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Its number as Linux counts them: the GPT entry's slot + 1; for MBR
    /// the primary slot (1..=4), then 5, 6, ... along the EBR chain.
    pub index: u32,
    /// Its first sector on the disk.
    pub first_lba: u64,
    /// Its length in sectors (at least 1).
    pub sector_count: u64,
    /// Its type.
    pub kind: PartitionType,
    /// Its GPT name (up to the first NUL; empty for MBR).
    pub name: String,
    /// Its GPT unique partition GUID (`None` for MBR).
    pub unique: Option<Guid>,
    /// Its GPT attribute bits (UEFI 2.10 Table 5.8; 0 for MBR).
    pub attributes: u64,
    /// MBR status 0x80, or GPT attribute bit 2 (legacy BIOS bootable).
    pub bootable: bool,
}

impl Partition {
    /// GPT attribute: the platform needs this partition to function.
    pub const REQUIRED: u64 = 1 << 0;
    /// GPT attribute: firmware must not produce an EFI_BLOCK_IO for it.
    pub const NO_BLOCK_IO: u64 = 1 << 1;
    /// GPT attribute: legacy BIOS bootable.
    pub const LEGACY_BIOS_BOOTABLE: u64 = 1 << 2;

    /// Its last sector on the disk.
    pub fn last_lba(&self) -> u64 {
        self.first_lba + (self.sector_count - 1)
    }

    /// The partition as a device of its own, over `disk`.
    pub fn window<D: BlockDevice>(&self, disk: D) -> Result<Window<D>, BlockError> {
        Window::new(disk, self.first_lba, self.sector_count)
    }
}

/// Reads the partition table of `disk`.
pub fn read_table(disk: &mut impl BlockDevice) -> Result<Table, PartitionError> {
    let size = disk.sector_size();
    if !(512..=65536).contains(&size) || !size.is_power_of_two() {
        return Err(PartitionError::SectorSize(size));
    }
    if disk.sector_count() == 0 {
        return Err(PartitionError::NoTable);
    }
    let mut lba0 = vec![0u8; size as usize];
    disk.read(0, &mut lba0)?;
    let signed = lba0[510..512] == [0x55, 0xAA];
    // UEFI 2.10 §5.2.3: a protective MBR has an entry of type 0xEE; a
    // hybrid MBR has other entries too, and its GPT still rules.
    let protective = signed && (0..4).any(|slot| mbr::Entry::at(&lba0, slot).kind == 0xEE);
    if signed && !protective {
        return mbr::read(disk, &lba0);
    }
    match gpt::read(disk, protective) {
        Err(PartitionError::BadGpt { primary, backup })
            if !signed && absent(primary) && absent(backup) =>
        {
            Err(PartitionError::NoTable)
        }
        other => other,
    }
}

/// Whether a GPT copy is missing rather than damaged.
fn absent(p: GptProblem) -> bool {
    matches!(
        p,
        GptProblem::NoSignature | GptProblem::HeaderPastEnd { .. }
    )
}

/// The little-endian `u16` at `at`.
fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// The little-endian `u32` at `at`.
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The little-endian `u64` at `at`.
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | u64::from(le32(b, at + 4)) << 32
}

/// The first overlap among `ranges` of `(index, first, end)` (end
/// exclusive, first < end), as the two indices in ascending order of start.
fn first_overlap(ranges: &mut [(u32, u64, u64)]) -> Option<(u32, u32)> {
    ranges.sort_unstable_by_key(|&(index, first, _)| (first, index));
    ranges
        .windows(2)
        .find(|w| w[1].1 < w[0].2)
        .map(|w| (w[0].0, w[1].0))
}
