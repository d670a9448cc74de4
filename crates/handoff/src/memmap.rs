//! UEFI memory map → Limine memory map conversion (§6, §10 step 13).
//!
//! Runs after ExitBootServices, so it never allocates: it works inside a
//! caller-provided, preallocated slice of [`MemmapEntry`].

use crate::responses::MemmapEntry;
use crate::{align_down, align_up, PAGE_SIZE};
use core::fmt;

/// Limine memory map entry types (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u64)]
pub enum MemType {
    /// Free RAM.
    Usable = 0,
    /// Not usable.
    Reserved = 1,
    /// ACPI tables, reclaimable after parsing.
    AcpiReclaimable = 2,
    /// ACPI non-volatile storage.
    AcpiNvs = 3,
    /// Defective RAM.
    BadMemory = 4,
    /// Loader data: responses, page tables, stack, GDT...
    BootloaderReclaimable = 5,
    /// Kernel image and modules.
    KernelAndModules = 6,
    /// Framebuffer pixels.
    Framebuffer = 7,
}

impl MemType {
    /// The numeric type as stored in an entry.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self as u64
    }

    /// Whether entries of this type must be page-aligned and exclusive
    /// (§6: USABLE and BOOTLOADER_RECLAIMABLE).
    #[must_use]
    pub const fn is_exclusive(self) -> bool {
        matches!(self, Self::Usable | Self::BootloaderReclaimable)
    }

    fn from_raw(raw: u64) -> Self {
        match raw {
            0 => Self::Usable,
            2 => Self::AcpiReclaimable,
            3 => Self::AcpiNvs,
            4 => Self::BadMemory,
            5 => Self::BootloaderReclaimable,
            6 => Self::KernelAndModules,
            7 => Self::Framebuffer,
            _ => Self::Reserved,
        }
    }
}

/// UEFI memory types (UEFI 2.10 §7.2, `EFI_MEMORY_TYPE`).
pub mod uefi {
    /// EfiLoaderCode.
    pub const LOADER_CODE: u32 = 1;
    /// EfiLoaderData.
    pub const LOADER_DATA: u32 = 2;
    /// EfiBootServicesCode.
    pub const BOOT_SERVICES_CODE: u32 = 3;
    /// EfiBootServicesData.
    pub const BOOT_SERVICES_DATA: u32 = 4;
    /// EfiConventionalMemory.
    pub const CONVENTIONAL: u32 = 7;
    /// EfiACPIReclaimMemory.
    pub const ACPI_RECLAIM: u32 = 9;
    /// EfiACPIMemoryNVS.
    pub const ACPI_NVS: u32 = 10;
}

/// Limine type for a UEFI type, "Limine ≥ 9.3.4" column of §6.
#[must_use]
pub fn limine_type(uefi_type: u32) -> MemType {
    match uefi_type {
        uefi::CONVENTIONAL => MemType::Usable,
        uefi::BOOT_SERVICES_CODE
        | uefi::BOOT_SERVICES_DATA
        | uefi::LOADER_CODE
        | uefi::LOADER_DATA => MemType::BootloaderReclaimable,
        uefi::ACPI_RECLAIM => MemType::AcpiReclaimable,
        uefi::ACPI_NVS => MemType::AcpiNvs,
        _ => MemType::Reserved,
    }
}

/// Whether a UEFI region above 4 GiB goes into the HHDM (§7, rev 1–2:
/// everything that does not become RESERVED or BAD_MEMORY).
#[must_use]
pub fn in_hhdm(uefi_type: u32) -> bool {
    !matches!(
        limine_type(uefi_type),
        MemType::Reserved | MemType::BadMemory
    )
}

/// One UEFI memory descriptor, reduced to what we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UefiRegion {
    /// `Type`.
    pub ty: u32,
    /// `PhysicalStart`.
    pub base: u64,
    /// `NumberOfPages` (4 KiB each).
    pub pages: u64,
}

/// An allocation the loader made and tracks (§10 step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// Physical base (page-aligned).
    pub base: u64,
    /// Length in 4 KiB pages.
    pub pages: u64,
    /// KERNEL_AND_MODULES or BOOTLOADER_RECLAIMABLE.
    pub ty: MemType,
}

/// Why the memory map could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemmapError {
    /// The preallocated buffer is too small.
    TooManyEntries {
        /// Its capacity in entries.
        capacity: usize,
    },
}

impl fmt::Display for MemmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyEntries { capacity } => {
                write!(f, "memory map needs more than {capacity} entries")
            }
        }
    }
}

impl MemType {
    /// Every type, least restrictive first: where entries overlap, the
    /// later type in this list wins (see [`build`]).
    const BY_RANK: [MemType; 8] = [
        MemType::Usable,
        MemType::BootloaderReclaimable,
        MemType::AcpiReclaimable,
        MemType::KernelAndModules,
        MemType::AcpiNvs,
        MemType::Reserved,
        MemType::Framebuffer,
        MemType::BadMemory,
    ];

    /// Position in [`MemType::BY_RANK`].
    const fn rank(self) -> usize {
        match self {
            Self::Usable => 0,
            Self::BootloaderReclaimable => 1,
            Self::AcpiReclaimable => 2,
            Self::KernelAndModules => 3,
            Self::AcpiNvs => 4,
            Self::Reserved => 5,
            Self::Framebuffer => 6,
            Self::BadMemory => 7,
        }
    }
}

/// `length` cut so that `base + length` does not overflow.
fn clamp(base: u64, length: u64) -> u64 {
    length.min(u64::MAX - base)
}

