//! The kernel's own page tables: W^X image, HHDM, write-combining framebuffer.

use super::frame_alloc::{self, TableFrames};
use super::phys::Hhdm;
use super::{layout, MmError};
use crate::arch::cpu::without_interrupts;
use crate::arch::paging as arch_paging;
use crate::arch::tlb::{self, Space};
use crate::boot::{Handoff, MemoryKind};
use crate::sync::SpinLock;
use core::sync::atomic::{AtomicU64, Ordering};
use paging::{AddressSpace, CacheType, Flags, KernelHalf, PageSize, Translation};

const KIB4: u64 = 4096;
const MIB2: u64 = 2 << 20;
const GIB1: u64 = 1 << 30;

/// The kernel's PML4; processes share its upper half.
static SPACE: SpinLock<Option<AddressSpace>> = SpinLock::new(None);
/// Page-table frames that kernel-half mappings made after boot hold now
/// (the heap's growth, kernel stacks, MMIO): the leak checks count them
/// apart from the frames that data takes.
static TABLE_FRAMES: AtomicU64 = AtomicU64::new(0);

/// [`TableFrames`] that keeps [`TABLE_FRAMES`].
struct Counted<'a, 'b>(&'a mut TableFrames<'b>);

impl paging::FrameSource for Counted<'_, '_> {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        let f = self.0.alloc_table_frame();
        if f.is_some() {
            TABLE_FRAMES.fetch_add(1, Ordering::Relaxed);
        }
        f
    }

    fn free_table_frame(&mut self, phys: u64) {
        TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
        self.0.free_table_frame(phys);
    }
}

/// Page-table frames kernel-half mappings took after boot and still hold.
pub fn table_frames() -> u64 {
    TABLE_FRAMES.load(Ordering::Relaxed)
}

/// What the new tables cover.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpaceReport {
    /// Physical address of the kernel PML4.
    pub pml4: u64,
    /// Physical bytes the HHDM covers (from 0).
    pub hhdm_bytes: u64,
    /// First virtual address above the HHDM.
    pub hhdm_end: u64,
    /// HHDM pages used, by size: 4 KiB, 2 MiB, 1 GiB.
    pub hhdm_pages: [usize; 3],
    /// Kernel image pages mapped (4 KiB each).
    pub kernel_pages: usize,
    /// Whether the framebuffer is mapped write-combining.
    pub framebuffer_wc: bool,
}

/// A physical range with its own HHDM flags.
#[derive(Clone, Copy)]
struct Special {
    start: u64,
    end: u64,
    flags: Flags,
}

/// Fixed-size list (no heap yet while the tables are built).
struct Specials {
    items: [Special; 24],
    len: usize,
    overflowed: bool,
}

impl Specials {
    fn new() -> Self {
        let empty = Special {
            start: 0,
            end: 0,
            flags: Flags::empty(),
        };
        Self {
            items: [empty; 24],
            len: 0,
            overflowed: false,
        }
    }

    /// Adds a page, merging with the previous range when contiguous.
    fn add_page(&mut self, phys: u64, flags: Flags) {
        if let Some(last) = self.items[..self.len].last_mut() {
            if last.end == phys && last.flags == flags {
                last.end += KIB4;
                return;
            }
        }
        self.add(phys, phys + KIB4, flags);
    }

    fn add(&mut self, start: u64, end: u64, flags: Flags) {
        if self.len == self.items.len() {
            self.overflowed = true;
            return;
        }
        self.items[self.len] = Special { start, end, flags };
        self.len += 1;
    }

    fn sorted(&mut self) -> &[Special] {
        let items = &mut self.items[..self.len];
        items.sort_unstable_by_key(|s| s.start);
        items
    }
}

/// Maps `[phys, end)` at `offset + phys` with the largest pages alignment
/// allows.
fn map_linear(
    space: &mut AddressSpace,
    frames: &mut TableFrames<'_>,
    offset: u64,
    (mut phys, end): (u64, u64),
    flags: Flags,
    huge: bool,
    counts: &mut [usize; 3],
) -> Result<(), MmError> {
    while phys < end {
        let virt = offset + phys;
        let fits = |size: u64| {
            virt.is_multiple_of(size) && phys.is_multiple_of(size) && end - phys >= size
        };
        let (size, index) = if huge && fits(GIB1) {
            (PageSize::Size1G, 2)
        } else if fits(MIB2) {
            (PageSize::Size2M, 1)
        } else {
            (PageSize::Size4K, 0)
        };
        space.map(&mut Hhdm, frames, virt, phys, size, flags)?;
        counts[index] += 1;
        phys += size.bytes();
    }
    Ok(())
}

