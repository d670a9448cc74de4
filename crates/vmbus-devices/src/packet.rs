//! The crate's boundary: ring packets in and out, as plain values (§4.3).
//!
//! The transport moves bytes through the rings; the device drivers here see
//! only [`Incoming`] values (what the host sent: kind, transaction id, the
//! completion flag and the payload) and produce [`Outgoing`] values. Both can
//! also be converted from/to the exact ring packet image (descriptor, extra
//! header, payload and padding, without the 8-byte trailer), which is what
//! the byte-exact tests compare and what a glue layer may write directly.

use alloc::vec::Vec;

use crate::wire::{self, Put, WireError};

/// Guest page size (sheet conventions).
pub const PAGE_SIZE: usize = 4096;

/// Packet type DATA_INBAND (§4.3).
pub const TYPE_INBAND: u16 = 0x6;
/// Packet type DATA_USING_XFER_PAGES (netvsc receive).
pub const TYPE_XFER_PAGES: u16 = 0x7;
/// Packet type DATA_USING_GPA_DIRECT (storvsc data, netvsc send).
pub const TYPE_GPA_DIRECT: u16 = 0x9;
/// Packet type COMP (completion).
pub const TYPE_COMPLETION: u16 = 0xB;
/// Descriptor flag bit 0: the sender wants a completion.
pub const FLAG_COMPLETION_REQUESTED: u16 = 0x1;

/// Most transfer-page ranges accepted in one packet (Linux's RSC maximum,
/// `NVSP_RSC_MAX` = 562, is the largest batch any guest is known to accept).
pub const MAX_TRANSFER_RANGES: u32 = 562;
/// Most pages one GPA-direct range may list: 2 MiB plus a partial page.
pub const MAX_GPA_PAGES: usize = 513;

/// What kind of packet the host sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingKind<'a> {
    /// DATA_INBAND (type 6): the payload is the message.
    InBand,
    /// COMP (type 11): completes the guest request with the same trans_id.
    Completion,
    /// DATA_USING_XFER_PAGES (type 7): payload plus ranges into a buffer the
    /// guest registered earlier.
    TransferPages(TransferPages<'a>),
    /// DATA_USING_GPA_DIRECT (type 9); no device here expects it from the
    /// host, so drivers refuse it.
    GpaDirect,
}

/// One received packet, as the transport hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming<'a> {
    /// Packet kind and kind-specific header.
    pub kind: IncomingKind<'a>,
    /// Transaction id from the descriptor.
    pub trans_id: u64,
    /// Descriptor flag bit 0.
    pub completion_requested: bool,
    /// Payload bytes: (len8 − offset8) × 8, padding included.
    pub payload: &'a [u8],
}

impl<'a> Incoming<'a> {
    /// An in-band packet without the completion flag.
    pub fn in_band(trans_id: u64, payload: &'a [u8]) -> Self {
        Self {
            kind: IncomingKind::InBand,
            trans_id,
            completion_requested: false,
            payload,
        }
    }

    /// A completion packet.
    pub fn completion(trans_id: u64, payload: &'a [u8]) -> Self {
        Self {
            kind: IncomingKind::Completion,
            trans_id,
            completion_requested: false,
            payload,
        }
    }

    /// Parses a ring packet image: descriptor at offset 0, then the extra
    /// header and payload; bytes beyond len8 × 8 (the trailer) are ignored.
    pub fn parse(packet: &'a [u8]) -> Result<Self, WireError> {
        let ptype = wire::u16_at(packet, 0)?;
        let offset8 = usize::from(wire::u16_at(packet, 2)?);
        let len8 = usize::from(wire::u16_at(packet, 4)?);
        let flags = wire::u16_at(packet, 6)?;
        let trans_id = wire::u64_at(packet, 8)?;
        if offset8 < 2 || len8 < offset8 {
            return Err(WireError::BadPacketHeader);
        }
        wire::need(packet, len8 * 8)?;
        if flags & !FLAG_COMPLETION_REQUESTED != 0 {
            return Err(WireError::BadFlags(flags));
        }
        let header = &packet[..offset8 * 8];
        let payload = &packet[offset8 * 8..len8 * 8];
        let kind = match ptype {
            TYPE_INBAND => IncomingKind::InBand,
            TYPE_COMPLETION => IncomingKind::Completion,
            TYPE_GPA_DIRECT => IncomingKind::GpaDirect,
            TYPE_XFER_PAGES => {
                let pageset_id = wire::u16_at(header, 0x10)?;
                let count = wire::u32_at(header, 0x14)?;
                if count > MAX_TRANSFER_RANGES {
                    return Err(WireError::TooManyRanges(count));
                }
                let raw = wire::slice(header, 0x18, count as usize * 8)?;
                IncomingKind::TransferPages(TransferPages::new(pageset_id, raw)?)
            }
            other => return Err(WireError::BadPacketType(other)),
        };
        Ok(Self {
            kind,
            trans_id,
            completion_requested: flags & FLAG_COMPLETION_REQUESTED != 0,
            payload,
        })
    }
}

