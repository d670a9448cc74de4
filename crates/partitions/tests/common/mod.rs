//! Disk images for the tests, written by the independent `gpt` and
//! `mbrman` crates, and helpers to damage them in controlled ways.
#![allow(dead_code)]

use block::{BlockDevice, BlockError, MemDisk};
use std::io::Cursor;

/// One partition a test image holds, as the writer was asked for it.
pub struct Want {
    pub name: &'static str,
    pub kind: gpt::partition_types::Type,
    pub bytes: u64,
    pub flags: u64,
}

/// The partitions [`gpt_image`] writes.
pub fn wanted() -> Vec<Want> {
    use gpt::partition_types::{BASIC, EFI, LINUX_FS};
    vec![
        Want {
            name: "EFI system",
            kind: EFI,
            bytes: 1 << 20,
            flags: 0,
        },
        Want {
            name: "données ✓",
            kind: BASIC,
            bytes: 768 << 10,
            flags: 1 << 2,
        },
        Want {
            name: "root",
            kind: LINUX_FS,
            bytes: 1 << 20,
            flags: 1 << 60,
        },
    ]
}

/// A GPT disk of `bytes` with [`wanted`]'s partitions, written by the `gpt`
/// crate with `sector`-byte sectors; also returns what `gpt` reads back.
pub fn gpt_image(sector: u32, bytes: usize) -> (Vec<u8>, gpt::GptDisk<Cursor<Vec<u8>>>) {
    let lb = match sector {
        512 => gpt::disk::LogicalBlockSize::Lb512,
        4096 => gpt::disk::LogicalBlockSize::Lb4096,
        _ => panic!("no such sector size"),
    };
    let mut dev = Cursor::new(vec![0u8; bytes]);
    let sectors = (bytes / sector as usize) as u32;
    gpt::mbr::ProtectiveMBR::with_lb_size(sectors - 1)
        .overwrite_lba0(&mut dev)
        .unwrap();
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(lb)
        .create_from_device(dev, None)
        .unwrap();
    for w in wanted() {
        disk.add_partition(w.name, w.bytes, w.kind, w.flags, None)
            .unwrap();
    }
    let image = disk.write().unwrap().into_inner();
    let reread = gpt::GptConfig::new()
        .logical_block_size(lb)
        .open_from_device(Cursor::new(image.clone()))
        .unwrap();
    (image, reread)
}

/// Header fields at their byte offsets (UEFI 2.10 Table 5.5).
pub const HEADER_CRC: usize = 16;
pub const ENTRY_LBA: usize = 72;
pub const ENTRY_COUNT: usize = 80;
pub const ARRAY_CRC: usize = 88;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The byte offset of the GPT header at `lba`.
pub fn header_at(sector: u32, lba: u64) -> usize {
    lba as usize * sector as usize
}

/// The LBA of the backup header (the last one).
pub fn backup_lba(image: &[u8], sector: u32) -> u64 {
    image.len() as u64 / u64::from(sector) - 1
}

/// Recomputes the CRC of the header at byte `at`.
pub fn reseal_header(image: &mut [u8], at: usize) {
    // A hostile HeaderSize is sealed over at most the sector's 512 bytes.
    let size = (le32(image, at + 12) as usize).clamp(20, 512);
    image[at + HEADER_CRC..at + HEADER_CRC + 4].fill(0);
    let crc = partitions::crc32(&image[at..at + size]);
    image[at + HEADER_CRC..at + HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The byte offset of entry `slot` in the array of the header at `at`.
pub fn entry_at(image: &[u8], sector: u32, at: usize, slot: usize) -> usize {
    le64(image, at + ENTRY_LBA) as usize * sector as usize + slot * le32(image, at + 84) as usize
}

/// Recomputes the array CRC and then the header CRC of the header at `at`.
pub fn reseal_array(image: &mut [u8], sector: u32, at: usize) {
    let start = entry_at(image, sector, at, 0);
    let len = le32(image, at + ENTRY_COUNT) as usize * le32(image, at + 84) as usize;
    let crc = partitions::crc32(&image[start..start + len]);
    image[at + ARRAY_CRC..at + ARRAY_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    reseal_header(image, at);
}

/// A device that remembers its largest read, to show hostile counts do not
/// turn into large buffers.
pub struct Watched {
    pub disk: MemDisk,
    pub largest_read: usize,
    pub reads: usize,
}

impl Watched {
    pub fn new(disk: MemDisk) -> Self {
        Self {
            disk,
            largest_read: 0,
            reads: 0,
        }
    }
}

impl BlockDevice for Watched {
    fn sector_size(&self) -> u32 {
        self.disk.sector_size()
    }
    fn sector_count(&self) -> u64 {
        self.disk.sector_count()
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.largest_read = self.largest_read.max(buf.len());
        self.reads += 1;
        self.disk.read(lba, buf)
    }
    fn write(&mut self, _: u64, _: &[u8]) -> Result<(), BlockError> {
        panic!("the partition reader wrote to the disk")
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        panic!("the partition reader flushed the disk")
    }
}
