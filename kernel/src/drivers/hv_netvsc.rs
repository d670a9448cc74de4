//! The Hyper-V network adapter (netvsc, sheet §6.5) as a network device
//! of the network service (`eth0`, `eth1`, ...).
//!
//! Probing opens the channel, shares a receive buffer ([`RECV_BYTES`])
//! and a send buffer ([`SEND_BYTES`]) with the host as GPADLs of it, and
//! runs the `vmbus-devices` netvsc state machine through NVSP init and
//! the RNDIS bring-up on the probing thread. The adapter is then a
//! `net::NetDevice`: whoever drives the stack over it (the network
//! thread for `eth0`) moves the packets when it calls `receive` and
//! `transmit`; there is no service thread on that path. Received frames
//! wait in a bounded queue ([`RX_QUEUE`]); every transfer-page packet is
//! completed back to the host at once, so its receive sections come back
//! whether or not anybody reads the frames. A packet the ring has no room
//! for waits in a bounded backlog and goes with the next one.
//!
//! A small thread per adapter looks at it every [`WATCH_NS`]: it moves
//! the packets of an adapter nobody drives, and it removes the adapter
//! when the host rescinds the channel or [`stop_all`] asks. Removing it
//! revokes the buffers (NVSP 103 and 106), closes the channel, tears the
//! three GPADLs down and gives the pages back once the host has let go of
//! them (never before). A handle still held by the stack then has no
//! device behind it: it receives nothing and fails to transmit.
//!
//! The host is not trusted. What the state machine refuses too often, a
//! broken ring, a packet too long for [`PACKET_MAX`], a backlog past
//! [`BACKLOG_MAX`] and every send section held for [`STALL_NS`] without a
//! completion each take the adapter out of service with a message: it
//! neither sends nor receives from then on, and its watch thread removes
//! it.
#![forbid(unsafe_code)]

use super::hv_service::relid_of;
use super::{Driver, DriverError, Match, Probe};
use crate::hyperv::bound::{Bound, Registry};
use crate::hyperv::channel::{keep, Channel, ChannelError};
use crate::hyperv::HvError;
use crate::mm::frame_alloc::OwnedFrames;
use crate::sync::SpinLock;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use net::{DeviceError, NetDevice};
use vmbus::ring::RingError;
use vmbus_devices::netvsc::{
    NetBuffers, Netvsc, NetvscConfig, NetvscError, NetvscEvent, NetvscState,
};
use vmbus_devices::{Incoming, Outgoing, Output};

static MATCHES: &[Match] = &[Match::VmBus(vmbus::guid::NETWORK.0)];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "hv-netvsc",
    matches: MATCHES,
    probe,
};

/// Ring pages each way (the header page included).
const RING_PAGES: usize = 16;
/// Bytes of the receive buffer the host writes frames into.
pub const RECV_BYTES: usize = 1 << 20;
/// Bytes of the send buffer whose sections carry frames to the host.
pub const SEND_BYTES: usize = 256 << 10;
/// Received frames kept for the stack at most; later ones are dropped
/// (and counted) until it reads.
pub const RX_QUEUE: usize = 256;
/// Packets waiting for room in the ring at most.
pub const BACKLOG_MAX: usize = 1024;
/// The longest every send section may stay held with no completion.
pub const STALL_NS: u64 = 1_000_000_000;
/// The longest NVSP init and the RNDIS bring-up may take.
const BRINGUP_NS: u64 = 2_000_000_000;
/// How long the bring-up sleeps at most before it looks at the ring.
const RECHECK_NS: u64 = 20_000_000;
/// How long closing may wait for the host.
const CLOSE_NS: u64 = 1_000_000_000;
/// How often an adapter's watch thread looks at it.
pub const WATCH_NS: u64 = 50_000_000;
/// Bytes of the largest packet read from the ring (a transfer-page
/// packet with a thousand ranges fits).
const PACKET_MAX: usize = 8192;
/// Packets read from the ring per call at most (a flooding host cannot
/// keep the caller in it).
const PUMP_MAX: usize = 512;

