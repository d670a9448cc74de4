//! Byte counts that describe the allocator's state.

use crate::RegionKind;

/// What the allocator's memory is doing, in bytes.
///
/// Invariants: `free + used + reclaimable + reserved == total`, and `total`
/// is the sum of `by_kind` (the raw lengths of the memory map's entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameStats {
    /// Sum of the lengths of all memory-map entries.
    pub total: u64,
    /// Frames that `alloc` can hand out now.
    pub free: u64,
    /// Frames handed out (including ones taken with `claim`).
    pub used: u64,
    /// Bootloader-reclaimable frames not yet released by `reclaim`.
    pub reclaimable: u64,
    /// Everything else: non-usable kinds, partial frames at the edges of
    /// usable entries, frame 0, and frames covered by a reserved entry.
    pub reserved: u64,
    /// Bytes per memory-map kind, indexed by [`RegionKind::index`].
    pub by_kind: [u64; RegionKind::COUNT],
}

impl FrameStats {
    /// Bytes the memory map lists for `kind`.
    #[must_use]
    pub const fn bytes_of(&self, kind: RegionKind) -> u64 {
        self.by_kind[kind.index()]
    }
}
