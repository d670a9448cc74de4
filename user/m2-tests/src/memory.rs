//! Checks of ALLOCATE_PAGES / FREE_PAGES and page protections.

use crate::report::{Report, Shown};
use crate::syscalls::sys;
use abi::protection::{EXECUTE, READ, WRITE};
use abi::{nr, Error};
use testkit::check;

const PAGE: u64 = 4096;

fn allocate(bytes: u64, prot: u64) -> abi::SysResult {
    sys(nr::ALLOCATE_PAGES, [bytes, prot, 0, 0, 0])
}

fn free(addr: u64, bytes: u64) -> abi::SysResult {
    sys(nr::FREE_PAGES, [addr, bytes, 0, 0, 0])
}

/// Allocation checks; returns a READ-only page for the pointer matrix
/// (0 if it could not be had).
pub fn allocations(r: &mut Report) -> u64 {
    // Read-write: zeroed, writable, page-aligned, in user space.
    let rw = allocate(3 * PAGE, READ | WRITE);
    let (ok, detail) = match rw {
        Ok(addr)
            if addr % PAGE == 0 && addr >= abi::USER_MIN && addr + 3 * PAGE <= abi::USER_END =>
        {
            let p = addr as *mut u64;
            let words = (3 * PAGE / 8) as usize;
            // SAFETY: the kernel committed 3 readable, writable pages here.
            let zero = (0..words).all(|i| unsafe { p.add(i).read_volatile() } == 0);
            for i in 0..words {
                // SAFETY: as above.
                unsafe { p.add(i).write_volatile(i as u64 ^ addr) };
            }
            // SAFETY: as above.
            let kept = (0..words).all(|i| unsafe { p.add(i).read_volatile() } == i as u64 ^ addr);
            (zero && kept, (addr, zero, kept))
        }
        _ => (false, (0, false, false)),
    };
    check!(
        r,
        "alloc_rw",
        ok,
        "3 pages RW: {} zeroed {} write/read-back {}",
        Shown(rw),
        detail.1,
        detail.2
    );

    // Read-only: readable and zero; the kernel must refuse to write into it.
    let ro = allocate(PAGE, READ);
    let (ok, got) = match ro {
        Ok(addr) => {
            // SAFETY: a committed readable page.
            let zero = unsafe { (addr as *const u64).read_volatile() } == 0;
            let got = sys(nr::GET_SYSTEM_INFO, [addr, 0, 0, 0, 0]);
            (zero && got == Err(Error::BadPointer), got)
        }
        Err(e) => (false, Err(e)),
    };
    check!(
        r,
        "alloc_readonly",
        ok,
        "1 page R: {}, GET_SYSTEM_INFO into it: {}",
        Shown(ro),
        Shown(got)
    );

    // W+X is refused, with or without READ.
    let wx = allocate(PAGE, WRITE | EXECUTE);
    let rwx = allocate(PAGE, READ | WRITE | EXECUTE);
    let ok = wx == Err(Error::InvalidArgument) && rwx == Err(Error::InvalidArgument);
    check!(
        r,
        "alloc_wx_refused",
        ok,
        "W+X: {}, R+W+X: {}",
        Shown(wx),
        Shown(rwx)
    );

    // Free, then free again.
    let (first, again) = match rw {
        Ok(addr) => (free(addr, 3 * PAGE), free(addr, 3 * PAGE)),
        Err(e) => (Err(e), Err(e)),
    };
    let ok = first == Ok(0) && again.is_err();
    check!(
        r,
        "free_pages",
        ok,
        "free: {}, free again: {}",
        Shown(first),
        Shown(again)
    );
    ro.unwrap_or(0)
}

/// A user address that is surely not mapped: a page allocated and freed.
pub fn unmapped_page() -> u64 {
    match allocate(PAGE, READ | WRITE) {
        Ok(addr) => {
            let _ = free(addr, PAGE);
            addr
        }
        // Fall back to an address far above anything Ferrite maps in M2.
        Err(_) => 0x0000_7000_0000_0000,
    }
}

/// Frees the read-only page after the pointer matrix used it.
pub fn release_readonly(r: &mut Report, page: u64) {
    let got = if page != 0 {
        free(page, PAGE)
    } else {
        Err(Error::NoMemory)
    };
    check!(
        r,
        "free_readonly",
        got == Ok(0),
        "free of the R page {page:#x}: {}",
        Shown(got)
    );
}
