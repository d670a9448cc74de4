//! virtio-blk: VirtIO block devices as disks (`vda`, `vdb`, ...).
//!
//! The `virtio-drivers` crate drives the device over the modern PCI
//! transport (VirtIO 1.2 §4.1) with the kernel's `Hal` (`mm::dma`); its
//! buffers live in `mm::blk_queue`. A disk is a `block::RequestQueue`: a
//! request is started, the thread sleeps until the queue's MSI-X interrupt
//! (or, without one, a short timed sleep) and then collects the result;
//! `block::Blocking` makes that a block device for the layers above.
//!
//! A disk holds [`DEPTH`] requests at once (`block::Blocking` keeps that
//! many in flight), each in a slot of its own with [`BUFFER_PAGES`] of
//! data.
//!
//! The device is not trusted. Before completions are taken its used index
//! is read from the ring: it must not have moved by more than the requests
//! the device holds, and each used entry must name one of them. A device
//! that breaks either rule, answers with an error status the crate cannot
//! parse, or takes longer than [`REQUEST_NS`], is reset and taken out of
//! service with a message; its disk then refuses every request.
#![forbid(unsafe_code)]

use super::virtio::{Rings, Transport};
use super::{Driver, DriverError, Match, Probe};
use crate::mm::blk_queue::BlkQueue;
use crate::sync::{Signal, SpinLock};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use block::{BlockError, Progress, Request, RequestQueue, Tag};
use core::sync::atomic::{AtomicU64, Ordering};
use virtio_drivers::device::blk::SECTOR_SIZE;
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

/// Pages of a request's DMA buffer: the most one request moves.
pub const BUFFER_PAGES: usize = 16;
/// Requests a disk holds at once. Each takes three of the crate's 16
/// descriptors (header, data, status), so at most five fit.
pub const DEPTH: usize = 4;
/// The longest a request may take before the device is reset.
pub const REQUEST_NS: u64 = 5_000_000_000;
/// Without an interrupt, how long a waiting thread sleeps between looks.
const POLL_NS: u64 = 1_000_000;
/// With one, how long it sleeps at most before it looks anyway (a lost
/// interrupt costs this much, never the request).
const RECHECK_NS: u64 = 20_000_000;

/// Why a device was taken out of service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The used index moved by more than the requests the device holds.
    UsedIndexJumped {
        /// Requests the device held.
        held: usize,
        /// Used index after the last completion.
        from: u16,
        /// What the device wrote.
        to: u16,
    },
    /// The used ring named a descriptor that is not the request's.
    UnknownDescriptor(u16),
    /// The crate refused the completion.
    Completion(virtio_drivers::Error),
    /// The request was not completed in time.
    TimedOut,
    /// A request could not be given to the device.
    Start(virtio_drivers::Error),
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UsedIndexJumped { held, from, to } => write!(
                f,
                "its used index jumped from {from} to {to} with {held} request(s) in flight"
            ),
            Self::UnknownDescriptor(id) => {
                write!(f, "it completed descriptor {id}, which is not in flight")
            }
            Self::Completion(e) => write!(f, "its completion was refused: {e}"),
            Self::TimedOut => write!(f, "it did not complete a request in time"),
            Self::Start(e) => write!(f, "it refused a request: {e}"),
        }
    }
}

/// A virtio-blk device as a request queue.
pub struct VirtioDisk<T: virtio_drivers::transport::Transport> {
    /// `None` once the device has been taken out of service.
    queue: Option<BlkQueue<T>>,
    name: String,
    capacity: u64,
    read_only: bool,
    /// The used index after the last completion.
    seen_used: u16,
    /// The tag of each slot's request (0: none).
    tags: [Tag; DEPTH],
    next_tag: Tag,
    failure: Option<Failure>,
}

