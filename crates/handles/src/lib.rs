//! Per-process handle table: generation-checked `u64` handles with rights.
//!
//! A process names kernel objects by handles. [`HandleTable`] maps them to
//! objects (`T`: in the kernel, an enum of `Arc`ed objects) and the
//! [`Rights`] each handle grants.
//!
//! # Handle values
//!
//! ```text
//!  63            32 31                      2 1 0
//! +----------------+-------------------------+---+
//! |   generation   |        slot + 1         | 0 |
//! +----------------+-------------------------+---+
//! ```
//!
//! - Bits 1-0 are always 0, as on Windows, where the low two bits of a
//!   kernel handle are free for the application to tag (`OBJ_HANDLE_TAGBITS`).
//! - The slot field is never 0, so no handle is 0 ([`INVALID`], like NULL).
//! - Generations run from 0 to `u32::MAX - 1`, so no handle is at or above
//!   [`PSEUDO_BASE`]: the pseudo-handles [`CURRENT_PROCESS`] (−1) and
//!   [`CURRENT_THREAD`] (−2), and the other small negative values Windows
//!   uses, are never issued and always look up as [`HandleError::Invalid`].
//!   The syscall layer resolves pseudo-handles before it asks the table.
//! - Closing a handle bumps its slot's generation, so a stale handle never
//!   matches the slot's next occupant. A slot whose generation is used up
//!   is retired for good: a handle value is never issued twice.
//! - Handles use all 64 bits; code that truncates a handle to 32 bits (legal
//!   on 64-bit Windows) loses the generation and will be refused.
//!
//! # Memory
//!
//! Entries live in one `Vec`; free slots form a FIFO list threaded through
//! the entries themselves (oldest-freed slot reused first, which spreads
//! generations), so no other allocation happens. Growing the `Vec` is the
//! only allocation, and it is fallible ([`HandleError::NoMemory`]); call
//! [`HandleTable::try_reserve`] ahead to make later inserts allocation-free.
//! Teardown loops on [`HandleTable::pop_any`], which never allocates.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod rights;
#[cfg(test)]
mod tests;

pub use rights::Rights;

use alloc::vec::Vec;
use core::{fmt, mem};

/// The null handle: never issued.
pub const INVALID: u64 = 0;
/// `NtCurrentProcess()`, `(HANDLE)-1`: never issued.
pub const CURRENT_PROCESS: u64 = u64::MAX;
/// `NtCurrentThread()`, `(HANDLE)-2`: never issued.
pub const CURRENT_THREAD: u64 = u64::MAX - 1;
/// No issued handle is at or above this value (generation `u32::MAX` is
/// never used), so `PSEUDO_BASE..=u64::MAX` is free for pseudo-handles.
pub const PSEUDO_BASE: u64 = 0xFFFF_FFFF_0000_0000;

/// Most slots a table can have: the slot field is 30 bits wide and holds
/// `slot + 1`.
pub const MAX_SLOTS: usize = (1 << SLOT_BITS) - 1;

/// Low bits that are always zero (application tag bits).
const TAG_BITS: u32 = 2;
/// Width of the `slot + 1` field.
const SLOT_BITS: u32 = 30;
/// Where the generation starts.
const GEN_SHIFT: u32 = TAG_BITS + SLOT_BITS;
/// A free slot's generation is retired when it would reach this.
const GEN_RETIRED: u32 = u32::MAX;
/// End of the free list.
const NIL: u32 = u32::MAX;

/// Why a handle operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleError {
    /// Not a live handle of this table: 0, a pseudo-handle, forged, closed,
    /// or from a previous occupant of the slot.
    Invalid,
    /// The handle is live but lacks a right the operation needs.
    AccessDenied,
    /// The table already holds its limit of live handles.
    TableFull,
    /// Growing the table failed.
    NoMemory,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "invalid handle",
            Self::AccessDenied => "handle lacks the needed rights",
            Self::TableFull => "handle table full",
            Self::NoMemory => "out of memory growing the handle table",
        })
    }
}

