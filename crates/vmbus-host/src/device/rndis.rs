//! RNDIS inside netvsp: control messages and data packets (sheet §6.5).
//!
//! Offsets inside QUERY/SET/PACKET bodies count from the body start, 8
//! bytes after the message start.

use alloc::vec::Vec;

use super::DeviceError;
use crate::wire::{u32_at, Builder};

/// Message types (§6.5).
pub(crate) mod ty {
    pub const PACKET: u32 = 0x0000_0001;
    pub const INITIALIZE: u32 = 0x0000_0002;
    pub const HALT: u32 = 0x0000_0003;
    pub const QUERY: u32 = 0x0000_0004;
    pub const SET: u32 = 0x0000_0005;
    pub const INDICATE_STATUS: u32 = 0x0000_0007;
    pub const KEEPALIVE: u32 = 0x0000_0008;
    pub const COMPLETION: u32 = 0x8000_0000;
}

/// OIDs (§6.5).
pub(crate) mod oid {
    pub const PERMANENT_ADDRESS: u32 = 0x0101_0101;
    pub const CURRENT_ADDRESS: u32 = 0x0101_0102;
    pub const CURRENT_PACKET_FILTER: u32 = 0x0001_010E;
    pub const MAXIMUM_FRAME_SIZE: u32 = 0x0001_0106;
    pub const LINK_SPEED: u32 = 0x0001_0107;
    pub const MEDIA_CONNECT_STATUS: u32 = 0x0001_0114;
}

/// RNDIS_STATUS_NOT_SUPPORTED for unknown OIDs (NDIS value; the sheet
/// names only success and 0x00010001).
const STATUS_NOT_SUPPORTED: u32 = 0xC000_00BB;
/// Media connect / disconnect indications (§6.5).
pub(crate) const STATUS_MEDIA_CONNECT: u32 = 0x4001_000B;
pub(crate) const STATUS_MEDIA_DISCONNECT: u32 = 0x4001_000C;

/// What one guest RNDIS message produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// A control message for the guest (channel_type 1).
    Control(Vec<u8>),
    /// An Ethernet frame the guest transmitted.
    Frame(Vec<u8>),
}

/// RNDIS device state.
#[derive(Debug, Clone)]
pub(crate) struct Rndis {
    pub initialized: bool,
    pub filter: u32,
    pub mac: [u8; 6],
    /// Largest Ethernet frame without FCS (NDIS_CONFIG mtu).
    pub frame_size: u32,
    pub link_up: bool,
}

impl Rndis {
    pub(crate) fn new(mac: [u8; 6]) -> Self {
        Rndis {
            initialized: false,
            filter: 0,
            mac,
            frame_size: 1514,
            link_up: true,
        }
    }

    /// Handles every message concatenated in `b`.
    pub(crate) fn handle(&mut self, b: &[u8], out: &mut Vec<Output>) -> Result<(), DeviceError> {
        let mut off = 0usize;
        while off < b.len() {
            let t = u32_at(b, off).ok_or(DeviceError::BadRndis(0))?;
            let len = u32_at(b, off + 4).ok_or(DeviceError::BadRndis(t))? as usize;
            if len < 8 || off + len > b.len() {
                return Err(DeviceError::BadRndis(t));
            }
            self.one(t, &b[off..off + len], out)?;
            off += len;
        }
        Ok(())
    }

