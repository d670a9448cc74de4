//! Event-flags bitmaps: one bit per channel relid (sheet §2.3).

use super::SLOT_SIZE;

/// Where a channel's bit lives in a 256-byte SINT bitmap: (byte, mask).
/// `None` for relid 0 (not a channel, §2.3) or relids past bit 2047.
pub fn event_bit(relid: u32) -> Option<(usize, u8)> {
    if relid == 0 || relid as usize >= SLOT_SIZE * 8 {
        return None;
    }
    Some((relid as usize / 8, 1 << (relid % 8)))
}

/// Tests and clears a relid's bit in a bitmap copy. The kernel does the
/// same with one atomic operation on the real page; this helper serves
/// simulated pages and tests.
pub fn test_and_clear(bitmap: &mut [u8; SLOT_SIZE], relid: u32) -> bool {
    match event_bit(relid) {
        Some((byte, mask)) => {
            let was = bitmap[byte] & mask != 0;
            bitmap[byte] &= !mask;
            was
        }
        None => false,
    }
}

/// Sets a relid's bit; returns whether it was newly set (the host raises
/// SINT2 only on 0 → 1, §2.3).
pub fn set_event(bitmap: &mut [u8; SLOT_SIZE], relid: u32) -> bool {
    match event_bit(relid) {
        Some((byte, mask)) => {
            let was = bitmap[byte] & mask != 0;
            bitmap[byte] |= mask;
            !was
        }
        None => false,
    }
}

/// The relids whose bits are set in a bitmap copy, ascending, skipping bit 0.
pub fn pending_relids(bitmap: &[u8; SLOT_SIZE]) -> impl Iterator<Item = u32> + '_ {
    (1..(SLOT_SIZE * 8) as u32).filter(move |&relid| match event_bit(relid) {
        Some((byte, mask)) => bitmap[byte] & mask != 0,
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bits() {
        let mut map = [0u8; SLOT_SIZE];
        assert!(set_event(&mut map, 8));
        assert!(!set_event(&mut map, 8));
        assert!(set_event(&mut map, 2047));
        assert!(!set_event(&mut map, 0));
        assert!(!set_event(&mut map, 2048));
        assert_eq!(map[1], 1);
        assert_eq!(map[255], 0x80);
        let set: alloc::vec::Vec<u32> = pending_relids(&map).collect();
        assert_eq!(set, [8, 2047]);
        assert!(test_and_clear(&mut map, 8));
        assert!(!test_and_clear(&mut map, 8));
        map[0] = 1; // bit 0 is never a channel
        let set: alloc::vec::Vec<u32> = pending_relids(&map).collect();
        assert_eq!(set, [2047]);
    }
}
