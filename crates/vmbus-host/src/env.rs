//! The effect side of one host step: guest memory, the SynICs, the journal
//! and hostile mode, borrowed together so the server can send messages and
//! signal channels (sheet §8.4 items 1–2: every effect has one route).

use alloc::vec::Vec;

use crate::hostile::{Hostile, HostileCase};
use crate::hv::partition::Partition;
use crate::hv::synic::QueuedMessage;
use crate::hv::VMBUS_SINT;
use crate::notes::Notes;
use crate::platform::Platform;

/// Everything a step may touch besides the server's own state.
pub(crate) struct Env<'a> {
    pub mem: &'a mut dyn Platform,
    pub hv: &'a mut Partition,
    pub notes: &'a mut Notes,
    pub hostile: &'a mut Hostile,
}

/// message_type of VMBus channel messages (§3.1).
const VMBUS_MESSAGE_TYPE: u32 = 1;

impl Env<'_> {
    fn vp(&self, vp: u32) -> usize {
        // A target the partition does not have falls back to VP 0.
        if (vp as usize) < self.hv.vps.len() {
            vp as usize
        } else {
            0
        }
    }

    /// Sends a control message to `vp`'s SIMP slot 2 (§3.1).
    pub(crate) fn send(&mut self, vp: u32, msg: Vec<u8>) {
        self.send_on(vp, VMBUS_SINT, msg);
    }

    /// Sends a control message to an explicit SINT.
    pub(crate) fn send_on(&mut self, vp: u32, sint: u8, mut msg: Vec<u8>) {
        let mut size_override = None;
        if self.hostile.on(HostileCase::TruncatedMessages, None) {
            msg.truncate(msg.len() / 2);
        }
        if self.hostile.on(HostileCase::MutateMessages, None) {
            self.hostile.mutate(&mut msg);
        }
        if self.hostile.on(HostileCase::LyingPayloadSize, None) {
            size_override = Some(255);
        }
        let vp = self.vp(vp);
        self.hv.vps[vp].post(
            sint,
            QueuedMessage {
                message_type: VMBUS_MESSAGE_TYPE,
                payload: msg,
                size_override,
            },
            self.mem,
            self.notes,
        );
    }

    /// Sets event flag `relid` in `vp`'s SINT2 bitmap (§3.9); interrupts
    /// only on 0 → 1. Target 0xFFFF_FFFF means "no interrupts" (§3.7).
    pub(crate) fn signal(&mut self, vp: u32, relid: u32) -> bool {
        if vp == u32::MAX {
            return false;
        }
        let vp = self.vp(vp);
        self.hv.vps[vp].signal(VMBUS_SINT, relid, self.mem, self.notes)
    }
}
