//! The SCSI controller back-end, storvsp, over a RAM disk (sheet §6.4,
//! §8.1, §8.3).
//!
//! Every request must ask for a completion; the reply is a COMP packet
//! whose vstor_packet has operation COMPLETE_IO, sized like the request
//! (12-byte header + min(rest, 0x34)). Initialization order is enforced:
//! BEGIN → QUERY_PROTOCOL_VERSION (until accepted) → QUERY_PROPERTIES →
//! END; anything else before that gets 0xC0000184.

use alloc::vec::Vec;
use core::any::Any;

use super::pipe::kind_number;
use super::scsi::{self, srb, Buffer, Outcome};
use super::{Device, DeviceError, DeviceIo, OfferInfo};
use crate::guid::{SCSI_CLASS, SCSI_INSTANCE};
use crate::packet::{InKind, InPacket};
use crate::wire::{put, put_u16, put_u32, u16_at, u32_at, u8_at};

/// Operations (§6.4).
mod op {
    pub const COMPLETE_IO: u32 = 1;
    pub const EXECUTE_SRB: u32 = 3;
    pub const RESET_LUN: u32 = 4;
    pub const RESET_BUS: u32 = 6;
    pub const BEGIN_INITIALIZATION: u32 = 7;
    pub const END_INITIALIZATION: u32 = 8;
    pub const QUERY_PROTOCOL_VERSION: u32 = 9;
    pub const QUERY_PROPERTIES: u32 = 10;
    pub const CREATE_SUB_CHANNELS: u32 = 13;
}

/// NTSTATUS revision mismatch (§6.4).
pub const STATUS_REVISION_MISMATCH: u32 = 0xC000_0059;
/// NTSTATUS invalid device state (§6.4).
pub const STATUS_INVALID_DEVICE_STATE: u32 = 0xC000_0184;
/// NTSTATUS for a failed SRB. The sheet says only that OpenVMM "derives
/// the NTSTATUS from the SRB status"; this value is this host's choice.
pub const STATUS_IO_DEVICE_ERROR: u32 = 0xC000_0185;
/// vstor_packet header bytes before the union (§6.4).
const HEADER: usize = 12;
/// The union's largest size (vmscsi_request with the Win8 extension).
const UNION_MAX: usize = 0x34;
/// max_transfer_bytes in QUERY_PROPERTIES (OpenVMM's value, §6.4).
const MAX_TRANSFER: u32 = 0x40000;

/// Initialization state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorState {
    /// Channel closed.
    Closed,
    /// Waiting for BEGIN_INITIALIZATION.
    AwaitBegin,
    /// Waiting for an acceptable QUERY_PROTOCOL_VERSION.
    AwaitVersion,
    /// Waiting for QUERY_PROPERTIES.
    AwaitProperties,
    /// Waiting for END_INITIALIZATION.
    AwaitEnd,
    /// I/O allowed.
    Ready,
}

/// The storvsp device with its RAM disk (target 0, LUN 0).
#[derive(Debug)]
pub struct Storvsp {
    disk: Vec<u8>,
    state: StorState,
    version: u16,
    accept_win10: bool,
    srbs: u64,
}

impl Storvsp {
    /// A controller with a zeroed disk of `sectors` × 512 bytes.
    pub fn new(sectors: u64) -> Self {
        Storvsp {
            disk: alloc::vec![0u8; (sectors * scsi::SECTOR) as usize],
            state: StorState::Closed,
            version: 0,
            accept_win10: true,
            srbs: 0,
        }
    }

    /// Refuse protocol 6.2 (0x0602) like OpenVMM; accepted by default
    /// because Linux prefers it and real Hyper-V very likely accepts it.
    pub fn refuse_win10(mut self) -> Self {
        self.accept_win10 = false;
        self
    }

    /// The disk contents.
    pub fn disk(&self) -> &[u8] {
        &self.disk
    }

    /// The disk contents, mutably (to prepare a test image).
    pub fn disk_mut(&mut self) -> &mut [u8] {
        &mut self.disk
    }

    /// Initialization state.
    pub fn state(&self) -> StorState {
        self.state
    }

    /// The accepted protocol version (0 before).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// EXECUTE_SRB requests served.
    pub fn srbs(&self) -> u64 {
        self.srbs
    }

    fn accepts(&self, v: u16) -> bool {
        matches!(v, 0x0200 | 0x0402 | 0x0501 | 0x0600) || (v == 0x0602 && self.accept_win10)
    }

