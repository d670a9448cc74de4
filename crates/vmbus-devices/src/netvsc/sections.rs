//! Allocation of send-buffer sections (§6.5: section i starts at i × size).

use alloc::vec;
use alloc::vec::Vec;

/// Most send sections tracked, whatever buffer and section size say.
pub const MAX_SEND_SECTIONS: usize = 1024;

/// A bitmap of the send buffer's sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sections {
    used: Vec<u64>,
    count: usize,
    size: u32,
}

impl Sections {
    /// Sections of `size` bytes carved from a `buffer_len`-byte buffer,
    /// capped at [`MAX_SEND_SECTIONS`]. None if not even one fits.
    pub fn new(buffer_len: u32, size: u32) -> Option<Self> {
        if size == 0 {
            return None;
        }
        let count = ((buffer_len / size) as usize).min(MAX_SEND_SECTIONS);
        if count == 0 {
            return None;
        }
        Some(Self {
            used: vec![0; count.div_ceil(64)],
            count,
            size,
        })
    }

    /// Number of sections.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Bytes per section.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Sections in use.
    pub fn in_use(&self) -> usize {
        self.used.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Takes a free section.
    pub fn alloc(&mut self) -> Option<u32> {
        for (w, word) in self.used.iter_mut().enumerate() {
            let free = !*word;
            if free == 0 {
                continue;
            }
            let bit = free.trailing_zeros() as usize;
            let index = w * 64 + bit;
            if index >= self.count {
                return None;
            }
            *word |= 1 << bit;
            return Some(index as u32);
        }
        None
    }

    /// Returns a section; false if it was not in use.
    pub fn free(&mut self, index: u32) -> bool {
        let i = index as usize;
        if i >= self.count {
            return false;
        }
        let (w, bit) = (i / 64, i % 64);
        let was = self.used[w] & (1 << bit) != 0;
        self.used[w] &= !(1 << bit);
        was
    }

    /// Byte range of section `index` in the buffer.
    pub fn range(&self, index: u32) -> core::ops::Range<usize> {
        let start = index as usize * self.size as usize;
        start..start + self.size as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_and_caps() {
        let mut s = Sections::new(6144 * 3 + 100, 6144).unwrap();
        assert_eq!(s.count(), 3);
        assert_eq!(
            (s.alloc(), s.alloc(), s.alloc(), s.alloc()),
            (Some(0), Some(1), Some(2), None)
        );
        assert!(s.free(1));
        assert!(!s.free(1));
        assert!(!s.free(99));
        assert_eq!(s.alloc(), Some(1));
        assert_eq!(s.range(2), 12288..18432);
        assert!(Sections::new(100, 6144).is_none());
        assert!(Sections::new(100, 0).is_none());
        assert_eq!(
            Sections::new(u32::MAX, 1).unwrap().count(),
            MAX_SEND_SECTIONS
        );
    }
}