/// What an adapter has moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames the host delivered.
    pub rx_frames: u64,
    /// Frames dropped because the queue was full.
    pub rx_dropped: u64,
    /// Frames handed to the host.
    pub tx_frames: u64,
    /// Frames the host completed.
    pub tx_completed: u64,
    /// Packets from the host the state machine refused.
    pub refused: u64,
}

/// The two buffers shared with the host.
struct Shared {
    recv: OwnedFrames,
    send: OwnedFrames,
}

/// One adapter.
pub struct Nic {
    name: String,
    /// `None` once closed.
    channel: Option<Arc<Channel>>,
    netvsc: Netvsc,
    out: Output<NetvscEvent>,
    /// Packets the ring had no room for, oldest first.
    backlog: VecDeque<Outgoing>,
    /// `None` once given back (or kept for a host that never let go).
    shared: Option<Shared>,
    /// The GPADLs of the two buffers.
    gpadls: Vec<u32>,
    frames: VecDeque<Vec<u8>>,
    mac: [u8; 6],
    mtu: u32,
    link_up: bool,
    /// Since when every send section is held.
    full_since: Option<u64>,
    counters: Counters,
    /// Why the adapter was taken out of service, if it was.
    failure: Option<String>,
    buf: Box<[u8]>,
}

impl Nic {
    /// Shares the buffers over `channel` and brings the adapter up, as
    /// `name` in messages. On failure everything is given back (the
    /// channel closed).
    pub fn start(channel: Arc<Channel>, name: &str) -> Result<Self, DriverError> {
        let err = |what: &str| DriverError::Device(format!("{name}: {what}"));
        let frames = |bytes: usize| OwnedFrames::new(bytes / 4096, 4096);
        let relid = channel.relid();
        let (recv, send) = match (frames(RECV_BYTES), frames(SEND_BYTES)) {
            (Ok(r), Ok(s)) => (r, s),
            (Err(e), _) | (_, Err(e)) => {
                channel.close(CLOSE_NS);
                return Err(err(&format!("no buffers: {e}")));
            }
        };
        // A buffer whose GPADL the host never answered may be in its use:
        // it is kept, never freed.
        let unanswered =
            |e: &ChannelError| matches!(e, ChannelError::Setup(HvError::Unanswered(_)));
        let recv_gpadl = match channel.share(&recv) {
            Ok(g) => g,
            Err(e) => {
                if unanswered(&e) {
                    keep(recv, relid, "the host never answered their GPADL");
                }
                channel.close(CLOSE_NS);
                return Err(err(&format!("receive buffer not shared: {e}")));
            }
        };
        let send_gpadl = match channel.share(&send) {
            Ok(g) => g,
            Err(e) => {
                if unanswered(&e) {
                    keep(send, relid, "the host never answered their GPADL");
                }
                if !channel.close_with(&[recv_gpadl], CLOSE_NS) {
                    keep(recv, relid, "the host never let go of their GPADL");
                }
                return Err(err(&format!("send buffer not shared: {e}")));
            }
        };
        let mut nic = Self {
            name: name.into(),
            channel: Some(channel),
            netvsc: Netvsc::new(NetvscConfig::new(
                recv_gpadl,
                RECV_BYTES as u32,
                send_gpadl,
                SEND_BYTES as u32,
            )),
            out: Output::new(),
            backlog: VecDeque::new(),
            shared: Some(Shared { recv, send }),
            gpadls: vec![recv_gpadl, send_gpadl],
            frames: VecDeque::new(),
            mac: [0; 6],
            mtu: 0,
            link_up: false,
            full_since: None,
            counters: Counters::default(),
            failure: None,
            buf: vec![0u8; PACKET_MAX].into_boxed_slice(),
        };
        // Dropping `nic` on an error closes the channel and tears down
        // what was shared.
        nic.bring_up().map_err(|e| err(&e))?;
        Ok(nic)
    }

