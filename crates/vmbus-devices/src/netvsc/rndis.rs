//! RNDIS control messages carried inside NVSP (§6.5, vectors §9.6).

use alloc::vec::Vec;

use super::NetvscError;
use crate::wire::{self, Put};

/// PACKET_MSG.
pub const RNDIS_PACKET_MSG: u32 = 0x0000_0001;
/// INITIALIZE_MSG.
pub const RNDIS_INITIALIZE_MSG: u32 = 0x0000_0002;
/// INITIALIZE_CMPLT.
pub const RNDIS_INITIALIZE_CMPLT: u32 = 0x8000_0002;
/// HALT_MSG.
pub const RNDIS_HALT_MSG: u32 = 0x0000_0003;
/// QUERY_MSG.
pub const RNDIS_QUERY_MSG: u32 = 0x0000_0004;
/// QUERY_CMPLT.
pub const RNDIS_QUERY_CMPLT: u32 = 0x8000_0004;
/// SET_MSG.
pub const RNDIS_SET_MSG: u32 = 0x0000_0005;
/// SET_CMPLT.
pub const RNDIS_SET_CMPLT: u32 = 0x8000_0005;
/// INDICATE_STATUS_MSG.
pub const RNDIS_INDICATE_STATUS_MSG: u32 = 0x0000_0007;
/// KEEPALIVE_MSG.
pub const RNDIS_KEEPALIVE_MSG: u32 = 0x0000_0008;
/// KEEPALIVE_CMPLT.
pub const RNDIS_KEEPALIVE_CMPLT: u32 = 0x8000_0008;

/// RNDIS status success.
pub const RNDIS_STATUS_SUCCESS: u32 = 0;
/// INDICATE_STATUS: media connected.
pub const RNDIS_STATUS_MEDIA_CONNECT: u32 = 0x4001_000B;
/// INDICATE_STATUS: media disconnected.
pub const RNDIS_STATUS_MEDIA_DISCONNECT: u32 = 0x4001_000C;
/// INDICATE_STATUS: the NIC now sits on another network (Linux
/// `RNDIS_STATUS_NETWORK_CHANGE`; not in the sheet).
pub const RNDIS_STATUS_NETWORK_CHANGE: u32 = 0x4001_0018;

/// OID_802_3_PERMANENT_ADDRESS (6-byte MAC).
pub const OID_802_3_PERMANENT_ADDRESS: u32 = 0x0101_0101;
/// OID_802_3_CURRENT_ADDRESS.
pub const OID_802_3_CURRENT_ADDRESS: u32 = 0x0101_0102;
/// OID_GEN_MAXIMUM_FRAME_SIZE (u32, payload bytes without the header).
pub const OID_GEN_MAXIMUM_FRAME_SIZE: u32 = 0x0001_0106;
/// OID_GEN_LINK_SPEED.
pub const OID_GEN_LINK_SPEED: u32 = 0x0001_0107;
/// OID_GEN_CURRENT_PACKET_FILTER (u32).
pub const OID_GEN_CURRENT_PACKET_FILTER: u32 = 0x0001_010E;
/// OID_GEN_MEDIA_CONNECT_STATUS (u32: 0 connected, 1 disconnected).
pub const OID_GEN_MEDIA_CONNECT_STATUS: u32 = 0x0001_0114;

/// Packet filter: directed | all-multicast | broadcast.
pub const PACKET_FILTER_DEFAULT: u32 = 0x0000_000D;
/// max_transfer_size Linux offers in INITIALIZE_MSG.
pub const INIT_MAX_TRANSFER: u32 = 0x4000;
/// Offset of QUERY/SET data from the body start (20 bytes of fields).
pub const INFO_OFFSET: u32 = 20;
/// Bytes of the message header (type, length).
pub const RNDIS_HEADER_LEN: usize = 8;

/// INITIALIZE_CMPLT fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitComplete {
    /// Echoed request id.
    pub request_id: u32,
    /// RNDIS status.
    pub status: u32,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Device flags (1 connectionless).
    pub device_flags: u32,
    /// Medium (0 = 802.3).
    pub medium: u32,
    /// Most PACKET_MSGs per message.
    pub max_packets_per_message: u32,
    /// Largest message the device accepts.
    pub max_transfer_size: u32,
    /// log2 of the packet alignment.
    pub packet_alignment_factor: u32,
}

