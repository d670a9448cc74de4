//! virtio-blk: VirtIO block devices as disks (`vda`, `vdb`, ...).
//!
//! The `virtio-drivers` crate drives the device over the modern PCI
//! transport (VirtIO 1.2 §4.1) with the kernel's `Hal` (`mm::dma`). Data
//! moves through a DMA buffer of the disk's own (64 KiB, physically
//! contiguous), so callers may pass any kernel buffer. Requests are
//! completed by polling the used ring (the device interrupt is left
//! masked for now).
#![forbid(unsafe_code)]

use super::{Driver, DriverError, Match, Probe};
use crate::mm::dma::KernelHal;
use crate::mm::frame_alloc::OwnedFrames;
use alloc::boxed::Box;
use alloc::format;
use block::{BlockDevice, BlockError};
use virtio_drivers::device::blk::{VirtIOBlk, SECTOR_SIZE};
use virtio_drivers::transport::pci::PciTransport;

/// VirtIO's PCI vendor; block devices are 0x1001 (transitional) and
/// 0x1042 (modern) (VirtIO 1.2 §4.1.2.1).
static MATCHES: &[Match] = &[
    Match::PciId {
        vendor: 0x1af4,
        device: 0x1001,
    },
    Match::PciId {
        vendor: 0x1af4,
        device: 0x1042,
    },
];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "virtio-blk",
    matches: MATCHES,
    probe,
};

/// Pages of a disk's DMA buffer: the most one request moves.
const BUFFER_PAGES: usize = 16;

struct VirtioDisk {
    device: VirtIOBlk<KernelHal, PciTransport>,
    buffer: OwnedFrames,
    read_only: bool,
}

fn device_error(e: virtio_drivers::Error) -> BlockError {
    log::warn!("virtio-blk: request failed: {e}");
    BlockError::Device
}

impl BlockDevice for VirtioDisk {
    fn sector_size(&self) -> u32 {
        SECTOR_SIZE as u32
    }

    fn sector_count(&self) -> u64 {
        self.device.capacity()
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        block::check_range(SECTOR_SIZE as u32, self.sector_count(), lba, buf.len())?;
        let step = BUFFER_PAGES * 4096;
        for (i, chunk) in buf.chunks_mut(step).enumerate() {
            let at = lba + (i * step / SECTOR_SIZE) as u64;
            let bounce = &mut self.buffer.bytes_mut()[..chunk.len()];
            self.device
                .read_blocks(at as usize, bounce)
                .map_err(device_error)?;
            chunk.copy_from_slice(bounce);
        }
        Ok(())
    }

    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        block::check_range(SECTOR_SIZE as u32, self.sector_count(), lba, buf.len())?;
        let step = BUFFER_PAGES * 4096;
        for (i, chunk) in buf.chunks(step).enumerate() {
            let at = lba + (i * step / SECTOR_SIZE) as u64;
            let bounce = &mut self.buffer.bytes_mut()[..chunk.len()];
            bounce.copy_from_slice(chunk);
            self.device
                .write_blocks(at as usize, bounce)
                .map_err(device_error)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        self.device.flush().map_err(device_error)
    }
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let transport = super::virtio::transport(p)?;
    let buffer = OwnedFrames::new(BUFFER_PAGES, 4096).map_err(DriverError::Memory)?;
    let device = VirtIOBlk::<KernelHal, PciTransport>::new(transport)
        .map_err(|e| DriverError::Device(format!("virtio-blk set-up: {e}")))?;
    let read_only = device.readonly();
    if device.capacity() == 0 {
        return Err(DriverError::Device(
            "virtio-blk: the disk has no sectors".into(),
        ));
    }
    let disk = crate::disk::add(
        "vd",
        Box::new(VirtioDisk {
            device,
            buffer,
            read_only,
        }),
    );
    log::info!(
        "{} on {}{}",
        disk.name(),
        p.device.name,
        if read_only { " (read-only)" } else { "" }
    );
    Ok(())
}
