//! Why a FAT operation failed: [`FatError`] and the [`Corruption`] kinds.

use block::BlockError;
use core::fmt;

/// Why a FAT operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatError {
    /// The device failed.
    Io(BlockError),
    /// The volume's metadata is inconsistent (see the reason).
    Corrupt(Corruption),
    /// No entry has that name.
    NotFound,
    /// A path component (or the target) is a file, not a directory.
    NotADirectory,
    /// The target is a directory where a file was needed.
    IsADirectory,
    /// An entry with that name already exists.
    Exists,
    /// The name is empty, `.`/`..`, the root, or has a character FAT forbids.
    BadName,
    /// The name is longer than 255 UTF-16 units.
    NameTooLong,
    /// Not enough free clusters.
    NoSpace,
    /// The directory cannot hold another entry (a full FAT12/16 root
    /// directory, or 65536 entries).
    DirectoryFull,
    /// The directory still has entries.
    DirectoryNotEmpty,
    /// The file would grow past 4 GiB - 1, the FAT limit.
    FileTooLarge,
    /// A seek to before the start of a file.
    InvalidSeek,
    /// A rename that would put a directory inside itself.
    IntoItself,
}

/// What is wrong with a corrupt volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The boot sector lacks the 0x55 0xAA signature at offset 510.
    NoBootSignature,
    /// BPB_BytsPerSec is not 512, 1024, 2048 or 4096.
    BytesPerSector(u16),
    /// BPB_BytsPerSec differs from the device's sector size.
    SectorSizeMismatch {
        /// The BPB's figure.
        bpb: u16,
        /// The device's.
        device: u32,
    },
    /// BPB_SecPerClus is not a power of two up to 128.
    SectorsPerCluster(u8),
    /// BPB_RsvdSecCnt is 0.
    NoReservedSectors,
    /// BPB_NumFATs is 0.
    NoFats,
    /// BPB_RootEntCnt is wrong for the FAT type.
    RootEntries(u16),
    /// The volume's sector count is 0 or larger than the device.
    TotalSectors(u64),
    /// The reserved sectors, FATs and root directory leave no data area.
    NoDataArea,
    /// A FAT is too small for the volume's clusters.
    FatTooSmall,
    /// BPB_FSVer is a FAT32 version this driver does not know.
    Fat32Version(u16),
    /// BPB_ExtFlags names an active FAT that does not exist.
    ActiveFat(u8),
    /// The FAT32 root directory cluster is not a data cluster.
    RootCluster(u32),
    /// A FAT entry or directory entry names a cluster outside the data area.
    ClusterOutOfRange(u32),
    /// A cluster chain runs into a free cluster.
    FreeClusterInChain(u32),
    /// A cluster chain runs into a cluster marked bad.
    BadClusterInChain(u32),
    /// A cluster chain loops, or is longer than its file's size.
    ChainTooLong,
    /// A cluster chain ends before its file's size.
    ChainTooShort,
    /// A directory is larger than 65536 entries (or loops).
    DirectoryTooLong,
    /// A directory entry (other than `..`) names no cluster.
    DirectoryWithoutCluster,
}

impl From<BlockError> for FatError {
    fn from(e: BlockError) -> Self {
        Self::Io(e)
    }
}

impl From<Corruption> for FatError {
    fn from(c: Corruption) -> Self {
        Self::Corrupt(c)
    }
}

impl fmt::Display for FatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "device error: {e}"),
            Self::Corrupt(c) => write!(f, "corrupt FAT volume: {c}"),
            Self::NotFound => f.write_str("no such file or directory"),
            Self::NotADirectory => f.write_str("not a directory"),
            Self::IsADirectory => f.write_str("is a directory"),
            Self::Exists => f.write_str("the name exists already"),
            Self::BadName => f.write_str("the name is not allowed on FAT"),
            Self::NameTooLong => f.write_str("the name is longer than 255 characters"),
            Self::NoSpace => f.write_str("no space left on the volume"),
            Self::DirectoryFull => f.write_str("the directory is full"),
            Self::DirectoryNotEmpty => f.write_str("the directory is not empty"),
            Self::FileTooLarge => f.write_str("FAT files end at 4 GiB - 1"),
            Self::InvalidSeek => f.write_str("a seek before the start of the file"),
            Self::IntoItself => f.write_str("a directory cannot move inside itself"),
        }
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoBootSignature => f.write_str("no boot signature 55 AA"),
            Self::BytesPerSector(n) => write!(f, "{n} bytes per sector"),
            Self::SectorSizeMismatch { bpb, device } => {
                write!(f, "{bpb}-byte sectors on a device of {device}-byte sectors")
            }
            Self::SectorsPerCluster(n) => write!(f, "{n} sectors per cluster"),
            Self::NoReservedSectors => f.write_str("no reserved sectors"),
            Self::NoFats => f.write_str("no FATs"),
            Self::RootEntries(n) => write!(f, "{n} root directory entries"),
            Self::TotalSectors(n) => write!(f, "{n} sectors do not fit the device"),
            Self::NoDataArea => f.write_str("no room for a data area"),
            Self::FatTooSmall => f.write_str("the FAT is too small for the clusters"),
            Self::Fat32Version(v) => write!(f, "FAT32 version {v:#06x}"),
            Self::ActiveFat(n) => write!(f, "active FAT {n} does not exist"),
            Self::RootCluster(c) => write!(f, "root directory cluster {c}"),
            Self::ClusterOutOfRange(c) => write!(f, "cluster {c:#x} lies outside the data area"),
            Self::FreeClusterInChain(c) => {
                write!(f, "the chain through {c} reaches a free cluster")
            }
            Self::BadClusterInChain(c) => write!(f, "the chain through {c} reaches a bad cluster"),
            Self::ChainTooLong => f.write_str("a cluster chain loops or outruns its file"),
            Self::ChainTooShort => f.write_str("a cluster chain ends before its file"),
            Self::DirectoryTooLong => f.write_str("a directory loops or exceeds 65536 entries"),
            Self::DirectoryWithoutCluster => f.write_str("a directory entry names no cluster"),
        }
    }
}