impl<T: virtio_drivers::transport::Transport> VirtioDisk<T> {
    /// Sets the device behind `transport` up as disk `name`.
    pub fn new(transport: Transport<T>, name: &str) -> Result<Self, DriverError> {
        let queue = BlkQueue::new(transport, DEPTH, BUFFER_PAGES)
            .map_err(|e| DriverError::Device(format!("{name}: set-up refused: {e}")))?;
        let capacity = queue.device().capacity();
        if capacity == 0 {
            return Err(DriverError::Device(format!(
                "{name}: the disk has no sectors"
            )));
        }
        let seen_used = queue
            .used_index()
            .ok_or_else(|| DriverError::Device(format!("{name}: its used ring is unreadable")))?;
        Ok(Self {
            read_only: queue.device().readonly(),
            queue: Some(queue),
            name: name.into(),
            capacity,
            seen_used,
            tags: [0; DEPTH],
            next_tag: 1,
            failure: None,
        })
    }

    /// Why the device was taken out of service, if it was.
    pub fn failure(&self) -> Option<Failure> {
        self.failure
    }

    fn take_out(&mut self, why: Failure) {
        log::error!("{}: taken out of service: {why}", self.name);
        self.failure = Some(why);
        // Dropping the queue resets the device before its buffers go.
        self.queue = None;
    }

    /// Completes what the used ring says the device has used, in its
    /// order (the crate pops used entries in order only).
    fn reap(&mut self) -> Result<(), Failure> {
        let Some(queue) = self.queue.as_mut() else {
            return Ok(());
        };
        let held = queue.posted();
        let Some(used) = queue.used_index() else {
            return Ok(());
        };
        let moved = used.wrapping_sub(self.seen_used);
        if usize::from(moved) > held {
            return Err(Failure::UsedIndexJumped {
                held,
                from: self.seen_used,
                to: used,
            });
        }
        for _ in 0..moved {
            let Some(id) = queue.peek_used() else {
                return Ok(());
            };
            let slot = queue.slot_of(id).ok_or(Failure::UnknownDescriptor(id))?;
            queue.complete(slot).map_err(Failure::Completion)?;
            self.seen_used = self.seen_used.wrapping_add(1);
        }
        Ok(())
    }
}

impl<T: virtio_drivers::transport::Transport> RequestQueue for VirtioDisk<T> {
    fn sector_size(&self) -> u32 {
        SECTOR_SIZE as u32
    }

