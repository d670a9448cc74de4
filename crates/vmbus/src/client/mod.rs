//! The VMBus control plane as a pure state machine.
//!
//! Follows facts sheet §3 (and the order of §7 steps 4–7). [`Client`] does
//! no I/O and keeps no time: the caller feeds it the payloads of SIMP
//! slot 2 ([`Client::on_message`]) and its own requests (`connect`,
//! `create_gpadl`, `open_channel`, …), and gets back [`Action`]s: messages
//! to post with HvPostMessage to a given connection id, and [`Event`]s for
//! the drivers. Timeouts are the caller's business ([`Client::reset`]).
//!
//! Requests the client cannot honour return a [`RequestError`] and change
//! nothing. Host messages that break the protocol — answers to requests
//! never made, bad relids, a second VERSION_RESPONSE — produce
//! [`Event::Error`] and are otherwise ignored; nothing panics.
//!
//! Connection ids (§3.1): [`ConnectionMode::AlwaysOne`] posts everything
//! to id 1 like Hyper-V's UEFI; [`ConnectionMode::LinuxFour`] posts
//! INITIATE_CONTACT for ≥ 5.0 to id 4 with msg_sint 2 and then uses the
//! response's msg_conn_id. Versions below 5.0 always use id 1.

mod channels;
mod config;
mod error;
mod event;
mod receive;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

pub use config::{ClientConfig, ConnectionMode};
pub use error::{ProtocolError, RequestError};
pub use event::{Action, ChannelInfo, ChannelState, ConnectionState, Event};

use crate::message::{
    ChannelMessage, ContactTarget, InitiateContact, Offer, Version, FEATURE_CLIENT_ID,
    MESSAGE_CONNECTION_ID, MESSAGE_CONNECTION_ID_4,
};
use crate::synic::{HvStatus, VMBUS_SINT};

/// Carries out `actions` in order, and what they lead to: `post` sends
/// one message (HvPostMessage to a connection id) and returns what the
/// client asks for when that fails; `event` takes each event.
pub fn run_actions(
    actions: Vec<Action>,
    mut post: impl FnMut(u32, &[u8]) -> Vec<Action>,
    mut event: impl FnMut(Event),
) {
    let mut queue = actions;
    while !queue.is_empty() {
        let mut more = Vec::new();
        for action in queue {
            match action {
                Action::Post {
                    connection_id,
                    message,
                } => more.extend(post(connection_id, message.as_bytes())),
                Action::Event(e) => event(e),
            }
        }
        queue = more;
    }
}

/// First GPADL handle handed out (Linux's choice, §3.6).
pub const FIRST_GPADL: u32 = 0xE1E10;
/// Most GPADLs tracked at once.
pub const MAX_GPADLS: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    Disconnected,
    Contacting { index: usize },
    Connected(Session),
    Unloading,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Session {
    version: Version,
    features: u32,
    connection_id: u32,
    all_offers_delivered: bool,
}

struct Channel {
    offer: Offer,
    state: ChannelState,
    /// The ring GPADL while opening or open.
    ring_gpadl: Option<u32>,
    rescinded: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GpadlState {
    Creating,
    Ready,
    TearingDown,
}

struct Gpadl {
    relid: u32,
    /// Whole pages (offset 0, a multiple of 4096 bytes): usable for rings.
    whole_pages: Option<usize>,
    state: GpadlState,
}

/// The guest's VMBus control plane.
pub struct Client {
    config: ClientConfig,
    conn: Conn,
    channels: BTreeMap<u32, Channel>,
    gpadls: BTreeMap<u32, Gpadl>,
    next_gpadl: u32,
}

impl Client {
    /// A disconnected client.
    pub fn new(config: ClientConfig) -> Client {
        Client {
            config,
            conn: Conn::Disconnected,
            channels: BTreeMap::new(),
            gpadls: BTreeMap::new(),
            next_gpadl: FIRST_GPADL,
        }
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        match self.conn {
            Conn::Disconnected => ConnectionState::Disconnected,
            Conn::Contacting { index } => match self.config.versions.get(index) {
                Some(v) => ConnectionState::Contacting(*v),
                None => ConnectionState::Disconnected,
            },
            Conn::Connected(s) => ConnectionState::Connected(s.version),
            Conn::Unloading => ConnectionState::Unloading,
        }
    }

