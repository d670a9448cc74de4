//! GPADLs: accumulation of GPADL_HEADER + GPADL_BODY, validation, and
//! byte access through the page list (sheet §3.6).

use alloc::vec::Vec;

use crate::platform::Platform;
use crate::wire::{u32_at, u64_at};

const PAGE: u64 = 4096;
/// PFNs must leave a GPA below 2^52 (x86-64 physical address width).
const PFN_LIMIT: u64 = 1 << 40;
/// Ranges per GPADL this host accepts (Linux always sends 1).
const MAX_RANGES: u16 = 64;

/// One range: `byte_count` bytes starting `byte_offset` into `pfns[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Range {
    pub byte_count: u32,
    pub byte_offset: u32,
    pub pfns: Vec<u64>,
}

/// A complete, validated GPADL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gpadl {
    pub handle: u32,
    pub relid: u32,
    pub ranges: Vec<Range>,
}

/// Parses `count` range descriptors that must fill `b` exactly.
pub(crate) fn parse_ranges(b: &[u8], count: u16) -> Option<Vec<Range>> {
    if count == 0 || count > MAX_RANGES {
        return None;
    }
    let mut off = 0usize;
    let mut out = Vec::new();
    for _ in 0..count {
        let byte_count = u32_at(b, off)?;
        let byte_offset = u32_at(b, off + 4)?;
        if byte_count == 0 || u64::from(byte_offset) >= PAGE {
            return None;
        }
        let n = (u64::from(byte_offset) + u64::from(byte_count)).div_ceil(PAGE) as usize;
        off += 8;
        let mut pfns = Vec::with_capacity(n);
        for i in 0..n {
            let pfn = u64_at(b, off + 8 * i)?;
            if pfn >= PFN_LIMIT {
                return None;
            }
            pfns.push(pfn);
        }
        off += 8 * n;
        out.push(Range {
            byte_count,
            byte_offset,
            pfns,
        });
    }
    (off == b.len()).then_some(out)
}

impl Gpadl {
    /// Total bytes described.
    pub(crate) fn len(&self) -> u64 {
        self.ranges.iter().map(|r| u64::from(r.byte_count)).sum()
    }

    /// The page list if this GPADL is one page-aligned, whole-page range
    /// (what a ring GPADL must be, §3.7).
    pub(crate) fn whole_pages(&self) -> Option<&[u64]> {
        match self.ranges.as_slice() {
            [r] if r.byte_offset == 0 && u64::from(r.byte_count) == r.pfns.len() as u64 * PAGE => {
                Some(&r.pfns)
            }
            _ => None,
        }
    }

    /// GPA of byte `off` and how many bytes follow it in the same page.
    fn locate(&self, mut off: u64) -> Option<(u64, u64)> {
        for r in &self.ranges {
            let count = u64::from(r.byte_count);
            if off < count {
                let abs = u64::from(r.byte_offset) + off;
                let pfn = *r.pfns.get((abs / PAGE) as usize)?;
                let in_page = PAGE - abs % PAGE;
                return Some((pfn * PAGE + abs % PAGE, in_page.min(count - off)));
            }
            off -= count;
        }
        None
    }

    /// Reads `buf.len()` bytes at byte `off` of the GPADL.
    pub(crate) fn read(&self, mem: &dyn Platform, off: u64, buf: &mut [u8]) -> Option<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let (gpa, n) = self.locate(off + done as u64)?;
            let n = (n as usize).min(buf.len() - done);
            mem.read_guest(gpa, &mut buf[done..done + n]).ok()?;
            done += n;
        }
        Some(())
    }

    /// Writes `data` at byte `off` of the GPADL.
    pub(crate) fn write(&self, mem: &mut dyn Platform, off: u64, data: &[u8]) -> Option<()> {
        let mut done = 0usize;
        while done < data.len() {
            let (gpa, n) = self.locate(off + done as u64)?;
            let n = (n as usize).min(data.len() - done);
            mem.write_guest(gpa, &data[done..done + n]).ok()?;
            done += n;
        }
        Some(())
    }
}

/// A GPADL whose range bytes are still arriving.
#[derive(Debug, Clone)]
pub(crate) struct Building {
    pub handle: u32,
    pub relid: u32,
    range_buflen: usize,
    rangecount: u16,
    bytes: Vec<u8>,
}

/// What feeding a header or body produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    /// More BODY messages are needed.
    Incomplete,
    /// Complete and valid.
    Done(Gpadl),
    /// Complete but invalid.
    Invalid { relid: u32, handle: u32 },
}

impl Building {
    /// Starts a GPADL from its header fields; `None` if `range_buflen`
    /// cannot describe even one range of one page.
    pub(crate) fn start(
        relid: u32,
        handle: u32,
        range_buflen: u16,
        rangecount: u16,
    ) -> Option<Self> {
        let len = usize::from(range_buflen);
        if len < 16 || len % 8 != 0 {
            return None;
        }
        Some(Building {
            handle,
            relid,
            range_buflen: len,
            rangecount,
            bytes: Vec::with_capacity(len),
        })
    }

    /// Adds range bytes; bytes past `range_buflen` are ignored (§3.6).
    pub(crate) fn feed(&mut self, data: &[u8]) -> Progress {
        let want = self.range_buflen - self.bytes.len();
        self.bytes.extend_from_slice(&data[..data.len().min(want)]);
        if self.bytes.len() < self.range_buflen {
            return Progress::Incomplete;
        }
        match parse_ranges(&self.bytes, self.rangecount) {
            Some(ranges) => Progress::Done(Gpadl {
                handle: self.handle,
                relid: self.relid,
                ranges,
            }),
            None => Progress::Invalid {
                relid: self.relid,
                handle: self.handle,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_sheet_9_3() {
        // §9.3 from offset 0x14: byte_count 0x4000, offset 0, PFNs 0x200..0x203.
        let b = [
            0x00, 0x40, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0,
            0, 0x02, 0x02, 0, 0, 0, 0, 0, 0, 0x03, 0x02, 0, 0, 0, 0, 0, 0,
        ];
        let r = parse_ranges(&b, 1).unwrap();
        assert_eq!(r[0].pfns, [0x200, 0x201, 0x202, 0x203]);
        assert!(parse_ranges(&b[..32], 1).is_none());
        assert!(parse_ranges(&b, 2).is_none());
    }

    #[test]
    fn locate_crosses_pages() {
        let g = Gpadl {
            handle: 1,
            relid: 1,
            ranges: alloc::vec![Range {
                byte_count: 5000,
                byte_offset: 100,
                pfns: alloc::vec![7, 9],
            }],
        };
        assert_eq!(g.locate(0), Some((7 * 4096 + 100, 3996)));
        assert_eq!(g.locate(3996), Some((9 * 4096, 1004)));
        assert_eq!(g.locate(5000), None);
        assert!(g.whole_pages().is_none());
    }
}
