//! virtio-blk's request queue with its buffers in DMA memory.
//!
//! `virtio-drivers`' non-blocking calls are unsafe because the device
//! reads and writes a request's header, data and status behind the
//! compiler's back until it completes. This module is the one place that
//! keeps them alive and untouched meanwhile: one request at a time, its
//! header and status in a heap box aligned so that it never straddles a
//! page and its data in a run of physically contiguous frames (so the
//! device uses both in place and no bounce slot is held by a request that
//! is abandoned), all owned here until the request is completed or
//! the device is reset (dropping the queue resets the device before any
//! of them is freed: the device is the first field).

use super::dma::KernelHal;
use super::frame_alloc::OwnedFrames;
use super::MmError;
use crate::drivers::virtio::{Rings, Transport};
use alloc::boxed::Box;
use alloc::sync::Arc;
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk, SECTOR_SIZE};

/// What the request in flight is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read(usize),
    Write(usize),
}

/// A request's header and status, on one page.
#[repr(C, align(32))]
#[derive(Default)]
struct Header {
    req: BlkReq,
    resp: BlkResp,
}

const _: () = assert!(core::mem::size_of::<Header>() <= 32);

/// A virtio-blk device, its buffers and the request in flight.
pub struct BlkQueue<T: virtio_drivers::transport::Transport> {
    device: VirtIOBlk<KernelHal, Transport<T>>,
    header: Box<Header>,
    data: OwnedFrames,
    in_flight: Option<(u16, Kind)>,
    rings: Arc<Rings>,
}

impl<T: virtio_drivers::transport::Transport> BlkQueue<T> {
    /// Sets the device up with a data buffer of `pages` pages.
    pub fn new(transport: Transport<T>, pages: usize) -> Result<Self, QueueSetupError> {
        let data = OwnedFrames::new(pages, 4096).map_err(QueueSetupError::Memory)?;
        let header = Box::new(Header::default());
        let rings = transport.rings();
        let device = VirtIOBlk::new(transport).map_err(QueueSetupError::Device)?;
        Ok(Self {
            device,
            header,
            data,
            in_flight: None,
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
        self.data.bytes().len()
    }

    /// The descriptor token of the request in flight.
    pub fn in_flight(&self) -> Option<u16> {
        self.in_flight.map(|(t, _)| t)
    }

    fn check_length(&self, len: usize) -> Result<(), virtio_drivers::Error> {
        if self.in_flight.is_some() {
            return Err(virtio_drivers::Error::QueueFull);
        }
        if len == 0 || !len.is_multiple_of(SECTOR_SIZE) || len > self.max_transfer() {
            return Err(virtio_drivers::Error::InvalidParam);
        }
        Ok(())
    }

    /// Starts reading `len` bytes from sector `lba`; returns the token.
    pub fn start_read(&mut self, lba: u64, len: usize) -> Result<u16, virtio_drivers::Error> {
        self.check_length(len)?;
        let Header { req, resp } = &mut *self.header;
        let buf = &mut self.data.bytes_mut()[..len];
        // SAFETY: `req`, `buf` and `resp` are owned by this queue and not
        // touched until `complete` passes them back, or until the device
        // has been reset (the queue is dropped device first).
        let token = unsafe { self.device.read_blocks_nb(lba as usize, req, buf, resp) }?;
        self.in_flight = Some((token, Kind::Read(len)));
        Ok(token)
    }

    /// Starts writing `data` from sector `lba`; returns the token.
    pub fn start_write(&mut self, lba: u64, data: &[u8]) -> Result<u16, virtio_drivers::Error> {
        self.check_length(data.len())?;
        let len = data.len();
        self.data.bytes_mut()[..len].copy_from_slice(data);
        let Header { req, resp } = &mut *self.header;
        let buf = &self.data.bytes()[..len];
        // SAFETY: as in `start_read`.
        let token = unsafe { self.device.write_blocks_nb(lba as usize, req, buf, resp) }?;
        self.in_flight = Some((token, Kind::Write(len)));
        Ok(token)
    }

    /// The token the device's used ring names next, if it has completed
    /// anything.
    pub fn peek_used(&mut self) -> Option<u16> {
        self.device.peek_used()
    }

    /// Completes the request in flight (the device has used it); a read's
    /// data is copied into `read_into` (as long as the read).
    pub fn complete(&mut self, read_into: &mut [u8]) -> Result<(), virtio_drivers::Error> {
        let Some((token, kind)) = self.in_flight else {
            return Err(virtio_drivers::Error::NotReady);
        };
        let Header { req, resp } = &mut *self.header;
        let result = match kind {
            Kind::Read(len) => {
                let buf = &mut self.data.bytes_mut()[..len];
                // SAFETY: the buffers `start_read` passed, unchanged.
                unsafe { self.device.complete_read_blocks(token, req, buf, resp) }
            }
            Kind::Write(len) => {
                let buf = &self.data.bytes()[..len];
                // SAFETY: the buffers `start_write` passed, unchanged.
                unsafe { self.device.complete_write_blocks(token, req, buf, resp) }
            }
        };
        // A wrong token leaves the request posted: the caller resets the
        // device (drops the queue) rather than reuse its buffers.
        if result != Err(virtio_drivers::Error::WrongToken) {
            self.in_flight = None;
        }
        if let (Kind::Read(len), Ok(())) = (kind, result) {
            if read_into.len() == len {
                read_into.copy_from_slice(&self.data.bytes()[..len]);
            } else {
                return Err(virtio_drivers::Error::InvalidParam);
            }
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
