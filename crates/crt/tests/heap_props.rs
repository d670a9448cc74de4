//! The heap under random malloc/calloc/realloc/free sequences, bad frees
//! included, and under threads.
//!
//! After every step: live blocks are 16-aligned, never overlap (headers
//! included), keep their contents, and the heap's counts match the
//! model's. talc's own consistency scan runs inside every call too (talc
//! 4 does it in builds with debug assertions, as tests are).

use crt::heap::{Grow, Heap, Locked, Reason, ALIGN, HEADER, PAGE};
use proptest::prelude::*;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::{null_mut, NonNull};

/// Zeroed host memory, up to a limit, freed when the heap is dropped.
struct HostGrow {
    left: usize,
    regions: Vec<(*mut u8, Layout)>,
}

impl HostGrow {
    fn new(limit: usize) -> Self {
        Self {
            left: limit,
            regions: Vec::new(),
        }
    }
}

// SAFETY: the regions are only handed to the heap; the heap's lock keeps
// them to one thread at a time.
unsafe impl Send for HostGrow {}

// SAFETY: each region is a fresh, zeroed, page-aligned host allocation of
// `bytes`, freed only when the source (so the heap) is dropped.
unsafe impl Grow for HostGrow {
    fn grow(&mut self, bytes: usize) -> Option<NonNull<u8>> {
        self.left = self.left.checked_sub(bytes)?;
        let layout = Layout::from_size_align(bytes, PAGE).ok()?;
        // SAFETY: the layout is not empty.
        let p = unsafe { alloc_zeroed(layout) };
        self.regions.push((p, layout));
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

#[derive(Clone, Debug)]
enum Op {
    Malloc(usize),
    Calloc(usize, usize),
    Realloc(usize, usize),
    Free(usize),
    /// Free (or realloc) a pointer that is not a live block: 0 stale,
    /// 1 inside a live block, 2 misaligned, 3 outside the heap.
    Bad(u8, usize, bool),
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..200, 3 => 0usize..5000, 1 => 0usize..300_000]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => size().prop_map(Op::Malloc),
        1 => (0usize..100, 0usize..100).prop_map(|(n, s)| Op::Calloc(n, s)),
        3 => (any::<usize>(), size()).prop_map(|(i, s)| Op::Realloc(i, s)),
        3 => any::<usize>().prop_map(Op::Free),
        2 => (0u8..4, any::<usize>(), any::<bool>()).prop_map(|(k, i, r)| Op::Bad(k, i, r)),
    ]
}

/// A live block of the model: where, how big, the byte it is filled with.
#[derive(Clone, Copy, Debug)]
struct Block {
    p: *mut u8,
    size: usize,
    fill: u8,
}

fn fill(b: Block) {
    // SAFETY: a live block of `size` bytes.
    unsafe { b.p.write_bytes(b.fill, b.size) };
}

fn intact(b: Block, n: usize) -> bool {
    // SAFETY: a live block of at least `n` bytes.
    unsafe { std::slice::from_raw_parts(b.p, n) }
        .iter()
        .all(|&x| x == b.fill)
}

