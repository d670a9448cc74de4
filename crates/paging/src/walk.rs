//! Iterating over the mappings of an address space.

use crate::entry::{self, PRESENT};
use crate::space::slot;
use crate::{AddressSpace, Flags, PageSize, PhysMem};

/// Size of the linear (hole-free) 48-bit address space.
const LINEAR_END: u64 = 1 << 48;
/// First linear address of the upper (kernel) half.
const UPPER_HALF: u64 = 1 << 47;

/// One page found by [`AddressSpace::mappings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Virtual base of the page.
    pub virt: u64,
    /// Physical base of the page.
    pub phys: u64,
    /// Its size.
    pub size: PageSize,
    /// Its flags.
    pub flags: Flags,
}

/// Iterator over the pages that overlap a virtual range, in address order.
/// It re-walks from the PML4 for each page and skips absent tables whole.
pub struct Mappings<'m, M: ?Sized> {
    mem: &'m M,
    pml4: u64,
    /// Next linear address to look at.
    cursor: u64,
    /// Linear end (exclusive).
    end: u64,
}

/// Maps a virtual address to its place in the 48-bit linear order; the
/// non-canonical hole collapses onto the start of the upper half.
const fn to_linear(virt: u64) -> u64 {
    if virt < UPPER_HALF {
        virt
    } else if virt < 0xffff_8000_0000_0000 {
        UPPER_HALF
    } else {
        virt & (LINEAR_END - 1)
    }
}

/// Sign-extends bit 47 of a linear address.
const fn to_canonical(linear: u64) -> u64 {
    (((linear << 16) as i64) >> 16) as u64
}

impl AddressSpace {
    /// The pages overlapping `start..end` (a page that begins before
    /// `start` but reaches into it is included). Use `0..u64::MAX` for
    /// everything; non-canonical addresses in the bounds are clamped.
    pub fn mappings<'m, M: PhysMem + ?Sized>(
        &self,
        mem: &'m M,
        start: u64,
        end: u64,
    ) -> Mappings<'m, M> {
        Mappings {
            mem,
            pml4: self.pml4(),
            cursor: to_linear(start),
            end: to_linear(end),
        }
    }
}

impl<M: PhysMem + ?Sized> Iterator for Mappings<'_, M> {
    type Item = Mapping;

    fn next(&mut self) -> Option<Mapping> {
        'outer: while self.cursor < self.end {
            let virt = to_canonical(self.cursor);
            let mut table = self.pml4;
            for level in 0..4 {
                let e = self.mem.read_u64(slot(table, virt, level));
                let span = 1u64 << (39 - 9 * level as u32);
                if e & PRESENT == 0 {
                    self.cursor = (self.cursor | (span - 1)) + 1;
                    continue 'outer;
                }
                if entry::is_leaf(e, level) {
                    let size = PageSize::at_level(level);
                    let (phys, flags) = entry::decode_leaf(e, size);
                    let base = self.cursor & !(span - 1);
                    self.cursor = base + span;
                    return Some(Mapping {
                        virt: to_canonical(base),
                        phys,
                        size,
                        flags,
                    });
                }
                table = entry::table_address(e);
            }
            // Unreachable: level 3 entries are always leaves.
            return None;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_order_skips_the_hole() {
        assert_eq!(to_linear(0x1000), 0x1000);
        assert_eq!(to_linear(0x0000_8000_0000_0000), UPPER_HALF);
        assert_eq!(to_linear(0xffff_7fff_ffff_ffff), UPPER_HALF);
        assert_eq!(to_linear(0xffff_8000_0000_0000), UPPER_HALF);
        assert_eq!(to_linear(u64::MAX), LINEAR_END - 1);
        assert_eq!(to_canonical(UPPER_HALF), 0xffff_8000_0000_0000);
        assert_eq!(to_canonical(0x7fff_ffff_f000), 0x7fff_ffff_f000);
    }
}