/// An RNDIS control message (PACKET_MSG: [`super::encode_packet`] and
/// [`super::decode_packet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RndisMessage<'a> {
    /// INITIALIZE_MSG.
    Initialize {
        /// Request id.
        request_id: u32,
        /// Major version (1).
        major: u32,
        /// Minor version (0).
        minor: u32,
        /// Largest message the guest accepts.
        max_transfer_size: u32,
    },
    /// INITIALIZE_CMPLT.
    InitializeComplete(InitComplete),
    /// QUERY_MSG (data empty for the queries sent here).
    Query {
        /// Request id.
        request_id: u32,
        /// OID.
        oid: u32,
        /// Input data.
        info: &'a [u8],
    },
    /// QUERY_CMPLT.
    QueryComplete {
        /// Echoed request id.
        request_id: u32,
        /// RNDIS status.
        status: u32,
        /// Returned data.
        info: &'a [u8],
    },
    /// SET_MSG.
    Set {
        /// Request id.
        request_id: u32,
        /// OID.
        oid: u32,
        /// Value.
        info: &'a [u8],
    },
    /// SET_CMPLT.
    SetComplete {
        /// Echoed request id.
        request_id: u32,
        /// RNDIS status.
        status: u32,
    },
    /// INDICATE_STATUS_MSG.
    IndicateStatus {
        /// Status code (media connect/disconnect, ...).
        status: u32,
        /// Status buffer.
        buffer: &'a [u8],
    },
    /// KEEPALIVE_MSG.
    KeepAlive {
        /// Request id.
        request_id: u32,
    },
    /// KEEPALIVE_CMPLT.
    KeepAliveComplete {
        /// Echoed request id.
        request_id: u32,
        /// RNDIS status.
        status: u32,
    },
}

/// The `len` bytes at body offset `off` (offsets count from the body, 8
/// bytes into the message), all inside `msg`.
fn info_at(msg: &[u8], off: u32, len: u32) -> Result<&[u8], NetvscError> {
    if len == 0 {
        return Ok(&[]);
    }
    let start = RNDIS_HEADER_LEN
        .checked_add(off as usize)
        .ok_or(NetvscError::RndisBadOffset)?;
    wire::slice(msg, start, len as usize).map_err(|_| NetvscError::RndisBadOffset)
}

impl<'a> RndisMessage<'a> {
    /// The message type word.
    pub fn msg_type(&self) -> u32 {
        match self {
            Self::Initialize { .. } => RNDIS_INITIALIZE_MSG,
            Self::InitializeComplete(_) => RNDIS_INITIALIZE_CMPLT,
            Self::Query { .. } => RNDIS_QUERY_MSG,
            Self::QueryComplete { .. } => RNDIS_QUERY_CMPLT,
            Self::Set { .. } => RNDIS_SET_MSG,
            Self::SetComplete { .. } => RNDIS_SET_CMPLT,
            Self::IndicateStatus { .. } => RNDIS_INDICATE_STATUS_MSG,
            Self::KeepAlive { .. } => RNDIS_KEEPALIVE_MSG,
            Self::KeepAliveComplete { .. } => RNDIS_KEEPALIVE_CMPLT,
        }
    }

