//! GPADL_HEADER / GPADL_BODY / GPADL_CREATED and the PFN splitter (sheet §3.6).
//!
//! This crate describes every GPADL as exactly one [`PageRange`] (as Linux
//! does): `byte_count`, `byte_offset` into the first page, then one PFN per
//! page touched. The header message carries up to 26 PFNs, each body up to 28.

use super::{get_u16, get_u32, get_u64, MessageError, MessageType, RawMessage};
use crate::range::{pages_touched, PageRange};

/// PFNs in a GPADL_HEADER: (240 − 20 − 8) / 8.
pub const HEADER_MAX_PFNS: usize = 26;
/// PFNs in a GPADL_BODY: (240 − 16) / 8.
pub const BODY_MAX_PFNS: usize = 28;
/// PFNs in one GPADL: range_buflen (u16) = 8 + 8 × PFNs must fit.
pub const GPADL_MAX_PFNS: usize = (u16::MAX as usize - 8) / 8;

const HEADER_FIXED: usize = 0x14;
const RANGE_HEADER: usize = 8;
const BODY_FIXED: usize = 0x10;

/// Up to 28 PFNs carried by one message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PfnChunk {
    len: u8,
    pfns: [u64; BODY_MAX_PFNS],
}

impl PfnChunk {
    /// A chunk; `None` if more than 28 PFNs.
    pub fn new(pfns: &[u64]) -> Option<PfnChunk> {
        if pfns.len() > BODY_MAX_PFNS {
            return None;
        }
        let mut chunk = PfnChunk {
            len: pfns.len() as u8,
            pfns: [0; BODY_MAX_PFNS],
        };
        chunk.pfns[..pfns.len()].copy_from_slice(pfns);
        Some(chunk)
    }

    /// The PFNs.
    pub fn as_slice(&self) -> &[u64] {
        &self.pfns[..self.len as usize]
    }

    fn read(b: &[u8], offset: usize, count: usize) -> PfnChunk {
        let mut chunk = PfnChunk {
            len: count.min(BODY_MAX_PFNS) as u8,
            pfns: [0; BODY_MAX_PFNS],
        };
        for (i, pfn) in chunk.pfns.iter_mut().take(count).enumerate() {
            *pfn = get_u64(b, offset + 8 * i);
        }
        chunk
    }
}

impl core::fmt::Debug for PfnChunk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// GPADL_HEADER (8) with its single range and the first PFNs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpadlHeader {
    /// Channel the GPADL is for.
    pub relid: u32,
    /// Guest-chosen handle, unique per connection.
    pub gpadl: u32,
    /// Bytes of range data in all messages (8 + 8 × total PFNs).
    pub range_buflen: u16,
    /// Number of ranges (always 1 here).
    pub rangecount: u16,
    /// Range byte count.
    pub byte_count: u32,
    /// Range byte offset into the first page.
    pub byte_offset: u32,
    /// The PFNs in this message (at most 26).
    pub pfns: PfnChunk,
}

impl GpadlHeader {
    /// PFNs the whole range needs (this message and its bodies).
    pub fn total_pfns(&self) -> usize {
        pages_touched(self.byte_offset, self.byte_count).unwrap_or(0)
    }

    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        let fixed = HEADER_FIXED + RANGE_HEADER;
        if b.len() < fixed || !(b.len() - fixed).is_multiple_of(8) {
            return Err(MessageError::Size {
                msgtype: MessageType::GpadlHeader,
                len: b.len(),
            });
        }
        let here = (b.len() - fixed) / 8;
        let rangecount = get_u16(b, 0x12);
        let range_buflen = get_u16(b, 0x10);
        let byte_count = get_u32(b, 0x14);
        let byte_offset = get_u32(b, 0x18);
        let total = pages_touched(byte_offset, byte_count).ok_or(MessageError::GpadlRange)?;
        if rangecount != 1
            || here > HEADER_MAX_PFNS
            || total > GPADL_MAX_PFNS
            || usize::from(range_buflen) != RANGE_HEADER + 8 * total
            || here != total.min(HEADER_MAX_PFNS)
        {
            return Err(MessageError::GpadlRange);
        }
        Ok(GpadlHeader {
            relid: get_u32(b, 8),
            gpadl: get_u32(b, 0x0C),
            range_buflen,
            rangecount,
            byte_count,
            byte_offset,
            pfns: PfnChunk::read(b, fixed, here),
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let pfns = self.pfns.as_slice();
        let pfns = &pfns[..pfns.len().min(HEADER_MAX_PFNS)];
        let fixed = HEADER_FIXED + RANGE_HEADER;
        let mut m = RawMessage::with_header(MessageType::GpadlHeader, fixed + 8 * pfns.len());
        m.put_u32(8, self.relid);
        m.put_u32(0x0C, self.gpadl);
        m.put_u16(0x10, self.range_buflen);
        m.put_u16(0x12, self.rangecount);
        m.put_u32(0x14, self.byte_count);
        m.put_u32(0x18, self.byte_offset);
        for (i, pfn) in pfns.iter().enumerate() {
            m.put_u64(fixed + 8 * i, *pfn);
        }
        m
    }
}

/// GPADL_BODY (9): more PFNs for a GPADL being built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpadlBody {
    /// Message number (Linux sends 0; OpenVMM: reserved).
    pub msgnumber: u32,
    /// The GPADL handle from the header.
    pub gpadl: u32,
    /// 1..=28 PFNs.
    pub pfns: PfnChunk,
}

