//! x86-64 4-level page tables over a `PhysMem` trait, without `unsafe`.
//!
//! An [`AddressSpace`] is a PML4 physical address plus a policy for the
//! kernel half. Every access to a table goes through [`PhysMem`] (the HHDM
//! in the kernel, a `Vec<u8>` in tests); table frames come from and go back
//! to a [`FrameSource`], and are zeroed here. Leaves are 4 KiB, 2 MiB or
//! 1 GiB; mapping never splits a larger page. `unmap` frees tables that
//! become empty, up to but never including the PML4, and — under
//! [`KernelHalf::Shared`] — never the PDPTs of PML4 entries 256..511, which
//! every process shares. Operations that leave a stale TLB entry return a
//! `#[must_use]` [`Flush`]; the kernel's arch layer does the `invlpg`.
//! Entry formats: Intel SDM Vol. 3A §4.5; see [`entry`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod entry;
mod error;
mod flags;
mod sharing;
mod space;
mod walk;

pub use error::MapError;
pub use flags::{CacheType, Flags, PageSize, LIMINE_PAT};
pub use space::{AddressSpace, KernelHalf, LeafEntry, Translation, Unmapped};
pub use walk::{Mapping, Mappings};

/// Entry-granular access to physical memory holding page tables.
pub trait PhysMem {
    /// Reads the 8-byte-aligned `u64` at physical address `phys`.
    fn read_u64(&self, phys: u64) -> u64;
    /// Writes the 8-byte-aligned `u64` at physical address `phys`.
    fn write_u64(&mut self, phys: u64, value: u64);
    /// Reads the eight entries at the 64-byte-aligned `phys`: whole-table
    /// walks read a block at a time and skip empty blocks. The default
    /// reads them one by one.
    fn read_8(&self, phys: u64) -> [u64; 8] {
        core::array::from_fn(|i| self.read_u64(phys + 8 * i as u64))
    }
}

/// Where page-table frames come from.
pub trait FrameSource {
    /// A 4 KiB-aligned physical frame for a table (contents irrelevant: it
    /// is zeroed through [`PhysMem`]), or `None` when memory is exhausted.
    fn alloc_table_frame(&mut self) -> Option<u64>;
    /// Takes back a table frame that is no longer referenced. The caller of
    /// the operation that freed it must still act on its [`Flush`] before
    /// the frame is reused, since paging-structure caches may hold it.
    fn free_table_frame(&mut self, phys: u64);
}

impl<T: PhysMem + ?Sized> PhysMem for &mut T {
    fn read_u64(&self, phys: u64) -> u64 {
        (**self).read_u64(phys)
    }
    fn read_8(&self, phys: u64) -> [u64; 8] {
        (**self).read_8(phys)
    }
    fn write_u64(&mut self, phys: u64, value: u64) {
        (**self).write_u64(phys, value);
    }
}

impl<T: FrameSource + ?Sized> FrameSource for &mut T {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        (**self).alloc_table_frame()
    }
    fn free_table_frame(&mut self, phys: u64) {
        (**self).free_table_frame(phys);
    }
}

/// A TLB entry that is stale after `unmap` or `protect`: the kernel must
/// `invlpg` [`Flush::virt`] (on every CPU that may cache it) before relying
/// on the change or reusing freed frames, or call [`Flush::ignore`] when
/// the address space is not loaded anywhere.
#[must_use = "the TLB may still hold the old translation: invlpg it"]
#[derive(Debug, PartialEq, Eq)]
pub struct Flush {
    virt: u64,
}

impl Flush {
    pub(crate) const fn new(virt: u64) -> Self {
        Flush { virt }
    }

    /// The virtual address to invalidate.
    #[must_use]
    pub const fn virt(&self) -> u64 {
        self.virt
    }

    /// Drops the duty, for an address space no CPU has loaded.
    pub fn ignore(self) {}
}

/// Whether `virt` is canonical for 4-level paging: bits 63:47 all equal
/// (Intel SDM Vol. 1 §3.3.7.1).
#[must_use]
pub const fn is_canonical(virt: u64) -> bool {
    let top = virt >> 47;
    top == 0 || top == 0x1_ffff
}
