//! Handling of host → guest control messages.

use alloc::vec::Vec;

use super::{
    Action, Channel, ChannelState, Client, Conn, Event, GpadlState, ProtocolError, Session,
};
use crate::message::{
    ChannelMessage, GpadlCreated, MessageType, Offer, OpenResult, VersionResponse,
    FEATURE_CLIENT_ID,
};
use crate::synic::{event_bit, CONNECTION_ID_MASK};

fn error(e: ProtocolError) -> Vec<Action> {
    alloc::vec![Action::Event(Event::Error(e))]
}

fn event(e: Event) -> Vec<Action> {
    alloc::vec![Action::Event(e)]
}

/// A usable 24-bit, non-zero connection id.
fn valid_connection_id(id: u32) -> bool {
    id != 0 && id & !CONNECTION_ID_MASK == 0
}

impl Client {
    /// Feeds one control message (the payload of a SIMP slot 2 message of
    /// type 1) and returns what to do about it.
    pub fn on_message(&mut self, bytes: &[u8]) -> Vec<Action> {
        let msg = match ChannelMessage::decode(bytes) {
            Ok(msg) => msg,
            Err(e) => return error(ProtocolError::Decode(e)),
        };
        let msgtype = msg.message_type();
        use MessageType as T;
        let from_guest = matches!(
            msgtype,
            T::RequestOffers
                | T::OpenChannel
                | T::CloseChannel
                | T::GpadlHeader
                | T::GpadlBody
                | T::GpadlTeardown
                | T::RelidReleased
                | T::InitiateContact
                | T::Unload
        );
        if from_guest {
            return error(ProtocolError::WrongDirection(msgtype));
        }
        match self.conn {
            Conn::Disconnected => error(ProtocolError::NotConnected(msgtype)),
            Conn::Contacting { index } => match msg {
                ChannelMessage::VersionResponse(r) => self.version_response(index, r),
                _ => error(ProtocolError::Unexpected(msgtype)),
            },
            Conn::Connected(session) => self.connected_message(session, msg),
            Conn::Unloading => match msg {
                ChannelMessage::UnloadResponse => {
                    self.reset();
                    event(Event::Unloaded)
                }
                // The host may still be closing things; nothing to act on.
                _ => Vec::new(),
            },
        }
    }

    fn version_response(&mut self, index: usize, r: VersionResponse) -> Vec<Action> {
        let Some(&version) = self.config.versions.get(index) else {
            self.conn = Conn::Disconnected;
            return error(ProtocolError::NoCommonVersion);
        };
        let mut out = Vec::new();
        if !r.accepted() {
            self.contact(index + 1, &mut out);
            return out;
        }
        let connection_id = match self.config.mode {
            super::ConnectionMode::LinuxFour if version.has_msg_sint() => r.msg_conn_id,
            _ => crate::message::MESSAGE_CONNECTION_ID,
        };
        if !valid_connection_id(connection_id) {
            self.conn = Conn::Disconnected;
            return error(ProtocolError::BadMessageConnectionId(connection_id));
        }
        let requested = if version.has_features() && self.config.client_id.is_some() {
            FEATURE_CLIENT_ID
        } else {
            0
        };
        let features = requested & r.features.unwrap_or(0);
        let session = Session {
            version,
            features,
            connection_id,
            all_offers_delivered: false,
        };
        self.conn = Conn::Connected(session);
        out.push(Action::Event(Event::Connected {
            version,
            features,
            connection_id,
        }));
        out.push(Client::post(&session, ChannelMessage::RequestOffers));
        out
    }

