//! M6: the virtio-blk and virtio-net drivers against devices that answer
//! nonsense.
//!
//! QEMU's devices behave, so the checks build their own: a simulated
//! virtio device behind the drivers' real transport wrapper
//! (`drivers::virtio::Transport`), with the real `virtio-drivers` queues
//! and the real `VirtioDisk` and `block::Blocking`, or `NetQueues` and
//! `VirtioNet`, above it. Only the device's registers and its side of the
//! rings are simulated. Each case makes the device break one rule; the
//! driver must refuse it with its own reason (not just any error), take
//! the device out of service (or, for a bad frame, drop just the frame),
//! give every frame back and never panic or hang.

use super::{detail, ensure, Context, Outcome};
use crate::drivers::virtio::Transport;
use crate::drivers::virtio_blk::{self, Failure};
use crate::drivers::virtio_net::VirtioNet;
use crate::mm::net_queues::NetQueues;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use block::{BlockDevice, BlockError};
use net::{DeviceError, NetDevice};
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus};
use virtio_drivers::{Error as VirtioError, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// How long a request of the simulated device may take.
const REQUEST_NS: u64 = 200_000_000;
/// Sectors the simulated disk reports.
const SECTORS: u64 = 2048;
/// VIRTIO_F_VERSION_1 (VirtIO 1.2 §6).
const VERSION_1: u64 = 1 << 32;

/// The rule the device breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// Queue 0 has size 0.
    QueueSizeZero,
    /// The configuration generation changes on every read.
    RestlessConfig,
    /// A completion moves the used index by 5.
    UsedIndexJumps,
    /// The used entry names descriptor 200 of a 16-entry queue.
    DescriptorOutOfRange,
    /// Requests (flushes too) are never completed, and the reset never
    /// finishes.
    Silent,
    /// Network: a received frame in descriptor 200 of a 16-entry queue.
    NetUnknownBuffer,
    /// Network: a received frame of 60000 bytes in a 2048-byte buffer.
    NetFrameTooLong,
    /// Network: a received frame of 3 bytes, shorter than its header.
    NetFrameTooShort,
    /// Network: transmitted frames are never taken.
    NetSilentTransmit,
}

impl Case {
    fn is_net(self) -> bool {
        matches!(
            self,
            Self::NetUnknownBuffer
                | Self::NetFrameTooLong
                | Self::NetFrameTooShort
                | Self::NetSilentTransmit
        )
    }
}

/// The simulated device.
struct Hostile {
    case: Case,
    status: DeviceStatus,
    generation: core::cell::Cell<u32>,
    /// Queues 0 and 1: (size, driver area, device area).
    queues: [Option<(u32, u64, u64)>; 2],
    /// Whether the network case's bad frame has been delivered.
    delivered: bool,
    config: [u8; 64],
}

impl Hostile {
    fn new(case: Case) -> Self {
        let mut config = [0u8; 64];
        if case.is_net() {
            // A locally administered MAC; the link status is 0.
            config[..6].copy_from_slice(&[0x52, 0x54, 0x00, 0xba, 0xd0, 0x01]);
        } else {
            config[..8].copy_from_slice(&SECTORS.to_le_bytes());
        }
        Self {
            case,
            status: DeviceStatus::empty(),
            generation: core::cell::Cell::new(0),
            queues: [None; 2],
            delivered: false,
            config,
        }
    }

    fn read16(phys: u64) -> u16 {
        let mut b = [0u8; 2];
        crate::mm::dma::read_dma(phys, &mut b);
        u16::from_le_bytes(b)
    }

    fn write(phys: u64, bytes: &[u8]) {
        if !crate::mm::dma::write_dma(phys, bytes) {
            log::error!("hostile device: {phys:#x} is in no DMA run");
        }
    }

