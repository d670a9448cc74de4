//! The wire basics of channel messages: types, the raw buffer, field access.
//!
//! Facts sheet §3.1 (8-byte header, 240-byte limit) and §3.2 (types).

use core::fmt;

use super::HEADER_SIZE;
use crate::synic::MAX_PAYLOAD;

/// Channel message types (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
#[allow(missing_docs)]
pub enum MessageType {
    Invalid = 0,
    OfferChannel = 1,
    RescindChannelOffer = 2,
    RequestOffers = 3,
    AllOffersDelivered = 4,
    OpenChannel = 5,
    OpenChannelResult = 6,
    CloseChannel = 7,
    GpadlHeader = 8,
    GpadlBody = 9,
    GpadlCreated = 10,
    GpadlTeardown = 11,
    GpadlTorndown = 12,
    RelidReleased = 13,
    InitiateContact = 14,
    VersionResponse = 15,
    Unload = 16,
    UnloadResponse = 17,
    OpenReservedChannel = 18,
    CloseReservedChannel = 19,
    CloseReservedResponse = 20,
    TlConnectRequest = 21,
    ModifyChannel = 22,
    TlConnectResult = 23,
    ModifyChannelResponse = 24,
    ModifyConnection = 25,
    ModifyConnectionResponse = 26,
    Pause = 27,
    PauseResponse = 28,
    Resume = 29,
}

impl MessageType {
    /// Maps a wire value; `None` above 29.
    pub fn from_u32(value: u32) -> Option<MessageType> {
        use MessageType::*;
        const ALL: [MessageType; 30] = [
            Invalid,
            OfferChannel,
            RescindChannelOffer,
            RequestOffers,
            AllOffersDelivered,
            OpenChannel,
            OpenChannelResult,
            CloseChannel,
            GpadlHeader,
            GpadlBody,
            GpadlCreated,
            GpadlTeardown,
            GpadlTorndown,
            RelidReleased,
            InitiateContact,
            VersionResponse,
            Unload,
            UnloadResponse,
            OpenReservedChannel,
            CloseReservedChannel,
            CloseReservedResponse,
            TlConnectRequest,
            ModifyChannel,
            TlConnectResult,
            ModifyChannelResponse,
            ModifyConnection,
            ModifyConnectionResponse,
            Pause,
            PauseResponse,
            Resume,
        ];
        ALL.get(value as usize).copied()
    }
}

/// An encoded channel message: at most 240 bytes, the HvPostMessage payload.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RawMessage {
    len: u8,
    bytes: [u8; MAX_PAYLOAD],
}

impl RawMessage {
    /// A zeroed message of `len` bytes (clamped to 8..=240) with its header.
    pub(super) fn with_header(msgtype: MessageType, len: usize) -> RawMessage {
        let len = len.clamp(HEADER_SIZE, MAX_PAYLOAD);
        let mut msg = RawMessage {
            len: len as u8,
            bytes: [0; MAX_PAYLOAD],
        };
        msg.put_u32(0, msgtype as u32);
        msg
    }

    pub(super) fn put(&mut self, offset: usize, value: &[u8]) {
        if let Some(dst) = self.bytes.get_mut(offset..offset + value.len()) {
            dst.copy_from_slice(value);
        }
    }

    pub(super) fn put_u8(&mut self, offset: usize, value: u8) {
        self.put(offset, &[value]);
    }

    pub(super) fn put_u16(&mut self, offset: usize, value: u16) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(super) fn put_u32(&mut self, offset: usize, value: u32) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(super) fn put_u64(&mut self, offset: usize, value: u64) {
        self.put(offset, &value.to_le_bytes());
    }

    /// The message bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The message length (the HvPostMessage payload_size).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: every message has at least its 8-byte header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The message's type.
    pub fn message_type(&self) -> Option<MessageType> {
        MessageType::from_u32(get_u32(&self.bytes, 0))
    }
}

impl fmt::Debug for RawMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RawMessage({:?}, {:02x?})",
            self.message_type(),
            self.as_bytes()
        )
    }
}

// Field readers over already-length-checked input; out of range reads give
// zero instead of panicking, so a wrong length check cannot become a panic.
pub(super) fn get<const N: usize>(b: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(src) = b.get(offset..offset + N) {
        out.copy_from_slice(src);
    }
    out
}

pub(super) fn get_u8(b: &[u8], offset: usize) -> u8 {
    get::<1>(b, offset)[0]
}

pub(super) fn get_u16(b: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(get(b, offset))
}

pub(super) fn get_u32(b: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(get(b, offset))
}

pub(super) fn get_u64(b: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(get(b, offset))
}

pub(super) fn get_guid(b: &[u8], offset: usize) -> crate::guid::Guid {
    crate::guid::Guid(get(b, offset))
}