    /// NVSP init and RNDIS, until Ready.
    fn bring_up(&mut self) -> Result<(), String> {
        self.netvsc
            .start(&mut self.out)
            .map_err(|e| format!("{e}"))?;
        let deadline = crate::time::now_ns().saturating_add(BRINGUP_NS);
        loop {
            self.pump()?;
            match self.netvsc.state() {
                NetvscState::Ready if self.mtu != 0 => return Ok(()),
                NetvscState::Failed => return Err("the host broke the bring-up".into()),
                _ => {}
            }
            let now = crate::time::now_ns();
            if now >= deadline {
                return Err(format!(
                    "the host did not finish the bring-up in time (state {:?})",
                    self.netvsc.state()
                ));
            }
            if let Some(c) = &self.channel {
                c.signal()
                    .wait_until(now.saturating_add(RECHECK_NS).min(deadline));
            }
        }
    }

    /// The NVSP version the host agreed to.
    pub fn version(&self) -> u32 {
        self.netvsc.version()
    }

    /// Writes what waits for the ring, reads what the host sent (at most
    /// [`PUMP_MAX`] packets) and acts on the events; an error when the
    /// channel or the host is broken.
    fn pump(&mut self) -> Result<(), String> {
        let Some(channel) = self.channel.clone() else {
            return Err("the channel is closed".into());
        };
        for _ in 0..PUMP_MAX {
            self.flush(&channel)?;
            for event in core::mem::take(&mut self.out.events) {
                self.on_event(event);
            }
            let Some(len) = channel.receive(&mut self.buf).map_err(|e| format!("{e}"))? else {
                break;
            };
            let Some(shared) = self.shared.as_mut() else {
                return Err("the buffers are gone".into());
            };
            let mut bufs = NetBuffers {
                recv: shared.recv.bytes(),
                send: shared.send.bytes_mut(),
            };
            let handled = Incoming::parse(&self.buf[..len])
                .map_err(NetvscError::Wire)
                .and_then(|p| self.netvsc.handle(&p, &mut bufs, &mut self.out));
            if let Err(e) = handled {
                self.counters.refused += 1;
                log::warn!("{}: refused a packet: {e}", self.name);
                if self.netvsc.state() == NetvscState::Failed {
                    return Err(format!("the host broke the protocol ({e})"));
                }
            }
        }
        self.flush(&channel)?;
        for event in core::mem::take(&mut self.out.events) {
            self.on_event(event);
        }
        self.watch_stall()
    }

    /// Writes the backlog to the ring, oldest first, until it is full.
    fn flush(&mut self, channel: &Channel) -> Result<(), String> {
        self.backlog.extend(self.out.sends.drain(..));
        while let Some(packet) = self.backlog.front() {
            let bytes = packet.encode().map_err(|e| format!("{e:?}"))?;
            match channel.send(&bytes) {
                Ok(()) => {
                    self.backlog.pop_front();
                }
                Err(ChannelError::Ring(RingError::Full { .. })) => break,
                Err(e) => return Err(format!("{e}")),
            }
        }
        if self.backlog.len() > BACKLOG_MAX {
            return Err(format!(
                "{} packets wait for a ring the host does not read",
                self.backlog.len()
            ));
        }
        Ok(())
    }

    /// Every send section held, for too long: the host takes frames and
    /// never completes them.
    fn watch_stall(&mut self) -> Result<(), String> {
        if self.netvsc.state() != NetvscState::Ready || self.netvsc.sections_free() > 0 {
            self.full_since = None;
            return Ok(());
        }
        let now = crate::time::now_ns();
        let since = *self.full_since.get_or_insert(now);
        if now.saturating_sub(since) > STALL_NS {
            return Err(format!(
                "all {} send sections held for over {} ms",
                self.netvsc.sections_in_use(),
                STALL_NS / 1_000_000
            ));
        }
        Ok(())
    }

