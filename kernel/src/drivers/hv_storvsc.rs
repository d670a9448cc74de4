//! The Hyper-V SCSI controller (storvsc, sheet §6.4): its disk joins the
//! disk service (`sda`, `sdb`, ...), and the FAT volumes on it are mounted.
//!
//! Probing opens the channel and runs the `vmbus-devices` storvsc state
//! machine through the init sequence and the disk probe (INQUIRY, TEST
//! UNIT READY, READ CAPACITY) on the probing thread. The disk is then a
//! `block::RequestQueue`: a request is one EXECUTE_SRB packet whose data
//! is one of [`DEPTH`] slots of [`SLOT_BYTES`] (GPA-direct), sent by the
//! thread that asks. That thread reads the completions from the channel's
//! ring itself, sleeping on the channel's event flag between looks, and
//! `block::Blocking` makes the whole a block device. There is no service
//! thread on the I/O path.
//!
//! The host is not trusted. A completion for no request, a reply the
//! state machine refuses too often, a transfer shorter than asked, a
//! broken ring and a request not completed in [`REQUEST_NS`] each take
//! the disk out of service with a message: its channel is closed and its
//! disk refuses every request from then on.
//!
//! A small thread per disk watches for the host's rescind. A rescind, or
//! [`stop_all`], removes the disk: its volumes are flushed and unmounted,
//! it leaves the disk service (handles still open get I/O errors), and
//! its channel is closed and its pages given back once no request is in
//! flight.
#![forbid(unsafe_code)]

use super::hv_service::relid_of;
use super::{Driver, DriverError, Match, Probe};
use crate::disk::Disk;
use crate::hyperv::bound::{Bound, Registry};
use crate::hyperv::channel::Channel;
use crate::mm::frame_alloc::OwnedFrames;
use crate::sync::Signal;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use block::{BlockError, Progress, Request, RequestQueue, Tag};
use vmbus_devices::packet::GpaRange;
use vmbus_devices::storvsc::{
    IoError, RequestId, Storvsc, StorvscConfig, StorvscError, StorvscEvent, StorvscState,
};
use vmbus_devices::{Incoming, Output};

static MATCHES: &[Match] = &[Match::VmBus(vmbus::guid::SCSI.0)];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "hv-storvsc",
    matches: MATCHES,
    probe,
};

/// Ring pages each way (the header page included).
const RING_PAGES: usize = 8;
/// Bytes of one request's data slot: the most one request moves.
pub const SLOT_BYTES: usize = 64 << 10;
/// Requests a disk holds at once.
pub const DEPTH: usize = 4;
/// The longest a request may take before the disk is taken out of service.
pub const REQUEST_NS: u64 = 5_000_000_000;
/// The longest the init sequence and the disk probe may take.
const PROBE_NS: u64 = 2_000_000_000;
/// How long a waiting thread sleeps at most before it looks at the ring
/// anyway (a lost interrupt costs this much, never the request).
const RECHECK_NS: u64 = 20_000_000;
/// How long closing may wait for the host.
const CLOSE_NS: u64 = 1_000_000_000;
/// How often a disk's watch thread looks for a rescind.
const WATCH_NS: u64 = 50_000_000;
/// Bytes of the largest packet read at once.
const PACKET_MAX: usize = 512;

/// One request's data slot.
struct Slot {
    frames: OwnedFrames,
    /// The request in it (0: free).
    tag: Tag,
    /// The state machine's id for it.
    id: RequestId,
    /// Bytes it moves.
    bytes: u32,
    /// Its completion, once the host sent it.
    result: Option<Result<u32, IoError>>,
}

/// A storvsc disk as a request queue.
pub struct StorvscDisk {
    name: String,
    /// `None` once closed.
    channel: Option<Arc<Channel>>,
    storvsc: Storvsc,
    out: Output<StorvscEvent>,
    scratch: OwnedFrames,
    slots: Vec<Slot>,
    next_tag: Tag,
    sector_size: u32,
    sectors: u64,
    max_transfer: usize,
    version: u16,
    /// Why the disk was taken out of service, if it was.
    failure: Option<String>,
    buf: [u8; PACKET_MAX],
}

