//! The kernel heap: `talc`, growing on demand with frames from the HHDM.
//!
//! When talc runs out it asks [`FrameHeapSource`] for more: a physically
//! contiguous run of frames (at least 1 MiB), used through its HHDM alias,
//! so the heap needs no page-table changes. A failed growth makes the
//! allocation fail: fallible APIs (`try_reserve`, ...) see an error, and
//! only infallible ones end in the allocation-error panic.

use super::{frame_alloc, hhdm};
use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};
use talc::base::binning::Binning;
use talc::base::Talc;
use talc::TalcLock;

/// Smallest growth step.
const GROW_BYTES: u64 = 1 << 20;

static GROWN_BYTES: AtomicU64 = AtomicU64::new(0);
static FAILED_GROWTHS: AtomicU64 = AtomicU64::new(0);

/// Heap memory source: contiguous frame runs from the frame allocator.
#[derive(Debug)]
pub struct FrameHeapSource;

// SAFETY: `acquire` never touches the heap lock or the global allocator:
// it only calls the frame allocator (which never allocates) and `claim`.
unsafe impl talc::source::Source for FrameHeapSource {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let need = (layout.size() + layout.align() + 4096) as u64;
        let bytes = need.max(GROW_BYTES).next_multiple_of(4096);
        let frames = (bytes / 4096) as usize;
        let Ok(phys) = frame_alloc::alloc_contiguous(frames, 4096) else {
            FAILED_GROWTHS.fetch_add(1, Ordering::Relaxed);
            return Err(());
        };
        let base = hhdm::phys_to_virt(phys) as *mut u8;
        // SAFETY: the frames were just handed out to us and nobody else
        // refers to them; the HHDM maps them writable for the kernel's life,
        // and they are never returned to the frame allocator.
        let claimed = unsafe { talc.claim(base, bytes as usize) };
        if claimed.is_none() {
            let _ = frame_alloc::free_contiguous(phys, frames);
            FAILED_GROWTHS.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        GROWN_BYTES.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }
}

#[global_allocator]
static HEAP: TalcLock<crate::sync::IrqSpinRaw, FrameHeapSource> = TalcLock::new(FrameHeapSource);

/// Heap statistics.
#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    /// Bytes in live allocations.
    pub allocated: usize,
    /// Live allocations.
    pub allocations: usize,
    /// Bytes the heap got from the frame allocator.
    pub claimed: u64,
    /// Free fragments.
    pub fragments: usize,
    /// Growth requests the frame allocator could not satisfy.
    pub failed_growths: u64,
}

/// Current statistics.
pub fn stats() -> HeapStats {
    crate::arch::cpu::without_interrupts(|| {
        let talc = HEAP.lock();
        let c = talc.counters();
        HeapStats {
            allocated: c.allocated_bytes,
            allocations: c.allocation_count,
            claimed: GROWN_BYTES.load(Ordering::Relaxed),
            fragments: c.fragment_count,
            failed_growths: FAILED_GROWTHS.load(Ordering::Relaxed),
        }
    })
}
