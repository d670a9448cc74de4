//! Page ranges: a byte count and offset over a list of page frame numbers.
//!
//! The same shape serves GPADL ranges (facts sheet §3.6) and the ranges of
//! GPA-direct packets (§4.3): u32 byte_count, u32 byte_offset into the
//! first page, then one u64 PFN per page touched.

/// Bytes per page (sheet "Conventions").
pub const PAGE_SIZE: u64 = 4096;

/// How many pages `byte_offset + byte_count` touches; `None` if the range
/// is empty or the offset does not lie in the first page.
pub fn pages_touched(byte_offset: u32, byte_count: u32) -> Option<usize> {
    if byte_count == 0 || u64::from(byte_offset) >= PAGE_SIZE {
        return None;
    }
    let end = u64::from(byte_offset) + u64::from(byte_count);
    usize::try_from(end.div_ceil(PAGE_SIZE)).ok()
}

/// A validated range: `pfns` holds exactly one PFN per page touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRange<'a> {
    byte_count: u32,
    byte_offset: u32,
    pfns: &'a [u64],
}

/// A range whose offset, count and PFN list disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeError;

impl core::fmt::Display for RangeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("page range offset, length and PFN count disagree")
    }
}

impl<'a> PageRange<'a> {
    /// A range of `byte_count` bytes starting `byte_offset` into `pfns[0]`.
    pub fn new(byte_offset: u32, byte_count: u32, pfns: &'a [u64]) -> Result<Self, RangeError> {
        match pages_touched(byte_offset, byte_count) {
            Some(n) if n == pfns.len() => Ok(PageRange {
                byte_count,
                byte_offset,
                pfns,
            }),
            _ => Err(RangeError),
        }
    }

    /// Whole pages: offset 0, 4096 bytes per PFN.
    pub fn pages(pfns: &'a [u64]) -> Result<Self, RangeError> {
        let bytes = u32::try_from(pfns.len() as u64 * PAGE_SIZE).map_err(|_| RangeError)?;
        PageRange::new(0, bytes, pfns)
    }

    /// Byte count.
    pub fn byte_count(&self) -> u32 {
        self.byte_count
    }

    /// Byte offset into the first page.
    pub fn byte_offset(&self) -> u32 {
        self.byte_offset
    }

    /// The PFNs.
    pub fn pfns(&self) -> &'a [u64] {
        self.pfns
    }

    /// Encoded size: the 8-byte range header plus 8 per PFN.
    pub fn encoded_len(&self) -> usize {
        8 + 8 * self.pfns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(pages_touched(0, 4096), Some(1));
        assert_eq!(pages_touched(1, 4096), Some(2));
        assert_eq!(pages_touched(4095, 1), Some(1));
        assert_eq!(pages_touched(0, 0), None);
        assert_eq!(pages_touched(4096, 1), None);
        assert_eq!(pages_touched(4095, u32::MAX), Some(0x10_0001));
        assert!(PageRange::new(0x200, 512, &[1]).is_ok());
        assert!(PageRange::new(0x200, 4096, &[1]).is_err());
        assert_eq!(PageRange::pages(&[5, 6]).unwrap().byte_count(), 8192);
        assert!(PageRange::pages(&[]).is_err());
    }
}
