//! Keyboard wire messages (§6.1, vectors §9.5).

use alloc::vec::Vec;

use super::KeyboardError;
use crate::wire::{self, Put};

/// Protocol version 1.0 (major << 16 | minor).
pub const VERSION_1_0: u32 = 0x0001_0000;
/// PROTOCOL_REQUEST, guest → host.
pub const MSG_PROTOCOL_REQUEST: u32 = 1;
/// PROTOCOL_RESPONSE, host → guest.
pub const MSG_PROTOCOL_RESPONSE: u32 = 2;
/// EVENT (one keystroke), host → guest.
pub const MSG_EVENT: u32 = 3;
/// SET_LED_INDICATORS, guest → host.
pub const MSG_SET_LED_INDICATORS: u32 = 4;
/// Longest keyboard message (§6.1: messages ≤ 256 bytes).
pub const MAX_MESSAGE_LEN: usize = 256;

/// EVENT info bit 0: make_code is a UTF-16 unit, not a scan code.
pub const INFO_UNICODE: u32 = 1 << 0;
/// EVENT info bit 1: key up.
pub const INFO_BREAK: u32 = 1 << 1;
/// EVENT info bit 2: E0 prefix.
pub const INFO_E0: u32 = 1 << 2;
/// EVENT info bit 3: E1 prefix.
pub const INFO_E1: u32 = 1 << 3;

/// Lock-key LEDs for SET_LED_INDICATORS (MSVM's bit values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leds {
    /// Scroll Lock (0x1).
    pub scroll: bool,
    /// Num Lock (0x2).
    pub num: bool,
    /// Caps Lock (0x4).
    pub caps: bool,
}

impl Leds {
    /// The led_flags word.
    pub fn flags(&self) -> u16 {
        u16::from(self.scroll) | u16::from(self.num) << 1 | u16::from(self.caps) << 2
    }

    /// Leds from a led_flags word (other bits ignored).
    pub fn from_flags(flags: u16) -> Self {
        Self {
            scroll: flags & 1 != 0,
            num: flags & 2 != 0,
            caps: flags & 4 != 0,
        }
    }
}

/// One keyboard message, either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyboardMessage {
    /// Type 1: the version the guest asks for.
    ProtocolRequest {
        /// Requested version, [`VERSION_1_0`].
        version: u32,
    },
    /// Type 2: bit 0 of `status` = accepted.
    ProtocolResponse {
        /// Raw status word.
        status: u32,
    },
    /// Type 3: one keystroke.
    Event {
        /// Set-1 make code (or UTF-16 unit with [`INFO_UNICODE`]).
        make_code: u16,
        /// Info bits ([`INFO_BREAK`], [`INFO_E0`], ...).
        info: u32,
    },
    /// Type 4: lock LEDs.
    SetLeds(Leds),
}

impl KeyboardMessage {
    /// Encodes the message (8 or 12 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        match *self {
            Self::ProtocolRequest { version } => {
                out.put_u32(MSG_PROTOCOL_REQUEST);
                out.put_u32(version);
            }
            Self::ProtocolResponse { status } => {
                out.put_u32(MSG_PROTOCOL_RESPONSE);
                out.put_u32(status);
            }
            Self::Event { make_code, info } => {
                out.put_u32(MSG_EVENT);
                out.put_u16(make_code);
                out.put_u16(0);
                out.put_u32(info);
            }
            Self::SetLeds(leds) => {
                out.put_u32(MSG_SET_LED_INDICATORS);
                out.put_u16(leds.flags());
                out.put_u16(0);
            }
        }
        out
    }

    /// Decodes a message; trailing ring padding is allowed, anything shorter
    /// than the message's layout or longer than 256 bytes is not.
    pub fn decode(bytes: &[u8]) -> Result<Self, KeyboardError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(KeyboardError::TooLong(bytes.len()));
        }
        let msg_type = wire::u32_at(bytes, 0)?;
        Ok(match msg_type {
            MSG_PROTOCOL_REQUEST => Self::ProtocolRequest {
                version: wire::u32_at(bytes, 4)?,
            },
            MSG_PROTOCOL_RESPONSE => Self::ProtocolResponse {
                status: wire::u32_at(bytes, 4)?,
            },
            MSG_EVENT => Self::Event {
                make_code: wire::u16_at(bytes, 4)?,
                info: wire::u32_at(bytes, 8)?,
            },
            MSG_SET_LED_INDICATORS => Self::SetLeds(Leds::from_flags(wire::u16_at(bytes, 4)?)),
            other => return Err(KeyboardError::UnknownMessage(other)),
        })
    }

    /// The type word of this message.
    pub fn msg_type(&self) -> u32 {
        match self {
            Self::ProtocolRequest { .. } => MSG_PROTOCOL_REQUEST,
            Self::ProtocolResponse { .. } => MSG_PROTOCOL_RESPONSE,
            Self::Event { .. } => MSG_EVENT,
            Self::SetLeds(_) => MSG_SET_LED_INDICATORS,
        }
    }
}