    fn execute_srb(
        &mut self,
        io: &mut DeviceIo<'_>,
        p: &InPacket,
        reply: &mut [u8],
    ) -> Result<u32, DeviceError> {
        let req = &p.payload;
        let byte = |o| u8_at(req, HEADER + o).unwrap_or(0);
        let len = u32_at(req, HEADER + 0x0C).unwrap_or(0);
        let range = match &p.kind {
            InKind::GpaDirect(r) if r.len() == 1 && r[0].byte_count >= len => Some(&r[0]),
            InKind::Inband if len == 0 => None,
            _ => return Err(DeviceError::BadRange),
        };
        self.srbs += 1;
        let cdb_len = usize::from(byte(0x08)).min(16);
        let cdb = req
            .get(HEADER + 0x10..HEADER + 0x10 + cdb_len)
            .unwrap_or(&[]);
        let out = if byte(0x05) != 0 || byte(0x06) != 0 || byte(0x07) != 0 {
            Outcome::status(srb::INVALID_LUN)
        } else {
            let buf = Buffer {
                range,
                len,
                data_in: byte(0x0A),
            };
            scsi::execute(&mut self.disk, cdb, &buf, io)?
        };
        let old = self.version < 0x0501;
        // A short request gets a short reply: write only what fits.
        put(reply, HEADER + 0x02, &[out.srb_status, out.scsi_status]);
        put(reply, HEADER + 0x09, &[if old { 0x12 } else { 0x14 }]);
        put_u32(reply, HEADER + 0x0C, out.moved);
        let mut sense = [0u8; 20];
        if let Some(s) = out.sense {
            sense[..s.len()].copy_from_slice(&s);
        }
        let n = if old { 0x12 } else { 0x14 };
        let room = reply.len().saturating_sub(HEADER + 0x10).min(n);
        put(reply, HEADER + 0x10, &sense[..room]);
        Ok(if out.srb_status & 0x3F == srb::SUCCESS {
            0
        } else {
            STATUS_IO_DEVICE_ERROR
        })
    }
}

impl Device for Storvsp {
    fn offer(&self) -> OfferInfo {
        OfferInfo {
            class: SCSI_CLASS,
            instance: SCSI_INSTANCE,
            flags: 0,
            mmio_megabytes: 0,
            pipe_mode: None,
            min_ring_data_pages: 1,
        }
    }

    fn open(&mut self, _io: &mut DeviceIo<'_>, _userdata: &[u8; 120]) -> Result<(), DeviceError> {
        self.state = StorState::AwaitBegin;
        self.version = 0;
        Ok(())
    }

    fn close(&mut self) {
        self.state = StorState::Closed;
    }

    fn packet(&mut self, io: &mut DeviceIo<'_>, p: &InPacket) -> Result<(), DeviceError> {
        if !matches!(p.kind, InKind::Inband | InKind::GpaDirect(_)) {
            return Err(DeviceError::UnexpectedPacket(kind_number(&p.kind)));
        }
        if !p.completion_requested {
            return Err(DeviceError::MissingCompletionFlag);
        }
        let req = &p.payload;
        let operation = u32_at(req, 0).ok_or(DeviceError::TooShort(req.len() as u32))?;
        if req.len() < HEADER {
            return Err(DeviceError::TooShort(req.len() as u32));
        }
        let size = HEADER + (req.len() - HEADER).min(UNION_MAX);
        let mut reply = alloc::vec![0u8; size];
        reply[HEADER..].copy_from_slice(&req[HEADER..size]);
        put_u32(&mut reply, 0, op::COMPLETE_IO);
        use StorState::*;
        let status = match (operation, self.state) {
            (op::BEGIN_INITIALIZATION, AwaitBegin) => {
                self.state = AwaitVersion;
                0
            }
            (op::QUERY_PROTOCOL_VERSION, AwaitVersion) => {
                let v = u16_at(req, HEADER).unwrap_or(0);
                if self.accepts(v) {
                    self.version = v;
                    self.state = AwaitProperties;
                    0
                } else {
                    STATUS_REVISION_MISMATCH
                }
            }
            (op::QUERY_PROPERTIES, AwaitProperties) => {
                self.state = AwaitEnd;
                reply[HEADER..].fill(0);
                put_u16(&mut reply, HEADER + 4, 0);
                put_u32(&mut reply, HEADER + 12, MAX_TRANSFER);
                0
            }
            (op::END_INITIALIZATION, AwaitEnd) => {
                self.state = Ready;
                0
            }
            (op::EXECUTE_SRB, Ready) => self.execute_srb(io, p, &mut reply)?,
            (op::RESET_LUN..=op::RESET_BUS, Ready) => 0,
            (op::CREATE_SUB_CHANNELS, _) => STATUS_INVALID_DEVICE_STATE,
            (o, _) if (op::COMPLETE_IO..=14).contains(&o) => STATUS_INVALID_DEVICE_STATE,
            (o, _) => return Err(DeviceError::UnknownMessage(o)),
        };
        put_u32(&mut reply, 8, status);
        io.complete(p, reply);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