    fn on_event(&mut self, event: NetvscEvent) {
        match event {
            NetvscEvent::Ready { mac, mtu } => {
                self.mac = mac;
                self.mtu = mtu;
            }
            NetvscEvent::LinkUp => {
                if !self.link_up {
                    log::info!("{}: link up", self.name);
                }
                self.link_up = true;
            }
            NetvscEvent::LinkDown => {
                log::info!("{}: link down", self.name);
                self.link_up = false;
            }
            NetvscEvent::Frame(frame) => {
                self.counters.rx_frames += 1;
                if self.frames.len() >= RX_QUEUE {
                    self.counters.rx_dropped += 1;
                } else {
                    self.frames.push_back(frame.data);
                }
            }
            NetvscEvent::SendComplete { ok, .. } => {
                self.counters.tx_completed += 1;
                if !ok {
                    log::warn!("{}: the host failed to send a frame", self.name);
                }
            }
        }
    }

    /// Marks the adapter out of service: it neither sends nor receives
    /// from now on, and its watch thread removes it (closing sleeps, so
    /// it is not done here, under the handle's lock).
    fn take_out(&mut self, why: &str) {
        if self.failure.is_none() {
            log::error!("{}: taken out of service: {why}", self.name);
            self.failure = Some(why.into());
        }
        self.frames.clear();
        self.backlog.clear();
    }

    /// Revokes the buffers, closes the channel and tears the GPADLs down;
    /// the buffers go back only if the host let go of them.
    fn close(&mut self) {
        let Some(channel) = self.channel.take() else {
            return;
        };
        self.netvsc.stop(&mut self.out);
        self.out.events.clear();
        // Best effort: the revokes go if the ring has room.
        let _ = self.flush(&channel);
        self.backlog.clear();
        self.frames.clear();
        let relid = channel.relid();
        if !channel.close_with(&self.gpadls, CLOSE_NS) {
            if let Some(Shared { recv, send }) = self.shared.take() {
                keep(recv, relid, "the host never let go of the receive buffer");
                keep(send, relid, "the host never let go of the send buffer");
            }
        }
        self.shared = None;
    }

    /// Moves packets and turns a broken host into a failure.
    fn service(&mut self) {
        if self.failure.is_none() {
            if let Err(why) = self.pump() {
                self.take_out(&why);
            }
        }
    }
}

impl Drop for Nic {
    fn drop(&mut self) {
        self.close();
    }
}

/// The network service's (or anybody's) handle on an adapter; it has no
/// device behind it once the adapter was removed.
#[derive(Clone)]
pub struct NicHandle {
    nic: Arc<SpinLock<Option<Nic>>>,
    mac: [u8; 6],
    mtu: usize,
}

impl NicHandle {
    /// What the adapter has moved (`None` once removed).
    pub fn counters(&self) -> Option<Counters> {
        self.nic.lock().as_ref().map(|n| n.counters)
    }

    /// Why the adapter was taken out of service (`None` while it works or
    /// once removed).
    pub fn failure(&self) -> Option<String> {
        self.nic.lock().as_ref().and_then(|n| n.failure.clone())
    }

    /// Whether the host says the cable is in (`None` once removed).
    pub fn link_up(&self) -> Option<bool> {
        self.nic.lock().as_ref().map(|n| n.link_up)
    }

    /// Whether the adapter is still there (not removed).
    pub fn present(&self) -> bool {
        self.nic.lock().is_some()
    }
}

