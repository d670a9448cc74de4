//! The bridge from a [`NetDevice`] to smoltcp's token-based `Device`.
//!
//! Received frames are checked ([`check_frame`]) before smoltcp sees them;
//! each poll reads at most [`RX_BUDGET`] frames, so a flood cannot keep
//! the network thread from its other work.

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::device::{DeviceError, NetDevice};
use crate::frame_check::{check_frame, Verdict, ETHERNET_HEADER_LEN};

/// Frames read from the device in one [`crate::Stack::poll`].
pub const RX_BUDGET: usize = 256;

/// Smallest IP MTU the stack uses: IPv4's minimum datagram (RFC 791 §3.1).
pub const MIN_MTU: usize = 576;
/// Largest IP MTU the stack uses (jumbo frames).
pub const MAX_MTU: usize = 9000;

/// Counters of what went through the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames the device delivered (including the dropped ones below).
    pub rx_frames: u64,
    /// Frames dropped as malformed (see [`crate::Malformation`]); frames the
    /// device refused as too large count here too.
    pub rx_dropped_malformed: u64,
    /// Well-formed frames dropped as not handled (see [`crate::Ignored`]).
    pub rx_dropped_other: u64,
    /// `receive` calls that failed with [`DeviceError::Failed`], or
    /// returned a length past the buffer.
    pub rx_device_errors: u64,
    /// Frames the device accepted for sending.
    pub tx_frames: u64,
    /// Frames not sent: the device was busy, or the frame was over the MTU.
    pub tx_dropped: u64,
    /// `transmit` calls that failed with [`DeviceError::Failed`] or
    /// [`DeviceError::TooLarge`].
    pub tx_device_errors: u64,
    /// UDP and ICMP send queues emptied because the next hop never
    /// answered ARP (see [`crate::STALL_MS`]).
    pub tx_flushed: u64,
}

/// The device with its frame buffers and counters.
pub(crate) struct Port<D> {
    pub dev: D,
    pub stats: Stats,
    /// The IP MTU in use (the device's, clamped to `MIN_MTU..=MAX_MTU`).
    pub mtu: usize,
    pub mac: [u8; 6],
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    rx_budget: usize,
    /// The last poll stopped on the budget with frames possibly waiting.
    pub budget_hit: bool,
}

impl<D: NetDevice> Port<D> {
    pub fn new(dev: D) -> Self {
        let mtu = dev.mtu().clamp(MIN_MTU, MAX_MTU);
        let max_frame = mtu + ETHERNET_HEADER_LEN;
        Self {
            mac: dev.mac(),
            dev,
            stats: Stats::default(),
            mtu,
            // Room past the largest legal frame, so a slightly too long
            // frame reaches `check_frame` and is counted as a giant.
            rx_buf: vec![0; max_frame + 64],
            tx_buf: vec![0; max_frame],
            rx_budget: RX_BUDGET,
            budget_hit: false,
        }
    }

    /// Starts a poll's frame budget.
    pub fn refill(&mut self) {
        self.rx_budget = RX_BUDGET;
        self.budget_hit = false;
    }

    /// Reads frames until one passes the checks; returns its length.
    fn next_frame(&mut self) -> Option<usize> {
        loop {
            if self.rx_budget == 0 {
                self.budget_hit = true;
                return None;
            }
            self.rx_budget -= 1;
            match self.dev.receive(&mut self.rx_buf) {
                Ok(None) => return None,
                Ok(Some(len)) if len > self.rx_buf.len() => {
                    // A driver bug: it claims more than it could copy.
                    self.stats.rx_device_errors += 1;
                    return None;
                }
                Ok(Some(len)) => {
                    self.stats.rx_frames += 1;
                    match check_frame(&self.rx_buf[..len], self.mtu, self.mac) {
                        Verdict::Accept => return Some(len),
                        Verdict::Malformed(_) => self.stats.rx_dropped_malformed += 1,
                        Verdict::Ignored(_) => self.stats.rx_dropped_other += 1,
                    }
                }
                Err(DeviceError::TooLarge) => {
                    self.stats.rx_frames += 1;
                    self.stats.rx_dropped_malformed += 1;
                }
                Err(DeviceError::Busy | DeviceError::Failed) => {
                    // Stop for this poll rather than spin on a failing device.
                    self.stats.rx_device_errors += 1;
                    return None;
                }
            }
        }
    }
}

/// A received frame, borrowed from the port's buffer.
pub(crate) struct RxFrame<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxFrame<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

/// The right to send one frame.
pub(crate) struct TxFrame<'a, D> {
    dev: &'a mut D,
    buf: &'a mut Vec<u8>,
    stats: &'a mut Stats,
}

impl<D: NetDevice> phy::TxToken for TxFrame<'_, D> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let max = self.buf.len();
        if len > max {
            // smoltcp sizes frames from our MTU, so this is not expected;
            // build it aside and drop it.
            let mut spare = vec![0; len];
            let r = f(&mut spare);
            self.stats.tx_dropped += 1;
            return r;
        }
        let frame = &mut self.buf[..len];
        let r = f(frame);
        match self.dev.transmit(frame) {
            Ok(()) => self.stats.tx_frames += 1,
            Err(DeviceError::Busy) => self.stats.tx_dropped += 1,
            Err(DeviceError::Failed | DeviceError::TooLarge) => self.stats.tx_device_errors += 1,
        }
        r
    }
}

impl<D: NetDevice> phy::Device for Port<D> {
    type RxToken<'a>
        = RxFrame<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxFrame<'a, D>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let len = self.next_frame()?;
        let rx = RxFrame {
            frame: &self.rx_buf[..len],
        };
        let tx = TxFrame {
            dev: &mut self.dev,
            buf: &mut self.tx_buf,
            stats: &mut self.stats,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Self::TxToken<'_>> {
        if !self.dev.can_transmit() {
            return None;
        }
        Some(TxFrame {
            dev: &mut self.dev,
            buf: &mut self.tx_buf,
            stats: &mut self.stats,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + ETHERNET_HEADER_LEN;
        caps
    }
}