impl StorvscDisk {
    /// Runs the init sequence and the disk probe on `channel`, as disk
    /// `name`. On failure the channel is closed.
    pub fn start(channel: Arc<Channel>, name: &str) -> Result<Self, DriverError> {
        let err = |what: &str| DriverError::Device(format!("{name}: {what}"));
        let scratch = OwnedFrames::new(1, 4096).map_err(|e| err(&format!("{e}")))?;
        let range =
            GpaRange::contiguous(scratch.phys(), 4096).map_err(|e| err(&format!("{e:?}")))?;
        let mut slots = Vec::new();
        for _ in 0..DEPTH {
            let frames =
                OwnedFrames::new(SLOT_BYTES / 4096, 4096).map_err(|e| err(&format!("{e}")))?;
            slots.push(Slot {
                frames,
                tag: 0,
                id: RequestId(0),
                bytes: 0,
                result: None,
            });
        }
        let mut disk = Self {
            name: name.into(),
            channel: Some(channel),
            storvsc: Storvsc::new(StorvscConfig {
                path_id: 0,
                target: 0,
                lun: 0,
                scratch: range,
            }),
            out: Output::new(),
            scratch,
            slots,
            next_tag: 0,
            sector_size: 0,
            sectors: 0,
            max_transfer: 0,
            version: 0,
            failure: None,
            buf: [0; PACKET_MAX],
        };
        // Dropping `disk` on an error closes the channel.
        disk.init().map_err(|e| err(&e))?;
        Ok(disk)
    }

    /// Init and probe, until DiskReady.
    fn init(&mut self) -> Result<(), String> {
        self.storvsc
            .start(&mut self.out)
            .map_err(|e| format!("{e:?}"))?;
        let deadline = crate::time::now_ns().saturating_add(PROBE_NS);
        loop {
            self.exchange()?;
            if self.sector_size != 0 {
                return Ok(());
            }
            if self.storvsc.state() == StorvscState::Failed {
                return Err("the host broke the init sequence".into());
            }
            let now = crate::time::now_ns();
            if now >= deadline {
                return Err(format!(
                    "the host did not finish the probe in time (state {:?})",
                    self.storvsc.state()
                ));
            }
            if let Some(c) = &self.channel {
                c.signal()
                    .wait_until(now.saturating_add(RECHECK_NS).min(deadline));
            }
        }
    }

    /// The protocol version the host agreed to.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Sends what the state machine queued, reads every packet the host
    /// sent and acts on the events; an error when the channel or the host
    /// is broken.
    fn exchange(&mut self) -> Result<(), String> {
        let Some(channel) = self.channel.clone() else {
            return Err("the channel is closed".into());
        };
        loop {
            for packet in core::mem::take(&mut self.out.sends) {
                let bytes = packet.encode().map_err(|e| format!("{e:?}"))?;
                channel.send(&bytes).map_err(|e| format!("{e}"))?;
            }
            for event in core::mem::take(&mut self.out.events) {
                self.on_event(event)?;
            }
            let Some(len) = channel.receive(&mut self.buf).map_err(|e| format!("{e}"))? else {
                return Ok(());
            };
            let handled = Incoming::parse(&self.buf[..len])
                .map_err(StorvscError::Wire)
                .and_then(|p| self.storvsc.handle(&p, self.scratch.bytes(), &mut self.out));
            if let Err(e) = handled {
                log::warn!("{}: refused a packet: {e:?}", self.name);
                if self.storvsc.state() == StorvscState::Failed {
                    return Err(format!("the host broke the protocol ({e:?})"));
                }
            }
        }
    }

    fn on_event(&mut self, event: StorvscEvent) -> Result<(), String> {
        match event {
            StorvscEvent::DiskReady {
                sector_size,
                sectors,
                protocol_version,
                max_transfer_bytes,
            } => {
                let max = (max_transfer_bytes as usize).min(SLOT_BYTES);
                let max = max / sector_size.max(1) as usize * sector_size as usize;
                if sector_size == 0 || !sector_size.is_power_of_two() || max == 0 || sectors == 0 {
                    return Err(format!(
                        "the disk is unusable: {sectors} sectors of {sector_size} bytes, transfers of at most {max_transfer_bytes}"
                    ));
                }
                self.sector_size = sector_size;
                self.sectors = sectors;
                self.max_transfer = max;
                self.version = protocol_version;
            }
            StorvscEvent::Completed { id, result } => {
                let Some(slot) = self.slots.iter_mut().find(|s| s.tag != 0 && s.id == id) else {
                    // The state machine matched it to a request of its
                    // table, so it is one of ours: nothing to mark.
                    log::warn!("{}: completion {} for no slot", self.name, id.0);
                    return Ok(());
                };
                slot.result = Some(result);
            }
            StorvscEvent::BusRescan => {
                log::info!(
                    "{}: the host asks for a rescan (ignored: one disk)",
                    self.name
                );
            }
        }
        Ok(())
    }

