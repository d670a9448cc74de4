//! The VMBus server state machine: contact, offers, unload, rescind, and
//! dispatch of every guest control message (sheet §3.1–§3.8, §8.1, §8.2).
//!
//! GPADL, open/close and ring pumping live in `channels.rs`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::channels::{Channel, ChannelState};
use super::gpadl::{Building, Gpadl};
use super::msg::{self, ty, GuestMessage, InitiateContact, OfferFields};
use super::{version, MESSAGE_CONNECTION_ID, MESSAGE_CONNECTION_ID_4};
use crate::device::Device;
use crate::env::Env;
use crate::guid::Guid;
use crate::hostile::HostileCase;
use crate::hv::VMBUS_SINT;
use crate::notes::Note;

/// The negotiated connection (after a successful INITIATE_CONTACT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Negotiated protocol version.
    pub version: u32,
    /// VP that receives control messages.
    pub target_vp: u32,
    /// Connection id INITIATE_CONTACT was posted to (1 or 4).
    pub contacted_on: u32,
    /// Negotiated 6.0 feature flags (`requested & supported`).
    pub features: u32,
    /// Client id of a 56-byte INITIATE_CONTACT.
    pub client_id: Option<Guid>,
    /// REQUESTOFFERS has been answered.
    pub offers_sent: bool,
    pub(crate) next_relid: u32,
}

/// Server configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerConfig {
    pub highest_version: u32,
    pub features_supported: u32,
}

/// The server: connection, channels and GPADLs.
pub(crate) struct Server {
    pub cfg: ServerConfig,
    pub conn: Option<Connection>,
    pub channels: Vec<Channel>,
    pub gpadls: Vec<Gpadl>,
    pub building: Vec<Building>,
    /// Ring GPADLs whose teardown waits for CLOSECHANNEL: (relid, handle).
    pub pending_teardown: Vec<(u32, u32)>,
}

impl Server {
    pub(crate) fn new(cfg: ServerConfig) -> Self {
        Server {
            cfg,
            conn: None,
            channels: Vec::new(),
            gpadls: Vec::new(),
            building: Vec::new(),
            pending_teardown: Vec::new(),
        }
    }

    /// True if the host listens for messages on `conn_id` (§3.1): id 1
    /// always, id 4 only on hosts that speak 5.0 or later.
    pub(crate) fn listens_on(&self, conn_id: u32) -> bool {
        conn_id == MESSAGE_CONNECTION_ID
            || (conn_id == MESSAGE_CONNECTION_ID_4 && self.cfg.highest_version >= version::V5_0)
    }

    /// VP for control messages.
    pub(crate) fn control_vp(&self) -> u32 {
        self.conn.as_ref().map_or(0, |c| c.target_vp)
    }

