//! One virtual processor's SynIC: MSRs, message slots, event flags (§2).
//!
//! Rules (sheet §2.2–§2.4, §8.1): one message per SIMP slot; a busy slot
//! gets `message_pending` and the next message waits for EOM; an event flag
//! interrupts only when it goes from 0 to 1; nothing is delivered while
//! SCONTROL, the page or the SINT is disabled or masked (it waits instead).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::MsrError;
use crate::notes::{MemoryUse, Note, Notes};
use crate::platform::{Platform, SintInterrupt};

const PAGE_MASK: u64 = !0xFFF;
/// SINTx bit 16: masked (§2.1).
const SINT_MASKED: u64 = 1 << 16;
/// SINTx bit 17: auto-EOI (§2.1).
const SINT_AUTO_EOI: u64 = 1 << 17;
/// Bytes per SIMP slot and per SIEFP bitmap (§2.2, §2.3).
const SLOT: u64 = 256;
/// Payload bytes per message (§2.2).
pub(crate) const MAX_PAYLOAD: usize = 240;
/// Flags bit 0 of a slot: message_pending (§2.2).
const MESSAGE_PENDING: u8 = 1;
/// Messages a SINT may queue before new ones are dropped.
const QUEUE_LIMIT: usize = 4096;

/// A message waiting for its slot.
#[derive(Debug, Clone)]
pub(crate) struct QueuedMessage {
    /// message_type (VMBus uses 1).
    pub message_type: u32,
    /// Up to 240 payload bytes.
    pub payload: Vec<u8>,
    /// Hostile mode: a payload_size byte that lies about the payload.
    pub size_override: Option<u8>,
}

/// SynIC state of one VP.
#[derive(Debug)]
pub(crate) struct Synic {
    vp: u32,
    scontrol: u64,
    siefp: u64,
    simp: u64,
    sints: [u64; 16],
    queues: [VecDeque<QueuedMessage>; 16],
    /// Event flags raised while delivery was off: (sint, flag).
    deferred: Vec<(u8, u32)>,
}

impl Synic {
    /// The reset state: everything disabled, every SINT masked.
    pub(crate) fn new(vp: u32) -> Self {
        Synic {
            vp,
            scontrol: 0,
            siefp: 0,
            simp: 0,
            sints: [SINT_MASKED; 16],
            queues: Default::default(),
            deferred: Vec::new(),
        }
    }

    /// Reads a SynIC MSR (`msr` in 0x4000_0080..=0x4000_009F).
    pub(crate) fn rdmsr(&self, msr: u32) -> Result<u64, MsrError> {
        match msr {
            super::MSR_SCONTROL => Ok(self.scontrol),
            super::MSR_SVERSION => Ok(1),
            super::MSR_SIEFP => Ok(self.siefp),
            super::MSR_SIMP => Ok(self.simp),
            // Write-only; reads return 0.
            super::MSR_EOM => Ok(0),
            m if (super::MSR_SINT0..super::MSR_SINT0 + 16).contains(&m) => {
                Ok(self.sints[(m - super::MSR_SINT0) as usize])
            }
            m => Err(MsrError::Unknown(m)),
        }
    }

    /// Writes a SynIC MSR, then delivers whatever became deliverable.
    pub(crate) fn wrmsr(
        &mut self,
        msr: u32,
        value: u64,
        mem: &mut dyn Platform,
        notes: &mut Notes,
    ) -> Result<(), MsrError> {
        match msr {
            super::MSR_SCONTROL => self.scontrol = value,
            super::MSR_SVERSION => return Err(MsrError::ReadOnly(msr)),
            super::MSR_SIEFP => self.siefp = value,
            super::MSR_SIMP => self.simp = value,
            super::MSR_EOM => {}
            m if (super::MSR_SINT0..super::MSR_SINT0 + 16).contains(&m) => {
                let vector = (value & 0xFF) as u8;
                if value & SINT_MASKED == 0 && vector < 16 {
                    return Err(MsrError::BadVector(vector));
                }
                self.sints[(m - super::MSR_SINT0) as usize] = value;
            }
            m => return Err(MsrError::Unknown(m)),
        }
        self.flush(mem, notes);
        Ok(())
    }

    fn sint_live(&self, sint: u8) -> bool {
        self.scontrol & 1 != 0 && self.sints[usize::from(sint & 15)] & SINT_MASKED == 0
    }

