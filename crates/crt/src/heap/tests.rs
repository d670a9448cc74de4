//! Unit tests of the heap over host memory.

use super::*;
use std::alloc::{alloc_zeroed, dealloc};

/// Hands out zeroed host memory, up to `limit` bytes in all.
struct HostGrow {
    limit: usize,
    given: usize,
    regions: Vec<(*mut u8, Layout)>,
    asked: Vec<usize>,
}

impl HostGrow {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            given: 0,
            regions: Vec::new(),
            asked: Vec::new(),
        }
    }
}

// SAFETY: each region is a fresh host allocation of `bytes`, 4096-aligned,
// freed only when the source (and so the heap) is dropped.
unsafe impl Grow for HostGrow {
    fn grow(&mut self, bytes: usize) -> Option<NonNull<u8>> {
        self.asked.push(bytes);
        if self.given + bytes > self.limit {
            return None;
        }
        let layout = Layout::from_size_align(bytes, PAGE).ok()?;
        // SAFETY: the layout is not empty.
        let p = unsafe { alloc_zeroed(layout) };
        self.regions.push((p, layout));
        self.given += bytes;
        NonNull::new(p)
    }
}

impl Drop for HostGrow {
    fn drop(&mut self) {
        for &(p, layout) in &self.regions {
            // SAFETY: allocated in `grow` with this layout.
            unsafe { dealloc(p, layout) };
        }
    }
}

fn heap(limit: usize, min_grow: usize) -> Heap<HostGrow> {
    Heap::new(HostGrow::new(limit), min_grow)
}

fn fill(p: *mut u8, n: usize, v: u8) {
    // SAFETY: tests pass blocks of at least n bytes.
    unsafe { p.write_bytes(v, n) };
}

fn all(p: *const u8, n: usize, v: u8) -> bool {
    // SAFETY: tests pass blocks of at least n bytes.
    unsafe { std::slice::from_raw_parts(p, n) }
        .iter()
        .all(|&b| b == v)
}

#[test]
fn malloc_aligns_and_counts() {
    let mut h = heap(16 << 20, DEFAULT_MIN_GROW);
    let a = h.malloc(1);
    let b = h.malloc(100);
    let z = h.malloc(0);
    for p in [a, b, z] {
        assert!(!p.is_null());
        assert_eq!(p as usize % ALIGN, 0);
    }
    assert_ne!(z, a);
    assert_eq!(h.block_size(b), Ok(100));
    assert_eq!(h.block_size(z), Ok(0));
    let s = h.stats();
    assert_eq!((s.in_use, s.blocks, s.arenas), (101, 3, 1));
    assert_eq!(s.arena_bytes, DEFAULT_MIN_GROW);
    // SAFETY: live blocks, not used afterwards.
    unsafe {
        assert_eq!(h.free(a), Ok(()));
        assert_eq!(h.free(b), Ok(()));
        assert_eq!(h.free(z), Ok(()));
        assert_eq!(h.free(null_mut()), Ok(()));
    }
    assert_eq!(h.stats().in_use, 0);
    assert_eq!(h.stats().blocks, 0);
}

#[test]
fn calloc_zeroes_reused_memory_and_checks_overflow() {
    let mut h = heap(16 << 20, DEFAULT_MIN_GROW);
    let p = h.malloc(4096);
    fill(p, 4096, 0xa5);
    // SAFETY: live block.
    unsafe { h.free(p).unwrap() };
    let q = h.calloc(64, 64);
    assert_eq!(q, p, "talc hands the same memory back");
    assert!(all(q, 4096, 0));
    assert!(h.calloc(usize::MAX / 2, 3).is_null());
    assert!(h.calloc(1 << 40, 1 << 40).is_null());
    assert!(h.malloc(usize::MAX - 8).is_null());
    assert_eq!(h.stats().blocks, 1);
}

#[test]
fn realloc_keeps_contents_in_place_and_when_moving() {
    let mut h = heap(64 << 20, DEFAULT_MIN_GROW);
    // SAFETY: every pointer passed is live; stale ones are not used.
    unsafe {
        let p = h.realloc(null_mut(), 64).unwrap();
        fill(p, 64, 7);
        // Shrinking stays in place.
        let q = h.realloc(p, 32).unwrap();
        assert_eq!(q, p);
        assert_eq!(h.block_size(q), Ok(32));
        assert!(all(q, 32, 7));
        // Nothing follows the block, so it grows in place.
        let r = h.realloc(q, 1000).unwrap();
        assert_eq!(r, q);
        assert!(all(r, 32, 7));
        fill(r, 1000, 9);
        // A neighbour forces a move.
        let wall = h.malloc(16);
        let s = h.realloc(r, 5000).unwrap();
        assert_ne!(s, r);
        assert!(all(s, 1000, 9));
        assert!(h.block_size(r).is_err(), "the old block is gone");
        assert_eq!(h.stats().in_use, 5016);
        // Size 0 frees.
        assert_eq!(h.realloc(s, 0), Ok(null_mut()));
        assert_eq!(h.stats().blocks, 1);
        h.free(wall).unwrap();
    }
}

#[test]
fn failed_growth_gives_null_and_leaves_blocks_alone() {
    let mut h = heap(2 << 20, DEFAULT_MIN_GROW);
    let p = h.malloc(1000);
    fill(p, 1000, 3);
    assert!(h.malloc(3 << 20).is_null());
    // SAFETY: `p` is live; a failed realloc leaves it so.
    unsafe {
        assert_eq!(h.realloc(p, 4 << 20), Ok(null_mut()));
        assert_eq!(h.block_size(p), Ok(1000));
        assert!(all(p, 1000, 3));
    }
    assert!(h.stats().failed_growths >= 2);
    assert!(!h.malloc(500 << 10).is_null(), "the 2 MiB still serve");
}