fn check(heap: &Heap<HostGrow>, live: &[Block]) -> Result<(), TestCaseError> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for b in live {
        prop_assert_eq!(b.p as usize % ALIGN, 0);
        prop_assert!(intact(*b, b.size), "contents of {:?}", b);
        prop_assert_eq!(heap.block_size(b.p), Ok(b.size));
        spans.push((b.p as usize - HEADER, b.p as usize + b.size.max(1)));
    }
    spans.sort();
    for w in spans.windows(2) {
        prop_assert!(w[0].1 <= w[1].0, "overlap {:x?}", w);
    }
    let s = heap.stats();
    prop_assert_eq!(s.blocks, live.len());
    prop_assert_eq!(s.in_use, live.iter().map(|b| b.size).sum::<usize>());
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut heap = Heap::new(HostGrow::new(256 << 20), 64 << 10);
    let mut live: Vec<Block> = Vec::new();
    let mut stale: Vec<*mut u8> = Vec::new();
    let mut refused = 0;
    let mut outside = [0u128; 4];
    for (n, op) in ops.into_iter().enumerate() {
        let fill_byte = (n % 251) as u8 + 1;
        match op {
            Op::Malloc(size) => {
                let p = heap.malloc(size);
                prop_assert!(!p.is_null());
                let b = Block {
                    p,
                    size,
                    fill: fill_byte,
                };
                fill(b);
                live.push(b);
            }
            Op::Calloc(count, each) => {
                let p = heap.calloc(count, each);
                prop_assert!(!p.is_null());
                let b = Block {
                    p,
                    size: count * each,
                    fill: 0,
                };
                prop_assert!(intact(b, b.size), "calloc not zeroed");
                live.push(b);
            }
            Op::Realloc(i, size) if !live.is_empty() => {
                let old = live.swap_remove(i % live.len());
                // SAFETY: a live block; the model drops it when it moves.
                let q = unsafe { heap.realloc(old.p, size) };
                prop_assert!(q.is_ok());
                let q = q.unwrap();
                if size == 0 {
                    prop_assert!(q.is_null());
                    stale.push(old.p);
                } else {
                    prop_assert!(!q.is_null());
                    let b = Block {
                        p: q,
                        size,
                        fill: old.fill,
                    };
                    prop_assert!(intact(b, old.size.min(size)), "realloc lost data");
                    if q != old.p {
                        stale.push(old.p);
                    }
                    let b = Block {
                        fill: fill_byte,
                        ..b
                    };
                    fill(b);
                    live.push(b);
                }
            }
            Op::Free(i) if !live.is_empty() => {
                let b = live.swap_remove(i % live.len());
                // SAFETY: a live block, dropped from the model.
                prop_assert_eq!(unsafe { heap.free(b.p) }, Ok(()));
                stale.push(b.p);
            }
            Op::Bad(kind, i, use_realloc) => {
                let (bad, want) = match kind {
                    0 if !stale.is_empty() => (stale[i % stale.len()], None),
                    1 if !live.is_empty() => {
                        let b = live[i % live.len()];
                        let inside = ALIGN * (1 + i % (b.size / ALIGN).max(1));
                        (b.p.wrapping_add(inside), Some(Reason::NotABlock))
                    }
                    2 if !live.is_empty() => {
                        let b = live[i % live.len()];
                        (b.p.wrapping_add(1 + i % 15), Some(Reason::Misaligned))
                    }
                    _ => {
                        let p = outside.as_mut_ptr().cast::<u8>();
                        (p.wrapping_add(16), Some(Reason::NotInHeap))
                    }
                };
                // A stale pointer that malloc has handed out again is a
                // live block once more: not a bad pointer.
                if live.iter().any(|b| b.p == bad) {
                    continue;
                }
                // SAFETY: `bad` is not a live block, so this must be refused.
                let r = unsafe {
                    if use_realloc {
                        heap.realloc(bad, 64).map(|_| ())
                    } else {
                        heap.free(bad)
                    }
                };
                let err = r.err();
                prop_assert!(err.is_some(), "{:?} accepted {:p}", op, bad);
                let reason = err.unwrap().reason;
                if let Some(want) = want {
                    prop_assert_eq!(reason, want);
                }
                refused += 1;
            }
            _ => {}
        }
        check(&heap, &live)?;
    }
    prop_assert_eq!(heap.stats().refused, refused);
    for b in live.drain(..) {
        // SAFETY: live blocks, freed once.
        prop_assert_eq!(unsafe { heap.free(b.p) }, Ok(()));
    }
    prop_assert_eq!(heap.stats().in_use, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_sequences_keep_the_heap_sound(ops in prop::collection::vec(op(), 1..120)) {
        run(ops)?;
    }
}

#[test]
fn threads_share_one_heap() {
    let heap = Locked::new(Heap::new(HostGrow::new(256 << 20), 1 << 20));
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let heap = &heap;
            s.spawn(move || {
                let mut mine: Vec<Block> = Vec::new();
                for i in 0..3000usize {
                    let size = (i * 37 + usize::from(t) * 11) % 700;
                    if i % 3 == 2 && !mine.is_empty() {
                        let b = mine.swap_remove(i % mine.len());
                        assert!(intact(b, b.size), "thread {t} lost data");
                        // SAFETY: this thread's live block.
                        heap.with(|h| unsafe { h.free(b.p) }).unwrap();
                    } else {
                        let p = heap.with(|h| h.malloc(size));
                        assert!(!p.is_null());
                        let b = Block {
                            p,
                            size,
                            fill: t + 1,
                        };
                        fill(b);
                        mine.push(b);
                    }
                }
                for b in mine {
                    assert!(intact(b, b.size));
                    // SAFETY: this thread's live block.
                    heap.with(|h| unsafe { h.free(b.p) }).unwrap();
                }
            });
        }
    });
    let s = heap.with(|h| h.stats());
    assert_eq!((s.in_use, s.blocks, s.refused), (0, 0, 0));
    // A bad free through the lock is refused too.
    let mut x = 0u64;
    let bad = (&raw mut x).cast::<u8>();
    // SAFETY: refused: `x` is not a heap block.
    assert!(heap.with(|h| unsafe { h.free(bad) }).is_err());
    assert!(!heap.with(|h| h.malloc(8)).is_null());
}

#[test]
fn realloc_of_null_and_size_zero() {
    let mut heap = Heap::new(HostGrow::new(8 << 20), 1 << 20);
    // SAFETY: the pointers passed are null or live.
    unsafe {
        let p = heap.realloc(null_mut(), 10).unwrap();
        assert!(!p.is_null());
        assert_eq!(heap.realloc(p, 0), Ok(null_mut()));
        assert_eq!(heap.stats().blocks, 0);
    }
}
