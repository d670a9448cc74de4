//! NVSP messages, the outer netvsc protocol (§6.5, vectors §9.6).

use alloc::vec::Vec;

use super::NetvscError;
use crate::wire::{self, Put};

/// NVSP version 1.
pub const NVSP_V1: u32 = 0x0000_0002;
/// NVSP version 2.
pub const NVSP_V2: u32 = 0x0003_0002;
/// NVSP version 4.
pub const NVSP_V4: u32 = 0x0004_0000;
/// NVSP version 5.
pub const NVSP_V5: u32 = 0x0005_0000;
/// Length modern Linux pads every guest NVSP message to.
pub const NVSP_MESSAGE_LEN: usize = 40;

/// Status NONE.
pub const NVSP_STATUS_NONE: u32 = 0;
/// Status SUCCESS.
pub const NVSP_STATUS_SUCCESS: u32 = 1;
/// Status FAILURE.
pub const NVSP_STATUS_FAILURE: u32 = 2;

/// INIT.
pub const MSG_INIT: u32 = 1;
/// INIT_COMPLETE.
pub const MSG_INIT_COMPLETE: u32 = 2;
/// SEND_NDIS_VERSION.
pub const MSG_SEND_NDIS_VERSION: u32 = 100;
/// SEND_RECEIVE_BUFFER.
pub const MSG_SEND_RECEIVE_BUFFER: u32 = 101;
/// SEND_RECEIVE_BUFFER_COMPLETE.
pub const MSG_SEND_RECEIVE_BUFFER_COMPLETE: u32 = 102;
/// REVOKE_RECEIVE_BUFFER.
pub const MSG_REVOKE_RECEIVE_BUFFER: u32 = 103;
/// SEND_SEND_BUFFER.
pub const MSG_SEND_SEND_BUFFER: u32 = 104;
/// SEND_SEND_BUFFER_COMPLETE.
pub const MSG_SEND_SEND_BUFFER_COMPLETE: u32 = 105;
/// REVOKE_SEND_BUFFER.
pub const MSG_REVOKE_SEND_BUFFER: u32 = 106;
/// SEND_RNDIS_PACKET.
pub const MSG_SEND_RNDIS_PACKET: u32 = 107;
/// SEND_RNDIS_PACKET_COMPLETE.
pub const MSG_SEND_RNDIS_PACKET_COMPLETE: u32 = 108;
/// SEND_NDIS_CONFIG (v2+).
pub const MSG_SEND_NDIS_CONFIG: u32 = 125;

/// SEND_RNDIS_PACKET channel_type for data.
pub const CHANNEL_DATA: u32 = 0;
/// SEND_RNDIS_PACKET channel_type for control.
pub const CHANNEL_CONTROL: u32 = 1;
/// send_buf_section_index meaning "no section".
pub const NO_SECTION: u32 = 0xFFFF_FFFF;
/// NDIS_CONFIG capability bit 3, IEEE 802.1Q.
pub const CAP_IEEE8021Q: u64 = 1 << 3;

/// The one receive-buffer section the host describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveSection {
    /// Start of the section in the buffer.
    pub offset: u32,
    /// Size of each sub-allocation.
    pub sub_alloc_size: u32,
    /// Number of sub-allocations.
    pub num_sub_allocs: u32,
    /// End of the section.
    pub end_offset: u32,
}