/// Builds the kernel's PML4 and switches to it.
pub fn build_and_switch(handoff: &Handoff) -> Result<SpaceReport, MmError> {
    arch_paging::enable_protection();
    let offset = super::hhdm::offset();
    let loader = AddressSpace::from_root(arch_paging::current_root(), KernelHalf::Shared);
    let huge = arch_paging::has_huge_pages();
    let mut report = SpaceReport::default();
    let mut specials = Specials::new();

    // Framebuffer: write-combining through PAT index 5.
    if let Some(fb) = handoff.framebuffer {
        let start = (fb.address - offset) & !(KIB4 - 1);
        let end = (fb.address - offset + fb.pitch * fb.height).next_multiple_of(KIB4);
        let flags = Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
        specials.add(start, end, flags.with_cache(CacheType::WriteCombining));
        report.framebuffer_wc = true;
    }

    // HHDM extent: all of 0–4 GiB plus every RAM-like region above it.
    let top = handoff
        .memory_map()
        .filter(|r| !matches!(r.kind, MemoryKind::Reserved | MemoryKind::BadMemory))
        .map(|r| r.base + r.length)
        .fold(4 * GIB1, u64::max)
        .next_multiple_of(MIB2);

    let space = frame_alloc::with(|fa| -> Result<AddressSpace, MmError> {
        let mut frames = TableFrames(fa);
        let mut space = AddressSpace::new(&mut Hhdm, &mut frames, KernelHalf::Shared)?;

        // The kernel image, one permission per segment (linker.ld); the guard
        // page below the boot stack stays unmapped.
        let k = layout::kernel();
        let global = Flags::GLOBAL;
        let segments = [
            (k.text.clone(), global),
            (k.rodata.clone(), global | Flags::NO_EXECUTE),
            (k.data.clone(), global | Flags::WRITABLE | Flags::NO_EXECUTE),
            (
                k.boot_stack.clone(),
                global | Flags::WRITABLE | Flags::NO_EXECUTE,
            ),
        ];
        for (range, flags) in segments {
            for virt in range.step_by(KIB4 as usize) {
                let phys = loader
                    .translate(&Hhdm, virt)
                    .ok_or(MmError::KernelNotMapped(virt))?
                    .phys
                    & !(KIB4 - 1);
                space.map(&mut Hhdm, &mut frames, virt, phys, PageSize::Size4K, flags)?;
                // Its HHDM alias: readable, never writable or executable.
                specials.add_page(phys, Flags::GLOBAL | Flags::NO_EXECUTE);
                report.kernel_pages += 1;
            }
        }

        let default = Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
        if specials.overflowed {
            // More discontiguous kernel runs than the fixed list holds: the
            // image's HHDM alias would stay writable. Refuse rather than
            // boot with a writable alias of kernel text.
            return Err(MmError::Fragmented("kernel image"));
        }
        let mut cursor = 0;
        for s in specials.sorted() {
            let start = s.start.max(cursor);
            if s.end <= start {
                continue;
            }
            let flags = s.flags;
            map_linear(
                &mut space,
                &mut frames,
                offset,
                (cursor, start),
                default,
                huge,
                &mut report.hhdm_pages,
            )?;
            map_linear(
                &mut space,
                &mut frames,
                offset,
                (start, s.end),
                flags,
                huge,
                &mut report.hhdm_pages,
            )?;
            cursor = s.end;
        }
        map_linear(
            &mut space,
            &mut frames,
            offset,
            (cursor, top.max(cursor)),
            default,
            huge,
            &mut report.hhdm_pages,
        )?;

        // Every kernel-half PML4 slot gets its PDPT now, so every process
        // created later shares all future kernel mappings.
        space.fill_kernel_half(&mut Hhdm, &mut frames)?;
        Ok(space)
    })??;

    report.pml4 = space.pml4();
    report.hhdm_bytes = top;
    report.hhdm_end = offset + top;
    // SAFETY: the new tables map the kernel image where it runs (copied page
    // by page from the loader's), the boot stack we are on, and the HHDM at
    // the same offset: every address the kernel uses stays valid.
    unsafe { arch_paging::switch_root(space.pml4()) };
    without_interrupts(|| *SPACE.lock() = Some(space));
    Ok(report)
}

