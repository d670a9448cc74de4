//! virtio-blk's request queue with its buffers in DMA memory.
//!
//! `virtio-drivers`' non-blocking calls are unsafe because the device
//! reads and writes a request's header, data and status behind the
//! compiler's back until it completes. This module is the one place that
//! keeps them alive and untouched meanwhile. The queue has a few slots,
//! one request each: its header and status in a heap box aligned so that
//! it never straddles a page, and its data in a run of physically
//! contiguous frames (so the device uses both in place and no bounce slot
//! is held by a request that is abandoned). A slot is posted, then
//! completed when the device has used it (its data stays in the slot),
//! then taken, which copies a read's data out and frees the slot. All of
//! it is owned here until the request is taken or the device is reset
//! (dropping the queue resets the device before any buffer is freed: the
//! device is the first field).

use super::dma::KernelHal;
use super::frame_alloc::OwnedFrames;
use super::MmError;
use crate::drivers::virtio::{Rings, Transport};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk, SECTOR_SIZE};

/// What a slot's request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read(usize),
    Write(usize),
}

/// Where a slot stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    /// Given to the device, whose descriptor token this is.
    Posted(u16, Kind),
    /// The device has used it, with this result.
    Done(Kind, Result<(), virtio_drivers::Error>),
}

/// A request's header and status, on one page.
#[repr(C, align(32))]
#[derive(Default)]
struct Header {
    req: BlkReq,
    resp: BlkResp,
}

const _: () = assert!(core::mem::size_of::<Header>() <= 32);

/// One request's buffers.
struct Slot {
    header: Box<Header>,
    data: OwnedFrames,
    state: State,
}

/// A virtio-blk device, its buffers and the requests in flight.
pub struct BlkQueue<T: virtio_drivers::transport::Transport> {
    device: VirtIOBlk<KernelHal, Transport<T>>,
    slots: Vec<Slot>,
    rings: Arc<Rings>,
}

impl<T: virtio_drivers::transport::Transport> BlkQueue<T> {
    /// Sets the device up with `slots` requests of at most `pages` pages.
    pub fn new(
        transport: Transport<T>,
        slots: usize,
        pages: usize,
    ) -> Result<Self, QueueSetupError> {
        let mut all = Vec::with_capacity(slots);
        for _ in 0..slots {
            all.push(Slot {
                header: Box::new(Header::default()),
                data: OwnedFrames::new(pages, 4096).map_err(QueueSetupError::Memory)?,
                state: State::Free,
            });
        }
        let rings = transport.rings();
        let device = VirtIOBlk::new(transport).map_err(QueueSetupError::Device)?;
        Ok(Self {
            device,
            slots: all,
            rings,
        })
    }

    /// The device.
    pub fn device(&self) -> &VirtIOBlk<KernelHal, Transport<T>> {
        &self.device
    }

    /// The device, mutably (for calls that move no buffer of this queue).
    pub fn device_mut(&mut self) -> &mut VirtIOBlk<KernelHal, Transport<T>> {
        &mut self.device
    }

    /// The used index the device last wrote, read from its ring.
    pub fn used_index(&self) -> Option<u16> {
        self.rings.used_index(0)
    }

    /// Bytes one request moves at most.
    pub fn max_transfer(&self) -> usize {
        self.slots.first().map_or(0, |s| s.data.bytes().len())
    }