    fn sector_count(&self) -> u64 {
        self.capacity
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn max_transfer(&self) -> usize {
        BUFFER_PAGES * 4096
    }

    fn depth(&self) -> usize {
        DEPTH
    }

    fn start(&mut self, request: Request<'_>) -> Result<Tag, BlockError> {
        let Some(queue) = self.queue.as_mut() else {
            return Err(BlockError::Failed);
        };
        let Some(slot) = queue.free_slot() else {
            return Err(BlockError::Busy);
        };
        let faults = crate::mm::dma::faults();
        let started = match request {
            Request::Read { lba, sectors } => {
                queue.start_read(slot, lba, sectors as usize * SECTOR_SIZE)
            }
            Request::Write { lba, data } => queue.start_write(slot, lba, data),
            // The transport never offers VIRTIO_BLK_F_FLUSH, so the
            // device caches no writes (`drivers::virtio`): every write
            // that completed is durable, and the crate's flush (blocking,
            // without a deadline) is a no-op that sends nothing.
            Request::Flush => {
                let flushed = queue.device_mut().flush();
                // Were one sent, the crate would have taken its used entry.
                if let Some(used) = queue.used_index() {
                    self.seen_used = used;
                }
                if let Err(e) = flushed {
                    log::warn!("{}: flush failed: {e}", self.name);
                    return Err(BlockError::Device);
                }
                return Ok(0);
            }
        };
        match started {
            Ok(_) if crate::mm::dma::faults() != faults => {
                self.take_out(Failure::Start(virtio_drivers::Error::DmaError));
                Err(BlockError::Failed)
            }
            Ok(_) => {
                self.next_tag += 1;
                self.tags[slot] = self.next_tag;
                Ok(self.next_tag)
            }
            Err(e @ virtio_drivers::Error::InvalidParam) => {
                log::warn!("{}: request refused: {e}", self.name);
                Err(BlockError::Device)
            }
            Err(e) => {
                self.take_out(Failure::Start(e));
                Err(BlockError::Failed)
            }
        }
    }

    fn finish(&mut self, tag: Tag, read_into: &mut [u8]) -> Progress {
        // Flushes complete in `start` (tag 0).
        if tag == 0 {
            return Progress::Done(Ok(()));
        }
        let Some(slot) = self.tags.iter().position(|&t| t == tag) else {
            return Progress::Done(Err(BlockError::Device));
        };
        if self.queue.is_none() {
            self.tags[slot] = 0;
            return Progress::Done(Err(BlockError::Failed));
        }
        if let Err(why) = self.reap() {
            self.tags[slot] = 0;
            self.take_out(why);
            return Progress::Done(Err(BlockError::Device));
        }
        let Some(queue) = self.queue.as_mut().filter(|q| q.is_done(slot)) else {
            return Progress::Pending;
        };
        self.tags[slot] = 0;
        match queue.take(slot, read_into) {
            Ok(()) => Progress::Done(Ok(())),
            // The device answered with an error status: the request
            // failed, the device stays.
            Err(e) => {
                log::warn!("{}: a request failed: {e}", self.name);
                Progress::Done(Err(BlockError::Device))
            }
        }
    }

    fn fail(&mut self, why: &str) {
        if self.queue.is_some() {
            log::error!("{}: {why}", self.name);
            self.take_out(Failure::TimedOut);
        }
    }
}

/// The signals of every disk, for [`interrupts`].
static SIGNALS: SpinLock<Vec<Arc<Signal>>> = SpinLock::new(Vec::new());

/// Completion interrupts all virtio disks have taken since boot.
pub fn interrupts() -> u64 {
    SIGNALS.lock().iter().map(|s| s.raises()).sum()
}

/// Waits ended by a completion interrupt, and by time (all disks).
static WAKES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// How often a thread waiting for a disk was woken by the disk's
/// interrupt, and by time, since boot.
pub fn wakes() -> (u64, u64) {
    (
        WAKES[0].load(Ordering::Relaxed),
        WAKES[1].load(Ordering::Relaxed),
    )
}

/// Waits for a disk's completion signal, with [`REQUEST_NS`] per request.
pub struct SignalWait {
    signal: Arc<Signal>,
    rings: Arc<Rings>,
    limit_ns: u64,
    deadline: u64,
}

impl SignalWait {
    /// Waits on `signal` at most `limit_ns` per request; `rings` says
    /// whether interrupts raise it.
    pub fn new(signal: Arc<Signal>, rings: Arc<Rings>, limit_ns: u64) -> Self {
        Self {
            signal,
            rings,
            limit_ns,
            deadline: 0,
        }
    }
}

impl block::Wait for SignalWait {
    fn begin(&mut self) {
        self.deadline = crate::time::now_ns().saturating_add(self.limit_ns);
    }

    fn wait(&mut self) -> bool {
        let now = crate::time::now_ns();
        if now >= self.deadline {
            return false;
        }
        let slice = if self.rings.interrupts() && crate::arch::cpu::interrupts_enabled() {
            RECHECK_NS
        } else {
            POLL_NS
        };
        let raised = self
            .signal
            .wait_until(now.saturating_add(slice).min(self.deadline));
        WAKES[usize::from(!raised)].fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// A disk as the disk service keeps it.
pub type Disk<T> = block::Blocking<VirtioDisk<T>, SignalWait>;

/// Sets the device behind `transport` up as a disk named `name`, whose
/// requests may take `limit_ns` each.
pub fn disk_with_timeout<T: virtio_drivers::transport::Transport>(
    transport: Transport<T>,
    name: &str,
    limit_ns: u64,
) -> Result<Disk<T>, DriverError> {
    let signal = transport.signal();
    let wait = SignalWait::new(signal.clone(), transport.rings(), limit_ns);
    let disk = block::Blocking::new(VirtioDisk::new(transport, name)?, wait);
    let mut signals = SIGNALS.lock();
    if signals.try_reserve(1).is_ok() {
        signals.push(signal);
    }
    Ok(disk)
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let name = crate::disk::next_name("vd");
    let transport = super::virtio::transport(p, &name)?;
    let disk = disk_with_timeout::<PciTransport>(transport, &name, REQUEST_NS)?;
    let read_only = disk.queue().read_only;
    let disk = crate::disk::add_named(name, Box::new(disk));
    log::info!(
        "{} on {}{}",
        disk.name(),
        p.device.name,
        if read_only { " (read-only)" } else { "" }
    );
    Ok(())
}
