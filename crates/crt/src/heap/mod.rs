//! `malloc`, `calloc`, `realloc`, `free`: talc over arenas that grow.
//!
//! Every block starts with a 16-byte [`Header`]: the size asked for and a
//! check word computed from the block's address, its size and a heap key.
//! `free` and `realloc` accept a pointer only if it is 16-aligned, its
//! header lies inside one of the heap's arenas, the check word matches and
//! the block ends inside that arena; anything else is refused with a
//! [`Refused`] before talc sees it, so a stray or repeated `free` cannot
//! corrupt the heap. A freed block's check word is replaced by its "freed"
//! form, so a second `free` is recognised as such while the memory stays
//! free (once talc reuses it, it is just "not a heap block"). One limit: a
//! pointer freed, then returned again by `malloc`, is a live block again,
//! and freeing the stale copy frees the new block (no allocator can tell).
//!
//! The heap itself is single-threaded (`&mut self`); [`Locked`] wraps it in
//! a spin lock for programs with threads.

mod arena;
mod lock;
mod refused;

pub use arena::{Grow, MAX_ARENAS, PAGE};
pub use lock::Locked;
pub use refused::{Reason, Refused};

use arena::Arenas;
use core::alloc::Layout;
use core::ptr::{null_mut, NonNull};
use talc::Talc;

/// Every block is aligned to 16 bytes, as MSVC's x64 `malloc` guarantees.
pub const ALIGN: usize = 16;
/// Bytes of header before each block.
pub const HEADER: usize = core::mem::size_of::<Header>();
/// The smallest growth that [`Heap::new`] callers usually want (1 MiB).
pub const DEFAULT_MIN_GROW: usize = 1 << 20;

/// What precedes every block.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct Header {
    /// The size the caller asked for.
    size: usize,
    /// [`check`] of the block, or its `FREED` form once freed.
    check: u64,
}

const KEY: u64 = 0x4665_7272_6974_6521;
const FREED: u64 = 0xdead_f4ee_0bad_f4ee;

/// The check word of a live block at `addr` holding `size` bytes.
fn check(key: u64, addr: usize, size: usize) -> u64 {
    let mut x = key ^ addr as u64 ^ (size as u64).rotate_left(29);
    x ^= x >> 31;
    x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}

/// Figures for a report line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes in live blocks (as asked for, headers not counted).
    pub in_use: usize,
    /// Live blocks.
    pub blocks: usize,
    /// Bytes of address space in arenas.
    pub arena_bytes: usize,
    /// Number of arenas.
    pub arenas: usize,
    /// `free`/`realloc` calls refused for a bad pointer.
    pub refused: usize,
    /// Times the memory source could not grow the heap.
    pub failed_growths: usize,
}

/// A C heap fed by a [`Grow`] source.
pub struct Heap<G: Grow> {
    talc: Talc<Arenas<G>>,
    in_use: usize,
    blocks: usize,
    refused: usize,
}

impl<G: Grow> Heap<G> {
    /// An empty heap; each growth asks `grow` for at least `min_grow`
    /// bytes (and for as much as the heap already has, when it can).
    pub const fn new(grow: G, min_grow: usize) -> Self {
        Self {
            talc: Talc::new(Arenas::new(grow, min_grow)),
            in_use: 0,
            blocks: 0,
            refused: 0,
        }
    }

    fn key(&self) -> u64 {
        KEY ^ self.talc.oom_handler.first_base() as u64
    }

