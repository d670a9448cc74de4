//! What every VirtIO PCI driver does first: the device's register windows
//! mapped, bus mastering on, and the modern PCI transport (VirtIO 1.2
//! §4.1) built over them with the kernel's `Hal` (`mm::dma`).
#![forbid(unsafe_code)]

use super::{DriverError, Probe};
use crate::mm::dma::{KernelCam, KernelHal};
use alloc::format;
use virtio_drivers::transport::pci::bus::{DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::PciTransport;

/// The transport of the VirtIO PCI function `p` is bound to.
pub fn transport(p: &Probe) -> Result<PciTransport, DriverError> {
    let at = super::pci::address_of(&p.device)
        .ok_or_else(|| DriverError::Device(format!("{}: not a PCI function", p.device.name)))?;
    // The transport reads the BARs from configuration space and asks for
    // windows inside them: map every memory BAR whole, once.
    for r in &p.device.resources {
        if let super::Resource::Memory { base, len, .. } = *r {
            crate::mm::dma::map_bar(base, len).map_err(DriverError::Memory)?;
        }
    }
    crate::mm::dma::init_bounce().map_err(DriverError::Memory)?;
    super::pci::enable_bus_master(at);
    let mut root = PciRoot::new(KernelCam);
    let function = DeviceFunction {
        bus: at.bus,
        device: at.device,
        function: at.function,
    };
    PciTransport::new::<KernelHal, KernelCam>(&mut root, function)
        .map_err(|e| DriverError::Device(format!("virtio transport: {e}")))
}