    /// What the client knows about channel `relid`.
    pub fn channel(&self, relid: u32) -> Option<ChannelInfo<'_>> {
        self.channels.get(&relid).map(|c| ChannelInfo {
            offer: &c.offer,
            state: c.state,
            rescinded: c.rescinded,
            ring_gpadl: c.ring_gpadl,
        })
    }

    /// The relids of all known channels, ascending.
    pub fn relids(&self) -> impl Iterator<Item = u32> + '_ {
        self.channels.keys().copied()
    }

    /// Forgets everything without telling the host (e.g. after a timeout,
    /// or when the host is known to have reset).
    pub fn reset(&mut self) {
        self.conn = Conn::Disconnected;
        self.channels.clear();
        self.gpadls.clear();
    }

    /// Starts version negotiation with the newest configured version.
    pub fn connect(&mut self) -> Result<Vec<Action>, RequestError> {
        if self.conn != Conn::Disconnected {
            return Err(RequestError::AlreadyConnected);
        }
        let mut out = Vec::new();
        self.contact(0, &mut out);
        Ok(out)
    }

    /// Reports that posting INITIATE_CONTACT failed after the caller's own
    /// retries. INVALID_CONNECTION_ID means the host does not know that
    /// version's connection id: try the next lower version (§1.5).
    pub fn contact_post_failed(&mut self, status: HvStatus) -> Result<Vec<Action>, RequestError> {
        let Conn::Contacting { index } = self.conn else {
            return Err(RequestError::NotContacting);
        };
        let mut out = Vec::new();
        if status == HvStatus::InvalidConnectionId {
            self.contact(index + 1, &mut out);
        } else {
            self.conn = Conn::Disconnected;
            out.push(Action::Event(Event::Error(
                ProtocolError::ContactPostFailed(status),
            )));
        }
        Ok(out)
    }

    /// Posts INITIATE_CONTACT for `versions[index]`, or gives up.
    fn contact(&mut self, index: usize, out: &mut Vec<Action>) {
        let Some(&version) = self.config.versions.get(index) else {
            self.conn = Conn::Disconnected;
            out.push(Action::Event(Event::Error(ProtocolError::NoCommonVersion)));
            return;
        };
        let cfg = &self.config;
        let client_id = cfg.client_id.filter(|_| version.has_features());
        let (connection_id, target) = if version.has_msg_sint() {
            let features = if client_id.is_some() {
                FEATURE_CLIENT_ID
            } else {
                0
            };
            let (id, msg_sint) = match cfg.mode {
                ConnectionMode::AlwaysOne => (MESSAGE_CONNECTION_ID, 0),
                ConnectionMode::LinuxFour => (MESSAGE_CONNECTION_ID_4, VMBUS_SINT),
            };
            let target = ContactTarget::Sint {
                msg_sint,
                msg_vtl: 0,
                features,
            };
            (id, target)
        } else {
            let target = ContactTarget::InterruptPage(cfg.interrupt_page);
            (MESSAGE_CONNECTION_ID, target)
        };
        let (monitor_page1, monitor_page2) = cfg.monitor_pages.unwrap_or((0, 0));
        let msg = ChannelMessage::InitiateContact(InitiateContact {
            version,
            target_vcpu: cfg.target_vcpu,
            target,
            monitor_page1,
            monitor_page2,
            client_id,
        });
        self.conn = Conn::Contacting { index };
        out.push(Action::Post {
            connection_id,
            message: msg.encode(),
        });
    }

    fn session(&self) -> Result<Session, RequestError> {
        match self.conn {
            Conn::Connected(s) => Ok(s),
            _ => Err(RequestError::NotConnected),
        }
    }

    fn post(session: &Session, msg: ChannelMessage) -> Action {
        Action::Post {
            connection_id: session.connection_id,
            message: msg.encode(),
        }
    }

    /// Asks the host to close everything (UNLOAD); [`Event::Unloaded`]
    /// follows. Below 3.0 there is no UNLOAD: the client just resets.
    pub fn unload(&mut self) -> Result<Vec<Action>, RequestError> {
        let session = self.session()?;
        if session.version < Version::WIN8_1 {
            self.reset();
            return Ok(alloc::vec![Action::Event(Event::Unloaded)]);
        }
        self.conn = Conn::Unloading;
        Ok(alloc::vec![Self::post(&session, ChannelMessage::Unload)])
    }
}

#[cfg(test)]
mod tests;