impl NetDevice for NicHandle {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        let mut guard = self.nic.lock();
        let Some(nic) = guard.as_mut() else {
            return Ok(None);
        };
        if nic.frames.is_empty() {
            nic.service();
        }
        let Some(frame) = nic.frames.pop_front() else {
            return Ok(None);
        };
        let Some(dst) = buf.get_mut(..frame.len()) else {
            return Err(DeviceError::TooLarge);
        };
        dst.copy_from_slice(&frame);
        Ok(Some(frame.len()))
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        let mut guard = self.nic.lock();
        let Some(nic) = guard.as_mut() else {
            return Err(DeviceError::Failed);
        };
        if nic.failure.is_some() {
            return Err(DeviceError::Failed);
        }
        let mut tries = 0;
        loop {
            let Some(shared) = nic.shared.as_mut() else {
                return Err(DeviceError::Failed);
            };
            match nic.netvsc.send_frame(frame, shared.send.bytes_mut()) {
                Ok(packet) => {
                    nic.counters.tx_frames += 1;
                    nic.out.sends.push(packet);
                    nic.service();
                    return Ok(());
                }
                // Completions may have come: look once, then give up.
                Err(NetvscError::Busy) if tries == 0 => {
                    tries += 1;
                    nic.service();
                }
                Err(NetvscError::Busy) => return Err(DeviceError::Busy),
                Err(NetvscError::FrameTooLarge(_)) => return Err(DeviceError::TooLarge),
                Err(e) => {
                    nic.take_out(&format!("it cannot send: {e}"));
                    return Err(DeviceError::Failed);
                }
            }
        }
    }

    fn can_transmit(&self) -> bool {
        self.nic.lock().as_ref().is_some_and(|n| {
            n.failure.is_none()
                && n.netvsc.state() == NetvscState::Ready
                && n.netvsc.sections_free() > 0
        })
    }
}

/// A bound adapter.
#[derive(Clone)]
struct BoundNic {
    name: String,
    handle: NicHandle,
}

impl Bound for BoundNic {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Moves the packets of an adapter nobody drives; says why it is out
    /// of service, once it is.
    fn service(&self) -> Option<String> {
        if let Some(n) = self.handle.nic.lock().as_mut() {
            n.service();
        }
        self.handle.failure()
    }

    /// Its handles lose the device, and the adapter is closed here
    /// (outside every lock).
    fn remove(self, _host_gone: bool) {
        let nic = self.handle.nic.lock().take();
        drop(nic);
    }
}

static NICS: Registry<BoundNic> = Registry::new("hv-netvsc");

/// The adapters netvsc serves now: their names and handles.
pub fn nics() -> Vec<(String, NicHandle)> {
    NICS.devices()
        .into_iter()
        .map(|b| (b.name, b.handle))
        .collect()
}

/// Whether any adapter's watch thread runs.
pub fn running() -> bool {
    NICS.running()
}

/// Removes every adapter (as a rescind would) and waits up to a second
/// for their watch threads to end; whether they did.
pub fn stop_all() -> bool {
    NICS.stop_all()
}

/// An adapter's watch thread.
fn watch(serial: u64) {
    NICS.watch(serial, WATCH_NS);
}

fn probe(p: &Probe) -> Result<(), DriverError> {
    let relid =
        relid_of(p).ok_or_else(|| DriverError::Device(format!("{}: no relid", p.device.name)))?;
    let connection = crate::hyperv::bus::active()
        .ok_or_else(|| DriverError::Device("no VMBus connection".into()))?;
    let channel = Channel::open(connection, relid, RING_PAGES)
        .map_err(|e| DriverError::Device(format!("relid {relid}: {e}")))?;
    let label = format!("netvsc relid {relid}");
    let nic = Nic::start(channel.clone(), &label)?;
    let (mac, mtu, version) = (nic.mac, nic.mtu as usize, nic.version());
    let handle = NicHandle {
        nic: Arc::new(SpinLock::new(Some(nic))),
        mac,
        mtu,
    };
    let given = handle.clone();
    let name = crate::net::add_device(|_| Box::new(given), channel.signal().clone());
    if let Some(n) = handle.nic.lock().as_mut() {
        n.name = name.clone();
    }
    let bound = BoundNic {
        name: name.clone(),
        handle,
    };
    NICS.add(relid, channel, bound, watch)
        .map_err(DriverError::Device)?;
    log::info!(
        "{name} on {} (relid {relid}, NVSP {version:#x}): MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, MTU {mtu}",
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
