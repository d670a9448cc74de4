//! FAT volumes on disks: found and mounted when the disks are.
//!
//! Every partition whose type says FAT (GPT basic data or EFI system; MBR
//! 0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e, 0xef), and every disk without a
//! partition table (or with an empty MBR, which a FAT boot sector looks
//! like), is offered to the `fat` crate, which mounts it only if
//! its boot sector and FAT make sense and writes nothing while it looks.
//! A volume is named after its partition (`vdb2`) and also carries its
//! label; what could not be mounted is logged with the reason. Disks
//! found at boot are mounted by [`mount_all`]; a disk that comes later
//! (Hyper-V SCSI) by [`mount_disk`], and one that goes away is unmounted
//! by [`unmount_disk`].
#![forbid(unsafe_code)]

use crate::disk::{self, DiskHandle};
use crate::sync::{Mutex, SpinLock};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use block::Window;
use partitions::{Guid, PartitionType};

/// The device a volume lives on: a window onto its disk.
pub type VolumeDevice = Window<DiskHandle>;

/// A mounted FAT volume.
pub struct Mounted {
    /// The partition's name (`vdb2`), or the disk's for a whole-disk volume.
    pub name: String,
    /// The volume label.
    pub label: String,
    /// The disk it is on (`vdb`).
    pub disk: String,
    /// Where on the disk: first sector and sectors.
    pub span: (u64, u64),
    /// The file system, behind a lock: one operation at a time.
    pub fs: Mutex<fat::Volume<VolumeDevice>>,
    /// The files handles have open. Taken only with `fs` held.
    shares: SpinLock<Vec<Share>>,
}

/// Who has one file open: readers, or one writer alone.
struct Share {
    id: fat::FileId,
    readers: u32,
    writer: bool,
}

impl Mounted {
    /// Records a new handle of file `id` (call with `fs` held). A file open
    /// for writing is not shared (Windows' default share mode for writers):
    /// `AccessDenied` if either side writes.
    pub fn claim(&self, id: fat::FileId, write: bool) -> Result<(), abi::Error> {
        let mut shares = self.shares.lock();
        if let Some(s) = shares.iter_mut().find(|s| s.id == id) {
            if write || s.writer {
                return Err(abi::Error::AccessDenied);
            }
            s.readers += 1;
            return Ok(());
        }
        shares.try_reserve(1).map_err(|_| abi::Error::NoMemory)?;
        shares.push(Share {
            id,
            readers: u32::from(!write),
            writer: write,
        });
        Ok(())
    }

    /// Drops a handle's claim (call with `fs` held).
    pub fn release(&self, id: fat::FileId, write: bool) {
        let mut shares = self.shares.lock();
        let Some(at) = shares.iter().position(|s| s.id == id) else {
            log::error!("{}: a file handle closed twice (bug)", self.name);
            return;
        };
        let s = &mut shares[at];
        if write {
            s.writer = false;
        } else {
            s.readers = s.readers.saturating_sub(1);
        }
        if !s.writer && s.readers == 0 {
            shares.swap_remove(at);
        }
    }

    /// Whether any handle has file `id` open (call with `fs` held).
    pub fn is_open(&self, id: fat::FileId) -> bool {
        self.shares.lock().iter().any(|s| s.id == id)
    }
}

static VOLUMES: SpinLock<Vec<Arc<Mounted>>> = SpinLock::new(Vec::new());

/// Whether a partition of type `kind` may hold FAT.
fn may_be_fat(kind: &PartitionType) -> bool {
    const BASIC_DATA: Guid = partitions::Guid::MICROSOFT_BASIC_DATA;
    const EFI_SYSTEM: Guid = partitions::Guid::EFI_SYSTEM;
    match kind {
        PartitionType::Gpt(g) => *g == BASIC_DATA || *g == EFI_SYSTEM,
        PartitionType::Mbr(t) => matches!(t, 0x01 | 0x04 | 0x06 | 0x0b | 0x0c | 0x0e | 0xef),
    }
}

fn try_mount(name: String, d: &Arc<disk::Disk>, first: u64, count: u64) {
    let device = match Window::new(DiskHandle(d.clone()), first, count) {
        Ok(w) => w,
        Err(e) => return log::warn!("{name}: {e}"),
    };
    match fat::Volume::mount(device) {
        Ok(volume) => {
            let label = String::from(volume.label());
            log::info!(
                "{name}: {:?} volume '{label}', {}-byte clusters",
                volume.fat_type(),
                volume.cluster_size()
            );
            VOLUMES.lock().push(Arc::new(Mounted {
                name,
                label,
                disk: d.name().into(),
                span: (first, count),
                fs: Mutex::new(volume),
                shares: SpinLock::new(Vec::new()),
            }));
        }
        Err(e) => log::info!("{name}: not mounted: {e}"),
    }
}

/// Mounts every FAT volume on every disk found so far (disks whose
/// volumes are mounted already are left alone).
pub fn mount_all() {
    for d in disk::list() {
        mount_disk(&d);
    }
}

/// Mounts the FAT volumes on disk `d` (a disk that came later: a Hyper-V
/// SCSI disk), unless some are mounted already.
pub fn mount_disk(d: &Arc<disk::Disk>) {
    if VOLUMES.lock().iter().any(|v| v.disk == d.name()) {
        return;
    }
    match d.table() {
        // A FAT boot sector ends in 0x55AA as an MBR does: a "table"
        // with no partitions may be a volume on the whole disk.
        Some(Ok(table)) if !table.partitions.is_empty() => {
            for p in table.partitions.iter().filter(|p| may_be_fat(&p.kind)) {
                let name = format!("{}{}", d.name(), p.index);
                try_mount(name, d, p.first_lba, p.sector_count);
            }
        }
        Some(_) | None => {
            try_mount(String::from(d.name()), d, 0, d.sectors());
        }
    }
}

/// Unmounts every volume on disk `disk` (it is going away): each leaves
/// the namespace, flushed first when `flush` (a disk the host took away
/// takes no more writes). Handles still open keep their volume and get
/// I/O errors once the disk is gone.
pub fn unmount_disk(disk: &str, flush: bool) {
    let gone: Vec<Arc<Mounted>> = {
        let mut all = VOLUMES.lock();
        let (gone, kept) = core::mem::take(&mut *all)
            .into_iter()
            .partition(|v| v.disk == disk);
        *all = kept;
        gone
    };
    for v in gone {
        if !flush {
            log::info!("{}: unmounted (its disk is gone)", v.name);
            continue;
        }
        match v.fs.lock().flush() {
            Ok(()) => log::info!("{}: unmounted", v.name),
            Err(e) => log::warn!("{}: unmounted, but the flush failed: {e}", v.name),
        }
    }
}

/// The volume with this partition name or label (ASCII case ignored).
pub fn find(name: &str) -> Option<Arc<Mounted>> {
    VOLUMES
        .lock()
        .iter()
        .find(|v| v.name.eq_ignore_ascii_case(name) || v.label.eq_ignore_ascii_case(name))
        .cloned()
}

/// Every mounted volume.
pub fn list() -> Vec<Arc<Mounted>> {
    VOLUMES.lock().clone()
}