#[test]
fn growth_doubles_then_falls_back_to_just_enough() {
    let mut h = heap(7 << 20, DEFAULT_MIN_GROW);
    let mut blocks = 0;
    while !h.malloc(256 << 10).is_null() {
        blocks += 1;
    }
    // 1 MiB, then 1 MiB (doubling to 2), then 2 MiB (to 4), then 4 MiB
    // would pass the limit, so 1 MiB (to 5), then 1 MiB (to 6): 6 arenas.
    let src = &h.talc.oom_handler.grow();
    assert_eq!(src.asked[..4], [1 << 20, 1 << 20, 2 << 20, 4 << 20]);
    assert_eq!(h.stats().arena_bytes, src.given);
    assert!(h.stats().arena_bytes > 5 << 20);
    assert!(blocks >= 20, "{blocks}");
    // A block bigger than min_grow gets an arena big enough for it.
    let mut h = heap(64 << 20, 64 << 10);
    let p = h.malloc(3 << 20);
    assert!(!p.is_null());
    assert_eq!(h.stats().arenas, 1);
}

#[test]
fn bad_pointers_are_refused_and_change_nothing() {
    let mut h = heap(16 << 20, DEFAULT_MIN_GROW);
    let p = h.malloc(256);
    let q = h.malloc(256);
    fill(q, 256, 0x11);
    let before = h.stats();
    let mut local = [0u8; 64];
    let stack = local.as_mut_ptr();
    let cases: [(*mut u8, Reason); 5] = [
        (p.wrapping_add(1), Reason::Misaligned),
        (p.wrapping_add(16), Reason::NotABlock),
        (p.wrapping_add(1 << 19), Reason::NotABlock),
        (16 as *mut u8, Reason::NotInHeap),
        (
            stack.wrapping_add(16 - stack as usize % 16),
            Reason::NotInHeap,
        ),
    ];
    // SAFETY: every call is refused (asserted), so nothing is freed.
    unsafe {
        for (bad, reason) in cases {
            let want = Err(Refused {
                addr: bad as usize,
                reason,
            });
            assert_eq!(h.free(bad), want, "free {bad:p}");
            assert_eq!(h.realloc(bad, 8), want.map(|()| null_mut()), "realloc");
        }
        // A header-shaped lie: the right size, a wrong check word.
        p.cast::<usize>().write(64);
        assert_eq!(
            h.free(p.wrapping_add(16)).unwrap_err().reason,
            Reason::NotABlock
        );
    }
    let after = h.stats();
    assert_eq!(after.refused, before.refused + 11);
    assert_eq!((after.in_use, after.blocks), (before.in_use, before.blocks));
    assert!(all(q, 256, 0x11));
    // SAFETY: live blocks.
    unsafe {
        h.free(p).unwrap();
        h.free(q).unwrap();
    }
}

#[test]
fn double_free_is_refused() {
    let mut h = heap(16 << 20, DEFAULT_MIN_GROW);
    let a = h.malloc(100);
    let b = h.malloc(100);
    let c = h.malloc(100);
    // SAFETY: the second free of each block is refused (asserted).
    unsafe {
        h.free(a).unwrap();
        // `b` merges into the gap `a` left, so its header survives.
        h.free(b).unwrap();
        assert_eq!(h.free(b).unwrap_err().reason, Reason::Freed);
        // `a` heads the gap: talc's free-list node overwrote the header.
        assert!(h.free(a).is_err());
        assert!(h.realloc(a, 10).is_err());
        assert_eq!(h.stats().blocks, 1);
        let d = h.malloc(50);
        assert!(!d.is_null());
        h.free(c).unwrap();
        h.free(d).unwrap();
    }
    assert_eq!(h.stats().refused, 3);
    assert_eq!(h.stats().blocks, 0);
}

#[test]
fn report_line() {
    let r = Refused {
        addr: 0x1234_5670,
        reason: Reason::NotABlock,
    };
    let mut buf = [0u8; 96];
    assert_eq!(
        r.line("free", &mut buf),
        b"free: not a heap block 0x0000000012345670\n"
    );
    let mut short = [0u8; 10];
    assert_eq!(r.line("realloc", &mut short), b"realloc: n");
}

#[test]
fn a_forged_header_must_also_fit_its_arena() {
    let mut h = heap(16 << 20, DEFAULT_MIN_GROW);
    let p = h.malloc(64);
    let fake = p.wrapping_add(32);
    let end = h.talc.oom_handler.end_of(p as usize, 1).unwrap();
    let too_big = end - fake as usize + 1;
    // SAFETY: the forged header lies inside block `p` (bytes 16..32).
    unsafe {
        let header = Header {
            size: too_big,
            check: check(h.key(), fake as usize, too_big),
        };
        p.add(16).cast::<Header>().write(header);
        assert_eq!(h.free(fake).unwrap_err().reason, Reason::NotABlock);
        let fits = too_big - 1;
        let header = Header {
            size: fits,
            check: check(h.key(), fake as usize, fits),
        };
        p.add(16).cast::<Header>().write(header);
        assert_eq!(h.block_size(fake), Ok(fits), "a perfect forgery passes");
        h.free(p).unwrap();
    }
}
