//! Physical memory for the `acpi` crate: firmware tables read through the HHDM.

use core::ptr::NonNull;

/// Reads ACPI tables through the HHDM (firmware tables sit in RAM-like
/// regions, which the HHDM always covers: all of 0–4 GiB and every
/// non-reserved region above). A table the HHDM does not map reads as
/// zeros, so its signature check fails instead of faulting.
#[derive(Clone, Copy, Debug)]
pub struct AcpiMemory;

#[repr(C, align(4096))]
struct ZeroPage([u8; 4096]);

static ZEROS: ZeroPage = ZeroPage([0; 4096]);

/// Whether `[phys, phys + len)` is readable through the HHDM.
pub fn hhdm_covers(phys: u64, len: u64) -> bool {
    let Some(last) = phys.checked_add(len.max(1) - 1) else {
        return false;
    };
    let first = phys & !0xfff;
    (first..=last)
        .step_by(4096)
        .all(|p| super::kernel_space::translate(super::hhdm::phys_to_virt(p)).is_some())
}

impl acpi::AcpiHandler for AcpiMemory {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> acpi::PhysicalMapping<Self, T> {
        let covered = hhdm_covers(physical_address as u64, size as u64);
        let (virt, len) = if covered {
            (super::hhdm::phys_to_virt(physical_address as u64), size)
        } else {
            log::warn!(
                "acpi: table at {physical_address:#x}+{size:#x} is outside the HHDM; ignored"
            );
            (ZEROS.0.as_ptr() as u64, size.min(4096))
        };
        // SAFETY: `virt` is either the HHDM alias of `size` mapped bytes
        // (checked page by page) or a static page of zeros at least as
        // large as any header the crate reads first; neither is null.
        unsafe {
            acpi::PhysicalMapping::new(
                physical_address,
                NonNull::new_unchecked(virt as *mut T),
                len,
                len,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(_region: &acpi::PhysicalMapping<Self, T>) {}
}

/// The bytes of a firmware table at `phys` (empty if the HHDM lacks them).
pub fn table_bytes(phys: u64, len: u64) -> &'static [u8] {
    if len == 0 || !hhdm_covers(phys, len) {
        return &[];
    }
    // SAFETY: the range is mapped by the HHDM (checked) for the kernel's
    // life, and firmware tables are never written by the kernel.
    unsafe {
        core::slice::from_raw_parts(super::hhdm::phys_to_virt(phys) as *const u8, len as usize)
    }
}

/// The ACPI tables reachable from the RSDP at physical `rsdp`.
pub fn tables(rsdp: u64) -> acpi::AcpiResult<acpi::AcpiTables<AcpiMemory>> {
    // SAFETY: the crate only reads through `AcpiMemory`, which never hands
    // out an unmapped address (unmapped ranges read as zeros), and checks
    // the RSDP's signature and checksum before trusting it.
    unsafe { acpi::AcpiTables::from_rsdp(AcpiMemory, rsdp as usize) }
}