    fn layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
    }

    /// Writes the live header of the block whose talc allocation is `base`.
    ///
    /// # Safety
    /// `base` must be a talc allocation of at least `HEADER` bytes.
    unsafe fn stamp(&mut self, base: NonNull<u8>, size: usize) -> *mut u8 {
        // SAFETY: the allocation starts with room for a header and is
        // 16-aligned (ALIGN); the block follows it.
        unsafe {
            let user = base.as_ptr().add(HEADER);
            let header = Header {
                size,
                check: check(self.key(), user as usize, size),
            };
            base.as_ptr().cast::<Header>().write(header);
            user
        }
    }

    /// `malloc`: a block of `size` bytes (`malloc(0)` gives a unique
    /// pointer too), or null when the memory source is exhausted.
    pub fn malloc(&mut self, size: usize) -> *mut u8 {
        let Some(layout) = Self::layout(size) else {
            return null_mut();
        };
        // SAFETY: the layout is never empty (it holds the header).
        let Ok(base) = (unsafe { self.talc.malloc(layout) }) else {
            return null_mut();
        };
        self.in_use += size;
        self.blocks += 1;
        // SAFETY: `base` was allocated with room for the header.
        unsafe { self.stamp(base, size) }
    }

    /// `calloc`: `n * size` zeroed bytes, or null if the product
    /// overflows or there is no memory.
    pub fn calloc(&mut self, n: usize, size: usize) -> *mut u8 {
        let Some(bytes) = n.checked_mul(size) else {
            return null_mut();
        };
        let p = self.malloc(bytes);
        if !p.is_null() {
            // SAFETY: `p` is a fresh block of `bytes` bytes.
            unsafe { p.write_bytes(0, bytes) };
        }
        p
    }

    /// The size of the live block at `p`, or why `p` is not one. Reads
    /// nothing outside the heap's arenas.
    pub fn block_size(&self, p: *const u8) -> Result<usize, Refused> {
        let addr = p as usize;
        let refuse = |reason| Refused { addr, reason };
        if !addr.is_multiple_of(ALIGN) {
            return Err(refuse(Reason::Misaligned));
        }
        let Some(start) = addr.checked_sub(HEADER) else {
            return Err(refuse(Reason::NotInHeap));
        };
        let Some(end) = self.talc.oom_handler.end_of(start, HEADER) else {
            return Err(refuse(Reason::NotInHeap));
        };
        // SAFETY: the header's 16 bytes lie inside an arena, which is
        // readable memory the heap owns; `start` is 16-aligned.
        let header = unsafe { (start as *const Header).read() };
        let fits = addr.checked_add(header.size).is_some_and(|e| e <= end);
        let live = check(self.key(), addr, header.size);
        match header.check {
            c if c == live && fits => Ok(header.size),
            c if c == live ^ FREED && fits => Err(refuse(Reason::Freed)),
            _ => Err(refuse(Reason::NotABlock)),
        }
    }

    fn refuse(&mut self, r: Refused) -> Refused {
        self.refused += 1;
        r
    }

    /// Frees the live block at `p` (whose size is `size`).
    ///
    /// # Safety
    /// `p` must be a live block of `size` bytes ([`Heap::block_size`]).
    unsafe fn release(&mut self, p: *mut u8, size: usize) {
        // SAFETY: the block's header precedes it; mark it freed, then give
        // talc back the allocation it made with the same layout.
        unsafe {
            let base = p.sub(HEADER);
            let header = base.cast::<Header>();
            (*header).check ^= FREED;
            let layout = Layout::from_size_align_unchecked(size + HEADER, ALIGN);
            self.talc.free(NonNull::new_unchecked(base), layout);
        }
        self.in_use -= size;
        self.blocks -= 1;
    }

    /// `free`: returns the block at `p` to the heap (null is fine). A
    /// pointer that is not a live block is refused and nothing changes.
    ///
    /// # Safety
    /// Once this returns `Ok`, the block's memory must not be used.
    pub unsafe fn free(&mut self, p: *mut u8) -> Result<(), Refused> {
        if p.is_null() {
            return Ok(());
        }
        let size = self.block_size(p).map_err(|r| self.refuse(r))?;
        // SAFETY: `p` was just checked to be a live block of `size` bytes.
        unsafe { self.release(p, size) };
        Ok(())
    }

    /// `realloc`: the block at `p` resized to `size` bytes, keeping its
    /// contents up to the smaller size; in place when talc can. Null `p`
    /// is `malloc(size)`; size 0 frees `p` and gives null. When there is no
    /// memory the result is null and `p` stays as it was. A bad `p` is
    /// refused and nothing changes.
    ///
    /// # Safety
    /// Once this returns `Ok` with a pointer other than `p` (or null for
    /// size 0), the old block's memory must not be used.
    pub unsafe fn realloc(&mut self, p: *mut u8, size: usize) -> Result<*mut u8, Refused> {
        if p.is_null() {
            return Ok(self.malloc(size));
        }
        let old = self.block_size(p).map_err(|r| self.refuse(r))?;
        if size == 0 {
            // SAFETY: `p` is a live block of `old` bytes.
            unsafe { self.release(p, old) };
            return Ok(null_mut());
        }
        let Some(new_layout) = Self::layout(size) else {
            return Ok(null_mut());
        };
        // SAFETY: `p` is live, so `p - HEADER` is talc's allocation, made
        // (or last resized) with this layout; shrinking never fails.
        let in_place = unsafe {
            let base = NonNull::new_unchecked(p.sub(HEADER));
            let old_layout = Layout::from_size_align_unchecked(old + HEADER, ALIGN);
            if new_layout.size() <= old_layout.size() {
                self.talc.shrink(base, old_layout, new_layout.size());
                true
            } else {
                let grown = self.talc.grow_in_place(base, old_layout, new_layout.size());
                grown.is_ok()
            }
        };
        if in_place {
            self.in_use = self.in_use - old + size;
            // SAFETY: talc resized the allocation at `p - HEADER`.
            return Ok(unsafe { self.stamp(NonNull::new_unchecked(p.sub(HEADER)), size) });
        }
        let q = self.malloc(size);
        if !q.is_null() {
            // SAFETY: both blocks are live, distinct, and hold at least
            // `min(old, size)` bytes; then the old one is freed.
            unsafe {
                core::ptr::copy_nonoverlapping(p, q, old.min(size));
                self.release(p, old);
            }
        }
        Ok(q)
    }

    /// The heap's figures now.
    pub fn stats(&self) -> Stats {
        let arenas = &self.talc.oom_handler;
        Stats {
            in_use: self.in_use,
            blocks: self.blocks,
            arena_bytes: arenas.bytes(),
            arenas: arenas.count(),
            refused: self.refused,
            failed_growths: arenas.failed(),
        }
    }
}

#[cfg(test)]
mod tests;
