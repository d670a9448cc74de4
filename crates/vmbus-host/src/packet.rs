//! Ring packet descriptors, extra headers and trailers (sheet §4.3).

use alloc::vec::Vec;

use crate::wire::{u16_at, u32_at, u64_at, Builder};

/// DATA_INBAND.
pub const TYPE_INBAND: u16 = 0x6;
/// DATA_USING_XFER_PAGES (netvsc receive).
pub const TYPE_XFER_PAGES: u16 = 0x7;
/// DATA_USING_GPA_DIRECT (storvsc, netvsc send).
pub const TYPE_GPA_DIRECT: u16 = 0x9;
/// COMP (completion).
pub const TYPE_COMPLETION: u16 = 0xB;
/// Flags bit 0: completion requested (the only defined flag).
pub const FLAG_COMPLETION_REQUESTED: u16 = 1;

/// One GPA-direct range: `byte_count` bytes from `byte_offset` in `pfns[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpaRange {
    /// Bytes described.
    pub byte_count: u32,
    /// Offset into the first page.
    pub byte_offset: u32,
    /// One PFN per touched page.
    pub pfns: Vec<u64>,
}

/// The transport form of a packet the guest wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InKind {
    /// Type 6.
    Inband,
    /// Type 7 (the guest has no business sending it; devices refuse it).
    XferPages,
    /// Type 9 with its ranges.
    GpaDirect(Vec<GpaRange>),
    /// Type 11.
    Completion,
}

/// A packet read from the guest → host ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPacket {
    /// Transport form.
    pub kind: InKind,
    /// Flags bit 0.
    pub completion_requested: bool,
    /// trans_id.
    pub trans_id: u64,
    /// The (len8 − offset8) × 8 payload bytes, padding included.
    pub payload: Vec<u8>,
}

/// Why a guest packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// A packet type other than 6, 7, 9, 11.
    BadType(u16),
    /// A flag other than bit 0.
    BadFlags(u16),
    /// offset8 < 2 or offset8 > len8, or extra header past offset8.
    BadOffset,
    /// GPA-direct range descriptors are inconsistent.
    BadRanges,
}

/// Parses one packet (`b` = the len8 × 8 bytes before the trailer).
pub fn parse(b: &[u8]) -> Result<InPacket, PacketError> {
    let ty = u16_at(b, 0).ok_or(PacketError::BadOffset)?;
    let off = usize::from(u16_at(b, 2).ok_or(PacketError::BadOffset)?) * 8;
    let flags = u16_at(b, 6).ok_or(PacketError::BadOffset)?;
    let trans_id = u64_at(b, 8).ok_or(PacketError::BadOffset)?;
    if off < 16 || off > b.len() {
        return Err(PacketError::BadOffset);
    }
    if flags & !FLAG_COMPLETION_REQUESTED != 0 {
        return Err(PacketError::BadFlags(flags));
    }
    let kind = match ty {
        TYPE_INBAND => InKind::Inband,
        TYPE_XFER_PAGES => InKind::XferPages,
        TYPE_COMPLETION => InKind::Completion,
        TYPE_GPA_DIRECT => InKind::GpaDirect(parse_gpa_ranges(&b[..off])?),
        other => return Err(PacketError::BadType(other)),
    };
    Ok(InPacket {
        kind,
        completion_requested: flags & FLAG_COMPLETION_REQUESTED != 0,
        trans_id,
        payload: b[off..].to_vec(),
    })
}

/// Parses the GPA-direct extra header (`h` = descriptor through offset8).
fn parse_gpa_ranges(h: &[u8]) -> Result<Vec<GpaRange>, PacketError> {
    let count = u32_at(h, 0x14).ok_or(PacketError::BadOffset)?;
    if count == 0 || count > 64 {
        return Err(PacketError::BadRanges);
    }
    let mut pos = 0x18usize;
    let mut out = Vec::new();
    for _ in 0..count {
        let byte_count = u32_at(h, pos).ok_or(PacketError::BadRanges)?;
        let byte_offset = u32_at(h, pos + 4).ok_or(PacketError::BadRanges)?;
        if byte_offset >= 4096 {
            return Err(PacketError::BadRanges);
        }
        let n = (u64::from(byte_offset) + u64::from(byte_count)).div_ceil(4096) as usize;
        pos += 8;
        let mut pfns = Vec::new();
        for i in 0..n {
            pfns.push(u64_at(h, pos + 8 * i).ok_or(PacketError::BadRanges)?);
        }
        pos += 8 * n;
        out.push(GpaRange {
            byte_count,
            byte_offset,
            pfns,
        });
    }
    Ok(out)
}