    fn take_out(&mut self, why: &str) {
        if self.failure.is_none() {
            log::error!("{}: taken out of service: {why}", self.name);
            self.failure = Some(why.into());
        }
        self.close();
    }

    /// Closes the channel; the host holds none of the slots after that.
    fn close(&mut self) {
        if let Some(c) = self.channel.take() {
            c.close(CLOSE_NS);
        }
    }

    fn range(&self, slot: usize, bytes: u32) -> Result<GpaRange, BlockError> {
        GpaRange::contiguous(self.slots[slot].frames.phys(), bytes).map_err(|_| BlockError::Device)
    }
}

impl Drop for StorvscDisk {
    fn drop(&mut self) {
        self.close();
    }
}

impl RequestQueue for StorvscDisk {
    fn sector_size(&self) -> u32 {
        self.sector_size
    }

    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read_only(&self) -> bool {
        false
    }

    fn max_transfer(&self) -> usize {
        self.max_transfer
    }

    fn depth(&self) -> usize {
        DEPTH
    }

    fn start(&mut self, request: Request<'_>) -> Result<Tag, BlockError> {
        if self.failure.is_some() {
            return Err(BlockError::Failed);
        }
        if self.channel.as_ref().is_some_and(|c| c.rescinded()) {
            self.take_out("the host rescinded the channel");
            return Err(BlockError::Failed);
        }
        let Some(slot) = self.slots.iter().position(|s| s.tag == 0) else {
            return Err(BlockError::Busy);
        };
        let size = self.sector_size;
        let submitted = match request {
            Request::Read { lba, sectors } => {
                let bytes = sectors.checked_mul(size).ok_or(BlockError::Device)?;
                let range = self.range(slot, bytes)?;
                self.storvsc.read(lba, sectors, range).map(|r| (r, bytes))
            }
            Request::Write { lba, data } => {
                if data.len() > SLOT_BYTES || data.len() % size as usize != 0 {
                    return Err(BlockError::Device);
                }
                self.slots[slot].frames.bytes_mut()[..data.len()].copy_from_slice(data);
                let bytes = data.len() as u32;
                let range = self.range(slot, bytes)?;
                self.storvsc
                    .write(lba, bytes / size, range)
                    .map(|r| (r, bytes))
            }
            Request::Flush => self.storvsc.flush().map(|r| (r, 0)),
        };
        let ((id, packet), bytes) = match submitted {
            Ok(s) => s,
            Err(StorvscError::Busy) => return Err(BlockError::Busy),
            Err(StorvscError::BadRequest) => {
                log::warn!("{}: request refused: {request:?}", self.name);
                return Err(BlockError::Device);
            }
            Err(e) => {
                self.take_out(&format!("it cannot take requests: {e:?}"));
                return Err(BlockError::Failed);
            }
        };
        self.out.sends.push(packet);
        self.next_tag += 1;
        let s = &mut self.slots[slot];
        s.tag = self.next_tag;
        s.id = id;
        s.bytes = bytes;
        s.result = None;
        if let Err(why) = self.exchange() {
            self.take_out(&why);
            return Err(BlockError::Failed);
        }
        Ok(self.next_tag)
    }

