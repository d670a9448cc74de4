//! The 64-byte vstor packet (§6.4) and its init-phase unions.

use alloc::vec::Vec;

use crate::wire::{self, Put, WireError};

/// vstor_packet size on Win8+ hosts.
pub const VSTOR_PACKET_LEN: usize = 64;
/// Size of the header before the union.
pub const VSTOR_HEADER_LEN: usize = 12;
/// flags bit 0: REQUEST_COMPLETION (Linux sets it on every request).
pub const VSTOR_FLAG_REQUEST_COMPLETION: u32 = 1;

/// COMPLETE_IO: every completion carries it.
pub const OP_COMPLETE_IO: u32 = 1;
/// REMOVE_DEVICE: host asks for a rescan.
pub const OP_REMOVE_DEVICE: u32 = 2;
/// EXECUTE_SRB: a SCSI request.
pub const OP_EXECUTE_SRB: u32 = 3;
/// BEGIN_INITIALIZATION.
pub const OP_BEGIN_INITIALIZATION: u32 = 7;
/// END_INITIALIZATION.
pub const OP_END_INITIALIZATION: u32 = 8;
/// QUERY_PROTOCOL_VERSION.
pub const OP_QUERY_PROTOCOL_VERSION: u32 = 9;
/// QUERY_PROPERTIES.
pub const OP_QUERY_PROPERTIES: u32 = 10;
/// ENUMERATE_BUS: host asks for a rescan (hot-plug).
pub const OP_ENUMERATE_BUS: u32 = 11;
/// FCHBA_DATA (ignored).
pub const OP_FCHBA_DATA: u32 = 12;
/// EVENT_NOTIFICATION (OpenVMM only; ignored).
pub const OP_EVENT_NOTIFICATION: u32 = 14;

/// A vstor packet: header and the 52-byte union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VstorPacket {
    /// Operation (OP_*).
    pub operation: u32,
    /// Flags (bit 0 request completion).
    pub flags: u32,
    /// NTSTATUS from the host (0 success).
    pub status: u32,
    /// The union: SRB, protocol version, or channel properties.
    pub body: [u8; 52],
}

impl VstorPacket {
    /// A request with the completion flag and a zero union.
    pub fn request(operation: u32) -> Self {
        Self {
            operation,
            flags: VSTOR_FLAG_REQUEST_COMPLETION,
            status: 0,
            body: [0; 52],
        }
    }

    /// QUERY_PROTOCOL_VERSION for `version` (major << 8 | minor), revision 0.
    pub fn query_version(version: u16) -> Self {
        let mut p = Self::request(OP_QUERY_PROTOCOL_VERSION);
        p.body[..2].copy_from_slice(&version.to_le_bytes());
        p
    }

    /// The 64-byte encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VSTOR_PACKET_LEN);
        out.put_u32(self.operation);
        out.put_u32(self.flags);
        out.put_u32(self.status);
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes a packet. The union is zero-filled past the end of a short
    /// packet (the host pads replies that way, §6.4); fewer than the 12
    /// header bytes is an error. Extra trailing bytes are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let operation = wire::u32_at(bytes, 0)?;
        let flags = wire::u32_at(bytes, 4)?;
        let status = wire::u32_at(bytes, 8)?;
        let mut body = [0u8; 52];
        let avail = &bytes[VSTOR_HEADER_LEN..bytes.len().min(VSTOR_PACKET_LEN)];
        body[..avail.len()].copy_from_slice(avail);
        Ok(Self {
            operation,
            flags,
            status,
            body,
        })
    }

    /// The protocol version in a QUERY_PROTOCOL_VERSION union.
    pub fn version(&self) -> u16 {
        u16::from_le_bytes([self.body[0], self.body[1]])
    }

    /// The QUERY_PROPERTIES union.
    pub fn properties(&self) -> ChannelProperties {
        let b = &self.body;
        ChannelProperties {
            max_channel_count: u16::from_le_bytes([b[4], b[5]]),
            flags: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            max_transfer_bytes: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        }
    }
}

/// QUERY_PROPERTIES reply fields (24 bytes at +0x0C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelProperties {
    /// max_channel_count.
    pub max_channel_count: u16,
    /// flags (bit 0 multi-channel).
    pub flags: u32,
    /// Largest transfer per request (OpenVMM 0x40000).
    pub max_transfer_bytes: u32,
}
