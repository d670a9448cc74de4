//! VMBus channel-management messages: byte-exact encode and decode.
//!
//! Follows facts sheet §3: every message starts with `u32 msgtype, u32
//! padding` (§3.1), fits one 240-byte SynIC payload, and has the layout of
//! its §3.x table. [`ChannelMessage::decode`] accepts only the sizes those
//! tables give and returns a [`MessageError`] for anything else; it never
//! panics. Encoding produces a [`RawMessage`], a fixed buffer ready for
//! HvPostMessage.

mod channel;
mod contact;
mod gpadl;
mod offer;
mod wire;

use core::fmt;

pub use channel::{OpenChannel, OpenResult, OPEN_USERDATA_SIZE};
pub use contact::{
    ContactTarget, InitiateContact, Version, VersionResponse, FEATURE_CLIENT_ID, NEGOTIATION_ORDER,
};
pub use gpadl::{
    GpadlBody, GpadlCreated, GpadlHeader, GpadlMessages, PfnChunk, BODY_MAX_PFNS, GPADL_MAX_PFNS,
    HEADER_MAX_PFNS,
};
pub use offer::{
    Offer, CHN_FLAG_NAMED_PIPE, OFFER_SIZE, PIPE_MODE_BYTE, PIPE_MODE_MESSAGE, USER_DEFINED_SIZE,
};
pub use wire::{MessageType, RawMessage};

use crate::synic::MAX_PAYLOAD;
use wire::{get, get_guid, get_u16, get_u32, get_u64, get_u8};

/// Size of the common header (msgtype + padding).
pub const HEADER_SIZE: usize = 8;

/// Well-known connection id for messages (all versions, §3.1).
pub const MESSAGE_CONNECTION_ID: u32 = 1;
/// Connection id for INITIATE_CONTACT the Linux way (versions ≥ 5.0).
pub const MESSAGE_CONNECTION_ID_4: u32 = 4;
/// Event connection id (WS2008 hosts only).
pub const EVENT_CONNECTION_ID: u32 = 2;
/// Monitor connection id.
pub const MONITOR_CONNECTION_ID: u32 = 3;

/// Why bytes were not a valid channel message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// Fewer than 8 bytes, or more than 240.
    Length(usize),
    /// A msgtype above 29.
    UnknownType(u32),
    /// A known type this crate does not model (INVALID, 18..=29).
    Unsupported(MessageType),
    /// A size the layout of that type does not allow.
    Size {
        /// The message's type.
        msgtype: MessageType,
        /// Its length in bytes.
        len: usize,
    },
    /// A GPADL range whose byte count, offset, buffer length or PFN count
    /// disagree, or more than one range (this crate sends exactly one).
    GpadlRange,
    /// More PFNs than one message or one GPADL can carry.
    TooManyPfns(usize),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Length(n) => write!(f, "channel message of {n} bytes"),
            MessageError::UnknownType(t) => write!(f, "unknown channel message type {t}"),
            MessageError::Unsupported(t) => write!(f, "unsupported channel message {t:?}"),
            MessageError::Size { msgtype, len } => write!(f, "{msgtype:?} of {len} bytes"),
            MessageError::GpadlRange => f.write_str("inconsistent GPADL range"),
            MessageError::TooManyPfns(n) => write!(f, "{n} PFNs do not fit"),
        }
    }
}

