//! What the Hyper-V input drivers share: one VMBus channel served by a
//! thread of its own.
//!
//! A driver names its protocol (a `vmbus-devices` state machine behind
//! [`Protocol`]) and keeps a static [`Served`]. Probing opens the channel
//! and starts the thread; the thread sends what the state machine asks
//! for, hands its events to the driver, and sleeps on the channel's event
//! flag between packets. A host that breaks the protocol or the ring stops
//! the thread with a message; so do a rescind of the channel and
//! [`Served::stop`]. Either way the channel is closed and its pages go
//! back (a rescinded channel's relid too).
#![forbid(unsafe_code)]

use super::{DriverError, Probe};
use crate::hyperv::channel::{Channel, ChannelError};
use crate::sync::SpinLock;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use vmbus::ring::RingError;
use vmbus_devices::{Incoming, Output};

/// Ring pages each way (the header page included).
const RING_PAGES: usize = 4;
/// Bytes of the largest packet read at once.
const PACKET_MAX: usize = 512;
/// How long the thread sleeps without a signal.
const IDLE_NS: u64 = 100_000_000;
/// How long closing may wait for the host.
const CLOSE_NS: u64 = 1_000_000_000;

/// A device protocol the service thread runs.
pub trait Protocol {
    /// What the state machine reports.
    type Event;
    /// Sends the first request.
    fn start(&mut self, out: &mut Output<Self::Event>) -> Result<(), String>;
    /// Consumes one packet from the host.
    fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<Self::Event>,
    ) -> Result<(), String>;
    /// Whether the state machine has given up on the host.
    fn failed(&self) -> bool;
    /// Acts on one event; true when it means the device is up.
    fn deliver(&mut self, event: Self::Event) -> bool;
    /// Runs once per turn of the service loop, before the sends go out.
    fn tick(&mut self, _out: &mut Output<Self::Event>) {}
    /// How long the thread sleeps without a signal.
    fn idle_ns(&self) -> u64 {
        IDLE_NS
    }
    /// The outbound ring had no room for a packet the protocol asked to
    /// send: true if it can do without it (the packet is dropped and the
    /// service goes on), false to stop.
    fn unsent(&mut self) -> bool {
        false
    }
    /// The channel is about to close.
    fn stopped(&mut self) {}
}

/// One served channel: which, and how it stands.
pub struct Served {
    /// The driver's name, for messages and the thread.
    pub name: &'static str,
    channel: SpinLock<Option<Arc<Channel>>>,
    running: AtomicBool,
    ready: AtomicBool,
    events: AtomicU64,
    refused: AtomicU64,
    starts: AtomicU64,
    /// Why the thread last stopped.
    stopped: SpinLock<Option<String>>,
}

