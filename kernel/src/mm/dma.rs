//! DMA for virtio-drivers: its `Hal` over the frame allocator and the HHDM.
//!
//! - Rings and request buffers the crate allocates (`dma_alloc`) are runs
//!   of physically contiguous zeroed frames, used through the HHDM.
//! - Register windows (`mmio_phys_to_virt`) come from the BAR windows the
//!   driver mapped before it built the transport ([`map_bar`]), so every
//!   register range is claimed once and uncached.
//! - Buffers the crate hands to the device (`share`) are translated page by
//!   page through the kernel's page tables; one that is not physically
//!   contiguous (a small header that straddles two stack pages) goes
//!   through a bounce slot of a pool allocated when the first disk starts.

use super::frame_alloc::OwnedFrames;
use super::mmio::Mmio;
use super::MmError;
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ptr::NonNull;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

const PAGE: usize = 4096;

/// BAR windows of virtio functions, mapped by their drivers.
static BARS: SpinLock<Vec<Mmio>> = SpinLock::new(Vec::new());
/// Runs handed out by `dma_alloc`, by physical address.
static RUNS: SpinLock<BTreeMap<u64, OwnedFrames>> = SpinLock::new(BTreeMap::new());

/// Bounce slots: one page each, for shared buffers that are not
/// physically contiguous (they are small: request headers).
const BOUNCE_SLOTS: usize = 16;

struct Bounce {
    frames: OwnedFrames,
    /// Slot → the buffer it stands in for (address, length).
    used: [Option<(usize, usize)>; BOUNCE_SLOTS],
}

static BOUNCE: SpinLock<Option<Bounce>> = SpinLock::new(None);

/// Maps BAR `phys..phys + len` of a virtio function for its transport.
pub fn map_bar(phys: u64, len: u64) -> Result<(), MmError> {
    let window = Mmio::map(phys, len)?;
    BARS.lock().push(window);
    Ok(())
}

/// Prepares the bounce pool (once; later calls do nothing).
pub fn init_bounce() -> Result<(), MmError> {
    let mut pool = BOUNCE.lock();
    if pool.is_none() {
        *pool = Some(Bounce {
            frames: OwnedFrames::new(BOUNCE_SLOTS, PAGE as u64)?,
            used: [None; BOUNCE_SLOTS],
        });
    }
    Ok(())
}

/// The physical address of `len` bytes at kernel address `virt`, if they
/// are mapped and physically contiguous.
fn contiguous_phys(virt: usize, len: usize) -> Option<u64> {
    let first = super::kernel_space::translate(virt as u64)?.phys;
    let mut page = (virt & !(PAGE - 1)) + PAGE;
    while page < virt + len {
        let t = super::kernel_space::translate(page as u64)?;
        if t.phys != first + (page - virt) as u64 {
            return None;
        }
        page += PAGE;
    }
    Some(first)
}

/// The `Hal` the kernel's virtio drivers use.
pub struct KernelHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned, physically contiguous
// frames owned by the RUNS table until `dma_dealloc` (nothing else holds
// them); `mmio_phys_to_virt` returns addresses inside uncached windows the
// drivers mapped for exactly these BARs; `share` returns the physical
// address of the buffer itself (translated by the page tables) or of a
// bounce page that stands in for it until `unshare` copies it back.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match OwnedFrames::new(pages.max(1), PAGE as u64) {
            Ok(run) => {
                let phys = run.phys();
                RUNS.lock().insert(phys, run);
                let virt = super::hhdm::phys_to_virt(phys) as *mut u8;
                // The HHDM address of a frame is never null.
                (phys, NonNull::new(virt).unwrap_or(NonNull::dangling()))
            }
            // virtio-drivers treats physical address 0 as a failed
            // allocation only by the device faulting; the drivers check
            // the frame reserve before they start a device instead.
            Err(e) => panic!("virtio: no memory for a DMA run of {pages} pages: {e}"),
        }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        match RUNS.lock().remove(&paddr) {
            Some(run) => {
                drop(run);
                0
            }
            None => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let bars = BARS.lock();
        let virt = bars.iter().find_map(|w| {
            let end = paddr.checked_add(size.saturating_sub(1) as u64)?;
            w.virt_of(end)?;
            w.virt_of(paddr)
        });
        match virt.and_then(|v| NonNull::new(v as *mut u8)) {
            Some(p) => p,
            // The transport checks every region against the BARs it read
            // from configuration space, which the driver mapped whole.
            None => panic!("virtio: registers {paddr:#x}+{size:#x} lie in no mapped BAR"),
        }
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let virt = buffer.as_ptr() as *mut u8 as usize;
        let len = buffer.len();
        if let Some(phys) = contiguous_phys(virt, len) {
            return phys;
        }
        let mut pool = BOUNCE.lock();
        let Some(pool) = pool.as_mut() else {
            panic!("virtio: a scattered buffer and no bounce pool");
        };
        let Some(slot) = pool
            .used
            .iter()
            .position(Option::is_none)
            .filter(|_| len <= PAGE)
        else {
            panic!("virtio: no bounce slot for {len} bytes");
        };
        pool.used[slot] = Some((virt, len));
        let page = &mut pool.frames.bytes_mut()[slot * PAGE..slot * PAGE + len];
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the caller guarantees `buffer` is valid for reads of
            // `len` bytes and not accessed by others during the call.
            page.copy_from_slice(unsafe { buffer.as_ref() });
        }
        pool.frames.phys() + (slot * PAGE) as u64
    }

    unsafe fn unshare(paddr: PhysAddr, mut buffer: NonNull<[u8]>, direction: BufferDirection) {
        let mut pool = BOUNCE.lock();
        let Some(pool) = pool.as_mut() else {
            return;
        };
        let base = pool.frames.phys();
        if paddr < base || paddr >= base + (BOUNCE_SLOTS * PAGE) as u64 {
            return; // shared in place
        }
        let slot = ((paddr - base) as usize) / PAGE;
        let Some((_, len)) = pool.used[slot].take() else {
            return;
        };
        if direction != BufferDirection::DriverToDevice {
            let page = &pool.frames.bytes()[slot * PAGE..slot * PAGE + len];
            // SAFETY: the caller guarantees `buffer` is valid for writes
            // of its length (the one `share` saw) and not accessed by
            // others during the call.
            unsafe { buffer.as_mut() }.copy_from_slice(page);
        }
    }
}

/// PCI configuration access for virtio-drivers' transport, through the
/// kernel's own (ECAM or ports) accessor.
pub struct KernelCam;

fn bdf(df: virtio_drivers::transport::pci::bus::DeviceFunction) -> pci::Bdf {
    pci::Bdf {
        bus: df.bus,
        device: df.device,
        function: df.function,
    }
}

impl virtio_drivers::transport::pci::bus::ConfigurationAccess for KernelCam {
    fn read_word(
        &self,
        df: virtio_drivers::transport::pci::bus::DeviceFunction,
        offset: u8,
    ) -> u32 {
        use pci::ConfigSpace;
        crate::drivers::pci::with_config(|c| c.read32(bdf(df), u16::from(offset)))
            .unwrap_or(u32::MAX)
    }

    fn write_word(
        &mut self,
        df: virtio_drivers::transport::pci::bus::DeviceFunction,
        offset: u8,
        data: u32,
    ) {
        use pci::ConfigSpace;
        crate::drivers::pci::with_config(|c| c.write32(bdf(df), u16::from(offset), data));
    }

    // SAFETY: every access goes through the kernel's locked accessor, so
    // clones never race on the configuration mechanism.
    unsafe fn unsafe_clone(&self) -> Self {
        KernelCam
    }
}