impl GpadlBody {
    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        let here = b.len().saturating_sub(BODY_FIXED) / 8;
        if b.len() < BODY_FIXED + 8
            || !(b.len() - BODY_FIXED).is_multiple_of(8)
            || here > BODY_MAX_PFNS
        {
            return Err(MessageError::Size {
                msgtype: MessageType::GpadlBody,
                len: b.len(),
            });
        }
        Ok(GpadlBody {
            msgnumber: get_u32(b, 8),
            gpadl: get_u32(b, 0x0C),
            pfns: PfnChunk::read(b, BODY_FIXED, here),
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let pfns = self.pfns.as_slice();
        let mut m = RawMessage::with_header(MessageType::GpadlBody, BODY_FIXED + 8 * pfns.len());
        m.put_u32(8, self.msgnumber);
        m.put_u32(0x0C, self.gpadl);
        for (i, pfn) in pfns.iter().enumerate() {
            m.put_u64(BODY_FIXED + 8 * i, *pfn);
        }
        m
    }
}

/// GPADL_CREATED (10): the host's answer, 20 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpadlCreated {
    /// Channel from the header.
    pub relid: u32,
    /// The GPADL handle.
    pub gpadl: u32,
    /// 0 = success (OpenVMM: 0x8000FFFF on failure).
    pub status: u32,
}

impl GpadlCreated {
    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        if b.len() != 20 {
            return Err(MessageError::Size {
                msgtype: MessageType::GpadlCreated,
                len: b.len(),
            });
        }
        Ok(GpadlCreated {
            relid: get_u32(b, 8),
            gpadl: get_u32(b, 0x0C),
            status: get_u32(b, 0x10),
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let mut m = RawMessage::with_header(MessageType::GpadlCreated, 20);
        m.put_u32(8, self.relid);
        m.put_u32(0x0C, self.gpadl);
        m.put_u32(0x10, self.status);
        m
    }
}

/// The messages that create one GPADL: a header, then as many bodies as
/// the PFNs need, to be posted back to back (§3.6).
#[derive(Clone, Debug)]
pub struct GpadlMessages<'a> {
    relid: u32,
    gpadl: u32,
    range: PageRange<'a>,
    /// PFNs already emitted; `None` before the header.
    sent: Option<usize>,
}

impl<'a> GpadlMessages<'a> {
    /// The message sequence for `range` under handle `gpadl`; fails if
    /// the range has more than [`GPADL_MAX_PFNS`] PFNs.
    pub fn new(relid: u32, gpadl: u32, range: PageRange<'a>) -> Result<Self, MessageError> {
        if range.pfns().len() > GPADL_MAX_PFNS {
            return Err(MessageError::TooManyPfns(range.pfns().len()));
        }
        Ok(GpadlMessages {
            relid,
            gpadl,
            range,
            sent: None,
        })
    }

    /// How many messages the GPADL takes in all.
    pub fn message_count(&self) -> usize {
        let rest = self.range.pfns().len().saturating_sub(HEADER_MAX_PFNS);
        1 + rest.div_ceil(BODY_MAX_PFNS)
    }
}

impl Iterator for GpadlMessages<'_> {
    type Item = RawMessage;

    fn next(&mut self) -> Option<RawMessage> {
        let pfns = self.range.pfns();
        match self.sent {
            None => {
                let n = pfns.len().min(HEADER_MAX_PFNS);
                self.sent = Some(n);
                let header = GpadlHeader {
                    relid: self.relid,
                    gpadl: self.gpadl,
                    range_buflen: self.range.encoded_len() as u16,
                    rangecount: 1,
                    byte_count: self.range.byte_count(),
                    byte_offset: self.range.byte_offset(),
                    pfns: PfnChunk::new(&pfns[..n])?,
                };
                Some(header.encode())
            }
            Some(done) if done < pfns.len() => {
                let n = (pfns.len() - done).min(BODY_MAX_PFNS);
                self.sent = Some(done + n);
                let body = GpadlBody {
                    msgnumber: 0,
                    gpadl: self.gpadl,
                    pfns: PfnChunk::new(&pfns[done..done + n])?,
                };
                Some(body.encode())
            }
            Some(_) => None,
        }
    }
}
