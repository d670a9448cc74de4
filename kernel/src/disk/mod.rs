//! The disk service: every block device the drivers found, by name.
//!
//! A driver adds its disk ([`add_named`]) as a `block::BlockDevice`; the service
//! reads its partition table then (GPT or MBR, `partitions` crate) and
//! keeps the result, a table or the reason there is none. The rest of the
//! kernel finds disks here ([`list`]) and reads and writes them through
//! [`Disk`], which serialises access to the device (a sleeping lock: a
//! request in flight puts its thread to sleep until the device completes
//! it). Hyper-V's storvsc adds its disks the same way, and removes them
//! when the host takes them away ([`remove`]).
#![forbid(unsafe_code)]

use crate::sync::{Mutex, SpinLock};
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
    device: Mutex<Box<dyn BlockDevice + Send>>,
    table: SpinLock<Option<Result<partitions::Table, partitions::PartitionError>>>,
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

    /// The disk's partition table as read when it was added, or why it
    /// has none.
    pub fn table(&self) -> Option<Result<partitions::Table, partitions::PartitionError>> {
        self.table.lock().clone()
    }
}

/// A disk as an owned `BlockDevice`, for the partition and file-system
/// layers (a partition is a `block::Window` over one).
#[derive(Clone)]
pub struct DiskHandle(pub Arc<Disk>);

impl BlockDevice for DiskHandle {
    fn sector_size(&self) -> u32 {
        self.0.sector_size
    }
    fn sector_count(&self) -> u64 {
        self.0.sectors
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.0.read(lba, buf)
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        self.0.write(lba, buf)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        self.0.flush()
    }
}

static DISKS: SpinLock<Vec<Arc<Disk>>> = SpinLock::new(Vec::new());

/// The name the next disk added with `prefix` gets: `<prefix><letter>`,
/// the first letter no disk has (a removed disk's letter is given again).
/// Drivers are probed one at a time, so a driver may name its device by
/// it before [`add_named`].
pub fn next_name(prefix: &str) -> String {
    let disks = DISKS.lock();
    let taken = |name: &str| disks.iter().any(|d| d.name == name);
    (b'a'..=b'z')
        .map(|l| alloc::format!("{prefix}{}", char::from(l)))
        .find(|n| !taken(n))
        .unwrap_or_else(|| alloc::format!("{prefix}{}", disks.len()))
}

/// What a removed disk's device becomes: every request fails.
struct Removed;

impl BlockDevice for Removed {
    fn sector_size(&self) -> u32 {
        512
    }
    fn sector_count(&self) -> u64 {
        0
    }
    fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), BlockError> {
        Err(BlockError::Failed)
    }
    fn write(&mut self, _: u64, _: &[u8]) -> Result<(), BlockError> {
        Err(BlockError::Failed)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        Err(BlockError::Failed)
    }
}

/// Removes `disk` (its device went away): it leaves the list, and once
/// the request in flight (if any) is done its driver's device is dropped,
/// so the driver can give its resources back now. Whoever still holds the
/// disk gets [`BlockError::Failed`] from then on. Unmount its volumes
/// first (`fs::volumes::unmount_disk`).
pub fn remove(disk: &Arc<Disk>) {
    DISKS.lock().retain(|d| !Arc::ptr_eq(d, disk));
    let old = core::mem::replace(&mut *disk.device.lock(), Box::new(Removed));
    drop(old);
    log::info!("{} removed", disk.name);
}

/// Adds a disk called `name`, reads its partition table; returns it.
pub fn add_named(name: String, device: Box<dyn BlockDevice + Send>) -> Arc<Disk> {
    let disk = Arc::new(Disk {
        name,
        sector_size: device.sector_size(),
        sectors: device.sector_count(),
        device: Mutex::new(device),
        table: SpinLock::new(None),
    });
    log::info!(
        "{} has {} sectors of {} bytes ({} MiB)",
        disk.name,
        disk.sectors,
        disk.sector_size,
        disk.sectors.saturating_mul(u64::from(disk.sector_size)) >> 20
    );
    DISKS.lock().push(disk.clone());
    let table = partitions::read_table(&mut DiskHandle(disk.clone()));
    match &table {
        Ok(t) => {
            log::info!(
                "{}: {} with {} partition(s)",
                disk.name,
                scheme_name(&t.scheme),
                t.partitions.len()
            );
            for p in &t.partitions {
                log::info!(
                    "{}{}: sectors {}+{} {} '{}'",
                    disk.name,
                    p.index,
                    p.first_lba,
                    p.sector_count,
                    type_name(&p.kind),
                    p.name
                );
            }
        }
        Err(e) => log::info!("{}: {e}", disk.name),
    }
    *disk.table.lock() = Some(table);
    disk
}

/// The scheme, as logged and reported: `gpt (primary)`, `gpt (backup)`,
/// `mbr`.
pub fn scheme_name(scheme: &partitions::Scheme) -> &'static str {
    match scheme {
        partitions::Scheme::Gpt {
            source: partitions::GptSource::Primary,
            ..
        } => "gpt (primary)",
        partitions::Scheme::Gpt { .. } => "gpt (backup)",
        partitions::Scheme::Mbr { .. } => "mbr",
    }
}

/// A partition's type as text: the GPT type GUID, or `mbr:0x..`.
pub fn type_name(kind: &partitions::PartitionType) -> alloc::string::String {
    match kind {
        partitions::PartitionType::Gpt(guid) => alloc::format!("{guid}"),
        partitions::PartitionType::Mbr(t) => alloc::format!("mbr:{t:#04x}"),
    }
}

/// Every disk, in the order found.
pub fn list() -> Vec<Arc<Disk>> {
    DISKS.lock().clone()
}