/// One entry of the table.
#[derive(Clone, Debug)]
enum Slot<T> {
    /// Holds an object; `generation` is the one in its handle.
    Live {
        object: T,
        rights: Rights,
        generation: u32,
    },
    /// On the free list; the next occupant gets `generation`.
    Free { generation: u32, next: u32 },
    /// Generations used up: never reused.
    Retired,
}

/// A process's handles: objects of type `T` and the rights to them.
#[derive(Clone, Debug)]
pub struct HandleTable<T> {
    slots: Vec<Slot<T>>,
    /// Oldest free slot, or `NIL`.
    free_head: u32,
    /// Newest free slot, or `NIL`.
    free_tail: u32,
    /// Live handles.
    live: usize,
    /// Most live handles allowed.
    limit: usize,
    /// Retired slots (never reused).
    retired: usize,
    /// Every live slot's index is below this (a hint for `pop_any`).
    live_bound: usize,
}

/// The handle for `slot` at `generation`.
fn encode(slot: usize, generation: u32) -> u64 {
    (u64::from(generation) << GEN_SHIFT) | (((slot as u64) + 1) << TAG_BITS)
}

/// The slot and generation a handle names, if it is well-formed.
fn decode(handle: u64) -> Option<(usize, u32)> {
    if handle & ((1 << TAG_BITS) - 1) != 0 {
        return None;
    }
    let field = (handle >> TAG_BITS) & ((1 << SLOT_BITS) - 1);
    let slot = usize::try_from(field.checked_sub(1)?).ok()?;
    let generation = u32::try_from(handle >> GEN_SHIFT).ok()?;
    (generation != GEN_RETIRED).then_some((slot, generation))
}

impl<T> HandleTable<T> {
    /// An empty table that holds at most `limit` live handles (capped at
    /// [`MAX_SLOTS`]). Allocates nothing until the first insert.
    pub fn new(limit: usize) -> Self {
        Self {
            slots: Vec::new(),
            free_head: NIL,
            free_tail: NIL,
            live: 0,
            limit: limit.min(MAX_SLOTS),
            retired: 0,
            live_bound: 0,
        }
    }