/// A decoded channel message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelMessage {
    /// OFFERCHANNEL (1), host → guest.
    Offer(Offer),
    /// RESCIND_CHANNELOFFER (2), host → guest.
    Rescind {
        /// The withdrawn channel.
        relid: u32,
    },
    /// REQUESTOFFERS (3), guest → host.
    RequestOffers,
    /// ALLOFFERS_DELIVERED (4), host → guest.
    AllOffersDelivered,
    /// OPENCHANNEL (5), guest → host.
    OpenChannel(OpenChannel),
    /// OPENCHANNEL_RESULT (6), host → guest.
    OpenResult(OpenResult),
    /// CLOSECHANNEL (7), guest → host.
    CloseChannel {
        /// The channel to close.
        relid: u32,
    },
    /// GPADL_HEADER (8), guest → host.
    GpadlHeader(GpadlHeader),
    /// GPADL_BODY (9), guest → host.
    GpadlBody(GpadlBody),
    /// GPADL_CREATED (10), host → guest.
    GpadlCreated(GpadlCreated),
    /// GPADL_TEARDOWN (11), guest → host.
    GpadlTeardown {
        /// The channel the GPADL was made for.
        relid: u32,
        /// The GPADL handle.
        gpadl: u32,
    },
    /// GPADL_TORNDOWN (12), host → guest.
    GpadlTorndown {
        /// The GPADL handle.
        gpadl: u32,
    },
    /// RELID_RELEASED (13), guest → host.
    RelidReleased {
        /// The rescinded channel the guest no longer uses.
        relid: u32,
    },
    /// INITIATE_CONTACT (14), guest → host.
    InitiateContact(InitiateContact),
    /// VERSION_RESPONSE (15), host → guest.
    VersionResponse(VersionResponse),
    /// UNLOAD (16), guest → host.
    Unload,
    /// UNLOAD_RESPONSE (17), host → guest.
    UnloadResponse,
}

/// Size of RESCIND, CLOSECHANNEL and RELID_RELEASED: header + u32 relid.
const RELID_ONLY_SIZE: usize = 12;

impl ChannelMessage {
    /// Decodes one message. Every size is checked against the sheet.
    pub fn decode(bytes: &[u8]) -> Result<ChannelMessage, MessageError> {
        if bytes.len() < HEADER_SIZE || bytes.len() > MAX_PAYLOAD {
            return Err(MessageError::Length(bytes.len()));
        }
        let raw_type = get_u32(bytes, 0);
        let msgtype = MessageType::from_u32(raw_type).ok_or(MessageError::UnknownType(raw_type))?;
        let len = bytes.len();
        let exact = |want: usize| {
            if len == want {
                Ok(())
            } else {
                Err(MessageError::Size { msgtype, len })
            }
        };
        use MessageType as T;
        Ok(match msgtype {
            T::OfferChannel => ChannelMessage::Offer(Offer::decode(bytes)?),
            T::RescindChannelOffer => {
                exact(RELID_ONLY_SIZE)?;
                ChannelMessage::Rescind {
                    relid: get_u32(bytes, 8),
                }
            }
            T::RequestOffers => {
                exact(HEADER_SIZE)?;
                ChannelMessage::RequestOffers
            }
            T::AllOffersDelivered => {
                exact(HEADER_SIZE)?;
                ChannelMessage::AllOffersDelivered
            }
            T::OpenChannel => ChannelMessage::OpenChannel(OpenChannel::decode(bytes)?),
            T::OpenChannelResult => ChannelMessage::OpenResult(OpenResult::decode(bytes)?),
            T::CloseChannel => {
                exact(RELID_ONLY_SIZE)?;
                ChannelMessage::CloseChannel {
                    relid: get_u32(bytes, 8),
                }
            }
            T::GpadlHeader => ChannelMessage::GpadlHeader(GpadlHeader::decode(bytes)?),
            T::GpadlBody => ChannelMessage::GpadlBody(GpadlBody::decode(bytes)?),
            T::GpadlCreated => ChannelMessage::GpadlCreated(GpadlCreated::decode(bytes)?),
            T::GpadlTeardown => {
                exact(16)?;
                ChannelMessage::GpadlTeardown {
                    relid: get_u32(bytes, 8),
                    gpadl: get_u32(bytes, 12),
                }
            }
            T::GpadlTorndown => {
                exact(12)?;
                ChannelMessage::GpadlTorndown {
                    gpadl: get_u32(bytes, 8),
                }
            }
            T::RelidReleased => {
                exact(RELID_ONLY_SIZE)?;
                ChannelMessage::RelidReleased {
                    relid: get_u32(bytes, 8),
                }
            }
            T::InitiateContact => ChannelMessage::InitiateContact(InitiateContact::decode(bytes)?),
            T::VersionResponse => ChannelMessage::VersionResponse(VersionResponse::decode(bytes)?),
            T::Unload => {
                exact(HEADER_SIZE)?;
                ChannelMessage::Unload
            }
            T::UnloadResponse => {
                exact(HEADER_SIZE)?;
                ChannelMessage::UnloadResponse
            }
            other => return Err(MessageError::Unsupported(other)),
        })
    }

