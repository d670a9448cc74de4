//! The disk service: every block device the drivers found, by name.
//!
//! A driver adds its disk ([`add`]) as a `block::BlockDevice`; the rest of
//! the kernel finds disks here ([`list`], [`by_name`]) and reads and
//! writes them through [`Disk`], which serialises access to the device.
//! Hyper-V's storvsc will add its disks the same way.
#![forbid(unsafe_code)]

use crate::sync::SpinLock;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use block::{BlockDevice, BlockError};

/// One disk.
pub struct Disk {
    name: String,
    sector_size: u32,
    sectors: u64,
    device: SpinLock<Box<dyn BlockDevice + Send>>,
}

impl Disk {
    /// Its name (`vda`, `vdb`, ... in the order found).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes per sector.
    pub fn sector_size(&self) -> u32 {
        self.sector_size
    }

    /// Sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Reads whole sectors from `lba` on into `buf`.
    pub fn read(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        block::check_range(self.sector_size, self.sectors, lba, buf.len())?;
        self.device.lock().read(lba, buf)
    }

    /// Writes whole sectors from `lba` on.
    pub fn write(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        block::check_range(self.sector_size, self.sectors, lba, buf.len())?;
        self.device.lock().write(lba, buf)
    }

    /// Makes every completed write durable.
    pub fn flush(&self) -> Result<(), BlockError> {
        self.device.lock().flush()
    }
}

static DISKS: SpinLock<Vec<Arc<Disk>>> = SpinLock::new(Vec::new());

/// Adds a disk named `<prefix><letter>` (the next free letter); returns
/// it.
pub fn add(prefix: &str, device: Box<dyn BlockDevice + Send>) -> Arc<Disk> {
    let mut disks = DISKS.lock();
    let same = disks.iter().filter(|d| d.name.starts_with(prefix)).count();
    let letter = char::from(b'a' + (same % 26) as u8);
    let disk = Arc::new(Disk {
        name: alloc::format!("{prefix}{letter}"),
        sector_size: device.sector_size(),
        sectors: device.sector_count(),
        device: SpinLock::new(device),
    });
    log::info!(
        "{} has {} sectors of {} bytes ({} MiB)",
        disk.name,
        disk.sectors,
        disk.sector_size,
        disk.sectors.saturating_mul(u64::from(disk.sector_size)) >> 20
    );
    disks.push(disk.clone());
    disk
}

/// Every disk, in the order found.
pub fn list() -> Vec<Arc<Disk>> {
    DISKS.lock().clone()
}
