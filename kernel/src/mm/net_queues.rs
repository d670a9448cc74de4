//! virtio-net's queues with their frames in DMA memory.
//!
//! `virtio-drivers`' safe `VirtIONet` keeps its receive buffers on the
//! heap, which is not physically contiguous here: every buffer that
//! straddles two pages would hold a bounce slot for as long as it is
//! posted. So the kernel drives `VirtIONetRaw` itself: [`RX_SLOTS`]
//! receive buffers of [`SLOT_BYTES`] in one run of physically contiguous
//! frames, posted to the device and re-posted after each frame is copied
//! out, and one transmit buffer in its own frame (header and frame in one
//! descriptor, waited for at most [`SEND_NS`]: the crate's own `send`
//! spins until the device answers). The raw calls are unsafe because the
//! device reads or writes a posted buffer behind the compiler's back; this
//! module is the one place that keeps those buffers alive and untouched
//! while posted.
//!
//! The device is not trusted: a used-ring id that names no posted buffer,
//! a length longer than the buffer, or a frame it does not take in time is
//! [`QueueError::Nonsense`] (the driver takes the device out of service),
//! never a panic, a hang or an out-of-range copy; a frame shorter than its
//! header is an error for that frame alone.

use super::dma::KernelHal;
use super::frame_alloc::OwnedFrames;
use super::MmError;
use crate::drivers::virtio::Transport;
use virtio_drivers::device::net::VirtIONetRaw;

/// Receive buffers posted at once (the queue size asked for).
pub const RX_SLOTS: usize = 16;
/// Bytes of each receive buffer: a virtio-net header and a 1514-byte
/// Ethernet frame fit.
pub const SLOT_BYTES: usize = 2048;
const PAGE: usize = 4096;
/// The longest the device may take to take a frame.
pub const SEND_NS: u64 = 100_000_000;

/// Why a frame could not be moved.
#[derive(Debug)]
pub enum QueueError {
    /// The crate or the device refused the request.
    Device(virtio_drivers::Error),
    /// The device named a buffer it was never given, or said it wrote
    /// more than the buffer holds.
    Nonsense(&'static str),
    /// The frame is longer than the buffer for it.
    TooLong,
}

impl core::fmt::Display for QueueError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Device(e) => write!(f, "{e}"),
            Self::Nonsense(what) => write!(f, "the device answered nonsense: {what}"),
            Self::TooLong => write!(f, "frame longer than its buffer"),
        }
    }
}

/// A virtio-net device with its posted receive buffers.
pub struct NetQueues<T: virtio_drivers::transport::Transport> {
    device: VirtIONetRaw<KernelHal, Transport<T>, RX_SLOTS>,
    /// The receive buffers, `SLOT_BYTES` each. While a slot is posted the
    /// device may write it; it is read only after the device returned it.
    rx: OwnedFrames,
    /// Descriptor token → the slot posted under it.
    slot_of: [Option<usize>; RX_SLOTS],
    /// The transmit buffer: header then frame.
    tx: OwnedFrames,
}

impl<T: virtio_drivers::transport::Transport> NetQueues<T> {
    /// Negotiates with the device behind `transport` and posts every
    /// receive buffer.
    pub fn new(transport: Transport<T>) -> Result<Self, NetSetupError> {
        let rx = OwnedFrames::new(RX_SLOTS * SLOT_BYTES / PAGE, PAGE as u64)
            .map_err(NetSetupError::Memory)?;
        let tx = OwnedFrames::new(1, PAGE as u64).map_err(NetSetupError::Memory)?;
        let device = VirtIONetRaw::new(transport).map_err(NetSetupError::Device)?;
        let mut q = Self {
            device,
            rx,
            slot_of: [None; RX_SLOTS],
            tx,
        };
        for slot in 0..RX_SLOTS {
            q.post(slot).map_err(NetSetupError::Queue)?;
        }
        Ok(q)
    }

    /// The MAC address the device reports.
    pub fn mac(&self) -> [u8; 6] {
        self.device.mac_address()
    }

    /// Whether a frame can be sent now.
    pub fn can_send(&self) -> bool {
        self.device.can_send()
    }

