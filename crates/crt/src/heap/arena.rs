//! Where malloc's memory comes from: arenas obtained through [`Grow`].
//!
//! talc asks for memory when it has none that fits (its OOM handler);
//! the heap then asks its [`Grow`] source for a fresh region and claims it
//! as one more arena. Arenas are never given back. The list of arenas is
//! also what tells a heap pointer from any other address.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use talc::{OomHandler, Span, Talc};

/// Growth is asked for in whole pages.
pub const PAGE: usize = 4096;
/// The most arenas a heap keeps; growth fails once they are all in use.
pub const MAX_ARENAS: usize = 64;

/// A supplier of fresh memory for a heap (the kernel in runtime.dll, a
/// host buffer in tests).
///
/// # Safety
/// A region returned by [`Grow::grow`] must be `bytes` long, readable and
/// writable, aligned to 16, used by nothing else, and stay so for as long
/// as the heap exists. `grow` must not call back into the heap it feeds.
pub unsafe trait Grow {
    /// A fresh region of exactly `bytes` bytes (a multiple of [`PAGE`]),
    /// or `None` if there is no more.
    fn grow(&mut self, bytes: usize) -> Option<NonNull<u8>>;
}

#[derive(Clone, Copy, Debug, Default)]
struct Arena {
    base: usize,
    end: usize,
}

/// The arenas of one heap and the source of new ones: talc's OOM handler.
pub struct Arenas<G> {
    grow: G,
    min_grow: usize,
    list: [Arena; MAX_ARENAS],
    count: usize,
    bytes: usize,
    failed: usize,
}

impl<G> fmt::Debug for Arenas<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arenas")
            .field("list", &&self.list[..self.count])
            .field("bytes", &self.bytes)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<G> Arenas<G> {
    /// No arenas yet; each growth asks for at least `min_grow` bytes.
    pub const fn new(grow: G, min_grow: usize) -> Self {
        Self {
            grow,
            min_grow,
            list: [Arena { base: 0, end: 0 }; MAX_ARENAS],
            count: 0,
            bytes: 0,
            failed: 0,
        }
    }

    /// The end of the arena that holds all of `start..start + len`, if one
    /// does.
    pub fn end_of(&self, start: usize, len: usize) -> Option<usize> {
        let last = start.checked_add(len)?;
        self.list[..self.count]
            .iter()
            .find(|a| a.base <= start && last <= a.end)
            .map(|a| a.end)
    }

    /// The memory source.
    #[cfg(test)]
    pub fn grow(&self) -> &G {
        &self.grow
    }

    /// The start of the first arena (0 before any).
    pub fn first_base(&self) -> usize {
        self.list[0].base
    }

    /// Bytes of address space claimed so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of arenas.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Growths the source refused (or that the arena list had no room for).
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// The sizes to ask for when `need` more bytes are needed: first a
    /// doubling of the heap (at least `min_grow`), then just enough.
    fn plan(&self, need: usize) -> Option<[usize; 2]> {
        let round = |n: usize| n.checked_next_multiple_of(PAGE);
        let small = round(need.max(self.min_grow))?;
        let big = round(small.max(self.bytes)).unwrap_or(small);
        Some([big, small])
    }
}

/// Room for talc's own bookkeeping: its tags and, in the first arena, its
/// bins (about 1 KiB).
const OVERHEAD: usize = 4096;

impl<G: Grow> OomHandler for Arenas<G> {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let need = layout.size().saturating_add(layout.align() + OVERHEAD);
        let source = &mut talc.oom_handler;
        let plan = source.plan(need).filter(|_| source.count < MAX_ARENAS);
        let Some(plan) = plan else {
            source.failed += 1;
            return Err(());
        };
        for (i, bytes) in plan.into_iter().enumerate() {
            if i == 1 && bytes == plan[0] {
                break;
            }
            let Some(base) = source.grow.grow(bytes) else {
                continue;
            };
            let span = Span::from_base_size(base.as_ptr(), bytes);
            // SAFETY: `Grow` gives the region to the heap alone, writable,
            // for the heap's life (its contract), which is talc's rule; a
            // fresh region overlaps no other arena.
            if unsafe { talc.claim(span) }.is_err() {
                break;
            }
            let source = &mut talc.oom_handler;
            let base = base.as_ptr() as usize;
            source.list[source.count] = Arena {
                base,
                end: base + bytes,
            };
            source.count += 1;
            source.bytes += bytes;
            return Ok(());
        }
        talc.oom_handler.failed += 1;
        Err(())
    }
}