/// Builds the Limine memory map into `out` and returns the entry count.
///
/// Every input — the firmware's regions, the loader's tracked allocations,
/// the framebuffer — is a claim on a range, and they may overlap (firmware
/// maps are not always clean; the framebuffer often lies in a reserved
/// range). The output never overlaps: each byte gets the most restrictive
/// type any input gives it, in the order of [`MemType::BY_RANK`] — USABLE,
/// then the reclaimable types (BOOTLOADER_RECLAIMABLE, ACPI_RECLAIMABLE),
/// then memory in use for good (KERNEL_AND_MODULES), then what the
/// firmware keeps (ACPI_NVS, RESERVED), the framebuffer, and BAD_MEMORY
/// last. So USABLE never overlaps anything, and a tracked allocation keeps
/// its type unless the firmware said something stricter. Adjacent or
/// overlapping inputs of one exclusive type become one entry. Exclusive
/// entries (USABLE, BOOTLOADER_RECLAIMABLE) are then shrunk to whole pages
/// and page 0 is trimmed from them (§6: never usable for base revision
/// ≤ 2). The result is sorted by base.
///
/// Runs after ExitBootServices, so it works inside `out`: the inputs are
/// sorted at its end and the map is written from its front. It needs room
/// for every input plus the extra pieces that splitting ranges produces
/// (one per range cut out of the middle of another).
pub fn build(
    firmware: impl IntoIterator<Item = UefiRegion>,
    tracked: &[Tracked],
    framebuffer: Option<(u64, u64)>,
    out: &mut [MemmapEntry],
) -> Result<usize, MemmapError> {
    let capacity = out.len();
    let full = MemmapError::TooManyEntries { capacity };
    let mut inputs = 0;
    let mut push = |out: &mut [MemmapEntry], base: u64, length: u64, ty: MemType| {
        let length = clamp(base, length);
        if length == 0 {
            return Ok(());
        }
        let slot = out.get_mut(inputs).ok_or(full)?;
        *slot = MemmapEntry {
            base,
            length,
            kind: ty.raw(),
        };
        inputs += 1;
        Ok(())
    };
    for r in firmware {
        push(
            out,
            r.base,
            r.pages.saturating_mul(PAGE_SIZE),
            limine_type(r.ty),
        )?;
    }
    for t in tracked {
        push(out, t.base, t.pages.saturating_mul(PAGE_SIZE), t.ty)?;
    }
    if let Some((base, length)) = framebuffer {
        push(out, base, length, MemType::Framebuffer)?;
    }
    let first = capacity - inputs;
    out[..inputs].sort_unstable_by_key(|e| e.base);
    out.copy_within(..inputs, first);
    let written = paint(out, first)?;
    Ok(shrink_exclusive(&mut out[..written]))
}

/// Sweeps the inputs sorted by base in `out[first..]` and writes the
/// non-overlapping map to the front of `out`; returns its length.
fn paint(out: &mut [MemmapEntry], first: usize) -> Result<usize, MemmapError> {
    let capacity = out.len();
    // Per rank: the union of that type's inputs seen so far, as the run
    // (start, end) reaching furthest; dead once `end <= pos`.
    let mut runs: [Option<(u64, u64)>; 8] = [None; 8];
    let mut next = first;
    let mut written = 0;
    let Some(mut pos) = out.get(first).map(|e| e.base) else {
        return Ok(0);
    };
    loop {
        while let Some(e) = out.get(next).copied().filter(|e| e.base <= pos) {
            let end = e.base + e.length;
            let run = &mut runs[MemType::from_raw(e.kind).rank()];
            *run = match *run {
                Some((start, run_end)) if run_end > pos => Some((start, run_end.max(end))),
                _ => Some((e.base, end)),
            };
            next += 1;
        }
        let alive = |r: &Option<(u64, u64)>| r.filter(|&(_, end)| end > pos);
        let top = (0..runs.len())
            .rev()
            .find_map(|rank| alive(&runs[rank]).map(|run| (rank, run)));
        let upcoming = out.get(next).map(|e| e.base);
        let run_end = runs.iter().filter_map(alive).map(|(_, end)| end).min();
        let stop = match (upcoming, run_end) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(s) => s,
                None => return Ok(written),
            },
        };
        if let Some((rank, (run_start, _))) = top {
            let ty = MemType::BY_RANK[rank];
            // The previous piece continues when it has this type and ends
            // here, and is of one exclusive type or from this very run.
            let joins = written
                .checked_sub(1)
                .and_then(|i| out.get(i))
                .is_some_and(|p| {
                    p.kind == ty.raw()
                        && p.base + p.length == pos
                        && (ty.is_exclusive() || run_start <= p.base)
                });
            if joins {
                out[written - 1].length += stop - pos;
            } else {
                // Writing over an input not yet read would lose it.
                if written >= next && next < capacity {
                    return Err(MemmapError::TooManyEntries { capacity });
                }
                let slot = out
                    .get_mut(written)
                    .ok_or(MemmapError::TooManyEntries { capacity })?;
                *slot = MemmapEntry {
                    base: pos,
                    length: stop - pos,
                    kind: ty.raw(),
                };
                written += 1;
            }
        }
        pos = stop;
    }
}

/// Shrinks exclusive entries to whole pages above page 0, drops emptied
/// ones, and returns how many are left.
fn shrink_exclusive(entries: &mut [MemmapEntry]) -> usize {
    let mut kept = 0;
    for i in 0..entries.len() {
        let mut e = entries[i];
        if MemType::from_raw(e.kind).is_exclusive() {
            let start = align_up(e.base, PAGE_SIZE)
                .unwrap_or(u64::MAX)
                .max(PAGE_SIZE);
            let end = align_down(e.base + e.length, PAGE_SIZE);
            e.base = start;
            e.length = end.saturating_sub(start);
        }
        if e.length != 0 {
            entries[kept] = e;
            kept += 1;
        }
    }
    kept
}

#[cfg(test)]
mod tests;
