//! A VMBus channel: its two rings in frames of ours, the GPADL over them,
//! the open, and packets in and out (sheet §3.6, §3.7, §4).
//!
//! The rings are one run of frames: the guest→host ring first (header
//! page and data), then the host→guest ring from the downstream page on.
//! The `vmbus` crate's producer and consumer do the ring logic over
//! [`RingPages`] and check everything the host writes; a ring the host
//! breaks is an error for the driver, which closes the channel.
#![forbid(unsafe_code)]

use super::bus::Connection;
use super::HvError;
use crate::mm::frame_alloc::OwnedFrames;
use crate::sync::{Signal, SpinLock};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use vmbus::ring::{RingConsumer, RingError, RingMemory, RingProducer};

/// How long the host may take to answer GPADL_HEADER and OPENCHANNEL.
const ANSWER_NS: u64 = 5_000_000_000;

/// One ring's pages (header then data), reached by physical address, as
/// memory shared with the host is.
pub struct RingPages {
    phys: u64,
    len: usize,
}

impl RingMemory for RingPages {
    fn size(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        if crate::mm::phys::read_allocated(self.phys + offset as u64, buf).is_err() {
            buf.fill(0);
        }
    }

    fn write(&mut self, offset: usize, buf: &[u8]) {
        let _ = crate::mm::phys::write_allocated(self.phys + offset as u64, buf);
    }
}

/// Why a channel operation failed.
#[derive(Debug)]
pub enum ChannelError {
    /// Setting it up failed.
    Setup(HvError),
    /// The host broke a ring.
    Ring(RingError),
    /// The channel was closed.
    Closed,
}

impl core::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Setup(e) => write!(f, "{e}"),
            Self::Ring(e) => write!(f, "ring: {e:?}"),
            Self::Closed => f.write_str("the channel is closed"),
        }
    }
}

/// How long a failed open waits for its GPADL's teardown.
const CLOSE_WAIT_NS: u64 = 1_000_000_000;

/// Bytes of frames given up to a host that may still use them.
static KEPT: AtomicU64 = AtomicU64::new(0);

/// Gives up `frames`, which the host may still use (it never answered
/// the GPADL over them, or never let go of it): they are never freed, and
/// counted in [`kept_bytes`].
pub fn keep(frames: OwnedFrames, relid: u32, why: &str) {
    let bytes = frames.bytes().len() as u64;
    log::warn!("relid {relid}: {} page(s) kept: {why}", bytes / 4096);
    KEPT.fetch_add(bytes, Ordering::Relaxed);
    core::mem::forget(frames);
}

/// Bytes of frames [`keep`] gave up since boot.
pub fn kept_bytes() -> u64 {
    KEPT.load(Ordering::Relaxed)
}

/// Held while a channel opens or closes: one control sequence at a time.
static CONTROL: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// An open channel.
pub struct Channel {
    connection: Arc<Connection>,
    relid: u32,
    connection_id: u32,
    gpadl: u32,
    /// Raised by the channel's event flag.
    signal: Arc<Signal>,
    outbound: SpinLock<RingProducer<RingPages>>,
    inbound: SpinLock<RingConsumer<RingPages>>,
    /// Set by the close: the rings are not touched from then on.
    closed: AtomicBool,
    /// The rings' frames: taken by the close, to be freed or kept.
    frames: SpinLock<Option<OwnedFrames>>,
}

impl Channel {
    /// Opens channel `relid` of `connection` with rings of `ring_pages`
    /// pages each way (header page included).
    pub fn open(
        connection: Arc<Connection>,
        relid: u32,
        ring_pages: usize,
    ) -> Result<Arc<Channel>, ChannelError> {
        let setup = ChannelError::Setup;
        // Not interleaved with another channel's close (a close beside an
        // open on another CPU left the host without the closing
        // channel's GPADL teardown answered: the -smp 4 suite's hostile
        // ring case with the keyboard, mouse and storvsc drivers).
        let _one = CONTROL.lock();
        let offer = connection
            .offer(relid)
            .ok_or(setup(HvError::Missing("an offer for this relid")))?;
        let ring_pages = ring_pages.max(2);
        let frames = OwnedFrames::new(2 * ring_pages, 4096).map_err(|_| setup(HvError::Memory))?;
        let pfns: Vec<u64> = (0..2 * ring_pages as u64)
            .map(|i| (frames.phys() >> 12) + i)
            .collect();
        let bytes = (2 * ring_pages * 4096) as u32;
        let gpadl = match connection.create_gpadl(relid, &pfns, bytes, ANSWER_NS) {
            Ok(g) => g,
            Err(e @ HvError::Unanswered(_)) => {
                keep(frames, relid, "the host never answered their GPADL");
                return Err(setup(e));
            }
            Err(e) => return Err(setup(e)),
        };
        let len = ring_pages * 4096;
        let outbound = RingProducer::new(RingPages {
            phys: frames.phys(),
            len,
        })
        .map_err(ChannelError::Ring)?;
        let inbound = RingConsumer::new(RingPages {
            phys: frames.phys() + len as u64,
            len,
        })
        .map_err(ChannelError::Ring)?;
        let signal = Arc::new(Signal::new());
        connection.watch(relid, signal.clone()).map_err(setup)?;
        if let Err(e) = connection.open_channel(relid, gpadl, ring_pages as u32, ANSWER_NS) {
            connection.unwatch(relid);
            // A host that refused the open lets go of the GPADL; one that
            // never answered may have the channel open on these pages
            // (the client then refuses the teardown: the ring is in use).
            let asked = connection.request(|c| c.teardown_gpadl(gpadl)).is_ok();
            let deadline = crate::time::now_ns().saturating_add(CLOSE_WAIT_NS);
            while asked && !connection.gpadl_gone(gpadl) && crate::time::now_ns() < deadline {
                let _ = crate::task::sched::sleep_ns(1_000_000);
            }
            if !connection.gpadl_gone(gpadl) {
                keep(
                    frames,
                    relid,
                    "the host may still hold the channel open on them",
                );
            }
            return Err(setup(e));
        }
        Ok(Arc::new(Channel {
            connection,
            relid,
            connection_id: offer.connection_id,
            gpadl,
            signal,
            outbound: SpinLock::new(outbound),
            inbound: SpinLock::new(inbound),
            closed: AtomicBool::new(false),
            frames: SpinLock::new(Some(frames)),
        }))
    }

