//! Tables whose entries share one long name or lookup table: bounded memory.
//!
//! Fuzzing found ~180 KB files that made `parse` hold about a gigabyte: a
//! `String` per entry, every entry pointing at the same long name (or every
//! import descriptor at the same lookup table). Here every parse runs under
//! an allocator that counts the test thread's live bytes and refuses past
//! [`LIMIT`], so a parser that multiplies its input aborts this test binary
//! instead of taking the machine's memory; one that does not must refuse
//! the file (or accept it) within a small multiple of its length.

#[path = "../src/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pe::{parse, PeError, PeFile, MAX_SYMBOL_NAME};

/// Live bytes one measured parse may hold before allocation fails.
const LIMIT: usize = 64 << 20;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting (and capping) the measuring thread.
struct Counting;

impl Counting {
    /// Whether `grow` more bytes may be handed out; counts them if so.
    fn admit(grow: usize) -> bool {
        if !MEASURING.with(Cell::get) {
            return true;
        }
        let live = LIVE.with(Cell::get).saturating_add(grow);
        if live > LIMIT {
            return false;
        }
        LIVE.with(|l| l.set(live));
        PEAK.with(|p| p.set(p.get().max(live)));
        true
    }

    fn release(shrink: usize) {
        if MEASURING.with(Cell::get) {
            LIVE.with(|l| l.set(l.get().saturating_sub(shrink)));
        }
    }
}

// SAFETY: every call is forwarded to `System` with the caller's layout; a
// refusal returns null, which `GlobalAlloc` allows for any request.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout has a non-zero size (GlobalAlloc).
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Self::release(layout.size());
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::admit(new_size.saturating_sub(layout.size())) {
            return std::ptr::null_mut();
        }
        Self::release(layout.size().saturating_sub(new_size));
        // SAFETY: `ptr` came from `System` with `layout`; `new_size` is
        // non-zero and valid for its alignment (GlobalAlloc's contract).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Parses `bytes` on this thread and returns the result and the most live
/// bytes the parse held at once (its result included).
fn measured_parse(bytes: &[u8]) -> (Result<PeFile, PeError>, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    MEASURING.with(|m| m.set(true));
    let result = parse(bytes);
    MEASURING.with(|m| m.set(false));
    (result, PEAK.with(Cell::get))
}

/// What a parse may hold for a file of `len` bytes: a small multiple of it
/// (owned tables hold a few times their file bytes), never its square.
fn bound(len: usize) -> usize {
    16 * len + (1 << 20)
}

#[test]
fn exports_sharing_one_long_name_are_refused() {
    // 7,500 exports naming one 90 KB string: 180 KB, ~675 MB if copied.
    let bytes = synth::dll_sharing_one_export_name(7_500, 90_000);
    assert!(bytes.len() < 200_000, "{}", bytes.len());
    let (result, peak) = measured_parse(&bytes);
    assert!(
        matches!(result, Err(PeError::NameTooLong { what: "export name", limit, .. })
            if limit == MAX_SYMBOL_NAME),
        "{result:?}"
    );
    assert!(peak <= bound(bytes.len()), "peak {peak}");
}

#[test]
fn exports_sharing_one_name_within_the_cap_hit_the_budget() {
    // 15,000 exports naming one 4,000-byte string: 190 KB, 60 MB if copied.
    let bytes = synth::dll_sharing_one_export_name(15_000, 4_000);
    let (result, peak) = measured_parse(&bytes);
    assert!(
        matches!(result, Err(PeError::NamesTooLarge { limit })
            if limit == bytes.len() + pe::NAME_BUDGET_SLACK),
        "{result:?}"
    );
    assert!(peak <= bound(bytes.len()), "peak {peak}");
}

#[test]
fn imports_sharing_one_long_name_are_refused() {
    // 5,000 imports naming one 90 KB symbol: 170 KB, ~450 MB if copied.
    let bytes = synth::exe_sharing_one_import_name(5_000, 90_000);
    let (result, peak) = measured_parse(&bytes);
    assert!(
        matches!(
            result,
            Err(PeError::NameTooLong {
                what: "imported symbol name",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(peak <= bound(bytes.len()), "peak {peak}");
}

#[test]
fn imports_sharing_one_name_within_the_cap_hit_the_budget() {
    // 11,000 imports naming one 4,000-byte symbol: 180 KB, 44 MB if copied.
    let bytes = synth::exe_sharing_one_import_name(11_000, 4_000);
    let (result, peak) = measured_parse(&bytes);
    assert!(
        matches!(result, Err(PeError::NamesTooLarge { .. })),
        "{result:?}"
    );
    assert!(peak <= bound(bytes.len()), "peak {peak}");
}

#[test]
fn descriptors_sharing_one_lookup_table_hit_the_import_cap() {
    // 2,000 descriptors x 5,000 shared thunks: 200 KB, 10 M imports.
    let bytes = synth::exe_sharing_one_lookup_table(2_000, 5_000);
    let (result, peak) = measured_parse(&bytes);
    assert!(
        matches!(result, Err(PeError::TooManyImports { .. })),
        "{result:?}"
    );
    assert!(peak <= bound(bytes.len()), "peak {peak}");
}

#[test]
fn a_large_well_formed_table_is_accepted_in_proportion() {
    let names: Vec<&'static str> = (0..40_000)
        .map(|i| synth::leak(format!("function_{i:05}")))
        .collect();
    let bytes = synth::build(&synth::Spec {
        exports: (0u32..)
            .zip(&names)
            .map(|(i, n)| (*n, 0x10 * (1 + i % 0x1f)))
            .collect(),
        ..synth::Spec::dll("lib.dll", &[])
    })
    .bytes;
    let (result, peak) = measured_parse(&bytes);
    let pe = result.expect("a well-formed table parses");
    assert_eq!(pe.exports().map(|e| e.entries().len()), Some(names.len()));
    assert!(peak <= bound(bytes.len()), "peak {peak}");
}
