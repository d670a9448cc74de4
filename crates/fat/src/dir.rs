//! Directory contents in memory: 32-byte entries, LFN sets, free slots.
//!
//! fatgen103 §6 (the directory entry: name 0..11, attributes 11, NTRes
//! 12, times 13..20, cluster high 20, write time/date 22, cluster low 26,
//! size 28; 0x00 ends the directory, 0xE5 marks a deleted entry) and §7
//! (LFN entries: attribute 0x0F, order byte with 0x40 on the last,
//! 13 UTF-16 units at 1, 14 and 28, checksum at 13).

use crate::chain::Chain;
use crate::name::{checksum, same_chars, same_name, short_chars, short_display};
use alloc::string::String;
use alloc::vec::Vec;

pub(crate) const ENTRY: usize = 32;
pub(crate) const ATTR_VOLUME_ID: u8 = 0x08;
pub(crate) const ATTR_DIRECTORY: u8 = 0x10;
pub(crate) const ATTR_ARCHIVE: u8 = 0x20;
const ATTR_LONG_NAME: u8 = 0x0F;
const ATTR_LONG_NAME_MASK: u8 = 0x3F;
const DELETED: u8 = 0xE5;
/// UTF-16 units in one LFN entry, and their byte offsets in it.
const LFN_UNITS: usize = 13;
const LFN_OFFSETS: [usize; LFN_UNITS] = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
/// A directory holds at most 65536 entries (fatgen103 §6).
pub(crate) const MAX_ENTRIES: usize = 65536;

/// Which directory: the root, or the one starting at a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirRef {
    Root,
    Cluster(u32),
}

/// Where a directory's bytes are on disk.
#[derive(Clone, Debug)]
pub(crate) enum Region {
    /// The FAT12/16 root directory.
    Fixed {
        lba: u64,
        sectors: u64,
    },
    Chain(Chain),
}

/// A directory read whole.
pub(crate) struct Dir {
    pub at: DirRef,
    pub region: Region,
    pub bytes: Vec<u8>,
}

/// A live entry, with its long name if a valid LFN set precedes it.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub long: Option<String>,
    pub short: [u8; 11],
    pub nt: u8,
    pub attr: u8,
    pub cluster: u32,
    pub size: u32,
    /// The first slot of the entry's set (its first LFN entry, if any).
    pub first_slot: usize,
    /// The short entry's slot.
    pub slot: usize,
}

impl Found {
    pub fn name(&self) -> String {
        self.long
            .clone()
            .unwrap_or_else(|| short_display(&self.short, self.nt))
    }

    pub fn is_dir(&self) -> bool {
        self.attr & ATTR_DIRECTORY != 0
    }

    pub fn is_dot(&self) -> bool {
        &self.short == b".          " || &self.short == b"..         "
    }

    /// Whether `name` names this entry (long or short name, any case).
    pub fn matches(&self, name: &str) -> bool {
        !self.is_dot()
            && (self.long.as_deref().is_some_and(|l| same_name(l, name))
                || same_chars(short_chars(&self.short, 0), name))
    }
}

struct LfnState {
    units: [u16; 20 * LFN_UNITS],
    entries: u8,
    next: u8,
    sum: u8,
    start: usize,
}

impl Dir {
    /// The slots before the end marker (or the whole directory).
    fn used(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.bytes
            .chunks_exact(ENTRY)
            .enumerate()
            .take_while(|(_, e)| e[0] != 0)
    }

    /// Live entries (dot entries included, volume labels not), and the
    /// volume label if there is one.
    pub fn entries(&self, fat32: bool) -> (Vec<Found>, Option<[u8; 11]>) {
        let mut out = Vec::new();
        let mut label = None;
        let mut lfn: Option<LfnState> = None;
        for (slot, e) in self.used() {
            let attr = e[11];
            if e[0] == DELETED {
                lfn = None;
            } else if attr & ATTR_LONG_NAME_MASK == ATTR_LONG_NAME {
                lfn = lfn_step(lfn.take(), slot, e);
            } else {
                let mut short = [0u8; 11];
                short.copy_from_slice(&e[..11]);
                let set = lfn.take();
                if attr & ATTR_VOLUME_ID != 0 {
                    label = Some(short);
                    continue;
                }
                let (long, first_slot) = match set {
                    Some(s) if s.next == 0 && s.sum == checksum(&short) => {
                        let n = usize::from(s.entries) * LFN_UNITS;
                        let units = s.units[..n].iter().copied().take_while(|&u| u != 0);
                        let long: String = char::decode_utf16(units)
                            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect();
                        ((!long.is_empty()).then_some(long), s.start)
                    }
                    _ => (None, slot),
                };
                let lo = u32::from(u16::from_le_bytes([e[26], e[27]]));
                let hi = u32::from(u16::from_le_bytes([e[20], e[21]]));
                out.push(Found {
                    long,
                    short,
                    nt: e[12],
                    attr,
                    cluster: if fat32 { hi << 16 | lo } else { lo },
                    size: u32::from_le_bytes([e[28], e[29], e[30], e[31]]),
                    first_slot,
                    slot,
                });
            }
        }
        (out, label)
    }

