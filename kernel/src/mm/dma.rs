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
//!   through a bounce slot of a pool allocated when the first disk starts;
//!   when the pool is used up (or the buffer is longer than a slot) a run
//!   of its own is allocated for the buffer until `unshare`.
//!
//! A device is not trusted here either. The `Hal` cannot return an error,
//! so where the crate's request cannot be met (a register range in no
//! mapped BAR, no memory for a bounce run) it gets a sink page that no
//! device uses, the failure is logged and counted ([`faults`]), and the
//! driver that sees the count move refuses the device or fails the
//! request.

use super::frame_alloc::OwnedFrames;
use super::mmio::Mmio;
use super::MmError;
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
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
/// Runs standing in for buffers the bounce pool could not take, by
/// physical address: (the run, the buffer's length).
static OVERFLOW: SpinLock<BTreeMap<u64, (OwnedFrames, usize)>> = SpinLock::new(BTreeMap::new());
/// Pages of the sink: what a failed request is given instead.
const SINK_PAGES: usize = 4;
static SINK: SpinLock<Option<OwnedFrames>> = SpinLock::new(None);
/// Requests of the crate that could not be met (see the module docs).
static FAULTS: AtomicU64 = AtomicU64::new(0);

/// How many `Hal` requests could not be met since boot: a driver compares
/// the count before and after a call into the crate.
pub fn faults() -> u64 {
    FAULTS.load(Ordering::Acquire)
}

fn fault() {
    FAULTS.fetch_add(1, Ordering::AcqRel);
}

/// The sink's physical address and its HHDM address.
fn sink() -> Option<(u64, u64)> {
    let sink = SINK.lock();
    let phys = sink.as_ref()?.phys();
    Some((phys, super::hhdm::phys_to_virt(phys)))
}

/// Runs `f` on the BAR window holding `phys..phys + len` with the offset
/// of `phys` in it: `None` if no driver mapped such a window.
pub fn with_bar<R>(phys: u64, len: u64, f: impl FnOnce(&Mmio, u64) -> R) -> Option<R> {
    let bars = BARS.lock();
    let end = phys.checked_add(len.max(1) - 1)?;
    let window = bars
        .iter()
        .find(|w| w.phys_range().contains(&phys) && w.phys_range().contains(&end))?;
    Some(f(window, phys - window.phys_range().start))
}

/// The run handed out by `dma_alloc` that holds `phys..phys + len`, as
/// (its base, the run).
fn run_holding(
    runs: &BTreeMap<u64, OwnedFrames>,
    phys: u64,
    len: usize,
) -> Option<(u64, &OwnedFrames)> {
    let (&base, run) = runs.range(..=phys).next_back()?;
    let end = phys.checked_add(len as u64)?;
    (end <= base + run.bytes().len() as u64).then_some((base, run))
}

/// Copies `buf.len()` bytes at `phys` out of a run `dma_alloc` handed out
/// (a virtqueue's rings); false if no such run holds them.
pub fn read_dma(phys: u64, buf: &mut [u8]) -> bool {
    let runs = RUNS.lock();
    let Some((base, run)) = run_holding(&runs, phys, buf.len()) else {
        return false;
    };
    let at = (phys - base) as usize;
    buf.copy_from_slice(&run.bytes()[at..at + buf.len()]);
    true
}

/// Copies `data` to `phys` inside a run `dma_alloc` handed out; false if
/// no such run holds them. (A simulated device's side of a ring.)
pub fn write_dma(phys: u64, data: &[u8]) -> bool {
    let mut runs = RUNS.lock();
    let Some((base, _)) = run_holding(&runs, phys, data.len()) else {
        return false;
    };
    let at = (phys - base) as usize;
    match runs.get_mut(&base) {
        Some(run) => {
            run.bytes_mut()[at..at + data.len()].copy_from_slice(data);
            true
        }
        None => false,
    }
}

/// Maps BAR `phys..phys + len` of a virtio function for its transport.
pub fn map_bar(phys: u64, len: u64) -> Result<(), MmError> {
    let window = Mmio::map(phys, len)?;
    BARS.lock().push(window);
    Ok(())
}

/// Prepares the bounce pool and the sink (once; later calls do nothing).
pub fn init_bounce() -> Result<(), MmError> {
    let mut sink = SINK.lock();
    if sink.is_none() {
        *sink = Some(OwnedFrames::new(SINK_PAGES, PAGE as u64)?);
    }
    drop(sink);
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
// drivers mapped for exactly these BARs (or the sink, which no one else
// uses, large enough for the range); `share` returns the physical address
// of the buffer itself (translated by the page tables), of a bounce page or
// run that stands in for it until `unshare` copies it back, or the sink.
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
        drop(bars);
        if let Some(p) = virt.and_then(|v| NonNull::new(v as *mut u8)) {
            return p;
        }
        // The transport checks every region against the BARs it read from
        // configuration space, which the driver mapped whole: only a device
        // whose BARs changed meanwhile gets here. It is given the sink and
        // refused by its driver (which sees `faults` move).
        fault();
        log::error!("virtio: registers {paddr:#x}+{size:#x} lie in no mapped BAR");
        match sink().and_then(|(_, v)| NonNull::new(v as *mut u8)) {
            Some(p) if size <= SINK_PAGES * PAGE => p,
            _ => panic!("virtio: registers {paddr:#x}+{size:#x} lie in no mapped BAR"),
        }
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let virt = buffer.as_ptr() as *mut u8 as usize;
        let len = buffer.len();
        if let Some(phys) = contiguous_phys(virt, len) {
            return phys;
        }
        // SAFETY: the caller guarantees `buffer` is valid for reads of
        // `len` bytes and not accessed by others during the call.
        let source = unsafe { buffer.as_ref() };
        let outbound = direction != BufferDirection::DeviceToDriver;
        let mut guard = BOUNCE.lock();
        if let Some(pool) = guard.as_mut() {
            let free = pool.used.iter().position(Option::is_none);
            if let Some(slot) = free.filter(|_| len <= PAGE) {
                pool.used[slot] = Some((virt, len));
                let page = &mut pool.frames.bytes_mut()[slot * PAGE..slot * PAGE + len];
                if outbound {
                    page.copy_from_slice(source);
                }
                return pool.frames.phys() + (slot * PAGE) as u64;
            }
        }
        drop(guard);
        // No slot (or a buffer longer than one): a run of its own.
        match OwnedFrames::new(len.div_ceil(PAGE).max(1), PAGE as u64) {
            Ok(mut run) => {
                if outbound {
                    run.bytes_mut()[..len].copy_from_slice(source);
                }
                let phys = run.phys();
                OVERFLOW.lock().insert(phys, (run, len));
                phys
            }
            Err(e) => {
                fault();
                log::error!("virtio: no memory to share a buffer of {len} bytes: {e}");
                match sink() {
                    Some((phys, _)) if len <= SINK_PAGES * PAGE => phys,
                    _ => panic!("virtio: no memory to share a buffer of {len} bytes"),
                }
            }
        }
    }

    unsafe fn unshare(paddr: PhysAddr, mut buffer: NonNull<[u8]>, direction: BufferDirection) {
        let inbound = direction != BufferDirection::DriverToDevice;
        if let Some((run, len)) = OVERFLOW.lock().remove(&paddr) {
            if inbound {
                // SAFETY: the caller guarantees `buffer` is valid for
                // writes of its length (the one `share` saw), unaliased.
                unsafe { buffer.as_mut() }.copy_from_slice(&run.bytes()[..len]);
            }
            return;
        }
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
