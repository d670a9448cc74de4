//! Device back-ends and the small trait they implement (sheet §6, §8.3).
//!
//! A device sees only packets: the host's channel code reads the guest →
//! host ring, hands each packet to [`Device::packet`], and writes whatever
//! the device queued through [`DeviceIo`] into the host → guest ring.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::any::Any;

use crate::guid::Guid;
use crate::notes::{Note, Notes};
use crate::packet::{GpaRange, InPacket, OutPacket};
use crate::platform::Platform;
use crate::vmbus::gpadl::Gpadl;

pub mod keyboard;
pub mod mouse;
pub(crate) mod net_responder;
pub(crate) mod net_rx;
pub mod netvsp;
pub(crate) mod pipe;
pub(crate) mod rndis;
pub(crate) mod scsi;
pub mod storvsp;
pub mod synthvid;

/// Index of a device added to a [`crate::Host`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub usize);

/// What a device puts in its OFFERCHANNEL (§3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferInfo {
    /// if_type.
    pub class: Guid,
    /// if_instance.
    pub instance: Guid,
    /// chn_flags (0x0010 named-pipe mode).
    pub flags: u16,
    /// mmio_megabytes (synthvid: framebuffer MiB).
    pub mmio_megabytes: u16,
    /// user_defined[0..4] = pipe_mode (4 = message mode) for pipe offers.
    pub pipe_mode: Option<u32>,
    /// Data pages each ring needs at least; OPENCHANNEL fails below that.
    pub min_ring_data_pages: u32,
}

/// chn_flags bit 0x0010: named-pipe mode (§3.5).
pub const CHN_FLAG_NAMED_PIPE: u16 = 0x0010;

/// Why a device stopped its channel. Each is fatal for that channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError {
    /// A transport form the device does not accept (packet type number).
    UnexpectedPacket(u16),
    /// A request without the completion flag where one is required.
    MissingCompletionFlag,
    /// A message shorter than its type needs.
    TooShort(u32),
    /// A message longer than the device's receive buffer.
    TooLong(u32),
    /// A pipe header with a bad type or size (§4.6).
    BadPipeHeader,
    /// A message type the device does not know.
    UnknownMessage(u32),
    /// A message type not allowed in the current protocol state.
    WrongState(u32),
    /// GPA ranges or buffer offsets that do not cover the data.
    BadRange,
    /// Guest memory outside what the embedder backs.
    Memory(u64),
    /// A completion for a transaction the host never started.
    UnknownCompletion(u64),
    /// A GPADL handle that does not name a usable buffer.
    BadBuffer(u32),
    /// An RNDIS message the device refuses (its message type).
    BadRndis(u32),
}

/// The view of the host a device gets while handling a packet.
pub struct DeviceIo<'a> {
    pub(crate) mem: &'a mut dyn Platform,
    pub(crate) gpadls: &'a [Gpadl],
    pub(crate) relid: u32,
    pub(crate) out: &'a mut VecDeque<OutPacket>,
    pub(crate) notes: &'a mut Notes,
}

