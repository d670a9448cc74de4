//! Channel records and the GPADL / open / close / release handlers of the
//! server (sheet §3.6–§3.8, §8.2).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::gpadl::{Building, Progress};
use super::msg::{self, ty, OpenChannel};
use super::server::Server;
use super::{feature, version, STATUS_UNSUCCESSFUL};
use crate::device::{Device, DeviceError, DeviceIo};
use crate::env::Env;
use crate::hostile::HostileCase;
use crate::notes::{GpadlFault, Note, OpenFault};
use crate::packet::OutPacket;
use crate::ring::{RingError, RingPair};

/// Why a channel stopped. The channel stays open but inert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelFailure {
    /// The guest broke the ring rules (§4).
    Ring(RingError),
    /// The device refused a packet (§6).
    Device(DeviceError),
}

/// The state of an open channel.
pub(crate) struct Open {
    pub rings: RingPair,
    pub target_vp: u32,
    pub ring_gpadl: u32,
    pub event_conn: u32,
    pub event_flag: u16,
    pub signalled: bool,
    pub blocked: bool,
    pub outq: VecDeque<OutPacket>,
    pub hostile_done: bool,
    /// Hostile mode broke this ring on purpose: write nothing more.
    pub wrecked: bool,
}

/// Where a channel is in its life (§3.5–§3.8).
pub(crate) enum ChannelState {
    /// No connection, or not offered yet.
    Unoffered,
    /// Offered, not open.
    Offered,
    /// Open.
    Open(Box<Open>),
    /// Rescinded; waiting for RELID_RELEASED.
    Revoked,
}

/// The public summary of [`ChannelState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelPhase {
    /// Not offered (no connection yet, or after UNLOAD).
    Unoffered,
    /// Offered.
    Offered,
    /// Open.
    Open,
    /// Rescinded, relid not yet released.
    Revoked,
    /// Rescinded and released: gone for good.
    Removed,
}

/// One device and its channel.
pub(crate) struct Channel {
    pub device: Box<dyn Device>,
    pub relid: Option<u32>,
    pub conn_id: u32,
    pub state: ChannelState,
    pub failure: Option<ChannelFailure>,
    pub removed: bool,
}

impl Channel {
    pub(crate) fn new(device: Box<dyn Device>) -> Self {
        Channel {
            device,
            relid: None,
            conn_id: 0,
            state: ChannelState::Unoffered,
            failure: None,
            removed: false,
        }
    }

    pub(crate) fn phase(&self) -> ChannelPhase {
        match self.state {
            ChannelState::Unoffered if self.removed => ChannelPhase::Removed,
            ChannelState::Unoffered => ChannelPhase::Unoffered,
            ChannelState::Offered => ChannelPhase::Offered,
            ChannelState::Open(_) => ChannelPhase::Open,
            ChannelState::Revoked => ChannelPhase::Revoked,
        }
    }
}

impl Server {
    fn find(&self, relid: u32) -> Option<usize> {
        self.channels.iter().position(|c| c.relid == Some(relid))
    }

    fn handle_in_use(&self, handle: u32) -> bool {
        self.gpadls.iter().any(|g| g.handle == handle)
            || self.building.iter().any(|b| b.handle == handle)
    }

    fn refuse_gpadl(&self, env: &mut Env<'_>, relid: u32, gpadl: u32, fault: GpadlFault) {
        env.notes.push(Note::GpadlRefused {
            relid,
            gpadl,
            fault,
        });
        env.send(
            self.control_vp(),
            msg::gpadl_created(relid, gpadl, STATUS_UNSUCCESSFUL),
        );
    }

    fn gpadl_progress(&mut self, env: &mut Env<'_>, p: Progress, b: Option<Building>) {
        match p {
            Progress::Incomplete => self.building.extend(b),
            Progress::Done(g) => {
                env.send(self.control_vp(), msg::gpadl_created(g.relid, g.handle, 0));
                self.gpadls.push(g);
            }
            Progress::Invalid { relid, handle } => {
                self.refuse_gpadl(env, relid, handle, GpadlFault::BadRanges)
            }
        }
    }

