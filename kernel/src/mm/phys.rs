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

/// Why [`read_allocated`] or [`write_allocated`] refused an access: the
/// first address that lies in no frame the allocator handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAllocated(pub u64);

/// Checks that every frame `phys .. phys + len` touches was handed out by
/// the frame allocator (memory the kernel owns, as a hypervisor's guest
/// names its own pages).
fn check_allocated(phys: u64, len: usize) -> Result<(), NotAllocated> {
    let end = phys.checked_add(len as u64).ok_or(NotAllocated(phys))?;
    let mut frame = phys & !0xfff;
    while frame < end {
        if super::frame_alloc::state(frame) != Some(frames::FrameState::Used) {
            return Err(NotAllocated(frame.max(phys)));
        }
        frame += 4096;
    }
    Ok(())
}

/// Copies `buf.len()` bytes at physical `phys` out, if every frame they
/// touch is allocated (the simulated hypervisor's view of guest memory).
pub fn read_allocated(phys: u64, buf: &mut [u8]) -> Result<(), NotAllocated> {
    check_allocated(phys, buf.len())?;
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    for (i, b) in buf.iter_mut().enumerate() {
        // SAFETY: the byte lies in an allocated frame (checked), which the
        // HHDM maps; a volatile byte read races with nothing unsound (the
        // owner may write it concurrently, as a device would).
        *b = unsafe { core::ptr::read_volatile(phys_to_virt(phys + i as u64) as *const u8) };
    }
    Ok(())
}

/// Copies `data` to physical `phys`, if every frame it touches is
/// allocated.
pub fn write_allocated(phys: u64, data: &[u8]) -> Result<(), NotAllocated> {
    check_allocated(phys, data.len())?;
    for (i, b) in data.iter().enumerate() {
        // SAFETY: as in `read_allocated`: an allocated frame through the
        // HHDM, written byte by byte as a device writes shared memory.
        unsafe { core::ptr::write_volatile(phys_to_virt(phys + i as u64) as *mut u8, *b) };
    }
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Atomically ORs `mask` into the byte at physical `phys` (an allocated
/// frame); returns the old value.
pub fn fetch_or_allocated(phys: u64, mask: u8) -> Result<u8, NotAllocated> {
    check_allocated(phys, 1)?;
    // SAFETY: the byte lies in an allocated frame mapped by the HHDM; an
    // AtomicU8 has the alignment and size of a byte.
    let byte = unsafe { &*(phys_to_virt(phys) as *const core::sync::atomic::AtomicU8) };
    Ok(byte.fetch_or(mask, core::sync::atomic::Ordering::SeqCst))
}

/// Atomically clears the `mask` bits of the byte at physical `phys` (an
/// allocated frame: event flags shared with a hypervisor); returns the old
/// value.
pub fn fetch_and_not_allocated(phys: u64, mask: u8) -> Result<u8, NotAllocated> {
    check_allocated(phys, 1)?;
    // SAFETY: as in `fetch_or_allocated`.
    let byte = unsafe { &*(phys_to_virt(phys) as *const core::sync::atomic::AtomicU8) };
    Ok(byte.fetch_and(!mask, core::sync::atomic::Ordering::SeqCst))
}
