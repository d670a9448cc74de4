//! Ring packets: the 16-byte descriptor, typed packets, outgoing encoders.
//!
//! Follows facts sheet §4.3: descriptor (type, offset8, len8, flags,
//! trans_id), the extra headers of GPA-direct (9) and transfer-page (7)
//! packets, in-band (6) and completion (11) packets. [`Packet::parse`]
//! checks every length and count against the bytes it got before
//! handing out a slice. Pipe framing (§4.6) lives in [`pipe`].

mod parse;
pub mod pipe;

use alloc::vec::Vec;
use core::fmt;

pub use parse::{GpaRanges, Packet, PfnList, RangeRef, TransferRange, TransferRanges};

use crate::range::PageRange;
use crate::ring::{RingError, RingMemory, RingProducer, WriteOutcome};

/// Size of the descriptor.
pub const DESCRIPTOR_SIZE: usize = 16;
/// Flags bit 0: the receiver must answer with a completion packet.
pub const FLAG_COMPLETION_REQUESTED: u16 = 1;
/// Longest packet a u16 len8 can describe.
pub const MAX_PACKET_LEN: usize = u16::MAX as usize * 8;

/// Packet types (§4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum PacketType {
    Invalid = 0x0,
    Synch = 0x1,
    AddTransferPageSet = 0x2,
    RemoveTransferPageSet = 0x3,
    EstablishGpadl = 0x4,
    TeardownGpadl = 0x5,
    DataInBand = 0x6,
    DataUsingTransferPages = 0x7,
    DataUsingGpadl = 0x8,
    DataUsingGpaDirect = 0x9,
    CancelRequest = 0xA,
    Completion = 0xB,
    DataUsingAdditionalPacket = 0xC,
    AdditionalData = 0xD,
}

impl PacketType {
    /// Maps a wire value; `None` above 0xD.
    pub fn from_u16(value: u16) -> Option<PacketType> {
        use PacketType::*;
        const ALL: [PacketType; 14] = [
            Invalid,
            Synch,
            AddTransferPageSet,
            RemoveTransferPageSet,
            EstablishGpadl,
            TeardownGpadl,
            DataInBand,
            DataUsingTransferPages,
            DataUsingGpadl,
            DataUsingGpaDirect,
            CancelRequest,
            Completion,
            DataUsingAdditionalPacket,
            AdditionalData,
        ];
        ALL.get(value as usize).copied()
    }
}

/// Why a packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// Fewer bytes than the descriptor or its len8 claim.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes there.
        got: usize,
    },
    /// offset8 < 2 or len8 < offset8.
    Offsets {
        /// The descriptor's offset8.
        offset8: u16,
        /// The descriptor's len8.
        len8: u16,
    },
    /// A type value above 0xD.
    UnknownType(u16),
    /// A type the devices here never exchange (only 6, 7, 9, 11 are used).
    UnsupportedType(PacketType),
    /// Flag bits other than bit 0.
    Flags(u16),
    /// An extra header whose ranges do not fit or make no sense.
    Ranges,
    /// A request asking for completion with trans_id 0, which Hyper-V
    /// never answers (§4.3).
    ZeroTransactionId,
    /// A packet longer than len8 can describe.
    TooLarge(usize),
    /// A pipe header whose size exceeds the payload or 16384 bytes.
    PipeSize(u32),
    /// A pipe message type this crate does not know.
    PipeType(u32),
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Truncated { needed, got } => {
                write!(f, "packet needs {needed} bytes, has {got}")
            }
            PacketError::Offsets { offset8, len8 } => {
                write!(f, "packet offset8 {offset8} / len8 {len8} invalid")
            }
            PacketError::UnknownType(t) => write!(f, "unknown packet type {t:#x}"),
            PacketError::UnsupportedType(t) => write!(f, "unsupported packet type {t:?}"),
            PacketError::Flags(x) => write!(f, "unknown packet flags {x:#x}"),
            PacketError::Ranges => f.write_str("packet ranges do not fit"),
            PacketError::ZeroTransactionId => f.write_str("completion requested with trans_id 0"),
            PacketError::TooLarge(n) => write!(f, "packet of {n} bytes too large"),
            PacketError::PipeSize(n) => write!(f, "pipe size {n} invalid"),
            PacketError::PipeType(t) => write!(f, "unknown pipe message type {t}"),
        }
    }
}

/// The packet descriptor (§4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// Raw packet type (see [`PacketType`]).
    pub packet_type: u16,
    /// Payload start, in 8-byte units from the packet start (≥ 2).
    pub offset8: u16,
    /// Packet length in 8-byte units, trailer excluded.
    pub len8: u16,
    /// Bit 0: completion requested.
    pub flags: u16,
    /// Request id, echoed in the completion.
    pub trans_id: u64,
}

impl Descriptor {
    /// Reads the first 16 bytes of `b`.
    pub fn parse(b: &[u8]) -> Result<Descriptor, PacketError> {
        let d = b.get(..DESCRIPTOR_SIZE).ok_or(PacketError::Truncated {
            needed: DESCRIPTOR_SIZE,
            got: b.len(),
        })?;
        let u16_at = |o: usize| u16::from_le_bytes([d[o], d[o + 1]]);
        let mut id = [0; 8];
        id.copy_from_slice(&d[8..16]);
        Ok(Descriptor {
            packet_type: u16_at(0),
            offset8: u16_at(2),
            len8: u16_at(4),
            flags: u16_at(6),
            trans_id: u64::from_le_bytes(id),
        })
    }

