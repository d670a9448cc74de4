//! RNDIS PACKET_MSG: one Ethernet frame plus per-packet info (§6.5).

use alloc::vec::Vec;

use super::rndis::{RNDIS_HEADER_LEN, RNDIS_PACKET_MSG};
use super::NetvscError;
use crate::wire::{self, Put};

/// Size of the PACKET_MSG body (9 × u32).
pub const PACKET_BODY_LEN: usize = 36;
/// Size of a per-packet-info record header {size, type, offset}.
pub const PPI_HEADER_LEN: usize = 12;
/// PPI type TCPIP_CHKSUM_PKTINFO.
pub const PPI_CHECKSUM: u32 = 0;
/// PPI type IEEE_8021Q_INFO.
pub const PPI_VLAN: u32 = 6;
/// PPI type NBL_HASH_VALUE.
pub const PPI_HASH_VALUE: u32 = 8;
/// Bit 31 of a PPI type: "internal" (Linux), e.g. packet-id records.
pub const PPI_INTERNAL: u32 = 1 << 31;
/// Most PPI records walked per packet.
pub const MAX_PPI_RECORDS: usize = 16;
/// Shortest frame delivered: an Ethernet header.
pub const MIN_FRAME_LEN: usize = 14;

/// An 802.1Q tag delivered out of band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// Priority (PCP), 3 bits.
    pub priority: u8,
    /// Canonical format indicator.
    pub cfi: bool,
    /// VLAN id, 12 bits.
    pub vlan_id: u16,
}

/// A received frame and what its per-packet info said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// The Ethernet frame (copied out of the receive buffer).
    pub data: Vec<u8>,
    /// VLAN tag stripped by the host.
    pub vlan: Option<VlanTag>,
    /// Raw NDIS_TCP_IP_CHECKSUM_PACKET_INFO word, if the host sent one.
    pub checksum_info: Option<u32>,
    /// Hash value, if the host sent one.
    pub hash: Option<u32>,
}

/// Per-packet info found while validating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// VLAN tag.
    pub vlan: Option<VlanTag>,
    /// Checksum info word.
    pub checksum_info: Option<u32>,
    /// Hash value.
    pub hash: Option<u32>,
}

/// Builds a PACKET_MSG for `frame`: data right after the 36-byte body, no
/// OOB data, no per-packet info (OpenVMM rejects non-zero OOB or vc_handle).
pub fn encode_packet(frame: &[u8]) -> Vec<u8> {
    let total = RNDIS_HEADER_LEN + PACKET_BODY_LEN + frame.len();
    let mut b = Vec::with_capacity(total);
    b.put_u32(RNDIS_PACKET_MSG);
    b.put_u32(total as u32);
    b.put_u32(PACKET_BODY_LEN as u32);
    b.put_u32(frame.len() as u32);
    for _ in 0..7 {
        b.put_u32(0);
    }
    b.extend_from_slice(frame);
    b
}

fn body_span(msg: &[u8], off: u32, len: u32) -> Result<core::ops::Range<usize>, NetvscError> {
    let start = RNDIS_HEADER_LEN
        .checked_add(off as usize)
        .ok_or(NetvscError::RndisBadOffset)?;
    let end = start
        .checked_add(len as usize)
        .ok_or(NetvscError::RndisBadOffset)?;
    if end > msg.len() {
        return Err(NetvscError::RndisBadOffset);
    }
    Ok(start..end)
}

/// Validates a PACKET_MSG (exactly message_length bytes) and returns the
/// frame bytes and its per-packet info. The frame must lie after the body
/// and inside the message, hold at least an Ethernet header and at most
/// `max_frame` bytes; every PPI record must be well formed and inside the
/// PPI area.
pub fn decode_packet(msg: &[u8], max_frame: usize) -> Result<(&[u8], PacketInfo), NetvscError> {
    wire::need(msg, RNDIS_HEADER_LEN + PACKET_BODY_LEN)?;
    let u = |o| wire::u32_at(msg, o);
    let data_offset = u(8)?;
    let data_length = u(12)?;
    let oob_offset = u(16)?;
    let oob_length = u(20)?;
    let ppi_offset = u(28)?;
    let ppi_length = u(32)?;
    if (data_offset as usize) < PACKET_BODY_LEN {
        return Err(NetvscError::RndisBadOffset);
    }
    let data = body_span(msg, data_offset, data_length)?;
    if data.len() < MIN_FRAME_LEN || data.len() > max_frame {
        return Err(NetvscError::BadFrameLength(data_length));
    }
    if oob_length != 0 {
        body_span(msg, oob_offset, oob_length)?;
    }
    let mut info = PacketInfo::default();
    if ppi_length != 0 {
        let span = body_span(msg, ppi_offset, ppi_length)?;
        let mut ppi = &msg[span];
        let mut records = 0;
        while !ppi.is_empty() {
            records += 1;
            if records > MAX_PPI_RECORDS {
                return Err(NetvscError::BadPpi);
            }
            let size = wire::u32_at(ppi, 0).map_err(|_| NetvscError::BadPpi)? as usize;
            let ptype = wire::u32_at(ppi, 4).map_err(|_| NetvscError::BadPpi)?;
            let poff = wire::u32_at(ppi, 8).map_err(|_| NetvscError::BadPpi)? as usize;
            if size < PPI_HEADER_LEN || size > ppi.len() || poff < PPI_HEADER_LEN || poff > size {
                return Err(NetvscError::BadPpi);
            }
            let value = &ppi[poff..size];
            let word = || wire::u32_at(value, 0).map_err(|_| NetvscError::BadPpi);
            match ptype {
                PPI_CHECKSUM => info.checksum_info = Some(word()?),
                PPI_HASH_VALUE => info.hash = Some(word()?),
                PPI_VLAN => {
                    let v = word()?;
                    info.vlan = Some(VlanTag {
                        priority: (v & 7) as u8,
                        cfi: v & 8 != 0,
                        vlan_id: ((v >> 4) & 0xFFF) as u16,
                    });
                }
                // Other and internal records (e.g. Linux's packet id) carry
                // nothing a receiver needs.
                _ => {}
            }
            ppi = &ppi[size..];
        }
    }
    Ok((&msg[data], info))
}
