//! FAT12/16/32 file systems with long names, read and write.
//!
//! A [`Volume`] is mounted over any [`BlockDevice`] (a partition through
//! `block::Window`, or a whole disk). Mounting only reads: it validates
//! the boot sector's BPB, and the FAT type follows from the cluster count
//! alone (Microsoft's "FAT32 File System Specification", fatgen103 §3.5).
//! Paths are `/`-separated from the root and looked up ignoring case, on
//! long and short names. Whole-file calls ([`Volume::read_file`],
//! [`Volume::write_file`]) sit beside open-file handles ([`File`]) with
//! positioned reads and writes.
//!
//! Every chain walk is bounded (never more steps than the volume has
//! clusters, never more than a file's size needs, at most 65536 entries in
//! a directory), so a corrupt volume gives [`FatError::Corrupt`], never a
//! hang or a panic. A write allocates all its clusters before it writes
//! anything, so [`FatError::NoSpace`] leaves the volume as it was; then
//! data goes first, the FAT chain next, the directory entry last.
//!
//! Not done: attributes and read-only enforcement, access dates,
//! OEM code pages (short-name bytes past ASCII read as Latin-1, and are
//! written as `_`), the FAT32 backup boot sector, the dirty bits in FAT entry 1,
//! and detecting cross-linked chains (two files sharing clusters).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod bpb;
mod chain;
mod dir;
mod error;
mod file;
mod io;
mod name;
mod ops;
mod table;

pub use bpb::FatType;
pub use error::{Corruption, FatError};
pub use file::{File, FileId, SeekFrom};
pub use ops::{DirEntry, ATTR_READ_ONLY};

use alloc::string::String;
use alloc::vec;
use block::BlockDevice;
use bpb::Layout;
use dir::DirRef;
use table::Fat;

/// FSInfo signatures and field offsets (fatgen103 §5).
const FSI_LEAD: u32 = 0x4161_5252;
const FSI_STRUC: u32 = 0x6141_7272;
const FSI_TRAIL: u32 = 0xAA55_0000;
const FSI_FREE: usize = 488;
const FSI_NEXT: usize = 492;

/// A date and time for the entries a volume writes (FAT keeps local time
/// from 1980 to 2107, seconds in steps of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// 1980..=2107.
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

impl Timestamp {
    /// The FAT (date, time) words (fatgen103 §6.3).
    fn encode(self) -> (u16, u16) {
        let year = self.year.clamp(1980, 2107) - 1980;
        let date =
            year << 9 | u16::from(self.month.clamp(1, 12)) << 5 | u16::from(self.day.clamp(1, 31));
        let time = u16::from(self.hour.min(23)) << 11
            | u16::from(self.minute.min(59)) << 5
            | u16::from(self.second.min(59) / 2);
        (date, time)
    }
}

/// A mounted FAT volume on device `D`.
pub struct Volume<D> {
    dev: D,
    layout: Layout,
    fat: Fat,
    label: String,
    /// Whether the FAT32 FSInfo sector is valid (and so worth updating).
    fsinfo: bool,
    /// The (date, time) stamped on new and written entries.
    stamp: (u16, u16),
}

impl<D: BlockDevice> Volume<D> {
    /// Mounts the volume on `dev`, reading (never writing) its boot sector,
    /// FSInfo and root directory. A failed mount drops `dev`: pass
    /// `&mut dev` to keep it.
    pub fn mount(mut dev: D) -> Result<Self, FatError> {
        let size = dev.sector_size();
        if !(512..=4096).contains(&size) {
            let bpb = 0;
            return Err(Corruption::SectorSizeMismatch { bpb, device: size }.into());
        }
        let mut bs = vec![0u8; size as usize];
        dev.read(0, &mut bs)?;
        let layout = Layout::parse(&bs, size, dev.sector_count())?;
        let mut fat = Fat::new(&layout);
        let mut fsinfo = false;
        if let Some(lba) = layout.fsinfo_sector {
            dev.read(lba, &mut bs)?;
            let word = |at: usize| u32::from_le_bytes([bs[at], bs[at + 1], bs[at + 2], bs[at + 3]]);
            fsinfo = word(0) == FSI_LEAD && word(484) == FSI_STRUC && word(508) == FSI_TRAIL;
            // Only a hint: a wrong one just starts the search elsewhere.
            if fsinfo && layout.is_cluster(word(FSI_NEXT)) {
                fat.next_free = word(FSI_NEXT);
            }
        }
        let mut vol = Self {
            dev,
            layout,
            fat,
            label: String::new(),
            fsinfo,
            stamp: (0x21, 0),
        };
        let root = vol.open_dir(DirRef::Root)?;
        let (_, root_label) = root.entries(vol.is_fat32());
        if let Some(label) = root_label.or(vol.layout.label) {
            vol.label = name::label_display(&label);
        }
        Ok(vol)
    }

    /// The volume label (from the root directory, else the BPB), or "".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// FAT12, FAT16 or FAT32.
    pub fn fat_type(&self) -> FatType {
        self.layout.fat_type
    }

    /// Bytes per cluster.
    pub fn cluster_size(&self) -> u32 {
        self.layout.cluster_size()
    }

    /// Data clusters on the volume.
    pub fn total_clusters(&self) -> u32 {
        self.layout.clusters
    }

    /// Free clusters (counted in the FAT on the first call).
    pub fn free_clusters(&mut self) -> Result<u32, FatError> {
        self.fat.count_free(&mut self.dev)
    }

    /// Sets the time stamped on entries created or written from now on.
    pub fn set_time(&mut self, t: Timestamp) {
        self.stamp = t.encode();
    }

    /// Writes the FSInfo hints (FAT32) and flushes the device.
    pub fn flush(&mut self) -> Result<(), FatError> {
        self.fat.write_back(&mut self.dev)?;
        if let (true, true, Some(lba)) = (self.fsinfo, self.fat.changed, self.layout.fsinfo_sector)
        {
            let mut sector = vec![0u8; self.layout.bytes_per_sector as usize];
            self.dev.read(lba, &mut sector)?;
            let free = self.fat.free.unwrap_or(u32::MAX);
            for (at, v) in [(FSI_FREE, free), (FSI_NEXT, self.fat.next_free)] {
                sector[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            self.dev.write(lba, &sector)?;
            self.fat.changed = false;
        }
        self.dev.flush()?;
        Ok(())
    }

    /// Flushes, then hands the device back.
    pub fn unmount(mut self) -> Result<D, FatError> {
        self.flush()?;
        Ok(self.dev)
    }

    /// Hands the device back without writing the FSInfo hints (the FAT and
    /// directories are already on it after every call).
    pub fn into_inner(self) -> D {
        self.dev
    }

    fn is_fat32(&self) -> bool {
        self.layout.fat_type == FatType::Fat32
    }
}
