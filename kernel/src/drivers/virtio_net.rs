//! virtio-net: VirtIO network devices as the network service's device.
//!
//! `virtio-drivers`' raw device over the modern PCI transport, with its
//! receive and transmit buffers in DMA memory (`mm::net_queues`). Frames
//! are moved by the network thread, which the device's MSI-X interrupt
//! wakes (without one it polls every `net::POLL_MS`). What the device says
//! is checked there: a frame too short for its header is dropped and
//! counted; a device that names buffers it was never given, says it wrote
//! more than a buffer holds, or does not take a frame in time is reset and
//! taken out of service with a message (it then neither sends nor
//! receives).
#![forbid(unsafe_code)]

use super::{Driver, DriverError, Match, Probe};
use crate::mm::net_queues::{NetQueues, QueueError};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
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
pub struct VirtioNet<T: virtio_drivers::transport::Transport> {
    /// `None` once the device has been taken out of service.
    queues: Option<NetQueues<T>>,
    mac: [u8; 6],
    name: String,
    failure: Option<String>,
}

impl<T: virtio_drivers::transport::Transport> VirtioNet<T> {
    /// The device behind `queues`, named `name` in messages.
    pub fn new(queues: NetQueues<T>, name: &str) -> Self {
        Self {
            mac: queues.mac(),
            queues: Some(queues),
            name: name.into(),
            failure: None,
        }
    }

    /// Why the device was taken out of service, if it was.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// What a failed call means for the device: nonsense takes it out of
    /// service (dropping the queues resets it before its buffers go).
    fn failed(&mut self, what: &str, e: QueueError) -> DeviceError {
        match e {
            QueueError::TooLong => return DeviceError::TooLarge,
            QueueError::Nonsense(_) => {
                log::error!("{}: taken out of service: {what}: {e}", self.name);
                self.failure = Some(format!("{what}: {e}"));
                self.queues = None;
            }
            QueueError::Device(_) => log::warn!("{}: {what}: {e}", self.name),
        }
        DeviceError::Failed
    }
}

impl<T: virtio_drivers::transport::Transport> NetDevice for VirtioNet<T> {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        MTU
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        let Some(queues) = self.queues.as_mut() else {
            return Ok(None);
        };
        queues.receive(buf).map_err(|e| self.failed("receive", e))
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        let Some(queues) = self.queues.as_mut() else {
            return Err(DeviceError::Failed);
        };
        queues.send(frame).map_err(|e| self.failed("transmit", e))
    }

    fn can_transmit(&self) -> bool {
        self.queues.as_ref().is_some_and(NetQueues::can_send)
    }
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let transport = super::virtio::transport(p, &p.device.name)?;
    let signal = transport.signal();
    let queues = NetQueues::<virtio_drivers::transport::pci::PciTransport>::new(transport)
        .map_err(|e| DriverError::Device(format!("virtio-net {e}")))?;
    let mac = queues.mac();
    let name = crate::net::add_device(|name| Box::new(VirtioNet::new(queues, name)), signal);
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