    /// The device's side of a notify on `queue`: answers the newest
    /// request the way its case says.
    fn answer(&mut self, queue: u16) {
        let Some(&Some((size, driver, device))) = self.queues.get(usize::from(queue)) else {
            return;
        };
        let avail = Self::read16(driver + 2);
        let slot = u64::from(avail.wrapping_sub(1)) % u64::from(size.max(1));
        let head = Self::read16(driver + 4 + 2 * slot);
        let used = Self::read16(device + 2);
        let used_slot = u64::from(used) % u64::from(size.max(1));
        // virtio-net's queue 0 receives, 1 transmits.
        let (id, len, step): (u32, u32, u16) = match (self.case, queue) {
            (Case::UsedIndexJumps, _) => (u32::from(head), 1, 5),
            (Case::DescriptorOutOfRange, _) => (200, 1, 1),
            (Case::NetSilentTransmit, 1) => return,
            (_, 1) => (u32::from(head), 0, 1),
            (_, 0) if self.delivered => return,
            (Case::NetUnknownBuffer, 0) => (200, 100, 1),
            (Case::NetFrameTooLong, 0) => (u32::from(head), 60_000, 1),
            (Case::NetFrameTooShort, 0) => (u32::from(head), 3, 1),
            _ => return,
        };
        self.delivered |= queue == 0;
        let mut entry = [0u8; 8];
        entry[..4].copy_from_slice(&id.to_le_bytes());
        entry[4..].copy_from_slice(&len.to_le_bytes());
        Self::write(device + 4 + 8 * used_slot, &entry);
        Self::write(device + 2, &used.wrapping_add(step).to_le_bytes());
    }
}

impl virtio_drivers::transport::Transport for Hostile {
    fn device_type(&self) -> DeviceType {
        if self.case.is_net() {
            DeviceType::Network
        } else {
            DeviceType::Block
        }
    }
    fn read_device_features(&mut self) -> u64 {
        // A block device offers VIRTIO_BLK_F_FLUSH: negotiated, a flush
        // to a silent device would never return.
        if self.case.is_net() {
            VERSION_1
        } else {
            VERSION_1 | 1 << 9
        }
    }
    fn write_driver_features(&mut self, _driver_features: u64) {}
    fn max_queue_size(&mut self, _queue: u16) -> u32 {
        if self.case == Case::QueueSizeZero {
            0
        } else {
            16
        }
    }
    fn notify(&mut self, queue: u16) {
        self.answer(queue);
    }
    fn get_status(&self) -> DeviceStatus {
        if self.case == Case::Silent {
            // A reset that never finishes.
            DeviceStatus::DRIVER
        } else {
            self.status
        }
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.status = status;
        if status.is_empty() {
            self.queues = [None; 2];
        }
    }
    fn set_guest_page_size(&mut self, _guest_page_size: u32) {}
    fn requires_legacy_layout(&self) -> bool {
        false
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        _descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        if let Some(q) = self.queues.get_mut(usize::from(queue)) {
            *q = Some((size, driver_area, device_area));
        }
    }
    fn queue_unset(&mut self, _queue: u16) {}
    fn queue_used(&mut self, queue: u16) -> bool {
        self.queues
            .get(usize::from(queue))
            .is_some_and(Option::is_some)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        InterruptStatus::empty()
    }
    fn read_config_generation(&self) -> u32 {
        let g = self.generation.get();
        if self.case == Case::RestlessConfig {
            self.generation.set(g.wrapping_add(1));
        }
        g
    }
    fn read_config_space<V: FromBytes + IntoBytes>(&self, offset: usize) -> Result<V, VirtioError> {
        let end = offset
            .checked_add(core::mem::size_of::<V>())
            .ok_or(VirtioError::ConfigSpaceTooSmall)?;
        let bytes = self
            .config
            .get(offset..end)
            .ok_or(VirtioError::ConfigSpaceTooSmall)?;
        V::read_from_bytes(bytes).map_err(|_| VirtioError::ConfigSpaceTooSmall)
    }
    fn write_config_space<V: IntoBytes + Immutable>(
        &mut self,
        _offset: usize,
        _value: V,
    ) -> Result<(), VirtioError> {
        Ok(())
    }
}

/// What one case did.
fn run(case: Case) -> Result<String, String> {
    let transport = Transport::new(Hostile::new(case), "hostile0");
    let disk = virtio_blk::disk_with_timeout(transport, "hostile0", REQUEST_NS);
    let mut disk = match (case, disk) {
        (Case::QueueSizeZero | Case::RestlessConfig, Err(e)) => return Ok(format!("{e}")),
        (Case::QueueSizeZero | Case::RestlessConfig, Ok(_)) => {
            return Err("the device was accepted".into())
        }
        (_, Err(e)) => return Err(format!("set-up failed: {e}")),
        (_, Ok(d)) => d,
    };
    // A flush waits for nothing (the device caches no writes), even when
    // the device would never answer one.
    let flushed = disk.flush();
    if flushed.is_err() {
        return Err(format!("a flush gave {flushed:?}"));
    }
    let mut buf = [0u8; 1024];
    let t0 = crate::time::now_ns();
    let first = disk.read(8, &mut buf);
    let ms = (crate::time::now_ns() - t0) / 1_000_000;
    let want = match case {
        Case::UsedIndexJumps => Failure::UsedIndexJumped {
            held: 1,
            from: 0,
            to: 5,
        },
        Case::DescriptorOutOfRange => Failure::UnknownDescriptor(200),
        _ => Failure::TimedOut,
    };
    let failure = disk.queue().failure();
    if failure != Some(want) {
        return Err(format!(
            "read gave {first:?} with failure {failure:?}, not {want:?}"
        ));
    }
    if first.is_ok() {
        return Err("the read succeeded".into());
    }
    let again = disk.read(8, &mut buf);
    if again != Err(BlockError::Failed) {
        return Err(format!("a second read gave {again:?}, not Failed"));
    }
    Ok(format!("{:?} after {ms} ms, then Failed", first.err()))
}