    /// Posts receive slot `slot` to the device.
    fn post(&mut self, slot: usize) -> Result<(), QueueError> {
        let buf = &mut self.rx.bytes_mut()[slot * SLOT_BYTES..(slot + 1) * SLOT_BYTES];
        // Fields drop in order: the device goes before `self.rx`.
        // SAFETY: the slot lies in `self.rx`, which outlives the device;
        // nothing touches it until `receive` gets its token back.
        let token = unsafe { self.device.receive_begin(buf) }.map_err(QueueError::Device)?;
        let entry = self
            .slot_of
            .get_mut(usize::from(token))
            .ok_or(QueueError::Nonsense("a descriptor token past the queue"))?;
        *entry = Some(slot);
        Ok(())
    }

    /// Copies the next received frame (without the virtio header) into
    /// `out`: its length, or `None` if none waits; a frame longer than
    /// `out` is dropped ([`QueueError::TooLong`]).
    pub fn receive(&mut self, out: &mut [u8]) -> Result<Option<usize>, QueueError> {
        let Some(token) = self.device.poll_receive() else {
            return Ok(None);
        };
        let slot = self
            .slot_of
            .get_mut(usize::from(token))
            .and_then(Option::take)
            .ok_or(QueueError::Nonsense(
                "a used id that names no posted buffer",
            ))?;
        let buf = &mut self.rx.bytes_mut()[slot * SLOT_BYTES..(slot + 1) * SLOT_BYTES];
        // SAFETY: `token` is the one `slot` was posted under, and the
        // device has returned it, so the buffer is ours again.
        let done = unsafe { self.device.receive_complete(token, buf) };
        let result = match done {
            Ok((header, len)) if header.saturating_add(len) > SLOT_BYTES => {
                Err(QueueError::Nonsense("a frame longer than its buffer"))
            }
            Ok((_, len)) if len > out.len() => Err(QueueError::TooLong),
            Ok((header, len)) => {
                out[..len].copy_from_slice(&buf[header..header + len]);
                Ok(Some(len))
            }
            Err(e) => Err(QueueError::Device(e)),
        };
        // The slot goes back to the device whatever the frame was.
        self.post(slot)?;
        result
    }

    /// Sends one Ethernet frame and waits until the device has taken it
    /// (at most [`SEND_NS`]: then [`QueueError::Nonsense`], and the frame
    /// stays posted until the device is reset).
    pub fn send(&mut self, frame: &[u8]) -> Result<(), QueueError> {
        let header = self
            .device
            .fill_buffer_header(self.tx.bytes_mut())
            .map_err(QueueError::Device)?;
        let len = header + frame.len();
        if len > PAGE {
            return Err(QueueError::TooLong);
        }
        self.tx.bytes_mut()[header..len].copy_from_slice(frame);
        let buf = &self.tx.bytes()[..len];
        // SAFETY: `self.tx` outlives the device (fields drop in order) and
        // is not touched until the device returns it, or is reset.
        let token = unsafe { self.device.transmit_begin(buf) }.map_err(QueueError::Device)?;
        let deadline = crate::time::now_ns().saturating_add(SEND_NS);
        loop {
            match self.device.poll_transmit() {
                Some(used) if used == token => break,
                Some(_) => return Err(QueueError::Nonsense("a transmit id that was never posted")),
                None if crate::time::now_ns() >= deadline => {
                    return Err(QueueError::Nonsense("a frame was not taken in time"))
                }
                None => core::hint::spin_loop(),
            }
        }
        // SAFETY: the buffer `transmit_begin` was given, unchanged.
        unsafe { self.device.transmit_complete(token, buf) }
            .map(|_| ())
            .map_err(QueueError::Device)
    }
}

/// Why a virtio-net device could not be set up.
#[derive(Debug)]
pub enum NetSetupError {
    /// No frames for the buffers.
    Memory(MmError),
    /// Negotiation or queue set-up failed.
    Device(virtio_drivers::Error),
    /// Posting the receive buffers failed.
    Queue(QueueError),
}

impl core::fmt::Display for NetSetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Memory(e) => write!(f, "buffers: {e}"),
            Self::Device(e) => write!(f, "set-up: {e}"),
            Self::Queue(e) => write!(f, "receive buffers: {e}"),
        }
    }
}