    fn finish(&mut self, tag: Tag, read_into: &mut [u8]) -> Progress {
        let Some(at) = self.slots.iter().position(|s| s.tag == tag && tag != 0) else {
            return Progress::Done(Err(BlockError::Device));
        };
        if self.failure.is_some() {
            // The slot stays held: the channel is closed, and the host's
            // copy of the request is abandoned with it.
            return Progress::Done(Err(BlockError::Failed));
        }
        if self.slots[at].result.is_none() {
            if let Err(why) = self.exchange() {
                self.take_out(&why);
                return Progress::Done(Err(BlockError::Failed));
            }
        }
        let Some(result) = self.slots[at].result.take() else {
            if self.channel.as_ref().is_some_and(|c| c.rescinded()) {
                self.take_out("the host rescinded the channel");
                return Progress::Done(Err(BlockError::Failed));
            }
            return Progress::Pending;
        };
        let slot = &mut self.slots[at];
        slot.tag = 0;
        match result {
            Ok(n) if n == slot.bytes => {
                let len = read_into.len().min(n as usize);
                read_into[..len].copy_from_slice(&slot.frames.bytes()[..len]);
                Progress::Done(Ok(()))
            }
            Ok(n) => {
                let bytes = slot.bytes;
                self.take_out(&format!("it moved {n} of {bytes} bytes"));
                Progress::Done(Err(BlockError::Device))
            }
            // The device reported a failure: the request failed, the disk
            // stays.
            Err(e) => {
                log::warn!("{}: a request failed: {e:?}", self.name);
                Progress::Done(Err(BlockError::Device))
            }
        }
    }

    fn fail(&mut self, why: &str) {
        self.take_out(why);
    }
}

/// Waits for a channel's event flag, with a limit per request.
pub struct ChannelWait {
    signal: Arc<Signal>,
    limit_ns: u64,
    deadline: u64,
}

impl ChannelWait {
    /// Waits on `signal` at most `limit_ns` per request.
    pub fn new(signal: Arc<Signal>, limit_ns: u64) -> Self {
        Self {
            signal,
            limit_ns,
            deadline: 0,
        }
    }
}

impl block::Wait for ChannelWait {
    fn begin(&mut self) {
        self.deadline = crate::time::now_ns().saturating_add(self.limit_ns);
    }

    fn wait(&mut self) -> bool {
        let now = crate::time::now_ns();
        if now >= self.deadline {
            return false;
        }
        self.signal
            .wait_until(now.saturating_add(RECHECK_NS).min(self.deadline));
        true
    }
}

/// A bound disk.
#[derive(Clone)]
struct BoundDisk(Arc<Disk>);

impl Bound for BoundDisk {
    fn name(&self) -> String {
        String::from(self.0.name())
    }

    /// Its volumes are flushed (not for a disk the host took away) and
    /// unmounted, it leaves the disk service, and its channel closes once
    /// no request is in flight.
    fn remove(self, host_gone: bool) {
        crate::fs::volumes::unmount_disk(self.0.name(), !host_gone);
        crate::disk::remove(&self.0);
    }
}

static DISKS: Registry<BoundDisk> = Registry::new("hv-storvsc");

/// The disks storvsc serves now, by name.
pub fn disks() -> Vec<String> {
    DISKS.devices().iter().map(Bound::name).collect()
}

/// Whether any disk's watch thread runs.
pub fn running() -> bool {
    DISKS.running()
}

/// Removes every storvsc disk (as a rescind would, flushing them) and
/// waits up to a second for their watch threads to end; whether they did.
pub fn stop_all() -> bool {
    DISKS.stop_all()
}

/// A disk's watch thread: removes it when the host rescinds its channel.
fn watch(serial: u64) {
    DISKS.watch(serial, WATCH_NS);
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let relid =
        relid_of(p).ok_or_else(|| DriverError::Device(format!("{}: no relid", p.device.name)))?;
    let connection = crate::hyperv::bus::active()
        .ok_or_else(|| DriverError::Device("no VMBus connection".into()))?;
    let channel = Channel::open(connection, relid, RING_PAGES)
        .map_err(|e| DriverError::Device(format!("relid {relid}: {e}")))?;
    let name = crate::disk::next_name("sd");
    let queue = StorvscDisk::start(channel.clone(), &name)?;
    let version = queue.version();
    let wait = ChannelWait::new(channel.signal().clone(), REQUEST_NS);
    let disk = crate::disk::add_named(name, Box::new(block::Blocking::new(queue, wait)));
    DISKS
        .add(relid, channel, BoundDisk(disk.clone()), watch)
        .map_err(DriverError::Device)?;
    log::info!(
        "{} on {} (relid {relid}, protocol {version:#06x})",
        disk.name(),
        p.device.name
    );
    crate::fs::volumes::mount_disk(&disk);
    Ok(())
}
