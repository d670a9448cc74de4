//! Physical page-frame allocator: a two-bitmap allocator over a memory map.
//!
//! # Design
//!
//! The allocator covers the frames between the lowest and the highest
//! usable or bootloader-reclaimable frame of the memory map with two
//! bitmaps, one bit per 4 KiB frame each:
//!
//! | `owned` | `free` | state |
//! |---|---|---|
//! | 1 | 1 | free: `alloc` may hand it out |
//! | 1 | 0 | used: `free` accepts it back |
//! | 0 | 1 | bootloader-reclaimable, released by `reclaim` |
//! | 0 | 0 | reserved: never handed out, never accepted back |
//!
//! So a frame is handed out only if both bits are set, and `alloc` clears
//! `free`: double allocation is impossible by construction, and `free`
//! can tell a double free (already free) from a bogus one (reserved, out of
//! range, unaligned) and refuse both with a [`FrameError`]. `reclaim` needs
//! no memory map, because the bitmap remembers which frames were reclaimable.
//!
//! The allocator never allocates: the kernel gives it the bitmap storage
//! (`2 × ⌈span / 64⌉` words, i.e. 64 KiB per GiB of physical span) as any
//! `AsRef<[u64]> + AsMut<[u64]>` — a `&'static mut [u64]` in the HHDM in the
//! kernel, a `Vec<u64>` in tests. Placing it:
//!
//! ```
//! use frames::{find_storage, FrameAllocator, Region};
//! let map = [Region::from_limine(0x10_0000, 0x80_0000, 0)];
//! let bytes = frames::storage_bytes(map);
//! let at = find_storage(map, bytes).unwrap(); // physical address
//! // The kernel turns `at` into a `&'static mut [u64]` through the HHDM.
//! let storage = vec![0u64; (bytes / 8) as usize];
//! let mut frames = FrameAllocator::new(map, storage).unwrap();
//! frames.claim(at, bytes).unwrap(); // the bitmap's own frames are used
//! assert_ne!(frames.alloc().unwrap(), at);
//! ```
//!
//! Single-frame allocation starts its search at a hint (the word of the
//! last allocation, lowered by frees), so alloc/free pairs are O(1)
//! amortised. Contiguous runs are found by a word-wise scan from the bottom.
//! Frame 0 is never handed out, and memory above 2^52 is ignored.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod allocate;
mod allocator;
mod bitmap;
mod error;
mod layout;
mod region;
mod stats;

pub use allocator::{find_storage, storage_bytes, storage_words, FrameAllocator, FrameState};
pub use error::FrameError;
pub use region::{Region, RegionKind};
pub use stats::FrameStats;

/// Size of a frame: a 4 KiB page (Intel SDM Vol. 3A §4.5).
pub const FRAME_SIZE: u64 = 4096;