    pub(crate) fn gpadl_header(
        &mut self,
        env: &mut Env<'_>,
        relid: u32,
        gpadl: u32,
        range_buflen: u16,
        rangecount: u16,
        ranges: &[u8],
    ) {
        let usable = self.find(relid).is_some_and(|i| {
            matches!(
                self.channels[i].state,
                ChannelState::Offered | ChannelState::Open(_)
            )
        });
        if !usable {
            return self.refuse_gpadl(env, relid, gpadl, GpadlFault::UnknownRelid);
        }
        if self.handle_in_use(gpadl) {
            return self.refuse_gpadl(env, relid, gpadl, GpadlFault::HandleInUse);
        }
        let Some(mut b) = Building::start(relid, gpadl, range_buflen, rangecount) else {
            return self.refuse_gpadl(env, relid, gpadl, GpadlFault::BadRanges);
        };
        let p = b.feed(ranges);
        self.gpadl_progress(env, p, Some(b));
    }

    pub(crate) fn gpadl_body(&mut self, env: &mut Env<'_>, gpadl: u32, data: &[u8]) {
        let Some(i) = self.building.iter().position(|b| b.handle == gpadl) else {
            env.notes.push(Note::GpadlBodyUnknown { gpadl });
            return;
        };
        let p = self.building[i].feed(data);
        if p != Progress::Incomplete {
            self.building.remove(i);
        }
        self.gpadl_progress(env, p, None);
    }

    pub(crate) fn gpadl_teardown(&mut self, env: &mut Env<'_>, relid: u32, gpadl: u32) {
        let Some(gi) = self
            .gpadls
            .iter()
            .position(|g| g.handle == gpadl && g.relid == relid)
        else {
            env.notes.push(Note::TeardownUnknown { relid, gpadl });
            return;
        };
        if env.hostile.on(HostileCase::WithholdGpadlTeardown, None) {
            env.notes.push(Note::Hostile {
                case: HostileCase::WithholdGpadlTeardown,
            });
            return;
        }
        let ring_in_use = self.find(relid).is_some_and(
            |i| matches!(&self.channels[i].state, ChannelState::Open(o) if o.ring_gpadl == gpadl),
        );
        if ring_in_use {
            // Answered once the channel closes (§8.2).
            if !self.pending_teardown.contains(&(relid, gpadl)) {
                self.pending_teardown.push((relid, gpadl));
            }
            return;
        }
        self.gpadls.remove(gi);
        env.send(self.control_vp(), msg::with_u32(ty::GPADL_TORNDOWN, gpadl));
    }

    pub(crate) fn open_channel(&mut self, env: &mut Env<'_>, o: &OpenChannel) {
        let Some(i) = self.find(o.relid) else {
            env.notes.push(Note::UnknownRelid {
                msgtype: ty::OPENCHANNEL,
                relid: o.relid,
            });
            return;
        };
        if !matches!(self.channels[i].state, ChannelState::Offered) {
            env.notes.push(Note::WrongChannelState {
                msgtype: ty::OPENCHANNEL,
                relid: o.relid,
            });
            return;
        }
        let vp = self.control_vp();
        let status = match self.try_open(env, i, o) {
            Ok(()) => 0,
            Err(fault) => {
                env.notes.push(Note::OpenRefused {
                    relid: o.relid,
                    fault,
                });
                STATUS_UNSUCCESSFUL
            }
        };
        env.send(vp, msg::open_result(o.relid, o.openid, status));
    }

