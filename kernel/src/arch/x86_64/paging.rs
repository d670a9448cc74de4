//! Paging control: CR3, TLB invalidation, PAT, NX and write protection.

use x86_64::registers::control::{Cr0, Cr0Flags, Cr3, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags, Msr};
use x86_64::VirtAddr;

/// IA32_PAT (Intel SDM Vol. 3A §13.12.2).
const IA32_PAT: u32 = 0x277;
/// PAT0 WB, PAT1 WT, PAT2 UC-, PAT3 UC, PAT4 WP, PAT5 WC, PAT6/7 UC: the
/// value Limine programs (limine-protocol.md §7), so index 5 is WC whatever
/// loader ran, and the `paging` crate's cache helpers agree.
pub const PAT_VALUE: u64 = paging::LIMINE_PAT;

/// Physical address of the active top-level page table.
pub fn current_root() -> u64 {
    Cr3::read().0.start_address().as_u64()
}

/// Whether the CPU has 1 GiB pages (CPUID 0x80000001 EDX bit 26).
pub fn has_huge_pages() -> bool {
    super::cpu::cpuid(0x8000_0001, 0).edx & (1 << 26) != 0
}

/// Whether the CPU has global pages (CPUID 1 EDX bit 13).
fn has_global_pages() -> bool {
    super::cpu::cpuid(1, 0).edx & (1 << 13) != 0
}

/// Whether the CPU has NX (CPUID 0x80000001 EDX bit 20).
pub fn has_nx() -> bool {
    super::cpu::cpuid(0x8000_0001, 0).edx & (1 << 20) != 0
}

/// Turns on what the kernel's page tables rely on: EFER.NXE (NX bits are
/// honoured), CR0.WP (read-only pages bind the kernel too), CR4.PGE (global
/// kernel pages survive CR3 switches), and programs the PAT.
pub fn enable_protection() {
    // NXE: the current tables set NX only on pages that must not run. WP:
    // the kernel writes read-only pages only in its probes. PGE: global
    // translations survive CR3 loads. PAT: entries 0–5 keep their values.
    // SAFETY: none of these widens what any mapping allows; WP narrows
    // kernel writes to read-only pages, which the kernel makes only in its
    // fault-tolerant probes.
    unsafe {
        if has_nx() {
            Efer::update(|f| f.insert(EferFlags::NO_EXECUTE_ENABLE));
        }
        Cr0::update(|f| f.insert(Cr0Flags::WRITE_PROTECT));
        if has_global_pages() {
            Cr4::update(|f| f.insert(Cr4Flags::PAGE_GLOBAL));
        }
        Msr::new(IA32_PAT).write(PAT_VALUE);
    }
}

/// Loads `root` (a PML4's physical address) into CR3.
///
/// # Safety
/// `root` must be a valid PML4 that maps the kernel image, the current
/// stack and everything the kernel touches next, with the same addresses.
pub unsafe fn switch_root(root: u64) {
    let frame =
        x86_64::structures::paging::PhysFrame::containing_address(x86_64::PhysAddr::new(root));
    super::tlb::note_root(root);
    let (_, flags) = Cr3::read();
    // SAFETY: the caller guarantees the new tables keep the kernel running.
    unsafe { Cr3::write(frame, flags) };
}

/// Invalidates the TLB entry of one page on this CPU.
pub fn flush_page(virt: u64) {
    x86_64::instructions::tlb::flush(VirtAddr::new_truncate(virt));
}