    /// The channel id.
    pub fn relid(&self) -> u32 {
        self.relid
    }

    /// Whether the host has rescinded the channel (the driver stops and
    /// closes it).
    pub fn rescinded(&self) -> bool {
        self.connection.rescinded(self.relid)
    }

    /// What the channel's event flag raises (the driver waits on it).
    pub fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    /// Writes one packet (descriptor included, a multiple of 8 bytes) to
    /// the host and signals it if the ring asks.
    pub fn send(&self, packet: &[u8]) -> Result<(), ChannelError> {
        let mut ring = self.outbound.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(ChannelError::Closed);
        }
        let outcome = ring.write(&[packet]).map_err(ChannelError::Ring)?;
        drop(ring);
        if outcome.signal {
            self.connection.signal_host(self.connection_id);
        }
        Ok(())
    }

    /// Reads the next packet from the host into `buf` (its length, or
    /// `None` if the ring is empty).
    pub fn receive(&self, buf: &mut [u8]) -> Result<Option<usize>, ChannelError> {
        let mut ring = self.inbound.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(ChannelError::Closed);
        }
        let got = ring.read(buf).map_err(ChannelError::Ring)?;
        if ring.commit().map_err(ChannelError::Ring)? {
            self.connection.signal_host(self.connection_id);
        }
        Ok(got)
    }

    /// Shares `frames` (all of them) with the host as a GPADL of this
    /// channel, for a device's own buffers (netvsc's receive and send
    /// buffers); returns its handle. It is torn down by
    /// [`Channel::close_with`]. On `Setup(HvError::Unanswered(_))` the
    /// host may use `frames` after all: the caller must [`keep`] them.
    pub fn share(&self, frames: &OwnedFrames) -> Result<u32, ChannelError> {
        let _one = CONTROL.lock();
        let pages = frames.bytes().len() / 4096;
        let pfns: Vec<u64> = (0..pages as u64)
            .map(|i| (frames.phys() >> 12) + i)
            .collect();
        let bytes = u32::try_from(pages * 4096)
            .map_err(|_| ChannelError::Setup(HvError::Missing("a buffer below 4 GiB")))?;
        self.connection
            .create_gpadl(self.relid, &pfns, bytes, ANSWER_NS)
            .map_err(ChannelError::Setup)
    }

    /// Closes the channel, tears its GPADL down and gives the frames back
    /// (once the host has answered, or after `wait_ns`).
    pub fn close(self: Arc<Self>, wait_ns: u64) {
        self.close_with(&[], wait_ns);
    }

    /// Closes the channel, then tears down its ring GPADL and the GPADLs
    /// `shared` made by [`Channel::share`] (after CLOSECHANNEL, as Linux
    /// does from VMBus 4.0 on), and gives the ring frames back once the
    /// host has answered, or after `wait_ns`. Whether every one of
    /// `shared` was torn down: if not, the host may still use those
    /// pages, and their owner must keep them.
    pub fn close_with(self: Arc<Self>, shared: &[u32], wait_ns: u64) -> bool {
        // One close at a time: two channels closing at once (two drivers
        // stopping together on several CPUs) left the host seeing a
        // CLOSECHANNEL for a channel it no longer held open, and a GPADL
        // never torn down.
        let _one = CONTROL.lock();
        // No send or receive touches the rings from here on (taking each
        // lock once waits out one in progress).
        self.closed.store(true, Ordering::Release);
        drop(self.outbound.lock());
        drop(self.inbound.lock());
        self.connection.unwatch(self.relid);
        let _ = self.connection.request(|c| c.close_channel(self.relid));
        let gpadl = self.gpadl;
        let _ = self.connection.request(|c| c.teardown_gpadl(gpadl));
        for &g in shared {
            let _ = self.connection.request(|c| c.teardown_gpadl(g));
        }
        let gone = |g: &u32| self.connection.gpadl_gone(*g);
        let deadline = crate::time::now_ns().saturating_add(wait_ns);
        while crate::time::now_ns() < deadline && !(gone(&gpadl) && shared.iter().all(gone)) {
            let _ = crate::task::sched::sleep_ns(1_000_000);
        }
        let shared_gone = shared.iter().all(gone);
        for g in shared.iter().filter(|g| !gone(g)) {
            log::warn!(
                "relid {}: GPADL {g} not torn down; its pages must be kept",
                self.relid
            );
        }
        let frames = self.frames.lock().take();
        if !gone(&gpadl) {
            // The host may still use the pages: they are not given back.
            if let Some(f) = frames {
                keep(f, self.relid, "their GPADL was not torn down");
            }
            return shared_gone;
        }
        // The host let go of the rings: their pages go back now, whoever
        // still holds the channel.
        drop(frames);
        // A rescinded channel's relid goes back to the host once nothing
        // of it is used (RELID_RELEASED, sheet §3.8).
        if self.rescinded() && shared_gone {
            let relid = self.relid;
            if let Err(e) = self.connection.request(|c| c.release_channel(relid)) {
                log::warn!("relid {relid}: not released: {e}");
            }
        }
        shared_gone
    }
}
