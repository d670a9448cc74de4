//! Pure, host-tested logic of the Ferrite loader (Limine protocol subset).
//!
//! Everything the UEFI loader decides without touching firmware or
//! hardware lives here: `limine.conf` parsing, ELF validation and load
//! planning, the request scan and base-revision handshake, memory-map
//! conversion, page-table construction over an abstract memory, ACPI table
//! walking, the MADT's CPU list and the MP start-up plan, GOP pixel
//! formats and the `#[repr(C)]` response layouts.
//! Section numbers (§N) refer to `limine-protocol.md` in the shared docs.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod acpi;
pub mod bytes;
pub mod cmdline;
pub mod config;
pub mod cpus;
pub mod elf;
pub mod framebuffer;
pub mod memmap;
pub mod modules;
pub mod mp;
pub mod paging;
pub mod requests;
pub mod responses;
pub mod time;

/// Size of a small page (Intel SDM Vol. 3A §4.5).
pub const PAGE_SIZE: u64 = 0x1000;

/// Virtual base of the higher-half direct map with 4-level paging (§7).
pub const HHDM_OFFSET: u64 = 0xffff_8000_0000_0000;

/// Rounds `value` down to a multiple of `align` (a power of two).
#[must_use]
pub const fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

/// Rounds `value` up to a multiple of `align` (a power of two); `None` on
/// overflow.
#[must_use]
pub const fn align_up(value: u64, align: u64) -> Option<u64> {
    match value.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_helpers_round_correctly() {
        assert_eq!(align_down(0x1fff, PAGE_SIZE), 0x1000);
        assert_eq!(align_up(0x1001, PAGE_SIZE), Some(0x2000));
        assert_eq!(align_up(0x2000, PAGE_SIZE), Some(0x2000));
        assert_eq!(align_up(u64::MAX, PAGE_SIZE), None);
    }
}
