//! Access to physical memory through the HHDM.

use super::hhdm::phys_to_virt;

/// Physical memory as the page-table code sees it: through the HHDM.
pub struct Hhdm;

impl paging::PhysMem for Hhdm {
    fn read_u64(&self, phys: u64) -> u64 {
        // SAFETY: the paging crate reads only page-table entries, in frames
        // that are page tables (ours, from the frame allocator, or the
        // loader's); the HHDM maps all RAM, and entries are 8-byte aligned.
        unsafe { core::ptr::read_volatile(phys_to_virt(phys) as *const u64) }
    }

    fn read_8(&self, phys: u64) -> [u64; 8] {
        // SAFETY: as in `read_u64`, for eight entries of one table (the
        // paging crate passes a 64-byte-aligned address inside a table).
        unsafe { core::ptr::read_volatile(phys_to_virt(phys) as *const [u64; 8]) }
    }

    fn write_u64(&mut self, phys: u64, value: u64) {
        // SAFETY: as above; the paging crate writes only entries of tables
        // it owns (frames it got from `FrameSource` or the PML4 it manages).
        unsafe { core::ptr::write_volatile(phys_to_virt(phys) as *mut u64, value) }
    }
}

/// Fills one 4 KiB frame with zeros.
pub fn zero_frame(phys: u64) {
    // SAFETY: callers pass frames they just got from the frame allocator,
    // which nobody else references; the HHDM maps them writable.
    unsafe { core::ptr::write_bytes(phys_to_virt(phys) as *mut u8, 0, 4096) }
}

/// Copies `data` (at most 4 KiB) to the start of a frame the caller owns.
pub fn write_frame(phys: u64, data: &[u8]) {
    let len = data.len().min(4096);
    // SAFETY: as in `zero_frame`: a frame the caller just allocated, mapped
    // writable by the HHDM, not referenced elsewhere; `len` ≤ one frame.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), phys_to_virt(phys) as *mut u8, len) }
}
