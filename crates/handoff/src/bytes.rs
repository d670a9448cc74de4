//! Bounds-checked little-endian reads and writes over byte slices.

/// Reads a little-endian `u16` at `off`, or `None` if out of bounds.
#[must_use]
pub fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    let b = buf.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Reads a little-endian `u32` at `off`, or `None` if out of bounds.
#[must_use]
pub fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian `u64` at `off`, or `None` if out of bounds.
#[must_use]
pub fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    let b = buf.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Writes a little-endian `u64` at `off`; `None` if out of bounds.
pub fn put_u64(buf: &mut [u8], off: usize, value: u64) -> Option<()> {
    let b = buf.get_mut(off..off.checked_add(8)?)?;
    b.copy_from_slice(&value.to_le_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_rejects_out_of_bounds() {
        let buf = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&buf, 0), Some(0x0201));
        assert_eq!(u32_at(&buf, 1), Some(0x0504_0302));
        assert_eq!(u64_at(&buf, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_at(&buf, 2), None);
        assert_eq!(u32_at(&buf, usize::MAX), None);
    }

    #[test]
    fn put_u64_round_trips() {
        let mut buf = [0u8; 12];
        assert_eq!(put_u64(&mut buf, 3, 0xdead_beef_0bad_f00d), Some(()));
        assert_eq!(u64_at(&buf, 3), Some(0xdead_beef_0bad_f00d));
        assert_eq!(put_u64(&mut buf, 5, 1), None);
    }
}