impl DeviceIo<'_> {
    /// Queues a packet for the host → guest ring.
    pub fn send(&mut self, p: OutPacket) {
        self.out.push_back(p);
    }

    /// Queues an in-band packet with trans_id 0 and no completion request.
    pub fn send_inband(&mut self, payload: Vec<u8>) {
        self.send(OutPacket::inband(0, payload));
    }

    /// Completes `req` with `payload` if it asked for a completion and its
    /// trans_id is not 0: Hyper-V leaves id-0 requests unanswered (§4.3).
    /// Returns true if a completion was queued.
    pub fn complete(&mut self, req: &InPacket, payload: Vec<u8>) -> bool {
        if !req.completion_requested {
            return false;
        }
        if req.trans_id == 0 {
            self.notes.push(Note::ZeroTransId { relid: self.relid });
            return false;
        }
        self.send(OutPacket::completion(req.trans_id, payload));
        true
    }

    /// Packets queued and not yet written to the ring.
    pub fn queued(&self) -> usize {
        self.out.len()
    }

    /// Reads guest memory.
    pub fn read_guest(&self, gpa: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.mem
            .read_guest(gpa, buf)
            .map_err(|e| DeviceError::Memory(e.gpa))
    }

    /// Writes guest memory.
    pub fn write_guest(&mut self, gpa: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.mem
            .write_guest(gpa, data)
            .map_err(|e| DeviceError::Memory(e.gpa))
    }

    fn gpadl(&self, handle: u32) -> Result<&Gpadl, DeviceError> {
        self.gpadls
            .iter()
            .find(|g| g.handle == handle && g.relid == self.relid)
            .ok_or(DeviceError::BadBuffer(handle))
    }

    /// Length in bytes of this channel's GPADL `handle`.
    pub fn gpadl_len(&self, handle: u32) -> Result<u64, DeviceError> {
        Ok(self.gpadl(handle)?.len())
    }

    /// Reads bytes `off..` of GPADL `handle`.
    pub fn read_gpadl(&self, handle: u32, off: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let g = self.gpadl(handle)?;
        g.read(&*self.mem, off, buf).ok_or(DeviceError::BadRange)
    }

    /// Writes bytes `off..` of GPADL `handle`.
    pub fn write_gpadl(&mut self, handle: u32, off: u64, data: &[u8]) -> Result<(), DeviceError> {
        let g = self
            .gpadls
            .iter()
            .find(|g| g.handle == handle && g.relid == self.relid)
            .ok_or(DeviceError::BadBuffer(handle))?;
        g.write(self.mem, off, data).ok_or(DeviceError::BadRange)
    }

    /// Reads bytes `off..` of a GPA-direct range.
    pub fn read_range(&self, r: &GpaRange, off: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let mut done = 0usize;
        while done < buf.len() {
            let (gpa, n) = locate(r, off + done as u64, buf.len() - done)?;
            self.read_guest(gpa, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    /// Writes bytes `off..` of a GPA-direct range.
    pub fn write_range(&mut self, r: &GpaRange, off: u64, data: &[u8]) -> Result<(), DeviceError> {
        let mut done = 0usize;
        while done < data.len() {
            let (gpa, n) = locate(r, off + done as u64, data.len() - done)?;
            self.write_guest(gpa, &data[done..done + n])?;
            done += n;
        }
        Ok(())
    }
}

/// GPA of byte `off` of range `r` and how many of `want` bytes follow it
/// in the same page.
fn locate(r: &GpaRange, off: u64, want: usize) -> Result<(u64, usize), DeviceError> {
    if off >= u64::from(r.byte_count) {
        return Err(DeviceError::BadRange);
    }
    let abs = u64::from(r.byte_offset) + off;
    let pfn = *r
        .pfns
        .get((abs / 4096) as usize)
        .ok_or(DeviceError::BadRange)?;
    let left_in_range = u64::from(r.byte_count) - off;
    let n = (4096 - abs % 4096).min(left_in_range).min(want as u64) as usize;
    Ok((pfn.wrapping_mul(4096).wrapping_add(abs % 4096), n))
}

/// A VMBus device back-end.
pub trait Device: Any + Send {
    /// The offer this device makes.
    fn offer(&self) -> OfferInfo;

    /// The guest opened the channel; `userdata` is OPENCHANNEL's 120 bytes.
    /// An error makes OPENCHANNEL_RESULT fail.
    fn open(&mut self, io: &mut DeviceIo<'_>, userdata: &[u8; 120]) -> Result<(), DeviceError>;

    /// The channel was closed (CLOSECHANNEL, rescind, UNLOAD, re-contact):
    /// return to the state before open.
    fn close(&mut self);

    /// One packet from the guest. An error stops the channel.
    fn packet(&mut self, io: &mut DeviceIo<'_>, p: &InPacket) -> Result<(), DeviceError>;

    /// Lets the device send what tests injected (key presses, frames).
    fn poll(&mut self, _io: &mut DeviceIo<'_>) -> Result<(), DeviceError> {
        Ok(())
    }

    /// For downcasting to the concrete device.
    fn as_any(&self) -> &dyn Any;

    /// For downcasting to the concrete device.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
