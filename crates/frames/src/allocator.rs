//! The frame allocator: construction from a memory map, state and stats.

use crate::bitmap::{self, for_each_word};
use crate::layout::{self, FrameRange};
use crate::{FrameError, FrameStats, Region, RegionKind, FRAME_SIZE};

/// The state of one physical frame, as the allocator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameState {
    /// `alloc` may hand it out.
    Free,
    /// Handed out (or claimed); `free` accepts it.
    Used,
    /// Bootloader-reclaimable, waiting for [`FrameAllocator::reclaim`].
    Reclaimable,
    /// Never the allocator's: not usable memory, frame 0, or out of range.
    Reserved,
}

/// A bitmap allocator of 4 KiB physical frames; see the crate docs.
///
/// `S` is the bitmap storage: any `[u64]` container, e.g. a
/// `&'static mut [u64]` in the HHDM or a `Vec<u64>` in tests. It must
/// return the same slice on every `as_ref`/`as_mut` call.
pub struct FrameAllocator<S> {
    pub(crate) storage: S,
    /// Words per bitmap; `free` is `storage[..words]`, `owned` the next.
    pub(crate) words: usize,
    /// Frame number of bit 0.
    pub(crate) first_frame: u64,
    /// Frame number one past the last covered frame.
    pub(crate) end_frame: u64,
    /// Word index where the next single-frame search starts.
    pub(crate) hint: usize,
    pub(crate) free_frames: u64,
    pub(crate) owned_frames: u64,
    pub(crate) pending_frames: u64,
    by_kind: [u64; RegionKind::COUNT],
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> FrameAllocator<S> {
    /// Builds the allocator. Usable frames start free; bootloader-reclaimable
    /// ones wait for [`FrameAllocator::reclaim`]. Partial frames at the edges
    /// of usable entries, frame 0, and any frame that a non-usable entry
    /// touches stay reserved (a reserved entry wins over an overlapping
    /// usable one). The first [`storage_words`] words of
    /// `storage` are overwritten; remember to [`FrameAllocator::claim`] the
    /// frames that hold them if they lie in usable memory.
    pub fn new<M>(map: M, mut storage: S) -> Result<Self, FrameError>
    where
        M: IntoIterator<Item = Region>,
        M::IntoIter: Clone,
    {
        let map = map.into_iter();
        let span = layout::span(map.clone());
        let words = layout::words_per_bitmap(span);
        let needed = words.saturating_mul(2);
        let supplied = storage.as_mut().len();
        if supplied < needed {
            return Err(FrameError::StorageTooSmall { needed, supplied });
        }
        let (free, rest) = storage.as_mut()[..needed].split_at_mut(words);
        let owned = &mut rest[..words];
        free.fill(0);
        owned.fill(0);
        let mut by_kind = [0u64; RegionKind::COUNT];
        for r in map.clone() {
            let slot = &mut by_kind[r.kind.index()];
            *slot = slot.saturating_add(r.length);
            if let Some(bits) = bits_in(span, layout::frames_inside(&r)) {
                match r.kind {
                    RegionKind::Usable => {
                        bitmap::set_range(free, bits.first, bits.end);
                        bitmap::set_range(owned, bits.first, bits.end);
                    }
                    RegionKind::BootloaderReclaimable => {
                        bitmap::set_range(free, bits.first, bits.end);
                    }
                    _ => {}
                }
            }
        }
        for r in map.filter(|r| !layout::is_managed(r.kind)) {
            if let Some(bits) = bits_in(span, layout::frames_touched(&r)) {
                bitmap::clear_range(free, bits.first, bits.end);
                bitmap::clear_range(owned, bits.first, bits.end);
            }
        }
        let (mut free_frames, mut owned_frames, mut pending_frames) = (0, 0, 0);
        for (f, o) in free.iter().zip(owned.iter()) {
            free_frames += u64::from((f & o).count_ones());
            owned_frames += u64::from(o.count_ones());
            pending_frames += u64::from((f & !o).count_ones());
        }
        Ok(FrameAllocator {
            storage,
            words,
            first_frame: span.first,
            end_frame: span.end,
            hint: 0,
            free_frames,
            owned_frames,
            pending_frames,
            by_kind,
        })
    }

    /// Releases every bootloader-reclaimable frame to the free pool and
    /// returns how many bytes that added. Call it once the kernel no longer
    /// reads anything the loader left there (the memory map itself lives
    /// there: it is not read by this call). Calling it again returns 0.
    pub fn reclaim(&mut self) -> u64 {
        let (free, owned) = self.bitmaps_mut();
        let mut added = 0u64;
        let mut lowest = None;
        for (i, (f, o)) in free.iter().zip(owned.iter_mut()).enumerate() {
            let pending = *f & !*o;
            if pending != 0 {
                *o |= pending;
                added += u64::from(pending.count_ones());
                lowest.get_or_insert(i);
            }
        }
        self.free_frames += added;
        self.owned_frames += added;
        self.pending_frames -= added;
        if let Some(i) = lowest {
            self.hint = self.hint.min(i);
        }
        added * FRAME_SIZE
    }

    /// Marks the free frames touching `base..base + len` as used, e.g. the
    /// frames holding this allocator's own bitmap. All of them must be free;
    /// otherwise nothing changes and the first offending frame is reported.
    pub fn claim(&mut self, base: u64, len: u64) -> Result<(), FrameError> {
        if len == 0 {
            return Ok(());
        }
        let first = base / FRAME_SIZE;
        let end = base.saturating_add(len).div_ceil(FRAME_SIZE);
        for frame in first..end {
            if self.state_of(frame)? != FrameState::Free {
                return Err(FrameError::NotFree {
                    phys: frame * FRAME_SIZE,
                });
            }
        }
        let (lo, hi) = (first - self.first_frame, end - self.first_frame);
        let (free, _) = self.bitmaps_mut();
        bitmap::clear_range(free, lo, hi);
        self.free_frames -= end - first;
        Ok(())
    }

    /// The state of the frame containing `phys`.
    #[must_use]
    pub fn frame_state(&self, phys: u64) -> FrameState {
        self.state_of(phys / FRAME_SIZE)
            .unwrap_or(FrameState::Reserved)
    }

    /// Physical range `[start, end)` covered by the bitmap; no frame
    /// outside it is ever free.
    #[must_use]
    pub fn managed_range(&self) -> (u64, u64) {
        (self.first_frame * FRAME_SIZE, self.end_frame * FRAME_SIZE)
    }

    /// Current byte counts; see [`FrameStats`] for the invariants.
    #[must_use]
    pub fn stats(&self) -> FrameStats {
        let total = self.by_kind.iter().fold(0u64, |a, b| a.saturating_add(*b));
        let managed = (self.owned_frames + self.pending_frames) * FRAME_SIZE;
        FrameStats {
            total,
            free: self.free_frames * FRAME_SIZE,
            used: (self.owned_frames - self.free_frames) * FRAME_SIZE,
            reclaimable: self.pending_frames * FRAME_SIZE,
            // Never negative: managed frames lie inside usable and
            // reclaimable entries, whose lengths are part of `total`.
            reserved: total.saturating_sub(managed),
            by_kind: self.by_kind,
        }
    }

    /// The state of frame number `frame`; `Err(OutOfRange)` outside the span.
    pub(crate) fn state_of(&self, frame: u64) -> Result<FrameState, FrameError> {
        if frame < self.first_frame || frame >= self.end_frame {
            return Err(FrameError::OutOfRange {
                phys: frame.saturating_mul(FRAME_SIZE),
            });
        }
        let bit = frame - self.first_frame;
        let (free, owned) = self.bitmaps();
        Ok(match (bitmap::get(owned, bit), bitmap::get(free, bit)) {
            (true, true) => FrameState::Free,
            (true, false) => FrameState::Used,
            (false, true) => FrameState::Reclaimable,
            (false, false) => FrameState::Reserved,
        })
    }

    /// The `free` and `owned` bitmaps.
    pub(crate) fn bitmaps(&self) -> (&[u64], &[u64]) {
        let s = self.storage.as_ref();
        (&s[..self.words], &s[self.words..2 * self.words])
    }

    /// The `free` and `owned` bitmaps, mutably.
    pub(crate) fn bitmaps_mut(&mut self) -> (&mut [u64], &mut [u64]) {
        let words = self.words;
        let (free, rest) = self.storage.as_mut().split_at_mut(words);
        (free, &mut rest[..words])
    }

    /// Calls `f(word, mask)` for the bitmap words covering frames
    /// `first..end` (which must lie inside the span).
    pub(crate) fn for_each_word(&self, first: u64, end: u64, f: impl FnMut(usize, u64)) {
        for_each_word(first - self.first_frame, end - self.first_frame, f);
    }
}

/// Number of `u64` words of storage [`FrameAllocator::new`] needs for `map`
/// (two bits per frame between the lowest and the highest usable or
/// bootloader-reclaimable frame).
#[must_use]
pub fn storage_words<M: IntoIterator<Item = Region>>(map: M) -> usize {
    layout::words_per_bitmap(layout::span(map.into_iter())).saturating_mul(2)
}

/// [`storage_words`] in bytes.
#[must_use]
pub fn storage_bytes<M: IntoIterator<Item = Region>>(map: M) -> u64 {
    (storage_words(map) as u64).saturating_mul(8)
}

/// Picks a place for the bitmap: the start of the first usable entry at or
/// above 1 MiB with `bytes` of whole frames (falling back to any usable
/// entry). Returns a 4 KiB-aligned physical address, or `None`.
#[must_use]
pub fn find_storage<M>(map: M, bytes: u64) -> Option<u64>
where
    M: IntoIterator<Item = Region>,
    M::IntoIter: Clone,
{
    const LOW_MEMORY: u64 = 0x10_0000;
    let frames = bytes.div_ceil(FRAME_SIZE);
    let map = map.into_iter();
    let fits = |r: &Region, floor: u64| {
        if r.kind != RegionKind::Usable || r.end() <= floor {
            return None;
        }
        let clipped = Region {
            base: r.base.max(floor),
            length: r.end() - r.base.max(floor),
            kind: r.kind,
        };
        let f = layout::frames_inside(&clipped);
        (f.end - f.first >= frames && f.first < f.end).then_some(f.first * FRAME_SIZE)
    };
    map.clone()
        .find_map(|r| fits(&r, LOW_MEMORY))
        .or_else(|| map.clone().find_map(|r| fits(&r, 0)))
}

/// Bit range of `frames` within `span`, or `None` if they do not overlap.
fn bits_in(span: FrameRange, frames: FrameRange) -> Option<FrameRange> {
    let first = frames.first.max(span.first);
    let end = frames.end.min(span.end);
    (first < end).then(|| FrameRange {
        first: first - span.first,
        end: end - span.first,
    })
}
