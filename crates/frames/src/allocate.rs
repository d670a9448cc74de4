//! Handing out and taking back frames: single frames and contiguous runs.

use crate::allocator::{FrameAllocator, FrameState};
use crate::{bitmap, FrameError, FRAME_SIZE};

impl<S: AsRef<[u64]> + AsMut<[u64]>> FrameAllocator<S> {
    /// Hands out one free 4 KiB frame and returns its physical address.
    ///
    /// The search starts at a hint (the lowest word that was last seen with
    /// a free frame), so alloc/free pairs cost O(1) amortised. Prefers low
    /// addresses otherwise. The frame's contents are whatever was there.
    pub fn alloc(&mut self) -> Result<u64, FrameError> {
        if self.free_frames == 0 {
            return Err(FrameError::OutOfFrames);
        }
        let words = self.words;
        let start = self.hint;
        let (free, owned) = self.bitmaps_mut();
        let mut i = start;
        loop {
            let avail = free[i] & owned[i];
            if avail != 0 {
                let bit = avail.trailing_zeros();
                free[i] &= !(1u64 << bit);
                self.hint = i;
                self.free_frames -= 1;
                let frame = self.first_frame + i as u64 * 64 + u64::from(bit);
                return Ok(frame * FRAME_SIZE);
            }
            i += 1;
            if i == words {
                i = 0;
            }
            if i == start {
                // Unreachable while `free_frames` is kept exact.
                return Err(FrameError::OutOfFrames);
            }
        }
    }

    /// Hands out `count` physically contiguous free frames whose first
    /// address is a multiple of `align` (a power of two, at least 4 KiB),
    /// lowest address first. Free them with [`FrameAllocator::free_contiguous`]
    /// or one by one with [`FrameAllocator::free`].
    pub fn alloc_contiguous(&mut self, count: usize, align: u64) -> Result<u64, FrameError> {
        if count == 0 {
            return Err(FrameError::ZeroCount);
        }
        if !align.is_power_of_two() || align < FRAME_SIZE {
            return Err(FrameError::BadAlignment { align });
        }
        let count = count as u64;
        if count > self.free_frames {
            return Err(FrameError::OutOfFrames);
        }
        let step = align / FRAME_SIZE;
        let mut start = self.first_frame.next_multiple_of(step);
        while let Some(end) = start.checked_add(count).filter(|e| *e <= self.end_frame) {
            match self.first_unavailable(start, end) {
                None => {
                    let (lo, hi) = (start - self.first_frame, end - self.first_frame);
                    let (free, _) = self.bitmaps_mut();
                    bitmap::clear_range(free, lo, hi);
                    self.free_frames -= count;
                    return Ok(start * FRAME_SIZE);
                }
                Some(busy) => match (busy + 1).checked_next_multiple_of(step) {
                    Some(next) => start = next,
                    None => break,
                },
            }
        }
        Err(FrameError::OutOfFrames)
    }

    /// Takes back one frame handed out by `alloc`, `alloc_contiguous` or
    /// `claim`. Anything else is refused with a typed error and no change.
    pub fn free(&mut self, phys: u64) -> Result<(), FrameError> {
        self.free_contiguous(phys, 1)
    }

    /// Takes back `count` frames starting at `phys`. Every frame must be in
    /// use; otherwise nothing changes and the first offending frame is
    /// reported.
    pub fn free_contiguous(&mut self, phys: u64, count: usize) -> Result<(), FrameError> {
        if count == 0 {
            return Err(FrameError::ZeroCount);
        }
        if !phys.is_multiple_of(FRAME_SIZE) {
            return Err(FrameError::Unaligned { phys });
        }
        let first = phys / FRAME_SIZE;
        let end = first.saturating_add(count as u64);
        for frame in first..end {
            match self.state_of(frame)? {
                FrameState::Used => {}
                FrameState::Free => {
                    return Err(FrameError::DoubleFree {
                        phys: frame * FRAME_SIZE,
                    })
                }
                FrameState::Reclaimable | FrameState::Reserved => {
                    return Err(FrameError::Reserved {
                        phys: frame * FRAME_SIZE,
                    })
                }
            }
        }
        let (lo, hi) = (first - self.first_frame, end - self.first_frame);
        let (free, _) = self.bitmaps_mut();
        bitmap::set_range(free, lo, hi);
        self.free_frames += end - first;
        self.hint = self.hint.min((lo / 64) as usize);
        Ok(())
    }

    /// The first frame in `first..end` (inside the span) that is not free.
    fn first_unavailable(&self, first: u64, end: u64) -> Option<u64> {
        let (free, owned) = self.bitmaps();
        let mut found = None;
        self.for_each_word(first, end, |w, mask| {
            let missing = !(free[w] & owned[w]) & mask;
            if found.is_none() && missing != 0 {
                found = Some(w as u64 * 64 + u64::from(missing.trailing_zeros()));
            }
        });
        found.map(|bit| self.first_frame + bit)
    }
}