    /// The first of `n` consecutive free slots, if there is such a run.
    pub fn free_run(&self, n: usize) -> Option<usize> {
        let slots = self.bytes.len() / ENTRY;
        let mut run = 0;
        let mut ended = false;
        for slot in 0..slots {
            let b = self.bytes[slot * ENTRY];
            ended |= b == 0;
            run = if ended || b == DELETED { run + 1 } else { 0 };
            if run == n {
                return Some(slot + 1 - n);
            }
        }
        None
    }

    /// Free slots at the very end (the run that growing would extend).
    pub fn free_tail(&self) -> usize {
        let slots = self.bytes.len() / ENTRY;
        let end = self.used().last().map_or(0, |(s, _)| s + 1);
        let trailing_deleted = self.bytes[..end * ENTRY]
            .chunks_exact(ENTRY)
            .rev()
            .take_while(|e| e[0] == DELETED)
            .count();
        slots - end + trailing_deleted
    }

    /// Writes `set` from `slot` on, keeping an end marker after it;
    /// returns the byte range changed.
    pub fn place(&mut self, slot: usize, set: &[[u8; ENTRY]]) -> core::ops::Range<usize> {
        let start = slot * ENTRY;
        let used_end = self.used().last().map_or(0, |(s, _)| s + 1) * ENTRY;
        let mut end = start;
        for e in set {
            self.bytes[end..end + ENTRY].copy_from_slice(e);
            end += ENTRY;
        }
        // Slots past the old end marker might hold stale bytes: keep them
        // hidden behind a fresh marker.
        if end > used_end && end < self.bytes.len() && self.bytes[end] != 0 {
            self.bytes[end] = 0;
            end += ENTRY;
        }
        start..end
    }

    /// Marks a set of slots deleted; returns the byte range changed.
    pub fn delete(&mut self, first: usize, last: usize) -> core::ops::Range<usize> {
        for slot in first..=last {
            self.bytes[slot * ENTRY] = DELETED;
        }
        first * ENTRY..(last + 1) * ENTRY
    }
}

/// One LFN entry more on top of the set collected so far.
fn lfn_step(state: Option<LfnState>, slot: usize, e: &[u8]) -> Option<LfnState> {
    let ord = e[0];
    let mut s = if ord & 0x40 != 0 {
        let n = ord & 0x1F;
        if n == 0 || n > 20 {
            return None;
        }
        LfnState {
            units: [0; 20 * LFN_UNITS],
            entries: n,
            next: n,
            sum: e[13],
            start: slot,
        }
    } else {
        state?
    };
    let seq = ord & 0x1F;
    if seq == 0 || seq != s.next || e[13] != s.sum {
        return None;
    }
    let base = usize::from(seq - 1) * LFN_UNITS;
    for (i, &at) in LFN_OFFSETS.iter().enumerate() {
        s.units[base + i] = u16::from_le_bytes([e[at], e[at + 1]]);
    }
    s.next -= 1;
    Some(s)
}

/// A short entry.
pub(crate) fn short_entry(
    short: &[u8; 11],
    attr: u8,
    cluster: u32,
    size: u32,
    stamp: (u16, u16),
) -> [u8; ENTRY] {
    let mut e = [0u8; ENTRY];
    e[..11].copy_from_slice(short);
    e[11] = attr;
    let (date, time) = stamp;
    for at in [14, 22] {
        e[at..at + 2].copy_from_slice(&time.to_le_bytes());
    }
    for at in [16, 18, 24] {
        e[at..at + 2].copy_from_slice(&date.to_le_bytes());
    }
    set_cluster(&mut e, cluster);
    e[28..32].copy_from_slice(&size.to_le_bytes());
    e
}

/// Sets an entry's first cluster (both halves).
pub(crate) fn set_cluster(e: &mut [u8], cluster: u32) {
    e[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
    e[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
}

/// The LFN entries for `units` before short name `short`, in disk order.
pub(crate) fn lfn_entries(units: &[u16], short: &[u8; 11]) -> Vec<[u8; ENTRY]> {
    let sum = checksum(short);
    let n = units.len().div_ceil(LFN_UNITS);
    let mut out = Vec::with_capacity(n);
    for seq in (1..=n).rev() {
        let mut e = [0u8; ENTRY];
        e[0] = seq as u8 | if seq == n { 0x40 } else { 0 };
        e[11] = ATTR_LONG_NAME;
        e[13] = sum;
        for (i, &at) in LFN_OFFSETS.iter().enumerate() {
            let k = (seq - 1) * LFN_UNITS + i;
            // A 0x0000 terminator, then 0xFFFF padding (fatgen103 §7).
            let u = match k.cmp(&units.len()) {
                core::cmp::Ordering::Less => units[k],
                core::cmp::Ordering::Equal => 0,
                core::cmp::Ordering::Greater => 0xFFFF,
            };
            e[at..at + 2].copy_from_slice(&u.to_le_bytes());
        }
        out.push(e);
    }
    out
}