    fn one(&mut self, t: u32, m: &[u8], out: &mut Vec<Output>) -> Result<(), DeviceError> {
        let f = |o| u32_at(m, o).ok_or(DeviceError::BadRndis(t));
        if t != ty::INITIALIZE && !self.initialized {
            // INITIALIZE_MSG must come first (§6.5).
            return Err(DeviceError::BadRndis(t));
        }
        match t {
            ty::INITIALIZE => {
                let request_id = f(8)?;
                self.initialized = true;
                out.push(Output::Control(
                    Builder::new()
                        .u32(ty::INITIALIZE | ty::COMPLETION)
                        .u32(52)
                        .u32(request_id)
                        .u32(0) // status
                        .u32(1) // major
                        .u32(0) // minor
                        .u32(1) // device_flags: connectionless
                        .u32(0) // medium 802.3
                        .u32(8) // max_packets_per_message
                        .u32(0xEFFF_FFFF) // max_transfer_size
                        .u32(3) // packet_alignment_factor
                        .u32(0)
                        .u32(0)
                        .finish(),
                ));
            }
            ty::QUERY => {
                let (request_id, o) = (f(8)?, f(12)?);
                let (status, data) = self.query(o);
                out.push(Output::Control(
                    Builder::new()
                        .u32(ty::QUERY | ty::COMPLETION)
                        .u32(24 + data.len() as u32)
                        .u32(request_id)
                        .u32(status)
                        .u32(data.len() as u32)
                        .u32(if data.is_empty() { 0 } else { 16 })
                        .bytes(&data)
                        .finish(),
                ));
            }
            ty::SET => {
                let (request_id, o, len, at) = (f(8)?, f(12)?, f(16)? as usize, f(20)? as usize);
                let data = m
                    .get(8 + at..8 + at + len)
                    .ok_or(DeviceError::BadRndis(t))?;
                let status = match o {
                    oid::CURRENT_PACKET_FILTER if len >= 4 => {
                        self.filter = u32_at(data, 0).unwrap_or(0);
                        0
                    }
                    _ => STATUS_NOT_SUPPORTED,
                };
                out.push(Output::Control(
                    Builder::new()
                        .u32(ty::SET | ty::COMPLETION)
                        .u32(16)
                        .u32(request_id)
                        .u32(status)
                        .finish(),
                ));
            }
            ty::KEEPALIVE => out.push(Output::Control(
                Builder::new()
                    .u32(ty::KEEPALIVE | ty::COMPLETION)
                    .u32(16)
                    .u32(f(8)?)
                    .u32(0)
                    .finish(),
            )),
            ty::HALT => {}
            ty::PACKET => {
                let (doff, dlen) = (f(8)? as usize, f(12)? as usize);
                // OOB data and a VC handle are refused (§6.5); PPI is fine.
                if f(16)? != 0 || f(20)? != 0 || f(24)? != 0 || f(36)? != 0 {
                    return Err(DeviceError::BadRndis(t));
                }
                let frame = m
                    .get(8 + doff..8 + doff + dlen)
                    .ok_or(DeviceError::BadRndis(t))?;
                if frame.len() < 14 {
                    return Err(DeviceError::BadRndis(t));
                }
                out.push(Output::Frame(frame.to_vec()));
            }
            // RESET, INDICATE_STATUS, anything else from the guest stops
            // the device, as in OpenVMM.
            other => return Err(DeviceError::BadRndis(other)),
        }
        Ok(())
    }

    fn query(&self, o: u32) -> (u32, Vec<u8>) {
        let u32v = |v: u32| v.to_le_bytes().to_vec();
        match o {
            oid::PERMANENT_ADDRESS | oid::CURRENT_ADDRESS => (0, self.mac.to_vec()),
            oid::MAXIMUM_FRAME_SIZE => (0, u32v(self.frame_size - 14)),
            // 10 Gbit/s in units of 100 bit/s.
            oid::LINK_SPEED => (0, u32v(100_000_000)),
            oid::MEDIA_CONNECT_STATUS => (0, u32v(u32::from(!self.link_up))),
            oid::CURRENT_PACKET_FILTER => (0, u32v(self.filter)),
            _ => (STATUS_NOT_SUPPORTED, Vec::new()),
        }
    }

    /// True if the packet filter lets a frame with destination `dst` in.
    pub(crate) fn accepts(&self, dst: &[u8]) -> bool {
        if self.filter & 0x20 != 0 {
            return true; // promiscuous
        }
        match dst {
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] => self.filter & 0x8 != 0,
            [b, ..] if b & 1 != 0 => self.filter & 0x6 != 0,
            d => d == self.mac && self.filter & 0x1 != 0,
        }
    }
}

/// A PACKET_MSG carrying `frame`: data right after the 36-byte body.
pub(crate) fn packet_msg(frame: &[u8]) -> Vec<u8> {
    Builder::new()
        .u32(ty::PACKET)
        .u32(44 + frame.len() as u32)
        .u32(36)
        .u32(frame.len() as u32)
        .zeros(28)
        .bytes(frame)
        .finish()
}

/// An INDICATE_STATUS_MSG with no status buffer.
pub(crate) fn indicate_status(status: u32) -> Vec<u8> {
    Builder::new()
        .u32(ty::INDICATE_STATUS)
        .u32(20)
        .u32(status)
        .u32(0)
        .u32(0)
        .finish()
}