    /// Encodes with message_length = the whole message.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.put_u32(self.msg_type());
        b.put_u32(0);
        match *self {
            Self::Initialize {
                request_id,
                major,
                minor,
                max_transfer_size,
            } => {
                for v in [request_id, major, minor, max_transfer_size] {
                    b.put_u32(v);
                }
            }
            Self::InitializeComplete(c) => {
                for v in [
                    c.request_id,
                    c.status,
                    c.major,
                    c.minor,
                    c.device_flags,
                    c.medium,
                    c.max_packets_per_message,
                    c.max_transfer_size,
                    c.packet_alignment_factor,
                    0,
                    0,
                ] {
                    b.put_u32(v);
                }
            }
            Self::Query {
                request_id,
                oid,
                info,
            }
            | Self::Set {
                request_id,
                oid,
                info,
            } => {
                for v in [request_id, oid, info.len() as u32, INFO_OFFSET, 0] {
                    b.put_u32(v);
                }
                b.extend_from_slice(info);
            }
            Self::QueryComplete {
                request_id,
                status,
                info,
            } => {
                // OpenVMM puts the data at offset 16, right after the fields.
                for v in [request_id, status, info.len() as u32, 16] {
                    b.put_u32(v);
                }
                b.extend_from_slice(info);
            }
            Self::SetComplete { request_id, status }
            | Self::KeepAliveComplete { request_id, status } => {
                b.put_u32(request_id);
                b.put_u32(status);
            }
            Self::IndicateStatus { status, buffer } => {
                let off = if buffer.is_empty() { 0 } else { 12 };
                for v in [status, buffer.len() as u32, off] {
                    b.put_u32(v);
                }
                b.extend_from_slice(buffer);
            }
            Self::KeepAlive { request_id } => b.put_u32(request_id),
        }
        let len = b.len() as u32;
        b[4..8].copy_from_slice(&len.to_le_bytes());
        b
    }

    /// Decodes one control message. `msg` must be exactly message_length
    /// bytes (see [`split_message`]); every offset and length inside is
    /// checked against it.
    pub fn decode(msg: &'a [u8]) -> Result<Self, NetvscError> {
        let t = wire::u32_at(msg, 0)?;
        let u = |o| wire::u32_at(msg, o);
        Ok(match t {
            RNDIS_INITIALIZE_MSG => Self::Initialize {
                request_id: u(8)?,
                major: u(12)?,
                minor: u(16)?,
                max_transfer_size: u(20)?,
            },
            RNDIS_INITIALIZE_CMPLT => {
                wire::need(msg, 52)?;
                Self::InitializeComplete(InitComplete {
                    request_id: u(8)?,
                    status: u(12)?,
                    major: u(16)?,
                    minor: u(20)?,
                    device_flags: u(24)?,
                    medium: u(28)?,
                    max_packets_per_message: u(32)?,
                    max_transfer_size: u(36)?,
                    packet_alignment_factor: u(40)?,
                })
            }
            RNDIS_QUERY_MSG | RNDIS_SET_MSG => {
                let request_id = u(8)?;
                let oid = u(12)?;
                let info = info_at(msg, u(20)?, u(16)?)?;
                if t == RNDIS_QUERY_MSG {
                    Self::Query {
                        request_id,
                        oid,
                        info,
                    }
                } else {
                    Self::Set {
                        request_id,
                        oid,
                        info,
                    }
                }
            }
            RNDIS_QUERY_CMPLT => Self::QueryComplete {
                request_id: u(8)?,
                status: u(12)?,
                info: info_at(msg, u(20)?, u(16)?)?,
            },
            RNDIS_SET_CMPLT => Self::SetComplete {
                request_id: u(8)?,
                status: u(12)?,
            },
            RNDIS_INDICATE_STATUS_MSG => Self::IndicateStatus {
                status: u(8)?,
                buffer: info_at(msg, u(16)?, u(12)?)?,
            },
            RNDIS_KEEPALIVE_MSG => Self::KeepAlive { request_id: u(8)? },
            RNDIS_KEEPALIVE_CMPLT => Self::KeepAliveComplete {
                request_id: u(8)?,
                status: u(12)?,
            },
            other => return Err(NetvscError::RndisUnexpected(other)),
        })
    }
}

/// Takes the RNDIS message at the start of a receive range: message_length
/// must cover the 8-byte header and fit the range.
pub fn split_message(range: &[u8]) -> Result<(u32, &[u8]), NetvscError> {
    let t = wire::u32_at(range, 0)?;
    let len = wire::u32_at(range, 4)? as usize;
    if len < RNDIS_HEADER_LEN || len > range.len() {
        return Err(NetvscError::RndisBadLength(len as u32));
    }
    Ok((t, &range[..len]))
}