/// What one network case did.
fn run_net(case: Case) -> Result<String, String> {
    let transport = Transport::new(Hostile::new(case), "hostile-net0");
    let queues = NetQueues::new(transport).map_err(|e| format!("set-up failed: {e}"))?;
    let mut dev = VirtioNet::new(queues, "hostile-net0");
    let mut buf = [0u8; 1514];
    let frame = [0xffu8; 60];
    if case == Case::NetSilentTransmit {
        let t0 = crate::time::now_ns();
        let sent = dev.transmit(&frame);
        let ms = (crate::time::now_ns() - t0) / 1_000_000;
        if sent != Err(DeviceError::Failed) {
            return Err(format!("a frame nobody took gave {sent:?}"));
        }
        let why = String::from(dev.failure().ok_or("the device stayed in service")?);
        if !why.contains("not taken in time") {
            return Err(format!("taken out for the wrong reason: {why}"));
        }
        let again = dev.transmit(&frame);
        if again != Err(DeviceError::Failed) || dev.can_transmit() {
            return Err(format!("a second frame gave {again:?}"));
        }
        return Ok(format!("{why} ({ms} ms), then refused"));
    }
    let first = dev.receive(&mut buf);
    if first != Err(DeviceError::Failed) {
        return Err(format!("the bad frame gave {first:?}"));
    }
    let after = dev.receive(&mut buf);
    if after != Ok(None) {
        return Err(format!("a receive after it gave {after:?}"));
    }
    let sent = dev.transmit(&frame);
    match (case, dev.failure().map(String::from)) {
        // Too short for its header: only the frame goes.
        (Case::NetFrameTooShort, None) if sent.is_ok() => Ok(String::from(
            "frame dropped, the device stays (a frame sent after it went out)",
        )),
        (Case::NetFrameTooShort, why) => Err(format!(
            "the device should stay: sending gave {sent:?}, failure {why:?}"
        )),
        (_, Some(why)) if sent == Err(DeviceError::Failed) => {
            let want = match case {
                Case::NetUnknownBuffer => "names no posted buffer",
                _ => "longer than its buffer",
            };
            if why.contains(want) {
                Ok(format!("{why}, then refused"))
            } else {
                Err(format!("taken out for the wrong reason: {why}"))
            }
        }
        (_, why) => Err(format!(
            "the device should be out of service: sending gave {sent:?}, failure {why:?}"
        )),
    }
}

/// Runs `cases` through `run`, then checks that every frame came back.
fn all_cases(cases: &[Case], run: fn(Case) -> Result<String, String>) -> Outcome {
    // The first set-up allocates the DMA layer's pools for good.
    crate::mm::dma::init_bounce().map_err(|e| detail!("{e}"))?;
    // Bytes of free frames.
    let free = || crate::mm::frame_alloc::stats().map_or(0, |s| s.free);
    let before = free();
    let mut seen = Vec::new();
    for &case in cases {
        let what = run(case).map_err(|e| detail!("{case:?}: {e}"))?;
        seen.push(format!("{case:?}: {what}"));
    }
    let after = free();
    ensure!(
        after == before,
        "{} frame(s) not given back",
        before.saturating_sub(after) / 4096
    );
    Ok(detail!("{}; every frame back", seen.join("; ")))
}

pub(super) fn hostile_disks_are_refused(_: &Context<'_>) -> Outcome {
    let cases = [
        Case::QueueSizeZero,
        Case::RestlessConfig,
        Case::UsedIndexJumps,
        Case::DescriptorOutOfRange,
        Case::Silent,
    ];
    all_cases(&cases, run)
}

pub(super) fn hostile_network_devices_are_refused(_: &Context<'_>) -> Outcome {
    let cases = [
        Case::NetUnknownBuffer,
        Case::NetFrameTooLong,
        Case::NetFrameTooShort,
        Case::NetSilentTransmit,
    ];
    all_cases(&cases, run_net)
}