    /// A slot with no request.
    pub fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(|s| s.state == State::Free)
    }

    /// Requests the device holds (posted, not yet used).
    pub fn posted(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s.state, State::Posted(..)))
            .count()
    }

    /// The slot whose posted request has descriptor token `token`.
    pub fn slot_of(&self, token: u16) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| matches!(s.state, State::Posted(t, _) if t == token))
    }

    /// Whether slot `slot` has been used by the device.
    pub fn is_done(&self, slot: usize) -> bool {
        self.slots
            .get(slot)
            .is_some_and(|s| matches!(s.state, State::Done(..)))
    }

    fn check(&self, slot: usize, len: usize) -> Result<(), virtio_drivers::Error> {
        if self.slots.get(slot).map(|s| s.state) != Some(State::Free) {
            return Err(virtio_drivers::Error::QueueFull);
        }
        if len == 0 || !len.is_multiple_of(SECTOR_SIZE) || len > self.max_transfer() {
            return Err(virtio_drivers::Error::InvalidParam);
        }
        Ok(())
    }

    /// Starts reading `len` bytes from sector `lba` in free slot `slot`;
    /// returns the token.
    pub fn start_read(
        &mut self,
        slot: usize,
        lba: u64,
        len: usize,
    ) -> Result<u16, virtio_drivers::Error> {
        self.check(slot, len)?;
        let s = &mut self.slots[slot];
        let Header { req, resp } = &mut *s.header;
        let buf = &mut s.data.bytes_mut()[..len];
        // SAFETY: `req`, `buf` and `resp` are owned by this slot and not
        // touched until `complete` passes them back, or until the device
        // has been reset (the queue is dropped device first).
        let token = unsafe { self.device.read_blocks_nb(lba as usize, req, buf, resp) }?;
        s.state = State::Posted(token, Kind::Read(len));
        Ok(token)
    }

    /// Starts writing `data` from sector `lba` in free slot `slot`;
    /// returns the token.
    pub fn start_write(
        &mut self,
        slot: usize,
        lba: u64,
        data: &[u8],
    ) -> Result<u16, virtio_drivers::Error> {
        self.check(slot, data.len())?;
        let len = data.len();
        let s = &mut self.slots[slot];
        s.data.bytes_mut()[..len].copy_from_slice(data);
        let Header { req, resp } = &mut *s.header;
        let buf = &s.data.bytes()[..len];
        // SAFETY: as in `start_read`.
        let token = unsafe { self.device.write_blocks_nb(lba as usize, req, buf, resp) }?;
        s.state = State::Posted(token, Kind::Write(len));
        Ok(token)
    }

    /// The token the device's used ring names next, if it has completed
    /// anything.
    pub fn peek_used(&mut self) -> Option<u16> {
        self.device.peek_used()
    }

    /// Completes the request in `slot`, which the device's used ring names
    /// next. Its result is kept for [`Self::take`]; an `Err` here is the
    /// crate refusing the completion (a wrong token leaves the request
    /// posted: the caller resets the device rather than reuse its buffers).
    pub fn complete(&mut self, slot: usize) -> Result<(), virtio_drivers::Error> {
        let Some(s) = self.slots.get_mut(slot) else {
            return Err(virtio_drivers::Error::NotReady);
        };
        let State::Posted(token, kind) = s.state else {
            return Err(virtio_drivers::Error::NotReady);
        };
        let Header { req, resp } = &mut *s.header;
        let result = match kind {
            Kind::Read(len) => {
                let buf = &mut s.data.bytes_mut()[..len];
                // SAFETY: the buffers `start_read` passed, unchanged.
                unsafe { self.device.complete_read_blocks(token, req, buf, resp) }
            }
            Kind::Write(len) => {
                let buf = &s.data.bytes()[..len];
                // SAFETY: the buffers `start_write` passed, unchanged.
                unsafe { self.device.complete_write_blocks(token, req, buf, resp) }
            }
        };
        match result {
            Err(virtio_drivers::Error::WrongToken) => Err(virtio_drivers::Error::WrongToken),
            r => {
                s.state = State::Done(kind, r);
                Ok(())
            }
        }
    }

    /// Takes the completed request in `slot`, freeing the slot: its
    /// result, and for a read its data copied into `read_into` (as long as
    /// the read).
    pub fn take(&mut self, slot: usize, read_into: &mut [u8]) -> Result<(), virtio_drivers::Error> {
        let Some(s) = self.slots.get_mut(slot) else {
            return Err(virtio_drivers::Error::NotReady);
        };
        let State::Done(kind, result) = s.state else {
            return Err(virtio_drivers::Error::NotReady);
        };
        s.state = State::Free;
        if let (Kind::Read(len), Ok(())) = (kind, result) {
            if read_into.len() != len {
                return Err(virtio_drivers::Error::InvalidParam);
            }
            read_into.copy_from_slice(&s.data.bytes()[..len]);
        }
        result
    }
}

/// Why a queue could not be set up.
#[derive(Debug)]
pub enum QueueSetupError {
    /// No frames for the data buffer.
    Memory(MmError),
    /// The crate refused the device.
    Device(virtio_drivers::Error),
}

impl core::fmt::Display for QueueSetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Memory(e) => write!(f, "{e}"),
            Self::Device(e) => write!(f, "{e}"),
        }
    }
}
