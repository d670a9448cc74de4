//! virtio-net: VirtIO network devices as the network service's device.
//!
//! `virtio-drivers`' raw device over the modern PCI transport, with its
//! receive and transmit buffers in DMA memory (`mm::net_queues`). Frames
//! are moved by the network thread, which the device's MSI-X interrupt
//! wakes (without one it polls every `net::POLL_MS`). What the device says
//! is checked there; a frame it mangles is dropped and counted, never
//! trusted.
#![forbid(unsafe_code)]

use super::{Driver, DriverError, Match, Probe};
use crate::mm::net_queues::{NetQueues, QueueError};
use alloc::boxed::Box;
use alloc::format;
use net::{DeviceError, NetDevice};

/// VirtIO's PCI vendor; network devices are 0x1000 (transitional) and
/// 0x1041 (modern) (VirtIO 1.2 §4.1.2.1).
static MATCHES: &[Match] = &[
    Match::PciId {
        vendor: 0x1af4,
        device: 0x1000,
    },
    Match::PciId {
        vendor: 0x1af4,
        device: 0x1041,
    },
];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "virtio-net",
    matches: MATCHES,
    probe,
};

/// The IP MTU (the device offers no MTU feature the driver negotiates).
const MTU: usize = 1500;

/// One virtio-net device.
struct VirtioNet {
    queues: NetQueues,
    name: alloc::string::String,
}

impl NetDevice for VirtioNet {
    fn mac(&self) -> [u8; 6] {
        self.queues.mac()
    }

    fn mtu(&self) -> usize {
        MTU
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        self.queues.receive(buf).map_err(|e| match e {
            QueueError::TooLong => DeviceError::TooLarge,
            e => {
                log::warn!("{}: receive: {e}", self.name);
                DeviceError::Failed
            }
        })
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        self.queues.send(frame).map_err(|e| {
            log::warn!("{}: transmit: {e}", self.name);
            DeviceError::Failed
        })
    }

    fn can_transmit(&self) -> bool {
        self.queues.can_send()
    }
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let transport = super::virtio::transport(p, &p.device.name)?;
    let signal = transport.signal();
    let queues =
        NetQueues::new(transport).map_err(|e| DriverError::Device(format!("virtio-net {e}")))?;
    let mac = queues.mac();
    let name = crate::net::add_device(
        |name| {
            Box::new(VirtioNet {
                queues,
                name: name.into(),
            })
        },
        signal,
    );
    log::info!(
        "{name} on {}: MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        p.device.name,
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5]
    );
    Ok(())
}
