//! Which frames a memory map gives the allocator, and how big its bitmap is.

use crate::{Region, RegionKind, FRAME_SIZE};

/// Highest physical address + 1 that x86-64 can address (MAXPHYADDR is at
/// most 52, Intel SDM Vol. 3A §4.1.4); memory above it is ignored.
pub(crate) const PHYS_LIMIT: u64 = 1 << 52;

/// Frame numbers `[first, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameRange {
    pub first: u64,
    pub end: u64,
}

/// Whether the allocator may ever hand out memory of this kind.
pub(crate) const fn is_managed(kind: RegionKind) -> bool {
    matches!(kind, RegionKind::Usable | RegionKind::BootloaderReclaimable)
}

/// The whole frames inside `r`, never frame 0, clipped to [`PHYS_LIMIT`].
pub(crate) fn frames_inside(r: &Region) -> FrameRange {
    let first = r.base.div_ceil(FRAME_SIZE).max(1);
    let end = r.end().min(PHYS_LIMIT) / FRAME_SIZE;
    FrameRange {
        first,
        end: end.max(first),
    }
}

/// Every frame `r` touches, clipped to [`PHYS_LIMIT`].
pub(crate) fn frames_touched(r: &Region) -> FrameRange {
    let first = r.base.min(PHYS_LIMIT) / FRAME_SIZE;
    let end = r.end().min(PHYS_LIMIT).div_ceil(FRAME_SIZE);
    FrameRange {
        first,
        end: end.max(first),
    }
}

/// The frames between the lowest and the highest manageable frame.
pub(crate) fn span(map: impl Iterator<Item = Region>) -> FrameRange {
    let mut out = FrameRange { first: 0, end: 0 };
    for r in map.filter(|r| is_managed(r.kind)) {
        let f = frames_inside(&r);
        if f.first >= f.end {
            continue;
        }
        if out.first == out.end {
            out = f;
        } else {
            out.first = out.first.min(f.first);
            out.end = out.end.max(f.end);
        }
    }
    out
}

/// Words of one bitmap covering `span`.
pub(crate) fn words_per_bitmap(span: FrameRange) -> usize {
    usize::try_from((span.end - span.first).div_ceil(64)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usable(base: u64, length: u64) -> Region {
        Region {
            base,
            length,
            kind: RegionKind::Usable,
        }
    }

    #[test]
    fn inside_rounds_inward_and_skips_frame_zero() {
        let f = frames_inside(&usable(0x800, 0x3000));
        assert_eq!(f, FrameRange { first: 1, end: 3 });
        let f = frames_inside(&usable(0, 0x2000));
        assert_eq!(f, FrameRange { first: 1, end: 2 });
        let f = frames_inside(&usable(0x1800, 0x100));
        assert_eq!(f.first, f.end);
    }

    #[test]
    fn touched_rounds_outward() {
        let f = frames_touched(&usable(0x1800, 0x1000));
        assert_eq!(f, FrameRange { first: 1, end: 3 });
    }

    #[test]
    fn span_ignores_unmanaged_kinds() {
        let map = [
            usable(0x1000, 0x1000),
            Region::from_limine(0x100_0000, 0x1000, 1),
            Region::from_limine(0x8000, 0x2000, 5),
        ];
        assert_eq!(span(map.into_iter()), FrameRange { first: 1, end: 10 });
        assert_eq!(words_per_bitmap(FrameRange { first: 1, end: 66 }), 2);
    }
}