fn with_space<R>(f: impl FnOnce(&mut AddressSpace) -> Result<R, MmError>) -> Result<R, MmError> {
    without_interrupts(|| match SPACE.lock().as_mut() {
        Some(space) => f(space),
        None => Err(MmError::NotInitialised("kernel address space")),
    })
}

/// Maps one page in the kernel half.
pub fn map(virt: u64, phys: u64, size: PageSize, flags: Flags) -> Result<(), MmError> {
    with_space(|space| {
        frame_alloc::with(|fa| {
            space.map(
                &mut Hhdm,
                &mut Counted(&mut TableFrames(fa)),
                virt,
                phys,
                size,
                flags,
            )
        })?
        .map_err(MmError::from)
    })
}

/// Maps the frame at `phys` once more in the kernel half, readable and
/// executable but never writable (a hypervisor's hypercall page, filled
/// in by the hypervisor); returns its address.
pub fn map_code_frame(phys: u64) -> Result<u64, MmError> {
    let virt = super::kva::alloc(4096, 4096)?;
    match map(virt, phys, PageSize::Size4K, Flags::GLOBAL) {
        Ok(()) => Ok(virt),
        Err(e) => {
            let _ = super::kva::free(virt, 4096);
            Err(e)
        }
    }
}

/// Unmaps the page at `virt`, flushes its TLB entry, and returns the
/// physical address and size it mapped.
pub fn unmap(virt: u64) -> Result<(u64, PageSize), MmError> {
    let (phys, size) = with_space(|space| {
        let unmapped = frame_alloc::with(|fa| {
            space.unmap(&mut Hhdm, &mut Counted(&mut TableFrames(fa)), virt)
        })??;
        unmapped.flush.ignore();
        Ok((unmapped.phys, unmapped.size))
    })?;
    tlb::shootdown(
        Space::Kernel,
        virt & !(size.bytes() - 1),
        size.bytes() / 4096,
    );
    Ok((phys, size))
}

/// Unmaps the `count` 4 KiB pages from `virt` (all must be mapped), with
/// one TLB shootdown for the lot, and then hands each physical address to
/// `release` (after no CPU can reach it any more). Stops at the first
/// page that will not unmap; the pages before it are still released.
pub fn unmap_pages(virt: u64, count: u64, mut release: impl FnMut(u64)) -> Result<(), MmError> {
    const BATCH: usize = 16;
    let mut done = 0;
    while done < count {
        let mut frames = [0u64; BATCH];
        let mut taken = 0;
        let mut failed = None;
        let start = virt + done * 4096;
        while taken < BATCH && done + (taken as u64) < count {
            let page = start + taken as u64 * 4096;
            match with_space(|space| {
                let u = frame_alloc::with(|fa| {
                    space.unmap(&mut Hhdm, &mut Counted(&mut TableFrames(fa)), page)
                })??;
                u.flush.ignore();
                Ok(u.phys)
            }) {
                Ok(phys) => {
                    frames[taken] = phys;
                    taken += 1;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        tlb::shootdown(Space::Kernel, start, taken as u64);
        frames[..taken].iter().for_each(|&f| release(f));
        done += taken as u64;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(())
}

/// Changes the flags of the page at `virt` and flushes its TLB entry on
/// every CPU.
pub fn protect(virt: u64, flags: Flags) -> Result<(), MmError> {
    let virt = with_space(|space| Ok(space.protect(&mut Hhdm, virt, flags)?.virt()))?;
    tlb::shootdown(Space::Kernel, virt, 1);
    Ok(())
}

/// Translates a kernel virtual address.
pub fn translate(virt: u64) -> Option<Translation> {
    with_space(|space| Ok(space.translate(&Hhdm, virt)))
        .ok()
        .flatten()
}

/// Physical address of the kernel PML4.
pub fn root() -> Option<u64> {
    with_space(|space| Ok(space.pml4())).ok()
}

/// A new address space sharing the kernel half (for a process).
pub fn new_sharing() -> Result<AddressSpace, MmError> {
    with_space(|kernel| {
        frame_alloc::with(|fa| AddressSpace::new_sharing(&mut Hhdm, &mut TableFrames(fa), kernel))?
            .map_err(MmError::from)
    })
}
