//! Relocation checks: the kernel loads m2-tests.exe away from its preferred
//! base, and every absolute pointer in its data must have been fixed up.

use crate::report::Report;
use crate::syscalls::own_image_base;
use abi::ProcessInfo;
use core::hint::black_box;
use core::sync::atomic::{AtomicPtr, Ordering};
use testkit::check;

/// PE32+ optional-header magic (PE/COFF spec, "Optional Header").
const PE32_PLUS: u16 = 0x20b;

/// Reads a little-endian value at `base + off` of this image's headers.
fn header<T: Copy>(off: u64) -> T {
    // SAFETY: the image's headers are mapped readable at its base (checked
    // by `process_image` before this runs), and every offset read here lies
    // within the DOS header, the PE headers and the data directories.
    unsafe { ((own_image_base() + off) as *const T).read_unaligned() }
}

/// (preferred ImageBase, size of the base-relocation directory), if the
/// headers are a PE32+ image's.
fn headers() -> Option<(u64, u32)> {
    let pe = u64::from(header::<u32>(0x3c));
    if header::<u16>(0) != 0x5a4d || header::<u32>(pe) != 0x0000_4550 {
        return None;
    }
    let opt = pe + 24; // after the signature and the 20-byte COFF header
    if header::<u16>(opt) != PE32_PLUS {
        return None;
    }
    // ImageBase at +24; data directory 5 (base relocations) at +112 + 5 * 8.
    Some((
        header::<u64>(opt + 24),
        header::<u32>(opt + 112 + 5 * 8 + 4),
    ))
}

static VALUES: [u32; 3] = [0x1111, 0x2222, 0x3333];

#[inline(never)]
fn one() -> u32 {
    black_box(1)
}

#[inline(never)]
fn two() -> u32 {
    black_box(2)
}

/// Absolute pointers in read-only data (`.rdata`): each needs a DIR64
/// base relocation.
static FUNCS: [fn() -> u32; 2] = [one, two];
static PTRS: [&u32; 3] = [&VALUES[0], &VALUES[1], &VALUES[2]];
/// An absolute pointer in writable data (`.data`).
static IN_DATA: AtomicPtr<u32> = AtomicPtr::new(&VALUES[2] as *const u32 as *mut u32);

pub fn relocation(r: &mut Report, proc: &ProcessInfo) {
    let base = own_image_base();
    let (preferred, reloc_size) = headers().unwrap_or((0, 0));
    let ok = preferred != 0 && base != preferred && reloc_size > 0;
    check!(
        r,
        "relocated",
        ok,
        "loaded at {base:#x}, preferred ImageBase {preferred:#x}, .reloc {reloc_size} bytes"
    );

    let end = base + proc.image_size;
    let inside = |p: u64| (base..end).contains(&p);
    let funcs = black_box(&FUNCS);
    let ptrs = black_box(&PTRS);
    let f_ok =
        funcs.iter().all(|f| inside(*f as usize as u64)) && (funcs[0])() == 1 && (funcs[1])() == 2;
    let p_ok = ptrs
        .iter()
        .zip(VALUES.iter())
        .all(|(p, v)| core::ptr::eq(*p, v) && inside(*p as *const u32 as u64) && **p == *v);
    let d = black_box(&IN_DATA).load(Ordering::Relaxed);
    let d_ok = core::ptr::eq(d, &VALUES[2]) && inside(d as u64);
    check!(
        r,
        "relocation_table",
        f_ok && p_ok && d_ok,
        "fn table {:#x} {:#x}: {f_ok}, .rdata pointers: {p_ok}, .data pointer {:#x}: {d_ok}",
        funcs[0] as usize,
        funcs[1] as usize,
        d as u64
    );
}
