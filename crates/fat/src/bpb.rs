//! The boot sector's BPB, validated into the volume's [`Layout`].
//!
//! Offsets and rules are from Microsoft's "FAT32 File System
//! Specification" (fatgen103, 2000), section 3 (BPB) and section 3.5
//! (FAT type determination).

use crate::error::{Corruption, FatError};

/// The three FAT variants; the cluster count alone decides (fatgen103 §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatType {
    /// Fewer than 4085 clusters; 12-bit entries.
    Fat12,
    /// Fewer than 65525 clusters; 16-bit entries.
    Fat16,
    /// 65525 clusters or more; 28-bit entries in 32 bits.
    Fat32,
}

/// Where a volume keeps what, in sectors from its start.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub fat_type: FatType,
    pub bytes_per_sector: u32,
    pub sectors_per_cluster: u32,
    pub fat_start: u64,
    pub fat_sectors: u64,
    pub num_fats: u32,
    /// The only FAT kept up to date when FAT32 mirroring is off.
    pub active_fat: Option<u32>,
    /// The FAT12/16 root directory region (0 sectors on FAT32).
    pub root_start: u64,
    pub root_sectors: u64,
    /// BPB_RootEntCnt: the FAT12/16 root directory's capacity.
    pub root_entries: u32,
    pub data_start: u64,
    /// Data clusters: they are numbered 2 ..= clusters + 1.
    pub clusters: u32,
    /// FAT32's root directory cluster (0 on FAT12/16).
    pub root_cluster: u32,
    pub fsinfo_sector: Option<u64>,
    /// BS_VolLab, if the extended boot signature is there.
    pub label: Option<[u8; 11]>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Layout {
    /// Validates the boot sector `bs` (at least 512 bytes) of a volume on
    /// a device of `dev_sectors` sectors of `dev_sector_size` bytes.
    pub fn parse(bs: &[u8], dev_sector_size: u32, dev_sectors: u64) -> Result<Self, FatError> {
        use Corruption::*;
        if bs.len() < 512 || bs[510] != 0x55 || bs[511] != 0xAA {
            return Err(NoBootSignature.into());
        }
        let bps = u16_at(bs, 11);
        if !matches!(bps, 512 | 1024 | 2048 | 4096) {
            return Err(BytesPerSector(bps).into());
        }
        if u32::from(bps) != dev_sector_size {
            let device = dev_sector_size;
            return Err(SectorSizeMismatch { bpb: bps, device }.into());
        }
        let spc = bs[13];
        if !spc.is_power_of_two() {
            return Err(SectorsPerCluster(spc).into());
        }
        let reserved = u64::from(u16_at(bs, 14));
        if reserved == 0 {
            return Err(NoReservedSectors.into());
        }
        let num_fats = u32::from(bs[16]);
        if num_fats == 0 {
            return Err(NoFats.into());
        }
        let root_entries = u16_at(bs, 17);
        let total = match u16_at(bs, 19) {
            0 => u64::from(u32_at(bs, 32)),
            n => u64::from(n),
        };
        if total == 0 || total > dev_sectors {
            return Err(TotalSectors(total).into());
        }
        let fat_sectors = match u16_at(bs, 22) {
            0 => u64::from(u32_at(bs, 36)),
            n => u64::from(n),
        };
        // fatgen103 §3.5: RootDirSectors, then the data sectors.
        let bps64 = u64::from(bps);
        let root_sectors = (u64::from(root_entries) * 32).div_ceil(bps64);
        let fat_start = reserved;
        let root_start = fat_sectors
            .checked_mul(u64::from(num_fats))
            .and_then(|s| s.checked_add(fat_start))
            .ok_or(NoDataArea)?;
        let data_start = root_start.checked_add(root_sectors).ok_or(NoDataArea)?;
        let data_sectors = total.checked_sub(data_start).ok_or(NoDataArea)?;
        let clusters = data_sectors / u64::from(spc);
        if clusters == 0 || fat_sectors == 0 {
            return Err(NoDataArea.into());
        }
        let fat_type = match clusters {
            0..=4084 => FatType::Fat12,
            4085..=65524 => FatType::Fat16,
            _ => FatType::Fat32,
        };
        // Cluster numbers must stay below the bad-cluster mark 0x0FFFFFF7.
        let clusters = u32::try_from(clusters.min(0x0FFF_FFF4)).unwrap_or(0x0FFF_FFF4);
        let entries = u64::from(clusters) + 2;
        let fat_bytes = match fat_type {
            FatType::Fat12 => (entries * 3).div_ceil(2),
            FatType::Fat16 => entries * 2,
            FatType::Fat32 => entries * 4,
        };
        if fat_sectors.saturating_mul(bps64) < fat_bytes {
            return Err(FatTooSmall.into());
        }
        let mut layout = Self {
            fat_type,
            bytes_per_sector: u32::from(bps),
            sectors_per_cluster: u32::from(spc),
            fat_start,
            fat_sectors,
            num_fats,
            active_fat: None,
            root_start,
            root_sectors,
            root_entries: u32::from(root_entries),
            data_start,
            clusters,
            root_cluster: 0,
            fsinfo_sector: None,
            label: None,
        };
        let label_at = if fat_type == FatType::Fat32 {
            layout.parse_fat32(bs)?;
            66
        } else {
            if root_entries == 0 {
                return Err(RootEntries(0).into());
            }
            38
        };
        if bs[label_at] == 0x29 {
            let mut label = [0u8; 11];
            label.copy_from_slice(&bs[label_at + 5..label_at + 16]);
            layout.label = Some(label);
        }
        Ok(layout)
    }

    /// The FAT32 fields at offsets 36..=49 (fatgen103 §3.3).
    fn parse_fat32(&mut self, bs: &[u8]) -> Result<(), FatError> {
        use Corruption::*;
        let root_entries = u16_at(bs, 17);
        if root_entries != 0 {
            return Err(RootEntries(root_entries).into());
        }
        let ext_flags = u16_at(bs, 40);
        if ext_flags & 0x80 != 0 {
            let active = (ext_flags & 0xF) as u8;
            if u32::from(active) >= self.num_fats {
                return Err(ActiveFat(active).into());
            }
            self.active_fat = Some(u32::from(active));
        }
        let version = u16_at(bs, 42);
        if version != 0 {
            return Err(Fat32Version(version).into());
        }
        let root = u32_at(bs, 44);
        if !self.is_cluster(root) {
            return Err(RootCluster(root).into());
        }
        self.root_cluster = root;
        let fsinfo = u64::from(u16_at(bs, 48));
        if fsinfo != 0 && fsinfo < self.fat_start {
            self.fsinfo_sector = Some(fsinfo);
        }
        Ok(())
    }

    /// Whether `c` numbers a data cluster.
    pub fn is_cluster(&self, c: u32) -> bool {
        (2..=self.max_cluster()).contains(&c)
    }

    /// The highest data cluster number.
    pub fn max_cluster(&self) -> u32 {
        self.clusters + 1
    }

    /// Bytes in a cluster.
    pub fn cluster_size(&self) -> u32 {
        self.bytes_per_sector * self.sectors_per_cluster
    }

    /// First sector of data cluster `c` (which must be a data cluster).
    pub fn cluster_lba(&self, c: u32) -> u64 {
        self.data_start + u64::from(c.saturating_sub(2)) * u64::from(self.sectors_per_cluster)
    }
}
