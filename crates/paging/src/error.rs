//! The paging error type.

use core::fmt;

use crate::PageSize;

/// Why a page-table operation was refused. An operation that returns an
/// error leaves the tables as they were (no leaked or half-built tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The virtual address is not canonical for 4-level paging (bits 63:47
    /// are not all equal, Intel SDM Vol. 1 §3.3.7.1).
    NonCanonical {
        /// The address given.
        virt: u64,
    },
    /// An address is not a multiple of the page size (for `unmap` and
    /// `protect`: not the first byte of the page that maps it).
    Misaligned {
        /// The offending address, virtual or physical.
        addr: u64,
    },
    /// The physical range lies above 2^52 (MAXPHYADDR limit, §4.1.4).
    PhysOutOfRange {
        /// The physical address given.
        phys: u64,
    },
    /// A page already maps this address.
    AlreadyMapped {
        /// The address given.
        virt: u64,
        /// The size of the existing page.
        size: PageSize,
    },
    /// Nothing maps this address.
    NotMapped {
        /// The address given.
        virt: u64,
    },
    /// A larger page covers the address (no implicit splitting).
    HugePageInTheWay {
        /// The address given.
        virt: u64,
        /// The size of the larger page.
        size: PageSize,
    },
    /// A page table (of smaller pages) occupies the slot a large page needs.
    TableInTheWay {
        /// The address given.
        virt: u64,
    },
    /// The frame source had no frame for a page table.
    OutOfFrames,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MapError::NonCanonical { virt } => write!(f, "{virt:#x} is not canonical"),
            MapError::Misaligned { addr } => write!(f, "{addr:#x} is misaligned"),
            MapError::PhysOutOfRange { phys } => write!(f, "{phys:#x} is beyond 2^52"),
            MapError::AlreadyMapped { virt, size } => {
                write!(f, "{virt:#x} already mapped ({size:?})")
            }
            MapError::NotMapped { virt } => write!(f, "{virt:#x} not mapped"),
            MapError::HugePageInTheWay { virt, size } => {
                write!(f, "{virt:#x} lies in a {size:?} page")
            }
            MapError::TableInTheWay { virt } => write!(f, "{virt:#x} has a page table"),
            MapError::OutOfFrames => write!(f, "out of page-table frames"),
        }
    }
}