    /// The 16 wire bytes.
    pub fn encode(&self) -> [u8; DESCRIPTOR_SIZE] {
        let mut d = [0; DESCRIPTOR_SIZE];
        d[0..2].copy_from_slice(&self.packet_type.to_le_bytes());
        d[2..4].copy_from_slice(&self.offset8.to_le_bytes());
        d[4..6].copy_from_slice(&self.len8.to_le_bytes());
        d[6..8].copy_from_slice(&self.flags.to_le_bytes());
        d[8..16].copy_from_slice(&self.trans_id.to_le_bytes());
        d
    }

    /// Checks offset8 ≥ 2 and len8 ≥ offset8 (§4.5 step 2).
    pub fn check_offsets(&self) -> Result<(), PacketError> {
        if self.offset8 < 2 || self.len8 < self.offset8 {
            return Err(PacketError::Offsets {
                offset8: self.offset8,
                len8: self.len8,
            });
        }
        Ok(())
    }

    /// Packet bytes, trailer excluded.
    pub fn packet_len(&self) -> usize {
        self.len8 as usize * 8
    }

    /// Whether the sender wants a completion.
    pub fn completion_requested(&self) -> bool {
        self.flags & FLAG_COMPLETION_REQUESTED != 0
    }
}

/// A packet to send: descriptor and extra header, then a borrowed payload,
/// then zero padding to the next multiple of 8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingPacket<'a> {
    header: Vec<u8>,
    payload: &'a [u8],
}

const ZEROS: [u8; 8] = [0; 8];

impl<'a> OutgoingPacket<'a> {
    fn build(
        packet_type: PacketType,
        flags: u16,
        trans_id: u64,
        extra: &[u8],
        payload: &'a [u8],
    ) -> Result<Self, PacketError> {
        if flags & FLAG_COMPLETION_REQUESTED != 0 && trans_id == 0 {
            return Err(PacketError::ZeroTransactionId);
        }
        let header_len = DESCRIPTOR_SIZE + extra.len();
        let total = (header_len + payload.len()).next_multiple_of(8);
        if total > MAX_PACKET_LEN || header_len > MAX_PACKET_LEN {
            return Err(PacketError::TooLarge(total));
        }
        let descriptor = Descriptor {
            packet_type: packet_type as u16,
            offset8: (header_len / 8) as u16,
            len8: (total / 8) as u16,
            flags,
            trans_id,
        };
        let mut header = Vec::with_capacity(header_len);
        header.extend_from_slice(&descriptor.encode());
        header.extend_from_slice(extra);
        Ok(OutgoingPacket { header, payload })
    }

    fn flags(completion_requested: bool) -> u16 {
        if completion_requested {
            FLAG_COMPLETION_REQUESTED
        } else {
            0
        }
    }

    /// A DATA_INBAND packet; `trans_id` must be non-zero if a completion
    /// is requested.
    pub fn inband(
        trans_id: u64,
        completion_requested: bool,
        payload: &'a [u8],
    ) -> Result<Self, PacketError> {
        let flags = Self::flags(completion_requested);
        Self::build(PacketType::DataInBand, flags, trans_id, &[], payload)
    }

    /// A COMP packet answering the request with `trans_id`.
    pub fn completion(trans_id: u64, payload: &'a [u8]) -> Result<Self, PacketError> {
        Self::build(PacketType::Completion, 0, trans_id, &[], payload)
    }

    /// A DATA_USING_GPA_DIRECT packet over `ranges` (at least one).
    pub fn gpa_direct(
        trans_id: u64,
        completion_requested: bool,
        ranges: &[PageRange<'_>],
        payload: &'a [u8],
    ) -> Result<Self, PacketError> {
        if ranges.is_empty() {
            return Err(PacketError::Ranges);
        }
        let size: usize = ranges.iter().map(|r| r.encoded_len()).sum();
        let mut extra = Vec::with_capacity(8 + size);
        extra.extend_from_slice(&0u32.to_le_bytes());
        extra.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
        for range in ranges {
            extra.extend_from_slice(&range.byte_count().to_le_bytes());
            extra.extend_from_slice(&range.byte_offset().to_le_bytes());
            for pfn in range.pfns() {
                extra.extend_from_slice(&pfn.to_le_bytes());
            }
        }
        let flags = Self::flags(completion_requested);
        Self::build(
            PacketType::DataUsingGpaDirect,
            flags,
            trans_id,
            &extra,
            payload,
        )
    }

    /// Packet bytes (len8 × 8), trailer excluded.
    pub fn len(&self) -> usize {
        (self.header.len() + self.payload.len()).next_multiple_of(8)
    }

    /// Always false: a packet has at least its descriptor.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn padding(&self) -> &'static [u8] {
        &ZEROS[..self.len() - self.header.len() - self.payload.len()]
    }

    /// The packet bytes as the ring will hold them, trailer excluded.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        v.extend_from_slice(&self.header);
        v.extend_from_slice(self.payload);
        v.extend_from_slice(self.padding());
        v
    }

    /// Writes the packet (and its trailer) into a ring.
    pub fn write_to<M: RingMemory>(
        &self,
        ring: &mut RingProducer<M>,
    ) -> Result<WriteOutcome, RingError> {
        ring.write(&[&self.header, self.payload, self.padding()])
    }
}

#[cfg(test)]
mod tests;
