//! The higher-half direct map and memory the loader handed over.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static OFFSET: AtomicU64 = AtomicU64::new(0);
static FRAMEBUFFER_TAKEN: AtomicBool = AtomicBool::new(false);
/// The framebuffer handed out: HHDM address and length (0 before).
static FRAMEBUFFER_AT: AtomicU64 = AtomicU64::new(0);
static FRAMEBUFFER_LEN: AtomicU64 = AtomicU64::new(0);

/// Records the HHDM offset from the loader's response.
pub fn init(offset: u64) {
    OFFSET.store(offset, Ordering::Relaxed);
}

/// The HHDM offset (virtual address of physical 0).
pub fn offset() -> u64 {
    OFFSET.load(Ordering::Relaxed)
}

/// Virtual address of physical address `phys` in the HHDM.
pub fn phys_to_virt(phys: u64) -> u64 {
    offset() + phys
}

/// Contents of a file the loader handed over (module or kernel file).
///
/// `address`/`size` must come from a loader file response: the protocol
/// puts module contents in KERNEL_AND_MODULES memory, which the kernel never
/// reuses, and the kernel file in BOOTLOADER_RECLAIMABLE memory, which it
/// does not reclaim while such slices are in use.
pub fn loader_file(address: u64, size: u64) -> &'static [u8] {
    if address == 0 || size == 0 {
        return &[];
    }
    // SAFETY: per the Limine protocol (limine-protocol.md §5) `address` is an
    // HHDM pointer to `size` initialised bytes that stay mapped and are never
    // written by the kernel (see above); u8 has no alignment requirement.
    unsafe { core::slice::from_raw_parts(address as *const u8, size as usize) }
}

/// The framebuffer's pixel memory, handed out once to its first owner.
///
/// Returns `None` on a second call: the framebuffer has one owner at a time
/// (roadmap), passed on by moving the slice.
pub fn framebuffer(address: u64, len: u64) -> Option<&'static mut [u8]> {
    if address == 0 || FRAMEBUFFER_TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    FRAMEBUFFER_LEN.store(len, Ordering::Relaxed);
    FRAMEBUFFER_AT.store(address, Ordering::Release);
    // SAFETY: the loader mapped `len` = pitch * height bytes of framebuffer
    // at this HHDM address (limine-protocol.md §5, §7); the swap above makes
    // this the only live reference to it; it is plain memory to the CPU.
    Some(unsafe { core::slice::from_raw_parts_mut(address as *mut u8, len as usize) })
}

/// The physical range of the framebuffer handed out by [`framebuffer`]:
/// (base, length). A display device that scans it out (synthvid's VRAM)
/// is placed there.
pub fn framebuffer_phys() -> Option<(u64, u64)> {
    let at = FRAMEBUFFER_AT.load(Ordering::Acquire);
    let phys = at.checked_sub(offset()).filter(|_| at != 0)?;
    Some((phys, FRAMEBUFFER_LEN.load(Ordering::Relaxed)))
}