/// One transfer-page range: a byte span of the registered buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferRange {
    /// Length in bytes.
    pub byte_count: u32,
    /// Offset from the start of the registered buffer.
    pub byte_offset: u32,
}

/// The extra header of a type-7 packet: page-set id and its range list
/// (kept as the raw 8-byte records, decoded on access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferPages<'a> {
    /// xfer_pageset_id: which registered buffer the ranges point into.
    pub pageset_id: u16,
    raw: &'a [u8],
}

impl<'a> TransferPages<'a> {
    /// Wraps a raw range array (`{u32 byte_count, u32 byte_offset}` records).
    pub fn new(pageset_id: u16, raw: &'a [u8]) -> Result<Self, WireError> {
        if !raw.len().is_multiple_of(8) {
            return Err(WireError::BadRange);
        }
        let count = raw.len() / 8;
        if count > MAX_TRANSFER_RANGES as usize {
            return Err(WireError::TooManyRanges(count as u32));
        }
        Ok(Self { pageset_id, raw })
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.raw.len() / 8
    }

    /// No ranges at all.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The ranges in order.
    pub fn iter(&self) -> impl Iterator<Item = TransferRange> + 'a {
        self.raw.chunks_exact(8).map(|c| TransferRange {
            byte_count: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            byte_offset: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
    }
}

/// A guest buffer as a GPA-direct range: offset into the first page, length
/// and one PFN per touched page (§4.3, extra header of type 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpaRange {
    byte_offset: u32,
    byte_count: u32,
    pfns: Vec<u64>,
}

impl GpaRange {
    /// A physically contiguous buffer of `len` bytes at guest physical
    /// address `gpa`.
    pub fn contiguous(gpa: u64, len: u32) -> Result<Self, WireError> {
        gpa.checked_add(u64::from(len)).ok_or(WireError::BadRange)?;
        let byte_offset = (gpa % PAGE_SIZE as u64) as u32;
        let pages = Self::page_count(byte_offset, len)?;
        let first = gpa / PAGE_SIZE as u64;
        let mut pfns = Vec::with_capacity(pages);
        for i in 0..pages as u64 {
            pfns.push(first.checked_add(i).ok_or(WireError::BadRange)?);
        }
        Ok(Self {
            byte_offset,
            byte_count: len,
            pfns,
        })
    }

    /// A scattered buffer: `byte_offset` into the page `pfns[0]`, `len`
    /// bytes, continuing at the start of each following page.
    pub fn from_pfns(byte_offset: u32, len: u32, pfns: &[u64]) -> Result<Self, WireError> {
        if byte_offset as usize >= PAGE_SIZE {
            return Err(WireError::BadRange);
        }
        if Self::page_count(byte_offset, len)? != pfns.len() {
            return Err(WireError::BadRange);
        }
        Ok(Self {
            byte_offset,
            byte_count: len,
            pfns: pfns.to_vec(),
        })
    }

    fn page_count(byte_offset: u32, len: u32) -> Result<usize, WireError> {
        if len == 0 {
            return Err(WireError::BadRange);
        }
        let end = u64::from(byte_offset) + u64::from(len);
        let pages = end.div_ceil(PAGE_SIZE as u64) as usize;
        if pages > MAX_GPA_PAGES {
            return Err(WireError::TooLong {
                len: pages,
                max: MAX_GPA_PAGES,
            });
        }
        Ok(pages)
    }

    /// Offset of the data in the first page.
    pub fn byte_offset(&self) -> u32 {
        self.byte_offset
    }

    /// Length in bytes.
    pub fn byte_count(&self) -> u32 {
        self.byte_count
    }

    /// The page frame numbers, one per touched page.
    pub fn pfns(&self) -> &[u64] {
        &self.pfns
    }

    /// Encoded size of this range record in bytes.
    pub fn encoded_len(&self) -> usize {
        8 + 8 * self.pfns.len()
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.put_u32(self.byte_count);
        out.put_u32(self.byte_offset);
        for &pfn in &self.pfns {
            out.put_u64(pfn);
        }
    }
}

/// What kind of packet the guest sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingKind {
    /// DATA_INBAND (type 6).
    InBand,
    /// COMP (type 11), completing the host packet with the same trans_id.
    Completion,
    /// DATA_USING_GPA_DIRECT (type 9) with exactly one range.
    GpaDirect(GpaRange),
}

/// One packet for the transport to write into the guest→host ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Packet kind (and the page list for GPA-direct packets).
    pub kind: OutgoingKind,
    /// Transaction id (never 0 when a completion is requested).
    pub trans_id: u64,
    /// Set descriptor flag bit 0.
    pub completion_requested: bool,
    /// Payload bytes, unpadded.
    pub payload: Vec<u8>,
}

