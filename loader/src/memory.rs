//! Tracked page allocations (§10 step 2) and raw physical-memory access.
//!
//! Boot services identity-map all memory (UEFI 2.10 §2.3.4), so until
//! our own CR3 is loaded a physical address is also a valid pointer.

use crate::error::LoaderError;
use alloc::vec::Vec;
use core::ptr::NonNull;
use handoff::memmap::{MemType, Tracked};
use handoff::paging::{MapError, TableMemory};
use handoff::PAGE_SIZE;
use uefi::boot::{self, AllocateType, MemoryType};

/// Highest address for allocations that must be below 4 GiB (§1: 8.2
/// keeps its own allocations there).
const BELOW_4G: u64 = 0xffff_ffff;

/// Builds a byte slice over physical memory.
///
/// # Safety
/// `[phys, phys+len)` must be memory the loader owns (a tracked
/// allocation) or firmware tables it only reads, identity-mapped (boot
/// services still running), and no other live reference may alias it.
pub unsafe fn phys_bytes<'a>(phys: u64, len: usize) -> &'a mut [u8] {
    // SAFETY: guaranteed by the caller (see `# Safety`).
    unsafe { core::slice::from_raw_parts_mut(phys as *mut u8, len) }
}

/// Every allocation the loader made, with its Limine type.
#[derive(Default)]
pub struct Tracker {
    list: Vec<Tracked>,
}

impl Tracker {
    /// The tracked allocations.
    pub fn list(&self) -> &[Tracked] {
        &self.list
    }

    fn record(&mut self, base: u64, pages: u64, ty: MemType) {
        if let Some(last) = self.list.last_mut() {
            if last.ty == ty && last.base + last.pages * PAGE_SIZE == base {
                last.pages += pages;
                return;
            }
        }
        self.list.push(Tracked { base, pages, ty });
    }

    /// Allocates `pages` zeroed pages (below 4 GiB unless `anywhere`).
    pub fn alloc(&mut self, pages: u64, ty: MemType, anywhere: bool) -> Result<u64, LoaderError> {
        self.alloc_aligned(pages, PAGE_SIZE, ty, anywhere)
    }

    /// Allocates `pages` zeroed pages that end at or below `max` (the
    /// last byte's address, UEFI AllocateMaxAddress), with no fallback.
    pub fn alloc_below(&mut self, pages: u64, max: u64, ty: MemType) -> Result<u64, LoaderError> {
        let count = usize::try_from(pages).map_err(|_| LoaderError::TooLarge("allocation"))?;
        let ptr = boot::allocate_pages(
            AllocateType::MaxAddress(max),
            MemoryType::LOADER_DATA,
            count,
        )
        .map_err(LoaderError::firmware("AllocatePages"))?;
        let base = ptr.as_ptr() as u64;
        let len =
            usize::try_from(pages * PAGE_SIZE).map_err(|_| LoaderError::TooLarge("allocation"))?;
        // SAFETY: `[base, base+len)` was just allocated to us and nothing
        // else refers to it yet.
        unsafe { phys_bytes(base, len) }.fill(0);
        self.record(base, pages, ty);
        Ok(base)
    }

    /// Allocates `pages` zeroed pages whose base is `align`-aligned.
    pub fn alloc_aligned(
        &mut self,
        pages: u64,
        align: u64,
        ty: MemType,
        anywhere: bool,
    ) -> Result<u64, LoaderError> {
        let extra = align / PAGE_SIZE - 1;
        let total = pages
            .checked_add(extra)
            .ok_or(LoaderError::TooLarge("allocation"))?;
        let count = usize::try_from(total).map_err(|_| LoaderError::TooLarge("allocation"))?;
        let kind = if anywhere {
            AllocateType::AnyPages
        } else {
            AllocateType::MaxAddress(BELOW_4G)
        };
        let ptr = boot::allocate_pages(kind, MemoryType::LOADER_DATA, count)
            .or_else(|e| {
                if anywhere {
                    Err(e)
                } else {
                    boot::allocate_pages(AllocateType::AnyPages, MemoryType::LOADER_DATA, count)
                }
            })
            .map_err(LoaderError::firmware("AllocatePages"))?;
        let raw = ptr.as_ptr() as u64;
        let base = handoff::align_up(raw, align).ok_or(LoaderError::TooLarge("allocation"))?;
        let head = (base - raw) / PAGE_SIZE;
        let tail = extra - head;
        free(raw, head);
        free(base + pages * PAGE_SIZE, tail);
        let len =
            usize::try_from(pages * PAGE_SIZE).map_err(|_| LoaderError::TooLarge("allocation"))?;
        // SAFETY: `[base, base+len)` was just allocated to us and nothing
        // else refers to it yet.
        unsafe { phys_bytes(base, len) }.fill(0);
        self.record(base, pages, ty);
        Ok(base)
    }
}

/// Returns unneeded alignment slack to the firmware.
fn free(base: u64, pages: u64) {
    let (Some(ptr), Ok(count)) = (NonNull::new(base as *mut u8), usize::try_from(pages)) else {
        return;
    };
    if count == 0 {
        return;
    }
    // SAFETY: the range is part of an allocation we made with
    // AllocatePages and have not handed out; nothing refers to it.
    let _ = unsafe { boot::free_pages(ptr, count) };
}

/// Page-table memory backed by tracked BOOTLOADER_RECLAIMABLE pages.
pub struct UefiTables<'a> {
    /// Where new tables are recorded.
    pub tracker: &'a mut Tracker,
}

impl TableMemory for UefiTables<'_> {
    fn new_table(&mut self) -> Result<u64, MapError> {
        self.tracker
            .alloc(1, MemType::BootloaderReclaimable, false)
            .map_err(|_| MapError::OutOfTables)
    }

    fn read(&self, table: u64, index: usize) -> u64 {
        let entry = (table as *const u64).wrapping_add(index);
        // SAFETY: `table` is a page we allocated in `new_table` and index
        // < 512 (callers index with 9-bit values), so the read is in
        // bounds, aligned and identity-mapped.
        unsafe { entry.read_volatile() }
    }

    fn write(&mut self, table: u64, index: usize, value: u64) {
        let entry = (table as *mut u64).wrapping_add(index);
        // SAFETY: as in `read`; the page is ours and not yet in use by
        // any CPU as a page table.
        unsafe { entry.write_volatile(value) }
    }
}
