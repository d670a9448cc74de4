//! OFFERCHANNEL, the 196-byte description of one channel (sheet §3.5).

use super::{get, get_guid, get_u16, get_u32, get_u8, MessageError, MessageType, RawMessage};
use crate::guid::{DeviceClass, Guid};

/// Size of OFFERCHANNEL.
pub const OFFER_SIZE: usize = 196;
/// chn_flags 0x0010: the channel runs in named-pipe mode (§3.5, §4.6).
pub const CHN_FLAG_NAMED_PIPE: u16 = 0x0010;
/// user_defined pipe_mode value: byte mode.
pub const PIPE_MODE_BYTE: u32 = 0;
/// user_defined pipe_mode value: message mode.
pub const PIPE_MODE_MESSAGE: u32 = 4;
/// Size of the user_defined area.
pub const USER_DEFINED_SIZE: usize = 120;

/// One OFFERCHANNEL message. Flag bytes are kept raw so a decoded offer
/// encodes back to the same bytes; the accessors interpret them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// Device class (§5).
    pub if_type: Guid,
    /// Instance, unique per device.
    pub if_instance: Guid,
    /// chn_flags (0x0010 named pipe, …).
    pub chn_flags: u16,
    /// MMIO space the device wants, in MiB (synthvid: framebuffer size).
    pub mmio_megabytes: u16,
    /// Device-specific bytes; pipe offers start with u32 pipe_mode.
    pub user_defined: [u8; USER_DEFINED_SIZE],
    /// 0 for a primary channel.
    pub sub_channel_index: u16,
    /// Reserved (OpenVMM: mmio_megabytes_optional).
    pub mmio_megabytes_optional: u16,
    /// Channel id used by every other message and the event bitmap.
    pub child_relid: u32,
    /// Monitor id (0xFF when none).
    pub monitor_id: u8,
    /// Byte 0xBD; bit 0 = monitor allocated.
    pub monitor_flags: u8,
    /// Bytes 0xBE..0xC0; bit 0 = dedicated interrupt.
    pub interrupt_flags: u16,
    /// Connection id for HvSignalEvent on this channel.
    pub connection_id: u32,
}

impl Offer {
    /// The device class.
    pub fn class(&self) -> DeviceClass {
        DeviceClass::from_guid(self.if_type)
    }

    /// Whether monitored notification is set up for this channel.
    pub fn monitor_allocated(&self) -> bool {
        self.monitor_flags & 1 != 0
    }

    /// Whether the channel has its own interrupt (all channels on Win8+).
    pub fn is_dedicated_interrupt(&self) -> bool {
        self.interrupt_flags & 1 != 0
    }

    /// The pipe mode of a named-pipe offer, `None` for other offers.
    pub fn pipe_mode(&self) -> Option<u32> {
        if self.chn_flags & CHN_FLAG_NAMED_PIPE == 0 {
            return None;
        }
        Some(get_u32(&self.user_defined, 0))
    }

    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        if b.len() != OFFER_SIZE {
            return Err(MessageError::Size {
                msgtype: MessageType::OfferChannel,
                len: b.len(),
            });
        }
        Ok(Offer {
            if_type: get_guid(b, 0x08),
            if_instance: get_guid(b, 0x18),
            chn_flags: get_u16(b, 0x38),
            mmio_megabytes: get_u16(b, 0x3A),
            user_defined: get(b, 0x3C),
            sub_channel_index: get_u16(b, 0xB4),
            mmio_megabytes_optional: get_u16(b, 0xB6),
            child_relid: get_u32(b, 0xB8),
            monitor_id: get_u8(b, 0xBC),
            monitor_flags: get_u8(b, 0xBD),
            interrupt_flags: get_u16(b, 0xBE),
            connection_id: get_u32(b, 0xC0),
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let mut m = RawMessage::with_header(MessageType::OfferChannel, OFFER_SIZE);
        m.put(0x08, &self.if_type.0);
        m.put(0x18, &self.if_instance.0);
        m.put_u16(0x38, self.chn_flags);
        m.put_u16(0x3A, self.mmio_megabytes);
        m.put(0x3C, &self.user_defined);
        m.put_u16(0xB4, self.sub_channel_index);
        m.put_u16(0xB6, self.mmio_megabytes_optional);
        m.put_u32(0xB8, self.child_relid);
        m.put_u8(0xBC, self.monitor_id);
        m.put_u8(0xBD, self.monitor_flags);
        m.put_u16(0xBE, self.interrupt_flags);
        m.put_u32(0xC0, self.connection_id);
        m
    }
}
