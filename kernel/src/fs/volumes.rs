//! FAT volumes on disks: found and mounted when the disks are.
//!
//! Every partition whose type says FAT (GPT basic data or EFI system; MBR
//! 0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e, 0xef), and every disk without a
//! partition table, is offered to the `fat` crate, which mounts it only if
//! its boot sector and FAT make sense and writes nothing while it looks.
//! A volume is named after its partition (`vdb2`) and also carries its
//! label; what could not be mounted is logged with the reason.
#![forbid(unsafe_code)]

use crate::disk::{self, DiskHandle};
use crate::sync::SpinLock;
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
    /// The file system, behind a lock: one operation at a time.
    pub fs: SpinLock<fat::Volume<VolumeDevice>>,
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

fn try_mount(name: String, device: VolumeDevice) {
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
                fs: SpinLock::new(volume),
            }));
        }
        Err(e) => log::info!("{name}: not mounted: {e}"),
    }
}

/// Mounts every FAT volume on every disk found so far.
pub fn mount_all() {
    for d in disk::list() {
        match d.table() {
            Some(Ok(table)) => {
                for p in table.partitions.iter().filter(|p| may_be_fat(&p.kind)) {
                    let name = format!("{}{}", d.name(), p.index);
                    match Window::new(DiskHandle(d.clone()), p.first_lba, p.sector_count) {
                        Ok(w) => try_mount(name, w),
                        Err(e) => log::warn!("{name}: {e}"),
                    }
                }
            }
            Some(Err(_)) | None => {
                let name = String::from(d.name());
                match Window::new(DiskHandle(d.clone()), 0, d.sectors()) {
                    Ok(w) => try_mount(name, w),
                    Err(e) => log::warn!("{name}: {e}"),
                }
            }
        }
    }
}

/// Every mounted volume.
pub fn list() -> Vec<Arc<Mounted>> {
    VOLUMES.lock().clone()
}
