//! The kernel's physical frame allocator (the `frames` crate over the HHDM).

use super::MmError;
use crate::arch::cpu::without_interrupts;
use crate::arch::percpu::{self, MAX_CPUS};
use crate::boot::Region;
use crate::sync::SpinLock;
use core::sync::atomic::{AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;
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
/// When the allocator has none, the CPUs' user-page caches give theirs
/// back first.
pub fn alloc_kernel() -> Result<u64, MmError> {
    with_drained(|a| a.alloc())
}

/// One 4 KiB frame (not zeroed) for kernel data that is not critical.
pub fn alloc() -> Result<u64, MmError> {
    alloc_kernel()
}

/// Frames a CPU takes from the allocator at once for user pages: the most
/// its cache holds.
const CACHE_FRAMES: usize = 8;

/// Frames one CPU took from the allocator for user pages and has not
/// handed out yet.
struct Cache {
    frames: [u64; CACHE_FRAMES],
    len: usize,
}

/// A CPU's cache, in cache lines of its own.
struct CpuCache {
    cache: SpinLock<Cache>,
    /// `cache.len`, for [`stats`] (which cannot take the cache's lock
    /// under the allocator's). A refill or drain sets it while it holds
    /// both locks, so the allocator's free count plus every `held` is the
    /// number of free frames whenever the allocator's lock is held.
    held: AtomicUsize,
}

/// Per CPU: frames for user pages. A demand-zero fault takes its frame
/// from here, so CPUs faulting at once take the allocator's lock (and
/// bounce its lines) once per [`CACHE_FRAMES`] faults, not on every one.
/// Frees go to the allocator, whose bitmap catches a double free; a frame
/// in a cache counts as free in [`stats`] and [`state`].
static CACHES: [CachePadded<CpuCache>; MAX_CPUS] = [const {
    CachePadded::new(CpuCache {
        cache: SpinLock::new(Cache {
            frames: [0; CACHE_FRAMES],
            len: 0,
        }),
        held: AtomicUsize::new(0),
    })
}; MAX_CPUS];

/// Fills `cache` (empty) from the allocator without touching the kernel
/// reserve; returns the frames it holds now.
fn refill(cpu: &CpuCache, cache: &mut Cache) -> Result<usize, MmError> {
    with(|a| {
        let room = (a.stats().free / 4096).saturating_sub(KERNEL_RESERVE_FRAMES);
        while (cache.len as u64) < room.min(CACHE_FRAMES as u64) {
            let Ok(f) = a.alloc() else { break };
            cache.frames[cache.len] = f;
            cache.len += 1;
        }
        cpu.held.store(cache.len, Ordering::Relaxed);
        cache.len
    })
}

/// Runs `op` on the allocator, and once more if it was out of frames and
/// the CPUs' caches gave some back.
fn with_drained<T>(
    op: impl Fn(&mut FrameAllocator<Storage>) -> Result<T, FrameError>,
) -> Result<T, MmError> {
    match with(&op)? {
        Err(FrameError::OutOfFrames) if drain_caches() > 0 => with(op)?,
        r => r,
    }
    .map_err(MmError::from)
}

/// Gives every CPU's cached frames back to the allocator; returns how
/// many.
fn drain_caches() -> usize {
    let mut back = 0;
    for cpu in CACHES.iter().take(percpu::online_count()) {
        if cpu.held.load(Ordering::Relaxed) == 0 {
            continue;
        }
        let mut cache = cpu.cache.lock();
        let _ = with(|a| {
            for &f in &cache.frames[..cache.len] {
                if let Err(e) = a.free(f) {
                    log::error!("cached frame {f:#x} could not be freed: {e} (bug)");
                }
            }
            back += cache.len;
            cache.len = 0;
            cpu.held.store(0, Ordering::Relaxed);
        });
    }
    back
}

/// Whether the frame at `phys` sits in a CPU's cache (not handed out).
fn cached(phys: u64) -> bool {
    let frame = phys & !0xfff;
    CACHES
        .iter()
        .take(percpu::online_count())
        .filter(|cpu| cpu.held.load(Ordering::Relaxed) > 0)
        .any(|cpu| {
            let cache = cpu.cache.lock();
            cache.frames[..cache.len].contains(&frame)
        })
}

/// The frames CPU `cpu`'s cache holds now (for the M8 check).
#[cfg(feature = "milestones")]
pub fn cached_on(cpu: usize) -> alloc::vec::Vec<u64> {
    let cache = CACHES[cpu.min(MAX_CPUS - 1)].cache.lock();
    cache.frames[..cache.len].to_vec()
}

/// Gives every CPU's cached frames back to the allocator, as an
/// allocation that finds none would (for the M8 check); returns how many.
#[cfg(feature = "milestones")]
pub fn give_back_cached() -> usize {
    drain_caches()
}

/// One 4 KiB frame (not zeroed) for a user page, from this CPU's cache:
/// refused while only the kernel reserve is left (after the other CPUs'
/// caches have given theirs back).
pub fn alloc_user() -> Result<u64, MmError> {
    let take = || {
        let cpu = &CACHES[percpu::cpu_id()];
        let mut cache = cpu.cache.lock();
        if cache.len == 0 && refill(cpu, &mut cache)? == 0 {
            return Ok(None);
        }
        cache.len -= 1;
        cpu.held.store(cache.len, Ordering::Relaxed);
        Ok(Some(cache.frames[cache.len]))
    };
    // Interrupts stay off from reading the CPU number to the pop.
    let first: Result<Option<u64>, MmError> = without_interrupts(take);
    match first? {
        Some(f) => Some(f),
        None if drain_caches() > 0 => without_interrupts(take)?,
        None => None,
    }
    .ok_or(MmError::Frames(FrameError::OutOfFrames))
}

/// `count` physically contiguous frames aligned to `align` bytes.
pub fn alloc_contiguous(count: usize, align: u64) -> Result<u64, MmError> {
    with_drained(|a| a.alloc_contiguous(count, align))
}

/// Frees one frame; a double or bogus free is an error, not accepted (a
/// frame still in a CPU's cache was never handed out).
pub fn free(phys: u64) -> Result<(), MmError> {
    if cached(phys) {
        return Err(MmError::Frames(FrameError::DoubleFree { phys }));
    }
    with(|a| a.free(phys))?.map_err(MmError::from)
}

/// Frees a contiguous run (all or nothing).
pub fn free_contiguous(phys: u64, count: usize) -> Result<(), MmError> {
    with(|a| a.free_contiguous(phys, count))?.map_err(MmError::from)
}

/// Current statistics; frames in the CPUs' caches count as free.
pub fn stats() -> Option<FrameStats> {
    with(|a| {
        let mut s = a.stats();
        let cached: usize = CACHES.iter().map(|c| c.held.load(Ordering::Relaxed)).sum();
        let bytes = cached as u64 * 4096;
        s.free += bytes;
        s.used -= bytes;
        s
    })
    .ok()
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

/// Page-table frames taken one at a time, each under the allocator's lock:
/// a mapping that needs no new table does not take the lock at all (a
/// demand-zero fault on one CPU then does not wait for the allocator
/// while another CPU allocates).
pub struct TableFramesOnDemand;

impl paging::FrameSource for TableFramesOnDemand {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        alloc_kernel().ok()
    }

    fn free_table_frame(&mut self, phys: u64) {
        if let Err(e) = free(phys) {
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
    if cached(phys) {
        return Some(frames::FrameState::Free);
    }
    with(|a| a.frame_state(phys)).ok()
}