    fn irq(&self, sint: u8) -> SintInterrupt {
        let v = self.sints[usize::from(sint & 15)];
        SintInterrupt {
            vp: self.vp,
            sint,
            vector: (v & 0xFF) as u8,
            auto_eoi: v & SINT_AUTO_EOI != 0,
        }
    }

    /// Queues a message for `sint` and tries to deliver it.
    pub(crate) fn post(
        &mut self,
        sint: u8,
        msg: QueuedMessage,
        mem: &mut dyn Platform,
        notes: &mut Notes,
    ) {
        let q = &mut self.queues[usize::from(sint & 15)];
        if q.len() >= QUEUE_LIMIT {
            notes.push(Note::MessageQueueOverflow { vp: self.vp, sint });
            return;
        }
        q.push_back(msg);
        self.deliver(sint & 15, mem, notes);
    }

    /// Tries every SINT: called on EOM and on MSR writes that enable things.
    pub(crate) fn flush(&mut self, mem: &mut dyn Platform, notes: &mut Notes) {
        for sint in 0..16u8 {
            self.deliver(sint, mem, notes);
        }
        let pending = core::mem::take(&mut self.deferred);
        for (sint, flag) in pending {
            self.signal(sint, flag, mem, notes);
        }
    }

    /// Messages still waiting on `sint` (for tests and diagnostics).
    pub(crate) fn queued(&self, sint: u8) -> usize {
        self.queues[usize::from(sint & 15)].len()
    }

    fn deliver(&mut self, sint: u8, mem: &mut dyn Platform, notes: &mut Notes) {
        if self.queues[usize::from(sint)].is_empty() || self.simp & 1 == 0 || !self.sint_live(sint)
        {
            return;
        }
        let slot = (self.simp & PAGE_MASK) + u64::from(sint) * SLOT;
        let mut ty = [0u8; 4];
        if mem.read_guest(slot, &mut ty).is_err() {
            notes.push(Note::MemoryFault {
                what: MemoryUse::MessagePage,
                gpa: slot,
            });
            return;
        }
        if u32::from_le_bytes(ty) != 0 {
            // Busy slot: ask the guest for an EOM (§2.4, host side).
            if mem.fetch_or_u8(slot + 5, MESSAGE_PENDING).is_err() {
                notes.push(Note::MemoryFault {
                    what: MemoryUse::MessagePage,
                    gpa: slot + 5,
                });
            }
            return;
        }
        let Some(msg) = self.queues[usize::from(sint)].pop_front() else {
            return;
        };
        let more = !self.queues[usize::from(sint)].is_empty();
        let len = msg.payload.len().min(MAX_PAYLOAD);
        let mut body = [0u8; 252];
        body[0] = msg.size_override.unwrap_or(len as u8);
        body[1] = if more { MESSAGE_PENDING } else { 0 };
        body[12..12 + len].copy_from_slice(&msg.payload[..len]);
        // The payload first, the message type last: a guest that sees a
        // non-zero type sees the whole message.
        let ok = mem.write_guest(slot + 4, &body).is_ok()
            && mem
                .write_guest(slot, &msg.message_type.to_le_bytes())
                .is_ok();
        if !ok {
            notes.push(Note::MemoryFault {
                what: MemoryUse::MessagePage,
                gpa: slot,
            });
            return;
        }
        mem.raise_sint(self.irq(sint));
    }

    /// Sets event flag `flag` of `sint`; interrupts only on 0→1 (§2.3).
    /// Returns true if an interrupt was raised.
    pub(crate) fn signal(
        &mut self,
        sint: u8,
        flag: u32,
        mem: &mut dyn Platform,
        notes: &mut Notes,
    ) -> bool {
        let sint = sint & 15;
        if flag >= 2048 {
            return false;
        }
        if self.scontrol & 1 == 0 || self.siefp & 1 == 0 || !self.sint_live(sint) {
            if !self.deferred.contains(&(sint, flag)) {
                self.deferred.push((sint, flag));
            }
            return false;
        }
        let gpa = (self.siefp & PAGE_MASK) + u64::from(sint) * SLOT + u64::from(flag / 8);
        let bit = 1u8 << (flag % 8);
        match mem.fetch_or_u8(gpa, bit) {
            Ok(old) if old & bit == 0 => {
                mem.raise_sint(self.irq(sint));
                true
            }
            Ok(_) => false,
            Err(_) => {
                notes.push(Note::MemoryFault {
                    what: MemoryUse::EventPage,
                    gpa,
                });
                false
            }
        }
    }
}
