//! OPENCHANNEL and OPENCHANNEL_RESULT (sheet §3.7).
//!
//! Only the 148-byte OPENCHANNEL is modelled: the 156-byte OpenChannel2
//! needs feature flag 0x1, which this crate never requests.

use super::{get, get_u32, MessageError, MessageType, RawMessage};

/// Size of the device-specific userdata in OPENCHANNEL.
pub const OPEN_USERDATA_SIZE: usize = 120;
const OPEN_SIZE: usize = 0x1C + OPEN_USERDATA_SIZE;

/// OPENCHANNEL (5), 148 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenChannel {
    /// Channel to open.
    pub relid: u32,
    /// Echoed in the result (Linux uses the relid).
    pub openid: u32,
    /// GPADL covering both rings.
    pub ring_gpadl: u32,
    /// VP index to interrupt for this channel.
    pub target_vp: u32,
    /// Page index, inside the GPADL, of the host → guest ring.
    pub downstream_page_offset: u32,
    /// Device-specific bytes (storvsc: 24 zero bytes count as sent).
    pub userdata: [u8; OPEN_USERDATA_SIZE],
}

impl OpenChannel {
    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        if b.len() != OPEN_SIZE {
            return Err(MessageError::Size {
                msgtype: MessageType::OpenChannel,
                len: b.len(),
            });
        }
        Ok(OpenChannel {
            relid: get_u32(b, 8),
            openid: get_u32(b, 0x0C),
            ring_gpadl: get_u32(b, 0x10),
            target_vp: get_u32(b, 0x14),
            downstream_page_offset: get_u32(b, 0x18),
            userdata: get(b, 0x1C),
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let mut m = RawMessage::with_header(MessageType::OpenChannel, OPEN_SIZE);
        m.put_u32(8, self.relid);
        m.put_u32(0x0C, self.openid);
        m.put_u32(0x10, self.ring_gpadl);
        m.put_u32(0x14, self.target_vp);
        m.put_u32(0x18, self.downstream_page_offset);
        m.put(0x1C, &self.userdata);
        m
    }
}

/// OPENCHANNEL_RESULT (6), 20 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenResult {
    /// The channel.
    pub relid: u32,
    /// The openid of the request.
    pub openid: u32,
    /// 0 = open; anything else failed (OpenVMM 0x8000FFFF).
    pub status: u32,
}

impl OpenResult {
    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        if b.len() != 20 {
            return Err(MessageError::Size {
                msgtype: MessageType::OpenChannelResult,
                len: b.len(),
            });
        }
        Ok(OpenResult {
            relid: get_u32(b, 8),
            openid: get_u32(b, 0x0C),
            status: get_u32(b, 0x10),
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let mut m = RawMessage::with_header(MessageType::OpenChannelResult, 20);
        m.put_u32(8, self.relid);
        m.put_u32(0x0C, self.openid);
        m.put_u32(0x10, self.status);
        m
    }
}