impl Served {
    /// Nothing served yet.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            channel: SpinLock::new(None),
            running: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            events: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            starts: AtomicU64::new(0),
            stopped: SpinLock::new(None),
        }
    }

    /// Packets from the host the protocol refused, since boot.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Channels opened for the service since boot.
    pub fn starts(&self) -> u64 {
        self.starts.load(Ordering::Relaxed)
    }

    /// Why the service thread last stopped ("stopped" when asked to).
    pub fn last_stop(&self) -> Option<String> {
        self.stopped.lock().clone()
    }

    /// Whether the device is up (the host accepted the protocol).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Whether the service thread runs.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Events delivered since boot.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Opens the channel of the VMBus node `p` and starts `thread`, whose
    /// body calls [`Served::run`].
    pub fn probe(&'static self, p: &Probe, thread: fn(u64)) -> Result<(), DriverError> {
        let relid = relid_of(p)
            .ok_or_else(|| DriverError::Device(format!("{}: no relid", p.device.name)))?;
        let connection = crate::hyperv::bus::active()
            .ok_or_else(|| DriverError::Device("no VMBus connection".into()))?;
        if self.channel.lock().is_some() {
            return Err(DriverError::Device(format!(
                "{}: one device is already served",
                self.name
            )));
        }
        let channel = Channel::open(connection, relid, RING_PAGES)
            .map_err(|e| DriverError::Device(format!("relid {relid}: {e}")))?;
        *self.channel.lock() = Some(channel.clone());
        *self.stopped.lock() = None;
        self.starts.fetch_add(1, Ordering::Relaxed);
        self.running.store(true, Ordering::Release);
        let started = crate::task::Thread::new(
            self.name,
            None,
            crate::task::Entry::Kernel(thread, 0),
            crate::task::priority::HIGH,
        )
        .and_then(crate::task::sched::start);
        if started.is_err() {
            *self.channel.lock() = None;
            self.running.store(false, Ordering::Release);
            channel.close(CLOSE_NS);
            return Err(DriverError::Device(format!("{}: no thread", self.name)));
        }
        log::info!("{}: relid {relid} open", self.name);
        Ok(())
    }

    /// Stops the service (its thread closes the channel).
    pub fn stop(&self) {
        if let Some(c) = self.channel.lock().take() {
            c.signal().raise();
        }
    }

    /// The service thread's body: runs `protocol` on the channel until it
    /// is stopped or the host breaks it, then closes the channel.
    pub fn run<P: Protocol>(&self, mut protocol: P) {
        let Some(channel) = self.channel.lock().clone() else {
            self.running.store(false, Ordering::Release);
            return;
        };
        let why = self.serve(&channel, &mut protocol);
        protocol.stopped();
        log::info!("{}: relid {} stops: {why}", self.name, channel.relid());
        *self.stopped.lock() = Some(why);
        {
            let mut served = self.channel.lock();
            if served.as_ref().is_some_and(|c| Arc::ptr_eq(c, &channel)) {
                *served = None;
            }
        }
        self.ready.store(false, Ordering::Release);
        channel.close(CLOSE_NS);
        self.running.store(false, Ordering::Release);
    }

    fn serve<P: Protocol>(&self, channel: &Arc<Channel>, protocol: &mut P) -> String {
        let mut out = Output::new();
        if let Err(e) = protocol.start(&mut out) {
            return e;
        }
        let mut buf = [0u8; PACKET_MAX];
        loop {
            protocol.tick(&mut out);
            for packet in out.sends.drain(..).collect::<Vec<_>>() {
                let bytes = match packet.encode() {
                    Ok(b) => b,
                    Err(e) => return format!("{e:?}"),
                };
                match channel.send(&bytes) {
                    Ok(()) => {}
                    Err(ChannelError::Ring(RingError::Full { .. })) if protocol.unsent() => {}
                    Err(e) => return format!("{e}"),
                }
            }
            for event in out.events.drain(..) {
                if protocol.deliver(event) {
                    self.ready.store(true, Ordering::Release);
                    log::info!("{}: the host accepted the protocol", self.name);
                } else {
                    self.events.fetch_add(1, Ordering::Relaxed);
                }
            }
            let still_served = self
                .channel
                .lock()
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(c, channel));
            if !still_served {
                return "stopped".into();
            }
            if channel.rescinded() {
                return "the host rescinded the channel".into();
            }
            match channel.receive(&mut buf) {
                Ok(Some(len)) => {
                    let handled = Incoming::parse(&buf[..len])
                        .map_err(|e| format!("{e:?}"))
                        .and_then(|p| protocol.handle(&p, &mut out));
                    if let Err(e) = handled {
                        self.refused.fetch_add(1, Ordering::Relaxed);
                        log::warn!("{}: refused a packet: {e}", self.name);
                        if protocol.failed() {
                            return format!("the host broke the protocol ({e})");
                        }
                    }
                }
                Ok(None) => {
                    let deadline = crate::time::now_ns().saturating_add(protocol.idle_ns());
                    channel.signal().wait_until(deadline);
                }
                Err(e) => return format!("{e}"),
            }
        }
    }
}

/// The relid a VMBus device node names (`relid-<n>`).
pub fn relid_of(p: &Probe) -> Option<u32> {
    p.device.name.strip_prefix("relid-")?.parse().ok()
}