    /// Handles one posted control message.
    pub(crate) fn handle(&mut self, env: &mut Env<'_>, conn_id: u32, payload: &[u8]) {
        let m = match msg::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                env.notes.push(if self.conn.is_none() {
                    Note::BeforeContact { msgtype: e.msgtype }
                } else {
                    Note::Malformed {
                        msgtype: e.msgtype,
                        len: e.len,
                    }
                });
                return;
            }
        };
        if let GuestMessage::InitiateContact(ic) = m {
            self.initiate_contact(env, conn_id, &ic);
            return;
        }
        if self.conn.is_none() {
            let msgtype = payload
                .get(..4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            env.notes.push(Note::BeforeContact { msgtype });
            return;
        }
        match m {
            GuestMessage::InitiateContact(_) => {}
            GuestMessage::RequestOffers => self.request_offers(env),
            GuestMessage::GpadlHeader {
                relid,
                gpadl,
                range_buflen,
                rangecount,
                ranges,
            } => self.gpadl_header(env, relid, gpadl, range_buflen, rangecount, ranges),
            GuestMessage::GpadlBody { gpadl, data } => self.gpadl_body(env, gpadl, data),
            GuestMessage::GpadlTeardown { relid, gpadl } => self.gpadl_teardown(env, relid, gpadl),
            GuestMessage::OpenChannel(o) => self.open_channel(env, &o),
            GuestMessage::CloseChannel { relid } => self.close_channel(env, relid),
            GuestMessage::RelidReleased { relid } => self.relid_released(env, relid),
            GuestMessage::ModifyChannel { relid, target_vp } => {
                self.modify_channel(env, relid, target_vp)
            }
            GuestMessage::Unload => {
                let vp = self.control_vp();
                self.disconnect();
                env.send(vp, msg::bare(ty::UNLOAD_RESPONSE));
            }
            GuestMessage::Other(t) => env.notes.push(Note::Unsupported { msgtype: t }),
        }
    }

    fn initiate_contact(&mut self, env: &mut Env<'_>, via: u32, ic: &InitiateContact) {
        if self.conn.is_some() {
            // A second INITIATE_CONTACT tears the old connection down (§8.2).
            self.disconnect();
        }
        let v = ic.version;
        let target = if v >= version::V3_0 {
            ic.target_vcpu
        } else {
            0
        };
        let known = version::ALL.contains(&v) && v <= self.cfg.highest_version;
        if !known {
            env.send(target, msg::version_response(false, 0, 0, None));
            return;
        }
        let features = (v >= version::V6_0).then_some(ic.features & self.cfg.features_supported);
        if v >= version::V5_0 && via == MESSAGE_CONNECTION_ID_4 && ic.msg_sint != VMBUS_SINT {
            env.send_on(
                target,
                ic.msg_sint & 15,
                msg::version_response(false, 0, 0, None),
            );
            return;
        }
        let word = if v >= version::V5_0 {
            MESSAGE_CONNECTION_ID
        } else {
            v
        };
        if (ic.monitor_page1 == 0) != (ic.monitor_page2 == 0) {
            // Exactly one monitor page: accepted, connection_state 2 (§3.4).
            env.send(target, msg::version_response(true, 2, word, features));
            return;
        }
        self.conn = Some(Connection {
            version: v,
            target_vp: target,
            contacted_on: via,
            features: features.unwrap_or(0),
            client_id: ic
                .client_id
                .filter(|_| ic.features & super::feature::CLIENT_ID != 0),
            offers_sent: false,
            next_relid: 1,
        });
        env.send(target, msg::version_response(true, 0, word, features));
    }

    /// Drops the connection: every channel closed, every GPADL forgotten.
    pub(crate) fn disconnect(&mut self) {
        for ch in &mut self.channels {
            if let ChannelState::Open(_) = ch.state {
                ch.device.close();
            }
            ch.state = ChannelState::Unoffered;
            ch.relid = None;
            ch.failure = None;
        }
        self.gpadls.clear();
        self.building.clear();
        self.pending_teardown.clear();
        self.conn = None;
    }

    fn offer_fields(ch: &Channel, relid: u32) -> OfferFields {
        let info = ch.device.offer();
        let mut user_defined = [0u8; 120];
        if let Some(mode) = info.pipe_mode {
            user_defined[..4].copy_from_slice(&mode.to_le_bytes());
        }
        OfferFields {
            class: info.class,
            instance: info.instance,
            flags: info.flags,
            mmio_megabytes: info.mmio_megabytes,
            user_defined,
            sub_channel_index: 0,
            relid,
            monitor_id: 0xFF,
            monitor_allocated: false,
            dedicated_interrupt: true,
            connection_id: ch.conn_id,
        }
    }

    /// Assigns a relid to channel `idx` and sends its offer.
    fn offer_one(&mut self, env: &mut Env<'_>, idx: usize, wire_relid: Option<u32>) -> u32 {
        let Some(conn) = self.conn.as_mut() else {
            return 0;
        };
        let relid = conn.next_relid;
        conn.next_relid += 1;
        let vp = conn.target_vp;
        let ch = &mut self.channels[idx];
        ch.relid = Some(relid);
        // OpenVMM's form: relid | sint << 12 | vtl << 16 (§3.5).
        ch.conn_id = relid | u32::from(VMBUS_SINT) << 12;
        ch.state = ChannelState::Offered;
        let f = Self::offer_fields(ch, wire_relid.unwrap_or(relid));
        env.send(vp, msg::offer(&f));
        relid
    }

    fn request_offers(&mut self, env: &mut Env<'_>) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if conn.offers_sent {
            env.notes.push(Note::RequestOffersAgain);
            return;
        }
        conn.offers_sent = true;
        let vp = conn.target_vp;
        // Relids follow (class GUID, offer order, instance GUID) (§8.2).
        let mut order: Vec<usize> = (0..self.channels.len())
            .filter(|&i| !self.channels[i].removed)
            .collect();
        order.sort_by_key(|&i| {
            let o = self.channels[i].device.offer();
            (o.class, i, o.instance)
        });
        let mut first = None;
        for (n, &i) in order.iter().enumerate() {
            let wire = match n {
                0 if env.hostile.on(HostileCase::ZeroRelid, None) => Some(0),
                1 if env.hostile.on(HostileCase::DuplicateRelid, None) => first,
                _ => None,
            };
            let relid = self.offer_one(env, i, wire);
            first.get_or_insert(relid);
        }
        self.hostile_offers(env, vp);
        env.send(vp, msg::bare(ty::ALLOFFERS_DELIVERED));
        self.hostile_after_offers(env, vp);
    }

    /// Offers a device added after REQUESTOFFERS was answered (§3.5).
    pub(crate) fn offer_late(&mut self, env: &mut Env<'_>, idx: usize) {
        if self.conn.as_ref().is_some_and(|c| c.offers_sent) {
            self.offer_one(env, idx, None);
        }
    }

    fn hostile_offers(&mut self, env: &mut Env<'_>, vp: u32) {
        if env.hostile.on(HostileCase::AbsurdOffer, None) {
            env.notes.push(Note::Hostile {
                case: HostileCase::AbsurdOffer,
            });
            env.send(vp, msg::offer(&absurd_offer(u32::MAX, 0xFF)));
        }
    }

    fn hostile_after_offers(&mut self, env: &mut Env<'_>, vp: u32) {
        let h = |c| env.hostile.on(c, None);
        let (gc, or, ur, fl) = (
            h(HostileCase::UnsolicitedGpadlCreated),
            h(HostileCase::UnsolicitedOpenResult),
            h(HostileCase::UnsolicitedResponses),
            h(HostileCase::MessageFlood),
        );
        if gc {
            env.send(vp, msg::gpadl_created(1, 0xBAD0_0001, 0));
        }
        if or {
            env.send(vp, msg::open_result(1, 1, 0));
            env.send(vp, msg::open_result(0x7FF, 0x7FF, 0));
        }
        if ur {
            env.send(vp, msg::version_response(true, 0, 1, None));
            env.send(vp, msg::bare(ty::UNLOAD_RESPONSE));
            env.send(vp, msg::with_u32(ty::GPADL_TORNDOWN, 0xBAD0_0002));
        }
        if fl {
            for i in 0..300u32 {
                let mut o = absurd_offer(0x100 + i, 0);
                o.flags = 0;
                o.mmio_megabytes = 0;
                o.sub_channel_index = 0;
                o.connection_id = 0x100 + i;
                o.instance.0[..8].copy_from_slice(&env.hostile.rng.next_u64().to_le_bytes());
                env.send(vp, msg::offer(&o));
            }
        }
        for (on, case) in [
            (gc, HostileCase::UnsolicitedGpadlCreated),
            (or, HostileCase::UnsolicitedOpenResult),
            (ur, HostileCase::UnsolicitedResponses),
            (fl, HostileCase::MessageFlood),
        ] {
            if on {
                env.notes.push(Note::Hostile { case });
            }
        }
    }

    /// Rescinds channel `idx` (a hot-removed device, §3.8).
    pub(crate) fn rescind(&mut self, env: &mut Env<'_>, idx: usize) {
        let vp = self.control_vp();
        let ch = &mut self.channels[idx];
        ch.removed = true;
        let Some(relid) = ch.relid else {
            return;
        };
        if let ChannelState::Open(_) = ch.state {
            ch.device.close();
        }
        ch.state = ChannelState::Revoked;
        // GPADLs still being built fail first; pending teardowns finish.
        let (failed, keep): (Vec<_>, Vec<_>) = core::mem::take(&mut self.building)
            .into_iter()
            .partition(|b| b.relid == relid);
        self.building = keep;
        for b in failed {
            env.send(
                vp,
                msg::gpadl_created(relid, b.handle, super::STATUS_UNSUCCESSFUL),
            );
        }
        let pending: Vec<u32> = self
            .pending_teardown
            .iter()
            .filter(|p| p.0 == relid)
            .map(|p| p.1)
            .collect();
        self.pending_teardown.retain(|p| p.0 != relid);
        for g in pending {
            self.gpadls.retain(|x| !(x.relid == relid && x.handle == g));
            env.send(vp, msg::with_u32(ty::GPADL_TORNDOWN, g));
        }
        env.send(vp, msg::with_u32(ty::RESCIND_CHANNELOFFER, relid));
    }

    /// Adds a device; returns its index.
    pub(crate) fn add(&mut self, device: Box<dyn Device>) -> usize {
        self.channels.push(Channel::new(device));
        self.channels.len() - 1
    }
}

fn absurd_offer(relid: u32, monitor_id: u8) -> OfferFields {
    OfferFields {
        class: Guid([0xEE; 16]),
        instance: Guid([0xAB; 16]),
        flags: 0xFFFF,
        mmio_megabytes: 0xFFFF,
        user_defined: [0xFF; 120],
        sub_channel_index: 0xFFFF,
        relid,
        monitor_id,
        monitor_allocated: true,
        dedicated_interrupt: true,
        connection_id: u32::MAX,
    }
}
