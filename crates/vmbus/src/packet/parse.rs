//! Parsing received packets; every count is checked before it is trusted.

use super::{Descriptor, PacketError, PacketType, DESCRIPTOR_SIZE, FLAG_COMPLETION_REQUESTED};
use crate::range::pages_touched;

/// A packet parsed out of bytes copied from a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// DATA_INBAND (6).
    InBand {
        /// Request id.
        trans_id: u64,
        /// Whether the sender wants a completion.
        completion_requested: bool,
        /// Payload including padding.
        payload: &'a [u8],
    },
    /// COMP (11).
    Completion {
        /// Id of the completed request.
        trans_id: u64,
        /// Payload including padding.
        payload: &'a [u8],
    },
    /// DATA_USING_GPA_DIRECT (9).
    GpaDirect {
        /// Request id.
        trans_id: u64,
        /// Whether the sender wants a completion.
        completion_requested: bool,
        /// The page ranges.
        ranges: GpaRanges<'a>,
        /// Payload including padding.
        payload: &'a [u8],
    },
    /// DATA_USING_XFER_PAGES (7): netvsc receives.
    TransferPages {
        /// Request id (netvsc: sub-allocation index, possibly 0).
        trans_id: u64,
        /// Whether the sender wants a completion.
        completion_requested: bool,
        /// Id of the transfer page set (the receive buffer id).
        pageset_id: u16,
        /// sender_owns_set byte.
        sender_owns: u8,
        /// Byte ranges inside the transfer page set.
        ranges: TransferRanges<'a>,
        /// Payload including padding.
        payload: &'a [u8],
    },
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    let mut v = [0; 4];
    if let Some(s) = b.get(o..o + 4) {
        v.copy_from_slice(s);
    }
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut v = [0; 8];
    if let Some(s) = b.get(o..o + 8) {
        v.copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

impl<'a> Packet<'a> {
    /// Parses a packet from `bytes`, which must hold at least len8 × 8
    /// bytes (more is ignored, e.g. the trailer).
    pub fn parse(bytes: &'a [u8]) -> Result<Packet<'a>, PacketError> {
        let d = Descriptor::parse(bytes)?;
        d.check_offsets()?;
        let len = d.packet_len();
        let bytes = bytes.get(..len).ok_or(PacketError::Truncated {
            needed: len,
            got: bytes.len(),
        })?;
        if d.flags & !FLAG_COMPLETION_REQUESTED != 0 {
            return Err(PacketError::Flags(d.flags));
        }
        let header_end = d.offset8 as usize * 8;
        // check_offsets guarantees DESCRIPTOR_SIZE <= header_end <= len.
        let extra = &bytes[DESCRIPTOR_SIZE..header_end];
        let payload = &bytes[header_end..];
        let completion_requested = d.completion_requested();
        let ty =
            PacketType::from_u16(d.packet_type).ok_or(PacketError::UnknownType(d.packet_type))?;
        match ty {
            PacketType::DataInBand => Ok(Packet::InBand {
                trans_id: d.trans_id,
                completion_requested,
                payload,
            }),
            PacketType::Completion => Ok(Packet::Completion {
                trans_id: d.trans_id,
                payload,
            }),
            PacketType::DataUsingGpaDirect => Ok(Packet::GpaDirect {
                trans_id: d.trans_id,
                completion_requested,
                ranges: GpaRanges::parse(extra)?,
                payload,
            }),
            PacketType::DataUsingTransferPages => {
                let head = extra.get(..8).ok_or(PacketError::Ranges)?;
                let count = u32_at(head, 4) as usize;
                let body = &extra[8..];
                if count > body.len() / 8 {
                    return Err(PacketError::Ranges);
                }
                Ok(Packet::TransferPages {
                    trans_id: d.trans_id,
                    completion_requested,
                    pageset_id: u16::from_le_bytes([head[0], head[1]]),
                    sender_owns: head[2],
                    ranges: TransferRanges {
                        bytes: &body[..count * 8],
                    },
                    payload,
                })
            }
            other => Err(PacketError::UnsupportedType(other)),
        }
    }

    /// The packet's transaction id.
    pub fn trans_id(&self) -> u64 {
        match self {
            Packet::InBand { trans_id, .. }
            | Packet::Completion { trans_id, .. }
            | Packet::GpaDirect { trans_id, .. }
            | Packet::TransferPages { trans_id, .. } => *trans_id,
        }
    }

    /// The payload bytes (including padding).
    pub fn payload(&self) -> &'a [u8] {
        match self {
            Packet::InBand { payload, .. }
            | Packet::Completion { payload, .. }
            | Packet::GpaDirect { payload, .. }
            | Packet::TransferPages { payload, .. } => payload,
        }
    }
}

/// The validated page ranges of a GPA-direct packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpaRanges<'a> {
    count: u32,
    bytes: &'a [u8],
}

