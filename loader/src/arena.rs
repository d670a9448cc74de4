//! Bump allocator for responses inside tracked reclaimable pages (§1).

use crate::error::LoaderError;
use crate::memory::Tracker;
use handoff::memmap::MemType;
use handoff::{HHDM_OFFSET, PAGE_SIZE};

/// The HHDM address of physical `phys` (§7).
pub const fn hhdm(phys: u64) -> u64 {
    phys + HHDM_OFFSET
}

/// Response storage: one zeroed BOOTLOADER_RECLAIMABLE block.
pub struct Arena {
    base: u64,
    size: u64,
    used: u64,
}

impl Arena {
    /// Allocates an arena of at least `bytes` bytes.
    pub fn new(tracker: &mut Tracker, bytes: u64) -> Result<Self, LoaderError> {
        let pages = bytes.div_ceil(PAGE_SIZE).max(1);
        let base = tracker.alloc(pages, MemType::BootloaderReclaimable, false)?;
        Ok(Self {
            base,
            size: pages * PAGE_SIZE,
            used: 0,
        })
    }

    /// Reserves `len` zeroed bytes aligned to 16; returns the physical
    /// address.
    pub fn reserve(&mut self, len: u64) -> Result<u64, LoaderError> {
        let start = handoff::align_up(self.used, 16).ok_or(LoaderError::TooLarge("responses"))?;
        let end = start
            .checked_add(len)
            .ok_or(LoaderError::TooLarge("responses"))?;
        if end > self.size {
            return Err(LoaderError::TooLarge("responses"));
        }
        self.used = end;
        Ok(self.base + start)
    }

    /// Stores `value` and returns its physical address.
    pub fn put<T: Copy>(&mut self, value: T) -> Result<u64, LoaderError> {
        let phys = self.reserve(core::mem::size_of::<T>() as u64)?;
        // SAFETY: `phys` is a fresh, 16-byte aligned (≥ align_of::<T>()
        // for every response type) range of size_of::<T>() bytes inside
        // our tracked arena, identity-mapped while boot services run.
        unsafe { (phys as *mut T).write(value) };
        Ok(phys)
    }

    /// Stores a NUL-terminated copy of `s`; returns its HHDM address.
    pub fn put_str(&mut self, s: &str) -> Result<u64, LoaderError> {
        let len = s.len() as u64 + 1;
        let phys = self.reserve(len)?;
        // SAFETY: fresh arena range of `len` bytes (already zeroed, so the
        // terminator is in place).
        let dst = unsafe { crate::memory::phys_bytes(phys, s.len()) };
        dst.copy_from_slice(s.as_bytes());
        Ok(hhdm(phys))
    }

    /// Stores an array of HHDM pointers; returns its HHDM address.
    pub fn put_pointers(&mut self, ptrs: &[u64]) -> Result<u64, LoaderError> {
        let phys = self.reserve(8 * ptrs.len() as u64)?;
        for (i, p) in ptrs.iter().enumerate() {
            // SAFETY: within the fresh `8 * len` byte range, 8-aligned.
            unsafe { (phys as *mut u64).add(i).write(*p) };
        }
        Ok(hhdm(phys))
    }
}
