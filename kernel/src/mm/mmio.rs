//! Device register windows: uncached kernel mappings handed out once each.
//!
//! [`Mmio::map`] maps a physical register range uncacheable (PAT UC) into
//! the kernel's virtual range window and refuses a range that overlaps one
//! already handed out, so two drivers can never own the same registers.
//! Accesses are volatile, bounds-checked and naturally aligned.

use super::{kernel_space, kva, MmError};
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use paging::{CacheType, Flags, PageSize};

const PAGE: u64 = 4096;

/// Physical ranges handed out: start → end.
static CLAIMED: SpinLock<BTreeMap<u64, u64>> = SpinLock::new(BTreeMap::new());

/// An owned window onto device registers.
#[derive(Debug)]
pub struct Mmio {
    phys: u64,
    virt: u64,
    len: u64,
    /// Bytes mapped (whole pages, from the page holding `phys`).
    span: u64,
}

impl Mmio {
    /// Maps `len` bytes of registers at physical `phys`.
    pub fn map(phys: u64, len: u64) -> Result<Self, MmError> {
        let end = phys
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(MmError::Map(paging::MapError::Misaligned { addr: phys }))?;
        let first = phys & !(PAGE - 1);
        let span = end.next_multiple_of(PAGE) - first;
        {
            let mut claimed = CLAIMED.lock();
            let overlaps = claimed
                .range(..end)
                .next_back()
                .is_some_and(|(_, &e)| e > phys);
            if overlaps {
                return Err(MmError::AlreadyClaimed(phys));
            }
            claimed.insert(phys, end);
        }
        let base = match kva::alloc(span, PAGE) {
            Ok(base) => base,
            Err(e) => {
                CLAIMED.lock().remove(&phys);
                return Err(e);
            }
        };
        let flags = (Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL)
            .with_cache(CacheType::Uncacheable);
        let mut window = Self {
            phys,
            virt: base + (phys - first),
            len,
            span: 0,
        };
        for off in (0..span).step_by(PAGE as usize) {
            kernel_space::map(base + off, first + off, PageSize::Size4K, flags)?;
            window.span = off + PAGE;
        }
        Ok(window)
    }

    /// The physical range the window covers.
    pub fn phys_range(&self) -> core::ops::Range<u64> {
        self.phys..self.phys + self.len
    }

    /// The kernel virtual address of physical `phys` inside the window.
    pub(super) fn virt_of(&self, phys: u64) -> Option<u64> {
        self.phys_range()
            .contains(&phys)
            .then(|| self.virt + (phys - self.phys))
    }

    fn address(&self, offset: u64, width: u64) -> Option<u64> {
        let end = offset.checked_add(width)?;
        (end <= self.len && offset.is_multiple_of(width)).then_some(self.virt + offset)
    }

    /// Reads the 8-bit register at `offset` (all ones if out of range).
    pub fn read8(&self, offset: u64) -> u8 {
        match self.address(offset, 1) {
            // SAFETY: as in `read32`.
            Some(a) => unsafe { core::ptr::read_volatile(a as *const u8) },
            None => {
                log::error!(
                    "mmio {:#x}: read8 at {offset:#x} out of range (bug)",
                    self.phys
                );
                u8::MAX
            }
        }
    }

    /// Reads the 16-bit register at `offset` (all ones if out of range).
    pub fn read16(&self, offset: u64) -> u16 {
        match self.address(offset, 2) {
            // SAFETY: as in `read32`.
            Some(a) => unsafe { core::ptr::read_volatile(a as *const u16) },
            None => {
                log::error!(
                    "mmio {:#x}: read16 at {offset:#x} out of range (bug)",
                    self.phys
                );
                u16::MAX
            }
        }
    }

    /// Writes the 16-bit register at `offset` (ignored if out of range).
    pub fn write16(&self, offset: u64, value: u16) {
        match self.address(offset, 2) {
            // SAFETY: as in `read32`.
            Some(a) => unsafe { core::ptr::write_volatile(a as *mut u16, value) },
            None => log::error!(
                "mmio {:#x}: write16 at {offset:#x} out of range (bug)",
                self.phys
            ),
        }
    }

    /// Reads the 32-bit register at `offset` (all ones if out of range).
    pub fn read32(&self, offset: u64) -> u32 {
        match self.address(offset, 4) {
            // SAFETY: the address lies inside this window (checked), which
            // maps device registers uncached for as long as `self` lives.
            Some(a) => unsafe { core::ptr::read_volatile(a as *const u32) },
            None => {
                log::error!(
                    "mmio {:#x}: read32 at {offset:#x} out of range (bug)",
                    self.phys
                );
                u32::MAX
            }
        }
    }

    /// Writes the 32-bit register at `offset` (ignored if out of range).
    pub fn write32(&self, offset: u64, value: u32) {
        match self.address(offset, 4) {
            // SAFETY: as in `read32`.
            Some(a) => unsafe { core::ptr::write_volatile(a as *mut u32, value) },
            None => log::error!(
                "mmio {:#x}: write32 at {offset:#x} out of range (bug)",
                self.phys
            ),
        }
    }

    /// Reads the 64-bit register at `offset` (all ones if out of range).
    pub fn read64(&self, offset: u64) -> u64 {
        match self.address(offset, 8) {
            // SAFETY: as in `read32`.
            Some(a) => unsafe { core::ptr::read_volatile(a as *const u64) },
            None => {
                log::error!(
                    "mmio {:#x}: read64 at {offset:#x} out of range (bug)",
                    self.phys
                );
                u64::MAX
            }
        }
    }

    /// Writes the 64-bit register at `offset` (ignored if out of range).
    pub fn write64(&self, offset: u64, value: u64) {
        match self.address(offset, 8) {
            // SAFETY: as in `read32`.
            Some(a) => unsafe { core::ptr::write_volatile(a as *mut u64, value) },
            None => log::error!(
                "mmio {:#x}: write64 at {offset:#x} out of range (bug)",
                self.phys
            ),
        }
    }
}

impl Drop for Mmio {
    fn drop(&mut self) {
        let base = self.virt & !(PAGE - 1);
        for off in (0..self.span).step_by(PAGE as usize) {
            if let Err(e) = kernel_space::unmap(base + off) {
                log::error!("mmio {:#x}: unmap: {e} (bug)", self.phys);
            }
        }
        let whole = (self.phys + self.len).next_multiple_of(PAGE) - (self.phys & !(PAGE - 1));
        if let Err(e) = kva::free(base, whole) {
            log::error!("mmio {:#x}: range: {e} (bug)", self.phys);
        }
        CLAIMED.lock().remove(&self.phys);
    }
}
