//! The kernel's page tables: PT_LOADs, HHDM, WC framebuffer (§7, §10 step 9).

use crate::error::LoaderError;
use crate::firmware::Gop;
use crate::memory::{Tracker, UefiTables};
use handoff::elf::LoadPlan;
use handoff::paging::{Attr, Caching, Existing, PageTables, LARGE_PAGE};
use handoff::{align_down, align_up, HHDM_OFFSET, PAGE_SIZE};

/// The HHDM always covers physical 0–4 GiB for base revision ≤ 2 (§7).
const LOW_HHDM: u64 = 0x1_0000_0000;

/// What goes into the address space.
pub struct Layout<'a> {
    /// The kernel's load plan.
    pub plan: &'a LoadPlan,
    /// Physical base of the loaded image.
    pub image_phys: u64,
    /// The framebuffer, mapped write-combining.
    pub gop: Option<Gop>,
    /// RAM-like regions above 4 GiB, as (base, length).
    pub high_regions: &'a [(u64, u64)],
    /// Physical range of the hand-off trampoline (identity-mapped).
    pub trampoline: (u64, u64),
    /// The APs' real-mode page (identity-mapped: they turn paging on
    /// while running there).
    pub ap_page: Option<u64>,
    /// Whether the CPU supports NX.
    pub nx: bool,
}

/// Builds the tables and returns the PML4's physical address.
pub fn build(tracker: &mut Tracker, layout: &Layout<'_>) -> Result<u64, LoaderError> {
    let mut tables = PageTables::new(UefiTables { tracker }, layout.nx)?;
    let plan = layout.plan;
    // Each PT_LOAD on its own, 4 KiB pages: holes (the stack guard page)
    // stay unmapped (§7).
    for seg in plan.segments() {
        let (start, end) = seg.page_span();
        let phys = layout.image_phys + (start - plan.base_vaddr);
        let attr = Attr {
            writable: seg.writable(),
            executable: seg.executable(),
            caching: Caching::WriteBack,
        };
        tables.map(start, phys, end - start, attr, false, Existing::Error)?;
    }
    // Framebuffer first, WC (PAT index 5, §7), so the WB HHDM fill below
    // skips its pages.
    if let Some(gop) = layout.gop {
        let start = align_down(gop.base, PAGE_SIZE);
        let end = align_up(gop.base + gop.len(), PAGE_SIZE)
            .ok_or(LoaderError::TooLarge("framebuffer"))?;
        let wc = Attr {
            caching: Caching::WriteCombining,
            ..Attr::HHDM
        };
        tables.map(
            HHDM_OFFSET + start,
            start,
            end - start,
            wc,
            true,
            Existing::Error,
        )?;
    }
    tables.map(HHDM_OFFSET, 0, LOW_HHDM, Attr::HHDM, true, Existing::Skip)?;
    for &(base, len) in layout.high_regions {
        let start = align_down(base, LARGE_PAGE);
        let end = align_up(base + len, LARGE_PAGE).ok_or(LoaderError::TooLarge("memory region"))?;
        tables.map(
            HHDM_OFFSET + start,
            start,
            end - start,
            Attr::HHDM,
            true,
            Existing::Skip,
        )?;
    }
    // Identity map of the trampoline so it survives its own CR3 load, and
    // of the APs' page for the same reason; both go with PML4 slots 0–255
    // (§10 step 14), after the APs have left it.
    let (t0, t1) = layout.trampoline;
    let start = align_down(t0, PAGE_SIZE);
    let end = align_up(t1, PAGE_SIZE).ok_or(LoaderError::TooLarge("trampoline"))?;
    let rx = Attr {
        writable: false,
        executable: true,
        caching: Caching::WriteBack,
    };
    tables.map(start, start, end - start, rx, false, Existing::Error)?;
    if let Some(page) = layout.ap_page {
        tables.map(page, page, PAGE_SIZE, rx, false, Existing::Error)?;
    }
    Ok(tables.root())
}