impl<'a> GpaRanges<'a> {
    /// Validates the extra header: u32 reserved, u32 range_count ≥ 1, then
    /// that many ranges, all inside the header.
    fn parse(extra: &'a [u8]) -> Result<Self, PacketError> {
        if extra.len() < 8 {
            return Err(PacketError::Ranges);
        }
        let count = u32_at(extra, 4);
        let bytes = &extra[8..];
        // Each range takes at least 16 bytes; this bounds the loop below.
        if count == 0 || count as usize > bytes.len() / 16 {
            return Err(PacketError::Ranges);
        }
        let mut at = 0usize;
        for _ in 0..count {
            let pfns = pages_touched(u32_at(bytes, at + 4), u32_at(bytes, at))
                .ok_or(PacketError::Ranges)?;
            let size = pfns
                .checked_mul(8)
                .and_then(|n| n.checked_add(8))
                .ok_or(PacketError::Ranges)?;
            at = at.checked_add(size).ok_or(PacketError::Ranges)?;
            if at > bytes.len() {
                return Err(PacketError::Ranges);
            }
        }
        Ok(GpaRanges {
            count,
            bytes: &bytes[..at],
        })
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Always false: parsing requires at least one range.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The ranges in order.
    pub fn iter(&self) -> impl Iterator<Item = RangeRef<'a>> + 'a {
        let mut rest = self.bytes;
        (0..self.count).map_while(move |_| {
            let byte_count = u32_at(rest, 0);
            let byte_offset = u32_at(rest, 4);
            let n = pages_touched(byte_offset, byte_count)?;
            let pfns = rest.get(8..8 + 8 * n)?;
            rest = rest.get(8 + 8 * n..)?;
            Some(RangeRef {
                byte_count,
                byte_offset,
                pfns: PfnList { bytes: pfns },
            })
        })
    }
}

/// One range of a received GPA-direct packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeRef<'a> {
    /// Bytes in the range.
    pub byte_count: u32,
    /// Offset into the first page.
    pub byte_offset: u32,
    /// One PFN per page touched.
    pub pfns: PfnList<'a>,
}

/// PFNs stored as little-endian bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PfnList<'a> {
    bytes: &'a [u8],
}

impl<'a> PfnList<'a> {
    /// Number of PFNs.
    pub fn len(&self) -> usize {
        self.bytes.len() / 8
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() < 8
    }

    /// The PFNs in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        let bytes = self.bytes;
        (0..bytes.len() / 8).map(move |i| u64_at(bytes, 8 * i))
    }
}

/// The ranges of a transfer-page packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRanges<'a> {
    bytes: &'a [u8],
}

/// One range inside a transfer page set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRange {
    /// Bytes in the range.
    pub byte_count: u32,
    /// Offset inside the registered buffer (not yet checked against it).
    pub byte_offset: u32,
}

impl<'a> TransferRanges<'a> {
    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.bytes.len() / 8
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() < 8
    }

    /// The ranges in order.
    pub fn iter(&self) -> impl Iterator<Item = TransferRange> + 'a {
        let bytes = self.bytes;
        (0..bytes.len() / 8).map(move |i| TransferRange {
            byte_count: u32_at(bytes, 8 * i),
            byte_offset: u32_at(bytes, 8 * i + 4),
        })
    }
}