    /// Most live handles the table accepts.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Live handles.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no handle is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Makes room so that the next `additional` inserts (within the limit)
    /// do not allocate.
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), HandleError> {
        let wanted = self.live.saturating_add(additional).min(self.limit);
        // Live and free slots can hold `wanted`; only the rest is new.
        let usable = self.slots.len() - self.retired;
        self.slots
            .try_reserve(wanted.saturating_sub(usable))
            .map_err(|_| HandleError::NoMemory)
    }

    /// Stores `object` with `rights` and returns its new handle.
    ///
    /// [`HandleError::TableFull`] at the limit (or when every slot number is
    /// used), [`HandleError::NoMemory`] if the table cannot grow; `object` is
    /// dropped in both cases.
    pub fn insert(&mut self, object: T, rights: Rights) -> Result<u64, HandleError> {
        if self.live >= self.limit {
            return Err(HandleError::TableFull);
        }
        let (slot, generation) = match self.pop_free() {
            Some(free) => free,
            None => {
                if self.slots.len() >= MAX_SLOTS {
                    return Err(HandleError::TableFull);
                }
                self.slots
                    .try_reserve(1)
                    .map_err(|_| HandleError::NoMemory)?;
                self.slots.push(Slot::Retired);
                (self.slots.len() - 1, 0)
            }
        };
        self.slots[slot] = Slot::Live {
            object,
            rights,
            generation,
        };
        self.live += 1;
        self.live_bound = self.live_bound.max(slot + 1);
        Ok(encode(slot, generation))
    }

    /// The object behind `handle`, if the handle is live and has every right
    /// in `need`.
    pub fn get(&self, handle: u64, need: Rights) -> Result<&T, HandleError> {
        let (object, rights) = self.lookup(handle)?;
        if rights.contains(need) {
            Ok(object)
        } else {
            Err(HandleError::AccessDenied)
        }
    }

    /// Like [`get`](Self::get), but mutable.
    pub fn get_mut(&mut self, handle: u64, need: Rights) -> Result<&mut T, HandleError> {
        match self.live_slot_mut(handle)? {
            Slot::Live { object, rights, .. } if rights.contains(need) => Ok(object),
            _ => Err(HandleError::AccessDenied),
        }
    }

    /// The rights `handle` grants (for duplication, which may only narrow
    /// them).
    pub fn rights(&self, handle: u64) -> Result<Rights, HandleError> {
        self.lookup(handle).map(|(_, rights)| rights)
    }

    /// Closes `handle` and returns its object. The handle, and every copy of
    /// it, is invalid from now on.
    pub fn remove(&mut self, handle: u64) -> Result<T, HandleError> {
        let (slot, _) = decode(handle).ok_or(HandleError::Invalid)?;
        self.live_slot_mut(handle)?;
        self.vacate(slot).ok_or(HandleError::Invalid)
    }

    /// Closes some live handle and returns its object, or `None` when the
    /// table is empty. Never allocates: process teardown loops on it, and a
    /// whole drain takes time linear in the number of slots.
    pub fn pop_any(&mut self) -> Option<T> {
        while self.live_bound > 0 {
            let slot = self.live_bound - 1;
            if let Some(object) = self.vacate(slot) {
                return Some(object);
            }
            self.live_bound = slot;
        }
        None
    }

    /// Every live handle with its object and rights, in slot order (for
    /// enumeration, checkpointing and debugging).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T, Rights)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Live {
                object,
                rights,
                generation,
            } => Some((encode(i, *generation), object, *rights)),
            _ => None,
        })
    }

    /// Object and rights of a live handle.
    fn lookup(&self, handle: u64) -> Result<(&T, Rights), HandleError> {
        let (slot, generation) = decode(handle).ok_or(HandleError::Invalid)?;
        match self.slots.get(slot) {
            Some(Slot::Live {
                object,
                rights,
                generation: g,
            }) if *g == generation => Ok((object, *rights)),
            _ => Err(HandleError::Invalid),
        }
    }

    /// The slot of a live handle.
    fn live_slot_mut(&mut self, handle: u64) -> Result<&mut Slot<T>, HandleError> {
        let (slot, generation) = decode(handle).ok_or(HandleError::Invalid)?;
        match self.slots.get_mut(slot) {
            Some(s) if s.is_live() && s.generation() == generation => Ok(s),
            _ => Err(HandleError::Invalid),
        }
    }

    /// If slot `slot` is live: empties it, puts it on the free list with the
    /// next generation (or retires it), and returns its object.
    fn vacate(&mut self, slot: usize) -> Option<T> {
        let entry = self.slots.get_mut(slot)?;
        if !entry.is_live() {
            return None;
        }
        // Live generations are below GEN_RETIRED, so this cannot overflow.
        let next_generation = entry.generation() + 1;
        let vacated = if next_generation == GEN_RETIRED {
            Slot::Retired
        } else {
            Slot::Free {
                generation: next_generation,
                next: NIL,
            }
        };
        let Slot::Live { object, .. } = mem::replace(entry, vacated) else {
            return None;
        };
        self.live -= 1;
        if next_generation == GEN_RETIRED {
            self.retired += 1;
        } else {
            self.push_free(slot as u32);
        }
        Some(object)
    }

    /// Appends free slot `slot` to the free list.
    fn push_free(&mut self, slot: u32) {
        if let Some(Slot::Free { next, .. }) = self.slots.get_mut(self.free_tail as usize) {
            *next = slot;
        } else {
            self.free_head = slot;
        }
        self.free_tail = slot;
    }

    /// Takes the oldest free slot: its index and the generation to use.
    fn pop_free(&mut self) -> Option<(usize, u32)> {
        let head = self.free_head;
        let Some(&Slot::Free { generation, next }) = self.slots.get(head as usize) else {
            return None;
        };
        self.free_head = next;
        if next == NIL {
            self.free_tail = NIL;
        }
        Some((head as usize, generation))
    }
}

impl<T> Slot<T> {
    /// Whether the slot holds an object.
    fn is_live(&self) -> bool {
        matches!(self, Self::Live { .. })
    }

    /// The generation a live or free slot carries (retired: the last one).
    fn generation(&self) -> u32 {
        match self {
            Self::Live { generation, .. } | Self::Free { generation, .. } => *generation,
            Self::Retired => GEN_RETIRED,
        }
    }
}