/// An NVSP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NvspMessage {
    /// Type 1.
    Init {
        /// Lowest version accepted.
        min_version: u32,
        /// Highest version accepted.
        max_version: u32,
    },
    /// Type 2.
    InitComplete {
        /// Deprecated negotiated version field.
        negotiated: u32,
        /// max_mdl_chain_length.
        max_mdl_chain_length: u32,
        /// Status (1 = success).
        status: u32,
    },
    /// Type 100.
    SendNdisVersion {
        /// NDIS major.
        major: u32,
        /// NDIS minor.
        minor: u32,
    },
    /// Type 101.
    SendReceiveBuffer {
        /// GPADL handle of the buffer.
        gpadl: u32,
        /// Guest-chosen id (Linux 0xCAFE).
        id: u16,
    },
    /// Type 102 (only the first section is kept; `num_sections` says how
    /// many the host listed).
    SendReceiveBufferComplete {
        /// Status (1 = success).
        status: u32,
        /// Sections listed.
        num_sections: u32,
        /// The first section, when the message holds one.
        section: Option<ReceiveSection>,
    },
    /// Type 103.
    RevokeReceiveBuffer {
        /// Buffer id.
        id: u16,
    },
    /// Type 104.
    SendSendBuffer {
        /// GPADL handle of the buffer.
        gpadl: u32,
        /// Guest-chosen id (Linux 0).
        id: u16,
    },
    /// Type 105.
    SendSendBufferComplete {
        /// Status (1 = success).
        status: u32,
        /// Size of each send section.
        section_size: u32,
    },
    /// Type 106.
    RevokeSendBuffer {
        /// Buffer id.
        id: u16,
    },
    /// Type 107.
    SendRndisPacket {
        /// 0 data, 1 control.
        channel_type: u32,
        /// Send-buffer section, or [`NO_SECTION`].
        section_index: u32,
        /// Bytes used in the section.
        section_size: u32,
    },
    /// Type 108.
    SendRndisPacketComplete {
        /// Status (1 = success).
        status: u32,
    },
    /// Type 125.
    SendNdisConfig {
        /// MTU including the Ethernet header (1514 for 1500).
        mtu: u32,
        /// Capability bits.
        capabilities: u64,
    },
}

impl NvspMessage {
    /// The type word.
    pub fn msg_type(&self) -> u32 {
        match self {
            Self::Init { .. } => MSG_INIT,
            Self::InitComplete { .. } => MSG_INIT_COMPLETE,
            Self::SendNdisVersion { .. } => MSG_SEND_NDIS_VERSION,
            Self::SendReceiveBuffer { .. } => MSG_SEND_RECEIVE_BUFFER,
            Self::SendReceiveBufferComplete { .. } => MSG_SEND_RECEIVE_BUFFER_COMPLETE,
            Self::RevokeReceiveBuffer { .. } => MSG_REVOKE_RECEIVE_BUFFER,
            Self::SendSendBuffer { .. } => MSG_SEND_SEND_BUFFER,
            Self::SendSendBufferComplete { .. } => MSG_SEND_SEND_BUFFER_COMPLETE,
            Self::RevokeSendBuffer { .. } => MSG_REVOKE_SEND_BUFFER,
            Self::SendRndisPacket { .. } => MSG_SEND_RNDIS_PACKET,
            Self::SendRndisPacketComplete { .. } => MSG_SEND_RNDIS_PACKET_COMPLETE,
            Self::SendNdisConfig { .. } => MSG_SEND_NDIS_CONFIG,
        }
    }

    /// Encodes the message unpadded.
    pub fn encode_unpadded(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(NVSP_MESSAGE_LEN);
        b.put_u32(self.msg_type());
        match *self {
            Self::Init {
                min_version,
                max_version,
            } => {
                b.put_u32(min_version);
                b.put_u32(max_version);
            }
            Self::InitComplete {
                negotiated,
                max_mdl_chain_length,
                status,
            } => {
                b.put_u32(negotiated);
                b.put_u32(max_mdl_chain_length);
                b.put_u32(status);
            }
            Self::SendNdisVersion { major, minor } => {
                b.put_u32(major);
                b.put_u32(minor);
            }
            Self::SendReceiveBuffer { gpadl, id } | Self::SendSendBuffer { gpadl, id } => {
                b.put_u32(gpadl);
                b.put_u16(id);
            }
            Self::SendReceiveBufferComplete {
                status,
                num_sections,
                section,
            } => {
                b.put_u32(status);
                b.put_u32(num_sections);
                if let Some(s) = section {
                    b.put_u32(s.offset);
                    b.put_u32(s.sub_alloc_size);
                    b.put_u32(s.num_sub_allocs);
                    b.put_u32(s.end_offset);
                }
            }
            Self::RevokeReceiveBuffer { id } | Self::RevokeSendBuffer { id } => b.put_u16(id),
            Self::SendSendBufferComplete {
                status,
                section_size,
            } => {
                b.put_u32(status);
                b.put_u32(section_size);
            }
            Self::SendRndisPacket {
                channel_type,
                section_index,
                section_size,
            } => {
                b.put_u32(channel_type);
                b.put_u32(section_index);
                b.put_u32(section_size);
            }
            Self::SendRndisPacketComplete { status } => b.put_u32(status),
            Self::SendNdisConfig { mtu, capabilities } => {
                b.put_u32(mtu);
                b.put_u32(0);
                b.put_u64(capabilities);
            }
        }
        b
    }