    /// Encodes the message.
    pub fn encode(&self) -> RawMessage {
        let relid_only = |t: MessageType, relid: u32| {
            let mut m = RawMessage::with_header(t, RELID_ONLY_SIZE);
            m.put_u32(8, relid);
            m
        };
        match self {
            ChannelMessage::Offer(o) => o.encode(),
            ChannelMessage::Rescind { relid } => {
                relid_only(MessageType::RescindChannelOffer, *relid)
            }
            ChannelMessage::RequestOffers => {
                RawMessage::with_header(MessageType::RequestOffers, HEADER_SIZE)
            }
            ChannelMessage::AllOffersDelivered => {
                RawMessage::with_header(MessageType::AllOffersDelivered, HEADER_SIZE)
            }
            ChannelMessage::OpenChannel(o) => o.encode(),
            ChannelMessage::OpenResult(r) => r.encode(),
            ChannelMessage::CloseChannel { relid } => relid_only(MessageType::CloseChannel, *relid),
            ChannelMessage::GpadlHeader(h) => h.encode(),
            ChannelMessage::GpadlBody(b) => b.encode(),
            ChannelMessage::GpadlCreated(c) => c.encode(),
            ChannelMessage::GpadlTeardown { relid, gpadl } => {
                let mut m = RawMessage::with_header(MessageType::GpadlTeardown, 16);
                m.put_u32(8, *relid);
                m.put_u32(12, *gpadl);
                m
            }
            ChannelMessage::GpadlTorndown { gpadl } => {
                let mut m = RawMessage::with_header(MessageType::GpadlTorndown, 12);
                m.put_u32(8, *gpadl);
                m
            }
            ChannelMessage::RelidReleased { relid } => {
                relid_only(MessageType::RelidReleased, *relid)
            }
            ChannelMessage::InitiateContact(c) => c.encode(),
            ChannelMessage::VersionResponse(r) => r.encode(),
            ChannelMessage::Unload => RawMessage::with_header(MessageType::Unload, HEADER_SIZE),
            ChannelMessage::UnloadResponse => {
                RawMessage::with_header(MessageType::UnloadResponse, HEADER_SIZE)
            }
        }
    }

    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        use MessageType as T;
        match self {
            ChannelMessage::Offer(_) => T::OfferChannel,
            ChannelMessage::Rescind { .. } => T::RescindChannelOffer,
            ChannelMessage::RequestOffers => T::RequestOffers,
            ChannelMessage::AllOffersDelivered => T::AllOffersDelivered,
            ChannelMessage::OpenChannel(_) => T::OpenChannel,
            ChannelMessage::OpenResult(_) => T::OpenChannelResult,
            ChannelMessage::CloseChannel { .. } => T::CloseChannel,
            ChannelMessage::GpadlHeader(_) => T::GpadlHeader,
            ChannelMessage::GpadlBody(_) => T::GpadlBody,
            ChannelMessage::GpadlCreated(_) => T::GpadlCreated,
            ChannelMessage::GpadlTeardown { .. } => T::GpadlTeardown,
            ChannelMessage::GpadlTorndown { .. } => T::GpadlTorndown,
            ChannelMessage::RelidReleased { .. } => T::RelidReleased,
            ChannelMessage::InitiateContact(_) => T::InitiateContact,
            ChannelMessage::VersionResponse(_) => T::VersionResponse,
            ChannelMessage::Unload => T::Unload,
            ChannelMessage::UnloadResponse => T::UnloadResponse,
        }
    }
}

impl From<crate::range::RangeError> for MessageError {
    fn from(_: crate::range::RangeError) -> MessageError {
        MessageError::GpadlRange
    }
}

#[cfg(test)]
mod tests;
