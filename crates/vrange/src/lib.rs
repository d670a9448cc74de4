//! Kernel virtual address range allocator: first fit, coalescing frees.
//!
//! Hands out page-aligned ranges of a fixed window of kernel virtual space
//! (stacks with guard pages, MMIO windows, large buffers). Free space is a
//! `BTreeMap` from start to length, so it needs the heap: the kernel creates
//! it after the heap is up. Freeing merges with both neighbours, so the map
//! holds disjoint, non-adjacent ranges at all times.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::BTreeMap;
use core::fmt;

/// Granularity of every range.
pub const PAGE: u64 = 4096;

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// Zero bytes, or an alignment that is not a power of two ≥ 4 KiB.
    BadRequest,
    /// No free range is large enough.
    Exhausted { bytes: u64 },
    /// The range to free was not handed out (or overlaps free space).
    NotAllocated { start: u64, bytes: u64 },
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRequest => f.write_str("zero size or bad alignment"),
            Self::Exhausted { bytes } => write!(f, "no free virtual range of {bytes:#x} bytes"),
            Self::NotAllocated { start, bytes } => {
                write!(f, "range {start:#x}+{bytes:#x} was not allocated")
            }
        }
    }
}

/// The allocator over one window `[base, base + size)`.
#[derive(Clone, Debug)]
pub struct RangeAllocator {
    window: (u64, u64),
    free: BTreeMap<u64, u64>,
}

impl RangeAllocator {
    /// Manages `[base, base + size)`; both are rounded inward to pages.
    pub fn new(base: u64, size: u64) -> Self {
        let start = base.next_multiple_of(PAGE);
        let end = (base + size) / PAGE * PAGE;
        let mut free = BTreeMap::new();
        if end > start {
            free.insert(start, end - start);
        }
        Self {
            window: (start, end),
            free,
        }
    }

    /// The managed window.
    pub fn window(&self) -> (u64, u64) {
        self.window
    }

    /// Bytes still free.
    pub fn free_bytes(&self) -> u64 {
        self.free.values().sum()
    }

    /// Number of free ranges (1 when nothing is handed out).
    pub fn fragments(&self) -> usize {
        self.free.len()
    }

    /// Allocates `bytes` (rounded up to pages) aligned to `align`.
    pub fn alloc(&mut self, bytes: u64, align: u64) -> Result<u64, RangeError> {
        if bytes == 0 || !align.is_power_of_two() || align < PAGE {
            return Err(RangeError::BadRequest);
        }
        let bytes = bytes
            .checked_next_multiple_of(PAGE)
            .ok_or(RangeError::BadRequest)?;
        let found = self.free.iter().find_map(|(&start, &len)| {
            let at = start.checked_next_multiple_of(align)?;
            (at.checked_add(bytes)? <= start + len).then_some((start, len, at))
        });
        let (start, len, at) = found.ok_or(RangeError::Exhausted { bytes })?;
        self.free.remove(&start);
        if at > start {
            self.free.insert(start, at - start);
        }
        let end = at + bytes;
        if end < start + len {
            self.free.insert(end, start + len - end);
        }
        Ok(at)
    }

    /// Returns `[start, start + bytes)` (bytes rounded up to pages).
    pub fn free(&mut self, start: u64, bytes: u64) -> Result<(), RangeError> {
        let bytes = bytes.next_multiple_of(PAGE);
        let bad = RangeError::NotAllocated { start, bytes };
        if bytes == 0 || !start.is_multiple_of(PAGE) || start < self.window.0 {
            return Err(bad);
        }
        let end = start.checked_add(bytes).ok_or(bad)?;
        if end > self.window.1 {
            return Err(bad);
        }
        let before = self.free.range(..end).next_back().map(|(&s, &l)| (s, l));
        if let Some((s, l)) = before {
            if s + l > start {
                return Err(bad); // overlaps free space: double free
            }
        }
        let (mut new_start, mut new_len) = (start, bytes);
        if let Some((s, l)) = before {
            if s + l == start {
                self.free.remove(&s);
                new_start = s;
                new_len += l;
            }
        }
        if let Some(l) = self.free.remove(&end) {
            new_len += l;
        }
        self.free.insert(new_start, new_len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_coalesces_back_to_one_range() {
        let mut r = RangeAllocator::new(0x10_0000, 0x100_0000);
        let a = r.alloc(0x3000, PAGE).unwrap();
        let b = r.alloc(0x1000, 0x10_0000).unwrap();
        let c = r.alloc(0x2001, PAGE).unwrap();
        assert_eq!(a, 0x10_0000);
        assert_eq!(b % 0x10_0000, 0);
        assert!(c >= a + 0x3000);
        r.free(b, 0x1000).unwrap();
        r.free(a, 0x3000).unwrap();
        r.free(c, 0x2001).unwrap();
        assert_eq!(r.fragments(), 1);
        assert_eq!(r.free_bytes(), 0x100_0000);
    }

    #[test]
    fn rejects_bad_requests_and_double_frees() {
        let mut r = RangeAllocator::new(0, 0x10000);
        assert_eq!(r.alloc(0, PAGE), Err(RangeError::BadRequest));
        assert_eq!(r.alloc(PAGE, 3 * PAGE), Err(RangeError::BadRequest));
        assert_eq!(
            r.alloc(0x20000, PAGE),
            Err(RangeError::Exhausted { bytes: 0x20000 })
        );
        let a = r.alloc(PAGE, PAGE).unwrap();
        r.free(a, PAGE).unwrap();
        assert!(r.free(a, PAGE).is_err());
        assert!(r.free(0x20000, PAGE).is_err());
        assert!(r.free(0x123, PAGE).is_err());
    }
}
