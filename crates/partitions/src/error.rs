//! Why a partition table was refused, or one of its GPT copies passed over.

use block::BlockError;
use core::fmt;

/// Why a disk's partition table could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionError {
    /// Neither an MBR signature (0x55AA) nor a GPT header: the disk holds
    /// no table (it may still hold a file system of its own).
    NoTable,
    /// The disk failed a read.
    Io(BlockError),
    /// The disk's sectors are not a power of two from 512 to 65536 bytes.
    SectorSize(u32),
    /// The disk has a GPT (protective MBR or header signature) but neither
    /// copy of it is sound.
    BadGpt {
        /// What is wrong with the primary header or its entry array.
        primary: GptProblem,
        /// What is wrong with the backup header or its entry array.
        backup: GptProblem,
    },
    /// The MBR (or an extended partition's chain of EBRs) is unsound.
    BadMbr(MbrProblem),
}

impl From<BlockError> for PartitionError {
    fn from(e: BlockError) -> Self {
        Self::Io(e)
    }
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTable => f.write_str("no partition table (no MBR signature, no GPT header)"),
            Self::Io(e) => write!(f, "reading the partition table: {e}"),
            Self::SectorSize(n) => write!(f, "unsupported sector size {n}"),
            Self::BadGpt { primary, backup } => {
                write!(f, "bad GPT: primary: {primary}; backup: {backup}")
            }
            Self::BadMbr(p) => write!(f, "bad MBR: {p}"),
        }
    }
}

/// The first thing found wrong with one copy (header + entry array) of a
/// GPT. Numbers are as found on the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GptProblem {
    /// The header's LBA is not on the disk (or is LBA 0).
    HeaderPastEnd {
        /// Where the header was looked for.
        lba: u64,
    },
    /// No "EFI PART" signature.
    NoSignature,
    /// A revision other than 1.x.
    Revision(u32),
    /// HeaderSize below 92 or above the sector size.
    HeaderSize(u32),
    /// The header's CRC32 does not match.
    HeaderCrc {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the header as read.
        computed: u32,
    },
    /// MyLBA is not the LBA the header was read from.
    MyLba {
        /// Where it was read.
        expected: u64,
        /// What it says.
        found: u64,
    },
    /// FirstUsableLBA/LastUsableLBA are reversed, past the disk's end, or
    /// cover the header.
    UsableRange {
        /// FirstUsableLBA.
        first: u64,
        /// LastUsableLBA.
        last: u64,
    },
    /// More partition entries than this crate reads ([`crate::MAX_GPT_ENTRIES`]).
    EntryCount(u32),
    /// SizeOfPartitionEntry is not 128 × 2^n (up to [`crate::MAX_GPT_ENTRY_SIZE`]).
    EntrySize(u32),
    /// The entry array lies past the disk's end or over the header or the
    /// usable range.
    ArrayLocation {
        /// PartitionEntryLBA.
        lba: u64,
        /// Sectors the array covers.
        sectors: u64,
    },
    /// The entry array's CRC32 does not match.
    ArrayCrc {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the array as read.
        computed: u32,
    },
    /// A used entry ends before it starts or leaves the usable range.
    EntryRange {
        /// The entry's number (1-based).
        index: u32,
        /// StartingLBA.
        first: u64,
        /// EndingLBA.
        last: u64,
    },
    /// Two used entries share sectors.
    EntryOverlap {
        /// One entry's number (1-based).
        a: u32,
        /// The other's.
        b: u32,
    },
    /// This copy is sound but disagrees with the other one (disk GUID,
    /// usable range or entries).
    Mismatch,
}

impl fmt::Display for GptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::HeaderPastEnd { lba } => write!(f, "header LBA {lba} is not on the disk"),
            Self::NoSignature => f.write_str("no \"EFI PART\" signature"),
            Self::Revision(r) => write!(f, "revision {r:#010x} is not 1.x"),
            Self::HeaderSize(n) => write!(f, "header size {n} is out of range"),
            Self::HeaderCrc { stored, computed } => {
                write!(f, "header CRC {stored:#010x}, computed {computed:#010x}")
            }
            Self::MyLba { expected, found } => {
                write!(f, "header read at LBA {expected} says it is at LBA {found}")
            }
            Self::UsableRange { first, last } => {
                write!(f, "usable range {first}..={last} is not sound")
            }
            Self::EntryCount(n) => write!(f, "{n} partition entries is too many"),
            Self::EntrySize(n) => write!(f, "partition entry size {n} is not 128 x 2^n"),
            Self::ArrayLocation { lba, sectors } => {
                write!(f, "entry array at LBA {lba} (+{sectors}) is misplaced")
            }
            Self::ArrayCrc { stored, computed } => {
                write!(
                    f,
                    "entry array CRC {stored:#010x}, computed {computed:#010x}"
                )
            }
            Self::EntryRange { index, first, last } => {
                write!(
                    f,
                    "partition {index} ({first}..={last}) is outside the usable range"
                )
            }
            Self::EntryOverlap { a, b } => write!(f, "partitions {a} and {b} overlap"),
            Self::Mismatch => f.write_str("sound, but disagrees with the other copy"),
        }
    }
}

/// What is wrong with an MBR or its extended partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbrProblem {
    /// A primary entry's status byte is neither 0x00 nor 0x80 (so the
    /// sector is probably a boot sector, not a partition table).
    Status {
        /// The entry (1..=4).
        slot: u8,
        /// Its status byte.
        status: u8,
    },
    /// A partition starts at LBA 0 (over the MBR), ends past the disk, or a
    /// logical partition leaves its extended partition.
    Range {
        /// The partition's number (1..=4 primary, 5.. logical).
        index: u32,
        /// Its first LBA (absolute).
        first: u64,
        /// Its sector count.
        count: u64,
    },
    /// Two partitions share sectors.
    Overlap {
        /// One partition's number.
        a: u32,
        /// The other's.
        b: u32,
    },
    /// More than one primary entry is an extended partition.
    TwoExtended,
    /// An EBR lacks the 0x55AA signature.
    EbrSignature {
        /// The EBR's LBA.
        lba: u64,
    },
    /// An EBR link points outside the extended partition.
    EbrLink {
        /// Where it points.
        lba: u64,
    },
    /// The EBR chain comes back to an EBR it has visited.
    EbrLoop {
        /// The EBR visited twice.
        lba: u64,
    },
    /// The EBR chain is longer than [`crate::MAX_LOGICAL`].
    ChainTooLong,
}

impl fmt::Display for MbrProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Status { slot, status } => {
                write!(
                    f,
                    "entry {slot} has status {status:#04x} (not a partition table?)"
                )
            }
            Self::Range {
                index,
                first,
                count,
            } => write!(
                f,
                "partition {index} ({first}+{count}) lies outside its space"
            ),
            Self::Overlap { a, b } => write!(f, "partitions {a} and {b} overlap"),
            Self::TwoExtended => f.write_str("more than one extended partition"),
            Self::EbrSignature { lba } => write!(f, "EBR at LBA {lba} has no 0x55AA signature"),
            Self::EbrLink { lba } => {
                write!(f, "EBR link to LBA {lba} leaves the extended partition")
            }
            Self::EbrLoop { lba } => write!(f, "EBR chain loops back to LBA {lba}"),
            Self::ChainTooLong => write!(f, "more than {} logical partitions", crate::MAX_LOGICAL),
        }
    }
}