    fn try_open(&mut self, env: &mut Env<'_>, i: usize, o: &OpenChannel) -> Result<(), OpenFault> {
        let g = self
            .gpadls
            .iter()
            .find(|g| g.handle == o.ring_gpadl && g.relid == o.relid)
            .ok_or(OpenFault::UnknownGpadl)?;
        let pages = g.whole_pages().ok_or(OpenFault::BadRingLayout)?;
        let split = o.downstream_offset as usize;
        let min = 1 + self.channels[i].device.offer().min_ring_data_pages.max(1) as usize;
        if split < min || pages.len().saturating_sub(split) < min {
            return Err(OpenFault::BadRingLayout);
        }
        let rings = RingPair::open(env.mem, pages, split).map_err(|e| match e {
            None => OpenFault::BadRingLayout,
            Some(_) => OpenFault::BadRingHeader,
        })?;
        let conn = self.conn.as_ref();
        let custom =
            conn.is_some_and(|c| c.features & feature::GUEST_SPECIFIED_SIGNAL_PARAMETERS != 0);
        let ch = &mut self.channels[i];
        let (event_conn, event_flag) = match o.guest_signal {
            Some(sig) if custom => sig,
            _ => (ch.conn_id, 0),
        };
        let mut open = Box::new(Open {
            rings,
            target_vp: o.target_vp,
            ring_gpadl: o.ring_gpadl,
            event_conn,
            event_flag,
            signalled: false,
            blocked: false,
            outq: VecDeque::new(),
            hostile_done: false,
            wrecked: false,
        });
        let mut io = DeviceIo {
            mem: env.mem,
            gpadls: &self.gpadls,
            relid: o.relid,
            out: &mut open.outq,
            notes: env.notes,
        };
        ch.device
            .open(&mut io, &o.userdata)
            .map_err(|_| OpenFault::DeviceRefused)?;
        ch.failure = None;
        ch.state = ChannelState::Open(open);
        Ok(())
    }

    pub(crate) fn close_channel(&mut self, env: &mut Env<'_>, relid: u32) {
        let Some(i) = self.find(relid) else {
            env.notes.push(Note::UnknownRelid {
                msgtype: ty::CLOSECHANNEL,
                relid,
            });
            return;
        };
        let ch = &mut self.channels[i];
        if !matches!(ch.state, ChannelState::Open(_)) {
            env.notes.push(Note::WrongChannelState {
                msgtype: ty::CLOSECHANNEL,
                relid,
            });
            return;
        }
        ch.device.close();
        ch.state = ChannelState::Offered;
        ch.failure = None;
        let done: Vec<u32> = self
            .pending_teardown
            .iter()
            .filter(|p| p.0 == relid)
            .map(|p| p.1)
            .collect();
        self.pending_teardown.retain(|p| p.0 != relid);
        for g in done {
            self.gpadls.retain(|x| !(x.relid == relid && x.handle == g));
            env.send(self.control_vp(), msg::with_u32(ty::GPADL_TORNDOWN, g));
        }
    }

    pub(crate) fn relid_released(&mut self, env: &mut Env<'_>, relid: u32) {
        let Some(i) = self.find(relid) else {
            env.notes.push(Note::UnknownRelid {
                msgtype: ty::RELID_RELEASED,
                relid,
            });
            return;
        };
        let ch = &mut self.channels[i];
        match ch.state {
            ChannelState::Revoked => {
                ch.state = ChannelState::Unoffered;
                ch.relid = None;
                self.gpadls.retain(|g| g.relid != relid);
            }
            ChannelState::Offered => {}
            _ => env.notes.push(Note::WrongChannelState {
                msgtype: ty::RELID_RELEASED,
                relid,
            }),
        }
    }

    pub(crate) fn modify_channel(&mut self, env: &mut Env<'_>, relid: u32, target_vp: u32) {
        let v = self.conn.as_ref().map_or(0, |c| c.version);
        if v < version::V4_1 {
            env.notes.push(Note::Unsupported {
                msgtype: ty::MODIFYCHANNEL,
            });
            return;
        }
        let vp = self.control_vp();
        let status = match self.find(relid).map(|i| &mut self.channels[i].state) {
            Some(ChannelState::Open(o)) => {
                o.target_vp = target_vp;
                0
            }
            _ => {
                env.notes.push(Note::WrongChannelState {
                    msgtype: ty::MODIFYCHANNEL,
                    relid,
                });
                STATUS_UNSUCCESSFUL
            }
        };
        if v >= version::V5_3 {
            env.send(vp, msg::modify_response(relid, status));
        }
    }

    /// HvSignalEvent on `conn_id` (§1.6): marks the channel for the next
    /// step. Errors are HV_STATUS codes.
    pub(crate) fn signal(&mut self, conn_id: u32, flag: u16) -> Result<(), u16> {
        for ch in &mut self.channels {
            if let ChannelState::Open(o) = &mut ch.state {
                if o.event_conn == conn_id {
                    if flag != o.event_flag {
                        return Err(crate::hv::status::INVALID_PARAMETER);
                    }
                    o.signalled = true;
                    return Ok(());
                }
            }
        }
        Err(crate::hv::status::INVALID_CONNECTION_ID)
    }
}
