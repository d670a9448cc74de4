//! The bugcheck's heap: a fixed arena the global allocator switches to.
//!
//! Once a bugcheck begins, the kernel heap may be the thing that broke (a
//! panic inside talc, a corrupt free list, its lock held by the code that
//! failed), so nothing may touch it. [`enter`] turns every later
//! allocation, on every CPU, into a bump allocation from a static arena
//! and every free of older memory into a no-op; the symbolizer runs its
//! lookups in [`scope`]s that give the arena back after each one. The
//! arena is in `.bss`: it costs no allocation and is there from the first
//! instruction.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The arena's size: one symbol lookup in the kernel's DWARF needs about
/// 64 KiB live (its unit's abbreviations and line-table header); the bump
/// allocator never reuses within a lookup, so this leaves ample room.
pub const ARENA_BYTES: usize = 1 << 20;

#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: the arena's bytes are only handed out by `alloc`, which gives
// each caller a range no other caller gets (an atomic bump of `NEXT`).
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_BYTES]));
static ACTIVE: AtomicBool = AtomicBool::new(false);
static NEXT: AtomicUsize = AtomicUsize::new(0);
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// Switches the global allocator to the arena, for good.
pub fn enter() {
    ACTIVE.store(true, Ordering::SeqCst);
}

/// Whether the arena serves allocations.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Runs `f` and gives back whatever it allocated from the arena: `f`
/// must drop all of it before it returns (the lifetimes of its values
/// cannot outlive the call, so only leaked memory could remain).
pub fn scope<T>(f: impl FnOnce() -> T) -> T {
    let mark = NEXT.load(Ordering::SeqCst);
    let result = f();
    NEXT.store(mark, Ordering::SeqCst);
    result
}

/// The most of the arena in use at once, and the allocations it refused.
pub fn usage() -> (usize, usize) {
    (
        HIGH_WATER.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    )
}

/// Whether `ptr` lies in the arena.
pub fn contains(ptr: *mut u8) -> bool {
    let start = ARENA.0.get() as usize;
    (start..start + ARENA_BYTES).contains(&(ptr as usize))
}

/// A bump allocation from the arena, or null when it is full.
pub fn alloc(layout: Layout) -> *mut u8 {
    let base = ARENA.0.get() as usize;
    let mut next = NEXT.load(Ordering::Relaxed);
    while let Some(start) = (base + next).checked_next_multiple_of(layout.align()) {
        let end = start - base + layout.size();
        if end > ARENA_BYTES {
            break;
        }
        match NEXT.compare_exchange_weak(next, end, Ordering::SeqCst, Ordering::Relaxed) {
            Ok(_) => {
                HIGH_WATER.fetch_max(end, Ordering::Relaxed);
                // The range [start, start + size) lies in the arena and
                // was handed to nobody else.
                return ARENA.0.get().cast::<u8>().wrapping_add(start - base);
            }
            Err(now) => next = now,
        }
    }
    FAILED.fetch_add(1, Ordering::Relaxed);
    core::ptr::null_mut()
}

/// Frees an arena allocation: only the newest one is given back at once
/// (a stack discipline, which covers a Vec that grows and drops); older
/// ones wait for the end of their [`scope`].
pub fn dealloc(ptr: *mut u8, layout: Layout) {
    let offset = ptr as usize - ARENA.0.get() as usize;
    let _ = NEXT.compare_exchange(
        offset + layout.size(),
        offset,
        Ordering::SeqCst,
        Ordering::Relaxed,
    );
}