impl Outgoing {
    /// An in-band packet.
    pub fn in_band(trans_id: u64, completion_requested: bool, payload: Vec<u8>) -> Self {
        Self {
            kind: OutgoingKind::InBand,
            trans_id,
            completion_requested,
            payload,
        }
    }

    /// A completion for the host packet `trans_id`.
    pub fn completion(trans_id: u64, payload: Vec<u8>) -> Self {
        Self {
            kind: OutgoingKind::Completion,
            trans_id,
            completion_requested: false,
            payload,
        }
    }

    /// The ring packet image without the trailer: descriptor, extra header,
    /// payload, zero padding to a multiple of 8 (§4.3). The transport appends
    /// the trailer, which depends on the write index.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let (ptype, extra) = match &self.kind {
            OutgoingKind::InBand => (TYPE_INBAND, 0),
            OutgoingKind::Completion => (TYPE_COMPLETION, 0),
            OutgoingKind::GpaDirect(r) => (TYPE_GPA_DIRECT, 8 + r.encoded_len()),
        };
        let header = 16 + extra;
        let padded = self.payload.len().div_ceil(8) * 8;
        let total = header + padded;
        let max = usize::from(u16::MAX) * 8;
        if total > max {
            return Err(WireError::TooLong { len: total, max });
        }
        let mut out = Vec::with_capacity(total);
        out.put_u16(ptype);
        out.put_u16((header / 8) as u16);
        out.put_u16((total / 8) as u16);
        out.put_u16(if self.completion_requested {
            FLAG_COMPLETION_REQUESTED
        } else {
            0
        });
        out.put_u64(self.trans_id);
        if let OutgoingKind::GpaDirect(r) = &self.kind {
            out.put_u32(0);
            out.put_u32(1);
            r.encode_into(&mut out);
        }
        out.extend_from_slice(&self.payload);
        out.resize(total, 0);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpa_range_pages() {
        let r = GpaRange::contiguous(0x30_0ff0, 0x20).unwrap();
        assert_eq!(r.pfns(), &[0x300, 0x301]);
        assert_eq!(r.byte_offset(), 0xff0);
        assert!(GpaRange::contiguous(0, 0).is_err());
        assert!(GpaRange::contiguous(u64::MAX - 10, 4096).is_err());
        assert!(GpaRange::from_pfns(4096, 1, &[1]).is_err());
        assert!(GpaRange::from_pfns(0, 4097, &[1]).is_err());
        assert!(GpaRange::from_pfns(0, 4097, &[1, 2]).is_ok());
        assert!(GpaRange::contiguous(0, u32::MAX).is_err());
    }

    #[test]
    fn parse_round_trip() {
        let out = Outgoing::in_band(7, true, alloc::vec![1, 2, 3]);
        let bytes = out.encode().unwrap();
        assert_eq!(bytes.len(), 24);
        let inc = Incoming::parse(&bytes).unwrap();
        assert_eq!(inc.kind, IncomingKind::InBand);
        assert_eq!(inc.trans_id, 7);
        assert!(inc.completion_requested);
        assert_eq!(inc.payload, &[1, 2, 3, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn parse_refuses_bad_headers() {
        let mut p = Outgoing::in_band(1, false, alloc::vec![0; 8])
            .encode()
            .unwrap();
        p[2] = 1; // offset8 < 2
        assert_eq!(Incoming::parse(&p), Err(WireError::BadPacketHeader));
        p[2] = 2;
        p[4] = 9; // len8 past the end
        assert!(matches!(
            Incoming::parse(&p),
            Err(WireError::Truncated { .. })
        ));
        p[4] = 3;
        p[6] = 2;
        assert_eq!(Incoming::parse(&p), Err(WireError::BadFlags(2)));
        p[6] = 0;
        p[0] = 1;
        assert_eq!(Incoming::parse(&p), Err(WireError::BadPacketType(1)));
    }

    #[test]
    fn transfer_pages_parse() {
        let mut p = Vec::new();
        p.put_u16(TYPE_XFER_PAGES);
        p.put_u16(5); // 0x18 + 2 ranges * 8 = 40 = 5 * 8
        p.put_u16(6);
        p.put_u16(1);
        p.put_u64(0);
        p.put_u16(0xCAFE);
        p.put_u16(0);
        p.put_u32(2);
        p.put_u32(10);
        p.put_u32(0);
        p.put_u32(20);
        p.put_u32(100);
        p.put_u64(0x6b);
        let inc = Incoming::parse(&p).unwrap();
        let IncomingKind::TransferPages(tp) = inc.kind else {
            panic!("kind");
        };
        assert_eq!(tp.pageset_id, 0xCAFE);
        let r: Vec<_> = tp.iter().collect();
        assert_eq!(r[1].byte_count, 20);
        assert_eq!(r[1].byte_offset, 100);
        // A range count that does not fit the header is refused.
        p[0x14] = 3;
        assert!(Incoming::parse(&p).is_err());
    }
}
