//! Word-level bit-range helpers over `[u64]` bitmaps.
//!
//! Bit `i` lives in word `i / 64` at position `i % 64`.

/// Mask of the bits `lo..hi` within one word (`lo < hi <= 64`).
pub(crate) const fn word_mask(lo: u32, hi: u32) -> u64 {
    let upper = if hi >= 64 { u64::MAX } else { (1u64 << hi) - 1 };
    upper & !((1u64 << lo) - 1)
}

/// Calls `f(word_index, mask)` for each word touched by bits `start..end`.
pub(crate) fn for_each_word(start: u64, end: u64, mut f: impl FnMut(usize, u64)) {
    let mut bit = start;
    while bit < end {
        let word = bit / 64;
        let lo = (bit % 64) as u32;
        let word_end = (word + 1) * 64;
        let hi = if end < word_end {
            (end % 64) as u32
        } else {
            64
        };
        f(word as usize, word_mask(lo, hi));
        bit = word_end;
    }
}

/// Sets bits `start..end`.
pub(crate) fn set_range(words: &mut [u64], start: u64, end: u64) {
    for_each_word(start, end, |w, m| words[w] |= m);
}

/// Clears bits `start..end`.
pub(crate) fn clear_range(words: &mut [u64], start: u64, end: u64) {
    for_each_word(start, end, |w, m| words[w] &= !m);
}

/// Reads bit `i`.
pub(crate) fn get(words: &[u64], i: u64) -> bool {
    words[(i / 64) as usize] & (1 << (i % 64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_cover_exactly_the_range() {
        assert_eq!(word_mask(0, 64), u64::MAX);
        assert_eq!(word_mask(0, 1), 1);
        assert_eq!(word_mask(63, 64), 1 << 63);
        assert_eq!(word_mask(4, 8), 0xf0);
    }

    #[test]
    fn ranges_set_and_clear_across_words() {
        let mut w = [0u64; 3];
        set_range(&mut w, 60, 130);
        for i in 0..192 {
            assert_eq!(get(&w, i), (60..130).contains(&i), "bit {i}");
        }
        clear_range(&mut w, 64, 128);
        let ones: u32 = w.iter().map(|x| x.count_ones()).sum();
        assert_eq!(ones, 4 + 2);
    }
}
