//! Errors of the control plane: the caller's mistakes and the host's.

use core::fmt;

use crate::message::{MessageError, MessageType};
use crate::synic::HvStatus;

/// A request the client refused; nothing was sent and no state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The request needs an established connection.
    NotConnected,
    /// `connect` while already connected or connecting.
    AlreadyConnected,
    /// `contact_post_failed` while no INITIATE_CONTACT is outstanding.
    NotContacting,
    /// No offer with this relid.
    UnknownChannel(u32),
    /// The channel was rescinded; only `close_channel`, `teardown_gpadl`
    /// and `release_channel` remain.
    Rescinded(u32),
    /// The channel is opening or open already.
    ChannelBusy(u32),
    /// The channel is not open.
    ChannelNotOpen(u32),
    /// `release_channel` for a channel the host did not rescind.
    NotRescinded(u32),
    /// No GPADL with this handle.
    UnknownGpadl(u32),
    /// The GPADL is still being created or torn down.
    GpadlNotReady(u32),
    /// The GPADL holds the rings of an open channel: close it first.
    GpadlInUse(u32),
    /// The GPADL belongs to another channel.
    GpadlOtherChannel {
        /// The GPADL.
        gpadl: u32,
        /// The channel it was created for.
        relid: u32,
    },
    /// The ring split does not leave each ring a header page and at least
    /// one data page inside a whole-page GPADL (§3.7, §8.1).
    RingSplit {
        /// Pages in the GPADL.
        pages: usize,
        /// The requested downstream page offset.
        downstream: u32,
    },
    /// More than 120 bytes of OPENCHANNEL userdata.
    UserDataTooLong(usize),
    /// The client's GPADL table is full.
    TooManyGpadls,
    /// The PFN list cannot be sent (too many PFNs).
    Message(MessageError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RequestError as E;
        match self {
            E::NotConnected => f.write_str("not connected"),
            E::AlreadyConnected => f.write_str("already connected or connecting"),
            E::NotContacting => f.write_str("no INITIATE_CONTACT outstanding"),
            E::UnknownChannel(r) => write!(f, "no channel with relid {r}"),
            E::Rescinded(r) => write!(f, "channel {r} was rescinded"),
            E::ChannelBusy(r) => write!(f, "channel {r} is opening or open"),
            E::ChannelNotOpen(r) => write!(f, "channel {r} is not open"),
            E::NotRescinded(r) => write!(f, "channel {r} was not rescinded"),
            E::UnknownGpadl(g) => write!(f, "no GPADL {g:#x}"),
            E::GpadlNotReady(g) => write!(f, "GPADL {g:#x} not ready"),
            E::GpadlInUse(g) => write!(f, "GPADL {g:#x} holds open rings"),
            E::GpadlOtherChannel { gpadl, relid } => {
                write!(f, "GPADL {gpadl:#x} belongs to channel {relid}")
            }
            E::RingSplit { pages, downstream } => {
                write!(f, "ring split at page {downstream} of {pages} invalid")
            }
            E::UserDataTooLong(n) => write!(f, "{n} bytes of userdata (max 120)"),
            E::TooManyGpadls => f.write_str("too many GPADLs"),
            E::Message(e) => write!(f, "{e}"),
        }
    }
}

/// Something the host sent that the client refused. Reported as
/// `Event::Error`; the message had no other effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// The bytes are not a valid channel message.
    Decode(MessageError),
    /// A message before any INITIATE_CONTACT (a host drops these itself).
    NotConnected(MessageType),
    /// A guest → host message type arriving from the host.
    WrongDirection(MessageType),
    /// A message that makes no sense in the current state (e.g. an offer
    /// before the VERSION_RESPONSE).
    Unexpected(MessageType),
    /// VERSION_RESPONSE with no INITIATE_CONTACT outstanding.
    UnexpectedVersionResponse,
    /// The accepted VERSION_RESPONSE names an unusable msg_conn_id.
    BadMessageConnectionId(u32),
    /// Every version was refused.
    NoCommonVersion,
    /// Posting INITIATE_CONTACT failed for good.
    ContactPostFailed(HvStatus),
    /// An offer with relid 0 or past the 2048-bit event bitmap.
    InvalidRelid(u32),
    /// An offer for a relid already offered.
    DuplicateRelid(u32),
    /// An offer whose signalling connection id is 0 or over 24 bits.
    BadOfferConnectionId {
        /// The offer.
        relid: u32,
        /// Its connection id.
        connection_id: u32,
    },
    /// More offers than the configured channel limit.
    TooManyChannels,
    /// A second ALLOFFERS_DELIVERED.
    DuplicateAllOffersDelivered,
    /// A rescind for a relid never offered.
    UnknownChannel(u32),
    /// A second rescind for the same channel.
    AlreadyRescinded(u32),
    /// OPENCHANNEL_RESULT for a channel not being opened.
    UnexpectedOpenResult(u32),
    /// OPENCHANNEL_RESULT with the wrong openid.
    OpenIdMismatch {
        /// The channel.
        relid: u32,
        /// The openid received.
        openid: u32,
    },
    /// GPADL_CREATED for a handle not being created, or naming the wrong
    /// channel.
    UnexpectedGpadlCreated {
        /// The GPADL handle.
        gpadl: u32,
        /// The relid the message named.
        relid: u32,
    },
    /// GPADL_TORNDOWN for a handle not being torn down.
    UnexpectedTorndown(u32),
    /// UNLOAD_RESPONSE without an UNLOAD.
    UnexpectedUnloadResponse,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolError as E;
        match self {
            E::Decode(e) => write!(f, "undecodable message: {e}"),
            E::NotConnected(t) => write!(f, "{t:?} before contact"),
            E::WrongDirection(t) => write!(f, "guest-to-host message {t:?} from the host"),
            E::Unexpected(t) => write!(f, "unexpected {t:?}"),
            E::UnexpectedVersionResponse => f.write_str("unsolicited VERSION_RESPONSE"),
            E::BadMessageConnectionId(id) => write!(f, "unusable msg_conn_id {id:#x}"),
            E::NoCommonVersion => f.write_str("host refused every version"),
            E::ContactPostFailed(s) => write!(f, "INITIATE_CONTACT post failed: {s}"),
            E::InvalidRelid(r) => write!(f, "offer with invalid relid {r}"),
            E::DuplicateRelid(r) => write!(f, "second offer for relid {r}"),
            E::BadOfferConnectionId {
                relid,
                connection_id,
            } => write!(f, "offer {relid} with connection id {connection_id:#x}"),
            E::TooManyChannels => f.write_str("too many offers"),
            E::DuplicateAllOffersDelivered => f.write_str("second ALLOFFERS_DELIVERED"),
            E::UnknownChannel(r) => write!(f, "rescind of unknown relid {r}"),
            E::AlreadyRescinded(r) => write!(f, "second rescind of relid {r}"),
            E::UnexpectedOpenResult(r) => write!(f, "unsolicited open result for {r}"),
            E::OpenIdMismatch { relid, openid } => {
                write!(f, "open result for {relid} with openid {openid}")
            }
            E::UnexpectedGpadlCreated { gpadl, relid } => {
                write!(f, "unsolicited GPADL_CREATED {gpadl:#x} for relid {relid}")
            }
            E::UnexpectedTorndown(g) => write!(f, "unsolicited GPADL_TORNDOWN {g:#x}"),
            E::UnexpectedUnloadResponse => f.write_str("unsolicited UNLOAD_RESPONSE"),
        }
    }
}
