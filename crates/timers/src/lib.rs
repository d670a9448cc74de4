//! One-shot timer queue for sleeps and timeouts: an indexed binary heap.
//!
//! [`TimerQueue`] holds deadlines (nanoseconds on whatever clock the caller
//! uses) with a caller key `K` each, such as the thread to wake. It answers
//! "when is the next deadline" ([`TimerQueue::next_deadline`], for
//! programming the timer interrupt) and hands out expired timers earliest
//! first, equal deadlines in insertion order ([`TimerQueue::pop_expired`]).
//!
//! # Design
//! A binary min-heap ordered by `(deadline, sequence number)` holds the
//! live timers. Each timer also has a slot in a slab that records where it
//! sits in the heap, so [`TimerQueue::cancel`] removes it from the heap at
//! once in O(log n): the queue never holds cancelled entries, `len` counts
//! exactly the live timers, and a freed slot is reused by the next insert
//! (free slots form a list threaded through the slab, no extra allocation).
//! The two `Vec`s keep their capacity as a high-water mark.
//!
//! A [`TimerId`] carries the timer's sequence number, drawn from a `u64`
//! counter that never wraps (insert fails once it is used up), so an id is
//! never reused and a stale id — cancelled, expired, or of a timer whose slot
//! has a new occupant — cancels nothing. Ids are meaningful only to the
//! queue that issued them.
//!
//! # Allocation
//! Growth is fallible ([`TimerError::NoMemory`]) and never aborts. After
//! [`TimerQueue::try_reserve`]`(n)` succeeds, the next `n` inserts do not
//! allocate, so an interrupt-time or no-fail path can pre-reserve.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod heap;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use core::fmt;
use heap::Entry;

/// End of the free-slot list; also one past the largest slot index.
const NIL: u32 = u32::MAX;

/// Names one inserted timer; see the crate documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId {
    /// Unique per queue, in insertion order.
    seq: u64,
    /// Slab slot the timer occupied.
    slot: u32,
}

impl TimerId {
    /// The timer's sequence number: unique within its queue and increasing
    /// in insertion order.
    pub fn seq(self) -> u64 {
        self.seq
    }
}

/// Why a timer could not be inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// Growing the queue failed.
    NoMemory,
    /// Sequence numbers or slot indices are used up.
    Exhausted,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMemory => "out of memory growing the timer queue",
            Self::Exhausted => "timer ids or slots exhausted",
        })
    }
}

/// A slab entry.
#[derive(Clone, Debug)]
enum Slot<K> {
    /// A live timer and its index in the heap.
    Used { seq: u64, key: K, pos: u32 },
    /// On the free list.
    Free { next: u32 },
}

/// One-shot timers keyed by `K`, earliest deadline first.
#[derive(Clone, Debug)]
pub struct TimerQueue<K> {
    /// Min-heap of live timers by `(deadline, seq)`.
    heap: Vec<Entry>,
    /// Per-timer data; `Used` slots are exactly those named by `heap`.
    slots: Vec<Slot<K>>,
    /// First free slot, or `NIL`.
    free: u32,
    /// Sequence number of the next insert.
    next_seq: u64,
}

impl<K> Default for TimerQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> TimerQueue<K> {
    /// An empty queue; allocates nothing until the first insert.
    pub const fn new() -> Self {
        Self {
            heap: Vec::new(),
            slots: Vec::new(),
            free: NIL,
            next_seq: 0,
        }
    }

    /// Live (neither cancelled nor popped) timers.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Makes room so that the next `n` inserts do not allocate.
    pub fn try_reserve(&mut self, n: usize) -> Result<(), TimerError> {
        self.heap.try_reserve(n).map_err(|_| TimerError::NoMemory)?;
        let free_slots = self.slots.len() - self.heap.len();
        self.slots
            .try_reserve(n.saturating_sub(free_slots))
            .map_err(|_| TimerError::NoMemory)
    }

    /// The earliest deadline, if any timer is live.
    pub fn next_deadline(&self) -> Option<u64> {
        self.heap.first().map(|e| e.deadline)
    }

    /// Live timers in no particular order, with their deadlines (for
    /// enumeration and checkpointing).
    pub fn iter(&self) -> impl Iterator<Item = (TimerId, u64, &K)> + '_ {
        self.heap
            .iter()
            .filter_map(|e| match self.slots.get(e.slot as usize) {
                Some(Slot::Used { seq, key, .. }) => Some((
                    TimerId {
                        seq: *seq,
                        slot: e.slot,
                    },
                    e.deadline,
                    key,
                )),
                _ => None,
            })
    }

    /// Adds a timer that expires once `now_ns >= deadline_ns`.
    pub fn insert(&mut self, deadline_ns: u64, key: K) -> Result<TimerId, TimerError> {
        if self.next_seq == u64::MAX {
            return Err(TimerError::Exhausted);
        }
        self.heap.try_reserve(1).map_err(|_| TimerError::NoMemory)?;
        let seq = self.next_seq;
        let pos = self.heap.len() as u32;
        let slot = if let Some(&Slot::Free { next }) = self.slots.get(self.free as usize) {
            let slot = self.free;
            self.free = next;
            self.slots[slot as usize] = Slot::Used { seq, key, pos };
            slot
        } else {
            if self.slots.len() >= NIL as usize {
                return Err(TimerError::Exhausted);
            }
            self.slots
                .try_reserve(1)
                .map_err(|_| TimerError::NoMemory)?;
            self.slots.push(Slot::Used { seq, key, pos });
            (self.slots.len() - 1) as u32
        };
        self.next_seq += 1;
        self.heap.push(Entry {
            deadline: deadline_ns,
            seq,
            slot,
        });
        self.sift_up(pos as usize);
        Ok(TimerId { seq, slot })
    }

    /// Cancels a live timer and returns its key; `None` if `id` already
    /// expired, was cancelled, or is not from this queue.
    pub fn cancel(&mut self, id: TimerId) -> Option<K> {
        let pos = match self.slots.get(id.slot as usize) {
            Some(Slot::Used { seq, pos, .. }) if *seq == id.seq => *pos,
            _ => return None,
        };
        self.remove_at(pos as usize).map(|(_, key)| key)
    }

    /// Removes and returns the earliest timer if its deadline is at or
    /// before `now_ns`; equal deadlines come out in insertion order. Call in
    /// a loop to drain everything that has expired.
    pub fn pop_expired(&mut self, now_ns: u64) -> Option<(TimerId, K)> {
        if self.next_deadline()? > now_ns {
            return None;
        }
        self.remove_at(0)
    }

    /// Takes the timer at heap index `pos` out of the heap and the slab.
    fn remove_at(&mut self, pos: usize) -> Option<(TimerId, K)> {
        let entry = self.heap_remove(pos)?;
        let freed = Slot::Free { next: self.free };
        let slot = self.slots.get_mut(entry.slot as usize)?;
        match core::mem::replace(slot, freed) {
            Slot::Used { seq, key, .. } => {
                self.free = entry.slot;
                let id = TimerId {
                    seq,
                    slot: entry.slot,
                };
                Some((id, key))
            }
            other => {
                // Unreachable: heap entries always name used slots.
                *slot = other;
                None
            }
        }
    }

    /// Records that the timer in `slot` now sits at heap index `pos`.
    fn set_pos(&mut self, slot: u32, new_pos: usize) {
        if let Some(Slot::Used { pos, .. }) = self.slots.get_mut(slot as usize) {
            *pos = new_pos as u32;
        }
    }
}