    /// Encodes the way Linux sends it: zero-padded to 40 bytes, except the
    /// 8-byte SEND_RNDIS_PACKET_COMPLETE that completes a receive (§9.6).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.encode_unpadded();
        if !matches!(self, Self::SendRndisPacketComplete { .. }) {
            b.resize(NVSP_MESSAGE_LEN, 0);
        }
        b
    }

    /// Decodes a message, reading only the bytes its type needs (hosts send
    /// 28 or 40 bytes, §6.5).
    pub fn decode(b: &[u8]) -> Result<Self, NetvscError> {
        let t = wire::u32_at(b, 0)?;
        let u = |o| wire::u32_at(b, o);
        Ok(match t {
            MSG_INIT => Self::Init {
                min_version: u(4)?,
                max_version: u(8)?,
            },
            MSG_INIT_COMPLETE => Self::InitComplete {
                negotiated: u(4)?,
                max_mdl_chain_length: u(8)?,
                status: u(12)?,
            },
            MSG_SEND_NDIS_VERSION => Self::SendNdisVersion {
                major: u(4)?,
                minor: u(8)?,
            },
            MSG_SEND_RECEIVE_BUFFER => Self::SendReceiveBuffer {
                gpadl: u(4)?,
                id: wire::u16_at(b, 8)?,
            },
            MSG_SEND_RECEIVE_BUFFER_COMPLETE => {
                let status = u(4)?;
                let num_sections = u(8)?;
                let section = if num_sections >= 1 && b.len() >= 28 {
                    Some(ReceiveSection {
                        offset: u(12)?,
                        sub_alloc_size: u(16)?,
                        num_sub_allocs: u(20)?,
                        end_offset: u(24)?,
                    })
                } else {
                    None
                };
                Self::SendReceiveBufferComplete {
                    status,
                    num_sections,
                    section,
                }
            }
            MSG_REVOKE_RECEIVE_BUFFER => Self::RevokeReceiveBuffer {
                id: wire::u16_at(b, 4)?,
            },
            MSG_SEND_SEND_BUFFER => Self::SendSendBuffer {
                gpadl: u(4)?,
                id: wire::u16_at(b, 8)?,
            },
            MSG_SEND_SEND_BUFFER_COMPLETE => Self::SendSendBufferComplete {
                status: u(4)?,
                section_size: u(8)?,
            },
            MSG_REVOKE_SEND_BUFFER => Self::RevokeSendBuffer {
                id: wire::u16_at(b, 4)?,
            },
            MSG_SEND_RNDIS_PACKET => Self::SendRndisPacket {
                channel_type: u(4)?,
                section_index: u(8)?,
                section_size: u(12)?,
            },
            MSG_SEND_RNDIS_PACKET_COMPLETE => Self::SendRndisPacketComplete { status: u(4)? },
            MSG_SEND_NDIS_CONFIG => Self::SendNdisConfig {
                mtu: u(4)?,
                capabilities: wire::u64_at(b, 12)?,
            },
            other => return Err(NetvscError::UnknownNvsp(other)),
        })
    }
}