    fn connected_message(&mut self, session: Session, msg: ChannelMessage) -> Vec<Action> {
        match msg {
            ChannelMessage::Offer(offer) => self.offer(offer),
            ChannelMessage::AllOffersDelivered => {
                if session.all_offers_delivered {
                    return error(ProtocolError::DuplicateAllOffersDelivered);
                }
                self.conn = Conn::Connected(Session {
                    all_offers_delivered: true,
                    ..session
                });
                event(Event::AllOffersDelivered)
            }
            ChannelMessage::Rescind { relid } => self.rescind(relid),
            ChannelMessage::OpenResult(r) => self.open_result(r),
            ChannelMessage::GpadlCreated(c) => self.gpadl_created(c),
            ChannelMessage::GpadlTorndown { gpadl } => match self.gpadls.get(&gpadl) {
                Some(g) if g.state == GpadlState::TearingDown => {
                    self.gpadls.remove(&gpadl);
                    event(Event::GpadlTornDown { gpadl })
                }
                _ => error(ProtocolError::UnexpectedTorndown(gpadl)),
            },
            ChannelMessage::VersionResponse(_) => error(ProtocolError::UnexpectedVersionResponse),
            ChannelMessage::UnloadResponse => error(ProtocolError::UnexpectedUnloadResponse),
            other => error(ProtocolError::Unexpected(other.message_type())),
        }
    }

    fn offer(&mut self, offer: Offer) -> Vec<Action> {
        let relid = offer.child_relid;
        if event_bit(relid).is_none() {
            return error(ProtocolError::InvalidRelid(relid));
        }
        if self.channels.contains_key(&relid) {
            return error(ProtocolError::DuplicateRelid(relid));
        }
        if !valid_connection_id(offer.connection_id) {
            return error(ProtocolError::BadOfferConnectionId {
                relid,
                connection_id: offer.connection_id,
            });
        }
        if self.channels.len() >= self.config.max_channels {
            return error(ProtocolError::TooManyChannels);
        }
        self.channels.insert(
            relid,
            Channel {
                offer,
                state: ChannelState::Closed,
                ring_gpadl: None,
                rescinded: false,
            },
        );
        event(Event::Offer(offer))
    }

    fn rescind(&mut self, relid: u32) -> Vec<Action> {
        let Some(ch) = self.channels.get_mut(&relid) else {
            return error(ProtocolError::UnknownChannel(relid));
        };
        if ch.rescinded {
            return error(ProtocolError::AlreadyRescinded(relid));
        }
        ch.rescinded = true;
        // An open that is still pending will never be answered.
        if ch.state == ChannelState::Opening {
            ch.state = ChannelState::Closed;
            ch.ring_gpadl = None;
        }
        event(Event::Rescinded { relid })
    }

    fn open_result(&mut self, r: OpenResult) -> Vec<Action> {
        let Some(ch) = self.channels.get_mut(&r.relid) else {
            return error(ProtocolError::UnexpectedOpenResult(r.relid));
        };
        if ch.state != ChannelState::Opening {
            return error(ProtocolError::UnexpectedOpenResult(r.relid));
        }
        if r.openid != r.relid {
            return error(ProtocolError::OpenIdMismatch {
                relid: r.relid,
                openid: r.openid,
            });
        }
        if r.status == 0 {
            ch.state = ChannelState::Open;
        } else {
            ch.state = ChannelState::Closed;
            ch.ring_gpadl = None;
        }
        event(Event::Opened {
            relid: r.relid,
            status: r.status,
        })
    }

    fn gpadl_created(&mut self, c: GpadlCreated) -> Vec<Action> {
        let unexpected = ProtocolError::UnexpectedGpadlCreated {
            gpadl: c.gpadl,
            relid: c.relid,
        };
        let Some(g) = self.gpadls.get_mut(&c.gpadl) else {
            return error(unexpected);
        };
        if g.state != GpadlState::Creating || g.relid != c.relid {
            return error(unexpected);
        }
        if c.status == 0 {
            g.state = GpadlState::Ready;
            event(Event::GpadlCreated {
                relid: c.relid,
                gpadl: c.gpadl,
            })
        } else {
            self.gpadls.remove(&c.gpadl);
            event(Event::GpadlFailed {
                relid: c.relid,
                gpadl: c.gpadl,
                status: c.status,
            })
        }
    }
}
