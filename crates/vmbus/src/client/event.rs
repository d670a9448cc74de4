//! What the client asks of its caller, and what it reports.

use crate::message::{Offer, RawMessage, Version};

use super::ProtocolError;

/// Something the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// HvPostMessage(connection_id, message type 1, message bytes).
    Post {
        /// Target connection id.
        connection_id: u32,
        /// The channel message.
        message: RawMessage,
    },
    /// Tell the drivers.
    Event(Event),
}

/// What happened, for the drivers and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The host accepted a version. REQUESTOFFERS was posted with it.
    Connected {
        /// Negotiated version.
        version: Version,
        /// Feature flags both sides have (6.0).
        features: u32,
        /// Connection id used for every later message.
        connection_id: u32,
    },
    /// A channel offer (validated).
    Offer(Offer),
    /// The initial offers are complete.
    AllOffersDelivered,
    /// A GPADL is ready.
    GpadlCreated {
        /// Its channel.
        relid: u32,
        /// Its handle.
        gpadl: u32,
    },
    /// The host refused a GPADL; its handle is free again.
    GpadlFailed {
        /// Its channel.
        relid: u32,
        /// Its handle.
        gpadl: u32,
        /// The host's status.
        status: u32,
    },
    /// Answer to `open_channel`; status 0 = open.
    Opened {
        /// The channel.
        relid: u32,
        /// The host's status.
        status: u32,
    },
    /// A GPADL is gone; its pages may be freed.
    GpadlTornDown {
        /// Its handle.
        gpadl: u32,
    },
    /// The host withdrew a channel: stop using it, close it, then call
    /// `release_channel`.
    Rescinded {
        /// The channel.
        relid: u32,
    },
    /// The connection is closed; all channels and GPADLs are gone.
    Unloaded,
    /// A host message was refused.
    Error(ProtocolError),
}

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// No connection.
    Disconnected,
    /// INITIATE_CONTACT for this version is outstanding.
    Contacting(Version),
    /// Connected at this version.
    Connected(Version),
    /// UNLOAD is outstanding.
    Unloading,
}

/// A channel's state as the client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// Offered, not open.
    Closed,
    /// OPENCHANNEL sent, no result yet.
    Opening,
    /// Open.
    Open,
}

/// A view of one channel, from [`super::Client::channel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfo<'a> {
    /// The host's offer (relid, class, signalling connection id, …).
    pub offer: &'a Offer,
    /// Open state.
    pub state: ChannelState,
    /// Whether the host rescinded the offer.
    pub rescinded: bool,
    /// The GPADL holding the rings while opening or open.
    pub ring_gpadl: Option<u32>,
}