/// The transport form of a packet the host sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutKind {
    /// Type 6.
    Inband,
    /// Type 11.
    Completion,
    /// Type 7: ranges `(byte_count, byte_offset)` into the buffer `set_id`.
    XferPages {
        /// xfer_pageset_id (the receive buffer id).
        set_id: u16,
        /// One range per RNDIS message.
        ranges: Vec<(u32, u32)>,
    },
}

/// A packet the host will write into the host → guest ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutPacket {
    /// Transport form.
    pub kind: OutKind,
    /// Flags bit 0.
    pub completion_requested: bool,
    /// trans_id.
    pub trans_id: u64,
    /// Payload (padded to 8 on encode).
    pub payload: Vec<u8>,
}

impl OutPacket {
    /// An in-band packet without completion request.
    pub fn inband(trans_id: u64, payload: Vec<u8>) -> Self {
        OutPacket {
            kind: OutKind::Inband,
            completion_requested: false,
            trans_id,
            payload,
        }
    }

    /// A completion for `trans_id`.
    pub fn completion(trans_id: u64, payload: Vec<u8>) -> Self {
        OutPacket {
            kind: OutKind::Completion,
            completion_requested: false,
            trans_id,
            payload,
        }
    }

    /// Encodes the packet and its trailer as written at data offset `start`.
    pub fn encode(&self, start: u32) -> Vec<u8> {
        let (ty, extra) = match &self.kind {
            OutKind::Inband => (TYPE_INBAND, Vec::new()),
            OutKind::Completion => (TYPE_COMPLETION, Vec::new()),
            OutKind::XferPages { set_id, ranges } => {
                let mut b = Builder::new()
                    .u16(*set_id)
                    .u8(0)
                    .u8(0)
                    .u32(ranges.len() as u32);
                for &(count, off) in ranges {
                    b = b.u32(count).u32(off);
                }
                (TYPE_XFER_PAGES, b.finish())
            }
        };
        let offset8 = (16 + extra.len()) / 8;
        let len8 = offset8 + self.payload.len().div_ceil(8);
        let flags = if self.completion_requested {
            FLAG_COMPLETION_REQUESTED
        } else {
            0
        };
        Builder::new()
            .u16(ty)
            .u16(offset8 as u16)
            .u16(len8 as u16)
            .u16(flags)
            .u64(self.trans_id)
            .bytes(&extra)
            .bytes(&self.payload)
            .pad_to(len8 * 8)
            .u64(u64::from(start) << 32)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyboard_request_of_sheet_9_4() {
        let p = OutPacket {
            kind: OutKind::Inband,
            completion_requested: true,
            trans_id: 2,
            payload: alloc::vec![1, 0, 0, 0, 0, 0, 1, 0],
        };
        assert_eq!(
            p.encode(0x20),
            [
                0x06, 0, 0x02, 0, 0x03, 0, 0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0,
                0x01, 0, 0, 0, 0, 0, 0x20, 0, 0, 0
            ]
        );
    }

    #[test]
    fn refuses_bad_descriptors() {
        let mut b = [0u8; 24];
        b[0] = 6;
        b[2] = 1; // offset8 1
        assert_eq!(parse(&b), Err(PacketError::BadOffset));
        b[2] = 2;
        b[6] = 2; // flag bit 1
        assert_eq!(parse(&b), Err(PacketError::BadFlags(2)));
        b[6] = 0;
        b[0] = 8;
        assert_eq!(parse(&b), Err(PacketError::BadType(8)));
    }
}
