//! The kernel's physical frame allocator (the `frames` crate over the HHDM).

use super::MmError;
use crate::arch::cpu::without_interrupts;
use crate::boot::Region;
use crate::sync::SpinLock;
use frames::{FrameAllocator, FrameError, FrameStats};

type Storage = &'static mut [u64];

static FRAMES: SpinLock<Option<FrameAllocator<Storage>>> = SpinLock::new(None);

/// Places the allocator's bitmap in usable memory and starts the allocator.
/// Returns (bitmap bytes, bitmap physical address).
pub fn init(map: impl Iterator<Item = Region> + Clone) -> Result<(u64, u64), MmError> {
    let bytes = frames::storage_bytes(map.clone());
    let at =
        frames::find_storage(map.clone(), bytes).ok_or(MmError::Frames(FrameError::OutOfFrames))?;
    let words = (bytes / 8) as usize;
    // `claim` below marks these frames used, so they are never handed out.
    // SAFETY: `find_storage` picked page-aligned usable RAM nothing uses yet
    // (loader data is never in usable entries), mapped by the HHDM for good.
    let storage: Storage = unsafe {
        core::slice::from_raw_parts_mut(super::hhdm::phys_to_virt(at) as *mut u64, words)
    };
    let mut allocator = FrameAllocator::new(map, storage)?;
    allocator.claim(at, bytes)?;
    without_interrupts(|| *FRAMES.lock() = Some(allocator));
    Ok((bytes, at))
}

/// Runs `f` on the allocator with interrupts disabled.
pub fn with<R>(f: impl FnOnce(&mut FrameAllocator<Storage>) -> R) -> Result<R, MmError> {
    without_interrupts(|| match FRAMES.lock().as_mut() {
        Some(a) => Ok(f(a)),
        None => Err(MmError::NotInitialised("frame allocator")),
    })
}

/// Frames only the kernel may take: heap growth and kernel stacks keep
/// working after user memory has taken everything else (512 frames, 2 MiB).
pub const KERNEL_RESERVE_FRAMES: u64 = 512;

/// One 4 KiB frame (not zeroed) for the kernel: may use the reserve.
pub fn alloc_kernel() -> Result<u64, MmError> {
    with(|a| a.alloc())?.map_err(MmError::from)
}

/// One 4 KiB frame (not zeroed) for kernel data that is not critical.
pub fn alloc() -> Result<u64, MmError> {
    alloc_kernel()
}

/// One 4 KiB frame (not zeroed) for a user page: refused while only the
/// kernel reserve is left.
pub fn alloc_user() -> Result<u64, MmError> {
    with(|a| {
        if a.stats().free <= KERNEL_RESERVE_FRAMES * 4096 {
            Err(FrameError::OutOfFrames)
        } else {
            a.alloc()
        }
    })?
    .map_err(MmError::from)
}

/// `count` physically contiguous frames aligned to `align` bytes.
pub fn alloc_contiguous(count: usize, align: u64) -> Result<u64, MmError> {
    with(|a| a.alloc_contiguous(count, align))?.map_err(MmError::from)
}

/// Frees one frame; a double or bogus free is an error, not accepted.
pub fn free(phys: u64) -> Result<(), MmError> {
    with(|a| a.free(phys))?.map_err(MmError::from)
}

/// Frees a contiguous run (all or nothing).
pub fn free_contiguous(phys: u64, count: usize) -> Result<(), MmError> {
    with(|a| a.free_contiguous(phys, count))?.map_err(MmError::from)
}

/// Current statistics.
pub fn stats() -> Option<FrameStats> {
    with(|a| a.stats()).ok()
}

/// Releases bootloader-reclaimable frames; returns bytes added.
pub fn reclaim() -> u64 {
    with(|a| a.reclaim()).unwrap_or(0)
}

/// Lends the allocator to the paging crate for page-table frames.
pub struct TableFrames<'a>(pub &'a mut FrameAllocator<Storage>);

impl paging::FrameSource for TableFrames<'_> {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        self.0.alloc().ok()
    }

    fn free_table_frame(&mut self, phys: u64) {
        if let Err(e) = self.0.free(phys) {
            log::error!("page-table frame {phys:#x} could not be freed: {e} (bug)");
        }
    }
}

/// A run of physically contiguous frames owned by the holder; freed on drop.
/// Its bytes are reachable through the HHDM, and only through this value.
#[derive(Debug)]
pub struct OwnedFrames {
    phys: u64,
    count: usize,
}

impl OwnedFrames {
    /// Allocates `count` contiguous frames aligned to `align` bytes, zeroed.
    pub fn new(count: usize, align: u64) -> Result<Self, MmError> {
        let phys = alloc_contiguous(count, align)?;
        let mut run = Self { phys, count };
        run.bytes_mut().fill(0);
        Ok(run)
    }

    /// Physical address of the first frame.
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// The memory, read-only.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the frames were handed out to this value alone (the
        // allocator never hands a frame out twice) and the HHDM maps them.
        unsafe {
            core::slice::from_raw_parts(
                super::hhdm::phys_to_virt(self.phys) as *const u8,
                self.count * 4096,
            )
        }
    }

    /// The memory, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only reference.
        unsafe {
            core::slice::from_raw_parts_mut(
                super::hhdm::phys_to_virt(self.phys) as *mut u8,
                self.count * 4096,
            )
        }
    }
}

impl Drop for OwnedFrames {
    fn drop(&mut self) {
        if let Err(e) = free_contiguous(self.phys, self.count) {
            log::error!("frames {:#x}+{}: {e} (bug)", self.phys, self.count);
        }
    }
}

/// The allocator's view of one frame (for self-checks).
pub fn state(phys: u64) -> Option<frames::FrameState> {
    with(|a| a.frame_state(phys)).ok()
}
