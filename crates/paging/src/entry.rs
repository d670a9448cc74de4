//! Page-table entry bits and their encoding (Intel SDM Vol. 3A §4.5).
//!
//! Bit positions come from the entry-format tables of §4.5 ("Formats of
//! PML4E, PDPTE, PDE and PTE"): the same low bits at every level, except
//! that bit 7 is PS in a PDPTE/PDE and PAT in a PTE, and the PAT bit of a
//! 1 GiB or 2 MiB leaf moves to bit 12.

use crate::{Flags, PageSize};

/// P: the entry is present.
pub const PRESENT: u64 = 1 << 0;
/// R/W: writes allowed.
pub const WRITABLE: u64 = 1 << 1;
/// U/S: user-mode accesses allowed.
pub const USER: u64 = 1 << 2;
/// PWT: page-level write-through.
pub const WRITE_THROUGH: u64 = 1 << 3;
/// PCD: page-level cache disable.
pub const CACHE_DISABLE: u64 = 1 << 4;
/// A: set by the processor on access.
pub const ACCESSED: u64 = 1 << 5;
/// D: set by the processor on write (leaves only).
pub const DIRTY: u64 = 1 << 6;
/// PS: the PDPTE/PDE maps a 1 GiB/2 MiB page rather than a table.
pub const HUGE: u64 = 1 << 7;
/// PAT bit of a 4 KiB PTE.
pub const PAT_4K: u64 = 1 << 7;
/// G: global translation (leaves only).
pub const GLOBAL: u64 = 1 << 8;
/// Bit 9, ignored by the processor (SDM Vol. 3A Table 4-19: "ignored"),
/// used for [`Flags::SHARED`].
pub const SOFTWARE_SHARED: u64 = 1 << 9;
/// PAT bit of a 1 GiB PDPTE or 2 MiB PDE.
pub const PAT_HUGE: u64 = 1 << 12;
/// XD: execute-disable (requires IA32_EFER.NXE).
pub const NO_EXECUTE: u64 = 1 << 63;
/// Physical-address bits 51:12 (MAXPHYADDR is at most 52, §4.1.4).
pub const ADDRESS: u64 = 0x000f_ffff_ffff_f000;

/// The entry for a table at `table`; user if any leaf below will be.
pub(crate) const fn table(table: u64, user: bool) -> u64 {
    let u = if user { USER } else { 0 };
    (table & ADDRESS) | PRESENT | WRITABLE | u
}

/// Physical address of the table an entry points to.
pub(crate) const fn table_address(entry: u64) -> u64 {
    entry & ADDRESS
}

/// Whether a present entry at `level` (1..=3) is a leaf.
pub(crate) const fn is_leaf(entry: u64, level: usize) -> bool {
    level == 3 || (level > 0 && entry & HUGE != 0)
}

/// Encodes a leaf of `size` mapping `phys` (aligned) with `flags`.
pub(crate) fn leaf(phys: u64, size: PageSize, flags: Flags) -> u64 {
    let mut e = (phys & ADDRESS) | PRESENT;
    let simple = [
        (Flags::WRITABLE, WRITABLE),
        (Flags::USER, USER),
        (Flags::WRITE_THROUGH, WRITE_THROUGH),
        (Flags::CACHE_DISABLE, CACHE_DISABLE),
        (Flags::GLOBAL, GLOBAL),
        (Flags::NO_EXECUTE, NO_EXECUTE),
        (Flags::SHARED, SOFTWARE_SHARED),
    ];
    for (flag, bit) in simple {
        if flags.contains(flag) {
            e |= bit;
        }
    }
    match size {
        PageSize::Size4K if flags.contains(Flags::PAT) => e |= PAT_4K,
        PageSize::Size4K => {}
        _ if flags.contains(Flags::PAT) => e |= HUGE | PAT_HUGE,
        _ => e |= HUGE,
    }
    e
}

/// Decodes a present leaf of `size` into its page base and flags.
pub(crate) fn decode_leaf(e: u64, size: PageSize) -> (u64, Flags) {
    let mut flags = Flags::empty();
    let simple = [
        (WRITABLE, Flags::WRITABLE),
        (USER, Flags::USER),
        (WRITE_THROUGH, Flags::WRITE_THROUGH),
        (CACHE_DISABLE, Flags::CACHE_DISABLE),
        (GLOBAL, Flags::GLOBAL),
        (NO_EXECUTE, Flags::NO_EXECUTE),
        (SOFTWARE_SHARED, Flags::SHARED),
    ];
    for (bit, flag) in simple {
        if e & bit != 0 {
            flags |= flag;
        }
    }
    let pat = match size {
        PageSize::Size4K => PAT_4K,
        _ => PAT_HUGE,
    };
    if e & pat != 0 {
        flags |= Flags::PAT;
    }
    (e & ADDRESS & !(size.bytes() - 1), flags)
}
